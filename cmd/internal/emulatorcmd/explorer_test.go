package emulatorcmd

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestExplorerServed: the server serves the explorer at its root, prints
// its URL, and the explorer logs in with the -token the API accepts and
// shows the -account's namespaces.
func TestExplorerServed(t *testing.T) {
	const token, account = "explorer-token", "abcdefabcdefabcdefabcdefabcdef01"
	s := start(t, "-token", token, "-account", account)
	m := regexp.MustCompile(`explorer:\s+(\S+)`).FindStringSubmatch(s.out.String())
	if m == nil || m[1] != strings.TrimSuffix(s.base, "client/v4") {
		t.Fatalf("banner has no explorer URL matching base %s:\n%s", s.base, s.out)
	}
	root := m[1]
	nsPath := "/accounts/" + account + "/storage/kv/namespaces"
	if code, body := s.call(t, token, http.MethodPost, nsPath, "application/json", `{"title":"from-the-api"}`); code != http.StatusOK {
		t.Fatalf("create namespace: %d %s", code, body)
	}

	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar}
	resp, err := c.PostForm(root+"login", url.Values{"token": {"wrong"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("login with a wrong token: status %d, want 401", resp.StatusCode)
	}
	resp, err = c.PostForm(root+"login", url.Values{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "from-the-api") {
		t.Errorf("explorer after login: status %d, want the namespace list:\n%s", resp.StatusCode, body)
	}
	c.CloseIdleConnections()
}
