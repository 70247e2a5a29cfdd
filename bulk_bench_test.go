package workerskv_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/workerskv/workerskv"
)

// BenchmarkBulkPutSeq measures encoding and chunking: 100,000 small pairs per operation.
func BenchmarkBulkPutSeq(b *testing.B) {
	stub := &bkStub{}
	c := bkStubClient(b, stub)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Bulk.PutSeq(b.Context(), testNS, bkSmallPairs(100_000), nil); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(stub.bytes.Load() / max(stub.requests.Load()/10, 1))
}

// BenchmarkBulkPut10000 measures one request's worth of encoding: 10,000 pairs, as bench/'s
// BulkPut10000, with 100-byte values that need no escaping, and with 86-byte JSON documents, whose
// quotes must be escaped.
func BenchmarkBulkPut10000(b *testing.B) {
	for _, c := range []struct{ name, value string }{
		{"plain", strings.Repeat("abcdefghij", 10)},
		{"json", `{"id":123456,"name":"user-123456","email":"user-123456@example.com","tags":["a","b"]}`},
	} {
		b.Run(c.name, func(b *testing.B) {
			pairs := make([]workerskv.BulkPair, 10_000)
			for i := range pairs {
				pairs[i] = workerskv.BulkPair{Key: fmt.Sprintf("bulk-%06d", i), Value: []byte(c.value)}
			}
			stub := &bkStub{}
			cl := bkStubClient(b, stub)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cl.Bulk.Put(b.Context(), testNS, pairs, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
