package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"testing"
	"unicode/utf8"
)

// chunkedReader hands out data in reads of the given sizes, cycling through them.
type chunkedReader struct {
	data  []byte
	sizes []byte
	i     int
}

func (c *chunkedReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := 1
	if len(c.sizes) > 0 {
		n = int(c.sizes[c.i%len(c.sizes)])%7 + 1
		c.i++
	}
	n = copy(p[:min(n, len(p))], c.data)
	c.data = c.data[n:]
	return n, nil
}

// FuzzUTF8Reader: whatever the data and however it is split into reads (sequences cut anywhere),
// utf8Reader passes valid UTF-8 through unchanged and fails invalid data with errNotUTF8, never
// passing on a byte of the read where it found the error.
func FuzzUTF8Reader(f *testing.F) {
	for _, s := range []string{"", "a", "é", "€", "🔑", "\xff", "a\xc3", "\xc3\x28", "\xed\xa0\x80", "\xf4\x90\x80\x80",
		"\xe2\x82", "ab€cd🔑e", "\xf0\x9f\x94", "\xc0\xaf"} {
		f.Add([]byte(s), []byte{0, 1, 2, 3})
	}
	f.Fuzz(func(t *testing.T, data, sizes []byte) {
		u := &utf8Reader{r: &chunkedReader{data: data, sizes: sizes}}
		var out bytes.Buffer
		_, err := io.Copy(&out, u)
		if utf8.Valid(data) {
			if err != nil || !bytes.Equal(out.Bytes(), data) {
				t.Fatalf("valid %q: got %q, %v", data, out.Bytes(), err)
			}
			return
		}
		if !errors.Is(err, errNotUTF8) {
			t.Fatalf("invalid %q: %v", data, err)
		}
		if !utf8.Valid(out.Bytes()[:len(out.Bytes())-lastIncomplete(out.Bytes())]) || !bytes.HasPrefix(data, out.Bytes()) {
			t.Fatalf("invalid %q: passed on %q", data, out.Bytes())
		}
		if _, err := u.Read(make([]byte, 8)); !errors.Is(err, errNotUTF8) {
			t.Fatalf("the error is not sticky: %v", err)
		}
	})
}

// lastIncomplete is the length of an incomplete sequence at the end of b.
func lastIncomplete(b []byte) int {
	for i := len(b) - 1; i >= 0 && i > len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return len(b) - i
			}
			return 0
		}
	}
	return 0
}

// objectFields are the targets FuzzDecodeObject decodes members into: one of each fast path of
// decodeMember, and the generic one.
type objectFields struct {
	S *string
	B *bool
	R json.RawMessage
	N jsonNumber
	A any
}

func (o *objectFields) field(name string) any {
	switch name {
	case "s":
		return &o.S
	case "b":
		return &o.B
	case "r":
		return &o.R
	case "n":
		return &o.N
	case "a":
		return &o.A
	}
	return nil
}

// FuzzDecodeObject: decodeObject on a UTF-8 body agrees with encoding/json reading the object into
// a map of exactly named members and then each member into its field: same values, an error for
// the same inputs (except that only decodeObject requires an object).
func FuzzDecodeObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"s":"x","b":true,"r":{"a":[1]},"n":12,"a":[null]}`, `{"s":"a\"b","S":"no"}`,
		`{"s":null,"b":null,"r":null,"n":null}`, `{"s":1}`, `{"b":"true"}`, `{"n":"1"}`, `{"s":"x","s":null}`,
		`{ "s" : "é\u00e9\ud800" , "\u0073":"esc" }`, `[]`, `null`, `"s"`, `{"r":"\\"}`, `{"b":false,"b":true}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !utf8.Valid(data) || !json.Valid(data) {
			return
		}
		var got objectFields
		var scratch json.RawMessage
		gotErr := decodeObject(json.NewDecoder(bytes.NewReader(data)), &scratch, got.field)
		var members map[string]json.RawMessage
		var want objectFields
		wantErr := json.Unmarshal(data, &members)
		if wantErr == nil && members == nil {
			wantErr = errNotObject
		}
		for name, raw := range members {
			if target := want.field(name); target != nil && wantErr == nil {
				wantErr = json.Unmarshal(raw, target)
			}
		}
		if (gotErr != nil) != (wantErr != nil) {
			t.Fatalf("%s: decodeObject error %v, encoding/json %v", data, gotErr, wantErr)
		}
		if gotErr != nil {
			return
		}
		if g, w := fmt.Sprintf("%#v %#v %s %#v %#v", deref(got.S), deref(got.B), compactRaw(got.R), got.N, got.A),
			fmt.Sprintf("%#v %#v %s %#v %#v", deref(want.S), deref(want.B), compactRaw(want.R), want.N, want.A); g != w {
			t.Fatalf("%s:\n got  %s\n want %s", data, g, w)
		}
	})
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func compactRaw(r json.RawMessage) string {
	var buf bytes.Buffer
	if json.Compact(&buf, r) != nil {
		return "invalid " + string(r)
	}
	return buf.String()
}
