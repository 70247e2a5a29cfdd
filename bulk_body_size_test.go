package workerskv_test

// Bulk write bodies near the 100 MB request limit: how pairs are split by size, where the limit falls
// to the byte, and how the largest value fits. Each test encodes and streams hundreds of megabytes.

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/jarcoal/httpmock"

	"github.com/workerskv/workerskv"
)

// bkSizer answers bulk writes, streaming each body to keep its length and item count (not the body:
// they are big). Items are counted by their "{": the tests using it have none in keys or values.
type bkSizer struct {
	mu           sync.Mutex
	sizes, items []int
}

func (s *bkSizer) respond(req *http.Request) (*http.Response, error) {
	buf := make([]byte, 256<<10)
	var size, items int
	var first, last byte
	for {
		n, err := req.Body.Read(buf)
		if n > 0 {
			if size == 0 {
				first = buf[0]
			}
			size += n
			last = buf[n-1]
			items += bytes.Count(buf[:n], []byte{'{'})
		}
		if err != nil {
			break
		}
	}
	s.mu.Lock()
	s.sizes, s.items = append(s.sizes, size), append(s.items, items)
	s.mu.Unlock()
	if first != '[' || last != ']' || req.ContentLength != int64(size) {
		return httpmock.NewStringResponse(400, failure(10026, "not a JSON array, or a wrong Content-Length")), nil
	}
	return jsonResponder(200, bkResult(items))(req)
}

// TestBulkPutLargestValueFits: a 25 MiB value that JSON would escape six-fold (control characters)
// still fits one request: it goes base64-encoded, as does any value that is shorter that way.
func TestBulkPutLargestValueFits(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	var s bkSizer
	m.RegisterResponder("PUT", bkPutURL, s.respond)
	v := make([]byte, 25<<20) // all NUL: "\u0000" each as JSON text, 157 MB
	res, err := c.Bulk.Put(t.Context(), testNS, []workerskv.BulkPair{{Key: "nul", Value: v}}, nil)
	if err != nil || res.Succeeded != 1 {
		t.Fatalf("Put = %+v, %v", res, err)
	}
	if len(s.sizes) != 1 || s.sizes[0] != base64.StdEncoding.EncodedLen(len(v))+len(`[{"key":"nul","value":"","base64":true}]`) {
		t.Errorf("bodies %v", s.sizes)
	}
}

// TestBulkPutByteBoundary: the 100 MB arithmetic counts the brackets and commas. Four items making a
// body of exactly 99,999,999 bytes go in one request; one byte more needs two.
func TestBulkPutByteBoundary(t *testing.T) {
	t.Parallel()
	buf := bytes.Repeat([]byte{'x'}, 25_000_000)
	// An item is {"key":"kN","value":"<v>"}: 23 bytes + len(v). Four items: "[" + 4*23 + 3 commas + "]".
	lens := []int{25_000_000, 25_000_000, 25_000_000, 99_999_999 - 2 - 4*23 - 3 - 75_000_000}
	for _, extra := range []int{0, 1} {
		c, m := setup(t)
		var s bkSizer
		m.RegisterResponder("PUT", bkPutURL, s.respond)
		pairs := make([]workerskv.BulkPair, 4)
		for i, n := range lens {
			if i == 3 {
				n += extra
			}
			pairs[i] = workerskv.BulkPair{Key: "k" + strconv.Itoa(i), Value: buf[:n]}
		}
		if _, err := c.Bulk.Put(t.Context(), testNS, pairs, &workerskv.BulkOptions{Concurrency: 1}); err != nil {
			t.Fatal(err)
		}
		wantSizes, wantItems := []int{99_999_999}, []int{4}
		if extra == 1 {
			wantSizes, wantItems = []int{2 + 3*23 + 2 + 75_000_000, 2 + 23 + lens[3] + 1}, []int{3, 1}
		}
		if !slices.Equal(s.sizes, wantSizes) || !slices.Equal(s.items, wantItems) {
			t.Errorf("+%d byte: bodies %v with %v items, want %v with %v", extra, s.sizes, s.items, wantSizes, wantItems)
		}
	}
}

// TestBulkPutSplitsByBytes: five 24 MiB values are far under 10,000 pairs but over 100 MB together,
// so they are split by size: 3 + 2, each body under 100,000,000 bytes.
func TestBulkPutSplitsByBytes(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	var s bkSizer
	m.RegisterResponder("PUT", bkPutURL, s.respond)
	v := bytes.Repeat([]byte{'x'}, 24<<20)
	res, err := c.Bulk.Put(t.Context(), testNS, bkPairs(5, func(int) []byte { return v }), &workerskv.BulkOptions{Concurrency: 1})
	if err != nil || res.Succeeded != 5 {
		t.Fatalf("Put = %+v, %v", res, err)
	}
	if !slices.Equal(s.items, []int{3, 2}) {
		t.Errorf("items per request = %v, want [3 2]", s.items)
	}
	for _, n := range s.sizes {
		if n >= 100_000_000 {
			t.Errorf("a body of %d bytes", n)
		}
	}
}
