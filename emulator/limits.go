package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of Workers KV, enforced by the emulator.
const (
	maxKeyBytes       = 512
	maxValueBytes     = 25 << 20 // 26,214,400 bytes
	maxMetadataBytes  = 1024     // serialized (compact) JSON
	minExpirationTTL  = 60       // seconds
	minExpirationLead = 60       // seconds an absolute expiration must lie ahead
	maxTitleChars     = 512
	minListLimit      = 10
	maxListLimit      = 1000
	defaultListLimit  = 1000
	defaultPerPage    = 20
	maxPerPage        = 1000
	maxBulkWriteItems = 10000
	maxBulkDeleteKeys = 10000
	maxBulkGetKeys    = 100
)

// Request body limits, applied with http.MaxBytesReader before a body is read.
const (
	maxValueBodyBytes = maxValueBytes + 64<<10 // a value plus multipart framing and metadata
	maxBulkBodyBytes  = 100_000_000
	maxJSONBodyBytes  = 1 << 20
	maxMetadataPart   = 64 << 10 // a metadata part is read up to this many bytes

	// maxConcurrentBulkBodies is how many bulk write bodies are read and
	// decoded at once; more wait (see acquireBulkSlot).
	maxConcurrentBulkBodies = 2
)

// decodeKey percent-decodes one escaped path segment exactly once and checks
// the result is a valid key name.
func decodeKey(segment string) (string, *apiError) {
	key, err := url.PathUnescape(segment)
	if err != nil {
		return "", badRequest(codeInvalidKey, "Key name is not validly percent-encoded.")
	}
	return key, validateKey(key)
}

// validateKey checks a key name against the KV rules: 1 to 512 bytes of
// UTF-8, and not "." or "..".
func validateKey(key string) *apiError {
	switch {
	case key == "":
		return badRequest(codeInvalidKey, "Key names must not be empty.")
	case len(key) > maxKeyBytes:
		return badRequest(codeInvalidKey, "UTF-8 encoded length of %d exceeds key length limit of %d.", len(key), maxKeyBytes)
	case key == "." || key == "..":
		return badRequest(codeInvalidKey, "Illegal key name %q: keys cannot be \".\" or \"..\".", key)
	case !utf8.ValidString(key):
		return badRequest(codeInvalidKey, "Key names must be valid UTF-8.")
	}
	return nil
}

// validateTitle checks a namespace title: present, 1 to 512 characters.
func validateTitle(title *string) *apiError {
	if title == nil || *title == "" {
		return badRequest(codeInvalidTitle, "request is missing a title definition")
	}
	if n := utf8.RuneCountInString(*title); n > maxTitleChars {
		return badRequest(codeInvalidTitle, "Title length of %d characters exceeds limit of %d.", n, maxTitleChars)
	}
	return nil
}

// errMetadataNotJSON is Cloudflare's answer for metadata that is not JSON.
var errMetadataNotJSON = badRequest(codeMetadataNotJSON, "metadata must be valid json")

// normalizeMetadata validates metadata JSON (UTF-8 text, RFC 8259), compacts
// it and checks the 1,024-byte limit. JSON null means no metadata and returns nil.
func normalizeMetadata(raw []byte) (json.RawMessage, *apiError) {
	if !utf8.Valid(raw) {
		return nil, errMetadataNotJSON
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, errMetadataNotJSON
	}
	if buf.Len() > maxMetadataBytes {
		return nil, badRequest(codeInvalidMetadata, "Metadata length of %d exceeds limit of %d bytes.", buf.Len(), maxMetadataBytes)
	}
	if buf.String() == "null" {
		return nil, nil
	}
	return json.RawMessage(buf.Bytes()), nil
}

// errValueTooLarge is answered for a value over 25 MiB.
func errValueTooLarge(n int) *apiError {
	return newError(http.StatusRequestEntityTooLarge, codePayloadTooLarge,
		"Value length of %d exceeds limit of %d.", n, maxValueBytes)
}

// errTooManyBulkItems is answered for a bulk write or delete array with more
// than maxItems elements, once dec has decoded maxItems of them. Cloudflare's
// message gives the array's length, so the rest of the array is counted
// (within the body's cap, without keeping it). what names the elements.
func errTooManyBulkItems(dec *json.Decoder, maxItems int, what string) *apiError {
	n := maxItems
	for dec.More() {
		if err := skipJSONValue(dec); err != nil {
			return bodyError(err, maxBulkBodyBytes, "The request body must be a JSON array.")
		}
		n++
	}
	return badRequest(codeTooManyPairs, "received %d %s, but max allowed per request is: %d", n, what, maxItems)
}

// skipJSONValue reads one JSON value from dec, token by token, and drops it.
func skipJSONValue(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('['), json.Delim('{'):
			depth++
		case json.Delim(']'), json.Delim('}'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

// errBodyTooLarge is answered when a request body is over limit bytes.
func errBodyTooLarge(limit int64) *apiError {
	return newError(http.StatusRequestEntityTooLarge, codePayloadTooLarge,
		"Request body exceeds the limit of %d bytes for this endpoint.", limit)
}

// bodyError maps an error met while reading a request body: a body over the
// MaxBytesReader limit becomes 413, anything else a 400 with what.
func bodyError(err error, limit int64, what string) *apiError {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return errBodyTooLarge(limit)
	case errors.Is(err, errNotUTF8):
		return badRequest(codeInvalidBody, "The request body is not valid UTF-8.")
	case errors.Is(err, errTrailingData):
		return badRequest(codeInvalidBody, "The request body has data after its JSON value.")
	}
	return badRequest(codeInvalidBody, "%s", what)
}

// limitBody caps r.Body at limit bytes. A body that announces more than limit
// in Content-Length is refused at once, before any of it is read.
func limitBody(w http.ResponseWriter, r *http.Request, limit int64) *apiError {
	if r.ContentLength > limit {
		return errBodyTooLarge(limit)
	}
	r.Body = http.MaxBytesReader(baseWriter(w), r.Body, limit)
	return nil
}

// resolveExpiration computes the absolute expiration (epoch seconds, 0 for
// none) of a write from its expiration and expiration_ttl inputs; an empty
// string means the input is absent. As in Cloudflare, expiration_ttl wins
// when both are given and expiration is then ignored. The messages are
// Cloudflare's; withOp prefixes them with the operation ("put: '...'").
func resolveExpiration(expiration, ttl string, now time.Time) (int64, *apiError) {
	nowSec := now.Unix()
	if ttl != "" {
		n, err := parseSeconds("expiration_ttl", ttl)
		if err != nil {
			return 0, err
		}
		if n < minExpirationTTL {
			return 0, badRequest(codeInvalidExpiration, "Invalid expiration_ttl of %d. Expiration TTL must be at least %d.", n, minExpirationTTL)
		}
		if n > math.MaxInt64-nowSec {
			return 0, badRequest(codeInvalidExpiration, "Invalid expiration_ttl of %d. Expiration TTL is too large.", n)
		}
		return nowSec + n, nil
	}
	if expiration != "" {
		n, err := parseSeconds("expiration", expiration)
		if err != nil {
			return 0, err
		}
		if n <= nowSec {
			return 0, badRequest(codeInvalidExpiration, "Invalid expiration of %d. Please specify integer greater than the current number of seconds since the UNIX epoch.", n)
		}
		if n < nowSec+minExpirationLead {
			return 0, badRequest(codeInvalidExpiration, "Invalid expiration of %d. Expiration times must be at least %d seconds in the future.", n, minExpirationLead)
		}
		return n, nil
	}
	return 0, nil
}

// maxSeconds is the largest number of seconds accepted: 2^53, the largest
// integer up to which every integer is exact as a JSON number in a
// JavaScript runtime.
const maxSeconds = 1 << 53

// parseSeconds parses a non-negative whole number of seconds, at most
// maxSeconds, judged by its value whatever its form: integral numbers written
// with a fraction or an exponent (1.7e9) are accepted; Go's other number forms
// (0x1p6, inf, +60, 1_000) are not.
func parseSeconds(name, s string) (int64, *apiError) {
	if !isDecimal(s) {
		return 0, badRequest(codeInvalidExpiration, "Invalid %s of %s. It must be a non-negative integer number of seconds.", name, clip(s))
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > maxSeconds {
			return 0, badRequest(codeInvalidExpiration, "Invalid %s of %s. It must be a non-negative integer number of seconds.", name, clip(s))
		}
		n = int64(f)
	}
	if n < 0 {
		return 0, badRequest(codeInvalidExpiration, "Invalid %s of %d. It must be a non-negative integer number of seconds.", name, n)
	}
	if n > maxSeconds {
		return 0, badRequest(codeInvalidExpiration, "Invalid %s of %d. It is too large: at most 2^53 seconds.", name, n)
	}
	return n, nil
}

// intParam reads an integer query parameter in [lo, hi]; absent or empty
// gives def.
func intParam(q url.Values, name string, def, lo, hi int) (int, *apiError) {
	s := q.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		if hi == math.MaxInt {
			return 0, badRequest(codeInvalidParam, "Invalid %s %q: it must be an integer of at least %d.", name, clip(s), lo)
		}
		return 0, badRequest(codeInvalidParam, "Invalid %s %q: it must be an integer from %d to %d.", name, clip(s), lo, hi)
	}
	return n, nil
}

// clip shortens caller-supplied text before it is quoted in an error message.
func clip(s string) string {
	const n = 64
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "..."
}

// isDecimal reports whether s is a decimal number as JSON writes one, leading
// zeros allowed: an optional minus sign, digits, an optional fraction and an
// optional exponent.
func isDecimal(s string) bool {
	i := 0
	digits := func() bool {
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	if !digits() {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	return i == len(s)
}
