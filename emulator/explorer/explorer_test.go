package explorer_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/workerskv/workerskv"
	"github.com/workerskv/workerskv/emulator"
	"github.com/workerskv/workerskv/emulator/explorer"
)

func TestPagesNeedLogin(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.namespace(t, "private")
	c := f.browserless(t)

	for _, p := range []string{"", "ns/" + id, "ns/" + id + "/key?name=k", "ns/" + id + "/raw?name=k"} {
		r := get(t, c, f.url+p)
		if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login?next=") {
			t.Errorf("GET /%s: status %d, Location %q; want a redirect to the login page", p, r.StatusCode, r.Header.Get("Location"))
		}
	}
	if r := get(t, c, f.url+"now"); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /now: status %d, want 401", r.StatusCode)
	}
	for _, p := range []string{"namespaces", "ns/" + id + "/delete", "ns/" + id + "/put", "ns/" + id + "/delete-keys", "clock"} {
		if r := post(t, c, f.url+p, url.Values{"title": {"x"}, "key": {"k"}, "name": {"k"}, "by": {"1h"}}, nil); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("POST /%s: status %d, want 401", p, r.StatusCode)
		}
	}
	// A cookie with a token the API does not accept is no better.
	u, _ := url.Parse(f.url)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: "kvexplorer-" + u.Port(), Value: "d3Jvbmc"}}) // "wrong"
	if r := get(t, c, f.url); r.StatusCode != http.StatusSeeOther {
		t.Errorf("GET / with a wrong token: status %d, want 303 to the login page", r.StatusCode)
	}
	// That answer also removed the cookie; put it back for the clock and an
	// action.
	c.Jar.SetCookies(u, []*http.Cookie{{Name: "kvexplorer-" + u.Port(), Value: "d3Jvbmc"}})
	if r := get(t, c, f.url+"now"); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /now with a wrong token: status %d, want 401", r.StatusCode)
	}
	if r := post(t, c, f.url+"namespaces", url.Values{"title": {"sneaky"}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Errorf("POST /namespaces with a wrong token: status %d, want 303 to the login page", r.StatusCode)
	}
	n := 0
	for _, err := range f.api.Namespaces.All(t.Context(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1 {
		t.Errorf("%d namespaces after refused actions, want 1", n)
	}
	if clock := f.clock.Now(); !clock.Equal(start) {
		t.Errorf("the clock moved to %v without a login", clock)
	}
}

func TestLogin(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := f.browserless(t)

	r := post(t, c, f.url+"login", url.Values{"token": {"not-the-token"}}, nil)
	if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Body, "does not accept that token") {
		t.Errorf("wrong token: status %d, want 401 and a message; body:\n%s", r.StatusCode, r.Body)
	}
	if len(r.Header.Values("Set-Cookie")) != 0 {
		t.Errorf("wrong token set cookies: %q", r.Header.Values("Set-Cookie"))
	}

	r = post(t, c, f.url+"login", url.Values{"token": {emulator.DefaultAPIToken}, "next": {"//evil.example/"}}, nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" {
		t.Errorf("login with next=//evil.example/: status %d, Location %q; want 303 to /", r.StatusCode, r.Header.Get("Location"))
	}
	cookies := r.Header.Values("Set-Cookie")
	if len(cookies) != 1 {
		t.Fatalf("Set-Cookie: %q, want one cookie", cookies)
	}
	for _, attr := range []string{"HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(cookies[0], attr) {
			t.Errorf("login cookie %q lacks %s", cookies[0], attr)
		}
	}
	if r := get(t, c, f.url); r.StatusCode != http.StatusOK || !strings.Contains(r.Body, "Create namespace") {
		t.Errorf("GET / after login: status %d; body:\n%s", r.StatusCode, r.Body)
	}

	r = post(t, c, f.url+"logout", nil, nil)
	if r.StatusCode != http.StatusSeeOther {
		t.Errorf("logout: status %d", r.StatusCode)
	}
	if r := get(t, c, f.url); r.StatusCode != http.StatusSeeOther {
		t.Errorf("GET / after logout: status %d, want 303", r.StatusCode)
	}
}

func TestLoginNextStaysInside(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.namespace(t, "ns")
	c := f.browserless(t)
	r := get(t, c, f.url+"ns/"+id+"?prefix=a")
	loc, err := url.Parse(r.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	next := loc.Query().Get("next")
	if next != "/ns/"+id+"?prefix=a" {
		t.Errorf("next = %q", next)
	}
	r = post(t, c, f.url+"login", url.Values{"token": {emulator.DefaultAPIToken}, "next": {next}}, nil)
	if got := r.Header.Get("Location"); got != next {
		t.Errorf("after login: Location %q, want %q", got, next)
	}
	for _, bad := range []string{"https://evil.example/", "/\\evil.example", "//evil.example", "javascript:alert(1)"} {
		r := post(t, c, f.url+"login", url.Values{"token": {emulator.DefaultAPIToken}, "next": {bad}}, nil)
		if got := r.Header.Get("Location"); got != "/" {
			t.Errorf("next=%q: Location %q, want /", bad, got)
		}
	}
}

// TestCrossSitePostRefused: a state-changing request a browser marks as
// coming from another site, or from another origin, is refused before it
// does anything, even with a valid login cookie.
func TestCrossSitePostRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := f.loggedIn(t)
	for _, hdr := range []map[string]string{
		{"Origin": "https://evil.example"},
		{"Sec-Fetch-Site": "cross-site"},
		{"Sec-Fetch-Site": "same-site", "Origin": "http://localhost:1"},
		{"Origin": "null"},
	} {
		r := post(t, c, f.url+"namespaces", url.Values{"title": {"planted"}}, hdr)
		if r.StatusCode != http.StatusForbidden {
			t.Errorf("POST /namespaces with %v: status %d, want 403", hdr, r.StatusCode)
		}
		r = post(t, c, f.url+"login", url.Values{"token": {emulator.DefaultAPIToken}}, hdr)
		if r.StatusCode != http.StatusForbidden {
			t.Errorf("POST /login with %v: status %d, want 403", hdr, r.StatusCode)
		}
	}
	page, err := f.api.Namespaces.List(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Namespaces) != 0 {
		t.Fatalf("cross-site posts created %v", page.Namespaces)
	}
	// The same post from the explorer's own pages works.
	r := post(t, c, f.url+"namespaces", url.Values{"title": {"mine"}}, map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": strings.TrimSuffix(f.url, "/")})
	if r.StatusCode != http.StatusSeeOther {
		t.Errorf("same-origin POST: status %d, want 303", r.StatusCode)
	}
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := f.loggedIn(t)
	r := get(t, c, f.url)
	csp := r.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if got := r.Header.Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("X-Frame-Options = %q", got)
	}
	if got := r.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q", got)
	}
	if strings.Contains(r.Body, "<script>") || regexp.MustCompile(`\son[a-z]+=`).MatchString(r.Body) {
		t.Error("a page has inline script")
	}
	if r := get(t, c, f.url+"static/app.js"); r.StatusCode != http.StatusOK || !strings.Contains(r.Header.Get("Content-Type"), "javascript") {
		t.Errorf("app.js: status %d, Content-Type %q", r.StatusCode, r.Header.Get("Content-Type"))
	}
	if r := get(t, c, f.url+"static/../templates/layout.html"); r.StatusCode == http.StatusOK && strings.Contains(r.Body, "{{") {
		t.Error("templates are served")
	}
}

// hostile is a key, value, metadata and title made to run script if any of
// them reached a page unescaped.
const (
	hostileKey   = `<img src=x onerror=alert(1)>`
	hostileValue = `<script>window.__xss=1;alert(2)</script>`
	hostileMeta  = `{"note":"<img src=y onerror=window.__xss=3>","q":"\"'&"}`
	hostileTitle = `</title><script>alert(4)</script>`
)

func TestEscapesKeysValuesAndMetadata(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.namespace(t, hostileTitle)
	kv := f.api.KV(id)
	if err := kv.Put(t.Context(), hostileKey, []byte(hostileValue), &workerskv.PutOptions{Metadata: json.RawMessage(hostileMeta)}); err != nil {
		t.Fatal(err)
	}
	c := f.loggedIn(t)
	pages := map[string]string{
		"namespaces": f.url,
		"keys":       f.url + "ns/" + id,
		"value":      f.url + "ns/" + id + "/key?name=" + url.QueryEscape(hostileKey) + "&view=text",
		"hex":        f.url + "ns/" + id + "/key?name=" + url.QueryEscape(hostileKey) + "&view=hex",
	}
	for name, u := range pages {
		r := get(t, c, u)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d\n%s", name, r.StatusCode, r.Body)
		}
		for _, raw := range []string{"<img", "<script>", "</title><"} {
			if strings.Contains(r.Body, raw) {
				t.Errorf("%s page holds %q unescaped:\n%s", name, raw, r.Body)
			}
		}
		if scripts := strings.Count(r.Body, "<script"); scripts != 1 {
			t.Errorf("%s page has %d script elements, want 1 (app.js)", name, scripts)
		}
	}
	r := get(t, c, pages["value"])
	for _, want := range []string{"&lt;img src=x onerror=alert(1)&gt;", "&lt;script&gt;window.__xss=1;alert(2)&lt;/script&gt;", "&lt;img src=y onerror=window.__xss=3&gt;"} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("value page lacks %q", want)
		}
	}
}

func TestDownload(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.namespace(t, "files")
	value := []byte("\x89PNG\r\n\x1a\n\x00\x01<html><script>alert(1)</script>")
	key := "images/logo.png"
	if err := f.api.KV(id).Put(t.Context(), key, value, nil); err != nil {
		t.Fatal(err)
	}
	c := f.loggedIn(t)
	r := get(t, c, f.url+"ns/"+id+"/raw?name="+url.QueryEscape(key))
	if r.StatusCode != http.StatusOK || !bytes.Equal([]byte(r.Body), value) {
		t.Fatalf("download: status %d, body %q", r.StatusCode, r.Body)
	}
	if got := r.Header.Get("Content-Disposition"); got != `attachment; filename=images_logo.png` {
		t.Errorf("Content-Disposition = %q", got)
	}
	if got := r.Header.Get("Content-Type"); got != "application/octet-stream" {
		t.Errorf("Content-Type = %q", got)
	}
	if r := get(t, c, f.url+"ns/"+id+"/raw?name=missing"); r.StatusCode != http.StatusNotFound {
		t.Errorf("download of a missing key: status %d, want 404", r.StatusCode)
	}
}

func TestKeyPagingAndPrefix(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.namespace(t, "many")
	var pairs []workerskv.BulkPair
	for i := range 25 {
		pairs = append(pairs, workerskv.BulkPair{Key: "user/" + string(rune('a'+i)), Value: []byte("v")})
	}
	pairs = append(pairs, workerskv.BulkPair{Key: "other", Value: []byte("v")})
	if _, err := f.api.Bulk.Put(t.Context(), id, pairs, nil); err != nil {
		t.Fatal(err)
	}
	c := f.loggedIn(t)
	keyRE := regexp.MustCompile(`class="key" href="[^"]*">([^<]*)</a>`)
	var seen []string
	u := f.url + "ns/" + id + "?prefix=user/&limit=10"
	pages := 0
	for u != "" && pages < 10 {
		pages++
		r := get(t, c, u)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", u, r.StatusCode)
		}
		for _, m := range keyRE.FindAllStringSubmatch(r.Body, -1) {
			seen = append(seen, m[1])
		}
		u = ""
		if m := regexp.MustCompile(`href="([^"]*)" id="next-page"`).FindStringSubmatch(r.Body); m != nil {
			u = strings.TrimSuffix(f.url, "/") + strings.ReplaceAll(strings.ReplaceAll(m[1], "&amp;", "&"), "&#43;", "+")
		}
	}
	if pages != 3 || len(seen) != 25 || !slices.IsSorted(seen) || slices.Contains(seen, "other") {
		t.Errorf("%d pages, keys %q; want 3 pages of the 25 user/ keys in order", pages, seen)
	}
}

func TestPutEditAndDeleteWithoutBrowser(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.namespace(t, "ns")
	c := f.loggedIn(t)
	same := map[string]string{"Sec-Fetch-Site": "same-origin"}
	r := post(t, c, f.url+"ns/"+id+"/put", url.Values{"key": {"k"}, "value": {"hello"}, "ttl": {"120"}, "metadata": {`{"a":1}`}}, same)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("put: status %d", r.StatusCode)
	}
	e, err := f.api.KV(id).GetWithMetadata(t.Context(), "k")
	if err != nil {
		t.Fatal(err)
	}
	if string(e.Value) != "hello" || string(e.Metadata) != `{"a":1}` || !e.Expiration.Equal(start.Add(120*time.Second)) {
		t.Errorf("after put: %q %s %v", e.Value, e.Metadata, e.Expiration)
	}
	r = post(t, c, f.url+"ns/"+id+"/key/edit", url.Values{"name": {"k"}, "metadata": {`{"b":2}`}, "expiry": {"never"}}, same)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit: status %d", r.StatusCode)
	}
	e, err = f.api.KV(id).GetWithMetadata(t.Context(), "k")
	if err != nil {
		t.Fatal(err)
	}
	if string(e.Value) != "hello" || string(e.Metadata) != `{"b":2}` || !e.Expiration.IsZero() {
		t.Errorf("after edit: %q %s %v", e.Value, e.Metadata, e.Expiration)
	}
	// Bad input is reported, not written.
	r = post(t, c, f.url+"ns/"+id+"/put", url.Values{"key": {"k"}, "value": {"x"}, "metadata": {`{not json`}}, same)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("bad put: status %d", r.StatusCode)
	}
	page := get(t, c, f.url+r.Header.Get("Location")[1:])
	if !strings.Contains(page.Body, "Metadata must be JSON") {
		t.Errorf("bad metadata not reported:\n%s", page.Body)
	}
	r = post(t, c, f.url+"ns/"+id+"/delete-keys", url.Values{"name": {"k", "absent"}}, same)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: status %d", r.StatusCode)
	}
	if _, err := f.api.KV(id).Get(t.Context(), "k"); !errors.Is(err, workerskv.ErrKeyNotFound) {
		t.Errorf("after delete: %v", err)
	}
}

func TestPutUploadedFile(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.namespace(t, "files")
	c := f.loggedIn(t)
	file := []byte("\x00\x01\x02 binary \xff")
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("key", "blob")
	_ = mw.WriteField("value", "ignored: a file was chosen")
	fw, err := mw.CreateFormFile("file", "blob.bin")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(file)
	_ = mw.Close()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, f.url+"ns/"+id+"/put", &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if r := do(t, c, req); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("upload: status %d", r.StatusCode)
	}
	v, err := f.api.KV(id).Get(t.Context(), "blob")
	if err != nil || !bytes.Equal(v, file) {
		t.Fatalf("stored %q, %v; want %q", v, err, file)
	}
	r := get(t, c, f.url+"now")
	if r.StatusCode != http.StatusOK || r.Body != fmt.Sprintf("{\"now\":%d}\n", start.UnixMilli()) {
		t.Errorf("GET /now: %d %q", r.StatusCode, r.Body)
	}
}

func TestWithPrefix(t *testing.T) {
	t.Parallel()
	clock := emulator.NewFakeClock(start)
	emu := emulator.New(emulator.WithClock(clock))
	x := explorer.New(emu, explorer.WithPrefix("/_kv"), explorer.WithClock(clock))
	mux := http.NewServeMux()
	mux.Handle("/_kv/", x)
	srv := newServer(t, mux)
	c := (&fixture{}).browserless(t)
	r := get(t, c, srv+"/_kv/")
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/_kv/login?next=%2F_kv%2F") {
		t.Fatalf("GET /_kv/: status %d, Location %q", r.StatusCode, r.Header.Get("Location"))
	}
	r = post(t, c, srv+"/_kv/login", url.Values{"token": {emulator.DefaultAPIToken}}, nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/_kv/" || !strings.Contains(r.Header.Get("Set-Cookie"), "Path=/_kv/") {
		t.Fatalf("login: status %d, Location %q, Set-Cookie %q", r.StatusCode, r.Header.Get("Location"), r.Header.Get("Set-Cookie"))
	}
	r = get(t, c, srv+"/_kv/")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `href="/_kv/static/style.css"`) || !strings.Contains(r.Body, `action="/_kv/namespaces"`) {
		t.Errorf("GET /_kv/ after login: status %d\n%s", r.StatusCode, r.Body)
	}
}

func newServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestAwkwardKeys: every key listed links to its own value page and
// download, whatever characters it holds.
func TestAwkwardKeys(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.namespace(t, "awkward")
	keys := []string{"a/b", "a/../b", "q?x=1&y=2", "h#f", "100%", "%2F", "sp ace", "+plus", "ünïcödé", "🙂", ".hidden"}
	for _, k := range keys {
		if err := f.api.KV(id).Put(t.Context(), k, []byte("value of "+k), nil); err != nil {
			t.Fatalf("put %q: %v", k, err)
		}
	}
	c := f.loggedIn(t)
	list := get(t, c, f.url+"ns/"+id)
	links := regexp.MustCompile(`class="key" href="([^"]*)">([^<]*)</a>`).FindAllStringSubmatch(list.Body, -1)
	if len(links) != len(keys) {
		t.Fatalf("%d keys listed, want %d", len(links), len(keys))
	}
	heading := regexp.MustCompile(`id="key-name">([^<]*)</h1>`)
	for _, l := range links {
		href, name := html.UnescapeString(l[1]), html.UnescapeString(l[2])
		page := get(t, c, strings.TrimSuffix(f.url, "/")+href)
		m := heading.FindStringSubmatch(page.Body)
		if page.StatusCode != http.StatusOK || m == nil || html.UnescapeString(m[1]) != name {
			t.Errorf("%q: value page %s gives %d, heading %v", name, href, page.StatusCode, m)
			continue
		}
		raw := get(t, c, strings.TrimSuffix(f.url, "/")+strings.Replace(href, "/key?", "/raw?", 1))
		if raw.Body != "value of "+name {
			t.Errorf("%q: download gives %q", name, raw.Body)
		}
	}
}
