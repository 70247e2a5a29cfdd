package workerskv_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/workerskv/workerskv"
	"github.com/workerskv/workerskv/emulator"
)

// Bulk.Put takes any number of pairs and splits them into requests within the API's limits (here
// 10,000 pairs each); binary values are sent base64-encoded and stored byte-exact.
func ExampleBulkService_Put() {
	// An in-process emulator stands in for Cloudflare; use NewClientFromEnv for the real API.
	srv := httptest.NewServer(emulator.New())
	defer srv.Close()
	c, err := workerskv.NewClient(
		workerskv.WithAPIToken(emulator.DefaultAPIToken),
		workerskv.WithAccountID(emulator.DefaultAccountID),
		workerskv.WithBaseURL(srv.URL+"/client/v4"),
		workerskv.WithHTTPClient(srv.Client()),
	)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	ns, err := c.Namespaces.Create(ctx, "users")
	if err != nil {
		panic(err)
	}

	pairs := make([]workerskv.BulkPair, 25_000)
	for i := range pairs {
		pairs[i] = workerskv.BulkPair{Key: fmt.Sprintf("user/%05d", i), Value: fmt.Appendf(nil, `{"id":%d}`, i)}
	}
	pairs[0].Value = []byte{0xff, 0x00, 0x7f} // not UTF-8: goes base64-encoded
	pairs[1].Metadata = map[string]string{"role": "admin"}

	res, err := c.Bulk.Put(ctx, ns.ID, pairs, &workerskv.BulkOptions{
		Concurrency: 1, // in order, for a stable output; the default runs 4 requests at a time
		Progress: func(p workerskv.BulkProgress) {
			fmt.Printf("request %d: %d of %d written\n", p.Requests, p.Done, p.Total)
		},
	})
	if err != nil {
		panic(err)
	}
	fmt.Printf("written %d, unsuccessful %v\n", res.Succeeded, res.Unsuccessful)

	v, err := c.Values.Get(ctx, ns.ID, "user/00000")
	if err != nil {
		panic(err)
	}
	fmt.Printf("user/00000 = %x\n", v)
	// Output:
	// request 1: 10000 of 25000 written
	// request 2: 20000 of 25000 written
	// request 3: 25000 of 25000 written
	// written 25000, unsuccessful []
	// user/00000 = ff007f
}
