package workerskv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
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

// checkRetry is the retry policy. It stops at once when the context is done, never retries a body it
// cannot replay, retries non-idempotent requests only when they never reached the server or got a 429,
// and gives up (returning the response) when the server asks for a wait longer than maxRetryWait or
// past the context's deadline.
func (co *core) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return false, ctxErr
	}
	st := stateOf(ctx)
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
		st.wait = co.backoffFor(st.attempts)
		return fitsDeadline(ctx, st.wait), nil
	}
	if !retryableStatus(resp.StatusCode) {
		return false, nil
	}
	if st.unsentOnly && resp.StatusCode != http.StatusTooManyRequests {
		return false, nil
	}
	if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		st.retryAfter = ra
		if ra > co.maxRetryWait || !fitsDeadline(ctx, ra) {
			return false, nil
		}
		st.wait = ra
		return true, nil
	}
	st.wait = co.backoffFor(st.attempts)
	return fitsDeadline(ctx, st.wait), nil
}

// prepareRetry is the retryablehttp PrepareRetry hook, called just before a request is sent again: it
// logs the retry at info level (never headers or bodies).
func (co *core) prepareRetry(req *http.Request) error {
	ctx := req.Context()
	if !co.logger.Enabled(ctx, slog.LevelInfo) {
		return nil
	}
	st := stateOf(ctx)
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
	co.logger.LogAttrs(ctx, slog.LevelInfo, "workerskv retry", attrs...)
	return nil
}

// backoff is the retryablehttp Backoff: it returns the wait checkRetry chose for this request.
func (co *core) backoff(_, _ time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && resp.Request != nil {
		if st, ok := resp.Request.Context().Value(stateKey{}).(*reqState); ok {
			return st.wait
		}
	}
	return co.backoffFor(attempt + 1)
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
	if errors.Is(err, context.Canceled) || errors.Is(err, errRateWait) {
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

// reqState travels in a request's context and carries what the retry policy needs to know about it.
//
// It is itself the request's context (it embeds the caller's), so that carrying it costs no
// context.WithValue allocation per request.
type reqState struct {
	context.Context
	// method and the URL name the request in errors and logs; basePath is the base URL's escaped path.
	method   string
	url      *url.URL
	basePath string
	attempts int
	// noReplay: the body cannot be sent twice (a plain io.Reader), so never retry.
	noReplay bool
	// unsentOnly: retry only when the request provably never reached the server, or on 429
	// (non-idempotent requests such as namespace creation).
	unsentOnly bool
	// wait is the backoff chosen by checkRetry for the next attempt; retryAfter what the server asked.
	wait       time.Duration
	retryAfter time.Duration
	// lastStatus and lastErr are the outcome of the latest attempt, for the retry log.
	lastStatus int
	lastErr    error
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

func stateOf(ctx context.Context) *reqState {
	if st, ok := ctx.Value(stateKey{}).(*reqState); ok {
		return st
	}
	return &reqState{}
}

// countAttempt is the retryablehttp request hook: it numbers attempts.
func countAttempt(_ retryablehttp.Logger, req *http.Request, _ int) {
	if st, ok := req.Context().Value(stateKey{}).(*reqState); ok {
		st.attempts++
	}
}
