package emulator_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/workerskv/workerskv/emulator"
)

// rateLimitMessage is Cloudflare's message for code 971.
const rateLimitMessage = "Please wait and consider throttling your request speed"

// wantRateLimit checks the Ratelimit header of rec: remaining r, reset in t seconds.
func wantRateLimit(t *testing.T, rec *httptest.ResponseRecorder, r, secs int) {
	t.Helper()
	want := fmt.Sprintf(`"default";r=%d;t=%d`, r, secs)
	if got := rec.Header().Get("Ratelimit"); got != want {
		t.Fatalf("Ratelimit %q, want %q (status %d)", got, want, rec.Code)
	}
}

// wantThrottled checks a 429 of the account rate limit with Retry-After secs.
func wantThrottled(t *testing.T, rec *httptest.ResponseRecorder, secs int) {
	t.Helper()
	wantError(t, rec, http.StatusTooManyRequests, 971, rateLimitMessage)
	if got := rec.Header().Get("Retry-After"); got != fmt.Sprint(secs) {
		t.Fatalf("Retry-After %q, want %d", got, secs)
	}
	wantRateLimit(t, rec, 0, secs)
}

func TestAPIRateLimitSpendsBudgetThenRefuses(t *testing.T) {
	const n = 6
	h := newHarness(t, emulator.WithAPIRateLimit(n, 5*time.Minute))
	rec := h.doJSON(http.MethodPost, nsBase, `{"title":"limited"}`)
	var ns namespace
	wantOK(t, rec, &ns)
	wantRateLimit(t, rec, n-1, 300)
	if got := rec.Header().Get("Ratelimit-Policy"); got != `"default";q=6;w=300` {
		t.Fatalf("Ratelimit-Policy %q", got)
	}
	if got := rec.Header().Get("Retry-After"); got != "" {
		t.Fatalf("Retry-After %q on a success", got)
	}
	rec = h.do(http.MethodPut, valuePath(ns.ID, "k"), strings.NewReader("v1"))
	wantOK(t, rec, nil)
	wantRateLimit(t, rec, n-2, 300)
	// The reset counts down with the clock: the window started at the first request.
	for i := 3; i <= n; i++ {
		h.clock.Advance(10 * time.Second)
		rec := h.do(http.MethodGet, valuePath(ns.ID, "k"), nil)
		if rec.Code != http.StatusOK || rec.Body.String() != "v1" {
			t.Fatalf("request %d: %d %s", i, rec.Code, rec.Body)
		}
		wantRateLimit(t, rec, n-i, 300-10*(i-2))
	}

	// Request n+1 crosses the limit: the lockout is 5 minutes from now.
	h.clock.Advance(500 * time.Millisecond)
	refused := []*httptest.ResponseRecorder{
		h.do(http.MethodPut, valuePath(ns.ID, "k"), strings.NewReader("v2")),
		h.do(http.MethodDelete, valuePath(ns.ID, "k"), nil),
		h.doJSON(http.MethodPut, bulkPath(ns.ID, ""), `[{"key":"k","value":"v3"},{"key":"other","value":"x"}]`),
		h.doJSON(http.MethodPost, bulkPath(ns.ID, "/delete"), `["k"]`),
		h.doJSON(http.MethodPost, nsBase, `{"title":"second"}`),
		h.doJSON(http.MethodPut, nsBase+"/"+ns.ID, `{"title":"renamed"}`),
		h.do(http.MethodDelete, nsBase+"/"+ns.ID, nil),
		h.do(http.MethodGet, valuePath(ns.ID, "k"), nil),
	}
	for i, rec := range refused {
		t.Logf("refused request %d", i)
		wantThrottled(t, rec, 300)
		if got := rec.Header().Get("Ratelimit-Policy"); got != `"default";q=6;w=300` {
			t.Fatalf("Ratelimit-Policy %q on the 429", got)
		}
	}

	// None of the refused writes changed anything.
	h.clock.Advance(5 * time.Minute)
	if code, body := h.get(ns.ID, "k"); code != http.StatusOK || body != "v1" {
		t.Fatalf("after the lockout: %d %q, want v1", code, body)
	}
	var nss []namespace
	wantOK(t, h.do(http.MethodGet, nsBase, nil), &nss)
	if len(nss) != 1 || nss[0].ID != ns.ID || nss[0].Title != "limited" {
		t.Fatalf("namespaces changed: %+v", nss)
	}
	if keys := h.listAll(ns.ID, ""); len(keys) != 1 || keys[0] != "k" {
		t.Fatalf("keys changed: %q", keys)
	}
}

func TestAPIRateLimitLockoutLastsPerFromTheCrossing(t *testing.T) {
	h := newHarness(t, emulator.WithAPIRateLimit(3, time.Minute))
	for i := range 3 {
		wantRateLimit(t, h.do(http.MethodGet, nsBase, nil), 2-i, 60)
	}
	// Cross the limit 20 s into the window: locked out until 80 s.
	h.clock.Advance(20 * time.Second)
	wantThrottled(t, h.do(http.MethodGet, nsBase, nil), 60)
	// The window ends at 60 s, but the lockout does not.
	h.clock.Advance(40 * time.Second)
	wantThrottled(t, h.do(http.MethodGet, nsBase, nil), 20)
	// Refused requests neither count nor extend the lockout.
	for range 50 {
		wantThrottled(t, h.do(http.MethodGet, nsBase, nil), 20)
	}
	h.clock.Advance(19*time.Second + 999*time.Millisecond)
	wantThrottled(t, h.do(http.MethodGet, nsBase, nil), 1) // 1 ms left, rounded up
	h.clock.Advance(time.Millisecond)
	// The lockout is over: a fresh window starts with this request.
	rec := h.do(http.MethodGet, nsBase, nil)
	wantOK(t, rec, nil)
	wantRateLimit(t, rec, 2, 60)
	if got := rec.Header().Get("Retry-After"); got != "" {
		t.Fatalf("Retry-After %q after the lockout", got)
	}
	wantRateLimit(t, h.do(http.MethodGet, nsBase, nil), 1, 60)
	wantRateLimit(t, h.do(http.MethodGet, nsBase, nil), 0, 60)
	wantThrottled(t, h.do(http.MethodGet, nsBase, nil), 60)
}

func TestAPIRateLimitWindowRefillsWithoutCrossing(t *testing.T) {
	h := newHarness(t, emulator.WithAPIRateLimit(2, 90*time.Second))
	wantRateLimit(t, h.do(http.MethodGet, nsBase, nil), 1, 90)
	h.clock.Advance(89*time.Second + 500*time.Millisecond)
	wantRateLimit(t, h.do(http.MethodGet, nsBase, nil), 0, 1)
	// The window ends 90 s after its first request; the next request opens a
	// new one, whole, starting at that request.
	h.clock.Advance(500 * time.Millisecond)
	wantRateLimit(t, h.do(http.MethodGet, nsBase, nil), 1, 90)
	h.clock.Advance(45 * time.Second)
	wantRateLimit(t, h.do(http.MethodGet, nsBase, nil), 0, 45)
	wantThrottled(t, h.do(http.MethodGet, nsBase, nil), 90)
}

func TestAPIRateLimitSeparateBudgetsPerCredential(t *testing.T) {
	h := newHarness(t, emulator.WithAPIRateLimit(2, time.Minute),
		emulator.WithAPIToken("token-a"), emulator.WithAPIToken("token-b"),
		emulator.WithAPIKey("global-key", "Me@Example.com"))
	a := []string{"Authorization", "Bearer token-a"}
	b := []string{"Authorization", "Bearer token-b"}
	key := []string{"X-Auth-Key", "global-key", "X-Auth-Email", "me@example.com"}
	keyUpper := []string{"X-Auth-Key", "global-key", "X-Auth-Email", "ME@EXAMPLE.COM"}

	wantRateLimit(t, h.do(http.MethodGet, nsBase, nil, a...), 1, 60)
	wantRateLimit(t, h.do(http.MethodGet, nsBase, nil, a...), 0, 60)
	wantThrottled(t, h.do(http.MethodGet, nsBase, nil, a...), 60)
	h.clock.Advance(10 * time.Second)
	// Token b has its own budget and window.
	wantRateLimit(t, h.do(http.MethodGet, nsBase, nil, b...), 1, 60)
	wantThrottled(t, h.do(http.MethodGet, nsBase, nil, a...), 50)
	wantRateLimit(t, h.do(http.MethodGet, nsBase, nil, b...), 0, 60)
	wantThrottled(t, h.do(http.MethodGet, nsBase, nil, b...), 60)
	// The key and email pair is a third credential; the email's case does not
	// make it another one.
	wantRateLimit(t, h.do(http.MethodGet, nsBase, nil, key...), 1, 60)
	wantRateLimit(t, h.do(http.MethodGet, nsBase, nil, keyUpper...), 0, 60)
	wantThrottled(t, h.do(http.MethodGet, nsBase, nil, key...), 60)
	// A request carrying both a token and a key pair spends the token's budget.
	h.clock.Advance(time.Minute)
	both := append(append([]string{}, a...), key...)
	wantRateLimit(t, h.do(http.MethodGet, nsBase, nil, both...), 1, 60)
	wantRateLimit(t, h.do(http.MethodGet, nsBase, nil, a...), 0, 60)
	// The key pair's lockout ended with the minute: a fresh budget.
	wantRateLimit(t, h.do(http.MethodGet, nsBase, nil, key...), 1, 60)
	wantThrottled(t, h.do(http.MethodGet, nsBase, nil, a...), 60)
}

func TestAPIRateLimitHeadersOnEveryResponse(t *testing.T) {
	setup := func(opts ...emulator.Option) (*harness, string) {
		h := newHarness(t, append(opts, emulator.WithAccount(emulator.DefaultAccountID))...)
		ns := h.createNS("headers")
		h.put(ns, "k", "v", "")
		return h, ns
	}
	other := "/client/v4/accounts/not-mine/storage/kv/namespaces"
	requests := func(h *harness, ns string) map[string]*httptest.ResponseRecorder {
		return map[string]*httptest.ResponseRecorder{
			"list namespaces":    h.do(http.MethodGet, nsBase, nil),
			"raw value":          h.do(http.MethodGet, valuePath(ns, "k"), nil),
			"metadata":           h.do(http.MethodGet, metaPath(ns, "k"), nil),
			"write":              h.do(http.MethodPut, valuePath(ns, "k2"), strings.NewReader("v2")),
			"missing key":        h.do(http.MethodGet, valuePath(ns, "nope"), nil),
			"missing namespace":  h.do(http.MethodGet, nsBase+"/0000", nil),
			"bad limit":          h.do(http.MethodGet, keysPath(ns, "?limit=5"), nil),
			"bad body":           h.doJSON(http.MethodPut, bulkPath(ns, ""), `{`),
			"other account":      h.do(http.MethodGet, other, nil),
			"method not allowed": h.do(http.MethodPatch, nsBase, nil),
		}
	}

	// Setup's two requests and the nine counted ones below spend the budget.
	h, ns := setup(emulator.WithAPIRateLimit(11, 5*time.Minute))
	const remaining = 8 // after the first counted one below
	recs := requests(h, ns)
	seen := map[string]bool{}
	for name, rec := range recs {
		got := rec.Header().Get("Ratelimit")
		if name == "method not allowed" {
			// Refused by routing, before authentication: counted nowhere.
			if got != "" || rec.Header().Get("Ratelimit-Policy") != "" {
				t.Fatalf("%s: Ratelimit %q on a request that was never authenticated", name, got)
			}
			continue
		}
		var r int
		if _, err := fmt.Sscanf(got, `"default";r=%d;t=300`, &r); err != nil || r < 0 || r > remaining {
			t.Fatalf("%s (%d): Ratelimit %q", name, rec.Code, got)
		}
		if seen[got] {
			t.Fatalf("%s: remaining %q reported twice", name, got)
		}
		seen[got] = true
		if got := rec.Header().Get("Ratelimit-Policy"); got != `"default";q=11;w=300` {
			t.Fatalf("%s: Ratelimit-Policy %q", name, got)
		}
	}
	if len(seen) != 9 {
		t.Fatalf("%d counted responses", len(seen))
	}
	for name, rec := range recs {
		if name == "other account" && rec.Code != http.StatusForbidden ||
			name == "missing key" && rec.Code != http.StatusNotFound ||
			name == "bad body" && rec.Code != http.StatusBadRequest {
			t.Fatalf("%s: status %d", name, rec.Code)
		}
	}
	wantThrottled(t, h.do(http.MethodGet, nsBase, nil), 300)
	if got := h.do(http.MethodGet, nsBase, nil).Header().Get("Ratelimit-Policy"); got != `"default";q=11;w=300` {
		t.Fatalf("Ratelimit-Policy %q while locked out", got)
	}

	// With the limit off (the default, or a limit of zero or a zero window)
	// no response carries the headers and nothing is ever refused.
	for _, opts := range [][]emulator.Option{
		nil,
		{emulator.WithAPIRateLimit(0, 5*time.Minute)},
		{emulator.WithAPIRateLimit(10, 0)},
		{emulator.WithAPIRateLimit(1, time.Minute), emulator.WithAPIRateLimit(-1, time.Minute)},
	} {
		h, ns := setup(opts...)
		for range 3 {
			for name, rec := range requests(h, ns) {
				if rec.Code == http.StatusTooManyRequests {
					t.Fatalf("%s: 429 with the limit off", name)
				}
				for _, hd := range []string{"Ratelimit", "Ratelimit-Policy", "Retry-After"} {
					if got := rec.Header().Get(hd); got != "" {
						t.Fatalf("%s: %s %q with the limit off", name, hd, got)
					}
				}
			}
		}
	}
}

func TestAPIRateLimitCountsAuthenticatedRequestsOnly(t *testing.T) {
	h := newHarness(t, emulator.WithAPIRateLimit(2, time.Minute))
	uncounted := []*httptest.ResponseRecorder{
		h.do(http.MethodGet, nsBase, nil, noAuth, ""),
		h.do(http.MethodGet, nsBase, nil, "Authorization", "Bearer wrong"),
		h.do(http.MethodGet, "/client/v4/accounts/x/elsewhere", nil),
		h.do(http.MethodPost, nsBase+"/0000/keys", nil),
	}
	want := []struct{ status, code int }{{400, 9106}, {401, 10000}, {400, 7003}, {405, 7001}}
	for i, rec := range uncounted {
		if want[i].code == 7003 {
			wantNoRoute(t, rec, "/accounts/x/elsewhere")
		} else {
			wantError(t, rec, want[i].status, want[i].code, "")
		}
		if got := rec.Header().Get("Ratelimit"); got != "" {
			t.Fatalf("%d: Ratelimit %q on a request counted nowhere", rec.Code, got)
		}
	}
	// Once the budget is spent, those answers stay as they are.
	wantRateLimit(t, h.do(http.MethodGet, nsBase, nil), 1, 60)
	wantRateLimit(t, h.do(http.MethodGet, nsBase, nil), 0, 60)
	wantThrottled(t, h.do(http.MethodGet, nsBase, nil), 60)
	wantError(t, h.do(http.MethodGet, nsBase, nil, noAuth, ""), 400, 9106, "")
	wantError(t, h.do(http.MethodGet, nsBase, nil, "Authorization", "Bearer wrong"), 401, 10000, "")
	wantNoRoute(t, h.do(http.MethodGet, "/client/v4/accounts/x/elsewhere", nil), "/accounts/x/elsewhere")
}

func TestAPIRateLimitConcurrent(t *testing.T) {
	const limit, workers, each = 1000, 64, 50
	h := newHarness(t, emulator.WithAPIRateLimit(limit, 5*time.Minute))
	var ok, throttled atomic.Int64
	var other sync.Map
	var wg sync.WaitGroup
	seen := make([]atomic.Bool, limit) // each remaining value is reported once
	for range workers {
		wg.Go(func() {
			for range each {
				req := httptest.NewRequest(http.MethodGet, nsBase, nil)
				req.Header.Set("Authorization", "Bearer "+emulator.DefaultAPIToken)
				rec := httptest.NewRecorder()
				h.e.ServeHTTP(rec, req)
				switch rec.Code {
				case http.StatusOK:
					ok.Add(1)
					var r int
					if _, err := fmt.Sscanf(rec.Header().Get("Ratelimit"), `"default";r=%d;t=300`, &r); err != nil || r < 0 || r >= limit || seen[r].Swap(true) {
						other.Store("bad Ratelimit "+rec.Header().Get("Ratelimit"), true)
					}
				case http.StatusTooManyRequests:
					throttled.Add(1)
				default:
					other.Store(rec.Code, true)
				}
			}
		})
	}
	wg.Wait()
	other.Range(func(k, _ any) bool {
		t.Errorf("unexpected: %v", k)
		return true
	})
	if ok.Load() != limit || throttled.Load() != workers*each-limit {
		t.Fatalf("%d successes and %d refusals, want %d and %d", ok.Load(), throttled.Load(), limit, workers*each-limit)
	}
}
