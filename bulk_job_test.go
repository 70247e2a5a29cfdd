package workerskv_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"reflect"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/workerskv/workerskv"
)

// bkStub is a tiny RoundTripper standing in for the bulk endpoints: it drains each body, counting its
// bytes, items and the requests in flight, and answers that every item was written.
type bkStub struct {
	delay                   time.Duration
	inflight, peak          atomic.Int32
	requests, bytes, itemsN atomic.Int64
}

// bkCounter counts a body's bytes and items: objects ("{") for writes, else commas + 1 for deletes.
type bkCounter struct{ n, braces, commas int64 }

func (w *bkCounter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	w.braces += int64(bytes.Count(p, []byte{'{'}))
	w.commas += int64(bytes.Count(p, []byte{','}))
	return len(p), nil
}

func (s *bkStub) RoundTrip(req *http.Request) (*http.Response, error) {
	n := s.inflight.Add(1)
	defer s.inflight.Add(-1)
	for p := s.peak.Load(); n > p && !s.peak.CompareAndSwap(p, n); p = s.peak.Load() {
	}
	var w bkCounter
	io.Copy(&w, req.Body)
	req.Body.Close()
	items := w.braces
	if items == 0 && w.n > 2 {
		items = w.commas + 1
	}
	if s.delay > 0 {
		time.Sleep(s.delay)
	}
	s.requests.Add(1)
	s.bytes.Add(w.n)
	s.itemsN.Add(items)
	body := envelope(`{"successful_key_count":` + strconv.FormatInt(items, 10) + `,"unsuccessful_keys":[]}`)
	return &http.Response{
		StatusCode: 200, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/json"}}, ContentLength: int64(len(body)),
		Body: io.NopCloser(strings.NewReader(body)), Request: req,
	}, nil
}

func bkStubClient(tb testing.TB, rt http.RoundTripper) *workerskv.Client {
	tb.Helper()
	c, err := workerskv.NewClient(workerskv.WithAPIToken(canaryToken), workerskv.WithAccountID(testAccount),
		workerskv.WithBaseURL(testBase), workerskv.WithHTTPClient(&http.Client{Transport: rt}))
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// bkSmallPairs yields n small pairs, made as they are read.
func bkSmallPairs(n int) iter.Seq2[workerskv.BulkPair, error] {
	return func(yield func(workerskv.BulkPair, error) bool) {
		for i := range n {
			k := strconv.AppendInt([]byte("key-"), int64(i), 10)
			if !yield(workerskv.BulkPair{Key: string(k), Value: append(k, "-value"...)}, nil) {
				return
			}
		}
	}
}

// TestBulkPutSeqStreamsMillionPairs: a million small pairs streamed through PutSeq never sit in
// memory at once. The live heap, as each garbage collection during the job finds it, stays far below
// what the pairs take encoded (about 48 MB here) or held as a []BulkPair (over 100 MB). The live heap
// leaves out garbage, whose allowance grows with whatever earlier tests left live, so the measure does
// not depend on the tests run before. Not parallel: it measures the heap.
func TestBulkPutSeqStreamsMillionPairs(t *testing.T) {
	const n = 1_000_000
	stub := &bkStub{}
	c := bkStubClient(t, stub)
	// A ballast of 16 MB, never written (so it costs no page), paces the collector the same whatever
	// earlier tests left live: a collection every 16 MB or more of allocation, about 20 in the job,
	// instead of one every few MB on an empty heap. Holding half the pairs would still be seen.
	ballast := make([]byte, 16<<20)
	defer runtime.KeepAlive(ballast)
	runtime.GC()
	before := readGCStats()
	peak := before.live
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			peak = max(peak, readGCStats().live)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	start := time.Now()
	res, err := c.Bulk.PutSeq(t.Context(), testNS, bkSmallPairs(n), nil)
	elapsed := time.Since(start)
	close(done)
	<-sampled
	after := readGCStats()
	peak = max(peak, after.live)
	if err != nil || res.Succeeded != n || stub.itemsN.Load() != n {
		t.Fatalf("PutSeq: %d ok, %d items received, %v", res.Succeeded, stub.itemsN.Load(), err)
	}
	growth := int64(peak) - int64(before.live)
	sent := stub.bytes.Load()
	cycles := after.cycles - before.cycles
	t.Logf("PutSeq of %d pairs: %d requests, %.1f MB of JSON in %s; %d garbage collections, peak live heap %.1f MB above the %.1f MB before",
		n, stub.requests.Load(), float64(sent)/1e6, elapsed.Round(time.Millisecond), cycles, float64(growth)/1e6, float64(before.live)/1e6)
	if cycles < 2 {
		t.Fatalf("%d garbage collections during the job: too few to see its live heap", cycles)
	}
	if growth > 150e6 || growth > sent/2 {
		t.Errorf("peak live heap grew by %d bytes while sending %d: the pairs are not streamed", growth, sent)
	}
}

// gcStats is what the latest garbage collection found live, and how many have run.
type gcStats struct{ live, cycles uint64 }

func readGCStats() gcStats {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return gcStats{s[0].Value.Uint64(), s[1].Value.Uint64()}
}

// TestBulkConcurrencyAndProgress: requests run concurrently up to the limit, never more; progress
// comes once per finished request, never concurrently, with monotonic counts ending at the total. Each
// request takes 50ms of the bubble's fake time: those in flight are all held at once before any ends.
func TestBulkConcurrencyAndProgress(t *testing.T) {
	t.Parallel()
	synctest.Test(t, testBulkConcurrencyAndProgress)
}

func testBulkConcurrencyAndProgress(t *testing.T) {
	stub := &bkStub{delay: 50 * time.Millisecond}
	c := bkStubClient(t, stub)
	keys := make([]string, 100_000)
	for i := range keys {
		keys[i] = "k" + strconv.Itoa(i)
	}
	var reports []workerskv.BulkProgress
	var inCallback atomic.Int32
	progress := func(p workerskv.BulkProgress) {
		if inCallback.Add(1) != 1 {
			t.Error("progress called concurrently")
		}
		reports = append(reports, p)
		inCallback.Add(-1)
	}
	start := time.Now()
	res, err := c.Bulk.Delete(t.Context(), testNS, keys, &workerskv.BulkOptions{Concurrency: 3, Progress: progress})
	if err != nil || res.Succeeded != len(keys) {
		t.Fatalf("Delete = %d ok, %v", res.Succeeded, err)
	}
	if p := stub.peak.Load(); p != 3 {
		t.Errorf("at most %d requests in flight, want 3", p)
	}
	// Three at a time, ten requests take four rounds.
	if d := time.Since(start); d != 4*stub.delay {
		t.Errorf("the job took %v, want %v", d, 4*stub.delay)
	}
	if len(reports) != 10 {
		t.Fatalf("%d progress reports, want 10", len(reports))
	}
	for i, p := range reports {
		if p.Requests != i+1 || p.Done != (i+1)*10_000 || p.Total != len(keys) || (i > 0 && p.Bytes <= reports[i-1].Bytes) {
			t.Errorf("report %d: %+v", i, p)
		}
	}
	if last := reports[9]; last.Bytes != stub.bytes.Load() {
		t.Errorf("progress says %d bytes, the server got %d", last.Bytes, stub.bytes.Load())
	}
}

// bkBlocking answers the first ok requests with success (recording their keys) and holds the
// others until they are cancelled.
type bkBlocking struct {
	ok    int
	mu    sync.Mutex
	calls int
	acked map[string]bool
}

func (b *bkBlocking) RoundTrip(req *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(req.Body)
	b.mu.Lock()
	b.calls++
	ok := b.calls <= b.ok
	if ok {
		keys, _ := bkKeysOf(body)
		for _, k := range keys {
			b.acked[k] = true
		}
	}
	b.mu.Unlock()
	if ok {
		return bkAcceptAll(&http.Request{Body: io.NopCloser(bytes.NewReader(body)), Header: req.Header, URL: req.URL})
	}
	<-req.Context().Done()
	return nil, req.Context().Err()
}

// TestBulkCancelAccounting: cancelling the context stops a job at once (no time passes in the
// bubble), leaks no goroutine (the bubble would not end), and the result says exactly which keys were
// written: the unconfirmed keys are exactly those not acknowledged. For PutSeq, every pair read from
// the input is accounted for.
func TestBulkCancelAccounting(t *testing.T) {
	t.Parallel()
	for _, streamed := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) { testBulkCancelAccounting(t, streamed) })
	}
}

func testBulkCancelAccounting(t *testing.T, streamed bool) {
	srv := &bkBlocking{ok: 2, acked: map[string]bool{}}
	c := bkStubClient(t, srv)
	ctx, cancel := context.WithCancel(t.Context())
	var cancelled time.Time
	opts := &workerskv.BulkOptions{Concurrency: 2, Progress: func(p workerskv.BulkProgress) {
		if p.Requests == 2 {
			cancelled = time.Now()
			cancel()
		}
	}}
	var all []string
	var res *workerskv.BulkResult
	var err error
	if streamed {
		seq := func(yield func(workerskv.BulkPair, error) bool) { // endless input
			for i := 0; ; i++ {
				all = append(all, "key-"+strconv.Itoa(i))
				if !yield(workerskv.BulkPair{Key: all[i], Value: []byte("v")}, nil) {
					return
				}
			}
		}
		res, err = c.Bulk.PutSeq(ctx, testNS, seq, opts)
	} else {
		pairs := bkPairs(60_000, bkSmall)
		for _, p := range pairs {
			all = append(all, p.Key)
		}
		res, err = c.Bulk.Put(ctx, testNS, pairs, opts)
	}
	cancel()
	if wait := time.Since(cancelled); !errors.Is(err, context.Canceled) || wait != 0 {
		t.Errorf("streamed=%v: err %v, %s after cancel", streamed, err, wait)
	}
	if res.Succeeded != 20_000 || len(srv.acked) != 20_000 || len(res.Unsuccessful) != 0 {
		t.Errorf("streamed=%v: %d ok, %d acknowledged, unsuccessful %v", streamed, res.Succeeded, len(srv.acked), res.Unsuccessful)
	}
	var want []string
	for _, k := range all {
		if !srv.acked[k] {
			want = append(want, k)
		}
	}
	got := slices.Clone(res.Unconfirmed)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) || res.Succeeded+len(res.Unconfirmed) != len(all) {
		t.Errorf("streamed=%v: %d unconfirmed, want the %d keys not acknowledged (of %d)", streamed, len(got), len(want), len(all))
	}
}

// TestBulkCancelDuringRetryBackoff: keys the API refused are reported unsuccessful, not unconfirmed,
// when the job is cancelled while waiting to retry them; the wait ends at once.
func TestBulkCancelDuringRetryBackoff(t *testing.T) {
	t.Parallel()
	synctest.Test(t, testBulkCancelDuringRetryBackoff)
}

func testBulkCancelDuringRetryBackoff(t *testing.T) {
	c, m := setup(t, workerskv.WithBackoff(time.Hour, time.Hour))
	m.on("PUT", bkPutURL, jsonResponder(200, bkResult(1, "b")))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	start := time.Now()
	res, err := c.Bulk.Put(ctx, testNS, []workerskv.BulkPair{{Key: "a"}, {Key: "b"}},
		&workerskv.BulkOptions{Progress: func(workerskv.BulkProgress) { go cancel() }})
	if !errors.Is(err, context.Canceled) || time.Since(start) != 0 {
		t.Errorf("err %v after %s", err, time.Since(start))
	}
	if res.Succeeded != 1 || !slices.Equal(res.Unsuccessful, []string{"b"}) || len(res.Unconfirmed) != 0 || len(m.requests()) != 1 {
		t.Errorf("result %+v, %d requests", res, len(m.requests()))
	}
}

// TestBulkPutSeqInputError: an error from the input stops the job; the requests already sent complete
// and the pairs read but not sent are unconfirmed.
func TestBulkPutSeqInputError(t *testing.T) {
	t.Parallel()
	errInput := errors.New("disk on fire")
	for _, bad := range []struct {
		err  error
		pair workerskv.BulkPair
	}{{errInput, workerskv.BulkPair{}}, {nil, workerskv.BulkPair{Key: ".."}}} {
		c, m := setup(t)
		m.on("PUT", bkPutURL, bkAcceptAll)
		seq := func(yield func(workerskv.BulkPair, error) bool) {
			for i := range 15_000 {
				if !yield(workerskv.BulkPair{Key: fmt.Sprintf("key-%06d", i)}, nil) {
					return
				}
			}
			yield(bad.pair, bad.err)
		}
		res, err := c.Bulk.PutSeq(t.Context(), testNS, seq, &workerskv.BulkOptions{Concurrency: 1})
		if (bad.err != nil && !errors.Is(err, errInput)) || (bad.err == nil && !errors.Is(err, workerskv.ErrInvalidInput)) {
			t.Errorf("err = %v", err)
		}
		if res.Succeeded != 10_000 || len(res.Unconfirmed) != 5_000 || res.Unconfirmed[0] != "key-010000" || len(m.requests()) != 1 {
			t.Errorf("%d ok, %d unconfirmed, %d requests", res.Succeeded, len(res.Unconfirmed), len(m.requests()))
		}
	}
}

// TestBulkPutRetriesUnsuccessfulKeys: keys in unsuccessful_keys are sent again (only they, encoded
// the same), a bounded number of times; what still fails is reported, and counts add up.
func TestBulkPutRetriesUnsuccessfulKeys(t *testing.T) {
	t.Parallel()
	synctest.Test(t, testBulkPutRetriesUnsuccessfulKeys)
}

func testBulkPutRetriesUnsuccessfulKeys(t *testing.T) {
	for _, tc := range []struct {
		retries, requests int
	}{{2, 3}, {0, 4}, {-1, 1}} { // 0 means the default, 3
		c, m := setup(t)
		var calls atomic.Int32
		m.on("PUT", bkPutURL, func(req *http.Request) (*http.Response, error) {
			keys, _ := bkKeysOf(m.requests()[calls.Add(1)-1].Body)
			if slices.Equal(keys, []string{"a", "b", "c"}) {
				return jsonResponder(200, bkResult(1, "b", "c"))(req)
			}
			return jsonResponder(200, bkResult(len(keys)-1, "c"))(req)
		})
		pairs := []workerskv.BulkPair{{Key: "a"}, {Key: "b", Value: []byte{0xff}}, {Key: "c", Value: []byte("text"), Metadata: map[string]int{"n": 1}}}
		var last workerskv.BulkProgress
		res, err := c.Bulk.Put(t.Context(), testNS, pairs, &workerskv.BulkOptions{Resends: tc.retries, Progress: func(p workerskv.BulkProgress) { last = p }})
		reqs := m.requests()
		if err != nil || len(reqs) != tc.requests {
			t.Fatalf("retries %d: err %v, %d requests, want %d", tc.retries, err, len(reqs), tc.requests)
		}
		wantUnsuccessful, wantOK := []string{"c"}, 2
		if tc.retries < 0 {
			wantUnsuccessful, wantOK = []string{"b", "c"}, 1
		}
		if res.Succeeded != wantOK || !slices.Equal(res.Unsuccessful, wantUnsuccessful) || len(res.Unconfirmed) != 0 {
			t.Errorf("retries %d: result %+v", tc.retries, res)
		}
		if last.Done != wantOK || last.Total != 3 || last.Requests != tc.requests {
			t.Errorf("retries %d: last progress %+v", tc.retries, last)
		}
		first := bkItems(t, reqs[0].Body)
		if len(reqs) > 1 {
			retry := bkItems(t, reqs[1].Body)
			if len(retry) != 2 || !reflect.DeepEqual(retry[0], first[1]) || !reflect.DeepEqual(retry[1], first[2]) {
				t.Errorf("retried body %s, first body %s", reqs[1].Body, reqs[0].Body)
			}
		}
	}
}

// TestBulkPutFailedRequest: a request refused for good (400) fails the job; its keys are unsuccessful,
// those never sent unconfirmed, and the counts add up to the total.
func TestBulkPutFailedRequest(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	var calls atomic.Int32
	m.on("PUT", bkPutURL, func(req *http.Request) (*http.Response, error) {
		if calls.Add(1) == 2 {
			return jsonResponder(400, failure(10033, "invalid expiration"))(req)
		}
		return bkAcceptAll(req)
	})
	pairs := bkPairs(20_001, bkSmall)
	res, err := c.Bulk.Put(t.Context(), testNS, pairs, &workerskv.BulkOptions{Concurrency: 1})
	if _, ok := errors.AsType[*workerskv.APIError](err); !ok {
		t.Fatalf("err = %v, want an *APIError", err)
	}
	if res.Succeeded != 10_000 || len(res.Unsuccessful) != 10_000 || !slices.Equal(res.Unconfirmed, []string{pairs[20_000].Key}) {
		t.Errorf("result: %d ok, %d unsuccessful, unconfirmed %v", res.Succeeded, len(res.Unsuccessful), res.Unconfirmed)
	}
	if res.Unsuccessful[0] != pairs[10_000].Key || len(m.requests()) != 2 {
		t.Errorf("unsuccessful from %q; %d requests", res.Unsuccessful[0], len(m.requests()))
	}
}

// bkSlowFirst answers like bkAcceptAll, but holds the request that carries key "k0" for 100ms.
type bkSlowFirst struct{}

func (bkSlowFirst) RoundTrip(req *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(req.Body)
	if bytes.Contains(body, []byte(`"k0"`)) {
		time.Sleep(100 * time.Millisecond)
	}
	return bkAcceptAll(&http.Request{Body: io.NopCloser(bytes.NewReader(body)), Header: req.Header, URL: req.URL})
}

// TestBulkPanickingProgressLeavesNoWorker: of two requests, the first goes to a worker and is held;
// the last is sent on the caller's goroutine, whose Progress callback panics. The panic reaches the
// caller, and the worker, once done, is not left waiting for more chunks: the bubble ends only when
// every goroutine started in it has returned, and fails if one is left blocked.
func TestBulkPanickingProgressLeavesNoWorker(t *testing.T) {
	t.Parallel()
	synctest.Test(t, testBulkPanickingProgressLeavesNoWorker)
}

func testBulkPanickingProgressLeavesNoWorker(t *testing.T) {
	c := bkStubClient(t, bkSlowFirst{})
	keys := make([]string, 20_000)
	for i := range keys {
		keys[i] = "k" + strconv.Itoa(i)
	}
	opts := &workerskv.BulkOptions{Concurrency: 2, Progress: func(p workerskv.BulkProgress) {
		if p.Requests == 1 { // the caller's request: the worker's is still held
			panic("progress")
		}
	}}
	func() {
		defer func() {
			if r := recover(); r != "progress" {
				t.Errorf("recovered %v, want the callback's panic", r)
			}
		}()
		c.Bulk.Delete(t.Context(), testNS, keys, opts)
	}()
}
