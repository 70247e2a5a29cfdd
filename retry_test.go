package workerskv_test

// The tests here wait (backoff, Retry-After, timeouts, the rate limiter) inside testing/synctest
// bubbles: time there is fake, starts at midnight UTC on 2000-01-01, and moves only when every
// goroutine of the bubble is blocked. A wait takes no real time and is measured exactly, however busy
// the machine. httpmock answers without any network I/O, so its requests block durably.

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/workerskv/workerskv"
)

var nsOK = jsonResponder(200, envelope(`{"id":"`+testNS+`","title":"t","supports_url_encoding":true}`))

// TestRetriedStatuses counts the attempts each outcome gets with WithMaxRetries(2).
func TestRetriedStatuses(t *testing.T) {
	t.Parallel()
	retried := []int{429, 500, 502, 503, 504, 520, 522, 530}
	never := []int{400, 401, 403, 404, 409, 501}
	type tc struct {
		name      string
		responder httpmock.Responder
		attempts  int
	}
	var cases []tc
	for _, s := range retried {
		cases = append(cases, tc{http.StatusText(s) + strconv.Itoa(s), jsonResponder(s, failure(10001, "x")), 3})
	}
	for _, s := range never {
		cases = append(cases, tc{http.StatusText(s) + strconv.Itoa(s), jsonResponder(s, failure(10001, "x")), 1})
	}
	cases = append(cases, tc{"connection failure", httpmock.ConnectionFailure, 3})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				client, m := setup(t, workerskv.WithMaxRetries(2))
				m.on("GET", nsURL+"/"+testNS, c.responder)
				if _, err := client.Namespaces.Get(t.Context(), testNS); err == nil {
					t.Fatal("no error")
				}
				if n := len(m.requests()); n != c.attempts {
					t.Errorf("%d requests, want %d", n, c.attempts)
				}
			})
		})
	}
}

// TestAttemptTimeoutRetried: http.Client.Timeout bounds each attempt; a timed-out attempt is retried.
func TestAttemptTimeoutRetried(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		_, m := setup(t)
		c, err := workerskv.NewClient(workerskv.WithAPIToken(canaryToken), workerskv.WithAccountID(testAccount),
			workerskv.WithBaseURL(testBase), workerskv.WithBackoff(0, 0),
			workerskv.WithHTTPClient(&http.Client{Transport: m.MockTransport, Timeout: 200 * time.Millisecond}))
		if err != nil {
			t.Fatal(err)
		}
		hang := func(r *http.Request) (*http.Response, error) {
			<-r.Context().Done()
			return nil, r.Context().Err()
		}
		m.on("GET", nsURL+"/"+testNS, httpmock.Responder(hang).Then(nsOK))
		start := time.Now()
		if _, err := c.Namespaces.Get(t.Context(), testNS); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != 200*time.Millisecond {
			t.Errorf("took %v, want the 200ms timeout of the first attempt, then the retry at once", d)
		}
		if n := len(m.requests()); n != 2 {
			t.Errorf("%d requests, want a retry after the timeout", n)
		}
	})
}

// TestRetryThenSuccess: a retried failure followed by a success is a success.
func TestRetryThenSuccess(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c, m := setup(t)
		m.on("GET", nsURL+"/"+testNS, jsonResponder(502, "<html>bad gateway</html>").Then(httpmock.ConnectionFailure).Then(nsOK))
		if _, err := c.Namespaces.Get(t.Context(), testNS); err != nil {
			t.Fatal(err)
		}
		if n := len(m.requests()); n != 3 {
			t.Errorf("%d requests, want 3", n)
		}
	})
}

// TestRetryAfterSeconds: Retry-After: 1 is waited out exactly, instead of the backoff.
func TestRetryAfterSeconds(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c, m := setup(t)
		m.on("GET", nsURL+"/"+testNS, withHeader(429, failure(971, "slow down"), "Retry-After", "1").Then(nsOK))
		start := time.Now()
		if _, err := c.Namespaces.Get(t.Context(), testNS); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != time.Second {
			t.Errorf("retried after %v, want Retry-After's 1s", d)
		}
		if n := len(m.requests()); n != 2 {
			t.Errorf("%d requests, want 2", n)
		}
	})
}

func TestRetriesExhausted(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c, m := setup(t, workerskv.WithMaxRetries(2))
		m.on("GET", nsURL+"/"+testNS, withHeader(429, failure(971, "slow"), "Retry-After", "1").
			Then(jsonResponder(503, "")).Then(jsonResponder(503, "")))
		_, err := c.Namespaces.Get(t.Context(), testNS)
		e, ok := errors.AsType[*workerskv.APIError](err)
		if !ok {
			t.Fatalf("err = %v, want *APIError", err)
		}
		// RetryAfter belongs to the first attempt only, not to the final 503.
		if e.StatusCode != 503 || e.Attempts != 3 || e.RetryAfter != 0 {
			t.Errorf("APIError = %+v", *e)
		}
		if n := len(m.requests()); n != 3 {
			t.Errorf("%d requests, want 3", n)
		}
	})
}

// TestRetryAfterTooLong: a wait past WithMaxRetryWait (60s by default), or past the context's deadline,
// ends the retries at once with the wait in RetryAfter. The HTTP date is made inside the bubble, from
// its clock, which stands on a whole second: the wait it asks for is exactly two hours.
func TestRetryAfterTooLong(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		retryAfter func(now time.Time) string
		deadline   time.Duration // 0: none
		want       time.Duration // APIError.RetryAfter
	}{
		{"seconds", func(time.Time) string { return "3600" }, 0, time.Hour},
		{"http date", func(now time.Time) string { return now.Add(2 * time.Hour).UTC().Format(http.TimeFormat) }, 0, 2 * time.Hour},
		{"past deadline", func(time.Time) string { return "30" }, 5 * time.Second, 30 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				c, m := setup(t)
				start := time.Now()
				m.on("GET", nsURL+"/"+testNS, withHeader(429, failure(971, "slow down"), "Retry-After", tc.retryAfter(start)).Then(nsOK))
				ctx := t.Context()
				if tc.deadline > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tc.deadline)
					defer cancel()
				}
				_, err := c.Namespaces.Get(ctx, testNS)
				// A client that ignored the cap or the deadline would wait an hour of fake time, or five
				// seconds: no real time either way, but not zero.
				if d := time.Since(start); d != 0 {
					t.Errorf("returned after %v, want at once", d)
				}
				if !errors.Is(err, workerskv.ErrRateLimited) {
					t.Fatalf("err = %v, want ErrRateLimited", err)
				}
				e, _ := errors.AsType[*workerskv.APIError](err)
				if e.RetryAfter != tc.want || e.Attempts != 1 || e.StatusCode != 429 {
					t.Errorf("APIError = %+v, want RetryAfter %v", *e, tc.want)
				}
				if n := len(m.requests()); n != 1 {
					t.Errorf("%d requests, want 1", n)
				}
			})
		})
	}
}

// TestRetryAfterHTTPDate: a near HTTP date is waited for, to the second.
func TestRetryAfterHTTPDate(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c, m := setup(t)
		dated := func(r *http.Request) (*http.Response, error) {
			// The bubble's clock stands on a whole second: the date is exactly 2s ahead.
			return withHeader(503, "", "Retry-After", time.Now().Add(2*time.Second).UTC().Format(http.TimeFormat))(r)
		}
		m.on("GET", nsURL+"/"+testNS, httpmock.Responder(dated).Then(nsOK))
		start := time.Now()
		if _, err := c.Namespaces.Get(t.Context(), testNS); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("retried after %v, want the Retry-After date, 2s ahead", d)
		}
		if n := len(m.requests()); n != 2 {
			t.Errorf("%d requests, want 2", n)
		}
	})
}

// TestCancelDuringBackoff: cancelling the context ends a long backoff at once.
func TestCancelDuringBackoff(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c, m := setup(t, workerskv.WithBackoff(time.Hour, time.Hour))
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		var once sync.Once
		m.on("GET", nsURL+"/"+testNS, func(r *http.Request) (*http.Response, error) {
			once.Do(func() { time.AfterFunc(20*time.Millisecond, cancel) })
			return jsonResponder(503, failure(10001, "unavailable"))(r)
		})
		start := time.Now()
		_, err := c.Namespaces.Get(ctx, testNS)
		if d := time.Since(start); d != 20*time.Millisecond {
			t.Errorf("returned after %v, want at the cancellation, 20ms in", d)
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if n := len(m.requests()); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
}

// TestRateLimitPaces: WithRateLimit(3, time.Second) lets no more than 3 requests through in any second.
// The limiter starts with a burst of 1, then allows 2 per second: 6 requests go at 0, 0.5s, ... 2.5s.
func TestRateLimitPaces(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		c, m := setup(t, workerskv.WithRateLimit(3, time.Second))
		var mu sync.Mutex
		var sent []time.Duration
		m.on("GET", nsURL+"/"+testNS, func(r *http.Request) (*http.Response, error) {
			mu.Lock()
			sent = append(sent, time.Since(start))
			mu.Unlock()
			return nsOK(r)
		})
		for range 6 {
			if _, err := c.Namespaces.Get(t.Context(), testNS); err != nil {
				t.Fatal(err)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		for i := 3; i < len(sent); i++ {
			if sent[i]-sent[i-3] < time.Second {
				t.Errorf("requests %d to %d went within %v; a limit of 3 per second needs 1s", i-3, i, sent[i]-sent[i-3])
			}
		}
		want := []time.Duration{0, 500 * time.Millisecond, time.Second, 1500 * time.Millisecond, 2 * time.Second, 2500 * time.Millisecond}
		if !slices.Equal(sent, want) {
			t.Errorf("requests sent at %v, want %v", sent, want)
		}
	})
}

// TestRateLimitDeadline checks the limiter's burst and its sharing with WithAccount copies: a wait the
// limiter knows would pass the context's deadline fails at once, unsent and not retried.
func TestRateLimitDeadline(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		// 40 per hour: a burst of 2, then one every ~95s.
		c, m := setup(t, workerskv.WithRateLimit(40, time.Hour))
		m.on("GET", nsURL+"/"+testNS, nsOK)
		m.on("GET", testBase+"/accounts/other/storage/kv/namespaces/"+testNS, nsOK)
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		start := time.Now()
		if _, err := c.Namespaces.Get(ctx, testNS); err != nil {
			t.Fatal(err)
		}
		if _, err := withAccount(t, c, "other").Namespaces.Get(ctx, testNS); err != nil {
			t.Fatal(err)
		}
		_, err := c.Namespaces.Get(ctx, testNS)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("third request: err = %v, want DeadlineExceeded", err)
		}
		if n := len(m.requests()); n != 2 {
			t.Errorf("%d requests reached the server, want 2", n)
		}
		if d := time.Since(start); d != 0 || ctx.Err() != nil {
			t.Errorf("the refusal came after %v (context: %v), want at once", d, ctx.Err())
		}
	})
}
