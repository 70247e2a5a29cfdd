package workerskv_test

// Tests of what a Client remembers of the server's rate-limit answers: the lockout after a 429 or an
// empty budget, shared by every goroutine and every WithAccount copy, and the pace read from the
// Ratelimit header. All run on synctest's fake clock.

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/workerskv/workerskv"
)

// limited answers 429 with Retry-After: secs, as Cloudflare does once the account's budget is spent.
func limited(secs int) httpmock.Responder {
	return func(r *http.Request) (*http.Response, error) {
		resp, _ := jsonResponder(429, failure(971, "Please wait and consider throttling your request speed"))(r)
		resp.Header.Set("Retry-After", strconv.Itoa(secs))
		resp.Header.Set("Ratelimit", `"default";r=0;t=`+strconv.Itoa(secs))
		resp.Header.Set("Ratelimit-Policy", `"default";q=1200;w=300`)
		return resp, nil
	}
}

// withBudget answers like ok, with the Ratelimit headers of a budget of r requests left for t seconds.
func withBudget(ok httpmock.Responder, r, t int) httpmock.Responder {
	return func(req *http.Request) (*http.Response, error) {
		resp, err := ok(req)
		resp.Header.Set("Ratelimit", `"default";r=`+strconv.Itoa(r)+`;t=`+strconv.Itoa(t))
		resp.Header.Set("Ratelimit-Policy", `"default";q=1200;w=300`)
		return resp, err
	}
}

// checkLocalRefusal checks an error returned without sending anything because of a lockout.
func checkLocalRefusal(t *testing.T, err error, retryAfter time.Duration) {
	t.Helper()
	var ae *workerskv.APIError
	if !errors.Is(err, workerskv.ErrRateLimited) || !errors.As(err, &ae) {
		t.Fatalf("err = %v, want an *APIError matching ErrRateLimited", err)
	}
	if ae.RetryAfter != retryAfter {
		t.Errorf("RetryAfter = %v, want %v", ae.RetryAfter, retryAfter)
	}
	if ae.Attempts != 0 {
		t.Errorf("Attempts = %d, want 0: nothing was sent", ae.Attempts)
	}
	if !strings.Contains(err.Error(), "locally") {
		t.Errorf("message %q does not say the refusal is local", err)
	}
}

// TestLockoutAfterRetryAfter: after a 429 with Retry-After: 3600, the next call sends nothing and
// returns ErrRateLimited at once, from any goroutine and from a WithAccount copy; once the hour has
// passed, requests go again.
func TestLockoutAfterRetryAfter(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c, m := setup(t)
		m.on("GET", nsURL+"/"+testNS, limited(3600))
		_, err := c.Namespaces.Get(t.Context(), testNS)
		var ae *workerskv.APIError
		if !errors.As(err, &ae) || ae.Attempts != 1 || ae.RetryAfter != time.Hour {
			t.Fatalf("first call: err = %v, want the server's 429 after one attempt, RetryAfter 1h", err)
		}
		time.Sleep(10 * time.Minute)
		start := time.Now()
		_, err = c.Namespaces.Get(t.Context(), testNS)
		checkLocalRefusal(t, err, 50*time.Minute)
		if d := time.Since(start); d != 0 {
			t.Errorf("the refusal took %v, want at once", d)
		}
		other := withAccount(t, c, "other")
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				_, err := other.Namespaces.Get(t.Context(), testNS)
				checkLocalRefusal(t, err, 50*time.Minute)
			})
		}
		wg.Wait()
		if n := len(m.requests()); n != 1 {
			t.Fatalf("%d requests sent, want only the first", n)
		}
		time.Sleep(50 * time.Minute)
		m.on("GET", nsURL+"/"+testNS, nsOK)
		if _, err := c.Namespaces.Get(t.Context(), testNS); err != nil {
			t.Fatalf("after the lockout: %v", err)
		}
	})
}

// TestLockoutWaitsWhenShort: a lockout within WithMaxRetryWait is waited out by a call whose context
// allows it; one whose deadline comes first is refused at once.
func TestLockoutWaitsWhenShort(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c, m := setup(t, workerskv.WithMaxRetries(workerskv.NoRetries))
		m.on("GET", nsURL+"/"+testNS, limited(20))
		start := time.Now()
		if _, err := c.Namespaces.Get(t.Context(), testNS); !errors.Is(err, workerskv.ErrRateLimited) {
			t.Fatalf("first call: %v", err)
		}
		m.on("GET", nsURL+"/"+testNS, nsOK)
		short, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		_, err := c.Namespaces.Get(short, testNS)
		checkLocalRefusal(t, err, 20*time.Second)
		if _, err := c.Namespaces.Get(t.Context(), testNS); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != 20*time.Second {
			t.Errorf("the second request went %v after the 429, want at the reset, 20s", d)
		}
		if n := len(m.requests()); n != 2 {
			t.Errorf("%d requests, want 2", n)
		}
	})
}

// TestLockoutFromEmptyBudget: a success whose Ratelimit header says nothing is left locks the client
// out until the window's reset, without a 429.
func TestLockoutFromEmptyBudget(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c, m := setup(t)
		m.on("GET", nsURL+"/"+testNS, withBudget(nsOK, 0, 240))
		if _, err := c.Namespaces.Get(t.Context(), testNS); err != nil {
			t.Fatal(err)
		}
		_, err := c.Namespaces.Get(t.Context(), testNS)
		checkLocalRefusal(t, err, 4*time.Minute)
		if n := len(m.requests()); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
}

// TestPacingFromRatelimitHeader: with about 160 requests left for 100 s and a quota of 1,200, the
// client keeps back its reserve (5% of the quota, 60) and spreads the other 100 over the 100 s: a
// small burst, then one a second.
func TestPacingFromRatelimitHeader(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c, m := setup(t)
		var left atomic.Int64
		left.Store(160)
		var sent atomic.Int64
		start := time.Now()
		m.on("GET", nsURL+"/"+testNS, func(r *http.Request) (*http.Response, error) {
			sent.Add(1)
			elapsed := int(time.Since(start) / time.Second)
			return withBudget(nsOK, int(left.Add(-1)), 100-elapsed)(r)
		})
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for time.Since(start) < 20*time.Second {
					if _, err := c.Namespaces.Get(t.Context(), testNS); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		// 100 requests over 100 s is one a second: 20 s allow about 20, plus the first and a burst.
		if n := sent.Load(); n < 15 || n > 30 {
			t.Errorf("%d requests in 20 s, want about 20 (100 spare requests spread over 100 s)", n)
		}
	})
}

// TestPacingIgnoresMalformedHeader: a missing or malformed Ratelimit header leaves the client unpaced
// (only WithRateLimit, when given, limits it).
func TestPacingIgnoresMalformedHeader(t *testing.T) {
	t.Parallel()
	for _, h := range []string{"", "garbage", `"default";r=;t=5`, `"default";r=-3;t=5`, `"default";r=0`, `r=0;t=abc`} {
		synctest.Test(t, func(t *testing.T) {
			c, m := setup(t)
			m.on("GET", nsURL+"/"+testNS, func(r *http.Request) (*http.Response, error) {
				resp, err := nsOK(r)
				if h != "" {
					resp.Header.Set("Ratelimit", h)
				}
				return resp, err
			})
			start := time.Now()
			for range 50 {
				if _, err := c.Namespaces.Get(t.Context(), testNS); err != nil {
					t.Fatalf("Ratelimit %q: %v", h, err)
				}
			}
			if d := time.Since(start); d != 0 {
				t.Errorf("Ratelimit %q: 50 requests took %v, want no pacing", h, d)
			}
		})
	}
}

// TestPacingRefusesFarTurn: when the server's pace puts a call's turn further away than
// WithMaxRetryWait, the call fails at once, nothing sent, instead of queueing.
func TestPacingRefusesFarTurn(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c, m := setup(t)
		// 62 left of 1,200 for 300 s: 2 above the reserve of 60, one every 150 s.
		m.on("GET", nsURL+"/"+testNS, withBudget(nsOK, 62, 300))
		for range 2 {
			if _, err := c.Namespaces.Get(t.Context(), testNS); err != nil {
				t.Fatal(err)
			}
		}
		start := time.Now()
		_, err := c.Namespaces.Get(t.Context(), testNS)
		var ae *workerskv.APIError
		if !errors.As(err, &ae) || !errors.Is(err, workerskv.ErrRateLimited) || ae.RetryAfter <= time.Minute || !strings.Contains(err.Error(), "locally") {
			t.Fatalf("err = %v, want a local refusal with RetryAfter over a minute", err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("refused after %v, want at once", d)
		}
		if n := len(m.requests()); n != 2 {
			t.Errorf("%d requests, want 2", n)
		}
	})
}
