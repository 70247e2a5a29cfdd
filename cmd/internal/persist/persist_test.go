package persist_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/workerskv/workerskv/cmd/internal/persist"
	"github.com/workerskv/workerskv/emulator"
)

// openHarness opens a persistent emulator on dir with a FakeClock at start,
// closing it when the test ends (closing twice is safe).
func openHarness(t testing.TB, dir string, start time.Time, opts ...emulator.Option) *harness {
	t.Helper()
	clock := emulator.NewFakeClock(start)
	e, err := persist.Open(dir, append([]emulator.Option{emulator.WithClock(clock)}, opts...)...)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return &harness{t: t, e: e, clock: clock}
}

func (h *harness) close() {
	h.t.Helper()
	if err := h.e.Close(); err != nil {
		h.t.Fatalf("Close: %v", err)
	}
}

// stateDump is everything a client can observe of the default account.
type stateDump struct {
	Namespaces []namespace
	Keys       map[string][]keyEntry // namespace ID -> listed keys, in order
	Values     map[string]string     // "ns/key" -> status, expiration header, body
	Metadata   map[string]string     // "ns/key" -> metadata result
}

func (h *harness) dump() stateDump {
	h.t.Helper()
	d := stateDump{Keys: map[string][]keyEntry{}, Values: map[string]string{}, Metadata: map[string]string{}}
	wantOK(h.t, h.do(http.MethodGet, nsBase+"?per_page=1000", nil), &d.Namespaces)
	for _, ns := range d.Namespaces {
		var all []keyEntry
		cursor := ""
		for {
			q := "?limit=10"
			if cursor != "" {
				q += "&cursor=" + cursor
			}
			keys, info := h.list(ns.ID, q)
			all = append(all, keys...)
			if info.Cursor == "" {
				break
			}
			cursor = info.Cursor
		}
		d.Keys[ns.ID] = all
		for _, k := range all {
			rec := h.do(http.MethodGet, valuePath(ns.ID, k.Name), nil)
			d.Values[ns.ID+"/"+k.Name] = fmt.Sprintf("%d exp=%q %q", rec.Code, rec.Header().Get("Expiration"), rec.Body)
			r := wantOK(h.t, h.do(http.MethodGet, metaPath(ns.ID, k.Name), nil), nil)
			d.Metadata[ns.ID+"/"+k.Name] = string(r.Result)
		}
	}
	return d
}

func TestPersistRoundTrip(t *testing.T) {
	dir := t.TempDir()
	h := openHarness(t, dir, epoch)
	alpha := h.createNS("alpha")
	beta := h.createNS("beta")
	gamma := h.createNS("gamma")
	now := epoch.Unix()

	h.put(alpha, "plain", "one", "")
	h.put(alpha, "dir/sub key", "slashes and spaces", "")
	h.put(alpha, "ttl", "expires", "?expiration_ttl=120")
	h.put(alpha, "abs", "absolute", fmt.Sprintf("?expiration=%d", now+3600))
	h.put(alpha, "short", "gone before reopen", "?expiration_ttl=60")
	h.put(alpha, "empty", "", "")
	h.put(alpha, "doomed", "deleted below", "")
	body, ct := multipartBody(t, []byte{0, 1, 2, 0xff}, true, ptr(`{"owner":"me","n":[1,2]}`))
	wantOK(t, h.do(http.MethodPut, valuePath(alpha, "binary+meta")+"?expiration_ttl=7200", body, "Content-Type", ct), nil)
	wantOK(t, h.do(http.MethodDelete, valuePath(alpha, "doomed"), nil), nil)

	var items []string
	for i := range 40 {
		items = append(items, fmt.Sprintf(`{"key":"k%03d","value":"v%d","metadata":{"i":%d}}`, i, i, i))
	}
	items = append(items,
		fmt.Sprintf(`{"key":"b64","value":%q,"base64":true,"expiration_ttl":600}`, base64.StdEncoding.EncodeToString([]byte("bin\x00ary"))),
		`{"key":"null-meta","value":"n","metadata":null}`,
		`{"key":"k000","value":"last write wins"}`)
	wantOK(t, h.doJSON(http.MethodPut, bulkPath(beta, ""), "["+strings.Join(items, ",")+"]"), nil)
	wantOK(t, h.doJSON(http.MethodPost, bulkPath(beta, "/delete"), `["k001","k002","missing"]`), nil)
	wantOK(t, h.doJSON(http.MethodDelete, bulkPath(beta, ""), `["k003"]`), nil)
	wantOK(t, h.doJSON(http.MethodPut, nsBase+"/"+beta, `{"title":"beta renamed"}`), nil)

	h.put(gamma, "x", "in a deleted namespace", "")
	wantOK(t, h.do(http.MethodDelete, nsBase+"/"+gamma, nil), nil)

	h.clock.Advance(61 * time.Second) // "short" expires
	before := h.dump()
	if got := len(before.Keys[beta]); got != 39 {
		t.Fatalf("beta has %d keys, want 39", got)
	}
	if _, ok := before.Values[alpha+"/short"]; ok {
		t.Fatal("expired key still listed")
	}
	h.close()

	h2 := openHarness(t, dir, h.clock.Now())
	after := h2.dump()
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("state changed across reopen:\nbefore %+v\nafter  %+v", before, after)
	}
	if len(after.Namespaces) != 2 {
		t.Fatalf("namespaces after reopen: %+v", after.Namespaces)
	}
	wantError(t, h2.do(http.MethodGet, nsBase+"/"+gamma, nil), 404, 10013, "namespace not found")
	wantError(t, h2.doJSON(http.MethodPost, nsBase, `{"title":"alpha"}`), 400, 10014, "")
	wantError(t, h2.doJSON(http.MethodPost, nsBase, `{"title":"beta renamed"}`), 400, 10014, "")
	h2.createNS("gamma") // the deleted namespace's title is free
	h2.createNS("beta")  // and so is the old title of the renamed one

	// Expirations keep working after the reopen.
	h2.clock.Advance(60 * time.Second) // 121 s after the writes
	if code, _ := h2.get(alpha, "ttl"); code != 404 {
		t.Fatalf("ttl key after its expiration: %d", code)
	}
	if code, v := h2.get(alpha, "binary+meta"); code != 200 || v != "\x00\x01\x02\xff" {
		t.Fatalf("binary+meta: %d %q", code, v)
	}
	h2.close()

	// And the third generation sees the second's changes.
	h3 := openHarness(t, dir, h2.clock.Now())
	var list []namespace
	wantOK(t, h3.do(http.MethodGet, nsBase+"?order=title", nil), &list)
	var titles []string
	for _, ns := range list {
		titles = append(titles, ns.Title)
	}
	if got := strings.Join(titles, ","); got != "alpha,beta,beta renamed,gamma" {
		t.Fatalf("titles after second reopen: %s", got)
	}
	if code, _ := h3.get(alpha, "ttl"); code != 404 {
		t.Fatalf("expired key came back: %d", code)
	}
}

func TestPersistConsistencyDelay(t *testing.T) {
	dir := t.TempDir()
	delay := emulator.WithConsistencyDelay(30 * time.Second)
	h := openHarness(t, dir, epoch, delay)
	ns := h.createNS("eventual")
	h.put(ns, "k", "v1", "")
	h.put(ns, "gone", "old", "")
	h.clock.Advance(31 * time.Second)
	h.put(ns, "k", "v2", "")
	wantOK(t, h.do(http.MethodDelete, valuePath(ns, "gone"), nil), nil)
	h.close()

	h2 := openHarness(t, dir, h.clock.Now(), delay)
	if code, v := h2.get(ns, "k"); code != 200 || v != "v1" {
		t.Fatalf("before the delay: %d %q, want the previous version", code, v)
	}
	if code, v := h2.get(ns, "gone"); code != 200 || v != "old" {
		t.Fatalf("pending delete: %d %q", code, v)
	}
	h2.clock.Advance(30 * time.Second)
	if code, v := h2.get(ns, "k"); code != 200 || v != "v2" {
		t.Fatalf("after the delay: %d %q", code, v)
	}
	if code, _ := h2.get(ns, "gone"); code != 404 {
		t.Fatalf("delete after the delay: %d", code)
	}
}

func TestPersistAcknowledgedWriteSurvivesClose(t *testing.T) {
	dir := t.TempDir()
	h := openHarness(t, dir, epoch)
	ns := h.createNS("acked")
	rec := h.do(http.MethodPut, valuePath(ns, "k"), strings.NewReader("durable"))
	if rec.Code != http.StatusOK {
		t.Fatalf("write: %d %s", rec.Code, rec.Body)
	}
	h.close()

	// After Close, changes fail with 500 rather than being acknowledged.
	wantError(t, h.do(http.MethodPut, valuePath(ns, "late"), strings.NewReader("x")), 500, 10001, "")
	if err := h.e.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	h2 := openHarness(t, dir, epoch)
	if code, v := h2.get(ns, "k"); code != 200 || v != "durable" {
		t.Fatalf("after reopen: %d %q", code, v)
	}
	if code, _ := h2.get(ns, "late"); code != 404 {
		t.Fatalf("unacknowledged write present: %d", code)
	}
}

func TestPersistConcurrentWrites(t *testing.T) {
	dir := t.TempDir()
	h := openHarness(t, dir, epoch)
	nss := []string{h.createNS("c0"), h.createNS("c1")}
	const workers, perWorker = 8, 20
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				ns := nss[(w+i)%len(nss)]
				key := fmt.Sprintf("w%d-%02d", w, i)
				rec := h.do(http.MethodPut, valuePath(ns, key), strings.NewReader(key))
				if rec.Code != http.StatusOK {
					t.Errorf("put %s: %d %s", key, rec.Code, rec.Body)
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 5 {
			rec := h.doJSON(http.MethodPost, nsBase, fmt.Sprintf(`{"title":"extra%d"}`, i))
			if rec.Code != http.StatusOK {
				t.Errorf("create: %d %s", rec.Code, rec.Body)
			}
		}
	})
	wg.Wait()
	before := h.dump()
	h.close()

	h2 := openHarness(t, dir, epoch)
	after := h2.dump()
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("state changed across reopen:\nbefore %+v\nafter  %+v", before, after)
	}
	total := 0
	for _, ns := range nss {
		total += len(after.Keys[ns])
	}
	if total != workers*perWorker || len(after.Namespaces) != 7 {
		t.Fatalf("%d keys in %d namespaces after reopen", total, len(after.Namespaces))
	}
	for k, v := range after.Values {
		_, key, _ := strings.Cut(k, "/")
		if v != fmt.Sprintf("200 exp=\"\" %q", key) {
			t.Fatalf("%s: %s", k, v)
		}
	}
}

func TestPersistAccounts(t *testing.T) {
	dir := t.TempDir()
	opts := []emulator.Option{emulator.WithAccount(emulator.DefaultAccountID), emulator.WithAccount("other")}
	h := openHarness(t, dir, epoch, opts...)
	mine := h.createNS("same title")
	other := "/client/v4/accounts/other/storage/kv/namespaces"
	var ns namespace
	wantOK(t, h.doJSON(http.MethodPost, other, `{"title":"same title"}`), &ns)
	h.put(mine, "k", "mine", "")
	wantOK(t, h.do(http.MethodPut, other+"/"+ns.ID+"/values/k", strings.NewReader("theirs")), nil)
	h.close()

	h2 := openHarness(t, dir, epoch, opts...)
	if code, v := h2.get(mine, "k"); code != 200 || v != "mine" {
		t.Fatalf("default account: %d %q", code, v)
	}
	rec := h2.do(http.MethodGet, other+"/"+ns.ID+"/values/k", nil)
	if rec.Code != 200 || rec.Body.String() != "theirs" {
		t.Fatalf("other account: %d %s", rec.Code, rec.Body)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	h := openHarness(t, dir, epoch)
	if e, err := persist.Open(dir); err == nil {
		_ = e.Close()
		t.Fatal("a second Open of a directory in use succeeded")
	}
	h.close()

	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := persist.Open(file); err == nil {
		t.Fatal("Open of a file, not a directory, succeeded")
	}
	if _, err := persist.Open(""); err == nil {
		t.Fatal("Open without a directory succeeded")
	}
}
