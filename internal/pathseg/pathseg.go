// Package pathseg builds request URLs whose dynamic segments (account IDs, namespace IDs, key names) are
// escaped so that no value can change which endpoint is called.
package pathseg

import (
	"net/url"
	"strings"
)

// Join returns base with the given segments appended, each escaped as one segment. Path holds the
// decoded form and, when any segment needed escaping, RawPath the escaped one, so the request line
// carries the escaped form exactly. It never cleans the path: a segment ".." stays a segment (callers
// refuse "." and ".." keys before). Both forms share one allocation.
func Join(base *url.URL, segments ...string) *url.URL {
	u := *base
	u.RawQuery, u.Fragment, u.RawFragment = "", "", ""
	// One trailing slash of the base is dropped, judged on its escaped form: a base ending in "%2F"
	// ends in a slash only once decoded, and keeps it.
	basePath, baseRaw := base.Path, base.EscapedPath()
	if strings.HasSuffix(baseRaw, "/") {
		basePath, baseRaw = strings.TrimSuffix(basePath, "/"), strings.TrimSuffix(baseRaw, "/")
	}
	dec, extra := len(basePath), 0 // the decoded length, and what escaping adds to it
	for _, s := range segments {
		dec += 1 + len(s)
		for i := 0; i < len(s); i++ {
			if escapes[s[i]] {
				extra += 2
			}
		}
	}
	escaped := extra > 0 || base.RawPath != ""
	n := dec
	if escaped {
		n += len(baseRaw) + dec - len(basePath) + extra
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(basePath)
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(s)
	}
	if escaped {
		b.WriteString(baseRaw)
		for _, s := range segments {
			b.WriteByte('/')
			writeEscaped(&b, s)
		}
	}
	both := b.String()
	u.Path, u.RawPath = both[:dec], both[dec:]
	return &u
}

// escapes tells, for each byte, whether [url.PathEscape] percent-encodes it; it is taken from
// url.PathEscape itself, which escapes byte by byte.
var escapes = func() (t [256]bool) {
	for c := range 256 {
		s := string([]byte{byte(c)})
		t[c] = url.PathEscape(s) != s
	}
	return t
}()

const upperHex = "0123456789ABCDEF"

// writeEscaped writes s as url.PathEscape would: every byte that is not unreserved is percent-encoded,
// so "/" travels as %2F, "?" as %3F, "#" as %23 and "%" as %25.
func writeEscaped(b *strings.Builder, s string) {
	start := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; escapes[c] {
			b.WriteString(s[start:i])
			b.WriteByte('%')
			b.WriteByte(upperHex[c>>4])
			b.WriteByte(upperHex[c&15])
			start = i + 1
		}
	}
	b.WriteString(s[start:])
}
