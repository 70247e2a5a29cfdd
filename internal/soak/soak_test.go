package soak_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/workerskv/workerskv"
	"github.com/workerskv/workerskv/emulator"
)

var long = flag.Bool("soak.long", false, "run the fault soak about ten times longer (also WORKERSKV_SOAK=long)")

// soakFaults is the seeded fault mix: 20% of requests are rate limited (2%, Retry-After 1s), fail with
// 500 or 503 (10%), have their connection dropped (5%) or are delayed by a latency spike (3%).
var soakFaults = emulator.Faults{
	Seed:        20260611,
	RateLimited: 0.02,
	RetryAfter:  time.Second,
	ServerError: 0.10,
	Drop:        0.05,
	Slow:        0.03,
	Latency:     100 * time.Millisecond,
}

const (
	workers       = 8
	keysPerWorker = 48
	opsPerWorker  = 300 // 2,400 operations; ten times more with -soak.long
)

// TestFaultSoak runs a mixed workload from 8 goroutines, each on its own keys, through the real client
// against the emulator with seeded faults, keeping an exact model of what the client acknowledged; then
// it reads the emulator's final state and compares. No acknowledged write may be lost, no key or value
// may appear that the workload did not ask for, and every failed call must return a typed error.
func TestFaultSoak(t *testing.T) {
	ops := opsPerWorker
	if *long || os.Getenv("WORKERSKV_SOAK") == "long" {
		ops *= 10
	}
	rig := newRig(t, soakFaults)
	ctx := t.Context()
	ns := rig.createNamespace(ctx, t)

	tl := newTally()
	ws := make([]*worker, workers)
	for i := range ws {
		ws[i] = newWorker(t, i, rig, ns, tl)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Go(func() { w.run(ctx, ops) })
	}
	wg.Wait()
	elapsed := time.Since(start)

	stats := rig.srv.Emulator.FaultStats()
	attempts, retries, seen := rig.rt.attempts.Load(), rig.retries.n.Load(), rig.rt.snapshot()
	final := verifyFinal(ctx, t, rig.srv.Client, ns, ws, tl)
	report(t, figures{
		ops: tl.sum(tl.ops), byKind: tl.ops, errs: tl.errs, faults: stats, attempts: attempts, retries: retries,
		seen: seen, final: final, tl: tl, elapsed: elapsed, total: time.Since(start),
	})

	if n := tl.sum(tl.ops); n < workers*ops {
		t.Errorf("%d operations, want %d", n, workers*ops)
	}
	if stats.RateLimited == 0 || stats.ServerErrors == 0 || stats.Dropped == 0 || stats.Slowed == 0 {
		t.Errorf("a kind of fault was never injected: %+v", stats)
	}
	if retries == 0 || attempts <= int64(tl.sum(tl.ops)) {
		t.Errorf("retries %d, attempts %d for %d operations: the faults were not retried", retries, attempts, tl.sum(tl.ops))
	}
	for _, n := range tl.notes {
		t.Error(n)
	}
	if tl.lost != 0 || tl.unexpected != 0 || tl.untyped != 0 {
		t.Errorf("lost %d, unexpected %d, untyped errors %d", tl.lost, tl.unexpected, tl.untyped)
	}
}

// worker owns the keys under its prefix, so its model is exact: only it writes them.
type worker struct {
	t            testing.TB
	rng          *rand.Rand
	strong, weak *workerskv.Client
	ns, prefix   string
	keys         []*keyModel
	byName       map[string]*keyModel
	tl           *tally
}

func newWorker(t testing.TB, id int, r *rig, ns string, tl *tally) *worker {
	w := &worker{
		t: t, rng: rand.New(rand.NewPCG(uint64(soakFaults.Seed), uint64(id))),
		strong: r.srv.Client, weak: r.weak, ns: ns, prefix: fmt.Sprintf("w%d/", id),
		byName: map[string]*keyModel{}, tl: tl,
	}
	for i := range keysPerWorker {
		name := fmt.Sprintf("%sk%03d", w.prefix, i)
		switch i % 8 {
		case 3:
			name += " a?b#c%d ü" // escaping under faults
		case 5:
			name += "/.."
		}
		k := newKeyModel(name)
		w.keys = append(w.keys, k)
		w.byName[name] = k
	}
	return w
}

func (w *worker) run(ctx context.Context, n int) {
	for range n {
		switch p := w.rng.IntN(100); {
		case p < 18:
			w.put(ctx, w.strong, "put")
		case p < 24:
			w.put(ctx, w.weak, "put-weak")
		case p < 31:
			w.del(ctx, w.strong, "delete")
		case p < 34:
			w.del(ctx, w.weak, "delete-weak")
		case p < 52:
			w.get(ctx)
		case p < 60:
			w.metadata(ctx)
		case p < 70:
			w.list(ctx)
		case p < 80:
			w.bulkPut(ctx)
		case p < 88:
			w.bulkDelete(ctx)
		default:
			w.bulkGet(ctx)
		}
	}
}

func (w *worker) pick() *keyModel { return w.keys[w.rng.IntN(len(w.keys))] }

// pickN returns n distinct keys.
func (w *worker) pickN(n int) []*keyModel {
	idx := w.rng.Perm(len(w.keys))[:n]
	out := make([]*keyModel, n)
	for i, j := range idx {
		out[i] = w.keys[j]
	}
	return out
}

// readCtx gives one read in ten a 15ms deadline, which latency spikes and Retry-After waits break:
// context errors are part of the workload. Writes get no deadline, so that a write the client gave up
// on cannot land on the server after a later one.
func (w *worker) readCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	if w.rng.IntN(10) == 0 {
		return context.WithTimeout(ctx, 15*time.Millisecond)
	}
	return ctx, func() {}
}

// bulkClient picks the client of a bulk write: the one with 8 retries, or one time in three the one
// with a single retry, whose calls fail now and then.
func (w *worker) bulkClient(what string) (*workerskv.Client, string) {
	if w.rng.IntN(3) == 0 {
		return w.weak, what + "-weak"
	}
	return w.strong, what
}

func (w *worker) put(ctx context.Context, c *workerskv.Client, what string) {
	k := w.pick()
	n, v := k.newVersion(w.rng.IntN(2) == 0, w.rng.IntN(150))
	opts := &workerskv.PutOptions{Metadata: k.metadata(n)}
	if w.rng.IntN(4) == 0 {
		opts.ExpirationTTL = 24 * time.Hour // the emulator's clock never moves: the key stays
	}
	err := c.Values.Put(ctx, w.ns, k.name, bytes.NewReader([]byte(v)), opts)
	w.tl.op(what)
	if err != nil {
		w.tl.failed(w.t, what, err)
		k.unknown(n)
		return
	}
	k.acked(n)
}

func (w *worker) del(ctx context.Context, c *workerskv.Client, what string) {
	k := w.pick()
	err := c.Values.Delete(ctx, w.ns, k.name)
	w.tl.op(what)
	if err != nil {
		w.tl.failed(w.t, what, err)
		k.unknown(absent)
		return
	}
	k.acked(absent)
}

// checkValue compares a value read for k with the model.
func (w *worker) checkValue(what string, k *keyModel, v string) (int, bool) {
	n, ok := k.byValue[v]
	switch {
	case !ok:
		w.tl.violation("unexpected", "%s %q: a value never written: %.60q", what, k.name, v)
	case !k.ok[n]:
		w.tl.violation("lost", "%s %q: version %d, want one of %v", what, k.name, n, k.states())
	}
	return n, ok
}

// checkAbsent records a key read as missing while the model says it must hold a value.
func (w *worker) checkAbsent(what string, k *keyModel) {
	if !k.ok[absent] {
		w.tl.violation("lost", "%s %q: not found, want one of %v", what, k.name, k.states())
	}
}

func (w *worker) get(ctx context.Context) {
	k := w.pick()
	rctx, cancel := w.readCtx(ctx)
	defer cancel()
	v, err := w.strong.Values.Get(rctx, w.ns, k.name)
	w.tl.op("get")
	switch {
	case err == nil:
		w.checkValue("get", k, string(v))
	case errors.Is(err, workerskv.ErrNotFound):
		w.checkAbsent("get", k)
	default:
		w.tl.failed(w.t, "get", err)
	}
}

func (w *worker) metadata(ctx context.Context) {
	k := w.pick()
	rctx, cancel := w.readCtx(ctx)
	defer cancel()
	raw, err := w.strong.Keys.Metadata(rctx, w.ns, k.name)
	w.tl.op("metadata")
	switch {
	case err == nil:
		if !k.listedOK(raw) {
			w.tl.violation("lost", "metadata %q: %s, want a version of %v", k.name, raw, k.states())
		}
	case errors.Is(err, workerskv.ErrNotFound):
		w.checkAbsent("metadata", k)
	default:
		w.tl.failed(w.t, "metadata", err)
	}
}

// list lists the worker's prefix, 10 keys a page, and compares names and metadata with the model.
func (w *worker) list(ctx context.Context) {
	rctx, cancel := w.readCtx(ctx)
	defer cancel()
	seen := map[string][]byte{}
	w.tl.op("list")
	for key, err := range w.strong.Keys.All(rctx, w.ns, &workerskv.ListKeysOptions{Prefix: w.prefix, Limit: 10}) {
		if err != nil {
			w.tl.failed(w.t, "list", err)
			return
		}
		if _, dup := seen[key.Name]; dup {
			w.tl.violation("unexpected", "list: %q listed twice", key.Name)
		}
		seen[key.Name] = key.Metadata
	}
	for name := range seen {
		if w.byName[name] == nil {
			w.tl.violation("unexpected", "list: key %q was never written", name)
		}
	}
	for _, k := range w.keys {
		raw, listed := seen[k.name]
		switch {
		case listed && len(k.versions) == 0:
			w.tl.violation("unexpected", "list: %q listed, never written", k.name)
		case listed && !k.listedOK(raw):
			w.tl.violation("lost", "list: %q listed with metadata %s, want a version of %v", k.name, raw, k.states())
		case !listed && !k.ok[absent]:
			w.tl.violation("lost", "list: %q missing, want one of %v", k.name, k.states())
		}
	}
}

func (w *worker) bulkPut(ctx context.Context) {
	c, what := w.bulkClient("bulk-put")
	ks := w.pickN(2 + w.rng.IntN(11))
	pairs := make([]workerskv.BulkPair, len(ks))
	states := make([]int, len(ks))
	for i, k := range ks {
		n, v := k.newVersion(w.rng.IntN(2) == 0, w.rng.IntN(150))
		states[i] = n
		pairs[i] = workerskv.BulkPair{Key: k.name, Value: []byte(v), Metadata: k.metadata(n)}
	}
	res, err := c.Bulk.Put(ctx, w.ns, pairs, &workerskv.BulkOptions{Concurrency: 1})
	w.tl.op(what)
	w.applyBulk(what, ks, states, res, err)
}

func (w *worker) bulkDelete(ctx context.Context) {
	c, what := w.bulkClient("bulk-delete")
	ks := w.pickN(1 + w.rng.IntN(8))
	names := make([]string, len(ks))
	states := make([]int, len(ks))
	for i, k := range ks {
		names[i] = k.name
	}
	res, err := c.Bulk.Delete(ctx, w.ns, names, nil)
	w.tl.op(what)
	w.applyBulk(what, ks, states, res, err)
}

// applyBulk updates the model from a bulk result: keys the API confirmed take their new state, keys
// reported unsuccessful keep theirs, unconfirmed keys may have either.
func (w *worker) applyBulk(what string, ks []*keyModel, states []int, res *workerskv.BulkResult, err error) {
	if err != nil {
		w.tl.failed(w.t, what, err)
	}
	if res == nil {
		w.t.Errorf("%s: no result (error %v)", what, err)
		for i, k := range ks {
			k.unknown(states[i])
		}
		return
	}
	if res.Succeeded+len(res.Unsuccessful)+len(res.Unconfirmed) != len(ks) || (err == nil && len(res.Unconfirmed) != 0) {
		w.t.Errorf("%s: result %+v for %d keys (error %v)", what, res, len(ks), err)
	}
	in := func(list []string) map[string]bool {
		m := make(map[string]bool, len(list))
		for _, s := range list {
			m[s] = true
		}
		return m
	}
	unsuccessful, unconfirmed := in(res.Unsuccessful), in(res.Unconfirmed)
	for i, k := range ks {
		switch {
		case unsuccessful[k.name]:
		case unconfirmed[k.name]:
			k.unknown(states[i])
		default:
			k.acked(states[i])
		}
	}
}

func (w *worker) bulkGet(ctx context.Context) {
	ks := w.pickN(1 + w.rng.IntN(20))
	names := make([]string, len(ks))
	for i, k := range ks {
		names[i] = k.name
	}
	rctx, cancel := w.readCtx(ctx)
	defer cancel()
	vals, err := w.strong.Bulk.Get(rctx, w.ns, names, &workerskv.BulkGetOptions{WithMetadata: true})
	w.tl.op("bulk-get")
	if err != nil {
		w.tl.failed(w.t, "bulk-get", err)
		return
	}
	if len(vals) > len(ks) {
		w.tl.violation("unexpected", "bulk-get: %d values for %d keys", len(vals), len(ks))
	}
	for _, k := range ks {
		bv, ok := vals[k.name]
		if !ok {
			w.checkAbsent("bulk-get", k)
			continue
		}
		if n, known := w.checkValue("bulk-get", k, string(bv.Value)); known && !k.metaMatches(n, bv.Metadata) {
			w.tl.violation("unexpected", "bulk-get %q: version %d with metadata %s", k.name, n, bv.Metadata)
		}
	}
}
