package emulator

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Durability design
//
// NewDurable keeps the current state, not a log, in a Durable: the catalog
// of namespaces (account, ID, title) and, per namespace, one record per key,
// the key's version chain as encodeChain writes it. The Durable stores what
// it is told and interprets nothing; what a record holds, and when it
// changes, is decided here, so every Durable keeps the same rules.
//
// durableJournal is the store's journal, a group commit: a mutation joins a
// queue and its caller waits, unless no one is committing, in which case
// the caller leads: it takes everything queued, turns it into changes that
// bring the stored state to the state those mutations lead to, in queue
// order, and has the Durable commit them in one transaction, which it syncs
// once for the lot. Only then does the leader apply each mutation's
// in-memory effect, in the same order, and release its caller, who answers
// the request: an acknowledged change is durable, readers never see one
// that is not, and the last write to a key is the same in storage as in
// memory. The leader then hands over to the first caller still queued, who
// commits the next batch. While one transaction is being synced the next
// batch gathers, so concurrent writers share syncs without any added delay,
// and a lone writer commits its own mutation at once. Leading is done by
// the requests' own goroutines, so the journal runs none of its own; Close
// stops new mutations and waits for the queue to drain, then closes the
// Durable.
//
// When a batch's commit fails, each of its mutations is retried in a commit
// of its own, in order, so that a mutation that cannot be written (or
// storage that cannot be synced) fails only its own requests: they answer
// 500 and change nothing in memory. A mutation whose namespace's deletion
// comes before it in the same or an earlier batch writes nothing (the
// Durable drops record changes of a namespace it does not hold), and the
// store discards it with the namespace.
//
// A key's record is its version chain, newest first, as applyWrite leaves it:
// one version, except in eventual-consistency mode where pending writes keep
// what readers still see. Writes that are visible at once (the usual case)
// replace the record without reading it; a pending write is an update that
// reads the stored chain and runs applyWrite on it, so storage and memory
// follow the same rules.
//
// Expired and deleted entries are removed lazily in memory without a
// mutation; in storage they stay until the next NewDurable, which trims
// every chain to what readers can still see as it loads it, and deletes the
// records that have become absent.

// A Durable keeps an Emulator's state where it outlives the process, in a
// file or a database; NewDurable makes an Emulator over one. The state is a
// catalog of namespaces, each an account, an ID and a title, and for each
// namespace a set of records, each a key name and bytes. The Emulator
// decides what a record holds; a Durable stores the bytes as they are.
//
// The Emulator calls Load once, from NewDurable, and then Commit, never
// two at a time, until it calls Close.
type Durable interface {
	// Load calls fn with everything stored: a Change with Op
	// OpPutNamespace for each namespace, and then one with Op OpPutRecord
	// for each record, every namespace before any record. The slices
	// passed to fn are valid only during the call. An error from fn ends
	// Load, which returns it.
	Load(fn func(Change) error) error

	// Commit makes changes, in order, in one atomic transaction, and
	// returns once they are durable (synced to disk): after a crash,
	// either all of them are stored or none is. Each change sees the
	// effect of those before it: an OpUpdateRecord gets the record as the
	// earlier changes of the same Commit left it. A change to a record of a
	// namespace that is not stored (not yet, or no longer) is dropped. On
	// an error, nothing is stored.
	Commit(changes []Change) error

	// Close releases the storage. The Emulator calls it once, from Close,
	// when no Commit is running.
	Close() error
}

// ChangeOp is what a Change does.
type ChangeOp uint8

// The changes a Durable stores.
const (
	// OpPutNamespace stores the namespace Namespace of Account with the
	// title Title, keeping its records if it is stored already (a rename).
	OpPutNamespace ChangeOp = iota + 1
	// OpDeleteNamespace deletes the namespace Namespace of Account and all
	// its records, if it has any.
	OpDeleteNamespace
	// OpPutRecord sets the record of Key, in the namespace Namespace of
	// Account, to Record.
	OpPutRecord
	// OpDeleteRecord deletes the record of Key, in the namespace Namespace
	// of Account, if there is one.
	OpDeleteRecord
	// OpUpdateRecord sets the record of Key, in the namespace Namespace of
	// Account, to what Update returns given the record stored before
	// (nil for none), or deletes it when Update returns nil.
	OpUpdateRecord
)

// String returns the name of the constant, "OpPutNamespace" for example.
func (op ChangeOp) String() string {
	switch op {
	case OpPutNamespace:
		return "OpPutNamespace"
	case OpDeleteNamespace:
		return "OpDeleteNamespace"
	case OpPutRecord:
		return "OpPutRecord"
	case OpDeleteRecord:
		return "OpDeleteRecord"
	case OpUpdateRecord:
		return "OpUpdateRecord"
	}
	return fmt.Sprintf("ChangeOp(%d)", uint8(op))
}

// A Change is one change of stored state, given to Durable.Commit, or one
// stored item, given by Durable.Load. Which fields are set depends on Op.
type Change struct {
	Op        ChangeOp
	Account   string // the account ID
	Namespace string // the namespace ID
	Title     string // the namespace's title: OpPutNamespace
	Key       string // the key name: the record ops
	// Record is the record to store (OpPutRecord). In Commit, the Durable
	// may keep the slice until Commit returns, and must not modify it.
	Record []byte
	// Update computes the record of an OpUpdateRecord from the one stored
	// (nil when there is none, and valid only during the call). A nil
	// result deletes the record; an error fails the whole Commit.
	Update func(stored []byte) ([]byte, error)
}

// NewDurable returns an Emulator, configured by opts as New does, whose
// state is kept in d. It loads what an earlier Emulator left there
// (namespaces with their IDs and titles, and every key with its value,
// metadata and expiration; entries that have expired by the clock's time
// are dropped, and deleted from d), and then commits every change to d
// before the request that made it is answered or its effect can be read, so
// an acknowledged write survives a crash or a restart as far as d keeps its
// promise. Changes made concurrently are committed together, in the order
// they are applied in memory. A request whose change cannot be committed
// fails with 500, code 10001, and changes nothing.
//
// The Emulator owns d from then on: its Close closes d. If loading fails,
// NewDurable returns the error and d stays the caller's to close.
func NewDurable(d Durable, opts ...Option) (*Emulator, error) {
	if d == nil {
		return nil, errors.New("emulator: NewDurable needs a Durable")
	}
	e := New(opts...)
	cleanup, err := e.store.load(d, e.clock.Now())
	if err != nil {
		return nil, fmt.Errorf("emulator: load: %w", err)
	}
	if len(cleanup) > 0 {
		if err := d.Commit(cleanup); err != nil {
			return nil, fmt.Errorf("emulator: drop expired entries: %w", err)
		}
	}
	e.durable = d
	e.store.journal = newDurableJournal(d)
	return e, nil
}

// Close releases what the Emulator holds. For one made by NewDurable it
// waits for the changes already accepted to be committed, then closes the
// Durable; requests that change state after Close fail with 500 and change
// nothing, so stop serving first (http.Server.Shutdown) to answer every
// request normally. For one made by New, Close does nothing and returns
// nil; state stays readable in memory either way. Calling Close more than
// once is safe: later calls return what the first one did.
func (e *Emulator) Close() error {
	if e.durable == nil {
		return nil
	}
	e.closeOnce.Do(func() {
		if j, ok := e.store.journal.(*durableJournal); ok {
			j.close()
		}
		e.closeErr = e.durable.Close()
	})
	return e.closeErr
}

// load fills the empty store s from d, trimming chains to what readers see
// at now. It returns the changes that delete from d what is gone: records
// no reader can see any more, and records of namespaces d does not hold
// (keys written while their namespace was being deleted).
func (s *store) load(d Durable, now time.Time) ([]Change, error) {
	var (
		cleanup    []Change
		orphans    = map[[2]string]bool{}
		sawRecords bool
	)
	err := d.Load(func(c Change) error {
		switch c.Op {
		case OpPutNamespace:
			if sawRecords {
				return fmt.Errorf("account %s: namespace %s loaded after records", c.Account, c.Namespace)
			}
			a := s.accountLocked(c.Account)
			if a.byID[c.Namespace] != nil {
				return fmt.Errorf("account %s: namespace %s loaded twice", c.Account, c.Namespace)
			}
			if a.byTitle[c.Title] != nil {
				return fmt.Errorf("account %s: title %q used twice", c.Account, c.Title)
			}
			ns := &namespace{id: c.Namespace, title: c.Title, keys: newKeyTree()}
			a.byID[ns.id] = ns
			a.byTitle[ns.title] = ns
			return nil
		case OpPutRecord:
			sawRecords = true
			var ns *namespace
			if a := s.accounts[c.Account]; a != nil {
				ns = a.byID[c.Namespace]
			}
			if ns == nil {
				orphan := [2]string{c.Account, c.Namespace}
				if !orphans[orphan] {
					orphans[orphan] = true
					cleanup = append(cleanup, Change{Op: OpDeleteNamespace, Account: c.Account, Namespace: c.Namespace})
				}
				return nil
			}
			head, err := decodeChain(c.Record)
			if err != nil {
				return fmt.Errorf("namespace %s, key %q: %w", ns.id, c.Key, err)
			}
			if head = trim(head, now); head == nil {
				cleanup = append(cleanup, Change{Op: OpDeleteRecord, Account: c.Account, Namespace: c.Namespace, Key: c.Key})
				return nil
			}
			ns.keys.ReplaceOrInsert(item{key: c.Key, head: head})
			return nil
		default:
			return fmt.Errorf("unexpected %v from Load", c.Op)
		}
	})
	return cleanup, err
}

// maxBatch bounds the mutations committed in one transaction, so that a
// long queue is written in several commits rather than one huge one.
const maxBatch = 1024

// errClosed fails the mutations recorded after Close.
var errClosed = errors.New("emulator: storage closed")

// durableJournal commits mutations to a Durable in groups; see the design
// comment at the top of this file.
type durableJournal struct {
	d Durable

	mu      sync.Mutex
	idle    sync.Cond          // on mu: signalled when committing stops
	queue   []*pendingMutation // recorded, not yet committed
	leading bool               // a caller is committing
	closed  bool               // Close was called: record fails
}

// newDurableJournal returns a journal committing to d.
func newDurableJournal(d Durable) *durableJournal {
	j := &durableJournal{d: d}
	j.idle.L = &j.mu
	return j
}

// pendingMutation is one call of record, waiting for its commit.
type pendingMutation struct {
	m     *mutation
	apply func() // nil: nothing to apply
	err   error  // set before wake is closed
	lead  bool   // set before wake is closed: commit the next batch
	wake  chan struct{}
}

// record queues m and waits until it has been committed and apply has run,
// committing the batch it is in itself when no other caller is committing;
// see journal.
func (j *durableJournal) record(m *mutation, apply func()) error {
	p := &pendingMutation{m: m, apply: apply, wake: make(chan struct{})}
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return errClosed
	}
	j.queue = append(j.queue, p)
	leader := !j.leading
	p.lead = leader
	j.leading = true
	j.mu.Unlock()
	if !leader {
		// Once p is queued, the leader may set p.lead: read it only after
		// wake is closed.
		<-p.wake
		if !p.lead {
			return p.err
		}
	}
	j.lead()
	return p.err
}

// lead commits the batch at the head of the queue, whose first mutation is
// the caller's, then hands leadership to the first mutation still queued.
func (j *durableJournal) lead() {
	j.mu.Lock()
	n := min(len(j.queue), maxBatch)
	batch := j.queue[:n:n]
	j.queue = j.queue[n:]
	j.mu.Unlock()

	j.commit(batch)

	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.queue) == 0 {
		j.queue = nil
		j.leading = false
		j.idle.Broadcast()
		return
	}
	next := j.queue[0]
	next.lead = true
	close(next.wake)
}

// commit commits batch in one transaction and, once it is durable, applies
// and releases each mutation in order. If the commit fails, each mutation
// is committed on its own, so only those that fail by themselves fail.
func (j *durableJournal) commit(batch []*pendingMutation) {
	var changes []Change
	for _, p := range batch {
		changes = p.m.appendChanges(changes)
	}
	err := j.d.Commit(changes)
	if err != nil && len(batch) > 1 {
		for _, p := range batch {
			j.commit([]*pendingMutation{p})
		}
		return
	}
	for _, p := range batch {
		if err == nil && p.apply != nil {
			p.apply()
		}
		p.err = err
		if !p.lead {
			close(p.wake)
		}
	}
}

// close makes record fail from now on and waits until every mutation
// already queued has been committed (or has failed).
func (j *durableJournal) close() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.closed = true
	for j.leading {
		j.idle.Wait()
	}
}

// appendChanges appends to cs the changes that bring stored state to the
// state m leads to.
func (m *mutation) appendChanges(cs []Change) []Change {
	switch m.op {
	case opCreateNamespace:
		// Drop whatever records an earlier namespace of this ID left.
		return append(cs,
			Change{Op: OpDeleteNamespace, Account: m.account, Namespace: m.namespace},
			Change{Op: OpPutNamespace, Account: m.account, Namespace: m.namespace, Title: m.title})
	case opRenameNamespace:
		return append(cs, Change{Op: OpPutNamespace, Account: m.account, Namespace: m.namespace, Title: m.title})
	case opDeleteNamespace:
		return append(cs, Change{Op: OpDeleteNamespace, Account: m.account, Namespace: m.namespace})
	case opWriteKeys:
		for _, w := range m.writes {
			cs = append(cs, recordChange(m.account, m.namespace, m.at, w))
		}
		return cs
	}
	panic(fmt.Sprintf("emulator: unknown mutation %d", m.op))
}

// recordChange returns the change that stores the chain applyWrite leaves
// for w, made at at.
func recordChange(acct, id string, at time.Time, w keyWrite) Change {
	c := Change{Account: acct, Namespace: id, Key: w.key}
	if w.visibleFrom.IsZero() || !at.Before(w.visibleFrom) {
		// Visible at once: the write replaces whatever was there.
		if w.delete {
			c.Op = OpDeleteRecord
			return c
		}
		c.Op = OpPutRecord
		c.Record = encodeChain(nil, &version{value: w.value, metadata: w.metadata, expiration: w.expiration})
		return c
	}
	c.Op = OpUpdateRecord
	c.Update = func(stored []byte) ([]byte, error) {
		tmp := newKeyTree()
		if stored != nil {
			head, err := decodeChain(stored)
			if err != nil {
				return nil, fmt.Errorf("key %q: %w", w.key, err)
			}
			tmp.ReplaceOrInsert(item{key: w.key, head: head})
		}
		applyWrite(tmp, w, at)
		it, ok := tmp.Get(item{key: w.key})
		if !ok {
			return nil, nil
		}
		return encodeChain(nil, it.head), nil
	}
	return c
}

// Chain encoding: a format byte (1), the number of versions, then each
// version newest first: a flags byte, the expiration (varint), then as the
// flags say the visibility time (varint seconds, uvarint nanoseconds), the
// metadata (uvarint length, bytes) and the value (uvarint length, bytes).
const (
	chainFormat byte = 1

	flagDeleted  byte = 1 << 0
	flagMetadata byte = 1 << 1
	flagPending  byte = 1 << 2
)

var errCorrupt = errors.New("corrupt entry")

// encodeChain appends the encoding of the chain starting at head to buf.
func encodeChain(buf []byte, head *version) []byte {
	n := 0
	for v := head; v != nil; v = v.prev {
		n++
	}
	buf = append(buf, chainFormat)
	buf = binary.AppendUvarint(buf, uint64(n))
	for v := head; v != nil; v = v.prev {
		var flags byte
		if v.deleted {
			flags |= flagDeleted
		}
		if v.metadata != nil {
			flags |= flagMetadata
		}
		if !v.visibleFrom.IsZero() {
			flags |= flagPending
		}
		buf = append(buf, flags)
		buf = binary.AppendVarint(buf, v.expiration)
		if flags&flagPending != 0 {
			buf = binary.AppendVarint(buf, v.visibleFrom.Unix())
			buf = binary.AppendUvarint(buf, uint64(v.visibleFrom.Nanosecond()))
		}
		if flags&flagMetadata != 0 {
			buf = binary.AppendUvarint(buf, uint64(len(v.metadata)))
			buf = append(buf, v.metadata...)
		}
		if flags&flagDeleted == 0 {
			buf = binary.AppendUvarint(buf, uint64(len(v.value)))
			buf = append(buf, v.value...)
		}
	}
	return buf
}

// decodeChain decodes a chain. The data is copied once, since a Durable's
// memory is only valid during the call that passed it; values and metadata
// share the copy.
func decodeChain(data []byte) (*version, error) {
	if len(data) < 2 || data[0] != chainFormat {
		return nil, errCorrupt
	}
	d := chainDecoder{buf: append([]byte(nil), data[1:]...)}
	n := d.uvarint()
	if d.err != nil || n == 0 || n > uint64(len(d.buf)) {
		return nil, errCorrupt
	}
	var head, tail *version
	for range n {
		v := &version{}
		flags := d.byte()
		v.expiration = d.varint()
		if flags&flagPending != 0 {
			sec := d.varint()
			nsec := d.uvarint()
			if nsec >= uint64(time.Second) {
				return nil, errCorrupt
			}
			v.visibleFrom = time.Unix(sec, int64(nsec))
		}
		if flags&flagMetadata != 0 {
			v.metadata = d.bytes()
		}
		if flags&flagDeleted != 0 {
			v.deleted = true
		} else {
			v.value = d.bytes()
		}
		if d.err != nil {
			return nil, d.err
		}
		if head == nil {
			head = v
		} else {
			tail.prev = v
		}
		tail = v
	}
	if len(d.buf) != 0 {
		return nil, errCorrupt
	}
	return head, nil
}

// chainDecoder reads an encoded chain; the first failure sticks in err.
type chainDecoder struct {
	buf []byte
	err error
}

func (d *chainDecoder) byte() byte {
	if d.err != nil || len(d.buf) == 0 {
		d.err = errCorrupt
		return 0
	}
	b := d.buf[0]
	d.buf = d.buf[1:]
	return b
}

func (d *chainDecoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	x, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.buf = d.buf[n:]
	return x
}

func (d *chainDecoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	x, n := binary.Varint(d.buf)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.buf = d.buf[n:]
	return x
}

// bytes reads a length-prefixed slice, sharing the decoder's buffer. The
// capacity is cut so that appending to the slice cannot overwrite what follows.
func (d *chainDecoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.buf)) {
		d.err = errCorrupt
		return nil
	}
	b := d.buf[:n:n]
	d.buf = d.buf[n:]
	return b
}
