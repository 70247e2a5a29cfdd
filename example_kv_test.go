package workerskv_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/workerskv/workerskv"
	"github.com/workerskv/workerskv/kvtest"
)

// exampleHandle returns a handle on a new namespace of an in-process emulator, which stands in for
// Cloudflare here; with the real API, c.KV(id) on a client from NewClientFromEnv.
func exampleHandle() (*workerskv.KV, func()) {
	srv, err := kvtest.Start()
	if err != nil {
		log.Fatal(err)
	}
	ns, err := srv.Client.Namespaces.Create(context.Background(), "flags")
	if err != nil {
		log.Fatal(err)
	}
	return srv.Client.KV(ns.ID), srv.Close
}

// Values stored as JSON are written with PutJSON and read into a struct with GetJSON, like the
// binding's put(key, JSON.stringify(v)) and get(key, "json").
func ExampleKV_GetJSON() {
	kv, done := exampleHandle()
	defer done()
	ctx := context.Background()

	type Flags struct {
		NewCheckout bool     `json:"new_checkout"`
		Regions     []string `json:"regions"`
	}
	if err := kv.PutJSON(ctx, "flags/web", Flags{NewCheckout: true, Regions: []string{"eu", "us"}}, nil); err != nil {
		log.Fatal(err)
	}

	var f Flags
	if err := kv.GetJSON(ctx, "flags/web", &f); err != nil {
		log.Fatal(err)
	}
	fmt.Println(f.NewCheckout, f.Regions)

	err := kv.GetJSON(ctx, "flags/mobile", &f)
	fmt.Println(errors.Is(err, workerskv.ErrKeyNotFound))
	// Output:
	// true [eu us]
	// true
}

// A service reads through a Cache: each key is read from KV at most once a minute, however many
// requests the service serves, which keeps it far below the API's rate limit.
func ExampleNewCache() {
	kv, done := exampleHandle()
	defer done()
	ctx := context.Background()
	if err := kv.Put(ctx, "greeting", []byte("hello"), nil); err != nil {
		log.Fatal(err)
	}

	cache := workerskv.NewCache(kv, &workerskv.CacheOptions{TTL: time.Minute})
	defer cache.Close()

	for range 1000 { // say, once per incoming request
		if _, err := cache.Get(ctx, "greeting"); err != nil {
			log.Fatal(err)
		}
	}
	v, err := cache.Get(ctx, "greeting")
	if err != nil {
		log.Fatal(err)
	}
	s := cache.Stats()
	fmt.Printf("%s: %d read from KV, %d from memory\n", v, s.Loads, s.Hits)
	// Output:
	// hello: 1 read from KV, 1000 from memory
}
