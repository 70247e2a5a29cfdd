package workerskv_test

import (
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/workerskv/workerskv"
	"github.com/workerskv/workerskv/emulator"
)

// handlerTransport serves requests with an http.Handler in the calling goroutine: no network, so that
// the whole exchange runs inside a synctest bubble, on its clock.
type handlerTransport struct {
	h        http.Handler
	requests atomic.Int64
	refused  atomic.Int64 // 429s
}

func (t *handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.requests.Add(1)
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	if rec.Code == http.StatusTooManyRequests {
		t.refused.Add(1)
	}
	return rec.Result(), nil
}

// serviceWorkload is a service's reads over 5 minutes: 50 goroutines, 100,000 reads, 80% of them of
// 20 hot keys and the rest of 50 keys that do not exist. get reads one key; a read that is refused for
// the rate limit stops the workload.
func serviceWorkload(get func(key string) error) (reads int64, err error) {
	const workers, perWorker = 50, 2000
	pause := 5 * time.Minute / perWorker
	var (
		wg      sync.WaitGroup
		n       atomic.Int64
		errOnce sync.Once
		stop    atomic.Bool
	)
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for range perWorker {
				if stop.Load() {
					return
				}
				key := "hot/" + strconv.Itoa(rng.IntN(20))
				if rng.IntN(5) == 0 {
					key = "missing/" + strconv.Itoa(rng.IntN(50))
				}
				n.Add(1)
				if e := get(key); e != nil && !errors.Is(e, workerskv.ErrKeyNotFound) {
					errOnce.Do(func() { err = e })
					stop.Store(true)
					return
				}
				time.Sleep(pause)
			}
		})
	}
	wg.Wait()
	return n.Load(), err
}

// rateLimitedKV is a handle on a namespace of an emulator that enforces Cloudflare's account limit
// (1,200 requests per 5 minutes), reached in-process, with the 20 hot keys written.
func rateLimitedKV(t *testing.T) (*workerskv.KV, *handlerTransport) {
	t.Helper()
	tr := &handlerTransport{h: emulator.New(emulator.WithAPIRateLimit(1200, 5*time.Minute))}
	c, err := workerskv.NewClient(workerskv.WithAPIToken(emulator.DefaultAPIToken), workerskv.WithAccountID(emulator.DefaultAccountID),
		workerskv.WithBaseURL("http://kv.test/client/v4"), workerskv.WithHTTPClient(&http.Client{Transport: tr}))
	if err != nil {
		t.Fatal(err)
	}
	ns, err := c.Namespaces.Create(t.Context(), "flags")
	if err != nil {
		t.Fatal(err)
	}
	kv := c.KV(ns.ID)
	for i := range 20 {
		if err := kv.Put(t.Context(), "hot/"+strconv.Itoa(i), []byte(`{"on":true}`), nil); err != nil {
			t.Fatal(err)
		}
	}
	return kv, tr
}

// TestCacheKeepsServiceUnderRateLimit: the workload through the cache stays under the limit with a
// few hundred requests; the same workload without the cache is refused with 429.
func TestCacheKeepsServiceUnderRateLimit(t *testing.T) {
	t.Parallel()
	t.Run("through the cache", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			kv, tr := rateLimitedKV(t)
			cache := workerskv.NewCache(kv, nil)
			defer cache.Close()
			before := tr.requests.Load()
			start := time.Now()
			reads, err := serviceWorkload(func(key string) error { _, err := cache.Get(t.Context(), key); return err })
			requests := tr.requests.Load() - before
			t.Logf("through the cache: %d reads over %v, %d API requests, %d refused with 429; %+v",
				reads, time.Since(start).Round(time.Second), requests, tr.refused.Load(), cache.Stats())
			if err != nil || reads != 100_000 {
				t.Fatalf("%d reads, err %v", reads, err)
			}
			if tr.refused.Load() != 0 || requests > 500 {
				t.Errorf("%d requests, %d refused: want at most a few hundred and none refused", requests, tr.refused.Load())
			}
		})
	})
	t.Run("without the cache", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			// The client paces itself from the emulator's Ratelimit header: nothing is refused, but the
			// 5 minutes of reads take hours.
			kv, tr := rateLimitedKV(t)
			start := time.Now()
			reads, err := serviceWorkload(func(key string) error { _, err := kv.Get(t.Context(), key); return err })
			took := time.Since(start)
			t.Logf("without the cache: %d reads over %v, %d API requests, %d refused with 429: %v",
				reads, took.Round(time.Second), tr.requests.Load(), tr.refused.Load(), err)
			if err != nil || tr.refused.Load() != 0 || took < time.Hour {
				t.Fatalf("err = %v, %d refused, %v; want none refused and the workload slowed to the budget", err, tr.refused.Load(), took)
			}
		})
	})
	t.Run("without the cache, deaf to the server", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			kv, tr := rateLimitedKV(t)
			workerskv.IgnoreServerLimits(workerskv.ClientOf(kv))
			reads, err := serviceWorkload(func(key string) error { _, err := kv.Get(t.Context(), key); return err })
			t.Logf("deaf to the server: refused after %d reads, %d API requests, %d refused with 429: %v",
				reads, tr.requests.Load(), tr.refused.Load(), err)
			if !errors.Is(err, workerskv.ErrRateLimited) || tr.refused.Load() == 0 {
				t.Fatalf("err = %v, %d refused; want the workload refused with 429", err, tr.refused.Load())
			}
		})
	})
}
