package emulatorcmd

import (
	"errors"
	"io"
	"net/http"
	"os"
	"time"
)

// limits are the standalone server's timeouts and sizes: far beyond what a
// real client meets (a 25 MiB upload at 1 Mbit/s takes under 4 minutes and
// never pauses for 30 seconds), but what an idle, trickling or stuck client
// runs into, so that it cannot hold a connection or a goroutine for ever.
type limits struct {
	readHeader    time.Duration // from the connection's first byte to the end of the headers
	request       time.Duration // from the end of the headers to the end of the body
	bodyIdle      time.Duration // longest wait for the next bytes of a body
	write         time.Duration // to write a response
	idle          time.Duration // a keep-alive connection waiting for its next request
	maxHeader     int           // bytes of request line and headers
	shutdownGrace time.Duration // how long a stop waits for requests in progress
}

// serverLimits are the limits Run serves with; tests shorten them.
var serverLimits = limits{
	readHeader:    10 * time.Second,
	request:       5 * time.Minute,
	bodyIdle:      30 * time.Second,
	write:         5 * time.Minute,
	idle:          2 * time.Minute,
	maxHeader:     64 << 10,
	shutdownGrace: 10 * time.Second,
}

// newServer returns the http.Server that serves h within l.
func newServer(h http.Handler, l limits) *http.Server {
	return &http.Server{
		Handler:           bodyDeadlines(h, l),
		ReadHeaderTimeout: l.readHeader,
		// ReadTimeout covers a request whose handler never reads the body;
		// bodyDeadlines sets the deadlines of one that does.
		ReadTimeout:    l.readHeader + l.request,
		WriteTimeout:   l.readHeader + l.request + l.write,
		IdleTimeout:    l.idle,
		MaxHeaderBytes: l.maxHeader,
	}
}

// bodyDeadlines gives every read of a request body a deadline: bytes must
// keep arriving (l.bodyIdle at most between them) and the whole body must be
// in within l.request of the handler's start. A client that stops sending or
// sends a byte now and then gets its request failed and its connection
// closed instead of holding them.
func bodyDeadlines(h http.Handler, l limits) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = &deadlineBody{
				ReadCloser: r.Body,
				rc:         http.NewResponseController(w),
				end:        time.Now().Add(l.request),
				idle:       l.bodyIdle,
			}
		}
		h.ServeHTTP(w, r)
	})
}

// deadlineBody sets the connection's read deadline before each read of the
// body it wraps.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	end  time.Time
	idle time.Duration
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	deadline := time.Now().Add(b.idle)
	if deadline.After(b.end) {
		deadline = b.end
	}
	if err := b.rc.SetReadDeadline(deadline); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return 0, err
	}
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = errBodyTimeout
	}
	return n, err
}

// errBodyTimeout is the error a body read fails with past its deadline.
var errBodyTimeout = errors.New("request body not received in time")
