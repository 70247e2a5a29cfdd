package workerskv

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/workerskv/workerskv/internal/limits"
)

// chunk is one bulk request body: a JSON array of encoded items in one buffer, with each item's key
// and where it ends, so that a retry can resend just some of them.
type chunk struct {
	keys []string
	ends []int  // the offset in body just past each item
	body []byte // "[" + items joined by "," + "]"
	size int    // len(body), the length of the request body
}

func (c *chunk) len() int { return len(c.keys) }

// itemFits reports whether an item of n encoded bytes fits a request on its own: "[" + item + "]".
func itemFits(n, maxBytes int) bool { return n+2 <= maxBytes }

// add appends an encoded item.
func (c *chunk) add(key string, item []byte) {
	c.next()
	c.body = append(c.body, item...)
	c.done(key)
}

// next opens the body for one more item, to be appended to it, and done closes it again.
func (c *chunk) next() {
	if c.len() == 0 {
		c.body = append(c.body[:0], '[')
	} else {
		c.body[len(c.body)-1] = ',' // was the closing bracket
	}
}

func (c *chunk) done(key string) {
	c.ends = append(c.ends, len(c.body))
	c.body = append(c.body, ']')
	c.keys = append(c.keys, key)
	c.size = len(c.body)
}

// subset builds a new chunk from the items at the given indexes.
func (c *chunk) subset(idx []int) *chunk {
	n := &chunk{}
	for _, i := range idx {
		start := 1 // after "["
		if i > 0 {
			start = c.ends[i-1] + 1 // after ","
		}
		n.add(c.keys[i], c.body[start:c.ends[i]])
	}
	return n
}

// reader returns the JSON array from its start; every call gives a fresh reader, so the body can be
// replayed.
func (c *chunk) reader() (io.Reader, error) { return bytes.NewReader(c.body), nil }

// chunker groups items into chunks within the request limits. It holds a chunk's items, checked and
// measured, until the next item does not fit, then encodes them into a buffer of the chunk's exact
// size: one allocation, never grown, whatever the items' sizes.
type chunker struct {
	maxItems, maxBytes int
	items              []pairEncoding // the chunk being built
	size               int            // its length as JSON: "[" + items joined by "," + "]"
}

// add takes an item, returning the chunk before it, encoded, when the item did not fit in it (to be
// sent), or nil. hint is how many more items are expected, to size the first chunk.
func (b *chunker) add(e *pairEncoding, hint int) (full *chunk) {
	if n := len(b.items); n > 0 && (n >= b.maxItems || b.size+1+e.size > b.maxBytes) { // "," + item
		full = b.encode()
	}
	if b.items == nil {
		b.items = make([]pairEncoding, 0, min(max(hint, 1), b.maxItems))
	}
	b.items = append(b.items, *e)
	b.size += 1 + e.size // "[" or ","
	if len(b.items) == 1 {
		b.size++ // "]"
	}
	return full
}

// rest returns the chunk being built, encoded, or nil when it is empty.
func (b *chunker) rest() *chunk {
	if len(b.items) == 0 {
		return nil
	}
	return b.encode()
}

// encode encodes the items held into a chunk, and starts a new one.
func (b *chunker) encode() *chunk {
	c := &chunk{keys: make([]string, 0, len(b.items)), ends: make([]int, 0, len(b.items)), body: make([]byte, 0, b.size)}
	for i := range b.items {
		c.next()
		c.body = b.items[i].appendTo(c.body)
		c.done(b.items[i].key)
	}
	clear(b.items) // no longer holds the pairs' values
	b.items, b.size = b.items[:0], 0
	return c
}

// pairEncoding is a checked pair, ready to be encoded in exactly [pairEncoding.size] bytes of JSON
// (unless the value's encoding is left to [pairEncoding.measureValue]).
type pairEncoding struct {
	key      string
	keyOnly  bool // a bulk delete or get item: just the key as a JSON string
	value    []byte
	exp, ttl int64
	meta     []byte
	text     bool // the value goes as JSON text, not base64
	size     int  // of the whole item
	valueLen int  // of the value's part of size
}

// measureValue decides how the value goes and sets the size to match (see [valueEncoding]).
func (e *pairEncoding) measureValue() {
	e.size -= e.valueLen
	e.text, e.valueLen = valueEncoding(e.value)
	e.size += e.valueLen
}

// preparePair checks p and measures its encoding, or returns a [*ValidationError]. The value is sent
// as a JSON string when it is valid UTF-8 and that is not longer than its base64 form; otherwise
// (binary values, or text made mostly of control characters, which JSON escapes six bytes to one) it
// is sent base64-encoded with "base64": true. Either way it round-trips byte-exact, and an item is
// never much more than 4/3 of its value's size.
//
// With exact false, the value is not read: size is then an upper bound (the value as base64), and the
// pairEncoding serves only to check the pair.
func preparePair(p *BulkPair, now time.Time, exact bool) (pairEncoding, error) {
	e := pairEncoding{key: p.Key, value: p.Value}
	if err := validateBulkKey(p.Key); err != nil {
		return e, err
	}
	if len(p.Value) > limits.MaxValueBytes {
		return e, invalid("value", "key %q: %d bytes; the limit is %d", p.Key, len(p.Value), limits.MaxValueBytes)
	}
	var err error
	if e.exp, e.ttl, err = expirationParams(p.Expiration, p.ExpirationTTL, now); err != nil {
		return e, err
	}
	if e.meta, err = encodeMetadata(p.Metadata); err != nil {
		return e, err
	}
	e.valueLen = maxValueEncoding(len(p.Value))
	e.size = len(`{"key":,"value":}`) + jsonStringLen(p.Key) + e.valueLen
	if e.exp != 0 {
		e.size += len(`,"expiration":`) + digits(e.exp)
	}
	if e.ttl != 0 {
		e.size += len(`,"expiration_ttl":`) + digits(e.ttl)
	}
	if e.meta != nil {
		e.size += len(`,"metadata":`) + len(e.meta)
	}
	if exact {
		e.measureValue()
	}
	return e, nil
}

// digits is the length of n in decimal.
func digits(n int64) int {
	var b [20]byte
	return len(strconv.AppendInt(b[:0], n, 10))
}

// keyEncoding checks a key for a bulk delete or get body.
func keyEncoding(key string) (pairEncoding, error) {
	if err := validateBulkKey(key); err != nil {
		return pairEncoding{key: key, keyOnly: true}, err
	}
	return pairEncoding{key: key, keyOnly: true, size: jsonStringLen(key)}, nil
}

// appendTo appends the item: the bulk-write JSON object, or the key alone.
func (e *pairEncoding) appendTo(dst []byte) []byte {
	if e.keyOnly {
		return appendJSONString(dst, e.key)
	}
	dst = append(dst, `{"key":`...)
	dst = appendJSONString(dst, e.key)
	dst = append(dst, `,"value":`...)
	dst = appendValueAs(dst, e.value, e.text)
	if e.exp != 0 {
		dst = append(dst, `,"expiration":`...)
		dst = strconv.AppendInt(dst, e.exp, 10)
	}
	if e.ttl != 0 {
		dst = append(dst, `,"expiration_ttl":`...)
		dst = strconv.AppendInt(dst, e.ttl, 10)
	}
	if e.meta != nil {
		dst = append(dst, `,"metadata":`...)
		dst = append(dst, e.meta...)
	}
	return append(dst, '}')
}

// base64Suffix follows a base64-encoded value.
const base64Suffix = `,"base64":true`

// valueEncoding decides how a value is sent (see [preparePair]) and returns the length of its
// encoding, the "base64" field included. It is measured before anything is written, so that a value
// of mostly control characters (for which base64 is shorter) is never written out as JSON text only
// to be thrown away: for a 25 MiB value that would be 157 MB.
func valueEncoding(v []byte) (text bool, n int) {
	if utf8.Valid(v) {
		if n := jsonStringLen(v); n <= maxValueEncoding(len(v)) {
			return true, n
		}
	}
	return false, maxValueEncoding(len(v))
}

// maxValueEncoding is the length of a value's base64 encoding, the "base64" field included: the most
// [valueEncoding] ever gives for n bytes.
func maxValueEncoding(n int) int { return base64.StdEncoding.EncodedLen(n) + 2 + len(base64Suffix) }

// appendValue appends a value as [preparePair] describes.
func appendValue(dst, v []byte) []byte {
	text, _ := valueEncoding(v)
	return appendValueAs(dst, v, text)
}

func appendValueAs(dst, v []byte, text bool) []byte {
	if text {
		return appendJSONString(dst, v)
	}
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, v)
	dst = append(dst, '"')
	return append(dst, base64Suffix...)
}

// jsonEscapes holds, for each ASCII byte that encoding/json escapes in a string, the escape it writes
// (`\n` for a newline, `\u0001` for 0x01), and jsonExtra how many bytes that adds: taken from
// encoding/json itself, so that appendJSONString escapes what it escapes, without its cost per call
// (a reflection lookup, allocations and copies, which for 10,000 JSON values is milliseconds a
// request: see BenchmarkBulkPut10000/json). Other bytes, UTF-8 included, go as they are.
var (
	jsonEscapes [256]string
	jsonExtra   [256]uint8
)

func init() {
	for c := range utf8.RuneSelf {
		if q := stdJSONString(string(rune(c))); len(q) > 3 {
			jsonEscapes[c] = q[1 : len(q)-1]
			jsonExtra[c] = uint8(len(jsonEscapes[c]) - 1)
		}
	}
}

// stdJSONString is s as encoding/json writes it, without HTML escaping.
func stdJSONString(s string) string {
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(buf.String(), "\n")
}

// jsonStringLen is the length of [appendJSONString]'s output for s, quotes included.
func jsonStringLen[S ~string | ~[]byte](s S) int {
	n := len(s) + 2
	for i := 0; i < len(s); i++ {
		n += int(jsonExtra[s[i]])
	}
	return n
}

// appendJSONString appends s, which must be valid UTF-8, as a JSON string: as encoding/json writes it,
// except that <, >, &, U+2028 and U+2029 go as they are (escaping them matters only inside HTML and
// JavaScript).
func appendJSONString[S ~string | ~[]byte](dst []byte, s S) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		if jsonExtra[s[i]] == 0 {
			continue
		}
		dst = append(dst, s[start:i]...)
		dst = append(dst, jsonEscapes[s[i]]...)
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
