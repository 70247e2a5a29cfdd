package workerskv_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/workerskv/workerskv"
	"github.com/workerskv/workerskv/emulator"
	"github.com/workerskv/workerskv/kvtest"
)

// bkNamespace starts an emulator and creates a namespace in it.
func bkNamespace(t *testing.T, opts ...kvtest.Option) (*kvtest.Server, string) {
	t.Helper()
	srv := kvtest.NewServer(t, opts...)
	ns, err := srv.Client.Namespaces.Create(t.Context(), "bulk-"+t.Name())
	if err != nil {
		t.Fatal(err)
	}
	return srv, ns.ID
}

// bkCheckComplete fails unless a bulk result says every one of n items succeeded.
func bkCheckComplete(t *testing.T, what string, res *workerskv.BulkResult, err error, n int) {
	t.Helper()
	if err != nil || res.Succeeded != n || len(res.Unsuccessful)+len(res.Unconfirmed) != 0 {
		t.Fatalf("%s: %+v, %v", what, res, err)
	}
}

// TestBulkEmulatorRoundTrip100k: 100,000 pairs written, read back with bulk get, deleted with bulk
// delete, and the namespace is empty afterwards.
func TestBulkEmulatorRoundTrip100k(t *testing.T) {
	t.Parallel()
	srv, ns := bkNamespace(t)
	c, ctx := srv.Client, t.Context()
	const n = 100_000
	pairs := make([]workerskv.BulkPair, n)
	keys := make([]string, n)
	for i := range pairs {
		keys[i] = fmt.Sprintf("item/%06d", i)
		pairs[i] = workerskv.BulkPair{Key: keys[i], Value: []byte(fmt.Sprintf("value %d \"quoted\"\n", i))}
	}
	pairs[7].Value = nil // an empty value
	res, err := c.Bulk.Put(ctx, ns, pairs, &workerskv.BulkOptions{Concurrency: 4})
	bkCheckComplete(t, "Put", res, err, n)

	got, err := c.Bulk.Get(ctx, ns, keys, &workerskv.BulkGetOptions{Concurrency: 8})
	if err != nil || len(got) != n {
		t.Fatalf("Get: %d values, %v", len(got), err)
	}
	for _, p := range pairs {
		if v, ok := got[p.Key]; !ok || !bytes.Equal(v.Value, p.Value) {
			t.Fatalf("%s = %q (present %v), want %q", p.Key, v.Value, ok, p.Value)
		}
	}

	res, err = c.Bulk.Delete(ctx, ns, keys, &workerskv.BulkOptions{Concurrency: 4})
	bkCheckComplete(t, "Delete", res, err, n)
	page, err := c.Keys.List(ctx, ns, nil)
	if err != nil || len(page.Keys) != 0 || page.Cursor != "" {
		t.Fatalf("after delete: %d keys listed, cursor %q, %v", len(page.Keys), page.Cursor, err)
	}
	if got, err := c.Bulk.Get(ctx, ns, keys[:100], nil); err != nil || len(got) != 0 {
		t.Errorf("after delete: Get = %d values, %v", len(got), err)
	}
}

// TestBulkEmulatorBinaryValues: every value round-trips byte-exact through a bulk write: each of the
// 256 byte values alone, all of them in one value, random bytes, control characters, empty.
func TestBulkEmulatorBinaryValues(t *testing.T) {
	t.Parallel()
	srv, ns := bkNamespace(t)
	c, ctx := srv.Client, t.Context()
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	random := make([]byte, 64<<10)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	pairs := []workerskv.BulkPair{
		{Key: "all-bytes", Value: all},
		{Key: "all-bytes-reversed", Value: bkReversed(all)},
		{Key: "random", Value: random},
		{Key: "controls", Value: bytes.Repeat([]byte{0, 1, 0x1f, '\n'}, 1000)},
		{Key: "utf8", Value: []byte("žluťoučký kůň 🐎 \u2028\ufffd")},
		{Key: "empty", Value: []byte{}},
	}
	for b := range 256 {
		pairs = append(pairs, workerskv.BulkPair{Key: fmt.Sprintf("byte/%02x", b), Value: []byte{byte(b)}})
	}
	res, err := c.Bulk.Put(ctx, ns, pairs, nil)
	bkCheckComplete(t, "Put", res, err, len(pairs))
	for _, p := range pairs {
		got, err := c.Values.Get(ctx, ns, p.Key)
		if err != nil || !bytes.Equal(got, p.Value) {
			t.Errorf("%s: got %d bytes (%v), want %d bytes", p.Key, len(got), err, len(p.Value))
		}
	}
}

func bkReversed(b []byte) []byte {
	r := slices.Clone(b)
	slices.Reverse(r)
	return r
}

// TestBulkEmulatorGet: bulk get in its forms against the emulator: text and json, with and without
// metadata; a missing key is absent, an empty value present and empty.
func TestBulkEmulatorGet(t *testing.T) {
	t.Parallel()
	srv, ns := bkNamespace(t)
	c, ctx := srv.Client, t.Context()
	exp := srv.Clock.Now().Add(time.Hour).Truncate(time.Second)
	res, err := c.Bulk.Put(ctx, ns, []workerskv.BulkPair{
		{Key: "text", Value: []byte("hello")},
		{Key: "empty", Value: []byte{}},
		{Key: "doc", Value: []byte(`{"a": [1, 2]}`), Metadata: map[string]int{"m": 1}, Expiration: exp},
		{Key: "num", Value: []byte("42"), ExpirationTTL: 2 * time.Hour},
	}, nil)
	bkCheckComplete(t, "Put", res, err, 4)

	got, err := c.Bulk.Get(ctx, ns, []string{"text", "empty", "missing", "doc"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got["missing"]; ok || len(got) != 3 {
		t.Errorf("missing key present: %v", got)
	}
	if v, ok := got["empty"]; !ok || len(v.Value) != 0 {
		t.Errorf("empty = %+v, %v", v, ok)
	}
	if v := got["doc"]; string(v.Value) != `{"a": [1, 2]}` || v.Metadata != nil || !v.Expiration.IsZero() {
		t.Errorf("doc as text without metadata = %+v", v)
	}

	got, err = c.Bulk.Get(ctx, ns, []string{"doc", "num", "missing"}, &workerskv.BulkGetOptions{Type: "json", WithMetadata: true})
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if v := got["doc"]; json.Unmarshal(v.Value, &doc) != nil || string(v.Metadata) != `{"m":1}` || !v.Expiration.Equal(exp) {
		t.Errorf("doc as json with metadata = %s, %s, %s", v.Value, v.Metadata, v.Expiration)
	}
	if v := got["num"]; string(v.Value) != "42" || v.Metadata != nil || v.Expiration.Before(exp) {
		t.Errorf("num as json with metadata = %+v", v)
	}
	if _, ok := got["missing"]; ok || len(got) != 2 {
		t.Errorf("json: %d values", len(got))
	}

	got, err = c.Bulk.Get(ctx, ns, []string{"text", "empty", "missing"}, &workerskv.BulkGetOptions{WithMetadata: true})
	if err != nil || string(got["text"].Value) != "hello" || len(got) != 2 || got["text"].Metadata != nil {
		t.Errorf("text with metadata = %+v, %v", got, err)
	}
	if _, err := c.Bulk.Get(ctx, ns, []string{"empty"}, &workerskv.BulkGetOptions{Type: "json"}); !errors.Is(err, workerskv.ErrInvalidInput) {
		t.Errorf("an empty value read as json: %v", err)
	}
}

// TestBulkEmulatorFaults: with server errors and dropped connections injected, a bulk job still
// writes everything (the transport retries each request) and says so.
func TestBulkEmulatorFaults(t *testing.T) {
	t.Parallel()
	srv, ns := bkNamespace(t, kvtest.WithEmulatorOptions(emulator.WithFaults(emulator.Faults{Seed: 3, ServerError: 0.2, Drop: 0.1})),
		kvtest.WithClientOptions(workerskv.WithMaxRetries(8)))
	pairs := make([]workerskv.BulkPair, 35_000)
	for i := range pairs {
		pairs[i] = workerskv.BulkPair{Key: "k" + strconv.Itoa(i), Value: []byte{byte(i), 0xff}}
	}
	res, err := srv.Client.Bulk.Put(t.Context(), ns, pairs, nil)
	bkCheckComplete(t, "Put", res, err, len(pairs))
	for _, i := range []int{0, 9_999, 10_000, 34_999} {
		if v, err := srv.Client.Values.Get(t.Context(), ns, pairs[i].Key); err != nil || !bytes.Equal(v, pairs[i].Value) {
			t.Errorf("%s = %v, %v", pairs[i].Key, v, err)
		}
	}
	if st := srv.Emulator.FaultStats(); st.ServerErrors+st.Dropped == 0 {
		t.Errorf("no fault injected: %+v", st)
	}
}

// Bulk get batching, against httpmock.

// TestBulkGetBatches: 150 keys are read as 100 + 50; a missing key (null) is absent from the map, an
// empty value is present and empty.
func TestBulkGetBatches(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("POST", bkGetURL, func(req *http.Request) (*http.Response, error) {
		var body struct {
			Keys         []string `json:"keys"`
			Type         *string  `json:"type"`
			WithMetadata *bool    `json:"withMetadata"`
		}
		if err := json.NewDecoder(req.Body).Decode(&body); err != nil || len(body.Keys) > 100 || body.Type != nil || body.WithMetadata != nil {
			return jsonResponder(400, failure(10026, "bad bulk get body"))(req)
		}
		values := map[string]any{}
		for _, k := range body.Keys {
			switch k[len(k)-1] {
			case '0':
				values[k] = nil
			case '1':
				values[k] = ""
			default:
				values[k] = "value of " + k
			}
		}
		b, _ := json.Marshal(map[string]any{"values": values})
		return jsonResponder(200, envelope(string(b)))(req)
	})
	keys := make([]string, 150)
	for i := range keys {
		keys[i] = "k" + strconv.Itoa(i)
	}
	got, err := c.Bulk.Get(t.Context(), testNS, keys, &workerskv.BulkGetOptions{Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	var sent []string
	for _, r := range m.requests() {
		var body struct{ Keys []string }
		json.Unmarshal(r.Body, &body)
		sizes, sent = append(sizes, len(body.Keys)), append(sent, body.Keys...)
	}
	if !slices.Equal(sizes, []int{100, 50}) || !slices.Equal(sent, keys) {
		t.Errorf("batches of %v", sizes)
	}
	for _, k := range keys {
		v, ok := got[k]
		switch k[len(k)-1] {
		case '0':
			if ok {
				t.Errorf("missing key %q present", k)
			}
		case '1':
			if !ok || len(v.Value) != 0 {
				t.Errorf("empty value %q: %q, %v", k, v.Value, ok)
			}
		default:
			if string(v.Value) != "value of "+k {
				t.Errorf("%q = %q", k, v.Value)
			}
		}
	}
	if len(got) != 135 {
		t.Errorf("%d values", len(got))
	}
	_, err = c.Bulk.Get(t.Context(), testNS, []string{"a", ".."}, nil)
	_, err2 := c.Bulk.Get(t.Context(), testNS, keys, &workerskv.BulkGetOptions{Type: "binary"})
	if !errors.Is(err, workerskv.ErrInvalidInput) || !errors.Is(err2, workerskv.ErrInvalidInput) || len(m.requests()) != 2 {
		t.Errorf("bad input: %v, %v", err, err2)
	}
}
