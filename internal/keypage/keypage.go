// Package keypage decodes a Workers KV key-list response in one pass, without reflection: the page
// shape is fixed ({"success", "result": [{"name", "expiration", "metadata"}], "result_info":
// {"cursor"}}), and a 1,000-key page decoded through encoding/json costs several allocations per key.
//
// Decode handles the common case only and says so when it cannot: anything unusual (escapes in a
// name or the cursor, invalid UTF-8, a field spelled with other letter case, success false, malformed
// JSON) gives ok=false, and the caller decodes the body with encoding/json instead, which produces the
// same result or the proper error. A fuzz test holds the two decoders to the same answers.
package keypage

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Decode decodes a successful key-list response body, making each key with mk from its name, its
// expiration in epoch seconds (0 when absent or null) and its metadata's raw JSON (nil when absent or
// null). The names of a page share one allocation, and so do their metadata. ok is false when the
// body is not in the shape this decoder handles; keys and cursor are then meaningless.
func Decode[K any](body []byte, mk func(name string, expiration float64, metadata []byte) K) (keys []K, cursor string, ok bool) {
	d := decoder{b: body}
	spans := make([]keySpan, 0, bytes.Count(body, []byte(`"name"`)))
	success, sawSuccess := false, false
	if !d.object(func(name []byte) bool {
		switch {
		case string(name) == "success":
			switch {
			case d.literal("true"):
				success = true
			case d.literal("false"):
				success = false
			default:
				return false
			}
			sawSuccess = true
			return true
		case string(name) == "result":
			spans = spans[:0]
			return d.array(func() bool {
				var ks keySpan
				if !d.object(func(field []byte) bool { return d.keyField(field, &ks) }) {
					return false
				}
				spans = append(spans, ks)
				return true
			})
		case string(name) == "result_info":
			return d.object(func(field []byte) bool {
				if string(field) == "cursor" {
					if d.literal("null") {
						cursor = ""
						return true
					}
					s, ok := d.plainString()
					cursor = string(s)
					return ok
				}
				if strings.EqualFold(string(field), "cursor") {
					return false
				}
				return d.skip()
			})
		case foldsTo(name, "success", "result", "result_info"):
			return false // encoding/json would match it case-insensitively
		}
		return d.skip()
	}) || !d.end() || !sawSuccess || !success {
		return nil, "", false
	}
	return build(body, spans, mk), cursor, true
}

// keySpan locates one key's fields in the body.
type keySpan struct {
	name       [2]int
	meta       [2]int // {0, 0} when absent or null
	expiration float64
}

func (d *decoder) keyField(field []byte, ks *keySpan) bool {
	switch string(field) {
	case "name":
		s, ok := d.plainString()
		if !ok {
			return false
		}
		end := d.i - 1 // the closing quote
		ks.name = [2]int{end - len(s), end}
		return true
	case "expiration":
		if d.literal("null") {
			ks.expiration = 0
			return true
		}
		num, ok := d.number()
		if !ok {
			return false
		}
		f, err := strconv.ParseFloat(string(num), 64)
		if err != nil {
			return false
		}
		ks.expiration = f
		return true
	case "metadata":
		if d.literal("null") {
			ks.meta = [2]int{}
			return true
		}
		d.ws()
		start := d.i
		if !d.skip() {
			return false
		}
		ks.meta = [2]int{start, d.i}
		return true
	}
	if foldsTo(field, "name", "expiration", "metadata") {
		return false
	}
	return d.skip()
}

// build copies the names into one string and the metadata into one buffer, and makes each key from
// its slices of them.
func build[K any](body []byte, spans []keySpan, mk func(string, float64, []byte) K) []K {
	var nameLen, metaLen int
	for _, s := range spans {
		nameLen += s.name[1] - s.name[0]
		metaLen += s.meta[1] - s.meta[0]
	}
	var names strings.Builder
	names.Grow(nameLen)
	for _, s := range spans {
		names.Write(body[s.name[0]:s.name[1]])
	}
	all := names.String()
	meta := make([]byte, 0, metaLen)
	keys := make([]K, len(spans))
	off := 0
	for i, s := range spans {
		n := s.name[1] - s.name[0]
		var m []byte
		if s.meta[1] > s.meta[0] {
			start := len(meta)
			meta = append(meta, body[s.meta[0]:s.meta[1]]...)
			m = meta[start:len(meta):len(meta)]
		}
		keys[i] = mk(all[off:off+n], s.expiration, m)
		off += n
	}
	return keys
}

func foldsTo(name []byte, known ...string) bool {
	for _, k := range known {
		if bytes.EqualFold(name, []byte(k)) {
			return true
		}
	}
	return false
}

// decoder is a strict JSON scanner over b.
type decoder struct {
	b []byte
	i int
}

func (d *decoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// end reports whether only white space is left.
func (d *decoder) end() bool {
	d.ws()
	return d.i == len(d.b)
}

func (d *decoder) literal(lit string) bool {
	d.ws()
	if bytes.HasPrefix(d.b[d.i:], []byte(lit)) {
		d.i += len(lit)
		return true
	}
	return false
}

// object scans an object, calling field for each member with the value not yet read; field must
// consume the value.
func (d *decoder) object(field func(name []byte) bool) bool {
	d.ws()
	if d.i >= len(d.b) || d.b[d.i] != '{' {
		return false
	}
	d.i++
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
		return true
	}
	for {
		name, ok := d.plainString()
		if !ok {
			return false
		}
		d.ws()
		if d.i >= len(d.b) || d.b[d.i] != ':' {
			return false
		}
		d.i++
		if !field(name) {
			return false
		}
		d.ws()
		if d.i >= len(d.b) {
			return false
		}
		switch d.b[d.i] {
		case ',':
			d.i++
		case '}':
			d.i++
			return true
		default:
			return false
		}
	}
}

// array scans an array, calling elem for each element; elem must consume it.
func (d *decoder) array(elem func() bool) bool {
	d.ws()
	if d.i >= len(d.b) || d.b[d.i] != '[' {
		return false
	}
	d.i++
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == ']' {
		d.i++
		return true
	}
	for {
		if !elem() {
			return false
		}
		d.ws()
		if d.i >= len(d.b) {
			return false
		}
		switch d.b[d.i] {
		case ',':
			d.i++
		case ']':
			d.i++
			return true
		default:
			return false
		}
	}
}

// plainString reads a string without escapes, of valid UTF-8 and no control characters, and returns
// its contents (a slice of the body).
func (d *decoder) plainString() ([]byte, bool) {
	d.ws()
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return nil, false
	}
	start := d.i + 1
	for j := start; j < len(d.b); j++ {
		switch c := d.b[j]; {
		case c == '"':
			s := d.b[start:j]
			if !utf8.Valid(s) {
				return nil, false
			}
			d.i = j + 1
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		}
	}
	return nil, false
}

// anyString skips a string, escapes allowed (validated), as encoding/json accepts it.
func (d *decoder) anyString() bool {
	d.i++ // the opening quote
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			return true
		case c < 0x20:
			return false
		case c == '\\':
			if d.i+1 >= len(d.b) {
				return false
			}
			switch d.b[d.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				d.i += 2
			case 'u':
				if d.i+6 > len(d.b) {
					return false
				}
				for _, h := range d.b[d.i+2 : d.i+6] {
					if !isHex(h) {
						return false
					}
				}
				d.i += 6
			default:
				return false
			}
		default:
			d.i++
		}
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// number reads a JSON number and returns its text.
func (d *decoder) number() ([]byte, bool) {
	d.ws()
	start := d.i
	if d.i < len(d.b) && d.b[d.i] == '-' {
		d.i++
	}
	switch {
	case d.i < len(d.b) && d.b[d.i] == '0':
		d.i++
	case d.i < len(d.b) && '1' <= d.b[d.i] && d.b[d.i] <= '9':
		d.digits()
	default:
		return nil, false
	}
	if d.i < len(d.b) && d.b[d.i] == '.' {
		d.i++
		if !d.digits() {
			return nil, false
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		d.i++
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if !d.digits() {
			return nil, false
		}
	}
	return d.b[start:d.i], true
}

func (d *decoder) digits() bool {
	start := d.i
	for d.i < len(d.b) && '0' <= d.b[d.i] && d.b[d.i] <= '9' {
		d.i++
	}
	return d.i > start
}

// skip scans any JSON value, up to a nesting depth encoding/json also accepts.
func (d *decoder) skip() bool { return d.skipDepth(0) }

func (d *decoder) skipDepth(depth int) bool {
	if depth > 1000 {
		return false
	}
	d.ws()
	if d.i >= len(d.b) {
		return false
	}
	switch c := d.b[d.i]; {
	case c == '"':
		return d.anyString()
	case c == '{':
		return d.object(func([]byte) bool { return d.skipDepth(depth + 1) })
	case c == '[':
		return d.array(func() bool { return d.skipDepth(depth + 1) })
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	default:
		_, ok := d.number()
		return ok
	}
}
