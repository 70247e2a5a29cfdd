package workerskv

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/workerskv/workerskv/internal/limits"
)

// transport wraps the caller's RoundTripper: it holds each attempt until the client's budget admits it
// (lockout, pace, static limit), learns from each response what the server says of the rate limit,
// and logs each attempt at debug level. It never logs headers or bodies.
type transport struct {
	base   http.RoundTripper
	budget *budget
	logger *slog.Logger
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if err := t.budget.admit(ctx); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	// The duration is measured only for the debug log.
	debug := t.logger.Enabled(ctx, slog.LevelDebug)
	var start time.Time
	if debug {
		start = time.Now()
	}
	resp, err := t.base.RoundTrip(req)
	if resp != nil {
		t.budget.observe(resp.StatusCode, resp.Header, time.Now())
	}
	if resp != nil && (resp.StatusCode < 200 || resp.StatusCode > 299) {
		redactCredentials(resp, req.Header)
	}
	if !debug {
		return resp, err
	}
	attrs := []slog.Attr{
		slog.String("method", req.Method),
		slog.String("path", req.URL.EscapedPath()),
		slog.Int("attempt", attemptOf(ctx)),
		slog.Duration("duration", time.Since(start)),
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	} else {
		attrs = append(attrs, slog.Int("status", resp.StatusCode), slog.String("cf_ray", resp.Header.Get("Cf-Ray")))
	}
	t.logger.LogAttrs(ctx, slog.LevelDebug, "workerskv request", attrs...)
	return resp, err
}

// redactCredentials makes the body of a failed response hide the credentials its request carried, so
// that a server or proxy that reflects them (an echo of the request's headers in an error page) cannot
// put them into an *APIError. The body is redacted when first read, up to the most an error reads.
func redactCredentials(resp *http.Response, h http.Header) {
	var secrets [][]byte
	for _, name := range []string{"Authorization", "X-Auth-Key", "X-Auth-Email"} {
		v := h.Get(name)
		if name == "Authorization" {
			v = strings.TrimSpace(strings.TrimPrefix(v, "Bearer "))
		}
		if v != "" {
			secrets = append(secrets, []byte(v))
		}
	}
	if len(secrets) == 0 || resp.Body == nil || resp.Body == http.NoBody {
		return
	}
	resp.Body = &redactingBody{rc: resp.Body, secrets: secrets}
	resp.ContentLength = -1
}

// redactingBody reads the first limits.MaxErrorBody bytes of rc at once and replaces the secrets in
// them with "[REDACTED]"; the rest of rc (never read by the library) follows unchanged.
type redactingBody struct {
	rc      io.ReadCloser
	secrets [][]byte
	r       io.Reader
}

func (b *redactingBody) Read(p []byte) (int, error) {
	if b.r == nil {
		head, err := io.ReadAll(io.LimitReader(b.rc, limits.MaxErrorBody))
		for _, s := range b.secrets {
			head = bytes.ReplaceAll(head, s, []byte("[REDACTED]"))
		}
		rest := io.Reader(b.rc)
		if err != nil {
			rest = errReader{err}
		}
		b.r = io.MultiReader(bytes.NewReader(head), rest)
	}
	return b.r.Read(p)
}

func (b *redactingBody) Close() error { return b.rc.Close() }

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// errRateWait is returned, with nothing sent, when the client-side rate limiter would have to wait past
// the context's deadline (it refuses such a wait at once). It matches [context.DeadlineExceeded] and is
// never retried.
var errRateWait error = rateWaitError{}

type rateWaitError struct{}

func (rateWaitError) Error() string {
	return "workerskv: client-side rate limit: the wait would pass the context deadline"
}

func (rateWaitError) Is(target error) bool { return target == context.DeadlineExceeded }

// stripCredentialsOnRedirect wraps a CheckRedirect function so that a redirect to another origin (host,
// port or scheme: https to http on the same host would send them in clear text) never carries the
// credentials (net/http keeps custom headers such as X-Auth-Key across hosts, and every header from
// https to http).
func stripCredentialsOnRedirect(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) > 0 && (req.URL.Host != via[0].URL.Host || req.URL.Scheme != via[0].URL.Scheme) {
			req.Header.Del("Authorization")
			req.Header.Del("X-Auth-Key")
			req.Header.Del("X-Auth-Email")
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return http.ErrUseLastResponse
		}
		return nil
	}
}
