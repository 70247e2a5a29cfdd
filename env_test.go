package workerskv_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/jarcoal/httpmock"

	"github.com/workerskv/workerskv"
)

// These tests use t.Setenv, so none of them is parallel.

var envVars = []string{
	"CLOUDFLARE_API_TOKEN", "CLOUDFLARE_API_KEY", "CLOUDFLARE_EMAIL",
	"CLOUDFLARE_ACCOUNT_ID", "CLOUDFLARE_API_BASE_URL", "CLOUDFLARE_BASE_URL",
}

// setEnv clears every variable NewClientFromEnv reads, then sets the given name/value pairs.
func setEnv(t *testing.T, kv ...string) {
	t.Helper()
	for _, k := range envVars {
		t.Setenv(k, "")
	}
	for i := 0; i+1 < len(kv); i += 2 {
		t.Setenv(kv[i], kv[i+1])
	}
}

// sentRequest is what fromEnv's client sent.
type sentRequest struct {
	url    string
	header http.Header
}

// fromEnv builds a client with NewClientFromEnv over a mock transport answering any URL, makes one
// Namespaces.Get and returns the request sent.
func fromEnv(t *testing.T, opts ...workerskv.Option) sentRequest {
	t.Helper()
	mt := httpmock.NewMockTransport()
	var mu sync.Mutex
	var got sentRequest
	mt.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		got = sentRequest{r.URL.String(), r.Header.Clone()}
		mu.Unlock()
		return jsonResponder(200, envelope(nsJSON(testNS, "t")))(r)
	})
	c, err := workerskv.NewClientFromEnv(append([]workerskv.Option{workerskv.WithHTTPClient(&http.Client{Transport: mt})}, opts...)...)
	if err != nil {
		t.Fatalf("NewClientFromEnv: %v", err)
	}
	if _, err := c.Namespaces.Get(t.Context(), testNS); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	return got
}

// nsGetURL is the URL of Namespaces.Get(testNS) for the test account under base.
func nsGetURL(base string) string {
	return base + "/accounts/" + testAccount + "/storage/kv/namespaces/" + testNS
}

func TestFromEnvToken(t *testing.T) {
	setEnv(t, "CLOUDFLARE_API_TOKEN", canaryToken, "CLOUDFLARE_ACCOUNT_ID", testAccount)
	got := fromEnv(t)
	if got.url != nsGetURL(workerskv.DefaultBaseURL) {
		t.Errorf("url = %s", got.url)
	}
	if got.header.Get("Authorization") != "Bearer "+canaryToken || got.header.Get("X-Auth-Key") != "" {
		t.Errorf("headers = %v", got.header)
	}
}

func TestFromEnvAPIKey(t *testing.T) {
	setEnv(t, "CLOUDFLARE_API_KEY", "KEY", "CLOUDFLARE_EMAIL", "me@example.com", "CLOUDFLARE_ACCOUNT_ID", testAccount)
	h := fromEnv(t).header
	if h.Get("X-Auth-Key") != "KEY" || h.Get("X-Auth-Email") != "me@example.com" || h.Get("Authorization") != "" {
		t.Errorf("headers = %v", h)
	}
}

func TestFromEnvErrors(t *testing.T) {
	cases := map[string][]string{
		"key without email": {"CLOUDFLARE_API_KEY", "KEY", "CLOUDFLARE_ACCOUNT_ID", testAccount},
		"token and key": {"CLOUDFLARE_API_TOKEN", "T", "CLOUDFLARE_API_KEY", "KEY", "CLOUDFLARE_EMAIL", "me@example.com",
			"CLOUDFLARE_ACCOUNT_ID", testAccount},
		"no credentials": {"CLOUDFLARE_EMAIL", "me@example.com", "CLOUDFLARE_ACCOUNT_ID", testAccount},
		"no account":     {"CLOUDFLARE_API_TOKEN", "T"},
		"bad base URL":   {"CLOUDFLARE_API_TOKEN", "T", "CLOUDFLARE_ACCOUNT_ID", testAccount, "CLOUDFLARE_API_BASE_URL", "ftp://x"},
	}
	for name, env := range cases {
		t.Run(name, func(t *testing.T) {
			setEnv(t, env...)
			if c, err := workerskv.NewClientFromEnv(); err == nil || c != nil {
				t.Errorf("NewClientFromEnv = %v, %v; want an error", c, err)
			}
		})
	}
}

func TestFromEnvBaseURL(t *testing.T) {
	const apiBase, cfBase = "http://127.0.0.1:8787/client/v4", "https://cf.example/client/v4"
	cases := []struct {
		name string
		env  []string
		want string
	}{
		{"CLOUDFLARE_API_BASE_URL", []string{"CLOUDFLARE_API_BASE_URL", apiBase}, apiBase},
		{"CLOUDFLARE_BASE_URL", []string{"CLOUDFLARE_BASE_URL", cfBase}, cfBase},
		{"both: API_BASE_URL wins", []string{"CLOUDFLARE_API_BASE_URL", apiBase, "CLOUDFLARE_BASE_URL", cfBase}, apiBase},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			setEnv(t, append([]string{"CLOUDFLARE_API_TOKEN", "T", "CLOUDFLARE_ACCOUNT_ID", testAccount}, tc.env...)...)
			if got := fromEnv(t).url; got != nsGetURL(tc.want) {
				t.Errorf("url = %s, want %s", got, nsGetURL(tc.want))
			}
		})
	}
}

// TestFromEnvExplicitOptionsWin: options given to NewClientFromEnv beat the environment, and an
// explicit credential replaces the environment's credentials as a whole.
func TestFromEnvExplicitOptionsWin(t *testing.T) {
	t.Run("api key over env token", func(t *testing.T) {
		setEnv(t, "CLOUDFLARE_API_TOKEN", canaryToken, "CLOUDFLARE_ACCOUNT_ID", testAccount)
		h := fromEnv(t, workerskv.WithAPIKey("KEY", "me@example.com")).header
		if h.Get("X-Auth-Key") != "KEY" || h.Get("Authorization") != "" {
			t.Errorf("headers = %v", h)
		}
	})
	t.Run("token over env token and key", func(t *testing.T) {
		setEnv(t, "CLOUDFLARE_API_TOKEN", "ENV", "CLOUDFLARE_API_KEY", "KEY", "CLOUDFLARE_ACCOUNT_ID", testAccount)
		h := fromEnv(t, workerskv.WithAPIToken(canaryToken)).header
		if h.Get("Authorization") != "Bearer "+canaryToken || h.Get("X-Auth-Key") != "" {
			t.Errorf("headers = %v", h)
		}
	})
	t.Run("base URL and account", func(t *testing.T) {
		setEnv(t, "CLOUDFLARE_API_TOKEN", "T", "CLOUDFLARE_ACCOUNT_ID", "env-account",
			"CLOUDFLARE_API_BASE_URL", "https://env.example/client/v4", "CLOUDFLARE_BASE_URL", "https://env2.example/client/v4")
		got := fromEnv(t, workerskv.WithBaseURL(testBase), workerskv.WithAccountID(testAccount)).url
		if got != nsGetURL(testBase) {
			t.Errorf("url = %s, want %s", got, nsGetURL(testBase))
		}
	})
}
