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
// decoded form and RawPath the escaped one, so the request line carries the escaped form exactly.
// It never cleans the path: a segment ".." stays a segment (callers refuse "." and ".." keys before).
func Join(base *url.URL, segments ...string) *url.URL {
	u := *base
	var raw, dec strings.Builder
	raw.WriteString(strings.TrimSuffix(base.EscapedPath(), "/"))
	dec.WriteString(strings.TrimSuffix(base.Path, "/"))
	for _, s := range segments {
		raw.WriteByte('/')
		raw.WriteString(Escape(s))
		dec.WriteByte('/')
		dec.WriteString(s)
	}
	u.Path = dec.String()
	u.RawPath = raw.String()
	u.RawQuery = ""
	u.Fragment = ""
	u.RawFragment = ""
	return &u
}
