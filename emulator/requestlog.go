package emulator

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Credential kinds in the request log: which credential a request used, never
// the credential itself.
const (
	credToken  = "token"   // Authorization: Bearer <token>
	credAPIKey = "api_key" // the X-Auth-Key and X-Auth-Email pair
	credNone   = "none"    // neither
)

// serveLogged serves r and then logs it to the configured logger (see
// WithLogger). It only wraps the response writer and the body when the
// logger is enabled at slog.LevelInfo.
func (e *Emulator) serveLogged(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !e.cfg.logger.Enabled(ctx, slog.LevelInfo) {
		e.serve(w, r)
		return
	}
	start := time.Now()
	lw := &loggedResponse{ResponseWriter: w}
	var body *countingBody
	if r.Body != nil && r.Body != http.NoBody {
		body = &countingBody{ReadCloser: r.Body}
		r.Body = body
	}
	defer func() {
		// Deferred, so that a request whose handler panics (a dropped
		// connection, see Faults) is logged too.
		var in int64
		if body != nil {
			in = body.n
		}
		cred := lw.cred
		if cred == "" {
			cred = presentedCredential(r.Header)
		}
		attrs := make([]slog.Attr, 0, 9)
		attrs = append(attrs,
			slog.String("method", r.Method),
			slog.String("path", r.URL.EscapedPath()),
			slog.Int("status", lw.status),
		)
		if len(lw.codes) > 0 {
			attrs = append(attrs, slog.Any("error_codes", lw.codes))
		}
		attrs = append(attrs,
			slog.Int64("bytes_in", in),
			slog.Int64("bytes_out", lw.written),
			slog.Duration("duration", time.Since(start)),
			slog.String("credential", cred),
			slog.String("ray", w.Header().Get("Cf-Ray")),
		)
		e.cfg.logger.LogAttrs(ctx, slog.LevelInfo, "request", attrs...)
	}()
	e.serve(lw, r)
}

// presentedCredential is the kind of credential r's headers carry, for a
// request that was not authenticated (refused, or answered before
// authentication): the bearer token is what the emulator tries first.
func presentedCredential(h http.Header) string {
	switch {
	case h.Get("Authorization") != "":
		return credToken
	case h.Get("X-Auth-Key") != "" || h.Get("X-Auth-Email") != "":
		return credAPIKey
	}
	return credNone
}

// noteCredential records, when the request is logged, which kind of
// credential authenticated it; cred is what authenticate returned.
func noteCredential(w http.ResponseWriter, cred string) {
	if lw, ok := w.(*loggedResponse); ok {
		if kind, _, _ := strings.Cut(cred, "\x00"); kind == "key" {
			lw.cred = credAPIKey
		} else {
			lw.cred = credToken
		}
	}
}

// noteErrors records, when the request is logged, the codes of the error
// envelope being written to w.
func noteErrors(w http.ResponseWriter, ae *apiError) {
	for {
		if lw, ok := w.(*loggedResponse); ok {
			codes := make([]int, 0, 1+len(ae.more))
			codes = append(codes, ae.code)
			for _, m := range ae.more {
				codes = append(codes, m.Code)
			}
			lw.codes = codes
			return
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return
		}
		w = u.Unwrap()
	}
}

// baseWriter is the ResponseWriter under the request log's wrapper, for
// http.MaxBytesReader: it tells the server to close the connection of a
// request whose body is too large only through the server's own writer.
func baseWriter(w http.ResponseWriter) http.ResponseWriter {
	if lw, ok := w.(*loggedResponse); ok {
		return lw.ResponseWriter
	}
	return w
}

// loggedResponse records what the request log reports of a response.
type loggedResponse struct {
	http.ResponseWriter
	status  int    // 0 until the header is written
	written int64  // body bytes written
	codes   []int  // the error envelope's codes, if one was written
	cred    string // the kind of credential that authenticated the request
}

func (l *loggedResponse) WriteHeader(status int) {
	if l.status == 0 && status >= 200 {
		l.status = status
	}
	l.ResponseWriter.WriteHeader(status)
}

func (l *loggedResponse) Write(p []byte) (int, error) {
	if l.status == 0 {
		l.status = http.StatusOK
	}
	n, err := l.ResponseWriter.Write(p)
	l.written += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the server's writer (to hijack a
// connection that fault injection drops).
func (l *loggedResponse) Unwrap() http.ResponseWriter { return l.ResponseWriter }

// countingBody counts the bytes read from a request body.
type countingBody struct {
	io.ReadCloser
	n int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}
