package emulator

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"
)

// memState is what a memDurable stores: namespace titles and records, by
// account and namespace ID. It outlives the memDurable, so that a test can
// open another Emulator on it, as on a directory after a restart.
type memState struct {
	titles  map[[2]string]string            // {account, ID} -> title
	records map[[2]string]map[string][]byte // {account, ID} -> key -> record
}

func newMemState() *memState {
	return &memState{titles: map[[2]string]string{}, records: map[[2]string]map[string][]byte{}}
}

// clone returns a deep copy of s, for a transaction to work on.
func (s *memState) clone() *memState {
	c := &memState{titles: maps.Clone(s.titles), records: make(map[[2]string]map[string][]byte, len(s.records))}
	for ns, recs := range s.records {
		c.records[ns] = maps.Clone(recs)
	}
	return c
}

// memDurable is a Durable in memory, for the tests of the journal: Commit
// works on a copy of the state and keeps it only when every change
// succeeded, so a failed Commit stores nothing. writer is held for the
// whole of a Commit, as a database holds its writer lock.
type memDurable struct {
	writer sync.Mutex

	mu     sync.Mutex // guards the fields below
	state  *memState
	closed bool
}

func (d *memDurable) Load(fn func(Change) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, ns := range slices.SortedFunc(maps.Keys(d.state.titles), compareIDs) {
		if err := fn(Change{Op: OpPutNamespace, Account: ns[0], Namespace: ns[1], Title: d.state.titles[ns]}); err != nil {
			return err
		}
	}
	for _, ns := range slices.SortedFunc(maps.Keys(d.state.records), compareIDs) {
		recs := d.state.records[ns]
		for _, k := range slices.Sorted(maps.Keys(recs)) {
			if err := fn(Change{Op: OpPutRecord, Account: ns[0], Namespace: ns[1], Key: k, Record: recs[k]}); err != nil {
				return err
			}
		}
	}
	return nil
}

func compareIDs(a, b [2]string) int {
	return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
}

func (d *memDurable) Commit(changes []Change) error {
	d.writer.Lock()
	defer d.writer.Unlock()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errors.New("memDurable: closed")
	}
	s := d.state.clone()
	for _, c := range changes {
		ns := [2]string{c.Account, c.Namespace}
		if _, stored := s.titles[ns]; !stored && c.Op != OpPutNamespace && c.Op != OpDeleteNamespace {
			continue
		}
		switch c.Op {
		case OpPutNamespace:
			s.titles[ns] = c.Title
		case OpDeleteNamespace:
			delete(s.titles, ns)
			delete(s.records, ns)
		case OpPutRecord, OpDeleteRecord, OpUpdateRecord:
			rec := c.Record
			if c.Op == OpDeleteRecord {
				rec = nil
			}
			if c.Op == OpUpdateRecord {
				var err error
				if rec, err = c.Update(s.records[ns][c.Key]); err != nil {
					return err
				}
			}
			if rec == nil {
				delete(s.records[ns], c.Key)
				continue
			}
			if s.records[ns] == nil {
				s.records[ns] = map[string][]byte{}
			}
			s.records[ns][c.Key] = slices.Clone(rec)
		default:
			return fmt.Errorf("memDurable: unknown %v", c.Op)
		}
	}
	d.state = s
	return nil
}

func (d *memDurable) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	return nil
}

// holdWriter starts a Commit-like hold of d's writer lock that lasts until
// release is called, so that mutations recorded meanwhile queue up in the
// journal. It returns once the lock is held.
func holdWriter(t *testing.T, d *memDurable) (release func()) {
	t.Helper()
	d.writer.Lock()
	var once sync.Once
	release = func() { once.Do(d.writer.Unlock) }
	t.Cleanup(release)
	return release
}

// waitQueued waits until n mutations wait in e's journal queue.
func waitQueued(e *Emulator, n int) {
	j := e.store.journal.(*durableJournal)
	for {
		j.mu.Lock()
		queued := len(j.queue)
		j.mu.Unlock()
		if queued >= n {
			return
		}
		runtime.Gosched()
	}
}

// leadAlone starts write on a goroutine of wg and returns once it leads
// with a batch of itself alone, waiting for the Durable: mutations recorded
// from then on queue up behind it.
func leadAlone(e *Emulator, wg *sync.WaitGroup, write func()) {
	j := e.store.journal.(*durableJournal)
	wg.Go(write)
	for {
		j.mu.Lock()
		taken := j.leading && len(j.queue) == 0
		j.mu.Unlock()
		if taken {
			return
		}
		runtime.Gosched()
	}
}

// groupCommitAt is the time on the fake clock of the group-commit tests.
var groupCommitAt = time.Unix(1_800_000_000, 0)

// openAt opens an Emulator on a new memDurable over state, on a fake clock
// at groupCommitAt. The test closes it.
func openAt(t *testing.T, state *memState) (*Emulator, *memDurable) {
	t.Helper()
	d := &memDurable{state: state}
	e, err := NewDurable(d, WithClock(NewFakeClock(groupCommitAt)))
	if err != nil {
		t.Fatal(err)
	}
	return e, d
}

// openWithNamespace opens an Emulator on a new state, as openAt does, and
// creates a namespace titled title in it.
func openWithNamespace(t *testing.T, title string) (e *Emulator, d *memDurable, ns namespaceInfo) {
	t.Helper()
	e, d = openAt(t, newMemState())
	ns, err := e.store.createNamespace(DefaultAccountID, newNamespaceID(), title)
	if err != nil {
		e.Close()
		t.Fatal(err)
	}
	return e, d, ns
}

// TestGroupCommitIsolatesFailure commits a batch in which one mutation
// cannot be written: that one fails and changes nothing, the others are
// committed, applied and survive a reopen.
func TestGroupCommitIsolatesFailure(t *testing.T) {
	e, d, ns := openWithNamespace(t, "batch")
	defer e.Close()
	at := groupCommitAt
	// A stored chain that cannot be decoded: a pending write to "bad",
	// which must read it, fails.
	id := [2]string{DefaultAccountID, ns.ID}
	d.mu.Lock()
	d.state.records[id] = map[string][]byte{"bad": {chainFormat, 9}}
	d.mu.Unlock()

	release := holdWriter(t, d)
	write := func(key string, pending bool) error {
		w := keyWrite{key: key, value: []byte("v-" + key)}
		if pending {
			w.visibleFrom = at.Add(time.Minute)
		}
		return e.store.writeKeys(DefaultAccountID, ns.ID, at, []keyWrite{w})
	}
	keys := []string{"a", "b", "bad", "c", "d"}
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	for i, k := range keys {
		if i == 0 {
			// The first write leads with itself alone and waits for the
			// Durable. The others queue behind it and are committed as one
			// batch.
			leadAlone(e, &wg, func() { errs[i] = write(k, k == "bad") })
		} else {
			wg.Go(func() { errs[i] = write(k, k == "bad") })
		}
	}
	waitQueued(e, len(keys)-1)
	release()
	wg.Wait()
	for i, k := range keys {
		if (errs[i] != nil) != (k == "bad") {
			t.Fatalf("write %s: %v", k, errs[i])
		}
	}

	check := func(e *Emulator, when string) {
		t.Helper()
		views, err := e.store.getMany(DefaultAccountID, ns.ID, keys, at)
		if err != nil {
			t.Fatal(err)
		}
		for i, k := range keys {
			switch {
			case k == "bad" && views[i] != nil:
				t.Fatalf("%s: failed write to %s visible: %q", when, k, views[i].value)
			case k != "bad" && (views[i] == nil || string(views[i].value) != "v-"+k):
				t.Fatalf("%s: %s = %v", when, k, views[i])
			}
		}
	}
	check(e, "before reopen")
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	// The corrupt entry is still there; drop it so that NewDurable can load.
	if _, ok := d.state.records[id]["bad"]; !ok {
		t.Fatal("the corrupt record is gone")
	}
	delete(d.state.records[id], "bad")
	e2, _ := openAt(t, d.state)
	defer e2.Close()
	check(e2, "after reopen")
}

// TestGroupCommitOrder writes one key from many goroutines at once, in
// batches: the value in memory, the last one committed, is the value
// stored after a reopen.
func TestGroupCommitOrder(t *testing.T) {
	e, d, ns := openWithNamespace(t, "order")
	defer e.Close()
	at := groupCommitAt
	keys := []string{"k", "other"}
	for round := range 20 {
		release := holdWriter(t, d)
		var wg sync.WaitGroup
		for w := range 16 {
			write := func() {
				writes := []keyWrite{{key: "k", value: fmt.Appendf(nil, "%d-%d", round, w)}}
				if w%3 == 0 {
					writes = append(writes, keyWrite{key: "other", delete: w%2 == 0, value: []byte("o")})
				}
				if err := e.store.writeKeys(DefaultAccountID, ns.ID, at, writes); err != nil {
					t.Error(err)
				}
			}
			if w == 0 {
				leadAlone(e, &wg, write)
			} else {
				wg.Go(write)
			}
		}
		waitQueued(e, 15)
		release()
		wg.Wait()
	}
	before, err := e.store.getMany(DefaultAccountID, ns.ID, keys, at)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e2, _ := openAt(t, d.state)
	defer e2.Close()
	after, err := e2.store.getMany(DefaultAccountID, ns.ID, keys, at)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		b, a := before[i], after[i]
		if (a == nil) != (b == nil) || (a != nil && !slices.Equal(a.value, b.value)) {
			t.Fatalf("%s: %v in memory, %v after reopen", k, b, a)
		}
	}
}

// TestGroupCommitCloseDrains closes the Emulator while mutations wait in
// the queue: Close returns once they are committed, and later ones fail.
func TestGroupCommitCloseDrains(t *testing.T) {
	e, d, ns := openWithNamespace(t, "drain")
	at := groupCommitAt
	release := holdWriter(t, d)
	const n = 8
	var wg sync.WaitGroup
	for i := range n {
		write := func() {
			k := fmt.Sprint(i)
			if err := e.store.writeKeys(DefaultAccountID, ns.ID, at, []keyWrite{{key: k, value: []byte(k)}}); err != nil {
				t.Error(err)
			}
		}
		if i == 0 {
			leadAlone(e, &wg, write)
		} else {
			wg.Go(write)
		}
	}
	waitQueued(e, n-1)
	closed := make(chan error, 1)
	go func() { closed <- e.Close() }()
	// Close marks the journal closed before it waits for the queue.
	for j := e.store.journal.(*durableJournal); ; runtime.Gosched() {
		j.mu.Lock()
		c := j.closed
		j.mu.Unlock()
		if c {
			break
		}
	}
	if err := e.store.writeKeys(DefaultAccountID, ns.ID, at, []keyWrite{{key: "late", value: []byte("x")}}); !errors.Is(err, errClosed) {
		t.Fatalf("write after Close: %v", err)
	}
	release()
	wg.Wait()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if !d.closed {
		t.Fatal("Close did not close the Durable")
	}

	e2, _ := openAt(t, d.state)
	defer e2.Close()
	keys := []string{"late"}
	for i := range n {
		keys = append(keys, fmt.Sprint(i))
	}
	views, err := e2.store.getMany(DefaultAccountID, ns.ID, keys, at)
	if err != nil {
		t.Fatal(err)
	}
	if views[0] != nil {
		t.Fatal("write refused after Close is stored")
	}
	for i, v := range views[1:] {
		if v == nil || string(v.value) != fmt.Sprint(i) {
			t.Fatalf("key %d after Close and reopen: %v", i, v)
		}
	}
}

// TestNewDurableDropsWhatIsGone loads records that have expired, a
// pending write, and records of a namespace that is not stored:
// NewDurable keeps what readers can still see and deletes the rest from
// the Durable.
func TestNewDurableDropsWhatIsGone(t *testing.T) {
	at := groupCommitAt
	id := [2]string{DefaultAccountID, "0123456789abcdef0123456789abcdef"}
	orphan := [2]string{DefaultAccountID, "fedcba9876543210fedcba9876543210"}
	pending := &version{value: []byte("new"), visibleFrom: at.Add(time.Minute), prev: &version{value: []byte("old")}}
	s := newMemState()
	s.titles[id] = "kept"
	s.records[id] = map[string][]byte{
		"live":    encodeChain(nil, &version{value: []byte("v")}),
		"expired": encodeChain(nil, &version{value: []byte("v"), expiration: at.Unix() - 1}),
		"pending": encodeChain(nil, pending),
		"deleted": encodeChain(nil, &version{deleted: true, prev: &version{value: []byte("v")}}),
	}
	s.records[orphan] = map[string][]byte{"k": encodeChain(nil, &version{value: []byte("v")})}

	e, d := openAt(t, s)
	defer e.Close()
	if got := slices.Sorted(maps.Keys(d.state.records[id])); !slices.Equal(got, []string{"live", "pending"}) {
		t.Fatalf("records kept: %q", got)
	}
	if _, ok := d.state.records[orphan]; ok {
		t.Fatal("the records of a namespace that is not stored were kept")
	}
	views, err := e.store.getMany(id[0], id[1], []string{"live", "pending", "expired"}, at)
	if err != nil {
		t.Fatal(err)
	}
	if views[0] == nil || string(views[0].value) != "v" || views[1] == nil || string(views[1].value) != "old" || views[2] != nil {
		t.Fatalf("after loading: %v", views)
	}
	views, err = e.store.getMany(id[0], id[1], []string{"pending"}, at.Add(time.Minute))
	if err != nil || views[0] == nil || string(views[0].value) != "new" {
		t.Fatalf("pending write once visible: %v %v", views, err)
	}
}

// TestNewDurableLoadErrors: a Durable that gives a record before a
// namespace, a title twice, or a record that cannot be decoded makes
// NewDurable fail.
func TestNewDurableLoadErrors(t *testing.T) {
	a, b := [2]string{DefaultAccountID, "aa"}, [2]string{DefaultAccountID, "bb"}
	for name, s := range map[string]*memState{
		"title used twice": {titles: map[[2]string]string{a: "t", b: "t"}, records: map[[2]string]map[string][]byte{}},
		"corrupt record": {titles: map[[2]string]string{a: "t"},
			records: map[[2]string]map[string][]byte{a: {"k": {chainFormat, 9}}}},
	} {
		if _, err := NewDurable(&memDurable{state: s}); err == nil {
			t.Errorf("%s: NewDurable succeeded", name)
		}
	}
	disordered := loadFunc(func(fn func(Change) error) error {
		if err := fn(Change{Op: OpPutRecord, Account: a[0], Namespace: a[1], Key: "k", Record: encodeChain(nil, &version{value: []byte("v")})}); err != nil {
			return err
		}
		return fn(Change{Op: OpPutNamespace, Account: a[0], Namespace: a[1], Title: "t"})
	})
	if _, err := NewDurable(disordered); err == nil {
		t.Error("a namespace loaded after records: NewDurable succeeded")
	}
	if _, err := NewDurable(nil); err == nil {
		t.Error("NewDurable(nil) succeeded")
	}
}

// loadFunc is a Durable whose Load is the function itself and that stores
// nothing.
type loadFunc func(fn func(Change) error) error

func (f loadFunc) Load(fn func(Change) error) error { return f(fn) }
func (loadFunc) Commit([]Change) error              { return nil }
func (loadFunc) Close() error                       { return nil }

// TestChangeOpString names every op.
func TestChangeOpString(t *testing.T) {
	var got []string
	for op := OpPutNamespace; op <= OpUpdateRecord+1; op++ {
		got = append(got, op.String())
	}
	sort.Strings(got)
	want := []string{"ChangeOp(6)", "OpDeleteNamespace", "OpDeleteRecord", "OpPutNamespace", "OpPutRecord", "OpUpdateRecord"}
	if !slices.Equal(got, want) {
		t.Fatalf("names: %q", got)
	}
}
