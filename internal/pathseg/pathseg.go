// Package pathseg builds request URLs whose dynamic segments (account IDs, namespace IDs, key names) are
// escaped so that no value can change which endpoint is called.
package pathseg

import (
	"net/url"
	"strings"
)

// Prefix is a base URL with fixed segments already joined and escaped, so that each request joins and
// escapes only the segments of its own. The zero Prefix is the empty relative URL.
type Prefix struct {
	u    url.URL // the base, without query or fragment
	path string  // the decoded path, without the base's trailing slash
	raw  string  // the path as it travels (escaped)
	// rawPath says raw differs from what url.URL.EscapedPath would make of path, so a joined URL must
	// carry it in RawPath.
	rawPath bool
}

// NewPrefix returns base with segments appended, each escaped as one segment. One trailing slash of
// the base's path is dropped, judged on its escaped form: a base ending in "%2F" ends in a slash only
// once decoded, and keeps it. base is not changed.
func NewPrefix(base *url.URL, segments ...string) *Prefix {
	p := &Prefix{u: *base, path: base.Path, raw: base.EscapedPath(), rawPath: base.RawPath != ""}
	p.u.RawQuery, p.u.Fragment, p.u.RawFragment = "", "", ""
	if strings.HasSuffix(p.raw, "/") {
		p.path, p.raw = strings.TrimSuffix(p.path, "/"), strings.TrimSuffix(p.raw, "/")
	}
	if len(segments) > 0 {
		u := p.Join(segments...)
		p.path, p.raw, p.rawPath = u.Path, u.EscapedPath(), u.RawPath != ""
	}
	return p
}

// Join returns the prefix's URL with the given segments appended, each escaped as one segment. Path
// holds the decoded form and, when any segment needed escaping, RawPath the escaped one, so the
// request line carries the escaped form exactly. It never cleans the path: a segment ".." stays a
// segment (callers refuse "." and ".." keys before). Both forms share one allocation.
func (p *Prefix) Join(segments ...string) *url.URL {
	u := p.u
	dec, extra := len(p.path), 0 // the decoded length, and what escaping adds to it
	for _, s := range segments {
		dec += 1 + len(s)
		for i := 0; i < len(s); i++ {
			if escapes[s[i]] {
				extra += 2
			}
		}
	}
	escaped := extra > 0 || p.rawPath
	n := dec
	if escaped {
		n += len(p.raw) + dec - len(p.path) + extra
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(p.path)
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(s)
	}
	if escaped {
		b.WriteString(p.raw)
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
