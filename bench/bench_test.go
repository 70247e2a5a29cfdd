package bench

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/workerskv/workerskv"
	"github.com/workerskv/workerskv/emulator"
)

// Every benchmark is Benchmark<Operation>/client=<client>: benchstat projects only key=value name
// parts, so `benchstat -col /client` lines the four clients up side by side. All four clients run in
// the same process against the same canned server.

// runOrder is the order in which one call of a benchmark runs the clients: shuffled on every call. The
// testing package runs each client's sub-benchmark -count times in a row, so with a fixed order every
// sample of one client would come from one stretch of time, and a spell of load on a shared machine
// would fall on that client alone. The measured run (README.md) calls each benchmark once per round,
// in many rounds, so each client's samples are spread over the whole run and no client is always
// first after the server starts.
func runOrder() []string {
	order := slices.Clone(clientNames)
	rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	return order
}

// forEachClient runs fn as a sub-benchmark per client, against a canned server serving value.
func forEachClient(b *testing.B, value []byte, fn func(b *testing.B, c kvClient)) {
	srv := newCannedServer(value)
	defer srv.Close()
	for _, name := range runOrder() {
		b.Run("client="+name, func(b *testing.B) {
			c, done := newClient(name, srv.BaseURL(), apiToken, accountID, namespaceID)
			defer done()
			fn(b, c)
		})
	}
}

// loop runs op in a b.Loop with allocation reporting; errUnsupported skips the client.
func loop(b *testing.B, op func(ctx context.Context) error) {
	ctx := context.Background()
	if err := op(ctx); err == errUnsupported {
		b.Skip(err)
	} else if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := op(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func benchGet(b *testing.B, size int) {
	want := makeValue(size)
	forEachClient(b, want, func(b *testing.B, c kvClient) {
		loop(b, func(ctx context.Context) error {
			v, err := c.Get(ctx, valueKey)
			if err == nil && len(v) != size {
				b.Fatalf("got %d bytes, want %d", len(v), size)
			}
			return err
		})
	})
}

func benchPut(b *testing.B, size int, peak bool) {
	value := makeValue(size)
	forEachClient(b, nil, func(b *testing.B, c kvClient) {
		op := func(ctx context.Context) error { return c.Put(ctx, valueKey, value) }
		loop(b, op)
		if peak {
			reportPeakHeap(b, op)
		}
	})
}

func BenchmarkGetValue100B(b *testing.B)  { benchGet(b, size100B) }
func BenchmarkGetValue1MiB(b *testing.B)  { benchGet(b, size1MiB) }
func BenchmarkPutValue100B(b *testing.B)  { benchPut(b, size100B, false) }
func BenchmarkPutValue1MiB(b *testing.B)  { benchPut(b, size1MiB, true) }
func BenchmarkPutValue25MiB(b *testing.B) { benchPut(b, size25MiB, true) }

func BenchmarkPutValueWithMetadata(b *testing.B) {
	value := makeValue(size100B)
	forEachClient(b, nil, func(b *testing.B, c kvClient) {
		loop(b, func(ctx context.Context) error { return c.PutWithMetadata(ctx, valueKey, value, &metadataValue) })
	})
}

func BenchmarkListKeysPage1000(b *testing.B) {
	forEachClient(b, nil, func(b *testing.B, c kvClient) {
		loop(b, func(ctx context.Context) error {
			n, err := c.ListPage(ctx)
			if err == nil && n != pageSize {
				b.Fatalf("decoded %d keys, want %d", n, pageSize)
			}
			return err
		})
	})
}

func BenchmarkIterateKeys10000(b *testing.B) {
	forEachClient(b, nil, func(b *testing.B, c kvClient) {
		loop(b, func(ctx context.Context) error {
			n, err := c.IterateKeys(ctx)
			if err == nil && n != listPages*pageSize {
				b.Fatalf("iterated %d keys, want %d", n, listPages*pageSize)
			}
			return err
		})
	})
}

func benchBulk(b *testing.B, n int) {
	pairs := makePairs(n)
	forEachClient(b, nil, func(b *testing.B, c kvClient) {
		loop(b, func(ctx context.Context) error { return c.BulkPut(ctx, pairs) })
	})
}

func BenchmarkBulkPut10000(b *testing.B) { benchBulk(b, 10000) }
func BenchmarkBulkPut25000(b *testing.B) { benchBulk(b, 25000) }

// --- end to end, against the emulator ---

// forEachClientE2E runs fn per client against a fresh emulator with one namespace holding valueKey.
func forEachClientE2E(b *testing.B, fn func(b *testing.B, c kvClient)) {
	srv := httptest.NewServer(emulator.New())
	defer srv.Close()
	base := srv.URL + "/client/v4"
	setup, err := workerskv.NewClient(workerskv.WithBaseURL(base), workerskv.WithAPIToken(emulator.DefaultAPIToken),
		workerskv.WithAccountID(emulator.DefaultAccountID))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	ns, err := setup.Namespaces.Create(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	if err := setup.KV(ns.ID).Put(ctx, valueKey, makeValue(size100B), nil); err != nil {
		b.Fatal(err)
	}
	for _, name := range runOrder() {
		b.Run("client="+name, func(b *testing.B) {
			c, done := newClient(name, base, emulator.DefaultAPIToken, emulator.DefaultAccountID, ns.ID)
			defer done()
			fn(b, c)
		})
	}
}

func BenchmarkE2EGetValue100B(b *testing.B) {
	forEachClientE2E(b, func(b *testing.B, c kvClient) {
		loop(b, func(ctx context.Context) error {
			v, err := c.Get(ctx, valueKey)
			if err == nil && len(v) != size100B {
				b.Fatalf("got %d bytes", len(v))
			}
			return err
		})
	})
}

func BenchmarkE2EPutValue100B(b *testing.B) {
	value := makeValue(size100B)
	forEachClientE2E(b, func(b *testing.B, c kvClient) {
		loop(b, func(ctx context.Context) error { return c.Put(ctx, valueKey, value) })
	})
}

// --- in process: client code only ---

// inProcessTransport answers a request by calling the canned server's handler in the calling
// goroutine: no socket, no connection goroutines, no scheduler hand-offs. Every client gets the same
// answers as over loopback, so what differs between them is only their own code; the loopback runs
// above add a round trip of about 25 µs whose jitter on a shared machine is larger than the
// differences between the clients on small values.
type inProcessTransport struct{ h http.Handler }

func (t inProcessTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body == nil {
		r.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r) // drains the body
	r.Body.Close()        // a RoundTripper closes the request body
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// forEachClientInProcess is forEachClient with every client's HTTP client on inProcessTransport.
func forEachClientInProcess(b *testing.B, value []byte, fn func(b *testing.B, c kvClient)) {
	srv := newCannedServer(value)
	defer srv.Close()
	for _, name := range runOrder() {
		b.Run("client="+name, func(b *testing.B) {
			c, done := newClientWith(name, srv.BaseURL(), apiToken, accountID, namespaceID,
				&http.Client{Transport: inProcessTransport{srv}})
			defer done()
			fn(b, c)
		})
	}
}

func BenchmarkInProcessGetValue100B(b *testing.B) {
	forEachClientInProcess(b, makeValue(size100B), func(b *testing.B, c kvClient) {
		loop(b, func(ctx context.Context) error {
			v, err := c.Get(ctx, valueKey)
			if err == nil && len(v) != size100B {
				b.Fatalf("got %d bytes", len(v))
			}
			return err
		})
	})
}

func BenchmarkInProcessPutValue100B(b *testing.B) {
	value := makeValue(size100B)
	forEachClientInProcess(b, nil, func(b *testing.B, c kvClient) {
		loop(b, func(ctx context.Context) error { return c.Put(ctx, valueKey, value) })
	})
}

func BenchmarkInProcessPutValueWithMetadata(b *testing.B) {
	value := makeValue(size100B)
	forEachClientInProcess(b, nil, func(b *testing.B, c kvClient) {
		loop(b, func(ctx context.Context) error { return c.PutWithMetadata(ctx, valueKey, value, &metadataValue) })
	})
}

// --- peak heap ---

// reportPeakHeap runs op a few more times after the timed loop, each after a full GC, sampling the
// heap every 50µs, and reports the largest rise over the pre-op heap as "peak-heap-B" (the caller's
// value, already live, is not counted). The sampler is not running during the timed loop. The heap is
// the whole process's, so the in-process server's request handling is included (it drains bodies
// through a pooled buffer and holds nothing).
func reportPeakHeap(b *testing.B, op func(ctx context.Context) error) {
	b.Helper()
	ctx := context.Background()
	var peak uint64
	for range 3 {
		runtime.GC()
		base := heapBytes()
		var mu sync.Mutex
		maxSeen := base
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			t := time.NewTicker(50 * time.Microsecond)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					if h := heapBytes(); h > maxSeen {
						mu.Lock()
						maxSeen = h
						mu.Unlock()
					}
				}
			}
		})
		err := op(ctx)
		close(stop)
		wg.Wait()
		if h := heapBytes(); h > maxSeen {
			maxSeen = h
		}
		if err != nil {
			b.Fatal(err)
		}
		peak = max(peak, maxSeen-base)
	}
	b.ReportMetric(float64(peak), "peak-heap-B")
}

var heapSample = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}

// heapBytes is the bytes in heap objects, live or not yet swept.
func heapBytes() uint64 {
	s := make([]metrics.Sample, 1)
	s[0].Name = heapSample[0].Name
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestRunOrder: every call runs each client once, and not always in the same order.
func TestRunOrder(t *testing.T) {
	firsts := map[string]bool{}
	for range 200 {
		order := runOrder()
		sorted, want := slices.Sorted(slices.Values(order)), slices.Sorted(slices.Values(clientNames))
		if !slices.Equal(sorted, want) {
			t.Fatalf("runOrder() = %q, want each of %q once", order, clientNames)
		}
		firsts[order[0]] = true
	}
	if len(firsts) != len(clientNames) {
		t.Fatalf("in 200 calls only %d clients ran first", len(firsts))
	}
}
