package workerskv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// retryableStatus reports whether a response status is worth retrying: 429, 500, 502, 503, 504 and
// Cloudflare's 520–530. Other 4xx never are.
func retryableStatus(code int) bool {
	switch {
	case code == http.StatusTooManyRequests,
		code == http.StatusInternalServerError,
		code == http.StatusBadGateway,
		code == http.StatusServiceUnavailable,
		code == http.StatusGatewayTimeout:
		return true
	case code >= 520 && code <= 530:
		return true
	}
	return false
}

// backoffFor is capped exponential backoff with jitter: after attempt n (1-based) it waits between half
// and all of min*2^(n-1), capped at max.
func (co *core) backoffFor(attempt int) time.Duration {
	if co.backoffMin <= 0 {
		return 0
	}
	d := co.backoffMin
	for i := 1; i < attempt && d < co.backoffMax; i++ {
		d *= 2
	}
	d = min(d, co.backoffMax)
	return d/2 + rand.N(d/2+1)
}

func fitsDeadline(ctx context.Context, wait time.Duration) bool {
	deadline, ok := ctx.Deadline()
	return !ok || time.Now().Add(wait).Before(deadline)
}

// parseRetryAfter reads a Retry-After header: delay seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(1<<62/time.Second) {
			secs = int64(1 << 62 / time.Second)
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now)), true
	}
	return 0, false
}

// retryableError reports whether a transport error may go away on a retry: not TLS certificate
// problems, not a malformed URL or redirect loop, not a cancellation, not a rate-limiter wait past the
// deadline. checkRetry has already stopped if the caller's context is done, so a deadline error here
// is one attempt's timeout (http.Client.Timeout, a transport's header timeout): worth retrying.
func retryableError(err error) bool {
	var lockout *lockoutError
	if errors.Is(err, context.Canceled) || errors.Is(err, errRateWait) || errors.As(err, &lockout) {
		return false
	}
	// crypto/tls wraps every failed verification of the server's certificate in a
	// *tls.CertificateVerificationError; the x509 errors (values, not pointers) are checked too for
	// RoundTrippers that return them bare.
	var verifyErr *tls.CertificateVerificationError
	var certErr x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalidErr x509.CertificateInvalidError
	if errors.As(err, &verifyErr) || errors.As(err, &certErr) || errors.As(err, &hostErr) || errors.As(err, &invalidErr) {
		return false
	}
	if strings.Contains(err.Error(), "stopped after") || strings.Contains(err.Error(), "unsupported protocol scheme") {
		return false
	}
	return true
}

// neverSent reports whether a transport error proves the request never reached the server: the
// connection could not be made.
func neverSent(err error) bool {
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return true
	}
	var dnsErr *net.DNSError
	return errors.As(err, &dnsErr) || errors.Is(err, syscall.ECONNREFUSED)
}

// reqState is one request's life, from the call to the answer, in one place: what is sent, how many
// attempts were made, how the last one ended, and the wait chosen before the next. The retry hooks of
// go-retryablehttp are its methods (see do), so each hook reads and writes this request's state
// directly. It also travels in the request's context, where the transport finds the attempt number for
// its log; it embeds the caller's context so that carrying it costs no allocation.
type reqState struct {
	context.Context
	co *core
	// method and the URL name the request in errors and logs; basePath is the base URL's escaped path.
	method   string
	url      *url.URL
	basePath string
	// noReplay: the body cannot be sent twice (a plain io.Reader), so never retry.
	noReplay bool
	// unsentOnly: retry only when the request provably never reached the server, or on 429
	// (non-idempotent requests such as namespace creation).
	unsentOnly bool

	// attempts counts the attempts begun, the one locally refused by the budget included.
	attempts int
	// lastStatus and lastErr are the outcome of the latest attempt; retryAfter what its response asked.
	lastStatus int
	lastErr    error
	retryAfter time.Duration
	// wait is the backoff checkRetry chose, and checked against the deadline, for the next attempt.
	wait time.Duration
	// outOfTime: retries ended because the next wait would have passed the context's deadline.
	outOfTime bool
}

// do sends req with retries. The retryablehttp.Client is made for this request only (it is a few
// words; the http.Client, and so the connection pool, is the core's), so that its hooks are this
// state's methods rather than functions that must find the state again.
func (st *reqState) do(req *retryablehttp.Request) (*http.Response, error) {
	co := st.co
	rc := &retryablehttp.Client{
		HTTPClient:     co.httpClient,
		RetryWaitMin:   co.backoffMin,
		RetryWaitMax:   co.backoffMax,
		RetryMax:       co.maxRetries,
		CheckRetry:     st.checkRetry,
		Backoff:        st.backoff,
		ErrorHandler:   retryablehttp.PassthroughErrorHandler,
		RequestLogHook: st.countAttempt,
		PrepareRetry:   st.prepareRetry,
	}
	return rc.Do(req)
}

// countAttempt is the RequestLogHook, called before each attempt: it numbers them.
func (st *reqState) countAttempt(retryablehttp.Logger, *http.Request, int) { st.attempts++ }

// checkRetry is the retry policy, called after each attempt. It stops at once when the context is
// done, never retries a body it cannot replay or a request the budget refused, retries non-idempotent
// requests only when they never reached the server or got a 429, and gives up (returning the response)
// when the server asks for a wait longer than maxRetryWait or past the context's deadline. When it
// retries, it chooses the wait (st.wait) and checks it against the deadline; backoff returns that same
// wait.
func (st *reqState) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctxErr := ctx.Err(); ctxErr != nil {
		// An attempt cut short by the context keeps the cause of the one before.
		if err != nil && !errors.Is(err, ctxErr) {
			st.lastErr = err
		}
		return false, ctxErr
	}
	// Each attempt reports on its own response: a Retry-After from an earlier one no longer applies.
	st.retryAfter, st.lastStatus, st.lastErr = 0, 0, err
	if resp != nil {
		st.lastStatus = resp.StatusCode
	}
	if st.noReplay {
		return false, nil
	}
	if err != nil {
		if !retryableError(err) || (st.unsentOnly && !neverSent(err)) {
			return false, nil
		}
		return st.backOff(ctx, st.co.backoffFor(st.attempts)), nil
	}
	if !retryableStatus(resp.StatusCode) {
		return false, nil
	}
	if st.unsentOnly && resp.StatusCode != http.StatusTooManyRequests {
		return false, nil
	}
	if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		st.retryAfter = ra
		if ra > st.co.maxRetryWait {
			return false, nil
		}
		return st.backOff(ctx, ra), nil
	}
	return st.backOff(ctx, st.co.backoffFor(st.attempts)), nil
}

// backOff chooses wait before the next attempt if it ends before the context's deadline, and
// otherwise records that the call ran out of time.
func (st *reqState) backOff(ctx context.Context, wait time.Duration) bool {
	if !fitsDeadline(ctx, wait) {
		st.outOfTime = true
		return false
	}
	st.wait = wait
	return true
}

// backoff is the Backoff hook: the wait checkRetry chose.
func (st *reqState) backoff(time.Duration, time.Duration, int, *http.Response) time.Duration {
	return st.wait
}

// prepareRetry is the PrepareRetry hook, called just before a request is sent again: it logs the
// retry at info level (never headers or bodies).
func (st *reqState) prepareRetry(req *http.Request) error {
	ctx := req.Context()
	logger := st.co.logger
	if !logger.Enabled(ctx, slog.LevelInfo) {
		return nil
	}
	attrs := []slog.Attr{
		slog.String("method", st.method),
		slog.String("path", st.path()),
		slog.Int("attempt", st.attempts+1),
	}
	if st.lastErr != nil {
		attrs = append(attrs, slog.String("error", stripURL(st.lastErr).Error()))
	} else {
		attrs = append(attrs, slog.Int("status", st.lastStatus))
	}
	if st.retryAfter > 0 {
		attrs = append(attrs, slog.Duration("retry_after", st.retryAfter))
	}
	logger.LogAttrs(ctx, slog.LevelInfo, "workerskv retry", attrs...)
	return nil
}

// failure is the error for a call whose attempts ended in err, a transport error or the context's
// error, without a response. It names the request and the attempts made, keeps the last real cause (a
// context error says when the call stopped, not why it failed), and matches the context's error when
// the context ended the call or left no time for another attempt.
func (st *reqState) failure(err error) error {
	var ctxErr error
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		ctxErr = st.Context.Err()
		if ctxErr == nil {
			ctxErr = err
		}
	case st.outOfTime:
		ctxErr = context.DeadlineExceeded
	}
	cause := st.lastErr
	if cause == nil || errors.Is(cause, ctxErr) {
		cause = err
	}
	cause = stripURL(cause)
	attempts := "1 attempt"
	if st.attempts != 1 {
		attempts = strconv.Itoa(st.attempts) + " attempts"
	}
	if ctxErr == nil || errors.Is(cause, ctxErr) {
		return fmt.Errorf("workerskv: %s %s after %s: %w", st.method, st.path(), attempts, cause)
	}
	if st.lastErr == nil && st.lastStatus != 0 {
		return fmt.Errorf("workerskv: %s %s after %s (the last answered %d): %w", st.method, st.path(), attempts, st.lastStatus, ctxErr)
	}
	return fmt.Errorf("workerskv: %s %s after %s: %w (%w)", st.method, st.path(), attempts, cause, ctxErr)
}

type stateKey struct{}

func withState(ctx context.Context, st *reqState) context.Context {
	st.Context = ctx
	return st
}

// Value answers stateKey with the state itself and passes every other key to the caller's context.
func (st *reqState) Value(key any) any {
	if _, ok := key.(stateKey); ok {
		return st
	}
	return st.Context.Value(key)
}

// path is the escaped request path relative to the base URL, for errors and logs.
func (st *reqState) path() string {
	if st.url == nil {
		return ""
	}
	return strings.TrimPrefix(st.url.EscapedPath(), st.basePath)
}

// attemptOf is the number of the attempt under way in ctx, for the transport's log.
func attemptOf(ctx context.Context) int {
	if st, ok := ctx.Value(stateKey{}).(*reqState); ok {
		return st.attempts
	}
	return 0
}
