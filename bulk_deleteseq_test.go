package workerskv_test

import (
	"errors"
	"fmt"
	"iter"
	"testing"

	"github.com/workerskv/workerskv"
)

// keySeq yields keys item/000000 to item/(n-1), then err if it is not nil.
func keySeq(n int, err error) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		for i := range n {
			if !yield(fmt.Sprintf("item/%06d", i), nil) {
				return
			}
		}
		if err != nil {
			yield("", err)
		}
	}
}

// TestBulkDeleteSeq: keys streamed from an iterator are deleted 10,000 per request, and the result
// accounts for each; an error from the iterator, or an invalid key, stops the job with the error.
func TestBulkDeleteSeq(t *testing.T) {
	t.Parallel()
	srv, ns := bkNamespace(t)
	c, ctx := srv.Client, t.Context()
	const n = 25_000
	pairs := make([]workerskv.BulkPair, n)
	for i := range pairs {
		pairs[i] = workerskv.BulkPair{Key: fmt.Sprintf("item/%06d", i), Value: []byte("v")}
	}
	res, err := c.Bulk.Put(ctx, ns, pairs, nil)
	bkCheckComplete(t, "Put", res, err, n)

	var reports []workerskv.BulkProgress
	res, err = c.Bulk.DeleteSeq(ctx, ns, keySeq(n, nil), &workerskv.BulkOptions{Progress: func(p workerskv.BulkProgress) { reports = append(reports, p) }})
	bkCheckComplete(t, "DeleteSeq", res, err, n)
	if len(reports) != 3 || reports[2].Done != n || reports[2].Total != -1 {
		t.Errorf("progress reports %+v, want 3 requests, %d done, total -1", reports, n)
	}
	page, err := c.KV(ns).List(ctx, nil)
	if err != nil || len(page.Keys) != 0 {
		t.Fatalf("after DeleteSeq: %d keys left, %v", len(page.Keys), err)
	}

	boom := errors.New("input broke")
	res, err = c.Bulk.DeleteSeq(ctx, ns, keySeq(3, boom), nil)
	if !errors.Is(err, boom) || res == nil || res.Succeeded+len(res.Unconfirmed) != 3 {
		t.Errorf("iterator error: %+v, %v; want the error and the 3 keys read accounted for", res, err)
	}
	bad := func(yield func(string, error) bool) { _ = yield("ok", nil) && yield("", nil) }
	if _, err := c.Bulk.DeleteSeq(ctx, ns, bad, nil); !errors.Is(err, workerskv.ErrInvalidInput) {
		t.Errorf("empty key: err = %v, want ErrInvalidInput", err)
	}
	if _, err := c.Bulk.DeleteSeq(ctx, "", keySeq(1, nil), nil); !errors.Is(err, workerskv.ErrInvalidInput) {
		t.Errorf("empty namespace ID: err = %v", err)
	}
}
