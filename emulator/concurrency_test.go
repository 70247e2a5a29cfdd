package emulator_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/workerskv/workerskv/emulator"
)

func TestConcurrentUse(t *testing.T) {
	h := newHarness(t, emulator.WithConsistencyDelay(time.Second))
	nsA, nsB := h.createNS("a"), h.createNS("b")
	const writers, rounds = 8, 60

	var wg sync.WaitGroup
	errs := make(chan string, 1000)
	report := func(format string, args ...any) {
		select {
		case errs <- fmt.Sprintf(format, args...):
		default:
		}
	}
	for w := range writers {
		wg.Go(func() {
			for r := range rounds {
				ns := nsA
				if r%2 == 1 {
					ns = nsB
				}
				key := fmt.Sprintf("w%d/k%d", w, r%10)
				if rec := h.do("PUT", valuePath(ns, key)+"?expiration_ttl=600", strings.NewReader(fmt.Sprint(r))); rec.Code != 200 {
					report("put: %d %s", rec.Code, rec.Body)
				}
				body := fmt.Sprintf(`[{"key":"w%d/bulk%d","value":"x"}]`, w, r%5)
				if rec := h.doJSON("PUT", bulkPath(ns, ""), body); rec.Code != 200 {
					report("bulk: %d %s", rec.Code, rec.Body)
				}
				if r%7 == 0 {
					if rec := h.doJSON("POST", bulkPath(ns, "/delete"), fmt.Sprintf(`["w%d/bulk0"]`, w)); rec.Code != 200 {
						report("bulk delete: %d", rec.Code)
					}
				}
				if rec := h.do("GET", valuePath(ns, key), nil); rec.Code != 200 && rec.Code != 404 {
					report("get: %d", rec.Code)
				}
			}
		})
	}
	for range 4 {
		wg.Go(func() {
			for range rounds {
				for _, ns := range []string{nsA, nsB} {
					if rec := h.do("GET", keysPath(ns, "?limit=10"), nil); rec.Code != 200 {
						report("list: %d", rec.Code)
					}
				}
				if rec := h.doJSON("POST", bulkPath(nsA, "/get"), `{"keys":["w0/k1","w1/k2"],"withMetadata":true}`); rec.Code != 200 {
					report("bulk get: %d", rec.Code)
				}
			}
		})
	}
	// The clock moves, and namespaces come and go, while all that happens.
	wg.Go(func() {
		for i := range rounds {
			h.clock.Advance(100 * time.Millisecond)
			id := h.createNS(fmt.Sprint("temp", i))
			h.put(id, "k", "v", "")
			if rec := h.do("DELETE", nsBase+"/"+id, nil); rec.Code != http.StatusOK {
				report("delete namespace: %d", rec.Code)
			}
			if rec := h.do("GET", nsBase+"?per_page=5", nil); rec.Code != 200 {
				report("list namespaces: %d", rec.Code)
			}
		}
	})
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}

	h.clock.Advance(time.Minute)
	for w := range writers {
		for r := rounds - 10; r < rounds; r++ {
			ns := nsA
			if r%2 == 1 {
				ns = nsB
			}
			key := fmt.Sprintf("w%d/k%d", w, r%10)
			if code, body := h.get(ns, key); code != 200 || body != fmt.Sprint(r) {
				t.Fatalf("%s: %d %q, want %d", key, code, body, r)
			}
		}
	}
	// Each writer leaves 5 kN keys and 5 bulkN keys in each namespace, except
	// bulk0 in a: its last write (round 50) came before its last delete (56).
	if a, b := len(h.listAll(nsA, "?limit=10")), len(h.listAll(nsB, "?limit=10")); a != writers*9 || b != writers*10 {
		t.Fatalf("namespace sizes %d and %d, want %d and %d", a, b, writers*9, writers*10)
	}
}
