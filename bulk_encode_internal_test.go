package workerskv

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// checkJSONString holds appendJSONString, for a string and for bytes, to encoding/json (without HTML
// escaping, and with U+2028 and U+2029 as they are): the same bytes, which read back as s, of the
// length jsonStringLen gives.
func checkJSONString(t *testing.T, s string) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	want := `"`
	for _, r := range s { // encoding/json escapes each character on its own
		if r == '\u2028' || r == '\u2029' {
			want += string(r)
			continue
		}
		buf.Reset()
		if err := enc.Encode(string(r)); err != nil {
			t.Fatal(err)
		}
		want += strings.TrimSuffix(strings.TrimPrefix(buf.String(), `"`), "\"\n")
	}
	want += `"`
	for name, got := range map[string]string{
		"string": string(appendJSONString([]byte("x"), s)[1:]),
		"bytes":  string(appendJSONString([]byte("x"), []byte(s))[1:]),
	} {
		if got != want {
			t.Fatalf("%s: appendJSONString(%q) = %s, want %s", name, s, got, want)
		}
	}
	if n, m := jsonStringLen(s), jsonStringLen([]byte(s)); n != len(want) || m != len(want) {
		t.Fatalf("jsonStringLen(%q) = %d (string), %d (bytes), want %d", s, n, m, len(want))
	}
	var back string
	if err := json.Unmarshal([]byte(want), &back); err != nil || back != s {
		t.Fatalf("%s reads back as %q (%v), want %q", want, back, err, s)
	}
}

// TestJSONString puts every byte that JSON escapes, and multi-byte runes, at every position of short
// strings, so that the length and the copy of plain strings agree with encoding/json wherever the
// special byte falls.
func TestJSONString(t *testing.T) {
	specials := []string{"\"", "\\", "\x7f", " ", "!", "#", "<", ">", "&", "[", "]", "é", "€", "😀", "\u2028", "\u2029", "\u2027", "\u202a"}
	for c := range 0x20 {
		specials = append(specials, string(rune(c)))
	}
	for n := range 10 {
		checkJSONString(t, strings.Repeat("a", n))
		for i := 0; i <= n; i++ {
			for _, sp := range specials {
				if s := strings.Repeat("a", i) + sp + strings.Repeat("b", n-i); utf8.ValidString(s) {
					checkJSONString(t, s)
				}
			}
		}
	}
	checkJSONString(t, strings.Repeat("\u00ff\u0100", 40))
}

// FuzzJSONString holds appendJSONString and jsonStringLen to encoding/json for any text.
func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"", "plain ascii text", "tab\there", `q"uo\te`, "\x00\x1f\x20\x7f", "日本語 and 😀", "<a&b>", "\u2028\u2029", strings.Repeat("x", 17) + "\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return // bulk items refuse text that is not UTF-8 before encoding it
		}
		checkJSONString(t, s)
	})
}

// BenchmarkAppendJSONString: a 100-byte value and a 16-byte key with nothing to escape, and a value
// with a newline every 20 bytes.
func BenchmarkAppendJSONString(b *testing.B) {
	for _, c := range []struct{ name, s string }{
		{"value100", strings.Repeat("abcdefghij", 10)},
		{"key16", "user/000123/prof"},
		{"newlines100", strings.Repeat("abcdefghi\n", 10)},
	} {
		name, s := c.name, c.s
		b.Run(name, func(b *testing.B) {
			buf := make([]byte, 0, 256)
			b.SetBytes(int64(len(s)))
			for b.Loop() {
				buf = appendJSONString(buf[:0], s)
			}
		})
	}
}
