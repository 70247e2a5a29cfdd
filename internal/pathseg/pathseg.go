// Package pathseg builds request URLs whose dynamic segments (account IDs, namespace IDs, key names) are
// escaped so that no value can change which endpoint is called.
package pathseg

import (
	"net/url"
	"strings"
)

// Escape escapes one path segment: every byte that is not unreserved is percent-encoded, so "/" travels
// as %2F, "?" as %3F, "#" as %23 and "%" as %25.
func Escape(s string) string {
	return url.PathEscape(s)
}

// Join returns base with the given segments appended, each escaped as one segment. Path holds the
// decoded form and, when any segment needed escaping, RawPath the escaped one, so the request line
// carries the escaped form exactly. It never cleans the path: a segment ".." stays a segment (callers
// refuse "." and ".." keys before).
func Join(base *url.URL, segments ...string) *url.URL {
	u := *base
	u.RawQuery, u.Fragment, u.RawFragment = "", "", ""
	basePath := strings.TrimSuffix(base.Path, "/")
	n := len(basePath)
	escaped := base.RawPath != ""
	var escBuf [8]string
	esc := escBuf[:0]
	for _, s := range segments {
		n += 1 + len(s)
		e := Escape(s)
		escaped = escaped || e != s
		esc = append(esc, e)
	}
	var dec strings.Builder
	dec.Grow(n)
	dec.WriteString(basePath)
	for _, s := range segments {
		dec.WriteByte('/')
		dec.WriteString(s)
	}
	u.Path = dec.String()
	u.RawPath = ""
	if !escaped {
		return &u
	}
	var raw strings.Builder
	raw.Grow(n + n/2)
	raw.WriteString(strings.TrimSuffix(base.EscapedPath(), "/"))
	for _, e := range esc {
		raw.WriteByte('/')
		raw.WriteString(e)
	}
	u.RawPath = raw.String()
	return &u
}
