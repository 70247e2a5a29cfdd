package workerskv

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// escapeJSONSlowly is the reference for appendJSONString: one byte at a time, '"', '\\' and \n \r \t
// as two-byte escapes, other controls as \u00XX, everything else (UTF-8 included) as is.
func escapeJSONSlowly(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteString(`\` + string(c))
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20:
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// checkJSONString holds appendJSONString and jsonStringLen, for a string and for bytes, to the
// reference, and the result to what encoding/json reads back.
func checkJSONString(t *testing.T, s string) {
	t.Helper()
	want := escapeJSONSlowly(s)
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

// TestJSONStringEveryBytePosition puts every byte that JSON escapes, and a multi-byte rune, at every
// position of strings around the 8-byte words the fast path reads, so each lane and each tail length
// is covered.
func TestJSONStringEveryBytePosition(t *testing.T) {
	specials := []string{"\"", "\\", "\n", "\r", "\t", "\x00", "\x01", "\x1f", "\x7f", " ", "!", "#", "[", "]", "é", "€", "😀"}
	for c := range 0x20 {
		specials = append(specials, string(rune(c)))
	}
	for n := range 25 {
		checkJSONString(t, strings.Repeat("a", n))
		for i := 0; i <= n; i++ {
			for _, sp := range specials {
				checkJSONString(t, strings.Repeat("a", i)+sp+strings.Repeat("b", n-i))
			}
		}
	}
	checkJSONString(t, strings.Repeat("\u00ff\u0100", 40))
}

// FuzzJSONString holds the word-at-a-time escaping to the byte-at-a-time reference for any text.
func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"", "plain ascii text", "tab\there", `q"uo\te`, "\x00\x1f\x20\x7f", "日本語 and 😀", strings.Repeat("x", 17) + "\n"} {
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
