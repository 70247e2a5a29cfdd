package workerskv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-querystring/query"
	"github.com/hashicorp/go-retryablehttp"

	"github.com/workerskv/workerskv/internal/envelope"
	"github.com/workerskv/workerskv/internal/limits"
)

// request describes one API call for the executor.
type request struct {
	method   string
	segments segments // path below the namespaces collection, unescaped
	url      *url.URL // when set, the URL itself instead of segments (Client.Do)
	query    any      // a go-querystring struct, url.Values, or nil
	// body is nil, a []byte, or a retryablehttp.ReaderFunc that returns the body from its start.
	body        any
	bodyLen     int64 // for a ReaderFunc body: its length, or -1 when unknown
	contentType string
	accept      []string // shared, read-only; application/json when nil
	noReplay    bool     // the body cannot be sent twice: never retry
	unsentOnly  bool     // not idempotent: retry only if never sent, or on 429
}

// segments is a request path below the account's KV namespaces collection, as its unescaped
// segments, held by value so that building a path costs no allocation: the longest has 3 segments.
type segments struct {
	s [3]string
	n int
}

// nsPath is a path of up to 3 segments below the account's KV namespaces collection (none: the
// collection itself).
func (c *Client) nsPath(more ...string) segments {
	var p segments
	p.n = copy(p.s[:], more)
	return p
}

// send executes r with retries and returns the successful (2xx) response with its body open, or an
// error: an *APIError for a response that is not a success, the context's error, or a transport error.
func (c *Client) send(ctx context.Context, r *request) (*http.Response, error) {
	resp, _, err := c.exchange(ctx, r)
	return resp, err
}

// exchange is send that also returns the request's state (method, relative path, attempts). Callers
// use it rather than resp.Request, which a RoundTripper may leave nil and which a redirect changes.
func (c *Client) exchange(ctx context.Context, r *request) (*http.Response, *reqState, error) {
	co := c.core
	u := r.url
	if u == nil {
		u = c.ns.Join(r.segments.s[:r.segments.n]...)
	}
	if r.query != nil {
		var vals url.Values
		switch q := r.query.(type) {
		case url.Values:
			vals = q
		default:
			var err error
			if vals, err = query.Values(q); err != nil {
				return nil, nil, fmt.Errorf("workerskv: encoding query: %w", err)
			}
		}
		u.RawQuery = vals.Encode()
	}
	st := &reqState{co: co, method: r.method, url: u, basePath: co.basePath, noReplay: r.noReplay, unsentOnly: r.unsentOnly}
	ctx = withState(ctx, st)
	// Build the request around u itself: formatting it to a string and parsing it back would cost
	// allocations on every call and could only lose the escaping.
	hreq := (&http.Request{
		Method: r.method, URL: u, Host: u.Host,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: make(http.Header, 6),
	}).WithContext(ctx)
	req, err := retryablehttp.FromRequest(hreq)
	if err == nil && r.body != nil {
		err = req.SetBody(r.body)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("workerskv: building request: %w", err)
	}
	if _, ok := r.body.(retryablehttp.ReaderFunc); ok && r.bodyLen >= 0 {
		req.ContentLength = r.bodyLen
	}
	h := req.Header
	for _, kv := range co.auth.headers {
		h[kv.name] = kv.values
	}
	if r.contentType != "" {
		h["Content-Type"] = []string{r.contentType}
	}
	if r.accept != nil {
		h["Accept"] = r.accept
	} else {
		h["Accept"] = acceptJSON
	}

	resp, err := st.do(req)
	if err != nil {
		if resp != nil {
			resp.Body.Close()
		}
		var lockout *lockoutError
		if errors.As(err, &lockout) {
			return nil, nil, &APIError{
				StatusCode: http.StatusTooManyRequests, Errors: []ResponseError{{Message: lockout.Error()}},
				Method: st.method, Path: st.path(), Attempts: st.attempts - 1, RetryAfter: lockout.wait,
			}
		}
		return nil, nil, st.failure(err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, nil, apiError(resp, st)
	}
	return resp, st, nil
}

var acceptJSON = []string{"application/json"}

// header is one precomputed request header, shared (read-only) by every request of a client.
type header struct {
	name   string
	values []string
}

// noResult decodes any result and keeps nothing, for calls whose result is null or unused.
type noResult struct{}

// UnmarshalJSON accepts any JSON value.
func (*noResult) UnmarshalJSON([]byte) error { return nil }

// call executes r and decodes the v4 envelope's result into a T.
func call[T any](ctx context.Context, c *Client, r *request) (T, *envelope.ResultInfo, error) {
	return callFast[T](ctx, c, r, nil)
}

// callFast is call with a fast decoder tried first on the body; when it declines (ok false), the body
// is decoded with encoding/json as usual.
func callFast[T any](ctx context.Context, c *Client, r *request, fast func(body []byte) (T, *envelope.ResultInfo, bool)) (T, *envelope.ResultInfo, error) {
	var zero T
	resp, st, err := c.exchange(ctx, r)
	if err != nil {
		return zero, nil, err
	}
	defer resp.Body.Close()
	body, err := readBody(resp.Body, resp.ContentLength, maxResponseBytes)
	if err != nil {
		return zero, nil, fmt.Errorf("workerskv: %s %s: reading response: %w", st.method, st.path(), err)
	}
	if fast != nil {
		if res, info, ok := fast(body); ok {
			return res, info, nil
		}
	}
	env, err := envelope.Decode[T](body)
	if err != nil {
		return zero, nil, fmt.Errorf("workerskv: %s %s: malformed response (%s): %w", st.method, st.path(), excerpt(body), err)
	}
	if !env.Success {
		return zero, nil, &APIError{
			StatusCode: resp.StatusCode, Errors: convertErrors(env.Errors, body), RayID: resp.Header.Get("Cf-Ray"),
			Method: st.method, Path: st.path(), Attempts: st.attempts,
		}
	}
	return env.Result, env.ResultInfo, nil
}

// callNoResult is call for requests whose result is null or unused. The usual success bodies are
// recognized as they are, without decoding.
func callNoResult(ctx context.Context, c *Client, r *request) error {
	_, _, err := callFast(ctx, c, r, plainSuccess)
	return err
}

func plainSuccess(body []byte) (noResult, *envelope.ResultInfo, bool) {
	return noResult{}, nil, envelope.PlainSuccess(body)
}

// readBody reads body to its end. When its length n is known and at most limit, the body is read
// straight into one slice of that length, with one byte to spare to notice a body that runs past n,
// which is an error; a body that ends before n bytes gives io.ErrUnexpectedEOF. A length of 0 is read
// as unknown: net/http gives such a response an empty body anyway, and a response made by hand in a
// test may have left it unset.
func readBody(body io.Reader, n, limit int64) ([]byte, error) {
	if n <= 0 || n > limit {
		return io.ReadAll(body) // grows by less than a bytes.Buffer does on a long body
	}
	v := make([]byte, n+1)
	// Read until the body reports its end, not only until n bytes have come: that lets net/http reuse
	// an HTTP/1.1 connection at once and end an HTTP/2 stream normally rather than reset it. An error
	// that comes with the last bytes is kept, not dropped.
	for off := int64(0); ; {
		m, err := body.Read(v[off:])
		off += int64(m)
		switch {
		case off > n:
			return nil, fmt.Errorf("the body is longer than its Content-Length, %d", n)
		case err == io.EOF && off < n:
			return nil, io.ErrUnexpectedEOF
		case err == io.EOF:
			return v[:n], nil
		case err != nil:
			return nil, err
		}
	}
}

// maxResponseBytes is the largest JSON response read into a buffer of its announced length.
const maxResponseBytes = 32 << 20

// jsonBody encodes v as a request body.
func jsonBody(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("workerskv: encoding request body: %w", err)
	}
	return b, nil
}

// apiError turns a response that is not a success into an *APIError, reading at most 1 MiB of it.
func apiError(resp *http.Response, st *reqState) *APIError {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, limits.MaxErrorBody))
	resp.Body.Close()
	e := &APIError{
		StatusCode: resp.StatusCode,
		RayID:      resp.Header.Get("Cf-Ray"),
		Method:     st.method,
		Path:       st.path(),
		Attempts:   st.attempts,
		RetryAfter: st.retryAfter,
	}
	errs, _ := envelope.Errors(body)
	e.Errors = convertErrors(errs, body)
	return e
}

func convertErrors(errs []envelope.Message, body []byte) []ResponseError {
	if len(errs) == 0 {
		return []ResponseError{{Message: excerpt(body)}}
	}
	out := make([]ResponseError, len(errs))
	for i, m := range errs {
		out[i] = ResponseError{Code: m.Code, Message: m.Message}
	}
	return out
}

// excerpt makes a short, printable excerpt of a body that was not what was expected.
func excerpt(body []byte) string {
	head := body[:min(len(body), 4096)]
	if len(strings.TrimSpace(string(head))) == 0 {
		return "empty response body"
	}
	return "body: " + printable(string(head), 150)
}

// stripURL removes the URL from a *url.Error: the error message already names method and path.
func stripURL(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}
