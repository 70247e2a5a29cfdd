package explorer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/workerskv/workerskv"
)

// apiBase is the base URL of the explorer's API client. The host is never
// dialled: inProcess hands every request to the API handler.
const apiBase = "http://kv-api.explorer.invalid/client/v4"

// inProcess is an http.RoundTripper that serves each request with an
// http.Handler in the calling goroutine, without a socket.
type inProcess struct{ h http.Handler }

// RoundTrip serves req with the handler and returns its buffered response.
// A handler that aborts its response (panics) gives an error, as a dropped
// connection would.
func (t inProcess) RoundTrip(req *http.Request) (resp *http.Response, err error) {
	r := req.Clone(req.Context())
	r.RequestURI = req.URL.RequestURI()
	r.Host = req.URL.Host
	r.RemoteAddr = "127.0.0.1:0"
	r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/1.1", 1, 1
	if r.Body == nil {
		r.Body = http.NoBody
	}
	if req.Body != nil {
		defer req.Body.Close()
	}
	rec := &recorder{header: make(http.Header)}
	defer func() {
		if p := recover(); p != nil {
			resp, err = nil, fmt.Errorf("explorer: the API handler aborted the request: %v", p)
		}
	}()
	t.h.ServeHTTP(rec, r)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", rec.status, http.StatusText(rec.status)),
		StatusCode:    rec.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        rec.header,
		Body:          io.NopCloser(bytes.NewReader(rec.body.Bytes())),
		ContentLength: int64(rec.body.Len()),
		Request:       req,
	}, nil
}

// recorder is the http.ResponseWriter inProcess gives the handler.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(p)
}

// Flush does nothing: the response is handed over whole.
func (r *recorder) Flush() {}

// client returns an API client that authenticates with token and reaches
// the API handler in-process. It does not retry: a person is waiting, and
// the API runs in the same process.
func (x *Explorer) client(token string) (*workerskv.Client, error) {
	return workerskv.NewClient(
		workerskv.WithAPIToken(token),
		workerskv.WithAccountID(x.cfg.account),
		workerskv.WithBaseURL(apiBase),
		workerskv.WithHTTPClient(&http.Client{Transport: x.rt}),
		workerskv.WithMaxRetries(workerskv.NoRetries),
		workerskv.WithUserAgent("kvexplorer"),
	)
}

// apiContext bounds one page's or action's API calls.
func apiContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, time.Minute)
}
