package emulator_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/workerskv/workerskv/emulator"
)

// statuses sends n list requests and returns their statuses.
func statuses(h *harness, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = h.do("GET", nsBase, nil).Code
	}
	return out
}

func TestFaultsAreSeededAndDeterministic(t *testing.T) {
	faults := emulator.Faults{Seed: 42, RateLimited: 0.2, RetryAfter: 1500 * time.Millisecond, ServerError: 0.2, Slow: 0.05, Latency: time.Millisecond}
	a := newHarness(t, emulator.WithFaults(faults))
	b := newHarness(t, emulator.WithFaults(faults))
	const n = 1000
	sa, sb := statuses(a, n), statuses(b, n)
	if !slices.Equal(sa, sb) {
		t.Fatal("same seed, same requests, different faults")
	}
	if a.e.FaultStats() != b.e.FaultStats() {
		t.Fatalf("stats differ: %+v vs %+v", a.e.FaultStats(), b.e.FaultStats())
	}
	st := a.e.FaultStats()
	count := map[int]int64{}
	for _, s := range sa {
		count[s]++
	}
	if st.Requests != n || st.RateLimited != count[429] || st.ServerErrors != count[500]+count[503] || st.Dropped != 0 {
		t.Fatalf("stats %+v, statuses %v", st, count)
	}
	between := func(got int64, lo, hi int64) bool { return got >= lo && got <= hi }
	if !between(st.RateLimited, 150, 250) || !between(st.ServerErrors, 150, 250) || !between(st.Slowed, 20, 80) || count[200] != n-st.RateLimited-st.ServerErrors {
		t.Fatalf("fractions off: %+v", st)
	}
	if d := count[500] - count[503]; d < 0 || d > 1 {
		t.Fatalf("500 and 503 must alternate: %v", count)
	}

	c := newHarness(t, emulator.WithFaults(emulator.Faults{Seed: 43, RateLimited: 0.2, ServerError: 0.2}))
	if slices.Equal(sa, statuses(c, n)) {
		t.Fatal("another seed gave the same faults")
	}

	// The fault responses are proper envelopes.
	h := newHarness(t, emulator.WithFaults(emulator.Faults{RateLimited: 1, RetryAfter: 1500 * time.Millisecond}))
	rec := h.do("GET", nsBase, nil)
	wantError(t, rec, 429, 10429, "Rate limited")
	if got := rec.Header().Get("Retry-After"); got != "2" {
		t.Fatalf("Retry-After %q, want 2", got)
	}
	h = newHarness(t, emulator.WithFaults(emulator.Faults{RateLimited: 1}))
	if got := h.do("GET", nsBase, nil).Header().Get("Retry-After"); got != "1" {
		t.Fatalf("default Retry-After %q, want 1", got)
	}
	h = newHarness(t, emulator.WithFaults(emulator.Faults{ServerError: 1}))
	wantError(t, h.do("GET", nsBase, nil), 500, 10001, "Internal server error")
	wantError(t, h.do("GET", nsBase, nil), 503, 10001, "unavailable")
}

func TestFaultedRequestsChangeNothing(t *testing.T) {
	h := newHarness(t, emulator.WithFaults(emulator.Faults{Seed: 7, ServerError: 0.3, RateLimited: 0.3}))
	var ns string
	for ns == "" {
		var created namespace
		rec := h.doJSON("POST", nsBase, `{"title":"faulty"}`)
		if rec.Code == 200 {
			wantOK(t, rec, &created)
			ns = created.ID
		}
	}
	var written []string
	for i := range 200 {
		key := fmt.Sprintf("k%03d", i)
		if rec := h.do("PUT", valuePath(ns, key), strings.NewReader("v")); rec.Code == 200 {
			written = append(written, key)
		} else if rec.Code != 429 && rec.Code != 500 && rec.Code != 503 {
			t.Fatalf("unexpected status %d", rec.Code)
		}
	}
	if len(written) == 0 || len(written) == 200 {
		t.Fatalf("%d of 200 writes succeeded", len(written))
	}
	for {
		var keys []keyEntry
		rec := h.do("GET", keysPath(ns, ""), nil)
		if rec.Code != 200 {
			continue
		}
		wantOK(t, rec, &keys)
		var names []string
		for _, k := range keys {
			names = append(names, k.Name)
		}
		if !slices.Equal(names, written) {
			t.Fatalf("stored %v\nwant %v", names, written)
		}
		return
	}
}

func TestFaultDropClosesConnection(t *testing.T) {
	e := emulator.New(emulator.WithFaults(emulator.Faults{Seed: 1, Drop: 0.5}))
	srv := httptest.NewServer(e)
	defer srv.Close()
	// No keep-alive: the transport would silently retry an idempotent request
	// that failed on a reused connection.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	var failed, answered int64
	for range 40 {
		req, _ := http.NewRequest("GET", srv.URL+nsBase, nil)
		req.Header.Set("Authorization", "Bearer "+emulator.DefaultAPIToken)
		resp, err := client.Do(req)
		if err != nil {
			failed++
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		answered++
	}
	st := e.FaultStats()
	if failed == 0 || answered == 0 || st.Dropped != failed || st.Requests != 40 {
		t.Fatalf("failed %d, answered %d, stats %+v", failed, answered, st)
	}
}

func TestFaultDropWithoutHijackerPanics(t *testing.T) {
	h := newHarness(t, emulator.WithFaults(emulator.Faults{Drop: 1}))
	defer func() {
		if r := recover(); r != http.ErrAbortHandler {
			t.Fatalf("recovered %v, want http.ErrAbortHandler", r)
		}
	}()
	h.do("GET", nsBase, nil)
	t.Fatal("no panic")
}

func TestFaultLatency(t *testing.T) {
	h := newHarness(t, emulator.WithFaults(emulator.Faults{Slow: 1, Latency: 50 * time.Millisecond}))
	start := time.Now()
	wantOK(t, h.do("GET", nsBase, nil), nil)
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("slow request took %v", d)
	}
	if st := h.e.FaultStats(); st.Slowed != 1 || st.Requests != 1 {
		t.Fatalf("stats %+v", st)
	}

	// A client that gives up is not kept waiting.
	h = newHarness(t, emulator.WithFaults(emulator.Faults{Slow: 1, Latency: time.Hour}))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, "POST", nsBase, strings.NewReader(`{"title":"late"}`))
	req.Header.Set("Authorization", "Bearer "+emulator.DefaultAPIToken)
	done := make(chan struct{})
	go func() {
		h.e.ServeHTTP(httptest.NewRecorder(), req)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("handler did not return when the request's context ended")
	}
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("context not done")
	}
}
