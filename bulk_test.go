package workerskv_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"

	"github.com/jarcoal/httpmock"

	"github.com/workerskv/workerskv"
)

var (
	bkPutURL    = nsURL + "/" + testNS + "/bulk"
	bkDeleteURL = nsURL + "/" + testNS + "/bulk/delete"
	bkGetURL    = nsURL + "/" + testNS + "/bulk/get"
)

// bkResult renders a bulk write/delete success envelope.
func bkResult(ok int, unsuccessful ...string) string {
	u, _ := json.Marshal(append([]string{}, unsuccessful...))
	return envelope(fmt.Sprintf(`{"successful_key_count":%d,"unsuccessful_keys":%s}`, ok, u))
}

// bkItem is one bulk write item as sent, with the fields present kept raw.
type bkItem map[string]json.RawMessage

func (it bkItem) str(t *testing.T, field string) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(it[field], &s); err != nil {
		t.Fatalf("item field %q = %s: %v", field, it[field], err)
	}
	return s
}

// value decodes the item's value the way the API does: base64 when "base64" is true.
func (it bkItem) value(t *testing.T) []byte {
	t.Helper()
	s := it.str(t, "value")
	if string(it["base64"]) != "true" {
		return []byte(s)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("bad base64 %q: %v", s, err)
	}
	return b
}

func bkItems(t *testing.T, body []byte) []bkItem {
	t.Helper()
	var items []bkItem
	if err := json.Unmarshal(body, &items); err != nil {
		t.Fatalf("body is not a JSON array of objects: %v", err)
	}
	return items
}

// bkKeysOf returns the keys of a bulk write body (objects) or bulk delete body (strings).
func bkKeysOf(body []byte) ([]string, error) {
	if bytes.HasPrefix(body, []byte(`["`)) || bytes.Equal(body, []byte(`[]`)) {
		var keys []string
		err := json.Unmarshal(body, &keys)
		return keys, err
	}
	var keys []string
	var items []struct {
		Key string `json:"key"`
	}
	if err := json.Unmarshal(body, &items); err != nil {
		return nil, err
	}
	for _, it := range items {
		keys = append(keys, it.Key)
	}
	return keys, nil
}

// bkAcceptAll answers every bulk write or delete with all its keys written.
func bkAcceptAll(req *http.Request) (*http.Response, error) {
	var buf bytes.Buffer
	buf.ReadFrom(req.Body)
	keys, err := bkKeysOf(buf.Bytes())
	if err != nil {
		return httpmock.NewStringResponse(400, failure(10026, "bad body")), nil
	}
	return jsonResponder(200, bkResult(len(keys)))(req)
}

func bkPairs(n int, value func(i int) []byte) []workerskv.BulkPair {
	pairs := make([]workerskv.BulkPair, n)
	for i := range pairs {
		pairs[i] = workerskv.BulkPair{Key: fmt.Sprintf("key-%06d", i), Value: value(i)}
	}
	return pairs
}

func bkSmall(i int) []byte { return []byte("v" + strconv.Itoa(i)) }

// bkCheckChunks checks the requests' item counts and that every key was sent once, in order.
func bkCheckChunks(t *testing.T, reqs []recorded, method, path string, wantSizes []int, wantKeys []string) {
	t.Helper()
	var sizes []int
	var keys []string
	for _, r := range reqs {
		if r.Method != method || r.RawPath != path || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("request %s %s (%s)", r.Method, r.RawPath, r.Header.Get("Content-Type"))
		}
		k, err := bkKeysOf(r.Body)
		if err != nil {
			t.Fatalf("body: %v", err)
		}
		sizes = append(sizes, len(k))
		keys = append(keys, k...)
	}
	if !slices.Equal(sizes, wantSizes) {
		t.Errorf("items per request = %v, want %v", sizes, wantSizes)
	}
	if !slices.Equal(keys, wantKeys) {
		t.Errorf("keys sent (%d) differ from the keys given (%d)", len(keys), len(wantKeys))
	}
}

// TestBulkPutChunksByCount: 10,000 pairs at most per request: 20,001 pairs go out as 10,000 + 10,000
// + 1, and 25,001 as 10,000 + 10,000 + 5,001.
func TestBulkPutChunksByCount(t *testing.T) {
	t.Parallel()
	for n, sizes := range map[int][]int{20_001: {10_000, 10_000, 1}, 25_001: {10_000, 10_000, 5_001}, 10_000: {10_000}, 0: nil} {
		c, m := setup(t)
		m.on("PUT", bkPutURL, bkAcceptAll)
		pairs := bkPairs(n, bkSmall)
		res, err := c.Bulk.Put(t.Context(), testNS, pairs, &workerskv.BulkOptions{Concurrency: 1})
		if err != nil {
			t.Fatal(err)
		}
		if res.Succeeded != n || len(res.Unsuccessful) != 0 || len(res.Unconfirmed) != 0 {
			t.Errorf("result = %d ok, %d unsuccessful, %d unconfirmed", res.Succeeded, len(res.Unsuccessful), len(res.Unconfirmed))
		}
		want := make([]string, len(pairs))
		for i, p := range pairs {
			want[i] = p.Key
		}
		bkCheckChunks(t, m.requests(), "PUT", nsPath+"/"+testNS+"/bulk", sizes, want)
	}
}

// TestBulkDeleteChunks: 20,001 keys go out as 10,000 + 10,000 + 1 on POST .../bulk/delete.
func TestBulkDeleteChunks(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("POST", bkDeleteURL, bkAcceptAll)
	keys := make([]string, 20_001)
	for i := range keys {
		keys[i] = fmt.Sprintf("key/%d?#%%", i) // plain strings in JSON, never escaped
	}
	res, err := c.Bulk.Delete(t.Context(), testNS, keys, &workerskv.BulkOptions{Concurrency: 1})
	if err != nil || res.Succeeded != 20_001 {
		t.Fatalf("Delete = %+v, %v", res, err)
	}
	bkCheckChunks(t, m.requests(), "POST", nsPath+"/"+testNS+"/bulk/delete", []int{10_000, 10_000, 1}, keys)
}

// TestBulkPutRefusesBeforeSending: every pair is checked first; one bad pair anywhere among 20,000
// (in the first request's pairs, which are checked as they are encoded, at the edge of the first two
// requests, or in the second) means no request at all.
func TestBulkPutRefusesBeforeSending(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("PUT", bkPutURL, bkAcceptAll)
	m.on("POST", bkDeleteURL, bkAcceptAll)
	tooBig := make([]byte, 25<<20+1)
	good := bkPairs(20_000, bkSmall)
	bad := []workerskv.BulkPair{
		{Key: "big", Value: tooBig},
		{Key: ""},
		{Key: ".."},
		{Key: strings.Repeat("k", 513)},
		{Key: "bad-utf8-\xff"},
		{Key: "ttl", ExpirationTTL: 59 * time.Second},
		{Key: "both", ExpirationTTL: time.Hour, Expiration: time.Now().Add(time.Hour)},
		{Key: "meta", Metadata: strings.Repeat("m", 1100)},
	}
	for _, at := range []int{0, 5_000, 9_999, 10_000, 10_001, 19_999} {
		for _, p := range bad {
			pairs := slices.Clone(good)
			pairs[at] = p
			res, err := c.Bulk.Put(t.Context(), testNS, pairs, nil)
			if _, ok := errors.AsType[*workerskv.ValidationError](err); !ok || !errors.Is(err, workerskv.ErrInvalidInput) || res != nil {
				t.Errorf("pair %q at %d: Put = %v, %v; want a *ValidationError", p.Key, at, res, err)
			}
		}
	}
	_, err := c.Bulk.Delete(t.Context(), testNS, []string{"a", "", "b"}, nil)
	if !errors.Is(err, workerskv.ErrInvalidInput) {
		t.Errorf("Delete with an empty key: %v", err)
	}
	if _, err := c.Bulk.Put(t.Context(), "", bkPairs(1, bkSmall), nil); !errors.Is(err, workerskv.ErrInvalidInput) {
		t.Errorf("empty namespace ID: %v", err)
	}
	if n := len(m.requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

// TestBulkPutBase64: values that are not valid UTF-8 are sent base64-encoded with "base64": true;
// text is sent as text; every value decodes to its exact bytes, all 256 byte values included.
func TestBulkPutBase64(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("PUT", bkPutURL, bkAcceptAll)
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	pairs := []workerskv.BulkPair{
		{Key: "text", Value: []byte("héllo \"wörld\"\n\t\\ 🙂")},
		{Key: "empty", Value: []byte{}},
		{Key: "nil"},
		{Key: "binary", Value: []byte{0xff, 0xfe, 0x00, 0x80}},
		{Key: "truncated-utf8", Value: []byte("abc\xc3")},
		{Key: "all-bytes", Value: all},
		{Key: "controls", Value: bytes.Repeat([]byte{0x01}, 30)},
		{Key: "meta", Value: []byte("m"), Metadata: map[string]any{"a": 1}, ExpirationTTL: 2 * time.Minute},
		{Key: "exp", Value: []byte("e"), Expiration: time.Unix(4_000_000_000, 0), Metadata: json.RawMessage(`{ "b" : [1, 2] }`)},
	}
	for b := range 256 {
		pairs = append(pairs, workerskv.BulkPair{Key: fmt.Sprintf("byte-%02x", b), Value: []byte{byte(b)}})
	}
	if _, err := c.Bulk.Put(t.Context(), testNS, pairs, nil); err != nil {
		t.Fatal(err)
	}
	items := bkItems(t, onlyRequest(t, m).Body)
	if len(items) != len(pairs) {
		t.Fatalf("%d items sent", len(items))
	}
	for i, it := range items {
		p := pairs[i]
		if k := it.str(t, "key"); k != p.Key {
			t.Fatalf("item %d key %q, want %q", i, k, p.Key)
		}
		if got := it.value(t); !bytes.Equal(got, p.Value) {
			t.Errorf("%s: value decodes to %q, want %q", p.Key, got, p.Value)
		}
		_, b64 := it["base64"]
		wantB64 := !utf8.Valid(p.Value) || p.Key == "controls"
		if b64 != wantB64 || (b64 && string(it["base64"]) != "true") {
			t.Errorf("%s: base64 field %q, want present=%v", p.Key, it["base64"], wantB64)
		}
	}
	meta, exp := items[7], items[8]
	if string(meta["metadata"]) != `{"a":1}` || string(meta["expiration_ttl"]) != "120" || meta["expiration"] != nil {
		t.Errorf("meta item = %v", meta)
	}
	if string(exp["metadata"]) != `{"b":[1,2]}` || string(exp["expiration"]) != "4000000000" || exp["expiration_ttl"] != nil {
		t.Errorf("exp item = %v", exp)
	}
}

// TestBulkPut429RetryAfter: a 429 with Retry-After: 1 in the middle of a job is waited out (exactly
// 1s of the bubble's fake time), the same chunk is sent again and the job completes.
func TestBulkPut429RetryAfter(t *testing.T) {
	t.Parallel()
	synctest.Test(t, testBulkPut429RetryAfter)
}

func testBulkPut429RetryAfter(t *testing.T) {
	c, m := setup(t)
	var calls atomic.Int32
	m.on("PUT", bkPutURL, func(req *http.Request) (*http.Response, error) {
		if calls.Add(1) == 2 {
			r := httpmock.NewStringResponse(429, failure(971, "Please wait and consider throttling your request speed"))
			r.Header.Set("Retry-After", "1")
			return r, nil
		}
		return bkAcceptAll(req)
	})
	start := time.Now()
	res, err := c.Bulk.Put(t.Context(), testNS, bkPairs(20_001, bkSmall), &workerskv.BulkOptions{Concurrency: 1})
	elapsed := time.Since(start)
	if err != nil || res.Succeeded != 20_001 || len(res.Unsuccessful)+len(res.Unconfirmed) != 0 {
		t.Fatalf("Put = %+v, %v", res, err)
	}
	reqs := m.requests()
	if len(reqs) != 4 || !bytes.Equal(reqs[1].Body, reqs[2].Body) || bytes.Equal(reqs[0].Body, reqs[1].Body) {
		t.Errorf("%d requests; the 429'd one not resent as it was", len(reqs))
	}
	if elapsed != time.Second {
		t.Errorf("job took %s: Retry-After not honoured", elapsed)
	}
}

// TestBulkPairValidate: Validate refuses what a bulk write refuses, before any request.
func TestBulkPairValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    workerskv.BulkPair
		ok   bool
	}{
		{"fine", workerskv.BulkPair{Key: "k", Value: []byte("v"), ExpirationTTL: time.Minute, Metadata: map[string]int{"a": 1}}, true},
		{"empty key", workerskv.BulkPair{Key: ""}, false},
		{"dot key", workerskv.BulkPair{Key: ".."}, false},
		{"long key", workerskv.BulkPair{Key: strings.Repeat("k", 513)}, false},
		{"key not UTF-8", workerskv.BulkPair{Key: "\xff"}, false},
		{"value too large", workerskv.BulkPair{Key: "k", Value: make([]byte, 25<<20+1)}, false},
		{"short TTL", workerskv.BulkPair{Key: "k", ExpirationTTL: 59 * time.Second}, false},
		{"both expirations", workerskv.BulkPair{Key: "k", ExpirationTTL: time.Hour, Expiration: time.Now().Add(time.Hour)}, false},
		{"metadata too large", workerskv.BulkPair{Key: "k", Metadata: strings.Repeat("m", 1100)}, false},
	} {
		err := tc.p.Validate()
		if tc.ok != (err == nil) {
			t.Errorf("%s: Validate() = %v", tc.name, err)
		}
		if err != nil && !errors.Is(err, workerskv.ErrInvalidInput) {
			t.Errorf("%s: %v does not match ErrInvalidInput", tc.name, err)
		}
	}
}
