package workerskv_test

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/workerskv/workerskv"
	"github.com/workerskv/workerskv/emulator"
	"github.com/workerskv/workerskv/kvtest"
)

// headerLog records the credential headers each request arrived with, by path.
type headerLog struct {
	mu   sync.Mutex
	seen map[string]http.Header
}

func (l *headerLog) record(r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen = map[string]http.Header{}
	}
	h := http.Header{}
	for _, name := range []string{"Authorization", "X-Auth-Key", "X-Auth-Email"} {
		if v := r.Header.Get(name); v != "" {
			h.Set(name, v)
		}
	}
	l.seen[r.URL.Path] = h
}

func (l *headerLog) get(path string) (http.Header, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h, ok := l.seen[path]
	return h, ok
}

// TestRedirectStripsCredentialsEveryWay: a redirect to another origin never carries the credentials,
// of either kind, while the server redirecting gets them: a 301, 302, 303, 307 or 308 from server A to
// server B (another host:port), a chain A→A→B (the hop on A keeps them, B gets none), a redirect to a
// subdomain, to another port and from https to http on the same host.
func TestRedirectStripsCredentialsEveryWay(t *testing.T) {
	t.Parallel()
	var atA, atB headerLog
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		atB.record(r)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, envelope(nsJSON(testNS, "b")))
	}))
	t.Cleanup(b.Close) // not defer: the subtests run in parallel, after this function returns
	var a *httptest.Server
	a = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		atA.record(r)
		// The last segment is <auth>-<to-b|via-a>-<code>, plus "-hop" once A has redirected to itself.
		last := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
		hopped := strings.HasSuffix(last, "-hop")
		var code int
		_, _ = fmt.Sscanf(strings.TrimSuffix(last, "-hop")[strings.LastIndexByte(strings.TrimSuffix(last, "-hop"), '-')+1:], "%d", &code)
		target := b.URL + r.URL.Path
		if strings.Contains(last, "-via-a-") && !hopped {
			target = a.URL + r.URL.Path + "-hop"
		}
		w.Header().Set("Location", target)
		w.WriteHeader(code)
	}))
	t.Cleanup(a.Close)

	for name, auth := range secretAuths() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, err := workerskv.NewClient(auth, workerskv.WithAccountID(testAccount), workerskv.WithBaseURL(a.URL+"/client/v4"))
			if err != nil {
				t.Fatal(err)
			}
			for _, code := range []int{301, 302, 303, 307, 308} {
				for _, id := range []string{"to-b-" + strconv.Itoa(code), "via-a-" + strconv.Itoa(code)} {
					id := name + "-" + id
					if ns, err := c.Namespaces.Get(t.Context(), id); err != nil || ns.Title != "b" {
						t.Fatalf("%s: %+v, %v", id, ns, err)
					}
					path := nsPath + "/" + id
					last := path // the request B gets
					if strings.Contains(id, "via-a") {
						last += "-hop"
					}
					for _, at := range []string{path, last} {
						if h, ok := atA.get(at); !ok || len(h) == 0 {
							t.Errorf("%s: A got %s without credentials: %v", id, at, h)
						}
					}
					if h, ok := atB.get(last); !ok || len(h) != 0 {
						t.Errorf("%s: B got %v (sent: %v)", id, h, ok)
					}
				}
			}
		})
	}

	// Hosts httptest cannot make: a subdomain, another port, and plain http on the same host.
	for _, target := range []string{"https://evil.api.kv.test", "https://api.kv.test:8443", "http://api.kv.test"} {
		for name, auth := range secretAuths() {
			var got headerLog
			mt := httpmock.NewMockTransport()
			mt.RegisterResponder("GET", nsURL+"/"+testNS, func(r *http.Request) (*http.Response, error) {
				resp := httpmock.NewStringResponse(http.StatusPermanentRedirect, "")
				resp.Header.Set("Location", target+r.URL.Path)
				return resp, nil
			})
			mt.RegisterResponder("GET", target+nsPath+"/"+testNS, func(r *http.Request) (*http.Response, error) {
				got.record(r)
				return httpmock.NewStringResponse(200, envelope(nsJSON(testNS, "t"))), nil
			})
			c, err := workerskv.NewClient(auth, workerskv.WithAccountID(testAccount), workerskv.WithBaseURL(testBase),
				workerskv.WithHTTPClient(&http.Client{Transport: mt}))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Namespaces.Get(t.Context(), testNS); err != nil {
				t.Fatalf("%s %s: %v", target, name, err)
			}
			if h, ok := got.get(nsPath + "/" + testNS); !ok || len(h) != 0 {
				t.Errorf("redirect to %s with %s: the target got %v (sent: %v)", target, name, h, ok)
			}
		}
	}
}

// TestSecretsReflectedByServerAreRedacted: a server or proxy that echoes the request's credentials in
// an error body (plain text, a v4 envelope, an HTML page, after retries) does not get them into the
// *APIError; a successful value that happens to hold them is returned intact.
func TestSecretsReflectedByServerAreRedacted(t *testing.T) {
	t.Parallel()
	echo := func(status int, format string) httpmock.Responder {
		return func(r *http.Request) (*http.Response, error) {
			creds := r.Header.Get("Authorization") + " " + r.Header.Get("X-Auth-Key") + " " + r.Header.Get("X-Auth-Email")
			return httpmock.NewStringResponse(status, fmt.Sprintf(format, creds)), nil
		}
	}
	for name, auth := range secretAuths() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := &leakSink{}
			mt := httpmock.NewMockTransport()
			c, err := workerskv.NewClient(auth, workerskv.WithAccountID(testAccount), workerskv.WithBaseURL(testBase),
				workerskv.WithHTTPClient(&http.Client{Transport: mt}), workerskv.WithBackoff(time.Millisecond, 2*time.Millisecond),
				workerskv.WithMaxRetries(1), workerskv.WithLogger(s.logger()))
			if err != nil {
				t.Fatal(err)
			}
			ns := nsURL + "/" + testNS
			mt.RegisterResponder("GET", ns+"/values/text", echo(400, "bad request from %s"))
			mt.RegisterResponder("GET", ns+"/values/envelope", echo(403, `{"success":false,"errors":[{"code":10000,"message":"refused: %s"}],"messages":[],"result":null}`))
			mt.RegisterResponder("GET", ns+"/values/html", echo(502, "<html><body><pre>%s</pre></body></html>"))
			mt.RegisterResponder("GET", ns+"/values/stored", httpmock.NewStringResponder(200, canaryToken+canaryKey))
			for _, key := range []string{"text", "envelope", "html"} {
				_, err := c.Values.Get(t.Context(), testNS, key)
				s.err(err)
				if err == nil || !strings.Contains(err.Error(), "[REDACTED]") {
					t.Errorf("%s: %v, want an error showing [REDACTED]", key, err)
				}
			}
			if v, err := c.Values.Get(t.Context(), testNS, "stored"); err != nil || string(v) != canaryToken+canaryKey {
				t.Errorf("a stored value was changed: %q, %v", v, err)
			}
			s.check(t, 3)
		})
	}
}

// TestSecretsNotInConfigErrors: a base URL carrying a secret (user info, a query) is refused without
// quoting the secret, whether it parses or not.
func TestSecretsNotInConfigErrors(t *testing.T) {
	t.Parallel()
	for _, base := range []string{
		"https://user:" + canaryToken + "@api.kv.test/client/v4",
		"https://" + canaryToken + "@api.kv.test",
		"https://user:" + canaryToken + "@api.kv.test/\x7f",
		"https://api.kv.test/client/v4?token=" + canaryToken,
		"https://api.kv.test/client/v4#" + canaryToken,
		"ftp://" + canaryKey + ":x@api.kv.test",
		"http://[" + canaryKey,
	} {
		c, err := workerskv.NewClient(workerskv.WithAPIToken(canaryToken), workerskv.WithAccountID(testAccount), workerskv.WithBaseURL(base))
		s := &leakSink{}
		s.err(err)
		s.value(c)
		if err == nil {
			t.Errorf("%q accepted", base)
		}
		for _, canary := range canaries {
			if strings.Contains(s.printed.String(), canary) {
				t.Errorf("base URL %q: the error shows %q: %v", base, canary, err)
			}
		}
	}
}

// TestEmulatorNeverEchoesCredentials: whatever credentials a request carries (refused, malformed,
// partial, or accepted next to refused ones), no emulator answer quotes them: not the error bodies of
// authentication, routing, validation and missing resources, not injected faults, not any header.
func TestEmulatorNeverEchoesCredentials(t *testing.T) {
	t.Parallel()
	plain := kvtest.NewServer(t)
	faulty := kvtest.NewServer(t, kvtest.WithEmulatorOptions(emulator.WithFaults(emulator.Faults{Seed: 5, RateLimited: 0.3, ServerError: 0.3})))
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	headerSets := [][]string{
		{"Authorization", "Bearer " + canaryToken},
		{"Authorization", canaryToken},
		{"Authorization", "Basic " + canaryKey},
		{"X-Auth-Key", canaryKey, "X-Auth-Email", canaryEmail},
		{"X-Auth-Key", canaryKey},
		{"X-Auth-Email", canaryEmail},
		{"Authorization", "Bearer " + emulator.DefaultAPIToken, "X-Auth-Key", canaryKey, "X-Auth-Email", canaryEmail},
	}
	ns := "/accounts/" + emulator.DefaultAccountID + "/storage/kv/namespaces"
	requests := []struct{ method, path, body string }{
		{"GET", ns + "/ffffffffffffffffffffffffffffffff/values/k", ""},
		{"GET", ns + "?per_page=" + canaryToken, ""},
		{"POST", ns, `{"title":`},
		{"PUT", ns + "/ffffffffffffffffffffffffffffffff/bulk", `[{"key":1}]`},
		{"GET", "/nothing", ""},
		{"PATCH", ns, ""},
		{"GET", "/accounts/ffffffffffffffffffffffffffffffff/storage/kv/namespaces", ""},
	}
	answers := 0
	for _, srv := range []*kvtest.Server{plain, faulty} {
		for _, hs := range headerSets {
			for _, rq := range requests {
				req, err := http.NewRequestWithContext(t.Context(), rq.method, srv.URL+rq.path, strings.NewReader(rq.body))
				if err != nil {
					t.Fatal(err)
				}
				for i := 0; i+1 < len(hs); i += 2 {
					req.Header.Set(hs[i], hs[i+1])
				}
				resp, err := hc.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				answers++
				everything := string(body) + fmt.Sprint(resp.Header)
				for _, c := range canaries {
					// The per_page request carries the token in its query on purpose: only headers count.
					if strings.Contains(everything, c) && !strings.Contains(rq.path, c) {
						t.Errorf("%s %s with %v: the answer (%d) shows %q: %s", rq.method, rq.path, hs, resp.StatusCode, c, everything)
					}
				}
				if resp.StatusCode < 400 {
					t.Errorf("%s %s with %v: status %d, want an error", rq.method, rq.path, hs, resp.StatusCode)
				}
			}
		}
	}
	if st := faulty.Emulator.FaultStats(); st.RateLimited == 0 || st.ServerErrors == 0 || answers == 0 {
		t.Errorf("no faults injected: %+v", st)
	}
}

// TestTLSVerifiedAndNotRetried: TLS is net/http's: a certificate the system does not trust fails the
// call at once (a certificate error is not retried), and a caller's http.Client that trusts it works.
func TestTLSVerifiedAndNotRetried(t *testing.T) {
	t.Parallel()
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, envelope(nsJSON(testNS, "tls")))
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	defer srv.Close()
	opts := []workerskv.Option{workerskv.WithAPIToken(canaryToken), workerskv.WithAccountID(testAccount),
		workerskv.WithBaseURL(srv.URL + "/client/v4"), workerskv.WithMaxRetries(3), workerskv.WithBackoff(time.Millisecond, time.Millisecond)}
	c, err := workerskv.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Namespaces.Get(t.Context(), testNS)
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("untrusted certificate: %v, want an x509.UnknownAuthorityError", err)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for a certificate error, want 1 (no retry)", n)
	}
	trusting, err := workerskv.NewClient(append(opts, workerskv.WithHTTPClient(srv.Client()))...)
	if err != nil {
		t.Fatal(err)
	}
	if ns, err := trusting.Namespaces.Get(t.Context(), testNS); err != nil || ns.Title != "tls" {
		t.Errorf("with the caller's trusting client: %+v, %v", ns, err)
	}
}
