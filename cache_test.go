package workerskv_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/workerskv/workerskv"
)

// cacheOn returns a cache over a mock namespace, closed when the test ends, with the mock.
func cacheOn(t *testing.T, opts *workerskv.CacheOptions, clientOpts ...workerskv.Option) (*workerskv.Cache, *mockServer) {
	t.Helper()
	c, m := setup(t, clientOpts...)
	cache := workerskv.NewCache(c.KV(testNS), opts)
	t.Cleanup(func() { cache.Close() })
	return cache, m
}

// counted answers with r and counts the requests.
func counted(n *atomic.Int32, r httpmock.Responder) httpmock.Responder {
	return func(req *http.Request) (*http.Response, error) {
		n.Add(1)
		return r(req)
	}
}

// TestCacheTTL: a value is read once, served from memory for TTL, then read again.
func TestCacheTTL(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		cache, m := cacheOn(t, &workerskv.CacheOptions{TTL: time.Minute})
		var n atomic.Int32
		m.on("POST", vkBulkGetURL, counted(&n, bulkResponder(values(map[string]string{"k": "v1"}))))
		for range 5 {
			v, err := cache.Get(t.Context(), "k")
			if err != nil || string(v) != "v1" {
				t.Fatalf("Get = %q, %v", v, err)
			}
		}
		time.Sleep(59 * time.Second)
		if _, err := cache.Get(t.Context(), "k"); err != nil || n.Load() != 1 {
			t.Fatalf("within the TTL: %d requests, err %v; want 1", n.Load(), err)
		}
		time.Sleep(2 * time.Second)
		if _, err := cache.Get(t.Context(), "k"); err != nil || n.Load() != 2 {
			t.Fatalf("after the TTL: %d requests, err %v; want 2", n.Load(), err)
		}
		s := cache.Stats()
		if s.Hits != 5 || s.Misses != 2 || s.Loads != 2 || s.LoadErrors != 0 || s.Entries != 1 {
			t.Errorf("stats %+v", s)
		}
	})
}

// TestCacheDefaultTTL: without options entries live 60 seconds.
func TestCacheDefaultTTL(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		cache, m := cacheOn(t, nil)
		var n atomic.Int32
		m.on("POST", vkBulkGetURL, counted(&n, bulkResponder(values(map[string]string{"k": "v"}))))
		cache.Get(t.Context(), "k")
		time.Sleep(59 * time.Second)
		cache.Get(t.Context(), "k")
		time.Sleep(2 * time.Second)
		cache.Get(t.Context(), "k")
		if n.Load() != 2 {
			t.Errorf("%d requests, want 2", n.Load())
		}
	})
}

// TestCacheKeyExpiresFirst: an entry whose key expires before the TTL ends is dropped when the key
// expires.
func TestCacheKeyExpiresFirst(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		cache, m := cacheOn(t, &workerskv.CacheOptions{TTL: time.Hour})
		var n atomic.Int32
		expires := time.Now().Add(90 * time.Second).Unix()
		m.on("POST", vkBulkGetURL, counted(&n, bulkResponder(func(string) *kvItem { return &kvItem{Value: "v", Expiration: expires} })))
		cache.Get(t.Context(), "k")
		time.Sleep(80 * time.Second)
		cache.Get(t.Context(), "k")
		time.Sleep(20 * time.Second)
		cache.Get(t.Context(), "k")
		if n.Load() != 2 {
			t.Errorf("%d requests, want 2: the entry must go when its key expires", n.Load())
		}
	})
}

// TestCacheMissing: a missing key is remembered for NegativeTTL, or not at all when it is negative; a
// wrong namespace ID is never cached.
func TestCacheMissing(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		cache, m := cacheOn(t, &workerskv.CacheOptions{TTL: time.Hour, NegativeTTL: 10 * time.Second})
		var n atomic.Int32
		m.on("POST", vkBulkGetURL, counted(&n, bulkResponder(values(nil))))
		for range 3 {
			if _, err := cache.Get(t.Context(), "gone"); !errors.Is(err, workerskv.ErrKeyNotFound) {
				t.Fatalf("err = %v, want ErrKeyNotFound", err)
			}
		}
		if n.Load() != 1 {
			t.Errorf("%d requests for a missing key, want 1", n.Load())
		}
		time.Sleep(11 * time.Second)
		cache.Get(t.Context(), "gone")
		if n.Load() != 2 {
			t.Errorf("%d requests after NegativeTTL, want 2", n.Load())
		}
		if s := cache.Stats(); s.LoadErrors != 0 {
			t.Errorf("a missing key counted as a load error: %+v", s)
		}
	})
	t.Run("not remembered", func(t *testing.T) {
		t.Parallel()
		cache, m := cacheOn(t, &workerskv.CacheOptions{NegativeTTL: -1})
		var n atomic.Int32
		m.on("POST", vkBulkGetURL, counted(&n, bulkResponder(values(nil))))
		for range 3 {
			if _, err := cache.Get(t.Context(), "gone"); !errors.Is(err, workerskv.ErrKeyNotFound) {
				t.Fatalf("err = %v, want ErrKeyNotFound", err)
			}
		}
		if n.Load() != 3 {
			t.Errorf("%d requests, want 3", n.Load())
		}
	})
	t.Run("wrong namespace", func(t *testing.T) {
		t.Parallel()
		cache, m := cacheOn(t, nil)
		var n atomic.Int32
		m.on("POST", vkBulkGetURL, counted(&n, jsonResponder(404, failure(10013, "bulk get keys: 'namespace not found'"))))
		for range 3 {
			_, err := cache.Get(t.Context(), "k")
			if !errors.Is(err, workerskv.ErrNamespaceNotFound) || errors.Is(err, workerskv.ErrKeyNotFound) {
				t.Fatalf("err = %v, want ErrNamespaceNotFound", err)
			}
		}
		if n.Load() != 3 || cache.Stats().Entries != 0 {
			t.Errorf("%d requests, stats %+v: a wrong namespace must not be cached", n.Load(), cache.Stats())
		}
	})
}

// TestCacheSingleFlight: 100 concurrent cold reads of one key make exactly one request.
func TestCacheSingleFlight(t *testing.T) {
	t.Parallel()
	cache, m := cacheOn(t, nil)
	var n atomic.Int32
	release := make(chan struct{})
	m.on("POST", vkBulkGetURL, func(req *http.Request) (*http.Response, error) {
		n.Add(1)
		<-release
		return bulkResponder(values(map[string]string{"hot": "v"}))(req)
	})
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for range 100 {
		wg.Go(func() {
			v, err := cache.Get(t.Context(), "hot")
			if err == nil && string(v) != "v" {
				err = errors.New("wrong value " + string(v))
			}
			errs <- err
		})
	}
	// Let the first request arrive, then release it; reads that come after it are hits.
	for n.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n.Load() != 1 {
		t.Errorf("%d requests, want 1", n.Load())
	}
	if s := cache.Stats(); s.Loads != 1 || s.Hits+s.Misses != 100 {
		t.Errorf("stats %+v", s)
	}
}

// TestCacheLoadError: a failed read is not cached, counted as a load error, and returned to the
// caller.
func TestCacheLoadError(t *testing.T) {
	t.Parallel()
	cache, m := cacheOn(t, nil, workerskv.WithMaxRetries(workerskv.NoRetries))
	var n atomic.Int32
	m.on("POST", vkBulkGetURL, counted(&n, jsonResponder(500, failure(10001, "boom")).Then(bulkResponder(values(map[string]string{"k": "v"})))))
	if _, err := cache.Get(t.Context(), "k"); err == nil {
		t.Fatal("no error")
	}
	if v, err := cache.Get(t.Context(), "k"); err != nil || string(v) != "v" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	if s := cache.Stats(); s.Loads != 2 || s.LoadErrors != 1 {
		t.Errorf("stats %+v", s)
	}
}

// TestCacheMaxBytes: a value over MaxBytes/16 is returned but not cached; many values stay within
// MaxBytes by eviction.
func TestCacheMaxBytes(t *testing.T) {
	t.Parallel()
	const maxBytes = 64 << 10
	cache, m := cacheOn(t, &workerskv.CacheOptions{MaxBytes: maxBytes})
	var n atomic.Int32
	big := strings.Repeat("b", maxBytes/16+1)
	m.on("POST", vkBulkGetURL, counted(&n, bulkResponder(func(k string) *kvItem {
		if k == "big" {
			return &kvItem{Value: big}
		}
		return &kvItem{Value: strings.Repeat("v", 1000)}
	})))
	for range 3 {
		if v, err := cache.Get(t.Context(), "big"); err != nil || string(v) != big {
			t.Fatalf("Get(big): %d bytes, %v", len(v), err)
		}
	}
	if n.Load() != 3 {
		t.Errorf("%d requests for a value past MaxBytes/16, want 3: it must not be cached", n.Load())
	}
	var wg sync.WaitGroup
	for i := range 500 {
		wg.Go(func() {
			if _, err := cache.Get(t.Context(), "k"+strconv.Itoa(i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for range 100 {
		cache.Get(t.Context(), "k0") // gives the cache's maintenance time to run
	}
	if s := cache.Stats(); s.Bytes > maxBytes || s.Evictions == 0 {
		t.Errorf("stats %+v: want at most %d bytes, with evictions", s, maxBytes)
	}
}

// TestCacheOwnWrites: Put and Delete through the cache are visible to the next read at once.
func TestCacheOwnWrites(t *testing.T) {
	t.Parallel()
	kv, _ := newEmulatorKV(t)
	cache := workerskv.NewCache(kv, &workerskv.CacheOptions{TTL: time.Hour})
	defer cache.Close()
	ctx := t.Context()
	if err := kv.Put(ctx, "k", []byte("old"), nil); err != nil {
		t.Fatal(err)
	}
	if v, _ := cache.Get(ctx, "k"); string(v) != "old" {
		t.Fatalf("Get = %q", v)
	}
	if err := cache.Put(ctx, "k", []byte("new"), &workerskv.PutOptions{Metadata: map[string]int{"v": 2}}); err != nil {
		t.Fatal(err)
	}
	if v, err := cache.Get(ctx, "k"); err != nil || string(v) != "new" {
		t.Fatalf("after Put: %q, %v", v, err)
	}
	if e, err := cache.GetWithMetadata(ctx, "k"); err != nil || string(e.Value) != "new" || string(e.Metadata) != `{"v":2}` {
		t.Fatalf("GetWithMetadata after Put: %+v, %v", e, err)
	}
	if err := cache.PutJSON(ctx, "j", flags{Beta: true}, nil); err != nil {
		t.Fatal(err)
	}
	var f flags
	if err := cache.GetJSON(ctx, "j", &f); err != nil || !f.Beta {
		t.Fatalf("GetJSON after PutJSON: %+v, %v", f, err)
	}
	if err := cache.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := cache.Get(ctx, "k"); !errors.Is(err, workerskv.ErrKeyNotFound) {
		t.Fatalf("after Delete: %v, want ErrKeyNotFound", err)
	}
	// Another writer's change is seen only when the entry expires (or is invalidated).
	if err := kv.Put(ctx, "j", []byte(`{"beta":false}`), nil); err != nil {
		t.Fatal(err)
	}
	if err := cache.GetJSON(ctx, "j", &f); err != nil || !f.Beta {
		t.Fatalf("another writer's change seen before the TTL: %+v, %v", f, err)
	}
	cache.Invalidate("j")
	if err := cache.GetJSON(ctx, "j", &f); err != nil || f.Beta {
		t.Fatalf("after Invalidate: %+v, %v", f, err)
	}
}

// TestCacheValuesAreCopies: changing a returned slice does not change the cache.
func TestCacheValuesAreCopies(t *testing.T) {
	t.Parallel()
	cache, m := cacheOn(t, nil)
	m.on("POST", vkBulkGetURL, bulkResponder(values(map[string]string{"k": "value"})))
	v, _ := cache.Get(t.Context(), "k")
	copy(v, "XXXXX")
	if v2, _ := cache.Get(t.Context(), "k"); !bytes.Equal(v2, []byte("value")) {
		t.Errorf("cached value changed to %q", v2)
	}
}

// TestCacheGetWithMetadata: one load (one bulk get with metadata) then hits.
func TestCacheGetWithMetadata(t *testing.T) {
	t.Parallel()
	cache, m := cacheOn(t, nil)
	var n atomic.Int32
	m.on("POST", vkBulkGetURL, counted(&n, bulkResponder(func(string) *kvItem {
		return &kvItem{Value: "v", Metadata: json.RawMessage(`{"a":1}`), Expiration: 4102444800}
	})))
	for range 3 {
		e, err := cache.GetWithMetadata(t.Context(), "k")
		if err != nil || string(e.Value) != "v" || string(e.Metadata) != `{"a":1}` || e.Expiration.Unix() != 4102444800 {
			t.Fatalf("GetWithMetadata = %+v, %v", e, err)
		}
	}
	if n.Load() != 1 {
		t.Errorf("%d requests, want 1", n.Load())
	}
}

// TestCacheGetJSON: a cached value that is not JSON gives a *ValueError; a bad target is refused.
func TestCacheGetJSON(t *testing.T) {
	t.Parallel()
	cache, m := cacheOn(t, nil)
	m.on("POST", vkBulkGetURL, bulkResponder(values(map[string]string{"k": "not json"})))
	var f flags
	for range 2 { // from KV, then from memory
		if err := cache.GetJSON(t.Context(), "k", &f); !errors.As(err, new(*workerskv.ValueError)) {
			t.Fatalf("err = %v, want *ValueError", err)
		}
	}
	if err := cache.GetJSON(t.Context(), "k", f); !errors.Is(err, workerskv.ErrInvalidInput) {
		t.Errorf("non-pointer target: %v, want ErrInvalidInput", err)
	}
}

// TestCacheRefreshAhead: a read near the end of the TTL gets the cached value at once and reloads the
// key in the background; later reads get the new value.
func TestCacheRefreshAhead(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		cache, m := cacheOn(t, &workerskv.CacheOptions{TTL: time.Minute, RefreshAhead: 20 * time.Second})
		var n atomic.Int32
		release := make(chan struct{})
		m.on("POST", vkBulkGetURL, func(req *http.Request) (*http.Response, error) {
			if n.Add(1) == 1 {
				return bulkResponder(values(map[string]string{"k": "v1"}))(req)
			}
			<-release
			return bulkResponder(values(map[string]string{"k": "v2"}))(req)
		})
		cache.Get(t.Context(), "k")
		time.Sleep(45 * time.Second)
		// The reload is held until release: the read must not wait for it.
		if v, err := cache.Get(t.Context(), "k"); err != nil || string(v) != "v1" {
			t.Fatalf("Get during the reload = %q, %v; want the cached v1", v, err)
		}
		time.Sleep(time.Second) // the reload's bulk get gathers, then is sent
		synctest.Wait()
		if n.Load() != 2 {
			t.Fatalf("%d requests, want a background reload", n.Load())
		}
		close(release)
		synctest.Wait()
		if v, err := cache.Get(t.Context(), "k"); err != nil || string(v) != "v2" {
			t.Fatalf("Get after the reload = %q, %v; want v2", v, err)
		}
		cache.Close()
	})
}

// TestCacheClose: Close waits for background reloads, cancelling them, and the cache still reads.
func TestCacheClose(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		cache, m := cacheOn(t, &workerskv.CacheOptions{TTL: time.Minute, RefreshAhead: 30 * time.Second})
		var n atomic.Int32
		m.on("POST", vkBulkGetURL, func(req *http.Request) (*http.Response, error) {
			if n.Add(1) == 1 {
				return bulkResponder(values(map[string]string{"k": "v1"}))(req)
			}
			<-req.Context().Done() // a reload that never ends by itself
			return nil, req.Context().Err()
		})
		cache.Get(t.Context(), "k")
		time.Sleep(40 * time.Second)
		cache.Get(t.Context(), "k") // starts the reload
		time.Sleep(time.Second)
		synctest.Wait()
		if n.Load() != 2 {
			t.Fatalf("%d requests, want the reload in flight", n.Load())
		}
		cache.Close() // returns only once the reload is over; synctest fails the test if it never is
		if v, err := cache.Get(t.Context(), "k"); err != nil || string(v) != "v1" {
			t.Fatalf("Get after Close = %q, %v", v, err)
		}
	})
}
