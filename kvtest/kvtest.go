// Package kvtest runs the Workers KV emulator on loopback for Go tests and hands back a ready client.
//
//	func TestSettings(t *testing.T) {
//		srv := kvtest.NewServer(t)
//		ns, err := srv.Client.Namespaces.Create(t.Context(), "settings")
//		...
//		srv.Clock.Advance(2 * time.Hour) // expire keys written with a TTL
//	}
//
// The emulator is a real HTTP server speaking the KV REST API, with Cloudflare's limits, error codes
// and expiration, so code tested against it behaves the same against Cloudflare.
package kvtest

import (
	"net/http/httptest"
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

	http *httptest.Server
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
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	srv, err := Start(opts...)
	if err != nil {
		t.Fatalf("kvtest: %v", err)
	}
	t.Cleanup(srv.Close)
	return srv
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
func (s *Server) Close() { s.http.Close() }
