package emulator

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Persistence design
//
// Open keeps the current state, not a log, in one bbolt file, dir/kv.db:
//
//	meta                                 "format" -> "1"
//	namespaces / {account}               {namespace ID} -> title
//	keys / {account} / {namespace ID}    {key name} -> encoded version chain
//
// boltJournal is the store's journal, a group commit: a mutation joins a
// queue and its caller waits, unless no one is committing, in which case
// the caller leads: it takes everything queued, writes it in one bbolt
// read-write transaction that brings the file to the state those mutations
// lead to, in queue order, and commits it, which fsyncs the file once for
// the lot. Only then does the leader apply each mutation's in-memory
// effect, in the same order, and release its caller, who answers the
// request: an acknowledged change is on disk, readers never see one that is
// not, and the last write to a key is the same on disk as in memory. The
// leader then hands over to the first caller still queued, who commits the
// next batch. While one transaction is being synced the next batch gathers,
// so concurrent writers share syncs without any added delay, and a lone
// writer commits its own mutation at once, as before. Leading is done by the
// requests' own goroutines, so the journal runs none of its own; Close stops
// new mutations and waits for the queue to drain, then closes the file.
//
// When a batch's transaction fails, each of its mutations is retried in a
// transaction of its own, in order, so that a mutation that cannot be
// written (or the file that cannot be synced) fails only its own requests:
// they answer 500 and change nothing in memory. A mutation whose
// namespace's deletion comes before it in the same or an earlier batch
// writes nothing, and the store discards it with the namespace.
//
// Commits do not write bbolt's freelist (NoFreelistSync): bbolt rebuilds it
// when it opens the file, and the data is synced as before.
//
// bbolt keeps keys in byte order, as the B-trees do, and Open loads every
// namespace's bucket into its B-tree in one pass, without replaying history.
//
// A key's record is its version chain, newest first, as applyWrite leaves it:
// one version, except in eventual-consistency mode where pending writes keep
// what readers still see. Writes that are visible at once (the usual case)
// are written without reading; a pending write reads the stored chain and
// runs applyWrite on it, so disk and memory follow the same rules.
//
// Expired and deleted entries are removed lazily in memory without a
// mutation; on disk they stay until the next Open, which trims every chain
// to what readers can still see and deletes entries that have become absent.

// dbFileName is the name of the bbolt file Open keeps in its directory.
const dbFileName = "kv.db"

// dbFormat is the layout version written to meta/format.
const dbFormat = "1"

var (
	bucketMeta       = []byte("meta")
	bucketNamespaces = []byte("namespaces")
	bucketKeys       = []byte("keys")
	keyFormat        = []byte("format")
)

// lockTimeout bounds how long Open waits for another process (or another
// Emulator) to release the file.
const lockTimeout = 2 * time.Second

// Open returns an Emulator, configured by opts as New does, whose state
// persists in the directory dir, which is created if needed. The state is
// kept in the bbolt file dir/kv.db: Open loads what an earlier Emulator left
// there (namespaces with their IDs and titles, and every key with its value,
// metadata and expiration; entries that have expired by the clock's time are
// dropped), and every change is committed and synced to the file before the
// request that made it is answered or its effect can be read, so an
// acknowledged write survives a crash or a restart. Changes made
// concurrently are committed together, one sync for all of them, in the
// order they are applied in memory. A request whose change cannot be written
// fails with 500, code 10001, and changes nothing.
//
// Only one Emulator at a time can have dir open: Open fails after a short
// wait when another one, in this process or another, holds it. Call Close
// when done.
func Open(dir string, opts ...Option) (*Emulator, error) {
	if dir == "" {
		return nil, errors.New("emulator: Open needs a directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	path := filepath.Join(dir, dbFileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: lockTimeout,
		// Commits skip writing bbolt's list of free pages, which bbolt
		// rebuilds by scanning the file when it opens it: less to write and
		// sync per commit, the same durability for the data.
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("emulator: open %s: in use by another emulator", path)
		}
		return nil, fmt.Errorf("emulator: open %s: %w", path, err)
	}
	e := New(opts...)
	if err := loadState(db, e.store, e.clock.Now()); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("emulator: load %s: %w", path, err)
	}
	e.db = db
	e.store.journal = newBoltJournal(db)
	return e, nil
}

// Close releases what the Emulator holds. For one made by Open it waits for
// the changes already accepted to be committed, then closes the state file;
// requests that change state after Close fail with 500 and change nothing,
// so stop serving first (http.Server.Shutdown) to answer every request
// normally. For one made by New, Close does nothing and returns nil; state
// stays readable in memory either way. Calling Close more than once is safe.
func (e *Emulator) Close() error {
	if e.db == nil {
		return nil
	}
	if j, ok := e.store.journal.(*boltJournal); ok {
		j.close()
	}
	return e.db.Close()
}

// loadState creates the buckets of a new file, checks the format of an
// existing one, and fills the empty store s from it, trimming chains to what
// readers see at now and deleting from the file the entries that are gone.
func loadState(db *bolt.DB, s *store, now time.Time) error {
	return db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		switch f := meta.Get(keyFormat); {
		case f == nil:
			if err := meta.Put(keyFormat, []byte(dbFormat)); err != nil {
				return err
			}
		case string(f) != dbFormat:
			return fmt.Errorf("unknown format %q (want %q)", f, dbFormat)
		}
		nsRoot, err := tx.CreateBucketIfNotExists(bucketNamespaces)
		if err != nil {
			return err
		}
		keysRoot, err := tx.CreateBucketIfNotExists(bucketKeys)
		if err != nil {
			return err
		}
		err = nsRoot.ForEachBucket(func(acct []byte) error {
			nsb := nsRoot.Bucket(acct)
			a := s.accountLocked(string(acct))
			return nsb.ForEach(func(id, title []byte) error {
				ns := &namespace{id: string(id), title: string(title), keys: newKeyTree()}
				if a.byTitle[ns.title] != nil {
					return fmt.Errorf("account %s: title %q used twice", acct, title)
				}
				a.byID[ns.id] = ns
				a.byTitle[ns.title] = ns
				return nil
			})
		})
		if err != nil {
			return err
		}
		return keysRoot.ForEachBucket(func(acct []byte) error {
			kb := keysRoot.Bucket(acct)
			a := s.accounts[string(acct)]
			var orphans [][]byte
			err := kb.ForEachBucket(func(id []byte) error {
				if a == nil || a.byID[string(id)] == nil {
					// Keys written while their namespace was being deleted.
					orphans = append(orphans, append([]byte(nil), id...))
					return nil
				}
				return loadKeys(kb.Bucket(id), a.byID[string(id)], now)
			})
			if err != nil {
				return err
			}
			for _, id := range orphans {
				if err := kb.DeleteBucket(id); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

// loadKeys loads one namespace's bucket into ns, deleting from the bucket
// the entries that readers no longer see and that have nothing pending.
func loadKeys(b *bolt.Bucket, ns *namespace, now time.Time) error {
	var gone [][]byte
	err := b.ForEach(func(k, v []byte) error {
		head, err := decodeChain(v)
		if err != nil {
			return fmt.Errorf("namespace %s, key %q: %w", ns.id, k, err)
		}
		if head = trim(head, now); head == nil {
			gone = append(gone, append([]byte(nil), k...))
			return nil
		}
		ns.keys.ReplaceOrInsert(item{key: string(k), head: head})
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range gone {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// maxBatch bounds the mutations committed in one transaction, so that a
// long queue is written in several commits rather than one huge one.
const maxBatch = 1024

// errClosed fails the mutations recorded after Close.
var errClosed = errors.New("emulator: state file closed")

// boltJournal commits mutations to the bbolt file in groups; see the design
// comment at the top of this file.
type boltJournal struct {
	db *bolt.DB

	mu      sync.Mutex
	idle    sync.Cond          // on mu: signalled when committing stops
	queue   []*pendingMutation // recorded, not yet committed
	leading bool               // a caller is committing
	closed  bool               // Close was called: record fails
}

// newBoltJournal returns a journal committing to db.
func newBoltJournal(db *bolt.DB) *boltJournal {
	j := &boltJournal{db: db}
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
func (j *boltJournal) record(m *mutation, apply func()) error {
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
func (j *boltJournal) lead() {
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

// commit writes batch in one transaction and, once it is synced, applies
// and releases each mutation in order. If the transaction fails, each
// mutation is committed on its own, so only those that fail by themselves
// fail.
func (j *boltJournal) commit(batch []*pendingMutation) {
	err := j.db.Update(func(tx *bolt.Tx) error {
		for _, p := range batch {
			if err := writeMutation(tx, p.m); err != nil {
				return err
			}
		}
		return nil
	})
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
func (j *boltJournal) close() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.closed = true
	for j.leading {
		j.idle.Wait()
	}
}

// writeMutation brings the file, in tx, to the state m leads to.
func writeMutation(tx *bolt.Tx, m *mutation) error {
	nsRoot := tx.Bucket(bucketNamespaces)
	keysRoot := tx.Bucket(bucketKeys)
	if nsRoot == nil || keysRoot == nil {
		return errors.New("emulator: state file has no buckets")
	}
	acct, id := []byte(m.account), []byte(m.namespace)
	switch m.op {
	case opCreateNamespace, opRenameNamespace:
		nsb, err := nsRoot.CreateBucketIfNotExists(acct)
		if err != nil {
			return err
		}
		if m.op == opCreateNamespace {
			if err := deleteKeysBucket(keysRoot, acct, id); err != nil {
				return err
			}
		}
		return nsb.Put(id, []byte(m.title))
	case opDeleteNamespace:
		if nsb := nsRoot.Bucket(acct); nsb != nil {
			if err := nsb.Delete(id); err != nil {
				return err
			}
		}
		return deleteKeysBucket(keysRoot, acct, id)
	case opWriteKeys:
		if nsb := nsRoot.Bucket(acct); nsb == nil || nsb.Get(id) == nil {
			// The namespace's deletion was committed first; the store
			// discards these writes with it.
			return nil
		}
		kb, err := keysRoot.CreateBucketIfNotExists(acct)
		if err != nil {
			return err
		}
		if kb, err = kb.CreateBucketIfNotExists(id); err != nil {
			return err
		}
		return writeChains(kb, m.at, m.writes)
	default:
		return fmt.Errorf("emulator: unknown mutation %d", m.op)
	}
}

// deleteKeysBucket deletes the keys of namespace id of acct, if it has any.
func deleteKeysBucket(keysRoot *bolt.Bucket, acct, id []byte) error {
	kb := keysRoot.Bucket(acct)
	if kb == nil || kb.Bucket(id) == nil {
		return nil
	}
	return kb.DeleteBucket(id)
}

// writeChains stores, for each write made at at, the chain applyWrite leaves.
func writeChains(b *bolt.Bucket, at time.Time, writes []keyWrite) error {
	tmp := newKeyTree()
	for _, w := range writes {
		k := []byte(w.key)
		if w.visibleFrom.IsZero() || !at.Before(w.visibleFrom) {
			// Visible at once: the write replaces whatever was there.
			if w.delete {
				if err := b.Delete(k); err != nil {
					return err
				}
				continue
			}
			v := version{value: w.value, metadata: w.metadata, expiration: w.expiration}
			// bbolt keeps the slice until commit: a new one for each Put.
			if err := b.Put(k, encodeChain(nil, &v)); err != nil {
				return err
			}
			continue
		}
		tmp.Clear(false)
		if old := b.Get(k); old != nil {
			head, err := decodeChain(old)
			if err != nil {
				return fmt.Errorf("key %q: %w", w.key, err)
			}
			tmp.ReplaceOrInsert(item{key: w.key, head: head})
		}
		applyWrite(tmp, w, at)
		it, ok := tmp.Get(item{key: w.key})
		if !ok {
			if err := b.Delete(k); err != nil {
				return err
			}
			continue
		}
		if err := b.Put(k, encodeChain(nil, it.head)); err != nil {
			return err
		}
	}
	return nil
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

// decodeChain decodes a chain. The data is copied once, since bbolt's memory
// is only valid during its transaction; values and metadata share the copy.
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
