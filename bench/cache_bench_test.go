package bench

import (
	"context"
	"testing"

	"github.com/workerskv/workerskv"
)

// The read cache (workerskv.NewCache) has no counterpart in the peer SDKs: on these rows only the
// workerskv column runs and the others are skipped ("n/a" in the chart). Compare a hit with every
// client's GetValue100B and InProcessGetValue100B, the uncached reads of the same value.

// flagsValue is the JSON value of CacheGetJSONHit, in the shape of a feature-flag document.
var flagsValue = []byte(`{"beta":true,"rollout":25,"owners":["web","ops"]}`)

// benchFlags is what CacheGetJSONHit decodes flagsValue into.
type benchFlags struct {
	Beta    bool     `json:"beta"`
	Rollout int      `json:"rollout"`
	Owners  []string `json:"owners"`
}

// forEachCachedClient runs fn for workerskv with a cache over a handle on the canned server serving
// value, and skips the other clients, which have no read cache.
func forEachCachedClient(b *testing.B, value []byte, fn func(b *testing.B, cache *workerskv.Cache)) {
	srv := newCannedServer(value)
	defer srv.Close()
	for _, name := range runOrder() {
		b.Run("client="+name, func(b *testing.B) {
			if name != "workerskv" {
				b.Skip("no read cache in this client")
			}
			c, done := newClient(name, srv.BaseURL(), apiToken, accountID, namespaceID)
			defer done()
			cache := workerskv.NewCache(c.(*wkvClient).kv, nil)
			defer cache.Close()
			fn(b, cache)
		})
	}
}

// BenchmarkCacheGetHit100B: Get of a cached 100-byte value; the copy handed to the caller is the
// one allocation.
func BenchmarkCacheGetHit100B(b *testing.B) {
	forEachCachedClient(b, makeValue(size100B), func(b *testing.B, cache *workerskv.Cache) {
		loop(b, func(ctx context.Context) error {
			v, err := cache.Get(ctx, valueKey)
			if err == nil && len(v) != size100B {
				b.Fatalf("got %d bytes, want %d", len(v), size100B)
			}
			return err
		})
	})
}

// BenchmarkCacheGetJSONHit: GetJSON of a cached JSON value, decoded into a struct on every call.
func BenchmarkCacheGetJSONHit(b *testing.B) {
	forEachCachedClient(b, flagsValue, func(b *testing.B, cache *workerskv.Cache) {
		loop(b, func(ctx context.Context) error {
			var f benchFlags
			err := cache.GetJSON(ctx, valueKey, &f)
			if err == nil && (!f.Beta || f.Rollout != 25 || len(f.Owners) != 2) {
				b.Fatalf("decoded %+v", f)
			}
			return err
		})
	})
}

// BenchmarkCacheGetColdMiss: Get of a key that is not cached (dropped before each read), so every
// read goes to the canned server over loopback and is stored: the cache's cost on a miss is this
// row less GetValue100B.
func BenchmarkCacheGetColdMiss(b *testing.B) {
	forEachCachedClient(b, makeValue(size100B), func(b *testing.B, cache *workerskv.Cache) {
		loop(b, func(ctx context.Context) error {
			cache.Invalidate(valueKey)
			v, err := cache.Get(ctx, valueKey)
			if err == nil && len(v) != size100B {
				b.Fatalf("got %d bytes, want %d", len(v), size100B)
			}
			return err
		})
	})
}
