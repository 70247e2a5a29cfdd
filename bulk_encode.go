package workerskv

import (
	"encoding/base64"
	"io"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/workerskv/workerskv/internal/limits"
)

// chunk is one bulk request body: a JSON array of encoded items, kept as the items themselves (never
// copied into one buffer) with each item's key, so that a retry can resend just some of them.
type chunk struct {
	keys  []string
	items [][]byte
	size  int // length of the JSON array: "[" + items joined by "," + "]"
}

func (c *chunk) len() int { return len(c.keys) }

// fits reports whether an item of n encoded bytes can join the chunk within the request limits: the
// array stays within maxBytes. An empty chunk takes any item; callers refuse items that do not fit
// a request on their own (see [itemFits]).
func (c *chunk) fits(n, maxItems, maxBytes int) bool {
	if c.len() >= maxItems {
		return false
	}
	return c.len() == 0 || c.size+1+n <= maxBytes // "," + item
}

// itemFits reports whether an item of n encoded bytes fits a request on its own: "[" + item + "]".
func itemFits(n, maxBytes int) bool { return n+2 <= maxBytes }

// add appends an encoded item, which the chunk keeps (the caller must not change it).
func (c *chunk) add(key string, item []byte) {
	if c.len() == 0 {
		c.size = 2
	} else {
		c.size++
	}
	c.size += len(item)
	c.keys = append(c.keys, key)
	c.items = append(c.items, item)
}

// subset builds a new chunk from the items at the given indexes.
func (c *chunk) subset(idx []int) *chunk {
	n := &chunk{}
	for _, i := range idx {
		n.add(c.keys[i], c.items[i])
	}
	return n
}

// reader returns the JSON array from its start; every call gives a fresh reader, so the body can be
// replayed.
func (c *chunk) reader() (io.Reader, error) { return &chunkReader{items: c.items}, nil }

// chunkReader streams "[" item "," item ... "]" without assembling it.
type chunkReader struct {
	items [][]byte
	k     int    // next piece
	cur   []byte // rest of the current piece
}

var (
	openBracket  = []byte{'['}
	closeBracket = []byte{']'}
	comma        = []byte{','}
)

// piece returns the k-th piece of the array: "[", item 0, ",", item 1, ..., "]".
func (r *chunkReader) piece(k int) ([]byte, bool) {
	n := len(r.items)
	switch {
	case k == 0:
		return openBracket, true
	case k == 2*n || (n == 0 && k == 1):
		return closeBracket, true
	case k > 2*n:
		return nil, false
	case k%2 == 1:
		return r.items[k/2], true
	default:
		return comma, true
	}
}

func (r *chunkReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(r.cur) == 0 {
			next, ok := r.piece(r.k)
			if !ok {
				if n == 0 {
					return 0, io.EOF
				}
				break
			}
			r.k++
			r.cur = next
		}
		m := copy(p[n:], r.cur)
		r.cur = r.cur[m:]
		n += m
	}
	return n, nil
}

// WriteTo writes the rest of the array to w, each item in one call.
func (r *chunkReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if len(r.cur) == 0 {
			next, ok := r.piece(r.k)
			if !ok {
				return total, nil
			}
			r.k++
			r.cur = next
		}
		n, err := w.Write(r.cur)
		total += int64(n)
		r.cur = r.cur[n:]
		if err != nil {
			return total, err
		}
	}
}

// chunker groups encoded items into chunks within the request limits. Small items are encoded into
// shared blocks, large ones into buffers of their exact size.
type chunker struct {
	maxItems, maxBytes int
	cur                *chunk
	block              []byte
}

const blockSize = 64 << 10

// add encodes an item and adds it, returning the previous chunk when the item did not fit in it (to
// be sent), or nil. hint is how many more items are expected, to size a new chunk.
func (b *chunker) add(e *pairEncoding, hint int) (full *chunk) {
	n := e.size
	var item []byte
	if n > blockSize/8 {
		item = e.appendTo(make([]byte, 0, n))
	} else {
		if cap(b.block)-len(b.block) < n {
			b.block = make([]byte, 0, blockSize)
		}
		free := b.block[len(b.block):]
		item = e.appendTo(free)
		if len(item) <= cap(free) { // encoded in place (n was right): take it from the block
			b.block = b.block[:len(b.block)+len(item)]
			item = item[:len(item):len(item)]
		}
	}
	if b.cur == nil || !b.cur.fits(len(item), b.maxItems, b.maxBytes) {
		if b.cur != nil {
			full = b.cur
		}
		c := min(max(hint, 1), b.maxItems)
		b.cur = &chunk{keys: make([]string, 0, c), items: make([][]byte, 0, c)}
	}
	b.cur.add(e.key, item)
	return full
}

// rest returns the chunk being built, or nil when it is empty.
func (b *chunker) rest() *chunk {
	c := b.cur
	b.cur = nil
	if c == nil || c.len() == 0 {
		return nil
	}
	return c
}

// pairEncoding is a checked pair, ready to be encoded: [pairEncoding.size] bytes of JSON.
type pairEncoding struct {
	key      string
	keyOnly  bool // a bulk delete or get item: just the key as a JSON string
	p        *BulkPair
	exp, ttl int64
	meta     []byte
	text     bool // the value goes as JSON text, not base64
	size     int  // of the whole item
	valueLen int  // of the value's part of size
}

// measureValue decides how the value goes and sets the size to match (see [valueEncoding]).
func (e *pairEncoding) measureValue() {
	e.size -= e.valueLen
	e.text, e.valueLen = valueEncoding(e.p.Value)
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
	e := pairEncoding{key: p.Key, p: p}
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
	d := 1
	if n < 0 {
		d, n = 2, -n
	}
	for ; n >= 10; n /= 10 {
		d++
	}
	return d
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
	dst = appendJSONString(dst, e.p.Key)
	dst = append(dst, `,"value":`...)
	dst = appendValueAs(dst, e.p.Value, e.text)
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

// valueEncoding decides how a value is sent (see [preparePair]) and estimates the length of its
// encoding, the "base64" field included: valid UTF-8 goes as text, anything else as base64. For text
// the estimate leaves out escapes; [appendValueAs] measures the real text and falls back to base64
// when escapes would make it longer, so the value is read only twice (the UTF-8 check, the copy).
func valueEncoding(v []byte) (text bool, n int) {
	if utf8.Valid(v) {
		return true, len(v) + 2
	}
	return false, maxValueEncoding(len(v))
}

// jsonEscapeExtra is how many bytes JSON escaping adds to each byte: one for '"', '\\' and the
// short-escaped controls, five for other controls (\u00XX), none for the rest.
var jsonEscapeExtra = func() (t [256]uint8) {
	for c := range 0x20 {
		t[c] = 5
	}
	for _, c := range []byte{'"', '\\', '\n', '\r', '\t'} {
		t[c] = 1
	}
	return t
}()

// maxValueEncoding is the length of a value's base64 encoding, the "base64" field included: the most
// [valueEncoding] ever gives for n bytes.
func maxValueEncoding(n int) int { return base64.StdEncoding.EncodedLen(n) + 2 + len(base64Suffix) }

// appendValue appends a value as [preparePair] describes.
func appendValue(dst, v []byte) []byte {
	text, _ := valueEncoding(v)
	return appendValueAs(dst, v, text)
}

func appendValueAs(dst, v []byte, text bool) []byte {
	// Measured first, so that a value of mostly control characters (for which base64 is shorter) is
	// never written out as JSON text only to be thrown away: for a 25 MiB value that was 157 MB.
	if text && jsonStringLen(v) <= maxValueEncoding(len(v)) {
		return appendJSONString(dst, v)
	}
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, v)
	dst = append(dst, '"')
	return append(dst, base64Suffix...)
}

const hexDigits = "0123456789abcdef"

// jsonStringLen is the length of [appendJSONString]'s output for s, quotes included.
func jsonStringLen[S ~string | ~[]byte](s S) int {
	n := len(s) + 2
	for i := 0; i < len(s); i++ {
		n += int(jsonEscapeExtra[s[i]])
	}
	return n
}

// appendJSONString appends s, which must be valid UTF-8, as a JSON string.
func appendJSONString[S ~string | ~[]byte](dst []byte, s S) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if jsonEscapeExtra[c] == 0 {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
