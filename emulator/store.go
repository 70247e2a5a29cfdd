package emulator

import (
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/google/btree"
)

// Concurrency design
//
// store.mu guards the catalog: the accounts map and, in every account, the
// namespaces by ID and by title (so also every namespace's title). Each
// namespace has its own mu guarding its B-tree of keys and its deleted flag.
// Locks are always taken in that order (store.mu, then a namespace's mu) and
// a request holds store.mu only long enough to find its namespace, so key
// reads and writes in different namespaces never contend. Values are
// immutable byte slices, so handlers copy out references under the read
// lock and write responses with no lock held.

// Persistence seam
//
// Every change of state is one mutation, made by one of four store methods
// (createNamespace, renameNamespace, deleteNamespace, writeKeys). Each method
// validates, passes the mutation to the journal, and applies it only once the
// journal has recorded it, so a journal is a write-ahead log. The namespace
// methods hold store.mu from validation to application, so they happen one
// at a time, and apply the change themselves once the journal returns.
// writeKeys validates under the namespace's read lock and releases it before
// calling the journal, so that writes to one namespace can share a commit;
// the journal applies them (applyWrites, under the namespace's lock) in the
// order it recorded them, so memory and the journal agree on which write to
// a key came last. Readers never see a change before it is recorded. The
// methods are deterministic given their arguments (namespace IDs and the
// time of a write are inputs), so a persistence layer restores state by
// calling the same methods again with no journal set. Removing expired
// entries is not a mutation: it follows from the recorded expirations and
// the clock. durable.go's durableJournal, set by NewDurable, is the journal
// that keeps state in a Durable; New sets none.

// opKind names the kind of a mutation.
type opKind uint8

const (
	opCreateNamespace opKind = iota + 1
	opRenameNamespace
	opDeleteNamespace
	opWriteKeys
)

// mutation is one change of state, as the journal sees it.
type mutation struct {
	op        opKind
	account   string
	namespace string     // namespace ID
	title     string     // opCreateNamespace, opRenameNamespace
	at        time.Time  // opWriteKeys: when the writes were made
	writes    []keyWrite // opWriteKeys
}

// journal records mutations before they are applied. It is called from many
// goroutines, and must be safe for that, with no namespace lock held (the
// namespace methods hold store.mu). record returns once m is recorded, or
// with an error, which aborts the mutation: the request then fails with 500.
// If apply is not nil, record calls it after recording m and before
// returning, and only then; the apply functions of concurrent calls run one
// at a time, in the order their mutations were recorded. apply takes the
// namespace's lock but never store.mu.
type journal interface {
	record(m *mutation, apply func()) error
}

var errIDTaken = errors.New("emulator: namespace ID already in use")

// store is the in-memory state of every account.
type store struct {
	journal journal // nil: nothing is recorded

	mu       sync.RWMutex
	accounts map[string]*account
}

// account holds one account's namespaces.
type account struct {
	byID    map[string]*namespace
	byTitle map[string]*namespace
}

// namespace is one KV namespace. title is guarded by store.mu; deleted and
// keys by mu.
type namespace struct {
	id    string
	title string

	mu      sync.RWMutex
	deleted bool
	keys    *btree.BTreeG[item]
}

// namespaceInfo is a snapshot of a namespace's catalog entry.
type namespaceInfo struct {
	ID    string
	Title string
}

func newStore() *store {
	return &store{accounts: make(map[string]*account)}
}

// record passes m to the journal, if there is one; see journal.
func (s *store) record(m *mutation, apply func()) error {
	if s.journal == nil {
		if apply != nil {
			apply()
		}
		return nil
	}
	return s.journal.record(m, apply)
}

// accountLocked returns the account, creating it. The caller holds s.mu.
func (s *store) accountLocked(id string) *account {
	a := s.accounts[id]
	if a == nil {
		a = &account{byID: make(map[string]*namespace), byTitle: make(map[string]*namespace)}
		s.accounts[id] = a
	}
	return a
}

// createNamespace creates namespace id titled title in acct.
func (s *store) createNamespace(acct, id, title string) (namespaceInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accountLocked(acct)
	if a.byTitle[title] != nil {
		return namespaceInfo{}, errTitleExists
	}
	if a.byID[id] != nil {
		return namespaceInfo{}, errIDTaken
	}
	if err := s.record(&mutation{op: opCreateNamespace, account: acct, namespace: id, title: title}, nil); err != nil {
		return namespaceInfo{}, err
	}
	ns := &namespace{id: id, title: title, keys: newKeyTree()}
	a.byID[id] = ns
	a.byTitle[title] = ns
	return namespaceInfo{ID: id, Title: title}, nil
}

// renameNamespace gives namespace id of acct the title title.
func (s *store) renameNamespace(acct, id, title string) (namespaceInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[acct]
	if a == nil || a.byID[id] == nil {
		return namespaceInfo{}, errNamespaceNotFound
	}
	ns := a.byID[id]
	if other := a.byTitle[title]; other != nil && other != ns {
		return namespaceInfo{}, errTitleExists
	}
	if err := s.record(&mutation{op: opRenameNamespace, account: acct, namespace: id, title: title}, nil); err != nil {
		return namespaceInfo{}, err
	}
	delete(a.byTitle, ns.title)
	ns.title = title
	a.byTitle[title] = ns
	return namespaceInfo{ID: id, Title: title}, nil
}

// deleteNamespace removes namespace id of acct with all its keys.
func (s *store) deleteNamespace(acct, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[acct]
	if a == nil || a.byID[id] == nil {
		return errNamespaceNotFound
	}
	ns := a.byID[id]
	if err := s.record(&mutation{op: opDeleteNamespace, account: acct, namespace: id}, nil); err != nil {
		return err
	}
	delete(a.byID, id)
	delete(a.byTitle, ns.title)
	ns.mu.Lock()
	ns.deleted = true
	ns.keys = newKeyTree()
	ns.mu.Unlock()
	return nil
}

// writeKeys applies writes, made at time at, to namespace id of acct, all at
// once: no reader sees some of them without the others.
func (s *store) writeKeys(acct, id string, at time.Time, writes []keyWrite) error {
	ns := s.lookup(acct, id)
	if ns == nil {
		return errNamespaceNotFound
	}
	if s.journal == nil {
		ns.mu.Lock()
		defer ns.mu.Unlock()
		if ns.deleted {
			return errNamespaceNotFound
		}
		applyWrites(ns.keys, at, writes)
		return nil
	}
	ns.mu.RLock()
	deleted := ns.deleted
	ns.mu.RUnlock()
	if deleted {
		return errNamespaceNotFound
	}
	m := &mutation{op: opWriteKeys, account: acct, namespace: id, at: at, writes: writes}
	return s.record(m, func() {
		ns.mu.Lock()
		defer ns.mu.Unlock()
		// The namespace's deletion, recorded before these writes, may
		// already be applied: on disk the writes went with it, so here too.
		if !ns.deleted {
			applyWrites(ns.keys, at, writes)
		}
	})
}

// applyWrites applies writes made at at to t, in order. The caller holds the
// namespace's lock.
func applyWrites(t *btree.BTreeG[item], at time.Time, writes []keyWrite) {
	for _, w := range writes {
		applyWrite(t, w, at)
	}
}

// lookup finds a namespace, nil if there is none.
func (s *store) lookup(acct, id string) *namespace {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if a := s.accounts[acct]; a != nil {
		return a.byID[id]
	}
	return nil
}

// namespaceInfo returns the catalog entry of namespace id of acct.
func (s *store) namespaceInfo(acct, id string) (namespaceInfo, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if a := s.accounts[acct]; a != nil {
		if ns := a.byID[id]; ns != nil {
			return namespaceInfo{ID: ns.id, Title: ns.title}, nil
		}
	}
	return namespaceInfo{}, errNamespaceNotFound
}

// listNamespaces returns the catalog entries of acct, in no set order.
func (s *store) listNamespaces(acct string) []namespaceInfo {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := s.accounts[acct]
	if a == nil {
		return []namespaceInfo{}
	}
	out := make([]namespaceInfo, 0, len(a.byID))
	for _, ns := range a.byID {
		out = append(out, namespaceInfo{ID: ns.id, Title: ns.title})
	}
	return out
}

// valueView is what a read returns for one visible key. Its slices are
// shared with the store and must not be modified.
type valueView struct {
	value      []byte
	metadata   json.RawMessage
	expiration int64
}

// getMany returns, for each key, what readers see at now in namespace id of
// acct: nil for a key that is absent for them.
func (s *store) getMany(acct, id string, keys []string, now time.Time) ([]*valueView, error) {
	ns := s.lookup(acct, id)
	if ns == nil {
		return nil, errNamespaceNotFound
	}
	views := make([]*valueView, len(keys))
	var dead []item
	ns.mu.RLock()
	if ns.deleted {
		ns.mu.RUnlock()
		return nil, errNamespaceNotFound
	}
	for i, key := range keys {
		it, found := ns.keys.Get(item{key: key})
		if !found {
			continue
		}
		if v := current(it.head, now); v != nil {
			views[i] = &valueView{value: v.value, metadata: v.metadata, expiration: v.expiration}
		} else if removable(it.head, now) {
			dead = append(dead, it)
		}
	}
	ns.mu.RUnlock()
	ns.purge(dead, now)
	return views, nil
}

// get returns what readers see of key at now in namespace id of acct.
func (s *store) get(acct, id, key string, now time.Time) (*valueView, error) {
	views, err := s.getMany(acct, id, []string{key}, now)
	if err != nil {
		return nil, err
	}
	if views[0] == nil {
		return nil, errKeyNotFound
	}
	return views[0], nil
}

// listKeys lists a page of namespace id of acct; see scanKeys.
func (s *store) listKeys(acct, id, prefix, after string, limit int, now time.Time) (keys []keyView, last string, more bool, err error) {
	ns := s.lookup(acct, id)
	if ns == nil {
		return nil, "", false, errNamespaceNotFound
	}
	ns.mu.RLock()
	if ns.deleted {
		ns.mu.RUnlock()
		return nil, "", false, errNamespaceNotFound
	}
	keys, last, more, dead := scanKeys(ns.keys, prefix, after, limit, now)
	ns.mu.RUnlock()
	ns.purge(dead, now)
	return keys, last, more, nil
}

// purge removes entries found removable at now, unless they changed since.
func (ns *namespace) purge(dead []item, now time.Time) {
	if len(dead) == 0 {
		return
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	for _, d := range dead {
		if it, ok := ns.keys.Get(d); ok && it.head == d.head && removable(it.head, now) {
			ns.keys.Delete(d)
		}
	}
}
