package explorertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// The browser tests drive a real headless Chromium with chromedp. One
// browser serves the whole test binary; each test has its own tab in its own
// browser context (cookies included). Without a browser they skip, except
// under CI (the CI environment variable set), where they fail: .ci/run
// installs Chromium.

// browserNames are the executables looked for on PATH, in order.
var browserNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

var browser struct {
	once   sync.Once
	ctx    context.Context // a chromedp context whose browser is running
	cancel func()
	err    error  // why the browser could not start
	path   string // the executable found, "" for none
}

// screenshots is the directory the browser tests save their screenshots in:
// a new temporary directory per test binary, kept after the tests so the
// pictures can be looked at (its path is logged).
var screenshots struct {
	once sync.Once
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if browser.cancel != nil {
		browser.cancel()
	}
	os.Exit(code)
}

// startBrowser starts the shared browser on first use.
func startBrowser() {
	for _, name := range browserNames {
		if p, err := exec.LookPath(name); err == nil {
			browser.path = p
			break
		}
	}
	if browser.path == "" {
		return
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser.path),
		chromedp.WindowSize(1280, 900),
	)
	if os.Geteuid() == 0 {
		// Chromium refuses to run as root with its sandbox on.
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	browser.ctx = bctx
	browser.cancel = func() { bcancel(); acancel() }
	browser.err = chromedp.Do(bctx) // starts the browser
}

// newTab returns a chromedp context for a new tab in a fresh browser
// context, closed when the test ends. It skips the test when no browser is
// installed, unless CI is set.
func newTab(t *testing.T) context.Context {
	t.Helper()
	browser.once.Do(startBrowser)
	if browser.path == "" {
		msg := fmt.Sprintf("no Chromium found (looked for %s on PATH): install it (apt-get install chromium) to run the browser tests", strings.Join(browserNames, ", "))
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if browser.err != nil {
		t.Fatalf("starting %s: %v", browser.path, browser.err)
	}
	tab, cancel := chromedp.NewContext(browser.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(tab); err != nil { // opens the tab
		t.Fatalf("opening a tab: %v", err)
	}
	ctx, cancelT := context.WithTimeout(tab, 90*time.Second)
	t.Cleanup(cancelT)
	return ctx
}

// run runs browser actions, failing the test with what step it was at.
func run(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// text returns the visible text of the element with id.
func text(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID(id), chromedp.NodeVisible))
	if err != nil {
		t.Fatalf("text of #%s: %v", id, err)
	}
	return s
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// waitText waits until the element with id shows text containing want. It
// polls from Go, so a page that is still navigating (after a click on a
// submit button) is simply asked again.
func waitText(t *testing.T, ctx context.Context, id, want string) {
	t.Helper()
	expr := fmt.Sprintf(`(document.getElementById(%q)||{}).textContent||""`, id)
	var got string
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		got, err = chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err == nil && strings.Contains(got, want) {
			settle(t, ctx)
			return
		}
	}
	t.Fatalf("waiting for #%s to show %q: it shows %q (last error: %v)", id, want, got, err)
}

// waitURL waits until the tab's address contains want: the page a form
// led to has loaded.
func waitURL(t *testing.T, ctx context.Context, want string) {
	t.Helper()
	var got string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState === "complete" ? location.href : ""`))
		if err == nil && strings.Contains(s, want) {
			settle(t, ctx)
			return
		}
		if s != "" {
			got = s
		}
	}
	t.Fatalf("waiting for an address with %q: at %q", want, got)
}

// settleMarks numbers the marks settle leaves on pages.
var settleMarks atomic.Int64

// settle waits until chromedp's own view of the page is the document that
// JavaScript sees. waitText and waitURL poll with JavaScript, which sees a
// new page as soon as it loads; chromedp's node tree follows a moment later,
// when it has handled the browser's DOM.documentUpdated event. A click or
// keystroke sent in that moment goes to a node of the old page and fails
// ("Could not find node with given id"). So settle marks the document from
// JavaScript and waits for chromedp's query to find the mark: the old tree
// cannot have it.
func settle(t *testing.T, ctx context.Context) {
	t.Helper()
	mark := strconv.FormatInt(settleMarks.Add(1), 10)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.setAttribute("data-settled", "`+mark+`"), true`)); err != nil {
		t.Fatalf("marking the page: %v", err)
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, chromedp.WaitReady(chromedp.CSS(`html[data-settled="`+mark+`"]`))); err != nil {
		t.Fatalf("waiting for chromedp to see the page JavaScript sees: %v", err)
	}
}

// screenshot saves a PNG of the whole page and logs where it is.
func screenshot(t *testing.T, ctx context.Context, name, what string) {
	t.Helper()
	screenshots.once.Do(func() {
		screenshots.dir, screenshots.err = os.MkdirTemp("", "kvexplorer-screenshots-")
	})
	if screenshots.err != nil {
		t.Fatalf("screenshot directory: %v", screenshots.err)
	}
	// A page that has just been navigated to may not be laid out yet: wait
	// for it, and try again if the capture fails.
	var png []byte
	var err error
	for try := 0; try < 5; try++ {
		if try > 0 {
			time.Sleep(200 * time.Millisecond)
		}
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		if _, err = chromedp.Run(sctx, chromedp.Poll[bool](`document.readyState === "complete" && document.body.offsetWidth > 0`)); err == nil {
			png, err = chromedp.Run(sctx, chromedp.FullScreenshot(100))
		}
		cancel()
		if err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(screenshots.dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot (%s): %s", what, p)
}

// watchDialogs counts the JavaScript dialogs (alert, confirm, prompt) the
// tab opens, dismissing each.
func watchDialogs(ctx context.Context) *atomic.Int32 {
	var n atomic.Int32
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			n.Add(1)
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	return &n
}

// login logs the tab in through the login form.
func login(t *testing.T, ctx context.Context, f *fixture, token string) {
	t.Helper()
	run(t, ctx, "open the explorer", chromedp.Navigate(f.url), chromedp.WaitVisible(chromedp.ID("token")))
	run(t, ctx, "log in",
		chromedp.SendKeys(chromedp.ID("token"), token),
		chromedp.Click(chromedp.ID("login")),
	)
}
