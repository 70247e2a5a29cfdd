package emulator

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestDecodeKeyInvalidEscape(t *testing.T) {
	for _, seg := range []string{"%zz", "abc%", "%4"} {
		_, err := decodeKey(seg)
		if err == nil || err.status != http.StatusBadRequest || err.code != codeInvalidKey {
			t.Fatalf("decodeKey(%q) = %v, want 400 %d", seg, err, codeInvalidKey)
		}
	}
	if key, err := decodeKey("a%2Fb%2520c"); err != nil || key != "a/b%20c" {
		t.Fatalf("decodeKey decodes once: %q %v", key, err)
	}
}

func TestVersionChains(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tree := newKeyTree()
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	write := func(s int, value string, del bool) {
		applyWrite(tree, keyWrite{key: "k", value: []byte(value), delete: del, visibleFrom: at(s + 10)}, at(s))
	}
	read := func(s int) string {
		it, ok := tree.Get(item{key: "k"})
		if !ok {
			return "<no entry>"
		}
		if v := current(it.head, at(s)); v != nil {
			return string(v.value)
		}
		return "<absent>"
	}
	chainLen := func() int {
		it, _ := tree.Get(item{key: "k"})
		n := 0
		for v := it.head; v != nil; v = v.prev {
			n++
		}
		return n
	}
	write(0, "a", false)
	write(20, "b", false) // a is visible at 20: b's chain keeps only a
	write(22, "c", false)
	if n := chainLen(); n != 3 {
		t.Fatalf("chain of %d versions, want 3", n)
	}
	for s, want := range map[int]string{5: "<absent>", 10: "a", 29: "a", 30: "b", 32: "c"} {
		if got := read(s); got != want {
			t.Fatalf("at %d: %q, want %q", s, got, want)
		}
	}
	write(40, "", true) // c visible at 40: trimmed to [tombstone, c]
	if n := chainLen(); n != 2 {
		t.Fatalf("chain of %d versions after trimming, want 2", n)
	}
	if read(49) != "c" || read(50) != "<absent>" {
		t.Fatalf("delete: %q then %q", read(49), read(50))
	}
	write(60, "", true) // deleting what is already deleted: the entry goes
	if got := read(60); got != "<no entry>" {
		t.Fatalf("after a settled delete: %q", got)
	}
}

// recorder is a journal that keeps what it is given, or fails.
type recorder struct {
	mu   sync.Mutex
	log  []*mutation
	fail bool
}

func (r *recorder) record(m *mutation, apply func()) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("disk full")
	}
	r.log = append(r.log, m)
	if apply != nil {
		apply()
	}
	return nil
}

// replay applies recorded mutations through the same store methods.
func replay(t *testing.T, s *store, log []*mutation) {
	t.Helper()
	for _, m := range log {
		var err error
		switch m.op {
		case opCreateNamespace:
			_, err = s.createNamespace(m.account, m.namespace, m.title)
		case opRenameNamespace:
			_, err = s.renameNamespace(m.account, m.namespace, m.title)
		case opDeleteNamespace:
			err = s.deleteNamespace(m.account, m.namespace)
		case opWriteKeys:
			err = s.writeKeys(m.account, m.namespace, m.at, m.writes)
		}
		if err != nil {
			t.Fatalf("replay %v: %v", m.op, err)
		}
	}
}

func TestJournalSeam(t *testing.T) {
	clock := NewFakeClock(time.Unix(1_800_000_000, 0))
	e := New(WithClock(clock), WithConsistencyDelay(time.Second))
	j := &recorder{}
	e.store.journal = j
	base := "/client/v4/accounts/" + DefaultAccountID + "/storage/kv/namespaces"
	do := func(e *Emulator, method, target, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, target, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+DefaultAPIToken)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec
	}
	ids := map[string]string{}
	for _, title := range []string{"keep", "drop"} {
		rec := do(e, "POST", base, `{"title":"`+title+`"}`)
		ids[title] = rec.Body.String()[strings.Index(rec.Body.String(), `"id":"`)+6:][:32]
	}
	do(e, "PUT", base+"/"+ids["keep"], `{"title":"kept"}`)
	do(e, "DELETE", base+"/"+ids["drop"], "")
	do(e, "PUT", base+"/"+ids["keep"]+"/values/a?expiration_ttl=3600", "1")
	do(e, "PUT", base+"/"+ids["keep"]+"/bulk", `[{"key":"b","value":"2","metadata":{"m":true}},{"key":"c","value":"3"}]`)
	clock.Advance(time.Minute)
	do(e, "DELETE", base+"/"+ids["keep"]+"/values/c", "")
	do(e, "PUT", base+"/"+ids["keep"]+"/values/a", "1 again")
	clock.Advance(time.Minute)
	if len(j.log) != 8 {
		t.Fatalf("%d mutations recorded, want 8", len(j.log))
	}

	// Replaying the journal into an empty store rebuilds the same state.
	e2 := New(WithClock(clock))
	replay(t, e2.store, j.log)
	for _, target := range []string{base, base + "/" + ids["keep"] + "/keys", base + "/" + ids["keep"] + "/values/a", base + "/" + ids["drop"]} {
		a, b := do(e, "GET", target, ""), do(e2, "GET", target, "")
		if a.Code != b.Code || a.Body.String() != b.Body.String() {
			t.Fatalf("%s differs after replay:\n%d %s\n%d %s", target, a.Code, a.Body, b.Code, b.Body)
		}
	}

	// A journal that fails aborts the mutation: 500, and nothing changes.
	j.fail = true
	before := do(e, "GET", base+"/"+ids["keep"]+"/keys", "").Body.String()
	for _, tc := range []struct{ method, target, body string }{
		{"POST", base, `{"title":"new"}`},
		{"PUT", base + "/" + ids["keep"], `{"title":"renamed"}`},
		{"PUT", base + "/" + ids["keep"] + "/values/z", "z"},
		{"DELETE", base + "/" + ids["keep"] + "/values/a", ""},
		{"DELETE", base + "/" + ids["keep"], ""},
	} {
		rec := do(e, tc.method, tc.target, tc.body)
		if rec.Code != 500 || !strings.Contains(rec.Body.String(), `"code":10001`) || strings.Contains(rec.Body.String(), "disk full") {
			t.Fatalf("%s %s with a failing journal: %d %s", tc.method, tc.target, rec.Code, rec.Body)
		}
	}
	if after := do(e, "GET", base+"/"+ids["keep"]+"/keys", "").Body.String(); after != before {
		t.Fatalf("state changed:\n%s\n%s", before, after)
	}
	if rec := do(e, "GET", base+"/"+ids["keep"], ""); !strings.Contains(rec.Body.String(), `"title":"kept"`) {
		t.Fatalf("namespace changed: %s", rec.Body)
	}
}
