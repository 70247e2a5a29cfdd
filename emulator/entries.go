package emulator

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/google/btree"
)

// version is one write of a key: a value or, in eventual-consistency mode, a
// deletion (a tombstone). Versions are immutable once stored except for prev,
// which is only changed under the namespace's write lock.
type version struct {
	value       []byte
	metadata    json.RawMessage // nil when the key has none
	expiration  int64           // epoch seconds; 0 never expires
	deleted     bool
	visibleFrom time.Time // zero: visible at once
	prev        *version  // what readers see until visibleFrom
}

// visibleAt reports whether readers see v (rather than v.prev) at now.
func (v *version) visibleAt(now time.Time) bool {
	return v.visibleFrom.IsZero() || !now.Before(v.visibleFrom)
}

// live reports whether v holds a value that has not expired at now.
func (v *version) live(now time.Time) bool {
	return !v.deleted && (v.expiration == 0 || v.expiration > now.Unix())
}

// current returns the version readers see at now, or nil when the key is
// absent for them (never written yet, deleted or expired).
func current(v *version, now time.Time) *version {
	for ; v != nil; v = v.prev {
		if v.visibleAt(now) {
			if v.live(now) {
				return v
			}
			return nil
		}
	}
	return nil
}

// removable reports whether an entry whose newest version is head can be
// dropped: nothing pending, and what readers see is absent.
func removable(head *version, now time.Time) bool {
	return head.visibleAt(now) && !head.live(now)
}

// trim cuts the chain starting at v down to what readers can still see at now
// or later: the pending versions and the one version visible at now, if live.
func trim(v *version, now time.Time) *version {
	head := v
	var lastPending *version
	for ; v != nil; v = v.prev {
		if !v.visibleAt(now) {
			lastPending = v
			continue
		}
		keep := v
		if v.live(now) {
			v.prev = nil
		} else {
			keep = nil
		}
		if lastPending == nil {
			return keep
		}
		lastPending.prev = keep
		return head
	}
	return head
}

// item is one key in a namespace's B-tree; head is its newest version.
type item struct {
	key  string
	head *version
}

func itemLess(a, b item) bool { return a.key < b.key }

func newKeyTree() *btree.BTreeG[item] { return btree.NewG(32, itemLess) }

// keyWrite is one change to one key, as a mutation carries it.
type keyWrite struct {
	key         string
	delete      bool
	value       []byte
	metadata    json.RawMessage
	expiration  int64
	visibleFrom time.Time // zero: visible at once
}

// applyWrite applies w, made at time at, to the tree. The caller holds the
// namespace's write lock.
func applyWrite(t *btree.BTreeG[item], w keyWrite, at time.Time) {
	var prev *version
	if !w.visibleFrom.IsZero() && at.Before(w.visibleFrom) {
		if old, ok := t.Get(item{key: w.key}); ok {
			prev = trim(old.head, at)
		}
	}
	if w.delete {
		if prev == nil {
			t.Delete(item{key: w.key})
			return
		}
		t.ReplaceOrInsert(item{key: w.key, head: &version{deleted: true, visibleFrom: w.visibleFrom, prev: prev}})
		return
	}
	t.ReplaceOrInsert(item{key: w.key, head: &version{
		value:       w.value,
		metadata:    w.metadata,
		expiration:  w.expiration,
		visibleFrom: w.visibleFrom,
		prev:        prev,
	}})
}

// keyView is what a list returns for one visible key.
type keyView struct {
	name       string
	expiration int64
	metadata   json.RawMessage
}

// scanKeys lists keys with prefix after the key after ("" for the start),
// scanning at most limit stored entries, visible or not. It returns the
// visible ones, the last key scanned, whether entries with the prefix remain
// beyond it, and the scanned entries that can be removed. The caller holds
// at least the namespace's read lock.
func scanKeys(t *btree.BTreeG[item], prefix, after string, limit int, now time.Time) (keys []keyView, last string, more bool, dead []item) {
	pivot := prefix
	if after > prefix {
		pivot = after
	}
	keys = make([]keyView, 0, min(limit, t.Len()))
	scanned := 0
	t.AscendGreaterOrEqual(item{key: pivot}, func(it item) bool {
		if it.key == after {
			return true
		}
		if !strings.HasPrefix(it.key, prefix) {
			return false
		}
		if scanned == limit {
			more = true
			return false
		}
		scanned++
		last = it.key
		if v := current(it.head, now); v != nil {
			keys = append(keys, keyView{name: it.key, expiration: v.expiration, metadata: v.metadata})
		} else if removable(it.head, now) {
			dead = append(dead, it)
		}
		return true
	})
	return keys, last, more, dead
}
