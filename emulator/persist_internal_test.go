package emulator

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// holdWriter starts a bbolt read-write transaction on e's file that waits
// until release is called, so that mutations recorded meanwhile queue up in
// the journal. It returns once the transaction holds bbolt's writer lock.
func holdWriter(t *testing.T, e *Emulator) (release func()) {
	t.Helper()
	held, done := make(chan struct{}), make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(done) }) }
	var wg sync.WaitGroup
	wg.Go(func() {
		_ = e.db.Update(func(*bolt.Tx) error {
			close(held)
			<-done
			return nil
		})
	})
	t.Cleanup(func() { release(); wg.Wait() })
	<-held
	return release
}

// waitQueued waits until n mutations wait in e's journal queue.
func waitQueued(e *Emulator, n int) {
	j := e.store.journal.(*boltJournal)
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
// with a batch of itself alone, waiting for bbolt: mutations recorded
// from then on queue up behind it.
func leadAlone(e *Emulator, wg *sync.WaitGroup, write func()) {
	j := e.store.journal.(*boltJournal)
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

// openAt opens the Emulator persisted in dir on a fake clock at
// groupCommitAt. The test closes it.
func openAt(t *testing.T, dir string) *Emulator {
	t.Helper()
	e, err := Open(dir, WithClock(NewFakeClock(groupCommitAt)))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// openWithNamespace opens an Emulator persisted in a new directory, as
// openAt does, and creates a namespace titled title in it.
func openWithNamespace(t *testing.T, title string) (e *Emulator, dir string, ns namespaceInfo) {
	t.Helper()
	dir = t.TempDir()
	e = openAt(t, dir)
	ns, err := e.store.createNamespace(DefaultAccountID, newNamespaceID(), title)
	if err != nil {
		e.Close()
		t.Fatal(err)
	}
	return e, dir, ns
}

// TestGroupCommitIsolatesFailure commits a batch in which one mutation
// cannot be written: that one fails and changes nothing, the others are
// committed, applied and survive a reopen.
func TestGroupCommitIsolatesFailure(t *testing.T) {
	e, dir, ns := openWithNamespace(t, "batch")
	defer e.Close()
	at := groupCommitAt
	// A stored chain that cannot be decoded: a pending write to "bad",
	// which must read it, fails.
	err := e.db.Update(func(tx *bolt.Tx) error {
		kb, err := tx.Bucket(bucketKeys).CreateBucketIfNotExists([]byte(DefaultAccountID))
		if err != nil {
			return err
		}
		if kb, err = kb.CreateBucketIfNotExists([]byte(ns.ID)); err != nil {
			return err
		}
		return kb.Put([]byte("bad"), []byte{chainFormat, 9})
	})
	if err != nil {
		t.Fatal(err)
	}

	release := holdWriter(t, e)
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
			// The first write leads with itself alone and waits for
			// bbolt. The others queue behind it and are committed as one
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
	// The corrupt entry is still there; drop it so that Open can load.
	db, err := bolt.Open(dir+"/"+dbFileName, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketKeys).Bucket([]byte(DefaultAccountID)).Bucket([]byte(ns.ID)).Delete([]byte("bad"))
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	e2 := openAt(t, dir)
	defer e2.Close()
	check(e2, "after reopen")
}

// TestGroupCommitOrder writes one key from many goroutines at once, in
// batches: the value in memory, the last one committed, is the value on
// disk after a reopen.
func TestGroupCommitOrder(t *testing.T) {
	e, dir, ns := openWithNamespace(t, "order")
	defer e.Close()
	at := groupCommitAt
	keys := []string{"k", "other"}
	for round := range 20 {
		release := holdWriter(t, e)
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
	e2 := openAt(t, dir)
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
	e, dir, ns := openWithNamespace(t, "drain")
	at := groupCommitAt
	release := holdWriter(t, e)
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
	for j := e.store.journal.(*boltJournal); ; runtime.Gosched() {
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

	e2 := openAt(t, dir)
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
		t.Fatal("write refused after Close is on disk")
	}
	for i, v := range views[1:] {
		if v == nil || string(v.value) != fmt.Sprint(i) {
			t.Fatalf("key %d after Close and reopen: %v", i, v)
		}
	}
}
