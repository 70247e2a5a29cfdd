package explorer_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
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

// browserless is an HTTP client with a cookie jar that does not follow
// redirects, so tests see each answer.
func (f *fixture) browserless(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// loggedIn is browserless after a successful login.
func (f *fixture) loggedIn(t *testing.T) *http.Client {
	t.Helper()
	c := f.browserless(t)
	resp := post(t, c, f.url+"login", url.Values{"token": {emulator.DefaultAPIToken}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: status %d, want 303", resp.StatusCode)
	}
	return c
}

// reply is a read response.
type reply struct {
	StatusCode int
	Header     http.Header
	Body       string
}

func do(t *testing.T, c *http.Client, req *http.Request) reply {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{StatusCode: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

func get(t *testing.T, c *http.Client, u string) reply {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, c, req)
}

// post sends form as a browser form post would, with extra headers.
func post(t *testing.T, c *http.Client, u string, form url.Values, hdr map[string]string) reply {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return do(t, c, req)
}
