package explorertest

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/workerskv/workerskv"
	"github.com/workerskv/workerskv/emulator"
	"github.com/workerskv/workerskv/emulator/explorer"
)

// start is the fake clock's starting time, fixed so that pages and
// screenshots are the same on every run.
var start = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// fixture is an emulator with its explorer on a loopback server.
type fixture struct {
	clock *emulator.FakeClock
	emu   *emulator.Emulator
	srv   *httptest.Server
	url   string            // the explorer's root, ending in "/"
	api   *workerskv.Client // for setting up and checking state
}

func newFixture(t *testing.T, opts ...explorer.Option) *fixture {
	t.Helper()
	clock := emulator.NewFakeClock(start)
	emu := emulator.New(emulator.WithClock(clock))
	srv := httptest.NewServer(explorer.Combined(emu, append([]explorer.Option{explorer.WithClock(clock)}, opts...)...))
	t.Cleanup(srv.Close)
	api, err := workerskv.NewClient(
		workerskv.WithAPIToken(emulator.DefaultAPIToken),
		workerskv.WithAccountID(emulator.DefaultAccountID),
		workerskv.WithBaseURL(srv.URL+"/client/v4"),
		workerskv.WithHTTPClient(srv.Client()),
	)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{clock: clock, emu: emu, srv: srv, url: srv.URL + "/", api: api}
}

// namespace creates a namespace through the API and returns its ID.
func (f *fixture) namespace(t *testing.T, title string) string {
	t.Helper()
	ns, err := f.api.Namespaces.Create(t.Context(), title)
	if err != nil {
		t.Fatal(err)
	}
	return ns.ID
}

// hostile is a key, value, metadata and title made to run script if any of
// them reached a page unescaped (the same as the explorer's own tests use).
const (
	hostileKey   = `<img src=x onerror=alert(1)>`
	hostileValue = `<script>window.__xss=1;alert(2)</script>`
	hostileMeta  = `{"note":"<img src=y onerror=window.__xss=3>","q":"\"'&"}`
	hostileTitle = `</title><script>alert(4)</script>`
)
