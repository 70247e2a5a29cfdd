package workerskv_test

import (
	"bytes"
	"context"
	"testing"
)

// Benchmarks of large values: a 25 MiB upload, in each form, and a 25 MiB download.

func BenchmarkPut25MiB(b *testing.B) {
	value := value25MiB()
	c := vkClient(b, drainTransport{})
	ctx := context.Background()
	for _, pc := range putCases {
		b.Run(pc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(value)))
			for b.Loop() {
				if err := c.Values.Put(ctx, testNS, "big", bytes.NewReader(value), pc.opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkGet25MiB(b *testing.B) {
	value := value25MiB()
	c := vkClient(b, drainTransport{get: value})
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(value)))
	for b.Loop() {
		v, err := c.Values.Get(ctx, testNS, "big")
		if err != nil || len(v) != len(value) {
			b.Fatalf("Get: %d bytes, %v", len(v), err)
		}
	}
}
