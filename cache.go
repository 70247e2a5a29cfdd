package workerskv

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
	"github.com/maypok86/otter/v2/stats"
)

// CacheOptions tunes a [Cache]. The zero value (or nil) gives the defaults. Durations and sizes follow
// the package's convention: 0 means the default, a negative value turns the feature off.
type CacheOptions struct {
	// TTL is how long a value read from KV is served from memory before it is read again, like the
	// binding's cacheTtl (default 60s). A key that expires sooner is dropped when it expires.
	TTL time.Duration
	// NegativeTTL is how long a key found missing is remembered as missing, so that reads of keys that
	// do not exist cannot spend the API's rate limit (default: TTL; negative: not remembered).
	NegativeTTL time.Duration
	// RefreshAhead, if positive, reloads an entry in the background when it is read within
	// RefreshAhead of the end of its TTL, so that readers of a hot key get the cached value while it
	// is reloaded instead of waiting for it (stale-while-revalidate). It must be less than TTL.
	// By default entries are not reloaded before they expire.
	RefreshAhead time.Duration
	// MaxBytes bounds the memory entries use, counting keys, values and metadata (default 64 MiB).
	// When it is reached the entries least likely to be read again are evicted. A value larger than
	// MaxBytes/16 is returned but never cached.
	MaxBytes int64
}

// Defaults of [CacheOptions].
const (
	defaultCacheTTL      = 60 * time.Second
	defaultCacheMaxBytes = 64 << 20
	// largestCachedShare: a value over MaxBytes/largestCachedShare is not cached.
	largestCachedShare = 16
)

// Cache is an in-process read cache over a [KV] handle, with the binding's cacheTtl semantics: a
// service that reads the same keys on every request reads them from memory, and stays far below the
// API's rate limit (1,200 requests per 5 minutes, after which Cloudflare refuses every request for 5
// minutes).
//
// Values are served from memory for [CacheOptions].TTL after they were read; keys found missing are
// remembered for NegativeTTL; concurrent reads of a key that is not cached make one request between
// them. [Cache.Put] and [Cache.Delete] write through to KV and update the cache, so a process reads its
// own writes at once. Writes made by other processes (or directly through the KV handle) are seen when
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
	// rememberMissing: keys found missing are cached (NegativeTTL > 0).
	rememberMissing bool

	loads, loadErrors atomic.Uint64

	// ctx bounds background reloads; Close cancels it.
	ctx    context.Context
	cancel context.CancelFunc
	// tasks counts the goroutines the cache started; closed makes later tasks run in the caller.
	mu     sync.Mutex
	closed bool
	tasks  sync.WaitGroup
}

// cacheKey names an entry: a value alone (for Get and GetJSON), or a value with its metadata (for
// GetWithMetadata), which takes one more request to load.
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
}

// errNotCached carries an entry out of a load without otter keeping it: a value too large to cache,
// or a key found missing when misses are not remembered.
type errNotCached struct{ entry *cacheEntry }

func (errNotCached) Error() string { return "workerskv: value too large to cache" }

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
	if o.MaxBytes <= 0 {
		o.MaxBytes = defaultCacheMaxBytes
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Cache{kv: kv, counter: stats.NewCounter(), ctx: ctx, cancel: cancel, maxItem: int(min(o.MaxBytes/largestCachedShare, 1<<31-1))}
	c.loader = cacheLoader{c}
	c.rememberMissing = o.NegativeTTL > 0
	ttl, negTTL := o.TTL, o.NegativeTTL
	options := &otter.Options[cacheKey, *cacheEntry]{
		MaximumWeight: uint64(o.MaxBytes),
		Weigher:       func(k cacheKey, e *cacheEntry) uint32 { return uint32(entryWeight(k, e)) },
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[cacheKey, *cacheEntry]) time.Duration {
			if e.Value.missing != nil {
				return negTTL
			}
			if exp := e.Value.expiration; !exp.IsZero() {
				return max(time.Nanosecond, min(ttl, time.Until(exp)))
			}
			return ttl
		}),
		StatsRecorder: c.counter,
		Executor:      c.execute,
		Logger:        cacheLogger{kv.client.core.logger},
	}
	if o.RefreshAhead > 0 && o.RefreshAhead < o.TTL {
		options.RefreshCalculator = otter.RefreshWriting[cacheKey, *cacheEntry](o.TTL - o.RefreshAhead)
	}
	c.entries = otter.Must(options)
	return c
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

func (c *Cache) get(ctx context.Context, k cacheKey) (*cacheEntry, error) {
	e, err := c.entries.Get(ctx, k, c.loader)
	if err != nil {
		if nc, ok := err.(errNotCached); ok {
			e, err = nc.entry, nil
		} else {
			return nil, err
		}
	}
	if e.missing != nil {
		return nil, e.missing
	}
	return e, nil
}

// Put writes a value through to KV like [KV.Put] and, once KV has it, caches it, so that this process
// reads it at once.
func (c *Cache) Put(ctx context.Context, key string, value []byte, opts *PutOptions) error {
	if err := c.kv.Put(ctx, key, value, opts); err != nil {
		// The write may have happened: the cached value can no longer be trusted.
		c.invalidate(key)
		return err
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
	c.entries.Set(cacheKey{name: key}, e)
	return nil
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
	// Hits and Misses count reads served from memory and reads that were not.
	Hits, Misses uint64
	// Loads counts the reads of KV made to fill the cache (a GetWithMetadata load is one, of two
	// requests), LoadErrors those that failed (a key found missing is not a failure).
	Loads, LoadErrors uint64
	// Evictions counts entries the cache dropped by itself: expired, or evicted to stay within
	// MaxBytes.
	Evictions uint64
	// Entries and Bytes are how many entries the cache holds now, and their weight against MaxBytes.
	Entries int
	Bytes   uint64
}

// Stats returns the cache's counters.
func (c *Cache) Stats() CacheStats {
	s := c.counter.Snapshot()
	return CacheStats{
		Hits: s.Hits, Misses: s.Misses, Evictions: s.Evictions,
		Loads: c.loads.Load(), LoadErrors: c.loadErrors.Load(),
		Entries: c.entries.EstimatedSize(), Bytes: c.entries.WeightedSize(),
	}
}

// Close stops the cache's background work and waits for it: background reloads in flight are
// cancelled. The cache still serves reads after Close, without reloading ahead in the background.
func (c *Cache) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.tasks.Wait()
	c.entries.StopAllGoroutines()
	return nil
}

// execute is otter's Executor: it runs a task on a goroutine the cache accounts for, or, once the
// cache is closed, on the caller's.
func (c *Cache) execute(fn func()) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		fn()
		return
	}
	c.tasks.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.tasks.Done()
		fn()
	}()
}

// cacheLoader reads entries from KV for the cache.
type cacheLoader struct{ c *Cache }

// Load reads an entry. A missing key is an entry with the error; it and a value too large to cache
// come back in an errNotCached when they are not to be kept.
func (l cacheLoader) Load(ctx context.Context, k cacheKey) (*cacheEntry, error) {
	c := l.c
	c.loads.Add(1)
	e := &cacheEntry{}
	var err error
	if k.withMeta {
		var en *Entry
		if en, err = c.kv.GetWithMetadata(ctx, k.name); err == nil {
			e.value, e.meta, e.expiration = en.Value, en.Metadata, en.Expiration
		}
	} else {
		e.value, e.expiration, err = c.kv.GetWithExpiration(ctx, k.name)
	}
	switch {
	case errors.Is(err, ErrKeyNotFound):
		e.missing = err
		if !c.rememberMissing {
			return nil, errNotCached{e}
		}
		return e, nil
	case err != nil:
		c.loadErrors.Add(1)
		return nil, err
	case len(e.value)+len(e.meta) > c.maxItem:
		return nil, errNotCached{e}
	}
	return e, nil
}

// Reload reads an entry again in the background, for RefreshAhead, bounded by the cache's life. An
// entry that is no longer to be kept is dropped.
func (l cacheLoader) Reload(_ context.Context, k cacheKey, _ *cacheEntry) (*cacheEntry, error) {
	e, err := l.Load(l.c.ctx, k)
	if _, ok := err.(errNotCached); ok {
		return nil, otter.ErrNotFound
	}
	return e, err
}

// cacheLogger sends what otter logs (failed background reloads) to the client's logger.
type cacheLogger struct{ l *slog.Logger }

func (g cacheLogger) Warn(ctx context.Context, msg string, err error) {
	g.l.LogAttrs(ctx, slog.LevelWarn, "workerskv cache: "+msg, slog.String("error", err.Error()))
}

func (g cacheLogger) Error(ctx context.Context, msg string, err error) {
	g.l.LogAttrs(ctx, slog.LevelError, "workerskv cache: "+msg, slog.String("error", err.Error()))
}
