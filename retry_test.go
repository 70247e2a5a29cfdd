package workerskv_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"testing"
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
			client, m := setup(t, workerskv.WithMaxRetries(2))
			m.on("GET", nsURL+"/"+testNS, c.responder)
			if _, err := client.Namespaces.Get(t.Context(), testNS); err == nil {
				t.Fatal("no error")
			}
			if n := len(m.requests()); n != c.attempts {
				t.Errorf("%d requests, want %d", n, c.attempts)
			}
		})
	}
}

// TestAttemptTimeoutRetried: http.Client.Timeout bounds each attempt; a timed-out attempt is retried.
func TestAttemptTimeoutRetried(t *testing.T) {
	t.Parallel()
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
	if _, err := c.Namespaces.Get(t.Context(), testNS); err != nil {
		t.Fatal(err)
	}
	if n := len(m.requests()); n < 2 {
		t.Errorf("%d requests, want a retry after the timeout", n)
	}
}

// TestRetryThenSuccess: a retried failure followed by a success is a success.
func TestRetryThenSuccess(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("GET", nsURL+"/"+testNS, jsonResponder(502, "<html>bad gateway</html>").Then(httpmock.ConnectionFailure).Then(nsOK))
	if _, err := c.Namespaces.Get(t.Context(), testNS); err != nil {
		t.Fatal(err)
	}
	if n := len(m.requests()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("GET", nsURL+"/"+testNS, withHeader(429, failure(971, "slow down"), "Retry-After", "1").Then(nsOK))
	start := time.Now()
	if _, err := c.Namespaces.Get(t.Context(), testNS); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("retried after %v, want Retry-After's 1s", d)
	}
	if n := len(m.requests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestRetriesExhausted(t *testing.T) {
	t.Parallel()
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
}

// TestRetryAfterTooLong: a wait past WithMaxRetryWait (60s by default), or past the context's deadline,
// ends the retries at once with the wait in RetryAfter.
func TestRetryAfterTooLong(t *testing.T) {
	t.Parallel()
	inTwoHours := time.Now().Add(2 * time.Hour).UTC().Format(http.TimeFormat)
	cases := []struct {
		name, retryAfter string
		deadline         time.Duration // 0: none
		min, max         time.Duration // bounds of APIError.RetryAfter
	}{
		{"seconds", "3600", 0, time.Hour, time.Hour},
		{"http date", inTwoHours, 0, 2*time.Hour - time.Minute, 2 * time.Hour},
		{"past deadline", "30", 5 * time.Second, 30 * time.Second, 30 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, m := setup(t)
			m.on("GET", nsURL+"/"+testNS, withHeader(429, failure(971, "slow down"), "Retry-After", tc.retryAfter).Then(nsOK))
			ctx := t.Context()
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.deadline)
				defer cancel()
			}
			err := returnsSoon(t, func() error { _, err := c.Namespaces.Get(ctx, testNS); return err })
			if !errors.Is(err, workerskv.ErrRateLimited) {
				t.Fatalf("err = %v, want ErrRateLimited", err)
			}
			e, _ := errors.AsType[*workerskv.APIError](err)
			if e.RetryAfter < tc.min || e.RetryAfter > tc.max || e.Attempts != 1 || e.StatusCode != 429 {
				t.Errorf("APIError = %+v, want RetryAfter in [%v, %v]", *e, tc.min, tc.max)
			}
			if n := len(m.requests()); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

// returnsSoon runs f and returns its error, failing the test if f is still waiting after a minute. The
// waits it guards against are an hour long, so this catches a client that ignores a cap or a
// cancellation without timing anything that should be quick.
func returnsSoon(t *testing.T, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		t.Fatal("the call is still waiting after a minute")
		return nil
	}
}

// TestRetryAfterHTTPDate: a near HTTP date is waited for.
func TestRetryAfterHTTPDate(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	dated := func(r *http.Request) (*http.Response, error) {
		// Dates have whole seconds: 2s ahead means a wait of more than 1s.
		return withHeader(503, "", "Retry-After", time.Now().Add(2*time.Second).UTC().Format(http.TimeFormat))(r)
	}
	m.on("GET", nsURL+"/"+testNS, httpmock.Responder(dated).Then(nsOK))
	start := time.Now()
	if _, err := c.Namespaces.Get(t.Context(), testNS); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("retried after %v, want the Retry-After date (over 1s)", d)
	}
	if n := len(m.requests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

// TestCancelDuringBackoff: cancelling the context ends a long backoff at once.
func TestCancelDuringBackoff(t *testing.T) {
	t.Parallel()
	c, m := setup(t, workerskv.WithBackoff(time.Hour, time.Hour))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var once sync.Once
	m.on("GET", nsURL+"/"+testNS, func(r *http.Request) (*http.Response, error) {
		once.Do(func() { time.AfterFunc(20*time.Millisecond, cancel) })
		return jsonResponder(503, failure(10001, "unavailable"))(r)
	})
	err := returnsSoon(t, func() error { _, err := c.Namespaces.Get(ctx, testNS); return err })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if n := len(m.requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

// TestRateLimitPaces: WithRateLimit(3, time.Second) lets no more than 3 requests through in any second,
// so 6 requests take at least 2 seconds (the limiter starts with a burst of 1, then 2 per second).
func TestRateLimitPaces(t *testing.T) {
	t.Parallel()
	start := time.Now()
	c, m := setup(t, workerskv.WithRateLimit(3, time.Second))
	m.on("GET", nsURL+"/"+testNS, nsOK)
	for range 6 {
		if _, err := c.Namespaces.Get(t.Context(), testNS); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 2*time.Second {
		t.Errorf("6 requests took %v; a limit of 3 per second needs at least 2s", d)
	}
}

// TestRateLimitDeadline checks the limiter's burst and its sharing with WithAccount copies without
// timing: a wait the limiter knows would pass the context's deadline fails at once, unsent and not
// retried.
func TestRateLimitDeadline(t *testing.T) {
	t.Parallel()
	// 40 per hour: a burst of 2, then one every ~95s.
	c, m := setup(t, workerskv.WithRateLimit(40, time.Hour))
	m.on("GET", nsURL+"/"+testNS, nsOK)
	m.on("GET", testBase+"/accounts/other/storage/kv/namespaces/"+testNS, nsOK)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
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
	if ctx.Err() != nil {
		t.Error("the refusal waited for the deadline instead of failing at once")
	}
}
