// Package persist keeps an emulator's state in a directory, for kvemulator
// -data DIR: Open returns an emulator.Emulator whose state is in the bbolt
// file DIR/kv.db, through the emulator's Durable hook.
//
// It lives in the commands' module, not in the emulator's, so that the
// library's users do not have bbolt (and its own requirements) in their
// module graph.
package persist

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/workerskv/workerskv/emulator"
)

// File layout
//
// The file holds the current state, not a log:
//
//	meta                                 "format" -> "1"
//	namespaces / {account}               {namespace ID} -> title
//	keys / {account} / {namespace ID}    {key name} -> record
//
// A record is what the emulator gives to store (a key's encoded versions);
// this package never looks inside one. bbolt keeps keys in byte order, as
// the emulator's B-trees do, so loading is one pass in order.
//
// Each Commit is one bbolt read-write transaction, synced when it commits.
// Commits do not write bbolt's freelist (NoFreelistSync): bbolt rebuilds it
// when it opens the file, and the data is synced as before.

// FileName is the name of the bbolt file Open keeps in its directory.
const FileName = "kv.db"

// format is the layout version written to meta/format.
const format = "1"

var (
	bucketMeta       = []byte("meta")
	bucketNamespaces = []byte("namespaces")
	bucketKeys       = []byte("keys")
	keyFormat        = []byte("format")
)

// lockTimeout bounds how long Open waits for another process (or another
// Emulator) to release the file.
const lockTimeout = 2 * time.Second

// Open returns an Emulator, configured by opts as emulator.New does, whose
// state persists in the directory dir, which is created if needed. The state
// is kept in the bbolt file dir/kv.db: Open loads what an earlier Emulator
// left there (namespaces with their IDs and titles, and every key with its
// value, metadata and expiration; entries that have expired by the clock's
// time are dropped), and every change is committed and synced to the file
// before the request that made it is answered or its effect can be read, so
// an acknowledged write survives a crash or a restart. Changes made
// concurrently are committed together, one sync for all of them, in the
// order they are applied in memory. A request whose change cannot be written
// fails with 500, code 10001, and changes nothing.
//
// Only one Emulator at a time can have dir open: Open fails after a short
// wait when another one, in this process or another, holds it. Call Close on
// the Emulator when done: it waits for pending changes, then closes the file.
func Open(dir string, opts ...emulator.Option) (*emulator.Emulator, error) {
	f, err := openFile(dir)
	if err != nil {
		return nil, err
	}
	e, err := emulator.NewDurable(f, opts...)
	if err != nil {
		_ = f.db.Close()
		return nil, fmt.Errorf("emulator: %s: %w", f.db.Path(), err)
	}
	return e, nil
}

// file is an emulator.Durable over a bbolt file.
type file struct {
	db *bolt.DB
}

// openFile opens (or creates) dir/kv.db and checks its layout.
func openFile(dir string) (*file, error) {
	if dir == "" {
		return nil, errors.New("emulator: Open needs a directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	path := filepath.Join(dir, FileName)
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
	if err := db.Update(initBuckets); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("emulator: open %s: %w", path, err)
	}
	return &file{db: db}, nil
}

// initBuckets creates the buckets of a new file and checks the format of an
// existing one.
func initBuckets(tx *bolt.Tx) error {
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	switch f := meta.Get(keyFormat); {
	case f == nil:
		if err := meta.Put(keyFormat, []byte(format)); err != nil {
			return err
		}
	case string(f) != format:
		return fmt.Errorf("unknown format %q (want %q)", f, format)
	}
	for _, name := range [][]byte{bucketNamespaces, bucketKeys} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}

// Load gives every namespace, then every record, in byte order.
func (f *file) Load(fn func(emulator.Change) error) error {
	return f.db.View(func(tx *bolt.Tx) error {
		nsRoot, keysRoot, err := roots(tx)
		if err != nil {
			return err
		}
		err = nsRoot.ForEachBucket(func(acct []byte) error {
			return nsRoot.Bucket(acct).ForEach(func(id, title []byte) error {
				return fn(emulator.Change{Op: emulator.OpPutNamespace, Account: string(acct), Namespace: string(id), Title: string(title)})
			})
		})
		if err != nil {
			return err
		}
		return keysRoot.ForEachBucket(func(acct []byte) error {
			kb := keysRoot.Bucket(acct)
			return kb.ForEachBucket(func(id []byte) error {
				return kb.Bucket(id).ForEach(func(k, v []byte) error {
					return fn(emulator.Change{Op: emulator.OpPutRecord, Account: string(acct), Namespace: string(id), Key: string(k), Record: v})
				})
			})
		})
	})
}

// Commit writes changes in one transaction, synced when it commits.
func (f *file) Commit(changes []emulator.Change) error {
	return f.db.Update(func(tx *bolt.Tx) error {
		for _, c := range changes {
			if err := apply(tx, c); err != nil {
				return err
			}
		}
		return nil
	})
}

// Close closes the file.
func (f *file) Close() error { return f.db.Close() }

// roots returns the namespaces and keys buckets.
func roots(tx *bolt.Tx) (nsRoot, keysRoot *bolt.Bucket, err error) {
	nsRoot, keysRoot = tx.Bucket(bucketNamespaces), tx.Bucket(bucketKeys)
	if nsRoot == nil || keysRoot == nil {
		return nil, nil, errors.New("emulator: state file has no buckets")
	}
	return nsRoot, keysRoot, nil
}

// apply makes one change in tx.
func apply(tx *bolt.Tx, c emulator.Change) error {
	nsRoot, keysRoot, err := roots(tx)
	if err != nil {
		return err
	}
	acct, id := []byte(c.Account), []byte(c.Namespace)
	switch c.Op {
	case emulator.OpPutNamespace:
		nsb, err := nsRoot.CreateBucketIfNotExists(acct)
		if err != nil {
			return err
		}
		return nsb.Put(id, []byte(c.Title))
	case emulator.OpDeleteNamespace:
		if nsb := nsRoot.Bucket(acct); nsb != nil {
			if err := nsb.Delete(id); err != nil {
				return err
			}
		}
		if kb := keysRoot.Bucket(acct); kb != nil && kb.Bucket(id) != nil {
			return kb.DeleteBucket(id)
		}
		return nil
	case emulator.OpPutRecord, emulator.OpDeleteRecord, emulator.OpUpdateRecord:
		if nsb := nsRoot.Bucket(acct); nsb == nil || nsb.Get(id) == nil {
			// The namespace's deletion was committed first; the emulator
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
		return applyRecord(kb, c)
	default:
		return fmt.Errorf("emulator: unknown change %v", c.Op)
	}
}

// applyRecord makes a record change in the namespace's bucket b.
func applyRecord(b *bolt.Bucket, c emulator.Change) error {
	k := []byte(c.Key)
	rec := c.Record
	switch c.Op {
	case emulator.OpDeleteRecord:
		rec = nil
	case emulator.OpUpdateRecord:
		var err error
		if rec, err = c.Update(b.Get(k)); err != nil {
			return err
		}
	}
	if rec == nil {
		return b.Delete(k)
	}
	// bbolt keeps the slice until commit; the emulator makes a new one for
	// each change.
	return b.Put(k, rec)
}
