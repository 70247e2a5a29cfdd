package explorertest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/workerskv/workerskv"
	"github.com/workerskv/workerskv/emulator"
)

// TestBrowserMainFlow walks through a day's use of the explorer in a real
// browser: log in, create a namespace, put a value with metadata and a TTL,
// find it by prefix, edit its metadata, advance the clock and watch it
// expire, delete keys one at a time and as a selection, delete the
// namespace.
func TestBrowserMainFlow(t *testing.T) {
	f := newFixture(t)
	ctx := newTab(t)
	dialogs := watchDialogs(ctx)

	// A wrong token is refused on the login page.
	run(t, ctx, "open the explorer", chromedp.Navigate(f.url), chromedp.WaitVisible(chromedp.ID("token")))
	screenshot(t, ctx, "01-login", "login page: the API token form")
	login(t, ctx, f, "not-the-token")
	waitText(t, ctx, "login-error", "does not accept that token")
	run(t, ctx, "log in",
		chromedp.SendKeys(chromedp.ID("token"), emulator.DefaultAPIToken),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("create-form")),
	)

	// Create a namespace: the explorer opens its key list.
	run(t, ctx, "create a namespace",
		chromedp.SendKeys(chromedp.ID("new-title"), "settings"),
		chromedp.Click(chromedp.ID("create")),
		chromedp.WaitVisible(chromedp.ID("put-form")),
	)
	if got := text(t, ctx, "ns-title"); got != "settings" {
		t.Fatalf("namespace page title %q", got)
	}
	waitText(t, ctx, "flash", `Created namespace "settings"`)
	nsURL := eval[string](t, ctx, "location.href")

	// Put a JSON value with metadata and a one-hour TTL.
	put := func(key, value, ttl, metadata string) {
		t.Helper()
		steps := []chromedp.Action[chromedp.Void]{
			chromedp.Navigate(nsURL),
			chromedp.WaitVisible(chromedp.ID("put-form")),
		}
		// The fields start empty; fill in those given.
		for _, field := range [][2]string{{"put-key", key}, {"put-value", value}, {"put-ttl", ttl}, {"put-metadata", metadata}} {
			if field[1] != "" {
				steps = append(steps, chromedp.SetValue(chromedp.ID(field[0]), field[1]))
			}
		}
		steps = append(steps, chromedp.Click(chromedp.ID("put")), chromedp.WaitVisible(chromedp.ID("key-name")))
		run(t, ctx, "put "+key, steps...)
		waitText(t, ctx, "flash", "Stored")
	}
	put("theme/dark", `{"background":"#111","accent":"#f38020","sizes":[12,14,16]}`, "3600", `{"owner":"web","rev":1}`)
	if got := text(t, ctx, "key-name"); got != "theme/dark" {
		t.Errorf("value page shows key %q", got)
	}
	if got := text(t, ctx, "value"); !strings.Contains(got, "\n  \"accent\": \"#f38020\",") {
		t.Errorf("value not pretty-printed as JSON:\n%s", got)
	}
	if got := text(t, ctx, "expires"); got != "1h 0m 0s" {
		t.Errorf("countdown shows %q, want 1h 0m 0s", got)
	}
	if got := eval[string](t, ctx, `document.getElementById("edit-metadata").value`); !strings.Contains(got, `"owner": "web"`) {
		t.Errorf("metadata editor holds %q", got)
	}
	put("theme/light", `{"background":"#fff"}`, "", "")
	put("user/1", "alice", "", `{"role":"admin"}`)

	// Find the theme keys by prefix.
	run(t, ctx, "search by prefix",
		chromedp.Navigate(nsURL),
		chromedp.WaitVisible(chromedp.ID("search-form")),
		chromedp.SetValue(chromedp.ID("prefix"), "theme/"),
		chromedp.Click(chromedp.ID("search")),
	)
	waitURL(t, ctx, "prefix=theme%2F")
	if got := eval[[]string](t, ctx, `[...document.querySelectorAll("a.key")].map(a => a.textContent)`); strings.Join(got, ",") != "theme/dark,theme/light" {
		t.Errorf("prefix theme/ lists %q", got)
	}
	if got := eval[string](t, ctx, `document.querySelector(".countdown").textContent`); got != "1h 0m 0s" {
		t.Errorf("list countdown %q", got)
	}
	if got := eval[string](t, ctx, `document.querySelector("code.meta").textContent`); got != `{"owner":"web","rev":1}` {
		t.Errorf("list metadata %q", got)
	}
	screenshot(t, ctx, "03-keys", "key list: prefix search, countdowns, metadata, selection and the put form")

	// Edit the metadata of theme/dark, keeping its expiration.
	run(t, ctx, "open theme/dark",
		chromedp.Click(chromedp.CSS(`a.key`)),
		chromedp.WaitVisible(chromedp.ID("edit-form")),
		chromedp.SetValue(chromedp.ID("edit-metadata"), `{"owner":"design","rev":2}`),
		chromedp.Click(chromedp.ID("save")),
	)
	waitText(t, ctx, "flash", "Saved the metadata")
	if got := eval[string](t, ctx, `document.getElementById("edit-metadata").value`); !strings.Contains(got, `"owner": "design"`) {
		t.Errorf("metadata after edit %q", got)
	}
	meta, err := f.api.KV(mustID(t, nsURL)).Metadata(t.Context(), "theme/dark")
	if err != nil || string(meta) != `{"owner":"design","rev":2}` {
		t.Errorf("metadata through the API after edit: %s, %v", meta, err)
	}
	screenshot(t, ctx, "04-value-json", "value page: pretty-printed JSON, metadata editor, expiration countdown, download link")

	// Advance the emulator's clock from the page, then watch the key expire
	// as the clock moves on: the countdown follows the emulator's clock.
	run(t, ctx, "advance the clock by 59m",
		chromedp.SetValue(chromedp.ID("advance-by"), "59m"),
		chromedp.Click(chromedp.ID("advance")),
	)
	waitText(t, ctx, "flash", "Advanced the clock by 59m0s")
	waitText(t, ctx, "expires", "1m 0s")
	f.clock.Advance(61 * time.Second)
	waitText(t, ctx, "expires", "expired")
	waitText(t, ctx, "clock", "10:30:01 UTC")
	run(t, ctx, "reload the key list", chromedp.Navigate(nsURL+"?prefix=theme%2F"), chromedp.WaitVisible(chromedp.ID("search-form")))
	if got := eval[[]string](t, ctx, `[...document.querySelectorAll("a.key")].map(a => a.textContent)`); strings.Join(got, ",") != "theme/light" {
		t.Errorf("after expiry, prefix theme/ lists %q", got)
	}

	// Delete theme/light from its page.
	run(t, ctx, "delete theme/light",
		chromedp.Click(chromedp.CSS(`a.key`)),
		chromedp.WaitVisible(chromedp.ID("edit-form")),
		chromedp.Click(chromedp.CSS(`details.danger summary`)),
		chromedp.Click(chromedp.ID("delete-key"), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.ID("search-form")),
	)
	waitText(t, ctx, "flash", `Deleted key "theme/light"`)

	// Delete the rest as a selection.
	put("user/2", "bob", "", "")
	run(t, ctx, "select every key and delete",
		chromedp.Navigate(nsURL),
		chromedp.WaitVisible(chromedp.ID("select-all")),
		chromedp.Click(chromedp.ID("select-all")),
		chromedp.Click(chromedp.ID("delete-selected")),
	)
	waitText(t, ctx, "flash", "Deleted 2 keys")
	waitText(t, ctx, "no-keys", "No keys")

	// Rename and delete the namespace from the list.
	run(t, ctx, "rename the namespace",
		chromedp.Navigate(f.url),
		chromedp.WaitVisible(chromedp.ID("namespaces")),
		chromedp.SetValue(chromedp.CSS(`#namespaces input[name=title]`), "settings-old"),
		chromedp.Click(chromedp.CSS(`#namespaces button[type=submit]`)),
	)
	waitText(t, ctx, "flash", `Renamed the namespace to "settings-old"`)
	screenshot(t, ctx, "02-namespaces", "namespace list: create, rename and delete")
	run(t, ctx, "delete the namespace",
		chromedp.Click(chromedp.CSS(`#namespaces details summary`)),
		chromedp.Click(chromedp.CSS(`#namespaces details button`), chromedp.NodeVisible),
	)
	waitText(t, ctx, "flash", "Deleted namespace")
	p, err := f.api.Namespaces.List(t.Context(), nil)
	if err != nil || len(p.Namespaces) != 0 {
		t.Errorf("namespaces left: %v, %v", p, err)
	}
	if n := dialogs.Load(); n != 0 {
		t.Errorf("%d JavaScript dialogs opened", n)
	}
}

// mustID returns the namespace ID of a key list URL.
func mustID(t *testing.T, nsURL string) string {
	t.Helper()
	u, err := url.Parse(nsURL)
	if err != nil {
		t.Fatal(err)
	}
	id, ok := strings.CutPrefix(u.Path, "/ns/")
	if !ok {
		t.Fatalf("not a namespace URL: %s", nsURL)
	}
	return id
}

// TestBrowserBinaryValueAsHex: a value that is not text is shown as a hex
// dump, with a download link, and can be switched to the text view.
func TestBrowserBinaryValueAsHex(t *testing.T) {
	f := newFixture(t)
	id := f.namespace(t, "assets")
	value := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 24)...)
	for i := range 24 {
		value[8+i] = byte(i * 11)
	}
	if err := f.api.KV(id).Put(t.Context(), "img/logo.png", value, &workerskv.PutOptions{Metadata: map[string]string{"type": "image/png"}}); err != nil {
		t.Fatal(err)
	}
	ctx := newTab(t)
	login(t, ctx, f, emulator.DefaultAPIToken)
	run(t, ctx, "open the binary value",
		chromedp.WaitVisible(chromedp.ID("namespaces")),
		chromedp.Navigate(f.url+"ns/"+id+"/key?name="+url.QueryEscape("img/logo.png")),
		chromedp.WaitVisible(chromedp.ID("value")),
	)
	if got := eval[string](t, ctx, `document.querySelector("#views .current").textContent`); got != "Hex" {
		t.Errorf("binary value opens in the %q view, want Hex", got)
	}
	dump := text(t, ctx, "value")
	if !strings.HasPrefix(dump, "00000000  89 50 4e 47 0d 0a 1a 0a  00 0b 16 21 2c 37 42 4d  |.PNG.......!,7BM|") {
		t.Errorf("hex dump:\n%s", dump)
	}
	if got := eval[string](t, ctx, `document.getElementById("download").getAttribute("href")`); got != "/ns/"+id+"/raw?name=img%2Flogo.png" {
		t.Errorf("download link %q", got)
	}
	screenshot(t, ctx, "05-value-hex", "value page: a binary value as a hex dump")
	run(t, ctx, "switch to the text view", chromedp.Click(chromedp.ID("view-text")), chromedp.WaitVisible(chromedp.CSS(`#view-text.current`)))
	if got := text(t, ctx, "value"); !strings.HasPrefix(got, "\uFFFDPNG") {
		t.Errorf("text view of binary value: %q", got)
	}
}

// TestBrowserHostileKeyShownAsText: a key, value, metadata and namespace
// title made of markup are shown as text, and nothing in them runs.
func TestBrowserHostileKeyShownAsText(t *testing.T) {
	f := newFixture(t)
	id := f.namespace(t, hostileTitle)
	if err := f.api.KV(id).Put(t.Context(), hostileKey, []byte(hostileValue), &workerskv.PutOptions{Metadata: json.RawMessage(hostileMeta)}); err != nil {
		t.Fatal(err)
	}
	ctx := newTab(t)
	dialogs := watchDialogs(ctx)
	login(t, ctx, f, emulator.DefaultAPIToken)
	run(t, ctx, "namespace list", chromedp.WaitVisible(chromedp.ID("namespaces")))
	check := func(page string) {
		t.Helper()
		if got := eval[int](t, ctx, `document.querySelectorAll("img").length + document.querySelectorAll("script:not([src])").length`); got != 0 {
			t.Errorf("%s: %d injected img or inline script elements", page, got)
		}
		if got := eval[bool](t, ctx, `typeof window.__xss !== "undefined"`); got {
			t.Errorf("%s: injected script ran", page)
		}
	}
	if got := eval[string](t, ctx, `document.querySelector("a.ns-title").textContent`); got != hostileTitle {
		t.Errorf("namespace title shown as %q", got)
	}
	check("namespace list")
	run(t, ctx, "key list", chromedp.Click(chromedp.CSS("a.ns-title")), chromedp.WaitVisible(chromedp.ID("keys")))
	if got := eval[string](t, ctx, `document.querySelector("a.key").textContent`); got != hostileKey {
		t.Errorf("key shown as %q", got)
	}
	if got := eval[string](t, ctx, `document.querySelector("input.select").value`); got != hostileKey {
		t.Errorf("selection box holds %q", got)
	}
	check("key list")
	run(t, ctx, "value page", chromedp.Click(chromedp.CSS("a.key")), chromedp.WaitVisible(chromedp.ID("value")))
	if got := text(t, ctx, "key-name"); got != hostileKey {
		t.Errorf("value page heading %q", got)
	}
	if got := text(t, ctx, "value"); got != hostileValue {
		t.Errorf("value shown as %q", got)
	}
	if got := eval[string](t, ctx, `document.getElementById("edit-metadata").value`); !strings.Contains(got, `"note": "<img src=y onerror=window.__xss=3>"`) {
		t.Errorf("metadata shown as %q", got)
	}
	if got := eval[string](t, ctx, `document.title`); !strings.HasPrefix(got, hostileKey) {
		t.Errorf("document title %q", got)
	}
	check("value page")
	screenshot(t, ctx, "06-hostile-key", "value page: a key named <img src=x onerror=alert(1)> and a <script> value, shown as text")
	// Saving the metadata round-trips it unchanged.
	run(t, ctx, "save", chromedp.Click(chromedp.ID("save")))
	waitText(t, ctx, "flash", "Saved the metadata")
	check("value page after saving")
	var got, want any
	meta, err := f.api.KV(id).Metadata(t.Context(), hostileKey)
	if err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(meta, &got)
	_ = json.Unmarshal([]byte(hostileMeta), &want)
	if gj, _ := json.Marshal(got); string(gj) != mustJSON(t, want) {
		t.Errorf("metadata after saving %s, want %s", meta, hostileMeta)
	}
	if n := dialogs.Load(); n != 0 {
		t.Errorf("%d JavaScript dialogs opened", n)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestBrowserCrossSiteFormRefused: a page on another site that posts a form
// to the explorer (while the user is logged in) is refused, and changes
// nothing.
func TestBrowserCrossSiteFormRefused(t *testing.T) {
	f := newFixture(t)
	ctx := newTab(t)
	login(t, ctx, f, emulator.DefaultAPIToken)
	run(t, ctx, "logged in", chromedp.WaitVisible(chromedp.ID("create-form")))

	target := f.url + "namespaces"
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><form id="f" method="post" action="` + target + `">` +
			`<input name="title" value="planted"></form><script>document.getElementById("f").submit()</script>`))
	}))
	t.Cleanup(evil.Close)
	// The explorer is at 127.0.0.1; the same server as "localhost" is
	// another site to the browser.
	evilURL := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)
	run(t, ctx, "visit the other site", chromedp.Navigate(evilURL))
	var body string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		body = eval[string](t, ctx, `location.href + " " + document.body.innerText`)
		if strings.HasPrefix(body, target) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.HasPrefix(body, target) || !strings.Contains(body, "cross-origin request refused") {
		t.Errorf("after the cross-site post the browser shows %q, want the explorer's refusal", body)
	}
	screenshot(t, ctx, "07-cross-site-refused", "a form posted from another site, refused with 403")
	p, err := f.api.Namespaces.List(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Namespaces) != 0 {
		t.Errorf("the cross-site post created %v", p.Namespaces)
	}
}
