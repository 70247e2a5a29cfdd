package workerskv

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/maypok86/otter/v2"
	"github.com/maypok86/otter/v2/stats"
)

// CacheOptions tunes a [Cache]. The zero value (or nil) gives the defaults. Durations and sizes follow
// the package's convention: 0 means the default, a negative value turns the feature off. TTL and
// MaxBytes are the exceptions: a cache cannot do without them, so a negative value gives the default,
// as 0 does.
type CacheOptions struct {
	// TTL is how long a value read from KV is served from memory before it is read again, like the
	// binding's cacheTtl (default 60s; negative: the default too). A key that expires in KV sooner is
	// dropped when it expires.
	TTL time.Duration
	// NegativeTTL is how long a key found missing is remembered as missing, so that reads of keys that
	// do not exist cannot spend the API's rate limit (default: TTL; negative: not remembered).
	NegativeTTL time.Duration
	// RefreshAhead, if positive, reloads an entry in the background when it is read within
	// RefreshAhead of the end of its TTL, so that readers of a hot key get the cached value while it
	// is reloaded instead of waiting for it (stale-while-revalidate). It must be less than TTL.
	// A reload ahead that fails leaves the entry as it was: it is served until its TTL ends, tried
	// again at most every few seconds meanwhile, and past its TTL it is treated as MaxStale says.
	// By default entries are not reloaded before they expire.
	RefreshAhead time.Duration
	// MaxBytes bounds the memory entries use, counting keys, values and metadata (default 64 MiB;
	// negative: the default too).
	// When it is reached the entries least likely to be read again are evicted. A value larger than
	// MaxBytes/16 is returned but never cached.
	MaxBytes int64
	// MaxStale is how long past its TTL (or NegativeTTL) an entry is kept, to be served when it cannot
	// be read again (stale-if-error; default 5 minutes, the length of Cloudflare's lockout; negative:
	// entries are dropped at the end of their TTL, as the binding's cache does).
	//
	// A read past the TTL reloads the entry and waits for it, as a miss does. If the reload fails
	// because the API refused it for the rate limit (429), failed (5xx) or could not be reached (a
	// network error), the read is answered with the entry kept, counted in [CacheStats].Stale, and
	// the entry is not reloaded again for a few seconds. Any other failure (a 4xx, the read's own
	// context ending) is returned as it is. While the client is locked out by the rate limit, a read
	// past the TTL is answered with the entry kept at once, without sending anything or waiting for
	// the lockout to end, and so, within a fraction of a second, is one that was waiting for a reload
	// when the lockout began; a read of a key with no entry kept goes to the client, which refuses it
	// at once or waits for the lockout to end (see [WithMaxRetryWait]).
	//
	// An entry is dropped when its key expires in KV: a value is never served from memory past its
	// expiration, stale or not. Entries kept past their TTL count against MaxBytes.
	MaxStale time.Duration
}

// Defaults of [CacheOptions].
const (
	defaultCacheTTL      = 60 * time.Second
	defaultCacheMaxBytes = 64 << 20
	defaultMaxStale      = 5 * time.Minute
	// largestCachedShare: a value over MaxBytes/largestCachedShare is not cached.
	largestCachedShare = 16
	// staleRetry is how long an entry whose reload failed is served stale before it is reloaded
	// again: a service reading a hot key through an outage sends a reload every few seconds, not one
	// per read.
	staleRetry = 5 * time.Second
	// never is a refresh time that is never reached.
	never = time.Duration(math.MaxInt64)
)

// Cache is an in-process read cache over a [KV] handle, with the binding's cacheTtl semantics: a
// service that reads the same keys on every request reads them from memory, and stays far below the
// API's rate limit (1,200 requests per 5 minutes, after which Cloudflare refuses every request for 5
// minutes). That limit is per user, shared by every replica of a service, so the cache also spends
// as few requests as it can and keeps serving while the API refuses.
//
// Values are served from memory for [CacheOptions].TTL after they were read; keys found missing are
// remembered for NegativeTTL. Keys that are not cached are read in batches: the misses of all
// goroutines that arrive within a couple of milliseconds of each other, and the reloads of
// RefreshAhead, are read with one bulk get of up to 100 keys (POST .../bulk/get), one at a time, while
// the next batch gathers; concurrent reads of one key make one load between them, and each read
// still returns when its own context ends. The bulk get serves only text values: a key whose value
// is binary is found (the API refuses the whole batch with code 10029) and read on its own, and the
// cache remembers it (up to a few thousand keys) so that it is not batched again. A cold miss waits
// a couple of milliseconds for others to join it.
//
// Past its TTL an entry is kept for [CacheOptions].MaxStale and served when it cannot be read again:
// while the API refuses for the rate limit, fails or cannot be reached (stale-if-error).
//
// [Cache.Put] and [Cache.Delete] write through to KV and update the cache, so a process reads its own
// writes at once. Writes made by other processes (or directly through the KV handle) are seen when
// the cached entry expires, after at most TTL, exactly like the binding's cache.
//
// A Cache is safe for concurrent use. Call [Cache.Close] when done with it: no goroutine of the cache
// outlives Close.
type Cache struct {
	kv      *KV
	entries *otter.Cache[cacheKey, *cacheEntry]
	loader  otter.Loader[cacheKey, *cacheEntry]
	counter *stats.Counter
	maxItem int
	// ttl, negTTL and maxStale are the options in force (negTTL 0: missing keys are not kept;
	// maxStale 0: entries are not kept past their TTL).
	ttl, negTTL, maxStale time.Duration
	// rememberMissing: keys found missing are cached (NegativeTTL > 0).
	rememberMissing bool
	// oneByOne loads each miss with a request of its own, as the cache did before it batched (tests
	// only: the fleet test's baseline).
	oneByOne bool
	// batch gathers loads into bulk gets; binary remembers the keys it must not batch.
	batch  *batcher
	binary *binaryKeys

	loads, loadErrors atomic.Uint64
	// made counts the entries the cache has made (loaded or written): a read that finds an entry made
	// since it started has the answer to its own load.
	made atomic.Uint64
	// stale counts reads answered with a stale entry; pastTTL reads that found an entry past its
	// TTL, which otter counted as hits and Stats reports as misses.
	stale, pastTTL atomic.Uint64

	// ctx bounds background work (reloads, bulk gets); Close cancels it.
	ctx    context.Context
	cancel context.CancelFunc
	// tasks counts the goroutines the cache started; closed makes later tasks run in the caller.
	mu     sync.Mutex
	closed bool
	tasks  sync.WaitGroup
}

// cacheKey names an entry: a value alone (for Get and GetJSON), or a value with its metadata (for
// GetWithMetadata).
type cacheKey struct {
	name     string
	withMeta bool
}

// cacheEntry is what the cache holds for a key: a value, or the error that says it is missing.
type cacheEntry struct {
	value      []byte
	meta       json.RawMessage
	expiration time.Time
	// missing is the not-found error the key was last read with; nil for a value.
	missing error
	// fresh is the end of the entry's TTL (or NegativeTTL), never after its expiration.
	fresh time.Time
	// made orders the entry among those the cache made (see Cache.made).
	made uint64
	// retryAt (Unix nanoseconds) is when a reload that failed may be tried again; until then reads
	// past the TTL are served the entry.
	retryAt atomic.Int64
}

// errNotCached carries an entry out of a load without otter keeping it: a value too large to cache,
// or a key found missing when misses are not remembered. For otter it is a key not found, so that a
// reload that ends with it drops the entry it replaces.
type errNotCached struct{ entry *cacheEntry }

func (errNotCached) Error() string { return "workerskv: value too large to cache" }

// Is makes otter take the error for a key not found.
func (errNotCached) Is(target error) bool { return target == otter.ErrNotFound }

// NewCache returns a read cache over kv. opts may be nil. A RefreshAhead not less than the TTL turns
// refreshing off.
func NewCache(kv *KV, opts *CacheOptions) *Cache {
	var o CacheOptions
	if opts != nil {
		o = *opts
	}
	if o.TTL <= 0 {
		o.TTL = defaultCacheTTL
	}
	switch {
	case o.NegativeTTL == 0:
		o.NegativeTTL = o.TTL
	case o.NegativeTTL < 0:
		o.NegativeTTL = 0
	}
	switch {
	case o.MaxStale == 0:
		o.MaxStale = defaultMaxStale
	case o.MaxStale < 0:
		o.MaxStale = 0
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = defaultCacheMaxBytes
	}
	if o.RefreshAhead >= o.TTL {
		o.RefreshAhead = 0
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Cache{
		kv: kv, counter: stats.NewCounter(), ctx: ctx, cancel: cancel,
		maxItem: int(min(o.MaxBytes/largestCachedShare, 1<<31-1)),
		ttl:     o.TTL, negTTL: o.NegativeTTL, maxStale: o.MaxStale,
		binary: newBinaryKeys(maxBinaryKeys),
	}
	c.loader = cacheLoader{c}
	c.batch = &batcher{c: c, queued: map[string]*batchLoad{}, wake: make(chan struct{}, 1)}
	c.rememberMissing = o.NegativeTTL > 0
	options := &otter.Options[cacheKey, *cacheEntry]{
		MaximumWeight: uint64(o.MaxBytes),
		Weigher:       func(k cacheKey, e *cacheEntry) uint32 { return uint32(entryWeight(k, e)) },
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[cacheKey, *cacheEntry]) time.Duration {
			return max(time.Nanosecond, time.Until(c.keptUntil(e.Value)))
		}),
		// Always set, also without RefreshAhead: a read past the TTL reloads the entry through
		// otter's refresh, which keeps the entry (to serve it stale) while the reload runs.
		RefreshCalculator: refreshCalculator{ahead: o.RefreshAhead},
		StatsRecorder:     c.counter,
		Executor:          c.execute,
		Logger:            cacheLogger{kv.client.core.logger},
	}
	c.entries = otter.Must(options)
	return c
}

// keptUntil is when otter drops e: MaxStale past its TTL, and never after the key expires in KV.
func (c *Cache) keptUntil(e *cacheEntry) time.Time {
	t := e.fresh.Add(c.maxStale)
	if !e.expiration.IsZero() && e.expiration.Before(t) {
		t = e.expiration
	}
	return t
}

// refreshCalculator says when otter reloads an entry by itself: RefreshAhead before the end of its
// TTL, or never (reads past the TTL ask for their reload); a reload that failed is tried again after
// staleRetry rather than on the next read.
type refreshCalculator struct{ ahead time.Duration }

func (r refreshCalculator) after(e *cacheEntry) time.Duration {
	if r.ahead <= 0 {
		return never
	}
	if d := time.Until(e.fresh) - r.ahead; d > 0 {
		return d
	}
	// Already within RefreshAhead of its end (the key expires in KV soon): reloading it would only
	// read it again before it goes.
	return never
}

func (r refreshCalculator) RefreshAfterCreate(e otter.Entry[cacheKey, *cacheEntry]) time.Duration {
	return r.after(e.Value)
}

func (r refreshCalculator) RefreshAfterUpdate(e otter.Entry[cacheKey, *cacheEntry], _ *cacheEntry) time.Duration {
	return r.after(e.Value)
}

func (r refreshCalculator) RefreshAfterReload(e otter.Entry[cacheKey, *cacheEntry], _ *cacheEntry) time.Duration {
	return r.after(e.Value)
}

func (r refreshCalculator) RefreshAfterReloadFailure(otter.Entry[cacheKey, *cacheEntry], error) time.Duration {
	if r.ahead <= 0 {
		return never
	}
	return staleRetry
}

// entryWeight is the bytes an entry holds, for MaxBytes.
func entryWeight(k cacheKey, e *cacheEntry) int {
	return len(k.name) + len(e.value) + len(e.meta) + 64 // 64: the entry's own fields, roughly
}

// Get reads a value like [KV.Get], from memory when it can. The slice returned is the caller's: the
// cache keeps its own copy.
func (c *Cache) Get(ctx context.Context, key string) ([]byte, error) {
	e, err := c.get(ctx, cacheKey{name: key})
	if err != nil {
		return nil, err
	}
	return clone(e.value), nil
}

// clone copies b into a slice of exactly its length (bytes.Clone rounds the capacity up, and costs
// a third of a cache hit more); nil stays nil.
func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	c := make([]byte, len(b))
	copy(c, b)
	return c
}

// GetWithMetadata reads a value with its metadata and expiration like [KV.GetWithMetadata], from
// memory when it can. The entry returned is the caller's.
func (c *Cache) GetWithMetadata(ctx context.Context, key string) (*Entry, error) {
	e, err := c.get(ctx, cacheKey{name: key, withMeta: true})
	if err != nil {
		return nil, err
	}
	return &Entry{Value: clone(e.value), Metadata: clone(e.meta), Expiration: e.expiration}, nil
}

// GetJSON reads a value like [KV.GetJSON], from memory when it can, and decodes it into dst.
func (c *Cache) GetJSON(ctx context.Context, key string, dst any) error {
	if err := checkJSONTarget(dst); err != nil {
		return err
	}
	e, err := c.get(ctx, cacheKey{name: key})
	if err != nil {
		return err
	}
	return decodeJSONValue(key, e.value, dst)
}

// get returns the entry of k: from memory while it is within its TTL, else loaded or reloaded; an
// entry of a missing key gives its error.
func (c *Cache) get(ctx context.Context, k cacheKey) (*cacheEntry, error) {
	before := c.made.Load()
	e, err := c.entries.Get(ctx, k, c.loader)
	switch nc, ok := err.(errNotCached); {
	case ok:
		e = nc.entry
	case err != nil:
		return nil, err
	default:
		// Past its TTL, the entry is reloaded; unless it was made since the read started: then it
		// is the answer to this read's own load (of a key that expires in KV as it is read). A hit
		// reads only the monotonic clock here (time.Until of a time that has it), half what
		// time.Now costs.
		if time.Until(e.fresh) <= 0 && e.made <= before {
			c.pastTTL.Add(1)
			if e, err = c.revalidate(ctx, k, e, time.Now()); err != nil {
				return nil, err
			}
		}
	}
	if e.missing != nil {
		return nil, e.missing
	}
	return e, nil
}

// revalidate reloads old, an entry past its TTL, and returns what KV has now; or old itself when
// it may be served stale: while the client is locked out, after a failed reload, or when the reload
// fails for the rate limit, a 5xx or the network.
func (c *Cache) revalidate(ctx context.Context, k cacheKey, old *cacheEntry, now time.Time) (*cacheEntry, error) {
	servable := now.Before(c.keptUntil(old))
	if servable && (c.kv.client.core.budget.lockedFor(now) > 0 || now.UnixNano() < old.retryAt.Load()) {
		c.stale.Add(1)
		return old, nil
	}
	e, err := c.reload(ctx, k, old, servable)
	var nc errNotCached
	switch {
	case err == nil:
		return e, nil
	case errors.As(err, &nc):
		return nc.entry, nil
	case servable && staleable(err) && time.Now().Before(c.keptUntil(old)):
		old.retryAt.Store(time.Now().Add(staleRetry).UnixNano())
		c.stale.Add(1)
		return old, nil
	}
	return nil, err
}

// reload reads the key of old again and puts the result in its place. Reads of the same entry share
// one reload (otter's refresh, which also discards the result if the key is written meanwhile).
func (c *Cache) reload(ctx context.Context, k cacheKey, old *cacheEntry, servable bool) (*cacheEntry, error) {
	if !c.isClosed() {
		r, err := c.awaitRefresh(ctx, k, servable)
		switch {
		case err != nil:
			return nil, err
		case r.Err == nil || !c.isClosed():
			return r.Value, r.Err
		}
		// Closed while the reload ran: it was cancelled, and is made again below.
	}
	// After Close nothing runs in the background: the reload is made here, under the reader's
	// context, and replaces old only if old is still the key's entry.
	e, err := c.load(ctx, k)
	var nc errNotCached
	switch {
	case err == nil:
		c.entries.ComputeIfPresent(k, func(cur *cacheEntry) (*cacheEntry, otter.ComputeOp) {
			if cur != old {
				return cur, otter.CancelOp
			}
			return e, otter.WriteOp
		})
	case errors.As(err, &nc):
		c.entries.ComputeIfPresent(k, func(cur *cacheEntry) (*cacheEntry, otter.ComputeOp) {
			if cur != old {
				return cur, otter.CancelOp
			}
			return cur, otter.InvalidateOp
		})
	}
	return e, err
}

// awaitRefresh starts otter's refresh of k, or joins the one running, and waits for its result until
// ctx ends or, when the entry can be served stale, the client is locked out: the refresh may be
// waiting for the lockout to end, and the reader need not.
func (c *Cache) awaitRefresh(ctx context.Context, k cacheKey, servable bool) (otter.RefreshResult[cacheKey, *cacheEntry], error) {
	var poll <-chan time.Time
	if servable {
		t := time.NewTicker(lockoutPoll)
		defer t.Stop()
		poll = t.C
	}
	done := c.entries.Refresh(ctx, k, c.loader)
	for {
		select {
		case r := <-done:
			return r, nil
		case <-ctx.Done():
			return otter.RefreshResult[cacheKey, *cacheEntry]{}, ctx.Err()
		case now := <-poll:
			if c.kv.client.core.budget.lockedFor(now) > 0 {
				return otter.RefreshResult[cacheKey, *cacheEntry]{}, errLockedOut
			}
		}
	}
}

// lockoutPoll is how often a read waiting for a reload checks whether the client has been locked out
// meanwhile.
const lockoutPoll = 250 * time.Millisecond

// errLockedOut stops the wait for a reload once the client is locked out by the rate limit.
var errLockedOut = errors.New("workerskv: cache: the client is locked out by the rate limit")

// staleable reports whether a failed read may be answered with a stale entry: the API refused it for
// the rate limit (429) or failed (5xx), or it could not be sent or its answer read (the network). A
// 4xx says something about the request or the key, and a cancelled context about the reader: both
// are returned as they are.
func staleable(err error) bool {
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return false
	case errors.Is(err, ErrRateLimited):
		return true
	}
	if ae, ok := errors.AsType[*APIError](err); ok {
		return ae.StatusCode >= 500
	}
	_, invalid := errors.AsType[*ValidationError](err)
	return !invalid
}

// Put writes a value through to KV like [KV.Put] and, once KV has it, caches it, so that this process
// reads it at once.
func (c *Cache) Put(ctx context.Context, key string, value []byte, opts *PutOptions) error {
	if err := c.kv.Put(ctx, key, value, opts); err != nil {
		// The write may have happened: the cached value can no longer be trusted.
		c.invalidate(key)
		return err
	}
	// The value's kind is known now: a bulk get would refuse a binary one.
	if utf8.Valid(value) {
		c.binary.forget(key)
	} else {
		c.binary.add(key)
	}
	// Only the value is kept: the entry with metadata is read again when asked for.
	c.entries.Invalidate(cacheKey{name: key, withMeta: true})
	if len(value) > c.maxItem {
		c.entries.Invalidate(cacheKey{name: key})
		return nil
	}
	e := &cacheEntry{value: clone(value)}
	if opts != nil && !opts.Expiration.IsZero() {
		e.expiration = opts.Expiration
	} else if opts != nil && opts.ExpirationTTL > 0 {
		e.expiration = time.Now().Add(opts.ExpirationTTL)
	}
	c.setFresh(e, time.Now())
	c.entries.Set(cacheKey{name: key}, e)
	return nil
}

// setFresh sets the end of e's TTL, read at now: TTL (NegativeTTL for a missing key) from now, and
// never after the key expires.
func (c *Cache) setFresh(e *cacheEntry, now time.Time) {
	ttl := c.ttl
	if e.missing != nil {
		ttl = c.negTTL
	}
	e.fresh, e.made = now.Add(ttl), c.made.Add(1)
	if !e.expiration.IsZero() && e.expiration.Before(e.fresh) {
		e.fresh = e.expiration
	}
}

// PutJSON writes v encoded as JSON through to KV like [KV.PutJSON], and caches it like [Cache.Put].
func (c *Cache) PutJSON(ctx context.Context, key string, v any, opts *PutOptions) error {
	b, err := encodeJSONValue(v)
	if err != nil {
		return err
	}
	return c.Put(ctx, key, b, opts)
}

// Delete deletes a key through to KV like [KV.Delete] and drops it from the cache, so that this process
// sees it gone at once.
func (c *Cache) Delete(ctx context.Context, key string) error {
	err := c.kv.Delete(ctx, key)
	c.invalidate(key)
	return err
}

// Invalidate drops a key from the cache, so that its next read goes to KV.
func (c *Cache) Invalidate(key string) { c.invalidate(key) }

func (c *Cache) invalidate(key string) {
	c.entries.Invalidate(cacheKey{name: key})
	c.entries.Invalidate(cacheKey{name: key, withMeta: true})
}

// CacheStats counts what a [Cache] has done since it was made.
type CacheStats struct {
	// Hits and Misses count reads served from memory and reads that were not. A read that finds an
	// entry past its TTL is a miss, also when it is answered with the stale entry.
	Hits, Misses uint64
	// Loads counts the keys read from KV to fill the cache, each one load whether it was read on its
	// own or in a bulk get with others; LoadErrors those that failed (a key found missing is not a
	// failure).
	Loads, LoadErrors uint64
	// Evictions counts entries the cache dropped by itself: expired, or evicted to stay within
	// MaxBytes.
	Evictions uint64
	// Stale counts reads answered with a value past its TTL because it could not be reloaded
	// (see [CacheOptions].MaxStale).
	Stale uint64
	// Entries and Bytes are how many entries the cache holds now, and their weight against MaxBytes;
	// entries kept past their TTL for MaxStale count.
	Entries int
	Bytes   uint64
}

// Stats returns the cache's counters.
func (c *Cache) Stats() CacheStats {
	// Read before the snapshot: every read counted in pastTTL was counted as a hit first.
	pastTTL := c.pastTTL.Load()
	s := c.counter.Snapshot()
	return CacheStats{
		Hits: s.Hits - min(pastTTL, s.Hits), Misses: s.Misses + pastTTL, Evictions: s.Evictions,
		Loads: c.loads.Load(), LoadErrors: c.loadErrors.Load(), Stale: c.stale.Load(),
		Entries: c.entries.EstimatedSize(), Bytes: c.entries.WeightedSize(),
	}
}

// Close stops the cache's background work and waits for it: background reloads and bulk gets in
// flight are cancelled, and the reads waiting for a bulk get read their keys on their own. The cache
// still serves reads after Close, reading each key it misses on its own and without reloading ahead
// in the background.
func (c *Cache) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.tasks.Wait()
	c.entries.StopAllGoroutines()
	return nil
}

func (c *Cache) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// execute is otter's Executor: it runs a task on a goroutine the cache accounts for, or, once the
// cache is closed, on the caller's.
func (c *Cache) execute(fn func()) {
	if !c.spawn(fn) {
		fn()
	}
}

// spawn runs fn on a goroutine Close waits for, and reports false (running nothing) once the cache
// is closed.
func (c *Cache) spawn(fn func()) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.tasks.Go(fn)
	return true
}

// cacheLoader reads entries from KV for the cache.
type cacheLoader struct{ c *Cache }

// Load reads an entry; see [Cache.load].
func (l cacheLoader) Load(ctx context.Context, k cacheKey) (*cacheEntry, error) {
	return l.c.load(ctx, k)
}

// Reload reads an entry again in the background (RefreshAhead, or a read past the TTL), bounded by
// the cache's life. An entry that is no longer to be kept is dropped: errNotCached is a key not
// found for otter.
func (l cacheLoader) Reload(_ context.Context, k cacheKey, _ *cacheEntry) (*cacheEntry, error) {
	return l.c.load(l.c.ctx, k)
}

// load reads an entry from KV. A missing key is an entry with the error; it and a value too large
// to cache come back in an errNotCached when they are not to be kept.
func (c *Cache) load(ctx context.Context, k cacheKey) (*cacheEntry, error) {
	c.loads.Add(1)
	e := &cacheEntry{}
	var err error
	if c.batchable(k.name) {
		e, err = c.batch.load(ctx, k)
		// A load under a context that has ended (a background reload when Close cancels it) goes
		// no further.
		if errors.Is(err, errLoadAlone) && ctx.Err() == nil {
			e, err = c.loadAlone(ctx, k)
		} else if errors.Is(err, errLoadAlone) {
			err = ctx.Err()
		}
	} else {
		e, err = c.loadAlone(ctx, k)
	}
	switch {
	case errors.Is(err, ErrKeyNotFound):
		e = &cacheEntry{missing: err}
		c.setFresh(e, time.Now())
		if !c.rememberMissing {
			return nil, errNotCached{e}
		}
		return e, nil
	case err != nil:
		c.loadErrors.Add(1)
		return nil, err
	}
	c.setFresh(e, time.Now())
	if len(e.value)+len(e.meta) > c.maxItem {
		return nil, errNotCached{e}
	}
	return e, nil
}

// batchable reports whether the key can be read in a bulk get: the cache batches, the key is one a
// bulk get can carry and is not known to hold a binary value. Keys a request would refuse are read
// on their own, where the client reports what is wrong with them.
func (c *Cache) batchable(name string) bool {
	return !c.oneByOne && validateNamespaceID(c.kv.id) == nil && validateBulkKey(name) == nil && !c.binary.has(name)
}

// loadAlone reads an entry with requests of its own: the value with its expiration (one request),
// or with its metadata too (two requests for a key known to be binary, else [KV.GetWithMetadata]).
func (c *Cache) loadAlone(ctx context.Context, k cacheKey) (*cacheEntry, error) {
	e := &cacheEntry{}
	var (
		en  *Entry
		err error
	)
	switch {
	case !k.withMeta:
		e.value, e.expiration, err = c.kv.GetWithExpiration(ctx, k.name)
		return e, err
	case c.binary.has(k.name):
		en, err = c.kv.getWithMetadataApart(ctx, k.name)
	default:
		en, err = c.kv.GetWithMetadata(ctx, k.name)
	}
	if err != nil {
		return nil, err
	}
	e.value, e.meta, e.expiration = en.Value, en.Metadata, en.Expiration
	return e, nil
}

// cacheLogger sends what otter logs (failed background reloads) to the client's logger.
type cacheLogger struct{ l *slog.Logger }

func (g cacheLogger) Warn(ctx context.Context, msg string, err error) {
	g.l.LogAttrs(ctx, slog.LevelWarn, "workerskv cache: "+msg, slog.String("error", err.Error()))
}

func (g cacheLogger) Error(ctx context.Context, msg string, err error) {
	g.l.LogAttrs(ctx, slog.LevelError, "workerskv cache: "+msg, slog.String("error", err.Error()))
}
