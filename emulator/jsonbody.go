package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"
)

// JSON request bodies (namespace create and rename, bulk write, delete and
// get) are read as the API's schema spells them, not with encoding/json's
// leniencies:
//
//   - The body must be valid UTF-8 (RFC 8259). A byte that is not is refused
//     (400, 10027) rather than replaced by U+FFFD, which would store a key or
//     a title other than the one sent.
//   - Member names match exactly: "Key" is not "key" (encoding/json matches
//     names case-insensitively, so {"key":"a","KEY":"b"} would write "b").
//     Unknown members are ignored; when a member repeats, the last one wins,
//     null included.
//   - expiration and expiration_ttl must be JSON numbers, not strings.
//   - Nothing but white space may follow the value.
//
// An escaped lone surrogate ("\ud800") is valid JSON text; it decodes to
// U+FFFD, as a JavaScript service encoding the string as UTF-8 stores it.

var (
	errNotUTF8      = errors.New("emulator: request body is not valid UTF-8")
	errNotObject    = errors.New("emulator: not a JSON object")
	errTrailingData = errors.New("emulator: data after the JSON value")
	errNotNumber    = errors.New("emulator: not a JSON number")
)

// utf8Reader passes a body through, failing with errNotUTF8 at the first
// read whose bytes are not valid UTF-8 (none of that read's bytes are passed
// on). A sequence split across reads is checked once complete. The error is
// sticky.
type utf8Reader struct {
	r    io.Reader
	pend [utf8.UTFMax]byte // the start of a sequence the previous read ended in
	n    int
	bad  bool
}

func (u *utf8Reader) Read(p []byte) (int, error) {
	if u.bad {
		return 0, errNotUTF8
	}
	n, err := u.r.Read(p)
	b := p[:n]
	for u.n > 0 && len(b) > 0 && !utf8.FullRune(u.pend[:u.n]) {
		u.pend[u.n] = b[0]
		u.n++
		b = b[1:]
	}
	if u.n > 0 && utf8.FullRune(u.pend[:u.n]) {
		if r, size := utf8.DecodeRune(u.pend[:u.n]); r == utf8.RuneError && size <= 1 {
			return u.fail()
		}
		u.n = 0
	}
	if u.n == 0 {
		end := len(b)
		for i := len(b) - 1; i >= 0 && i > len(b)-utf8.UTFMax; i-- {
			if utf8.RuneStart(b[i]) {
				if !utf8.FullRune(b[i:]) {
					end = i
				}
				break
			}
		}
		if !utf8.Valid(b[:end]) {
			return u.fail()
		}
		u.n = copy(u.pend[:], b[end:])
	}
	if err == io.EOF && u.n > 0 {
		return u.fail()
	}
	return n, err
}

func (u *utf8Reader) fail() (int, error) {
	u.bad = true
	return 0, errNotUTF8
}

// newJSONDecoder decodes a request body that must be valid UTF-8.
func newJSONDecoder(body io.Reader) *json.Decoder {
	return json.NewDecoder(&utf8Reader{r: body})
}

// decodeObject reads one JSON object from dec into scratch (reused from call
// to call). Each member whose name, unescaped, is exactly one that field
// knows is decoded into the pointer field returns for it; the others are
// skipped. (Decoding member by member with Token and Decode is slower:
// encoding/json builds an error value to find where a scalar in a stream
// ends.)
func decodeObject(dec *json.Decoder, scratch *json.RawMessage, field func(name string) any) error {
	if err := dec.Decode(scratch); err != nil {
		return err
	}
	return eachMember(*scratch, func(name string, value []byte) error {
		if target := field(name); target != nil {
			return decodeMember(value, target)
		}
		return nil
	})
}

// decodeMember is json.Unmarshal(value, target) with fast paths for the
// usual members of a validated UTF-8 object: strings without escapes,
// booleans, nulls, raw JSON.
func decodeMember(value []byte, target any) error {
	value = bytes.TrimRight(value, " \t\r\n")
	null := string(value) == "null"
	switch t := target.(type) {
	case **string:
		if null {
			*t = nil
			return nil
		}
		if len(value) >= 2 && value[0] == '"' && bytes.IndexByte(value, '\\') < 0 {
			s := string(value[1 : len(value)-1])
			*t = &s
			return nil
		}
	case **bool:
		switch {
		case null:
			*t = nil
			return nil
		case string(value) == "true", string(value) == "false":
			v := value[0] == 't'
			*t = &v
			return nil
		}
	case *json.RawMessage:
		*t = append(json.RawMessage(nil), value...)
		return nil
	case json.Unmarshaler:
		return t.UnmarshalJSON(value)
	}
	return json.Unmarshal(value, target)
}

// eachMember calls fn with the name and the value of each member of b, in
// order. b is JSON the decoder has validated; if it is not an object,
// eachMember returns errNotObject.
func eachMember(b []byte, fn func(name string, value []byte) error) error {
	i := skipSpace(b, 0)
	if i == len(b) || b[i] != '{' {
		return errNotObject
	}
	i++
	for {
		i = skipSpace(b, i)
		switch b[i] {
		case '}':
			return nil
		case ',':
			i = skipSpace(b, i+1)
		}
		end := skipString(b, i)
		name := string(b[i+1 : end-1])
		if strings.IndexByte(name, '\\') >= 0 {
			if err := json.Unmarshal(b[i:end], &name); err != nil {
				return err
			}
		}
		i = skipSpace(b, end) + 1 // past ':'
		i = skipSpace(b, i)
		vend := skipValue(b, i)
		if err := fn(name, b[i:vend]); err != nil {
			return err
		}
		i = vend
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string that starts at b[i].
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(b)
}

// skipValue returns the index after the value that starts at b[i] (and any
// white space after it): that of the "," or "}" that follows.
func skipValue(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		switch b[i] {
		case '"':
			i = skipString(b, i)
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i
			}
			depth--
		case ',':
			if depth == 0 {
				return i
			}
		}
		i++
	}
	return i
}

// expectEnd fails unless only white space is left in dec's input.
func expectEnd(dec *json.Decoder) error {
	_, err := dec.Token()
	switch {
	case err == io.EOF:
		return nil
	case err == nil:
		return errTrailingData
	}
	return err
}

// decodeJSONObject decodes r's body, at most limit bytes, as one JSON object
// (see decodeObject); what describes the expected body in the error for a
// malformed one.
func decodeJSONObject(w http.ResponseWriter, r *http.Request, limit int64, field func(name string) any, what string) *apiError {
	if err := limitBody(w, r, limit); err != nil {
		return err
	}
	dec := newJSONDecoder(r.Body)
	err := decodeObject(dec, new(json.RawMessage), field)
	if err == nil {
		err = expectEnd(dec)
	}
	if err != nil {
		return bodyError(err, limit, what)
	}
	return nil
}

// jsonNumber is a member that must be a JSON number, or null (unset, ""):
// unlike json.Number, it refuses a string holding a number.
type jsonNumber string

func (j *jsonNumber) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*j = ""
		return nil
	}
	if len(b) == 0 || (b[0] != '-' && (b[0] < '0' || b[0] > '9')) {
		return errNotNumber
	}
	*j = jsonNumber(b)
	return nil
}
