package soak_test

import (
	"strings"
	"testing"

	"github.com/workerskv/workerskv/emulator"
)

// TestSoakCheckerCatchesViolations proves the soak's final check is not vacuous: after a clean run,
// state changed behind the model's back (a stray key, a value never written, an acknowledged write
// rolled back, an acknowledged write deleted) is reported as unexpected or lost.
func TestSoakCheckerCatchesViolations(t *testing.T) {
	rig := newRig(t, emulator.Faults{})
	ctx := t.Context()
	ns := rig.createNamespace(ctx, t)
	tl := newTally()
	w := newWorker(t, 0, rig, ns, tl)
	w.run(ctx, 200)
	if tl.lost+tl.unexpected+tl.untyped != 0 {
		t.Fatalf("a clean run reported violations: %v", tl.notes)
	}

	var rollback, remove, bogus *keyModel
	for _, k := range w.keys {
		cur, known := current(k)
		switch {
		case !known || cur == absent:
		case rollback == nil && cur > 1:
			rollback = k
		case remove == nil:
			remove = k
		case bogus == nil:
			bogus = k
		}
	}
	if rollback == nil || remove == nil || bogus == nil {
		t.Fatal("the run left too few keys with a known value")
	}
	c := rig.srv.Client
	for _, err := range []error{
		c.Values.Put(ctx, ns, "w0/stray", strings.NewReader("x"), nil),
		c.Values.Put(ctx, ns, bogus.name, strings.NewReader("never written"), nil),
		c.Values.Put(ctx, ns, rollback.name, strings.NewReader(rollback.versions[0].value), nil),
		c.Values.Delete(ctx, ns, remove.name),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	verifyFinal(ctx, t, c, ns, []*worker{w}, tl)
	if tl.unexpected != 2 || tl.lost != 2 {
		t.Errorf("unexpected %d, lost %d; want 2 and 2: %v", tl.unexpected, tl.lost, tl.notes)
	}
}

// current returns the one state a key is known to be in.
func current(k *keyModel) (int, bool) {
	if len(k.ok) != 1 {
		return 0, false
	}
	for s := range k.ok {
		return s, true
	}
	return 0, false
}
