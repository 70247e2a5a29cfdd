package workerskv_test

import "testing"

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
