package emulator_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"
)

// stallingBody is a request body that yields prefix (one byte "x" when
// empty), then reports on stalled that the handler is waiting for more and
// blocks until release is closed, as a client that announced a large
// Content-Length and sent only its start does.
type stallingBody struct {
	prefix  string
	sent    bool
	stalled chan<- struct{}
	release <-chan struct{}
}

func (b *stallingBody) Read(p []byte) (int, error) {
	if !b.sent {
		b.sent = true
		if b.prefix == "" {
			b.prefix = "x"
		}
		return copy(p, b.prefix), nil
	}
	b.stalled <- struct{}{}
	<-b.release
	return 0, io.ErrUnexpectedEOF
}

func liveHeapBytes() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestAnnouncedBodiesDoNotReserveMemory: 50 value writes that each announce
// a 25 MiB body and send one byte hold less than 64 MiB of heap between them
// while they wait for the rest: the reader grows with what has arrived, not
// with what Content-Length promises.
func TestAnnouncedBodiesDoNotReserveMemory(t *testing.T) {
	const (
		writers   = 50
		announced = 26_000_000
		heapLimit = 64 << 20
	)
	h := newHarness(t)
	ns := h.createNS("memory")
	before := liveHeapBytes()

	stalled := make(chan struct{}, writers)
	release := make(chan struct{})
	var wg sync.WaitGroup
	codes := make([]int, writers)
	for i := range writers {
		wg.Go(func() {
			req := httptest.NewRequest(http.MethodPut, valuePath(ns, "k"), &stallingBody{stalled: stalled, release: release})
			req.ContentLength = announced
			req.Header.Set("Authorization", "Bearer kvemulator-token")
			rec := httptest.NewRecorder()
			h.e.ServeHTTP(rec, req)
			codes[i] = rec.Code
		})
	}
	for range writers {
		<-stalled
	}
	after := liveHeapBytes()
	held := after - min(before, after)
	close(release)
	wg.Wait()

	t.Logf("%d writers waiting on announced %d-byte bodies hold %.1f MiB of heap", writers, announced, float64(held)/(1<<20))
	if held > heapLimit {
		t.Errorf("heap grew by %d bytes while the bodies were pending, want under %d", held, heapLimit)
	}
	for i, c := range codes {
		if c != http.StatusBadRequest {
			t.Errorf("writer %d: status %d for a body cut short, want 400", i, c)
		}
	}
	if st, _ := h.get(ns, "k"); st != http.StatusNotFound {
		t.Errorf("a cut-short body was stored: GET answers %d", st)
	}
}

// TestBulkWritesDecodeTwoAtATime: bulk write bodies, which are held decoded
// until applied, are read two at a time; a third waits without reading until
// one of the first two is done.
func TestBulkWritesDecodeTwoAtATime(t *testing.T) {
	h := newHarness(t)
	ns := h.createNS("bulk-slots")
	stalled := make(chan struct{}, 3)
	releases := []chan struct{}{make(chan struct{}), make(chan struct{}), make(chan struct{})}
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			body := &stallingBody{prefix: fmt.Sprintf(`[{"key":"k%d","value":"v"}`, i), stalled: stalled, release: releases[i]}
			req := httptest.NewRequest(http.MethodPut, nsBase+"/"+ns+"/bulk", body)
			req.ContentLength = -1 // chunked: no length to refuse up front
			req.Header.Set("Authorization", "Bearer kvemulator-token")
			h.e.ServeHTTP(httptest.NewRecorder(), req)
		})
	}
	<-stalled
	<-stalled
	select {
	case <-stalled:
		t.Fatal("a third bulk write body is being read while two are")
	case <-time.After(200 * time.Millisecond):
	}
	// Whichever two are reading, ending all but one body lets the last in.
	for _, r := range releases {
		close(r)
	}
	wg.Wait()
	if len(stalled) != 1 {
		t.Errorf("%d more bodies read after the first two ended, want 1", len(stalled))
	}
}
