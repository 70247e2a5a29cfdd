package workerskv_test

import (
	"bytes"
	"testing"

	"github.com/workerskv/workerskv"
	"github.com/workerskv/workerskv/kvtest"
)

// benchKV returns a handle on a new namespace of a loopback emulator holding key "small" (100 bytes)
// and key "flags" (a small JSON object).
func benchKV(b *testing.B) *workerskv.KV {
	b.Helper()
	srv := kvtest.NewServer(b)
	ns, err := srv.Client.Namespaces.Create(b.Context(), "bench")
	if err != nil {
		b.Fatal(err)
	}
	kv := srv.Client.KV(ns.ID)
	if err := kv.Put(b.Context(), "small", bytes.Repeat([]byte("v"), 100), nil); err != nil {
		b.Fatal(err)
	}
	if err := kv.PutJSON(b.Context(), "flags", flags{Beta: true, Owners: []string{"web", "ops"}}, nil); err != nil {
		b.Fatal(err)
	}
	return kv
}

// BenchmarkCacheGetHit100B: Get of a cached 100-byte value (goal: under 200 ns, at most 1 allocation,
// the copy handed to the caller).
func BenchmarkCacheGetHit100B(b *testing.B) {
	cache := workerskv.NewCache(benchKV(b), nil)
	defer cache.Close()
	ctx := b.Context()
	if _, err := cache.Get(ctx, "small"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cache.Get(ctx, "small"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCacheGetJSONHit: GetJSON of a cached value, decoded into a struct on each call.
func BenchmarkCacheGetJSONHit(b *testing.B) {
	cache := workerskv.NewCache(benchKV(b), nil)
	defer cache.Close()
	ctx := b.Context()
	var f flags
	if err := cache.GetJSON(ctx, "flags", &f); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := cache.GetJSON(ctx, "flags", &f); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCacheGetColdMiss: Get of a key that is not cached, read from the loopback emulator.
func BenchmarkCacheGetColdMiss(b *testing.B) {
	cache := workerskv.NewCache(benchKV(b), nil)
	defer cache.Close()
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		cache.Invalidate("small")
		if _, err := cache.Get(ctx, "small"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKVGet100B: the same read without the cache, for comparison (goal: a hit under 1% of it).
func BenchmarkKVGet100B(b *testing.B) {
	kv := benchKV(b)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := kv.Get(ctx, "small"); err != nil {
			b.Fatal(err)
		}
	}
}
