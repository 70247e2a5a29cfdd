package workerskv

// The request URL of each call is the client's namespaces prefix joined with the call's segments
// (nsPrefix, in client.go): these tests hold it to url.PathEscape, segment by segment.

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestNSPrefixEscape: each key name travels as exactly one escaped segment of the joined path.
func TestNSPrefixEscape(t *testing.T) {
	t.Parallel()
	base, err := url.Parse("https://h.test/v4")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ in, want string }{
		{"plain", "plain"},
		{"a/b", "a%2Fb"},
		{"/leading", "%2Fleading"},
		{"q?x=1", "q%3Fx=1"},
		{"h#f", "h%23f"},
		{"100%", "100%25"},
		{"%2F", "%252F"},
		{"sp ace", "sp%20ace"},
		{"a/../b", "a%2F..%2Fb"},
		{"...", "..."},
		{"tab\t", "tab%09"},
		{"\u001f", "%1F"},
		{"ключ", "%D0%BA%D0%BB%D1%8E%D1%87"},
		{"🔑", "%F0%9F%94%91"},
		{"semi;comma,", "semi%3Bcomma%2C"},
		{"back\\slash", "back%5Cslash"},
	}
	for _, tc := range cases {
		got, ok := strings.CutPrefix(newNSPrefix(base, "values").Join(tc.in).EscapedPath(), "/v4/values/")
		if !ok || got != tc.want {
			t.Errorf("the segment for %q is %q, want %q", tc.in, got, tc.want)
		}
		if strings.ContainsAny(got, "/?#\\ \t;,") {
			t.Errorf("the segment for %q, %q, leaves a delimiter", tc.in, got)
		}
		if back, err := url.PathUnescape(got); err != nil || back != tc.in {
			t.Errorf("PathUnescape(%q) = %q, %v; want %q", got, back, err, tc.in)
		}
	}
}

func TestNSPrefixJoin(t *testing.T) {
	t.Parallel()
	cases := []struct {
		base     string
		segments []string
		want     string
	}{
		{"https://h.test/client/v4", []string{"accounts", "a", "values", "a/b"}, "https://h.test/client/v4/accounts/a/values/a%2Fb"},
		{"https://h.test/client/v4/", []string{"x"}, "https://h.test/client/v4/x"},
		{"https://h.test", []string{"values", "q?x=1"}, "https://h.test/values/q%3Fx=1"},
		{"https://h.test/v4?stale=1#frag", []string{"k"}, "https://h.test/v4/k"},
		{"https://h.test/v4", []string{"values", ".."}, "https://h.test/v4/values/.."},
		{"https://h.test/v4", []string{"values", "a/../b"}, "https://h.test/v4/values/a%2F..%2Fb"},
		{"https://h.test/v4", []string{"values", "100%", "h#f"}, "https://h.test/v4/values/100%25/h%23f"},
		{"https://h.test/base%2Fpath", []string{"k/1"}, "https://h.test/base%2Fpath/k%2F1"},
		{"https://h.test/v4%2F", []string{"k"}, "https://h.test/v4%2F/k"}, // an escaped slash is not a trailing slash
	}
	for _, tc := range cases {
		base, err := url.Parse(tc.base)
		if err != nil {
			t.Fatal(err)
		}
		baseStr := base.String()
		u := newNSPrefix(base).Join(tc.segments...)
		if got := u.String(); got != tc.want {
			t.Errorf("newNSPrefix(%q).Join(%q) = %q, want %q", tc.base, tc.segments, got, tc.want)
		}
		// Joined in two steps, the URL is the same.
		for i := range tc.segments {
			v := newNSPrefix(base, tc.segments[:i]...).Join(tc.segments[i:]...)
			if *v != *u {
				t.Errorf("newNSPrefix(%q, %q).Join(%q) = %#v, want %#v", tc.base, tc.segments[:i], tc.segments[i:], v, u)
			}
		}
		if base.String() != baseStr {
			t.Errorf("NewPrefix changed its base to %q", base)
		}
		// What net/http sends must be the same path: parse it again, as a server would.
		req, err := http.NewRequest("GET", u.String(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if req.URL.EscapedPath() != u.EscapedPath() || req.URL.RawQuery != "" || req.URL.Fragment != "" {
			t.Errorf("request URL %q, want path %q and no query or fragment", req.URL, u.EscapedPath())
		}
		segs := strings.Split(u.EscapedPath(), "/")
		for i, s := range tc.segments {
			got, err := url.PathUnescape(segs[len(segs)-len(tc.segments)+i])
			if err != nil || got != s {
				t.Errorf("segment %d of %q decodes to %q, want %q", i, u.EscapedPath(), got, s)
			}
		}
	}
}

// FuzzNSPrefixJoin: on the wire (EscapedPath) a joined URL is the base's escaped path, less one
// trailing slash, plus url.PathEscape of each segment, and its Path is that decoded. Segments joined
// into the prefix give the same URL as segments joined per request.
func FuzzNSPrefixJoin(f *testing.F) {
	for _, s := range []string{"plain", "a/b", "q?x=1", "h#f", "100%", "sp ace", "\x00\xff", "日本", "..", ""} {
		f.Add("https://h.test/client/v4", s, "values")
	}
	f.Add("https://h.test/base%2Fpath/", "k/1", "")
	f.Add("http://h/%00", "0", "0") // a base whose escaped path differs from its path without a RawPath
	f.Fuzz(func(t *testing.T, rawBase, seg1, seg2 string) {
		base, err := url.Parse(rawBase)
		if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
			return // the client refuses such a base URL
		}
		u := newNSPrefix(base).Join("accounts", seg1, seg2)
		for _, v := range []*url.URL{newNSPrefix(base, "accounts").Join(seg1, seg2), newNSPrefix(base, "accounts", seg1).Join(seg2), newNSPrefix(base, "accounts", seg1, seg2).Join()} {
			if *v != *u {
				t.Fatalf("joined in two steps, %#v; in one, %#v", v, u)
			}
		}
		wantWire := strings.TrimSuffix(base.EscapedPath(), "/") + "/accounts/" + url.PathEscape(seg1) + "/" + url.PathEscape(seg2)
		wantPath, err := url.PathUnescape(wantWire)
		if err != nil {
			t.Fatalf("the wire form %q does not decode: %v", wantWire, err)
		}
		if u.Path != wantPath || u.EscapedPath() != wantWire {
			t.Fatalf("newNSPrefix(%q).Join(\"accounts\", %q, %q): Path %q, on the wire %q; want %q and %q", rawBase, seg1, seg2, u.Path, u.EscapedPath(), wantPath, wantWire)
		}
	})
}

// BenchmarkNSPrefixJoin: a value's path below a client's namespaces prefix, with a key that needs
// escaping.
func BenchmarkNSPrefixJoin(b *testing.B) {
	base, err := url.Parse("https://api.cloudflare.com/client/v4")
	if err != nil {
		b.Fatal(err)
	}
	id := "0123456789abcdef0123456789abcdef"
	p := newNSPrefix(base, "accounts", id, "storage", "kv", "namespaces")
	b.ReportAllocs()
	for b.Loop() {
		p.Join(id, "values", "bench/key 1")
	}
}
