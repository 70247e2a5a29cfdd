package workerskv

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/workerskv/workerskv/internal/limits"
)

// The cache reads its misses in bulk gets of up to 100 keys: one request where reading each key alone
// would spend one per key of the account's budget (1,200 requests per 5 minutes, shared by every
// replica of a service).
//
// otter has bulk loading (Cache.BulkGet with a BulkLoader), but it does not fit: it hands the loader
// the missing keys of one BulkGet call, so it batches the keys that one caller asks for together. A
// service's misses come from many goroutines, each request handler reading its own keys with Get,
// and BulkGet cannot merge calls made by different goroutines: each would still load on its own. So
// the cache keeps otter's Get, whose loader gives concurrent misses of one key a single load and lets
// every other caller wait for it under its own context, and that loader hands its key to a batcher,
// which gathers the loads of all goroutines into bulk gets.

// gatherWindow is how long a load waits for others to join its bulk get when the batcher is idle.
// While a bulk get is in flight the next batch gathers for as long as it takes.
const gatherWindow = 2 * time.Millisecond

// maxBinaryKeys bounds how many keys with binary values the cache remembers (at most 2 MiB of names).
const maxBinaryKeys = 4096

// errLoadAlone tells a load to read its key with a request of its own: its value is binary (the bulk
// get refused it), or the cache was closed before the bulk get was made.
var errLoadAlone = errors.New("workerskv: cache: key to be read on its own")

// batchLoad is the load of one key in a bulk get, shared by the loads of the key queued together (its
// value alone and its value with metadata, or a reader that gave up and came back).
type batchLoad struct {
	name string
	at   time.Time // when it was queued
	// waiters counts the loads waiting for it (under batcher.mu); a queued batchLoad that none waits
	// for any more is not sent.
	waiters int
	done    chan struct{}
	// Set before done is closed: the key's value, whether it exists, or why it was not read.
	value Entry
	found bool
	err   error
}

// batcher gathers the cache's loads into bulk gets. A dispatcher goroutine, started when a load is
// queued and none is running, takes up to 100 queued loads once the oldest has waited gatherWindow
// (at once when 100 are queued) and sends them in one bulk get; there is at most one in flight, and
// the dispatcher ends when the queue is empty. It runs under the cache's context, for the loads of
// every reader: a reader whose context ends stops waiting, and the key is read all the same if
// others wait for it.
type batcher struct {
	c *Cache
	// wake tells the dispatcher that a full batch is queued (buffered: a send never blocks).
	wake chan struct{}

	mu sync.Mutex
	// queue is the loads not sent yet, oldest first; queued indexes them by key. A load of a key
	// that is in flight is queued anew: the bulk get in flight may have read the key before a write
	// that the load must see.
	queue   []*batchLoad
	queued  map[string]*batchLoad
	running bool
}

// load reads k in a bulk get and waits for it, or for ctx to end. It returns an error matching
// [ErrKeyNotFound] for a key that does not exist, and errLoadAlone when the key must be read alone.
func (b *batcher) load(ctx context.Context, k cacheKey) (*cacheEntry, error) {
	l, start := b.enqueue(k.name)
	if start && !b.c.spawn(b.run) {
		b.drain() // closed: no dispatcher will run
	}
	select {
	case <-l.done:
	case <-ctx.Done():
		b.leave(l)
		select {
		case <-l.done: // read meanwhile: the result is not lost
		default:
			return nil, ctx.Err()
		}
	}
	switch {
	case l.err != nil:
		return nil, l.err
	case !l.found:
		return nil, &keyNotFoundError{key: k.name}
	}
	// The value is shared by the entries of both kinds of the key; the cache never changes a value.
	e := &cacheEntry{value: l.value.Value, expiration: l.value.Expiration}
	if k.withMeta {
		e.meta = l.value.Metadata
	}
	return e, nil
}

// enqueue queues a load of name, or joins the one queued, and reports whether the dispatcher must be
// started.
func (b *batcher) enqueue(name string) (l *batchLoad, start bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	l = b.queued[name]
	if l == nil {
		l = &batchLoad{name: name, at: time.Now(), done: make(chan struct{})}
		b.queue = append(b.queue, l)
		b.queued[name] = l
		if len(b.queue) == limits.MaxBulkGetItems {
			select {
			case b.wake <- struct{}{}:
			default:
			}
		}
	}
	l.waiters++
	start = !b.running
	b.running = true
	return l, start
}

// leave is called by a load that stops waiting for l; a queued l that no load waits for any more is
// dropped.
func (b *batcher) leave(l *batchLoad) {
	b.mu.Lock()
	defer b.mu.Unlock()
	l.waiters--
	if l.waiters == 0 && b.queued[l.name] == l {
		delete(b.queued, l.name)
		b.queue = slices.DeleteFunc(b.queue, func(x *batchLoad) bool { return x == l })
	}
}

// run is the dispatcher: it sends the queued loads, a batch at a time, until none is left.
func (b *batcher) run() {
	ctx := b.c.ctx
	for {
		batch, wait := b.next()
		switch {
		case batch != nil:
			b.fetch(ctx, batch)
		case wait > 0:
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-b.wake:
			case <-ctx.Done():
			}
			t.Stop()
		default:
			return
		}
	}
}

// next takes the next batch from the queue: up to 100 loads, once the oldest has waited gatherWindow
// (which a load queued while a bulk get was in flight usually has by the time it is answered), 100
// are queued or the cache is closed. Otherwise it returns how long to wait. With nothing queued
// it marks the dispatcher stopped and returns neither.
func (b *batcher) next() ([]*batchLoad, time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.queue) == 0 {
		b.running = false
		return nil, 0
	}
	if len(b.queue) < limits.MaxBulkGetItems && b.c.ctx.Err() == nil {
		if wait := gatherWindow - time.Since(b.queue[0].at); wait > 0 {
			return nil, wait
		}
	}
	n := min(len(b.queue), limits.MaxBulkGetItems)
	batch := slices.Clone(b.queue[:n])
	b.queue = slices.Delete(b.queue, 0, n)
	for _, l := range batch {
		delete(b.queued, l.name)
	}
	return batch, 0
}

// drain hands every queued load to its readers to read alone, when no dispatcher can run.
func (b *batcher) drain() {
	b.mu.Lock()
	batch := b.queue
	b.queue, b.queued, b.running = nil, map[string]*batchLoad{}, false
	b.mu.Unlock()
	finish(batch, errLoadAlone)
}

// fetch reads batch with one bulk get. The API refuses a bulk get whose values are not all text, as
// a whole (code 10029) and without saying which key is binary: then the batch is split in halves,
// each fetched again, down to the single keys that are binary, which are remembered and read on
// their own. A batch cancelled by Close is read alone too.
func (b *batcher) fetch(ctx context.Context, batch []*batchLoad) {
	names := make([]string, len(batch))
	for i, l := range batch {
		names[i] = l.name
	}
	// Metadata is asked for even when no load of the batch needs it: only the answer with metadata
	// carries each key's expiration, without which a value could be served after it expires in KV.
	vals, err := b.c.kv.client.Bulk.getBatch(ctx, b.c.kv.id, names, &bulkGetWithMetadata)
	switch {
	case err == nil:
		for _, l := range batch {
			l.value, l.found = vals[l.name]
		}
	case isNotText(err) && len(batch) > 1:
		half := len(batch) / 2
		b.fetch(ctx, batch[:half])
		b.fetch(ctx, batch[half:])
		return
	case isNotText(err):
		b.c.binary.add(batch[0].name)
		err = errLoadAlone
	case ctx.Err() != nil:
		err = errLoadAlone
	}
	finish(batch, err)
}

// finish completes the loads of batch with err (nil: their values are set).
func finish(batch []*batchLoad, err error) {
	for _, l := range batch {
		if err != nil {
			l.err = err
		}
		close(l.done)
	}
}

// binaryKeys remembers, up to a bound, the keys whose values are binary, so that they are not
// batched again: the bulk get refuses them, and finding them costs requests. When it is full the
// key remembered first is forgotten.
type binaryKeys struct {
	mu   sync.Mutex
	slot map[string]int // index of each key in ring
	ring []string
	next int // the slot to reuse when ring is full
	max  int
}

func newBinaryKeys(n int) *binaryKeys { return &binaryKeys{slot: map[string]int{}, max: n} }

func (s *binaryKeys) has(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.slot[key]
	return ok
}

func (s *binaryKeys) add(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.slot[key]; ok {
		return
	}
	if len(s.ring) < s.max {
		s.slot[key] = len(s.ring)
		s.ring = append(s.ring, key)
		return
	}
	// The slot may hold a key forgotten since, or forgotten and remembered again in another slot.
	if i, ok := s.slot[s.ring[s.next]]; ok && i == s.next {
		delete(s.slot, s.ring[s.next])
	}
	s.ring[s.next], s.slot[key] = key, s.next
	s.next = (s.next + 1) % s.max
}

// forget drops key, whose value is text now.
func (s *binaryKeys) forget(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.slot, key)
}
