package workerskv

import (
	"strconv"
	"testing"
)

// TestBinaryKeysBounded: the set of binary keys holds at most its bound, forgetting the key
// remembered first; a key forgotten and remembered again is not dropped by its old slot.
func TestBinaryKeysBounded(t *testing.T) {
	t.Parallel()
	s := newBinaryKeys(3)
	for i := range 5 {
		s.add("k" + strconv.Itoa(i))
	}
	for i, want := range []bool{false, false, true, true, true} {
		if got := s.has("k" + strconv.Itoa(i)); got != want {
			t.Errorf("has(k%d) = %v, want %v", i, got, want)
		}
	}
	if len(s.slot) != 3 || len(s.ring) != 3 {
		t.Fatalf("%d keys, ring of %d; want 3", len(s.slot), len(s.ring))
	}
	// k2 holds the next slot to reuse: forgotten, then remembered in another slot.
	s.forget("k2")
	s.add("k5") // reuses k2's slot, which k2 no longer owns
	s.add("k2") // reuses k3's slot
	s.add("k6") // reuses k4's slot
	for k, want := range map[string]bool{"k2": true, "k3": false, "k4": false, "k5": true, "k6": true} {
		if got := s.has(k); got != want {
			t.Errorf("has(%s) = %v, want %v", k, got, want)
		}
	}
	s.add("k7") // reuses k5's slot
	if s.has("k5") || !s.has("k2") || !s.has("k7") || len(s.slot) != 3 {
		t.Errorf("after k7: %v", s.slot)
	}
}
