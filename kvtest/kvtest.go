// Package kvtest runs the Workers KV emulator on loopback for Go tests and hands back a ready client.
//
//	func TestSettings(t *testing.T) {
//		srv := kvtest.NewServer(t)
//		ns, err := srv.Client.Namespaces.Create(t.Context(), "settings")
//		...
//		srv.Clock.Advance(2 * time.Hour) // expire keys written with a TTL
//	}
//
// [Server.NewNamespace] gives a test a fresh namespace, deleted when the test ends:
//
//	kv := srv.NewNamespace(t)
//	err := kv.Put(t.Context(), "greeting", []byte("hello"), nil)
//
// The emulator is a real HTTP server speaking the KV REST API, with Cloudflare's limits, error codes
// and expiration, so code tested against it behaves the same against Cloudflare.
//
// A server made by [NewServer] logs every request it answers (method, path, status, Cloudflare error
// codes, sizes, duration; never credentials, see emulator.WithLogger) and, if the test fails, writes
// the log with t.Log once the server has stopped: the last 1,000 requests, so that a failure shows
// what the code under test sent. Passing emulator.WithLogger in [WithEmulatorOptions] replaces it.
package kvtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/workerskv/workerskv"
	"github.com/workerskv/workerskv/emulator"
)

// Server is a running emulator and a client for it.
type Server struct {
	// URL is the API base URL to give any client, e.g. "http://127.0.0.1:PORT/client/v4".
	URL string
	// Token and AccountID are the credentials the emulator accepts.
	Token, AccountID string
	// Clock drives expiration (and the consistency delay, if set): advance it to expire keys. It starts
	// at the real current time.
	Clock *emulator.FakeClock
	// Emulator is the handler being served, for fault statistics.
	Emulator *emulator.Emulator
	// Client is a ready client with fast retries.
	Client *workerskv.Client

	http       *httptest.Server
	closed     atomic.Bool   // set by Close
	namespaces atomic.Uint64 // namespaces made by NewNamespace, for unique titles
}

// Option configures [NewServer].
type Option func(*settings)

type settings struct {
	emu    []emulator.Option
	client []workerskv.Option
}

// WithEmulatorOptions passes options to the emulator, e.g. emulator.WithFaults or
// emulator.WithConsistencyDelay.
func WithEmulatorOptions(opts ...emulator.Option) Option {
	return func(s *settings) { s.emu = append(s.emu, opts...) }
}

// WithClientOptions passes extra options to the client; they win over the defaults.
func WithClientOptions(opts ...workerskv.Option) Option {
	return func(s *settings) { s.client = append(s.client, opts...) }
}

// NewServer starts an emulator on a loopback port and stops it when the test ends.
// If the test fails, the emulator's request log is written with t.Log when the test ends.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	log := &requestLog{}
	logged := WithEmulatorOptions(emulator.WithLogger(slog.New(slog.NewTextHandler(log, nil))))
	srv, err := Start(append([]Option{logged}, opts...)...)
	if err != nil {
		t.Fatalf("kvtest: %v", err)
	}
	// Cleanups run last first: the server stops, then its log is complete.
	t.Cleanup(func() {
		if t.Failed() {
			if s := log.String(); s != "" {
				t.Log("kvtest: emulator request log:\n" + s)
			}
		}
	})
	t.Cleanup(srv.Close)
	return srv
}

// maxLogRecords is how many of the last requests NewServer's log keeps.
const maxLogRecords = 1000

// requestLog keeps the last maxLogRecords records written to it by a slog
// handler, which writes each record in one call.
type requestLog struct {
	mu      sync.Mutex
	records []string // a ring once full; next is the oldest
	next    int
	dropped int
}

func (l *requestLog) Write(p []byte) (int, error) {
	rec := string(bytes.TrimSuffix(p, []byte("\n")))
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.records) < maxLogRecords {
		l.records = append(l.records, rec)
		return len(p), nil
	}
	l.records[l.next] = rec
	l.next = (l.next + 1) % maxLogRecords
	l.dropped++
	return len(p), nil
}

// String returns the records kept, oldest first, one a line.
func (l *requestLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	if l.dropped > 0 {
		fmt.Fprintf(&b, "(%d earlier requests not shown)\n", l.dropped)
	}
	for i := range l.records {
		b.WriteString(l.records[(l.next+i)%len(l.records)])
		b.WriteByte('\n')
	}
	return b.String()
}

// Start is [NewServer] outside a test: the caller must call [Server.Close].
func Start(opts ...Option) (*Server, error) {
	var s settings
	for _, o := range opts {
		o(&s)
	}
	clock := emulator.NewFakeClock(time.Now())
	emuOpts := append([]emulator.Option{
		emulator.WithAPIToken(emulator.DefaultAPIToken),
		emulator.WithAccount(emulator.DefaultAccountID),
		emulator.WithClock(clock),
	}, s.emu...)
	emu := emulator.New(emuOpts...)
	hs := httptest.NewServer(emu)
	srv := &Server{
		URL:       hs.URL + "/client/v4",
		Token:     emulator.DefaultAPIToken,
		AccountID: emulator.DefaultAccountID,
		Clock:     clock,
		Emulator:  emu,
		http:      hs,
	}
	clientOpts := append([]workerskv.Option{
		workerskv.WithAPIToken(srv.Token),
		workerskv.WithAccountID(srv.AccountID),
		workerskv.WithBaseURL(srv.URL),
		workerskv.WithHTTPClient(hs.Client()),
		workerskv.WithBackoff(time.Millisecond, 20*time.Millisecond),
	}, s.client...)
	c, err := workerskv.NewClient(clientOpts...)
	if err != nil {
		hs.Close()
		return nil, err
	}
	srv.Client = c
	return srv, nil
}

// Close stops the server and waits for its connections to end.
func (s *Server) Close() {
	s.closed.Store(true)
	s.http.Close()
}

// NewNamespace creates a namespace with a title unique to the server (the test's name and a number)
// and returns a handle on it. The namespace is deleted when t ends, unless the server has stopped by
// then or the test deleted it itself. A failure to create or delete it fails t.
func (s *Server) NewNamespace(t testing.TB) *workerskv.KV {
	t.Helper()
	name := t.Name()
	if len(name) > 400 { // titles may have 512 characters
		name = strings.ToValidUTF8(name[:400], "")
	}
	title := fmt.Sprintf("%s-%d", name, s.namespaces.Add(1))
	ns, err := s.Client.Namespaces.Create(context.Background(), title)
	if err != nil {
		t.Fatalf("kvtest: create namespace %q: %v", title, err)
	}
	t.Cleanup(func() {
		if s.closed.Load() {
			return
		}
		if err := s.Client.Namespaces.Delete(context.Background(), ns.ID); err != nil && !errors.Is(err, workerskv.ErrNotFound) {
			t.Errorf("kvtest: delete namespace %q: %v", title, err)
		}
	})
	return s.Client.KV(ns.ID)
}
