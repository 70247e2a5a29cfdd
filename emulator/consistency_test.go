package emulator_test

import (
	"slices"
	"testing"
	"time"

	"github.com/workerskv/workerskv/emulator"
)

func TestConsistencyDelay(t *testing.T) {
	const delay = time.Minute
	h := newHarness(t, emulator.WithConsistencyDelay(delay))
	ns := h.createNS("eventual") // namespaces are immediate

	read := func(key string) string {
		t.Helper()
		code, body := h.get(ns, key)
		switch code {
		case 200:
			return body
		case 404:
			return "<absent>"
		}
		t.Fatalf("get %s: %d %s", key, code, body)
		return ""
	}

	h.put(ns, "k", "v1", "")
	if got := read("k"); got != "<absent>" {
		t.Fatalf("new write visible at once: %q", got)
	}
	if names := h.listAll(ns, ""); len(names) != 0 {
		t.Fatalf("pending key listed: %v", names)
	}
	h.clock.Advance(delay - time.Second)
	if got := read("k"); got != "<absent>" {
		t.Fatalf("visible early: %q", got)
	}
	h.clock.Advance(time.Second)
	if got := read("k"); got != "v1" {
		t.Fatalf("after the delay: %q", got)
	}

	// Overwrites queue up: each becomes visible a delay after it was made.
	h.put(ns, "k", "v2", "")
	h.clock.Advance(10 * time.Second)
	h.put(ns, "k", "v3", "")
	h.clock.Advance(10 * time.Second)
	wantOK(t, h.do("DELETE", valuePath(ns, "k"), nil), nil)
	steps := []struct {
		at   time.Duration // since the v2 write
		want string
	}{{20 * time.Second, "v1"}, {59 * time.Second, "v1"}, {60 * time.Second, "v2"}, {70 * time.Second, "v3"}, {79 * time.Second, "v3"}, {80 * time.Second, "<absent>"}}
	start := h.clock.Now().Add(-20 * time.Second)
	for _, s := range steps {
		h.clock.Set(start.Add(s.at))
		if got := read("k"); got != s.want {
			t.Fatalf("at +%v: %q, want %q", s.at, got, s.want)
		}
	}

	// Bulk writes and deletes are delayed too; metadata and lists follow the
	// visible version.
	wantOK(t, h.doJSON("PUT", bulkPath(ns, ""), `[{"key":"a","value":"1","metadata":{"v":1}},{"key":"b","value":"1"}]`), nil)
	h.clock.Advance(delay)
	wantOK(t, h.doJSON("PUT", bulkPath(ns, ""), `[{"key":"a","value":"2","metadata":{"v":2}}]`), nil)
	wantOK(t, h.doJSON("POST", bulkPath(ns, "/delete"), `["b"]`), nil)
	r := wantOK(t, h.do("GET", metaPath(ns, "a"), nil), nil)
	if string(r.Result) != `{"v":1}` {
		t.Fatalf("metadata before the delay: %s", r.Result)
	}
	if names := h.listAll(ns, ""); !slices.Equal(names, []string{"a", "b"}) {
		t.Fatalf("listed before the delay: %v", names)
	}
	bulk := wantOK(t, h.doJSON("POST", bulkPath(ns, "/get"), `{"keys":["a","b"]}`), nil)
	if string(bulk.Result) != `{"values":{"a":"1","b":"1"}}` {
		t.Fatalf("bulk get before the delay: %s", bulk.Result)
	}
	h.clock.Advance(delay)
	r = wantOK(t, h.do("GET", metaPath(ns, "a"), nil), nil)
	if string(r.Result) != `{"v":2}` || read("a") != "2" || read("b") != "<absent>" {
		t.Fatalf("after the delay: metadata %s, a %q, b %q", r.Result, read("a"), read("b"))
	}
	if names := h.listAll(ns, ""); !slices.Equal(names, []string{"a"}) {
		t.Fatalf("listed after the delay: %v", names)
	}
}

func TestConsistencyDelayWithExpiration(t *testing.T) {
	h := newHarness(t, emulator.WithConsistencyDelay(30*time.Second))
	ns := h.createNS("eventual-expiring")
	h.put(ns, "k", "old", "?expiration_ttl=60")
	h.clock.Advance(40 * time.Second)
	h.put(ns, "k", "new", "")
	h.clock.Advance(20 * time.Second) // old has expired, new is not visible yet
	if code, _ := h.get(ns, "k"); code != 404 {
		t.Fatalf("expired previous version still readable: %d", code)
	}
	h.clock.Advance(10 * time.Second)
	if code, body := h.get(ns, "k"); code != 200 || body != "new" {
		t.Fatalf("new version: %d %q", code, body)
	}
}
