package soak_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/workerskv/workerskv"
	"github.com/workerskv/workerskv/emulator"
	"github.com/workerskv/workerskv/kvtest"
)

// rig is the emulator with faults and two clients sharing one counted transport: strong (8 retries,
// the soak's main client) and weak (1 retry, so that some calls fail for good).
type rig struct {
	srv     *kvtest.Server
	weak    *workerskv.Client
	rt      *countingTransport
	retries *retryCounter
}

func newRig(t *testing.T, f emulator.Faults) *rig {
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.MaxIdleConnsPerHost = 2 * workers
	t.Cleanup(base.CloseIdleConnections)
	r := &rig{rt: &countingTransport{base: base, status: map[int]int{}}, retries: &retryCounter{}}
	hc := &http.Client{Transport: r.rt}
	logger := slog.New(r.retries)
	common := []workerskv.Option{
		workerskv.WithHTTPClient(hc),
		workerskv.WithMaxRetryWait(2 * time.Second), // Retry-After: 1 is honoured
		workerskv.WithLogger(logger),
	}
	r.srv = kvtest.NewServer(t,
		kvtest.WithEmulatorOptions(emulator.WithFaults(f)),
		kvtest.WithClientOptions(append(common,
			workerskv.WithMaxRetries(8),
			workerskv.WithBackoff(time.Millisecond, 20*time.Millisecond))...))
	weak, err := workerskv.NewClient(append(common,
		workerskv.WithAPIToken(r.srv.Token),
		workerskv.WithAccountID(r.srv.AccountID),
		workerskv.WithBaseURL(r.srv.URL),
		workerskv.WithMaxRetries(1),
		workerskv.WithBackoff(time.Millisecond, 5*time.Millisecond))...)
	if err != nil {
		t.Fatal(err)
	}
	r.weak = weak
	return r
}

// createNamespace creates the soak's namespace. Creation is not idempotent, so the client retries it
// only on 429 or when it was never sent; injected faults come before any handling, so trying again
// after a failure cannot make a second namespace (the final check counts them).
func (r *rig) createNamespace(ctx context.Context, t *testing.T) string {
	for range 50 {
		ns, err := r.srv.Client.Namespaces.Create(ctx, "soak")
		if err == nil {
			return ns.ID
		}
		if classify(err) == "" {
			t.Errorf("create: untyped error %T %v", err, err)
		}
	}
	t.Fatal("could not create the namespace")
	return ""
}

// countingTransport counts attempts and what came back: statuses and transport errors.
type countingTransport struct {
	base     http.RoundTripper
	attempts atomic.Int64
	mu       sync.Mutex
	status   map[int]int // by status code; 0 for a transport error
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c.attempts.Add(1)
	resp, err := c.base.RoundTrip(req)
	code := 0
	if err == nil {
		code = resp.StatusCode
	}
	c.mu.Lock()
	c.status[code]++
	c.mu.Unlock()
	return resp, err
}

func (c *countingTransport) snapshot() map[int]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[int]int, len(c.status))
	for k, v := range c.status {
		out[k] = v
	}
	return out
}

// retryCounter is a slog handler that counts the client's "workerskv retry" records (info level).
type retryCounter struct{ n atomic.Int64 }

func (h *retryCounter) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }
func (h *retryCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "workerskv retry" {
		h.n.Add(1)
	}
	return nil
}
func (h *retryCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *retryCounter) WithGroup(string) slog.Handler      { return h }

// finalState sums up the emulator's state at the end.
type finalState struct {
	listed, acked, unknown int
}

// verifyFinal reads the whole namespace through the client (faults are still on: reads are idempotent
// and retried, and a failed read is tried again) and compares it with every worker's model.
func verifyFinal(ctx context.Context, t *testing.T, c *workerskv.Client, ns string, ws []*worker, tl *tally) finalState {
	var fs finalState
	byName := map[string]*keyModel{}
	for _, w := range ws {
		for _, k := range w.keys {
			byName[k.name] = k
			if len(k.ok) == 1 {
				fs.acked++
			} else {
				fs.unknown++
			}
		}
	}
	var nsCount int
	retry(t, "list namespaces", func() error {
		nsCount = 0
		for _, err := range c.Namespaces.All(ctx, nil) {
			if err != nil {
				return err
			}
			nsCount++
		}
		return nil
	})
	if nsCount != 1 {
		tl.violation("unexpected", "%d namespaces, want 1", nsCount)
	}
	listed := map[string][]byte{}
	retry(t, "list keys", func() error {
		clear(listed)
		for k, err := range c.Keys.All(ctx, ns, nil) {
			if err != nil {
				return err
			}
			listed[k.Name] = k.Metadata
		}
		return nil
	})
	fs.listed = len(listed)
	values := readAll(ctx, t, c, ns, slices.Sorted(maps.Keys(listed)))
	for _, name := range slices.Sorted(maps.Keys(listed)) {
		k, v := byName[name], values[name]
		if k == nil {
			tl.violation("unexpected", "final: key %q was never written", name)
			continue
		}
		n, ok := k.byValue[string(v)]
		switch {
		case !ok:
			tl.violation("unexpected", "final %q: a value never written: %.60q", name, v)
		case !k.ok[n]:
			tl.violation("lost", "final %q: version %d, want one of %v", name, n, k.states())
		case !k.metaMatches(n, listed[name]):
			tl.violation("unexpected", "final %q: version %d listed with metadata %s", name, n, listed[name])
		}
	}
	for name, k := range byName {
		if _, ok := listed[name]; !ok && !k.ok[absent] {
			tl.violation("lost", "final %q: missing, want one of %v", name, k.states())
		}
	}
	return fs
}

// readAll reads the values of names, 8 at a time, each with retry.
func readAll(ctx context.Context, t *testing.T, c *workerskv.Client, ns string, names []string) map[string][]byte {
	var mu sync.Mutex
	values := make(map[string][]byte, len(names))
	var failed []error
	work := make(chan string)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for name := range work {
				var v []byte
				err := try(func() (err error) { v, err = c.Values.Get(ctx, ns, name); return err })
				mu.Lock()
				values[name] = v
				if err != nil {
					failed = append(failed, fmt.Errorf("final read of %q: %w", name, err))
				}
				mu.Unlock()
			}
		})
	}
	for _, name := range names {
		work <- name
	}
	close(work)
	wg.Wait()
	if len(failed) > 0 {
		t.Fatal(errors.Join(failed...))
	}
	return values
}

// retry calls f until it succeeds, up to 20 times, and ends the test if it never does.
func retry(t *testing.T, what string, f func() error) {
	t.Helper()
	if err := try(f); err != nil {
		t.Fatalf("final read %s: %v", what, err)
	}
}

// try calls f until it succeeds, up to 20 times, or the context is cancelled.
func try(f func() error) error {
	var err error
	for range 20 {
		if err = f(); err == nil || errors.Is(err, context.Canceled) {
			break
		}
	}
	return err
}

// figures are what the soak reports.
type figures struct {
	ops            int
	byKind, errs   map[string]int
	faults         emulator.FaultStats
	attempts       int64
	retries        int64
	seen           map[int]int
	final          finalState
	tl             *tally
	elapsed, total time.Duration
}

func report(t *testing.T, f figures) {
	lines := []string{
		fmt.Sprintf("soak: %d operations by %d goroutines in %v (with the final check %v)", f.ops, workers, f.elapsed.Round(time.Millisecond), f.total.Round(time.Millisecond)),
		fmt.Sprintf("soak: operations by kind: %v", sortedMap(f.byKind)),
		fmt.Sprintf("soak: emulator requests %d; faults injected: 429 %d, 500/503 %d, dropped %d, slowed %d",
			f.faults.Requests, f.faults.RateLimited, f.faults.ServerErrors, f.faults.Dropped, f.faults.Slowed),
		fmt.Sprintf("soak: client attempts %d, retries %d (%.2f attempts per operation); answers seen by status (0 = transport error): %v",
			f.attempts, f.retries, float64(f.attempts)/float64(max(f.ops, 1)), f.seen),
		fmt.Sprintf("soak: failed calls by error kind: %v (untyped: %d)", sortedMap(f.errs), f.tl.untyped),
		fmt.Sprintf("soak: final state: %d keys listed; of %d keys, %d exactly known, %d unknown after failed calls",
			f.final.listed, f.final.acked+f.final.unknown, f.final.acked, f.final.unknown),
		fmt.Sprintf("soak: lost %d, unexpected %d", f.tl.lost, f.tl.unexpected),
	}
	for _, l := range lines {
		t.Log(l)
	}
	if !testing.Verbose() {
		fmt.Println(strings.Join(lines, "\n"))
	}
}

func sortedMap[K string | int](m map[K]int) string {
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%v=%d", k, m[k])
	}
	return b.String()
}
