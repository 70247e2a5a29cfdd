package workerskv

import (
	"testing"
	"time"
)

// TestParseRatelimit: what is read of the Ratelimit and Ratelimit-Policy headers, and what is not.
func TestParseRatelimit(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		v       string
		r       int
		reset   time.Duration
		ok      bool
		comment string
	}{
		{`"default";r=1199;t=300`, 1199, 300 * time.Second, true, "as Cloudflare sends it"},
		{`"default";t=7;r=0`, 0, 7 * time.Second, true, "parameters in any order"},
		{`"default"; r=5 ; t=9`, 5, 9 * time.Second, true, "spaces"},
		{`"default";r=5;t=9, "other";r=0;t=1`, 5, 9 * time.Second, true, "the first item only"},
		{`"default";r=5;t=9;pk=:abc:`, 5, 9 * time.Second, true, "other parameters ignored"},
		{``, 0, 0, false, "missing"},
		{`"default"`, 0, 0, false, "no parameters"},
		{`"default";r=5`, 0, 0, false, "no reset"},
		{`"default";r=-1;t=5`, 0, 0, false, "negative"},
		{`"default";r=1.5;t=5`, 0, 0, false, "not a whole number"},
		{`"default";r=5;t=99999999999999999999`, 0, 0, false, "overflow"},
	} {
		r, reset, ok := parseRatelimit(c.v)
		if ok != c.ok || (ok && (r != c.r || reset != c.reset)) {
			t.Errorf("%s: parseRatelimit(%q) = %d, %v, %v; want %d, %v, %v", c.comment, c.v, r, reset, ok, c.r, c.reset, c.ok)
		}
	}
	if q, w, ok := parseRatelimitPolicy(`"default";q=1200;w=300`); !ok || q != 1200 || w != 5*time.Minute {
		t.Errorf("policy: %d, %v, %v", q, w, ok)
	}
	for _, bad := range []string{``, `"default";q=0;w=300`, `"default";q=10;w=0`, `q=x;w=1`} {
		if _, _, ok := parseRatelimitPolicy(bad); ok {
			t.Errorf("policy %q accepted", bad)
		}
	}
}

// FuzzParseRatelimit: any header parses without a panic, into numbers that fit a time.Duration.
func FuzzParseRatelimit(f *testing.F) {
	f.Add(`"default";r=1199;t=300`)
	f.Add(`"default";q=1200;w=300`)
	f.Add(`;;,=;r==;t=`)
	f.Fuzz(func(t *testing.T, v string) {
		r, reset, ok := parseRatelimit(v)
		if ok && (r < 0 || reset < 0) {
			t.Fatalf("%q: %d, %v", v, r, reset)
		}
		q, w, ok := parseRatelimitPolicy(v)
		if ok && (q < 1 || w < time.Second) {
			t.Fatalf("%q: %d, %v", v, q, w)
		}
	})
}
