package workerskv_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/workerskv/workerskv"
)

// sequence answers the n-th request with rs[n], and every later one with the last of rs.
func sequence(n *atomic.Int32, rs ...httpmock.Responder) httpmock.Responder {
	return func(req *http.Request) (*http.Response, error) {
		i := int(n.Add(1)) - 1
		return rs[min(i, len(rs)-1)](req)
	}
}

// v1, v2: bulk get answers for key k (and a, b).
var (
	v1 = bulkResponder(values(map[string]string{"k": "v1", "a": "a1", "b": "b1"}))
	v2 = bulkResponder(values(map[string]string{"k": "v2", "a": "a2", "b": "b2"}))
)

// wantValue reads key through cache and fails the test unless it gets want.
func wantValue(t *testing.T, cache *workerskv.Cache, key, want string) {
	t.Helper()
	if v, err := cache.Get(t.Context(), key); err != nil || string(v) != want {
		t.Fatalf("Get(%s) = %q, %v; want %q", key, v, err, want)
	}
}

// TestCacheStaleIfError: past its TTL, a value whose reload fails with a 5xx, a 429, a connection
// reset or a broken answer is served stale and counted; it is not reloaded again for a few seconds,
// then it is, and the new value is served.
func TestCacheStaleIfError(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		failure httpmock.Responder
		recover time.Duration // when the reload is tried again
	}{
		{"500", jsonResponder(500, failure(10001, "boom")), 6 * time.Second},
		{"502 not JSON", withHeader(502, "<html>bad gateway</html>", "Content-Type", "text/html"), 6 * time.Second},
		{"429", withHeader(429, failure(971, "Please wait and consider throttling your request speed"), "Retry-After", "30"), 31 * time.Second},
		{"connection reset", httpmock.ConnectionFailure, 6 * time.Second},
		{"truncated", jsonResponder(200, `{"success":true,"result":{"values":{"k":{"val`), 6 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				cache, m := cacheOn(t, &workerskv.CacheOptions{TTL: time.Minute}, workerskv.WithMaxRetries(workerskv.NoRetries))
				var n atomic.Int32
				m.on("POST", vkBulkGetURL, sequence(&n, v1, tc.failure, v2))
				wantValue(t, cache, "k", "v1")
				time.Sleep(61 * time.Second)
				wantValue(t, cache, "k", "v1") // the reload fails: stale
				if n.Load() != 2 || cache.Stats().Stale != 1 {
					t.Fatalf("%d requests, stats %+v; want the failed reload and one stale read", n.Load(), cache.Stats())
				}
				wantValue(t, cache, "k", "v1") // not tried again at once
				if n.Load() != 2 || cache.Stats().Stale != 2 {
					t.Fatalf("%d requests, stats %+v; want no new request and two stale reads", n.Load(), cache.Stats())
				}
				time.Sleep(tc.recover)
				wantValue(t, cache, "k", "v2")
				if s := cache.Stats(); n.Load() != 3 || s.Stale != 2 || s.Hits != 0 || s.Misses != 4 {
					t.Errorf("%d requests, stats %+v; want 3 requests, 2 stale reads, 4 misses", n.Load(), s)
				}
			})
		})
	}
}

// TestCacheNotStaleOn4xx: a reload refused with a 4xx is an answer, not an outage: its error is
// returned; a key deleted in KV is missing at once, never served stale.
func TestCacheNotStaleOn4xx(t *testing.T) {
	t.Parallel()
	for name, r := range map[string]httpmock.Responder{
		"403":                 jsonResponder(403, failure(10000, "Authentication error")),
		"namespace not found": jsonResponder(404, failure(10013, "bulk get keys: 'namespace not found'")),
		"400":                 jsonResponder(400, failure(10001, "bad request")),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				cache, m := cacheOn(t, &workerskv.CacheOptions{TTL: time.Minute})
				var n atomic.Int32
				m.on("POST", vkBulkGetURL, sequence(&n, v1, r))
				wantValue(t, cache, "k", "v1")
				time.Sleep(61 * time.Second)
				_, err := cache.Get(t.Context(), "k")
				if e, ok := errors.AsType[*workerskv.APIError](err); !ok || e.StatusCode >= 500 || e.StatusCode < 400 {
					t.Fatalf("err = %v, want the 4xx", err)
				}
				if s := cache.Stats(); s.Stale != 0 {
					t.Errorf("stats %+v: served stale", s)
				}
			})
		})
	}
	t.Run("deleted", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			cache, m := cacheOn(t, &workerskv.CacheOptions{TTL: time.Minute})
			var n atomic.Int32
			m.on("POST", vkBulkGetURL, sequence(&n, v1, bulkResponder(values(nil))))
			wantValue(t, cache, "k", "v1")
			time.Sleep(61 * time.Second)
			for range 2 {
				if _, err := cache.Get(t.Context(), "k"); !errors.Is(err, workerskv.ErrKeyNotFound) {
					t.Fatalf("err = %v, want ErrKeyNotFound", err)
				}
			}
			if s := cache.Stats(); s.Stale != 0 || n.Load() != 2 {
				t.Errorf("%d requests, stats %+v; want 2 requests and the key remembered as missing", n.Load(), s)
			}
		})
	})
}

// TestCacheStaleCallerContext: a reader whose context ends while the reload runs gets its context's
// error, not the stale value; the reload goes on for the other readers.
func TestCacheStaleCallerContext(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		cache, m := cacheOn(t, &workerskv.CacheOptions{TTL: time.Minute})
		var n atomic.Int32
		release := make(chan struct{})
		m.on("POST", vkBulkGetURL, sequence(&n, v1, func(req *http.Request) (*http.Response, error) {
			<-release
			return v2(req)
		}))
		wantValue(t, cache, "k", "v1")
		time.Sleep(61 * time.Second)
		done, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := cache.Get(done, "k"); !errors.Is(err, context.Canceled) {
			t.Fatalf("Get with a done context: %v, want context.Canceled", err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		if _, err := cache.Get(ctx, "k"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Get past its deadline: %v, want context.DeadlineExceeded", err)
		}
		close(release)
		wantValue(t, cache, "k", "v2")
		if s := cache.Stats(); s.Stale != 0 || n.Load() != 2 {
			t.Errorf("%d requests, stats %+v; want one reload, nothing stale", n.Load(), s)
		}
	})
}

// TestCacheMaxStale: a value is served stale for MaxStale past its TTL (5 minutes by default), and not
// after; a negative MaxStale turns stale serving off.
func TestCacheMaxStale(t *testing.T) {
	t.Parallel()
	boom := jsonResponder(503, failure(10001, "unavailable"))
	for _, tc := range []struct {
		name     string
		maxStale time.Duration
		within   time.Duration // past the TTL, still served stale; 0: not served at all
	}{
		{"default", 0, 5*time.Minute - time.Second},
		{"30s", 30 * time.Second, 29 * time.Second},
		{"off", -1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				cache, m := cacheOn(t, &workerskv.CacheOptions{TTL: time.Minute, MaxStale: tc.maxStale}, workerskv.WithMaxRetries(workerskv.NoRetries))
				var n atomic.Int32
				m.on("POST", vkBulkGetURL, sequence(&n, v1, boom))
				wantValue(t, cache, "k", "v1")
				time.Sleep(time.Minute + tc.within)
				if tc.within > 0 {
					wantValue(t, cache, "k", "v1")
					time.Sleep(2 * time.Second) // now past MaxStale
				}
				if _, err := cache.Get(t.Context(), "k"); !hasStatus(err, 503) {
					t.Fatalf("past MaxStale: %v, want the 503", err)
				}
			})
		})
	}
}

// hasStatus reports whether err is an *APIError with the given status.
func hasStatus(err error, status int) bool {
	e, ok := errors.AsType[*workerskv.APIError](err)
	return ok && e.StatusCode == status
}

// TestCacheStaleNotPastExpiration: a value is never served past the moment its key expires in KV,
// stale or not.
func TestCacheStaleNotPastExpiration(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		cache, m := cacheOn(t, &workerskv.CacheOptions{TTL: time.Minute}, workerskv.WithMaxRetries(workerskv.NoRetries))
		expires := time.Now().Add(90 * time.Second).Unix()
		var n atomic.Int32
		m.on("POST", vkBulkGetURL, sequence(&n,
			bulkResponder(func(string) *kvItem { return &kvItem{Value: "v1", Expiration: expires} }),
			jsonResponder(500, failure(10001, "boom"))))
		wantValue(t, cache, "k", "v1")
		time.Sleep(61 * time.Second)
		wantValue(t, cache, "k", "v1") // stale, before the key expires
		time.Sleep(30 * time.Second)   // the key has expired
		if _, err := cache.Get(t.Context(), "k"); !hasStatus(err, 500) {
			t.Fatalf("past the key's expiration: %v, want the 500", err)
		}
	})
}

// TestCacheStaleDuringLockout: while the client is locked out by the rate limit, a read past the TTL
// is answered with the stale value at once, sending nothing; a read of a key with no value kept goes
// to the client, which refuses it; when the lockout ends, values are reloaded.
func TestCacheStaleDuringLockout(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		cache, m := cacheOn(t, &workerskv.CacheOptions{TTL: time.Minute})
		var n atomic.Int32
		m.on("POST", vkBulkGetURL, sequence(&n, v1,
			withHeader(429, failure(971, "Please wait and consider throttling your request speed"), "Retry-After", "300"), v2))
		var wg sync.WaitGroup
		for _, k := range []string{"a", "b"} {
			wg.Go(func() { wantValue(t, cache, k, k+"1") })
		}
		wg.Wait()
		time.Sleep(61 * time.Second)
		wantValue(t, cache, "a", "a1") // refused with 429: stale, and the client is locked out
		start := time.Now()
		wantValue(t, cache, "b", "b1")
		if n.Load() != 2 || time.Since(start) != 0 {
			t.Fatalf("%d requests, %v: want b served stale at once, nothing sent", n.Load(), time.Since(start))
		}
		if _, err := cache.Get(t.Context(), "c"); !errors.Is(err, workerskv.ErrRateLimited) || n.Load() != 2 {
			t.Fatalf("a miss during the lockout: %v, %d requests; want the client's refusal, nothing sent", err, n.Load())
		}
		if s := cache.Stats(); s.Stale != 2 {
			t.Errorf("stats %+v, want 2 stale reads", s)
		}
		time.Sleep(5*time.Minute + time.Second)
		wantValue(t, cache, "b", "b2")
	})
}

// TestCacheStaleSharedReload: concurrent reads of a value past its TTL share one reload.
func TestCacheStaleSharedReload(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		cache, m := cacheOn(t, &workerskv.CacheOptions{TTL: time.Minute})
		var n atomic.Int32
		m.on("POST", vkBulkGetURL, sequence(&n, v1, v2))
		wantValue(t, cache, "k", "v1")
		time.Sleep(61 * time.Second)
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() { wantValue(t, cache, "k", "v2") })
		}
		wg.Wait()
		if n.Load() != 2 {
			t.Errorf("%d requests, want 2", n.Load())
		}
	})
}

// TestCacheStaleMissing: a key found missing is served as missing past NegativeTTL when it cannot be
// read again, like a value.
func TestCacheStaleMissing(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		cache, m := cacheOn(t, &workerskv.CacheOptions{TTL: time.Minute, NegativeTTL: 10 * time.Second}, workerskv.WithMaxRetries(workerskv.NoRetries))
		var n atomic.Int32
		m.on("POST", vkBulkGetURL, sequence(&n, bulkResponder(values(nil)), jsonResponder(500, failure(10001, "boom"))))
		for range 2 {
			if _, err := cache.Get(t.Context(), "gone"); !errors.Is(err, workerskv.ErrKeyNotFound) {
				t.Fatalf("err = %v, want ErrKeyNotFound", err)
			}
			time.Sleep(11 * time.Second)
		}
		if s := cache.Stats(); n.Load() != 2 || s.Stale != 1 {
			t.Errorf("%d requests, stats %+v; want the failed reload answered stale", n.Load(), s)
		}
	})
}

// TestCacheStaleRefreshAhead: a reload ahead that fails leaves the value served until its TTL ends,
// and is not tried again on every read; past the TTL, a failed reload serves the value stale.
func TestCacheStaleRefreshAhead(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		cache, m := cacheOn(t, &workerskv.CacheOptions{TTL: time.Minute, RefreshAhead: 20 * time.Second}, workerskv.WithMaxRetries(workerskv.NoRetries))
		var n atomic.Int32
		m.on("POST", vkBulkGetURL, sequence(&n, v1, jsonResponder(500, failure(10001, "boom"))))
		wantValue(t, cache, "k", "v1")
		time.Sleep(45 * time.Second)
		for range 3 { // the first starts a reload ahead, which fails
			wantValue(t, cache, "k", "v1")
			time.Sleep(time.Second)
		}
		if s := cache.Stats(); n.Load() != 2 || s.Stale != 0 {
			t.Fatalf("%d requests, stats %+v; want one reload ahead, nothing stale", n.Load(), s)
		}
		time.Sleep(5 * time.Second)
		wantValue(t, cache, "k", "v1") // tried again after a few seconds
		time.Sleep(time.Second)
		if n.Load() != 3 {
			t.Fatalf("%d requests, want the reload ahead tried again", n.Load())
		}
		time.Sleep(10 * time.Second) // past the TTL
		wantValue(t, cache, "k", "v1")
		if s := cache.Stats(); n.Load() != 4 || s.Stale != 1 {
			t.Errorf("%d requests, stats %+v; want a reload past the TTL answered stale", n.Load(), s)
		}
	})
}

// TestCacheStaleAfterClose: after Close a value past its TTL is reloaded by the reader itself, and
// served stale when that fails.
func TestCacheStaleAfterClose(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		cache, m := cacheOn(t, &workerskv.CacheOptions{TTL: time.Minute}, workerskv.WithMaxRetries(workerskv.NoRetries))
		var n atomic.Int32
		m.on("POST", vkBulkGetURL, sequence(&n, v1, jsonResponder(500, failure(10001, "boom")), v2))
		m.on("GET", vkValueURL("k"), func(req *http.Request) (*http.Response, error) {
			if n.Add(1) == 2 {
				return jsonResponder(500, failure(10001, "boom"))(req)
			}
			return jsonResponder(200, "v2")(req)
		})
		wantValue(t, cache, "k", "v1")
		cache.Close()
		time.Sleep(61 * time.Second)
		wantValue(t, cache, "k", "v1")
		time.Sleep(6 * time.Second)
		wantValue(t, cache, "k", "v2")
		wantValue(t, cache, "k", "v2") // cached
		if s := cache.Stats(); n.Load() != 3 || s.Stale != 1 {
			t.Errorf("%d requests, stats %+v", n.Load(), s)
		}
	})
}

// TestCacheStaleLockoutWhileWaiting: a read waiting for the reload of a value past its TTL when the
// client gets locked out is answered with the stale value then, without waiting for the reload; the
// reload still updates the cache when it ends.
func TestCacheStaleLockoutWhileWaiting(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c, m := setup(t)
		cache := workerskv.NewCache(c.KV(testNS), &workerskv.CacheOptions{TTL: time.Minute})
		defer cache.Close()
		release := make(chan struct{})
		var n atomic.Int32
		m.on("POST", vkBulkGetURL, sequence(&n, v1, func(req *http.Request) (*http.Response, error) {
			<-release
			return v2(req)
		}))
		m.on("GET", vkValueURL("other"), withHeader(429, failure(971, "Please wait and consider throttling your request speed"), "Retry-After", "300"))
		wantValue(t, cache, "k", "v1")
		time.Sleep(61 * time.Second)
		got := make(chan string, 1)
		go func() {
			v, err := cache.Get(t.Context(), "k")
			if err != nil {
				v = []byte(err.Error())
			}
			got <- string(v)
		}()
		time.Sleep(time.Second) // the reader waits for the reload, which is held
		synctest.Wait()
		if len(got) != 0 {
			t.Fatalf("the read did not wait for the reload: %q", <-got)
		}
		if _, err := c.KV(testNS).Get(t.Context(), "other"); !errors.Is(err, workerskv.ErrRateLimited) {
			t.Fatalf("Get(other) = %v, want the 429 that locks the client out", err)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		select {
		case v := <-got:
			if v != "v1" {
				t.Fatalf("Get = %q, want the stale v1", v)
			}
		default:
			t.Fatal("the read still waits for the reload during the lockout")
		}
		close(release)
		synctest.Wait()
		wantValue(t, cache, "k", "v2")
		if s := cache.Stats(); s.Stale != 1 {
			t.Errorf("stats %+v, want one stale read", s)
		}
	})
}
