package workerskv_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/workerskv/workerskv"
	"github.com/workerskv/workerskv/emulator"
)

// vkBulkGetURL is the bulk get URL of the mock namespace.
var vkBulkGetURL = nsURL + "/" + testNS + "/bulk/get"

// bulkGetBody is a bulk get request as the server reads it.
type bulkGetBody struct {
	Keys         []string `json:"keys"`
	Type         string   `json:"type"`
	WithMetadata bool     `json:"withMetadata"`
}

// readBulkGet decodes the body of a bulk get request, leaving the body readable again.
func readBulkGet(req *http.Request) bulkGetBody {
	var b bulkGetBody
	if req.Body != nil {
		raw, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(raw))
		_ = json.Unmarshal(raw, &b)
	}
	return b
}

// kvItem is one key's answer in a bulk get with metadata; nil is a missing key.
type kvItem struct {
	Value      string          `json:"value"`
	Metadata   json.RawMessage `json:"metadata"`
	Expiration int64           `json:"expiration,omitempty"`
}

// bulkResponder answers a bulk get with metadata with what item says of each key asked for.
func bulkResponder(item func(key string) *kvItem) httpmock.Responder {
	return func(req *http.Request) (*http.Response, error) {
		values := map[string]*kvItem{}
		for _, k := range readBulkGet(req).Keys {
			values[k] = item(k)
		}
		body, err := json.Marshal(map[string]any{"values": values})
		if err != nil {
			return nil, err
		}
		return jsonResponder(200, envelope(string(body)))(req)
	}
}

// values answers with the values of a map, without metadata; other keys are missing.
func values(m map[string]string) func(string) *kvItem {
	return func(k string) *kvItem {
		if v, ok := m[k]; ok {
			return &kvItem{Value: v}
		}
		return nil
	}
}

// bulkKV is a namespace of an in-process emulator, reached through a transport that counts the
// requests, and a client of it.
type bulkKV struct {
	kv *workerskv.KV
	tr *handlerTransport
	// bulkGets counts bulk get requests and their keys; gets counts value reads.
	mu       sync.Mutex
	bulkGets [][]string
	gets     []string
}

// newBulkKV returns a handle on a new namespace of an in-process emulator (no network, so it runs in
// a synctest bubble) whose requests are recorded. pairs are written first, in one request, which is
// not counted.
func newBulkKV(t *testing.T, pairs []workerskv.BulkPair, opts ...workerskv.Option) *bulkKV {
	t.Helper()
	b := &bulkKV{}
	emu := emulator.New()
	b.tr = &handlerTransport{h: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch p := req.URL.EscapedPath(); {
		case req.Method == http.MethodPost && strings.HasSuffix(p, "/bulk/get"):
			keys := readBulkGet(req).Keys
			b.mu.Lock()
			b.bulkGets = append(b.bulkGets, keys)
			b.mu.Unlock()
		case req.Method == http.MethodGet && strings.Contains(p, "/values/"):
			b.mu.Lock()
			b.gets = append(b.gets, p[strings.LastIndex(p, "/")+1:])
			b.mu.Unlock()
		}
		emu.ServeHTTP(w, req)
	})}
	all := append([]workerskv.Option{workerskv.WithAPIToken(emulator.DefaultAPIToken), workerskv.WithAccountID(emulator.DefaultAccountID),
		workerskv.WithBaseURL("http://kv.test/client/v4"), workerskv.WithHTTPClient(&http.Client{Transport: b.tr})}, opts...)
	c, err := workerskv.NewClient(all...)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := c.Namespaces.Create(t.Context(), "batch")
	if err != nil {
		t.Fatal(err)
	}
	b.kv = c.KV(ns.ID)
	if len(pairs) > 0 {
		if res, err := b.kv.PutMany(t.Context(), pairs, nil); err != nil || len(res.Unsuccessful) > 0 {
			t.Fatalf("PutMany: %v, %+v", err, res)
		}
	}
	b.tr.requests.Store(0)
	return b
}

// counts returns the bulk gets (their keys) and value reads made so far.
func (b *bulkKV) counts() (bulkGets [][]string, gets []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([][]string(nil), b.bulkGets...), append([]string(nil), b.gets...)
}

// textPairs returns n pairs k0..k(n-1) with values v0..v(n-1).
func textPairs(n int) []workerskv.BulkPair {
	pairs := make([]workerskv.BulkPair, n)
	for i := range pairs {
		pairs[i] = workerskv.BulkPair{Key: "k" + strconv.Itoa(i), Value: []byte("v" + strconv.Itoa(i))}
	}
	return pairs
}

// textValues returns the values of textPairs(n) by key.
func textValues(n int) map[string]string {
	m := make(map[string]string, n)
	for _, p := range textPairs(n) {
		m[p.Key] = string(p.Value)
	}
	return m
}

// getAll reads the keys of want concurrently through cache, all goroutines started before the first
// read, and checks their values.
func getAll(t *testing.T, cache *workerskv.Cache, want map[string]string) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(want))
	start := make(chan struct{})
	for k, w := range want {
		wg.Go(func() {
			<-start
			v, err := cache.Get(t.Context(), k)
			if err == nil && string(v) != w {
				err = fmt.Errorf("Get(%s) = %q, want %q", k, v, w)
			}
			errs <- err
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// TestCacheBatchesColdMisses: 100 concurrent cold Gets of 100 different keys make at most 3 requests
// (bulk gets, one in fact), each of at most 100 keys; the values are right. On the fake clock, as a
// real one makes the count depend on how the machine schedules 100 goroutines within the 2 ms the
// batcher waits (on a loaded machine under -race, 1 to 3 requests, seldom 4).
func TestCacheBatchesColdMisses(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := newBulkKV(t, textPairs(100))
		cache := workerskv.NewCache(b.kv, nil)
		defer cache.Close()
		getAll(t, cache, textValues(100))
		bulk, gets := b.counts()
		sizes := []int{}
		for _, keys := range bulk {
			sizes = append(sizes, len(keys))
		}
		t.Logf("100 cold misses: %d requests, bulk gets of %v keys, %d value reads", b.tr.requests.Load(), sizes, len(gets))
		if n := b.tr.requests.Load(); n > 3 || len(gets) != 0 {
			t.Errorf("%d requests (%d value reads), want at most 3 bulk gets", n, len(gets))
		}
		for _, keys := range bulk {
			if len(keys) > 100 {
				t.Errorf("a bulk get of %d keys", len(keys))
			}
		}
		if s := cache.Stats(); s.Loads != 100 || s.Misses != 100 || s.Entries != 100 {
			t.Errorf("stats %+v", s)
		}
	})
}

// TestCacheBatchSizes: on a fake clock, misses that arrive together make one bulk get per 100 keys,
// with metadata asked for (only that answer carries the expiration), whether the reads want it or
// not.
func TestCacheBatchSizes(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := newBulkKV(t, textPairs(250))
		var bodies []bulkGetBody
		var mu sync.Mutex
		inner := b.tr.h
		b.tr.h = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if strings.HasSuffix(req.URL.Path, "/bulk/get") {
				mu.Lock()
				bodies = append(bodies, readBulkGet(req))
				mu.Unlock()
			}
			inner.ServeHTTP(w, req)
		})
		cache := workerskv.NewCache(b.kv, nil)
		defer cache.Close()
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() { getAll(t, cache, textValues(250)) })
		}
		wg.Go(func() {
			if e, err := cache.GetWithMetadata(t.Context(), "k7"); err != nil || string(e.Value) != "v7" {
				t.Errorf("GetWithMetadata = %+v, %v", e, err)
			}
		})
		wg.Wait()
		var sizes []int
		keys := 0
		for _, body := range bodies {
			sizes = append(sizes, len(body.Keys))
			keys += len(body.Keys)
			if !body.WithMetadata {
				t.Errorf("a bulk get without metadata: %+v", body)
			}
		}
		// 250 keys, and k7 once more if its value with metadata was asked for after its first
		// batch was sent.
		if b.tr.requests.Load() != 3 || len(sizes) != 3 || sizes[0] != 100 || sizes[1] != 100 || keys > 251 {
			t.Errorf("%d requests, bulk gets of %v keys; want 3 of 100, 100 and 50 (or 51)", b.tr.requests.Load(), sizes)
		}
	})
}

// TestCacheBatchWaitsForFlight: while a bulk get is in flight the next batch gathers, and goes when
// the first is answered; keys read in the first batch are not read again.
func TestCacheBatchWaitsForFlight(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		cache, m := cacheOn(t, nil)
		release := make(chan struct{})
		var n atomic.Int32
		m.on("POST", vkBulkGetURL, func(req *http.Request) (*http.Response, error) {
			if n.Add(1) == 1 {
				<-release
			}
			return bulkResponder(values(map[string]string{"a": "1", "b": "2", "c": "3"}))(req)
		})
		var wg sync.WaitGroup
		get := func(k, want string) {
			wg.Go(func() {
				if v, err := cache.Get(t.Context(), k); err != nil || string(v) != want {
					t.Errorf("Get(%s) = %q, %v", k, v, err)
				}
			})
		}
		get("a", "1")
		time.Sleep(time.Second) // the first bulk get is in flight, held
		synctest.Wait()
		get("b", "2")
		get("c", "3")
		get("a", "1")
		time.Sleep(time.Second)
		synctest.Wait()
		if n.Load() != 1 {
			t.Fatalf("%d bulk gets while one was in flight, want 1", n.Load())
		}
		close(release)
		wg.Wait()
		reqs := m.requests()
		if len(reqs) != 2 {
			t.Fatalf("%d requests, want 2", len(reqs))
		}
		var second bulkGetBody
		json.Unmarshal(reqs[1].Body, &second)
		if slices.Sort(second.Keys); strings.Join(second.Keys, ",") != "b,c" {
			t.Errorf("second bulk get of %q, want b and c", second.Keys)
		}
	})
}

// TestCacheBatchMissing: keys a bulk get returns as null are cached as missing for NegativeTTL, or not
// at all when it is negative; they give ErrKeyNotFound.
func TestCacheBatchMissing(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := newBulkKV(t, textPairs(2))
		cache := workerskv.NewCache(b.kv, &workerskv.CacheOptions{TTL: time.Hour, NegativeTTL: 10 * time.Second})
		defer cache.Close()
		read := func() {
			var wg sync.WaitGroup
			for _, k := range []string{"k0", "k1", "gone", "gone too"} {
				wg.Go(func() {
					v, err := cache.Get(t.Context(), k)
					if strings.HasPrefix(k, "gone") {
						if !errors.Is(err, workerskv.ErrKeyNotFound) || !errors.Is(err, workerskv.ErrNotFound) || errors.Is(err, workerskv.ErrNamespaceNotFound) {
							t.Errorf("Get(%s) = %v, want ErrKeyNotFound", k, err)
						}
					} else if err != nil || len(v) == 0 {
						t.Errorf("Get(%s) = %q, %v", k, v, err)
					}
				})
			}
			wg.Wait()
		}
		read()
		read()
		if n := b.tr.requests.Load(); n != 1 {
			t.Errorf("%d requests, want 1 bulk get", n)
		}
		time.Sleep(11 * time.Second) // the missing keys are read again, the values are not
		read()
		bulk, _ := b.counts()
		if len(bulk) != 2 || strings.Join(bulk[1], ",") != "gone,gone too" && strings.Join(bulk[1], ",") != "gone too,gone" {
			t.Errorf("bulk gets %q, want the missing keys read again after NegativeTTL", bulk)
		}
		if s := cache.Stats(); s.LoadErrors != 0 {
			t.Errorf("missing keys counted as load errors: %+v", s)
		}
	})
	t.Run("not remembered", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			b := newBulkKV(t, nil)
			cache := workerskv.NewCache(b.kv, &workerskv.CacheOptions{NegativeTTL: -1})
			defer cache.Close()
			for range 3 {
				if _, err := cache.Get(t.Context(), "gone"); !errors.Is(err, workerskv.ErrKeyNotFound) {
					t.Fatalf("err = %v", err)
				}
			}
			if n := b.tr.requests.Load(); n != 3 || cache.Stats().Entries != 0 {
				t.Errorf("%d requests, %d entries; want 3 and none cached", n, cache.Stats().Entries)
			}
		})
	})
}

// TestCacheBatchCallerContext: a reader whose context ends while its bulk get is in flight returns the
// context's error at once; the other readers of the batch get their values.
func TestCacheBatchCallerContext(t *testing.T) {
	t.Parallel()
	cache, m := cacheOn(t, nil)
	arrived, release := make(chan struct{}), make(chan struct{})
	var n atomic.Int32
	m.on("POST", vkBulkGetURL, func(req *http.Request) (*http.Response, error) {
		if n.Add(1) == 1 {
			close(arrived)
		}
		<-release
		return bulkResponder(values(map[string]string{"a": "1", "b": "2"}))(req)
	})
	ctx, cancel := context.WithCancel(t.Context())
	gaveUp := make(chan error, 1)
	go func() {
		_, err := cache.Get(ctx, "a")
		gaveUp <- err
	}()
	other := make(chan error, 1)
	go func() {
		v, err := cache.Get(t.Context(), "b")
		if err == nil && string(v) != "2" {
			err = errors.New("wrong value " + string(v))
		}
		other <- err
	}()
	<-arrived
	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Fatalf("the reader that gave up: %v, want context.Canceled", err)
	}
	close(release)
	if err := <-other; err != nil {
		t.Fatal(err)
	}
	if v, err := cache.Get(t.Context(), "a"); err != nil || string(v) != "1" {
		t.Fatalf("Get(a) = %q, %v", v, err)
	}
}

// TestCacheBatchAbandoned: a key that no reader waits for any more is not sent; a reader whose context
// is done before it reads gets the context's error and sends nothing.
func TestCacheBatchAbandoned(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		cache, m := cacheOn(t, nil)
		m.on("POST", vkBulkGetURL, bulkResponder(values(map[string]string{"a": "1", "b": "2"})))
		done, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := cache.Get(done, "a"); !errors.Is(err, context.Canceled) {
			t.Fatalf("Get with a done context: %v", err)
		}
		// A deadline inside the gathering window: the reader leaves before the batch goes.
		short, cancel := context.WithTimeout(t.Context(), time.Millisecond)
		defer cancel()
		var wg sync.WaitGroup
		wg.Go(func() {
			if _, err := cache.Get(short, "a"); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Get past its deadline: %v", err)
			}
		})
		wg.Go(func() {
			time.Sleep(time.Millisecond / 2)
			if v, err := cache.Get(t.Context(), "b"); err != nil || string(v) != "2" {
				t.Errorf("Get(b) = %q, %v", v, err)
			}
		})
		wg.Wait()
		reqs := m.requests()
		if len(reqs) != 1 {
			t.Fatalf("%d requests, want 1", len(reqs))
		}
		var body bulkGetBody
		json.Unmarshal(reqs[0].Body, &body)
		if strings.Join(body.Keys, ",") != "b" {
			t.Errorf("bulk get of %q: the abandoned key a must not be sent", body.Keys)
		}
	})
}

// TestCacheBatchErrors: a failed bulk get fails every read of its batch with its error, never a
// panic, and nothing is cached: a 5xx, a 429, a connection reset, a truncated body, a 403.
func TestCacheBatchErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		r    httpmock.Responder
		is   func(error) bool
	}{
		{"500", jsonResponder(500, failure(10001, "boom")), func(err error) bool {
			e, ok := errors.AsType[*workerskv.APIError](err)
			return ok && e.StatusCode == 500
		}},
		{"429", withHeader(429, failure(971, "Please wait"), "Retry-After", "300"), func(err error) bool {
			return errors.Is(err, workerskv.ErrRateLimited)
		}},
		{"connection reset", httpmock.ConnectionFailure, func(err error) bool {
			return err != nil && !errors.As(err, new(*workerskv.APIError))
		}},
		{"truncated", jsonResponder(200, `{"success":true,"errors":[],"result":{"values":{"a":{"value":"1","meta`), func(err error) bool {
			return err != nil && strings.Contains(err.Error(), "malformed")
		}},
		{"value not a string", jsonResponder(200, envelope(`{"values":{"a":{"value":1,"metadata":null},"b":null}}`)), func(err error) bool {
			return err != nil
		}},
		{"403", jsonResponder(403, failure(10000, "Authentication error")), func(err error) bool {
			return errors.Is(err, workerskv.ErrForbidden)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cache, m := cacheOn(t, nil, workerskv.WithMaxRetries(workerskv.NoRetries))
			var n atomic.Int32
			m.on("POST", vkBulkGetURL, counted(&n, tc.r))
			var wg sync.WaitGroup
			for _, k := range []string{"a", "b"} {
				wg.Go(func() {
					if _, err := cache.Get(t.Context(), k); !tc.is(err) {
						t.Errorf("Get(%s): %v", k, err)
					}
				})
			}
			wg.Wait()
			if s := cache.Stats(); s.Entries != 0 || s.LoadErrors != 2 {
				t.Errorf("stats %+v: want nothing cached and 2 load errors", s)
			}
		})
	}
}

// TestCacheBatchBinary: a binary value in a batch makes the API refuse the bulk get (code 10029); the
// batch is split until the binary key is found, which is read alone; the other keys are read in
// bulk. The binary key is remembered: read again, it is not batched.
func TestCacheBatchBinary(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		pairs := textPairs(20)
		pairs[13].Value = []byte("bin\x00\xff\xfe")
		b := newBulkKV(t, pairs)
		cache := workerskv.NewCache(b.kv, nil)
		defer cache.Close()
		want := textValues(20)
		want["k13"] = "bin\x00\xff\xfe"
		getAll(t, cache, want)
		bulk, gets := b.counts()
		t.Logf("first read: %d bulk gets %v, value reads %q", len(bulk), bulk, gets)
		// 20 keys: the refused batch, then halves down to the key (10, 5, 3, 2, 1 keys refused, 5
		// halves answered): at most 2·log2(20)+1 bulk gets, and one value read.
		if len(gets) != 1 || gets[0] != "k13" || len(bulk) > 11 {
			t.Errorf("%d bulk gets, value reads %q; want one read of k13 alone", len(bulk), gets)
		}
		for i := range 20 {
			cache.Invalidate("k" + strconv.Itoa(i))
		}
		getAll(t, cache, want)
		bulk2, gets2 := b.counts()
		bulk2, gets2 = bulk2[len(bulk):], gets2[len(gets):]
		if len(bulk2) != 1 || len(bulk2[0]) != 19 || len(gets2) != 1 || gets2[0] != "k13" {
			t.Errorf("read again: bulk gets %q, value reads %q; want one bulk get of the 19 text keys and k13 alone", bulk2, gets2)
		}
		// Written with a text value through the cache, it is batched again.
		if err := cache.Put(t.Context(), "k13", []byte("v13"), nil); err != nil {
			t.Fatal(err)
		}
		for i := range 20 {
			cache.Invalidate("k" + strconv.Itoa(i))
		}
		getAll(t, cache, textValues(20))
		bulk3, gets3 := b.counts()
		if bulk3, gets3 = bulk3[len(bulk)+len(bulk2):], gets3[len(gets)+len(gets2):]; len(bulk3) != 1 || len(bulk3[0]) != 20 || len(gets3) != 0 {
			t.Errorf("after a text write: bulk gets %q, value reads %q; want one bulk get of 20", bulk3, gets3)
		}
	})
}

// TestCacheBatchBinaryWithMetadata: the value with metadata of a binary key is found like a value
// alone, then read with its two requests; read again, it costs those two only.
func TestCacheBatchBinaryWithMetadata(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		pairs := textPairs(4)
		pairs[2] = workerskv.BulkPair{Key: "k2", Value: []byte{0xff, 0}, Metadata: map[string]int{"m": 2}}
		b := newBulkKV(t, pairs)
		cache := workerskv.NewCache(b.kv, nil)
		defer cache.Close()
		read := func() {
			var wg sync.WaitGroup
			for i := range 4 {
				wg.Go(func() {
					k := "k" + strconv.Itoa(i)
					e, err := cache.GetWithMetadata(t.Context(), k)
					switch {
					case err != nil:
						t.Errorf("GetWithMetadata(%s): %v", k, err)
					case i == 2 && (!bytes.Equal(e.Value, []byte{0xff, 0}) || string(e.Metadata) != `{"m":2}`):
						t.Errorf("GetWithMetadata(k2) = %+v", e)
					case i != 2 && string(e.Value) != "v"+strconv.Itoa(i):
						t.Errorf("GetWithMetadata(%s) = %+v", k, e)
					}
				})
			}
			wg.Wait()
		}
		read()
		before := b.tr.requests.Load()
		for i := range 4 {
			cache.Invalidate("k" + strconv.Itoa(i))
		}
		read()
		// One bulk get of the three text keys, and the value and metadata of k2.
		if n := b.tr.requests.Load() - before; n != 3 {
			t.Errorf("read again: %d requests, want 3", n)
		}
	})
}

// TestCacheBatchKeysAlone: keys a bulk get cannot carry are read on their own: an invalid key gives
// its validation error without a request, and does not fail the batch it would have joined; a key
// that is not UTF-8 is read with a value read.
func TestCacheBatchKeysAlone(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		cache, m := cacheOn(t, nil)
		m.on("POST", vkBulkGetURL, bulkResponder(values(map[string]string{"a": "1"})))
		m.on("GET", vkValueURL("k\xff"), jsonResponder(200, "bytes"))
		var wg sync.WaitGroup
		wg.Go(func() { wantValue(t, cache, "a", "1") })
		wg.Go(func() { wantValue(t, cache, "k\xff", "bytes") })
		for _, bad := range []string{"", "..", strings.Repeat("x", 513)} {
			wg.Go(func() {
				if _, err := cache.Get(t.Context(), bad); !errors.Is(err, workerskv.ErrInvalidInput) {
					t.Errorf("Get(%.10q): %v, want ErrInvalidInput", bad, err)
				}
			})
		}
		wg.Wait()
		if reqs := m.requests(); len(reqs) != 2 {
			t.Errorf("%d requests, want one bulk get and one value read", len(reqs))
		}
	})
}

// TestCacheOneByOne: with the LoadOneByOne test hook the cache reads each miss with a request of its
// own, as it did before it batched.
func TestCacheOneByOne(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := newBulkKV(t, textPairs(10))
		cache := workerskv.NewCache(b.kv, nil)
		defer cache.Close()
		workerskv.LoadOneByOne(cache)
		getAll(t, cache, textValues(10))
		if bulk, gets := b.counts(); len(bulk) != 0 || len(gets) != 10 {
			t.Errorf("%d bulk gets, %d value reads; want 10 value reads", len(bulk), len(gets))
		}
	})
}

// TestCacheRefreshAheadBatched: the reloads ahead of hot keys read near the end of their TTL go in one
// bulk get.
func TestCacheRefreshAheadBatched(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := newBulkKV(t, textPairs(20))
		cache := workerskv.NewCache(b.kv, &workerskv.CacheOptions{TTL: time.Minute, RefreshAhead: 20 * time.Second})
		defer cache.Close()
		getAll(t, cache, textValues(20))
		time.Sleep(45 * time.Second)
		before := b.tr.requests.Load()
		getAll(t, cache, textValues(20)) // from memory; each starts a reload ahead
		time.Sleep(time.Second)
		bulk, _ := b.counts()
		if n := b.tr.requests.Load() - before; n != 1 || len(bulk) != 2 || len(bulk[1]) != 20 {
			t.Errorf("%d requests for the reloads, bulk gets %q; want one of the 20 keys", n, bulk)
		}
		if s := cache.Stats(); s.Misses != 20 || s.Loads != 40 {
			t.Errorf("stats %+v", s)
		}
	})
}

// TestCacheCloseDuringBatch: Close cancels a bulk get in flight and returns once it is over; the
// readers waiting for it read their keys on their own, under their own contexts, and get them.
func TestCacheCloseDuringBatch(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		cache, m := cacheOn(t, nil)
		m.on("POST", vkBulkGetURL, func(req *http.Request) (*http.Response, error) {
			<-req.Context().Done() // a bulk get that never ends by itself
			return nil, req.Context().Err()
		})
		m.on("GET", vkValueURL("a"), jsonResponder(200, "1"))
		m.on("GET", vkValueURL("b"), jsonResponder(200, "2"))
		m.on("GET", vkValueURL("c"), jsonResponder(200, "3"))
		var wg sync.WaitGroup
		wg.Go(func() { wantValue(t, cache, "a", "1") })
		wg.Go(func() { wantValue(t, cache, "b", "2") })
		time.Sleep(time.Second)
		synctest.Wait()
		cache.Close()
		wg.Wait()
		wantValue(t, cache, "a", "1") // cached
		wantValue(t, cache, "c", "3") // after Close, a miss is read on its own
		if reqs := m.requests(); len(reqs) != 4 || reqs[0].Method != "POST" {
			t.Errorf("%d requests, want the bulk get and 3 value reads", len(reqs))
		}
	})
}
