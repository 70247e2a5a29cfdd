package workerskv_test

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/workerskv/workerskv"
)

// Fixed test identities. canaryToken must never appear in an error string or a log line.
const (
	testBase    = "https://api.kv.test/client/v4"
	testAccount = "0123456789abcdef0123456789abcdef"
	testNS      = "fedcba9876543210fedcba9876543210"
	canaryToken = "CANARY-tok-3f9a1c7e5b2d4068"
	nsURL       = testBase + "/accounts/" + testAccount + "/storage/kv/namespaces"
)

// recorded is one request as the server saw it.
type recorded struct {
	Method, RawPath, RawQuery string
	Header                    http.Header
	Body                      []byte
}

// mockServer is an httpmock transport injected into one client, with every request recorded.
type mockServer struct {
	*httpmock.MockTransport
	mu   sync.Mutex
	reqs []recorded
}

// requests returns what was sent so far.
func (m *mockServer) requests() []recorded {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]recorded(nil), m.reqs...)
}

// record wraps a responder so that each request is recorded before it is answered.
func (m *mockServer) record(r httpmock.Responder) httpmock.Responder {
	return func(req *http.Request) (*http.Response, error) {
		var body []byte
		if req.Body != nil {
			body, _ = io.ReadAll(req.Body)
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		m.mu.Lock()
		m.reqs = append(m.reqs, recorded{req.Method, req.URL.EscapedPath(), req.URL.RawQuery, req.Header.Clone(), body})
		m.mu.Unlock()
		return r(req)
	}
}

// on registers a recorded responder for method and an exact escaped URL (query ignored).
func (m *mockServer) on(method, url string, r httpmock.Responder) {
	m.RegisterResponder(method, url, m.record(r))
}

// setup returns a client whose requests go to an httpmock transport (never the network), with fast
// retries. Requests that match no responder fail the test.
func setup(t *testing.T, opts ...workerskv.Option) (*workerskv.Client, *mockServer) {
	t.Helper()
	mt := httpmock.NewMockTransport()
	m := &mockServer{MockTransport: mt}
	mt.RegisterNoResponder(func(req *http.Request) (*http.Response, error) {
		t.Errorf("unexpected request %s %s", req.Method, req.URL.String())
		return httpmock.NewStringResponse(599, "no responder"), nil
	})
	all := append([]workerskv.Option{
		workerskv.WithAPIToken(canaryToken),
		workerskv.WithAccountID(testAccount),
		workerskv.WithBaseURL(testBase),
		workerskv.WithHTTPClient(&http.Client{Transport: mt}),
		workerskv.WithBackoff(time.Millisecond, 2*time.Millisecond),
	}, opts...)
	c, err := workerskv.NewClient(all...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c, m
}

// envelope renders a success envelope around a raw JSON result.
func envelope(result string) string {
	return `{"success":true,"errors":[],"messages":[],"result":` + result + `}`
}

// failure renders a failure envelope with one error.
func failure(code int, message string) string {
	return `{"success":false,"errors":[{"code":` + strconv.Itoa(code) + `,"message":"` + message + `"}],"messages":[],"result":null}`
}

// jsonResponder answers with status and a JSON body.
func jsonResponder(status int, body string) httpmock.Responder {
	return func(*http.Request) (*http.Response, error) {
		r := httpmock.NewStringResponse(status, body)
		r.Header.Set("Content-Type", "application/json")
		return r, nil
	}
}
