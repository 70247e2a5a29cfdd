package soak_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/workerskv/workerskv"
	"github.com/workerskv/workerskv/emulator"
	"github.com/workerskv/workerskv/kvtest"
)

// These tests are not parallel: each checks that no goroutine it started (client, transport, bulk
// workers, emulator, HTTP server) outlives it. Each stops its own server before the check.

// startEmulator starts an emulator with a namespace holding n keys; the caller closes it.
func startEmulator(t *testing.T, n int, opts ...kvtest.Option) (*kvtest.Server, string) {
	t.Helper()
	srv, err := kvtest.Start(opts...)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := srv.Client.Namespaces.Create(t.Context(), "leak")
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	if n > 0 {
		pairs := make([]workerskv.BulkPair, n)
		for i := range pairs {
			pairs[i] = workerskv.BulkPair{Key: fmt.Sprintf("k%03d", i), Value: []byte("v")}
		}
		if res, err := srv.Client.Bulk.Put(t.Context(), ns.ID, pairs, nil); err != nil || res.Succeeded != n {
			srv.Close()
			t.Fatalf("bulk put: %+v, %v", res, err)
		}
	}
	return srv, ns.ID
}

// TestNoLeakKeyIteratorBreak breaks out of key listings of several pages: after the first key, and in
// the middle of the second page.
func TestNoLeakKeyIteratorBreak(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv, ns := startEmulator(t, 35)
	defer srv.Close()
	for _, stopAfter := range []int{1, 15} {
		seen := 0
		for k, err := range srv.Client.Keys.All(t.Context(), ns, &workerskv.ListKeysOptions{Limit: 10}) {
			if err != nil {
				t.Fatal(err)
			}
			if seen++; seen == stopAfter {
				if k.Name != fmt.Sprintf("k%03d", stopAfter-1) {
					t.Errorf("key %d is %q", seen, k.Name)
				}
				break
			}
		}
		if seen != stopAfter {
			t.Errorf("saw %d keys, want %d", seen, stopAfter)
		}
	}
}

// TestNoLeakNamespacesIteratorBreak does the same for namespaces, 5 a page.
func TestNoLeakNamespacesIteratorBreak(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv, _ := startEmulator(t, 0)
	defer srv.Close()
	for i := range 11 {
		if _, err := srv.Client.Namespaces.Create(t.Context(), fmt.Sprintf("ns-%02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	for _, stopAfter := range []int{1, 7} {
		seen := 0
		for _, err := range srv.Client.Namespaces.All(t.Context(), &workerskv.ListNamespacesOptions{PerPage: 5}) {
			if err != nil {
				t.Fatal(err)
			}
			if seen++; seen == stopAfter {
				break
			}
		}
		if seen != stopAfter {
			t.Errorf("saw %d namespaces, want %d", seen, stopAfter)
		}
	}
}

// TestNoLeakCancelledBulkJobs cancels bulk writes, deletes and reads while their requests are in
// flight (every request is held 150ms by a latency fault), with several requests running at once.
func TestNoLeakCancelledBulkJobs(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv, ns := startEmulator(t, 0, kvtest.WithEmulatorOptions(
		emulator.WithFaults(emulator.Faults{Seed: 1, Slow: 1, Latency: 150 * time.Millisecond})))
	defer srv.Close()
	pairs := make([]workerskv.BulkPair, 25_000) // 3 requests
	keys := make([]string, 1_000)               // 10 requests of bulk get
	for i := range pairs {
		pairs[i] = workerskv.BulkPair{Key: fmt.Sprintf("k%05d", i), Value: []byte("v")}
		if i < len(keys) {
			keys[i] = pairs[i].Key
		}
	}
	// cancelSoon's context is cancelled once the emulator holds a new
	// request: a timer instead could fire after a short job had ended.
	cancelSoon := func() context.Context {
		ctx, cancel := context.WithCancel(t.Context())
		before := srv.Emulator.FaultStats().Slowed
		go func() {
			for srv.Emulator.FaultStats().Slowed == before && ctx.Err() == nil {
				time.Sleep(time.Millisecond)
			}
			cancel()
		}()
		return ctx
	}
	opts := &workerskv.BulkOptions{Concurrency: 2}
	res, err := srv.Client.Bulk.Put(cancelSoon(), ns, pairs, opts)
	checkCancelled(t, "put", res, err, len(pairs))
	res, err = srv.Client.Bulk.Delete(cancelSoon(), ns, keys, opts)
	checkCancelled(t, "delete", res, err, len(keys))
	if _, err := srv.Client.Bulk.Get(cancelSoon(), ns, keys, &workerskv.BulkGetOptions{Concurrency: 3}); !errors.Is(err, context.Canceled) {
		t.Errorf("get: %v, want context.Canceled", err)
	}
}

func checkCancelled(t *testing.T, what string, res *workerskv.BulkResult, err error, n int) {
	t.Helper()
	if !errors.Is(err, context.Canceled) {
		t.Errorf("%s: %v, want context.Canceled", what, err)
	}
	if res == nil || res.Succeeded+len(res.Unsuccessful)+len(res.Unconfirmed) != n || len(res.Unconfirmed) == 0 {
		t.Errorf("%s: result %v does not account for %d items with some unconfirmed", what, res, n)
	}
}

// TestNoLeakEmulatorShutdown closes the kvtest server while requests are in flight (held by a latency
// fault), then uses the client against the closed server.
func TestNoLeakEmulatorShutdown(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv, ns := startEmulator(t, 0, kvtest.WithEmulatorOptions(
		emulator.WithFaults(emulator.Faults{Seed: 1, Slow: 1, Latency: 300 * time.Millisecond})))
	before := srv.Emulator.FaultStats().Slowed
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			errs[i] = srv.Client.Values.Put(t.Context(), ns, fmt.Sprintf("k%d", i), strings.NewReader("v"), nil)
		})
	}
	for srv.Emulator.FaultStats().Slowed < before+int64(len(errs)) {
		time.Sleep(5 * time.Millisecond)
	}
	srv.Close() // waits for the requests in flight
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("put %d in flight at shutdown: %v", i, err)
		}
	}
	if _, err := srv.Client.Values.Get(t.Context(), ns, "k0"); err == nil || classify(err) != "transport" {
		t.Errorf("get after shutdown: %v, want a transport error", err)
	}
}
