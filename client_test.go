package workerskv_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/jarcoal/httpmock"

	"github.com/workerskv/workerskv"
)

// nsPath is the escaped path of the test account's namespaces collection, as the server sees it.
const nsPath = "/client/v4/accounts/" + testAccount + "/storage/kv/namespaces"

// defaultUA is the User-Agent sent when WithUserAgent is not used.
const defaultUA = "workerskv-go/" + workerskv.Version

// want is what one request must look like. An empty contentType means no Content-Type header.
type want struct {
	method, path, query, contentType, body string
}

// checkRequest asserts the method, escaped path, query, body and standard headers of one request sent
// with the canary token.
func checkRequest(t *testing.T, got recorded, w want) {
	t.Helper()
	if got.Method != w.method || got.RawPath != w.path || got.RawQuery != w.query {
		t.Errorf("request = %s %s?%s, want %s %s?%s", got.Method, got.RawPath, got.RawQuery, w.method, w.path, w.query)
	}
	if string(got.Body) != w.body {
		t.Errorf("body = %q, want %q", got.Body, w.body)
	}
	h := got.Header
	for name, v := range map[string]string{
		"Authorization": "Bearer " + canaryToken,
		"User-Agent":    defaultUA,
		"Accept":        "application/json",
		"Content-Type":  w.contentType,
		"X-Auth-Key":    "",
		"X-Auth-Email":  "",
	} {
		if h.Get(name) != v {
			t.Errorf("header %s = %q, want %q", name, h.Get(name), v)
		}
	}
}

// onlyRequest returns the single request recorded, failing the test if there were more or fewer.
func onlyRequest(t *testing.T, m *mockServer) recorded {
	t.Helper()
	reqs := m.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests sent, want 1: %+v", len(reqs), reqs)
	}
	return reqs[0]
}

// nsJSON renders a namespace result.
func nsJSON(id, title string) string {
	return `{"id":"` + id + `","title":"` + title + `","supports_url_encoding":true}`
}

func TestUserAgentPrepended(t *testing.T) {
	t.Parallel()
	c, m := setup(t, workerskv.WithUserAgent("myapp/1.2"))
	m.on("GET", nsURL+"/"+testNS, jsonResponder(200, envelope(nsJSON(testNS, "t"))))
	if _, err := c.Namespaces.Get(t.Context(), testNS); err != nil {
		t.Fatal(err)
	}
	if got, want := onlyRequest(t, m).Header.Get("User-Agent"), "myapp/1.2 workerskv-go/"+workerskv.Version; got != want {
		t.Errorf("User-Agent = %q, want %q", got, want)
	}
}

func TestAPIKeyHeaders(t *testing.T) {
	t.Parallel()
	_, m := setup(t)
	// Rebuild over the same transport with key credentials instead of the token.
	c, err := workerskv.NewClient(
		workerskv.WithAPIKey("KEY-canary", "me@example.com"),
		workerskv.WithAccountID(testAccount),
		workerskv.WithBaseURL(testBase),
		workerskv.WithHTTPClient(&http.Client{Transport: m.MockTransport}),
	)
	if err != nil {
		t.Fatal(err)
	}
	m.on("GET", nsURL+"/"+testNS, jsonResponder(200, envelope(nsJSON(testNS, "t"))))
	if _, err := c.Namespaces.Get(t.Context(), testNS); err != nil {
		t.Fatal(err)
	}
	h := onlyRequest(t, m).Header
	if h.Get("X-Auth-Key") != "KEY-canary" || h.Get("X-Auth-Email") != "me@example.com" || h.Get("Authorization") != "" {
		t.Errorf("auth headers: %v", h)
	}
}

func TestNewClientErrors(t *testing.T) {
	t.Parallel()
	tok, acct := workerskv.WithAPIToken("tok"), workerskv.WithAccountID(testAccount)
	cases := map[string][]workerskv.Option{
		"no credentials":  {acct},
		"both kinds":      {tok, workerskv.WithAPIKey("k", "e@x"), acct},
		"empty token":     {workerskv.WithAPIToken(""), acct},
		"key, no email":   {workerskv.WithAPIKey("k", ""), acct},
		"missing account": {tok},
		"base ::":         {tok, acct, workerskv.WithBaseURL("::")},
		"base ftp":        {tok, acct, workerskv.WithBaseURL("ftp://x")},
		"base no host":    {tok, acct, workerskv.WithBaseURL("http://")},
		"base with query": {tok, acct, workerskv.WithBaseURL("http://h?q=1")},
		"nil http client": {tok, acct, workerskv.WithHTTPClient(nil)},
		"bad backoff":     {tok, acct, workerskv.WithBackoff(2, 1)},
		"bad rate limit":  {tok, acct, workerskv.WithRateLimit(0, 1)},
	}
	for name, opts := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, err := workerskv.NewClient(opts...)
			if err == nil || c != nil {
				t.Fatalf("NewClient = %v, %v; want nil and an error", c, err)
			}
		})
	}
	if _, err := workerskv.NewClient(tok, acct); err != nil {
		t.Errorf("valid options: %v", err)
	}
}

func TestWithHTTPClientIsCopied(t *testing.T) {
	t.Parallel()
	mt := httpmock.NewMockTransport()
	hc := &http.Client{Transport: mt}
	if _, err := workerskv.NewClient(workerskv.WithAPIToken("t"), workerskv.WithAccountID("a"), workerskv.WithHTTPClient(hc)); err != nil {
		t.Fatal(err)
	}
	if hc.Transport != mt || hc.CheckRedirect != nil {
		t.Errorf("the caller's http.Client was modified: %+v", hc)
	}
}

func TestWithAccount(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	const other = "11111111111111111111111111111111"
	otherURL := testBase + "/accounts/" + other + "/storage/kv/namespaces/" + testNS
	m.on("GET", otherURL, jsonResponder(200, envelope(nsJSON(testNS, "o"))))
	oc, err := c.WithAccount(other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oc.Namespaces.Get(t.Context(), testNS); err != nil {
		t.Fatal(err)
	}
	if oc.AccountID() != other || c.AccountID() != testAccount {
		t.Errorf("accounts: copy %q, original %q", oc.AccountID(), c.AccountID())
	}
	got := onlyRequest(t, m) // recorded by the original's transport: shared
	if want := "/client/v4/accounts/" + other + "/storage/kv/namespaces/" + testNS; got.RawPath != want {
		t.Errorf("path = %s, want %s", got.RawPath, want)
	}
	if got.Header.Get("Authorization") != "Bearer "+canaryToken {
		t.Errorf("credentials not shared: %v", got.Header)
	}
}

// TestClientStringHidesCredentials: formatting the client, in any verb, never shows credentials.
func TestClientStringHidesCredentials(t *testing.T) {
	t.Parallel()
	for _, auth := range []workerskv.Option{workerskv.WithAPIToken(canaryToken), workerskv.WithAPIKey(canaryToken, "canary@example.com")} {
		c, err := workerskv.NewClient(auth, workerskv.WithAccountID(testAccount))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{c.String(), fmtAll(c), fmtAll(*c), fmtAll(c.Namespaces)} {
			if strings.Contains(s, canaryToken) || strings.Contains(s, "canary@example.com") {
				t.Errorf("credentials in %q", s)
			}
		}
	}
}

// TestZeroClientString: a Client not built by NewClient prints as empty instead of panicking.
func TestZeroClientString(t *testing.T) {
	t.Parallel()
	var zero workerskv.Client
	for _, got := range []string{zero.String(), (*workerskv.Client)(nil).String(), fmt.Sprint(&zero), fmt.Sprintf("%+v", &zero)} {
		if got != "workerskv.Client{}" {
			t.Errorf("got %q, want workerskv.Client{}", got)
		}
	}
}
