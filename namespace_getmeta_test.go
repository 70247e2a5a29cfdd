package workerskv_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/workerskv/workerskv"
)

// TestKVGetWithMetadataRequests: against the emulator, a text value comes with its metadata and
// expiration in one request (a bulk get), a missing key in one, a binary value in three (the refused
// bulk get, then the value and the metadata), bad input in none.
func TestKVGetWithMetadataRequests(t *testing.T) {
	t.Parallel()
	b := newBulkKV(t, nil)
	ctx := t.Context()
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	put := func(key string, value []byte, opts *workerskv.PutOptions) {
		t.Helper()
		if err := b.kv.Put(ctx, key, value, opts); err != nil {
			t.Fatal(err)
		}
	}
	put("text", []byte("héllo"), &workerskv.PutOptions{Expiration: exp, Metadata: map[string]int{"v": 2}})
	put("plain", []byte(""), nil)
	put("bin", []byte("bin\x00\xff"), &workerskv.PutOptions{Expiration: exp, Metadata: map[string]int{"v": 3}})
	cases := []struct {
		key      string
		want     *workerskv.Entry
		err      error
		requests int64
	}{
		{"text", &workerskv.Entry{Value: []byte("héllo"), Metadata: json.RawMessage(`{"v":2}`), Expiration: exp}, nil, 1},
		{"plain", &workerskv.Entry{Value: []byte{}}, nil, 1},
		{"missing", nil, workerskv.ErrKeyNotFound, 1},
		{"bin", &workerskv.Entry{Value: []byte("bin\x00\xff"), Metadata: json.RawMessage(`{"v":3}`), Expiration: exp}, nil, 3},
		{"", nil, workerskv.ErrInvalidInput, 0},
		{strings.Repeat("k", 513), nil, workerskv.ErrInvalidInput, 0},
	}
	for _, tc := range cases {
		before := b.tr.requests.Load()
		e, err := b.kv.GetWithMetadata(ctx, tc.key)
		if n := b.tr.requests.Load() - before; n != tc.requests {
			t.Errorf("GetWithMetadata(%.20q): %d requests, want %d", tc.key, n, tc.requests)
		}
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("GetWithMetadata(%.20q): %v, want %v", tc.key, err, tc.err)
			}
			continue
		}
		if err != nil || !bytes.Equal(e.Value, tc.want.Value) || e.Value == nil || string(e.Metadata) != string(tc.want.Metadata) || !e.Expiration.Equal(tc.want.Expiration) {
			t.Errorf("GetWithMetadata(%q) = %+v, %v; want %+v", tc.key, e, err, tc.want)
		}
	}
	if _, err := workerskv.ClientOf(b.kv).KV("00000000000000000000000000000000").GetWithMetadata(ctx, "text"); !errors.Is(err, workerskv.ErrNamespaceNotFound) || errors.Is(err, workerskv.ErrKeyNotFound) {
		t.Errorf("wrong namespace: %v, want ErrNamespaceNotFound", err)
	}
}

// TestKVGetWithMetadataWire: the bulk get names the one key, as text, with metadata.
func TestKVGetWithMetadataWire(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("POST", vkBulkGetURL, bulkResponder(func(string) *kvItem {
		return &kvItem{Value: `{"a":1}`, Metadata: json.RawMessage(`{"m":true}`), Expiration: 4102444800}
	}))
	e, err := c.KV(testNS).GetWithMetadata(t.Context(), "a/b?c#d")
	if err != nil || string(e.Value) != `{"a":1}` || string(e.Metadata) != `{"m":true}` || e.Expiration.Unix() != 4102444800 {
		t.Fatalf("GetWithMetadata = %+v, %v", e, err)
	}
	reqs := m.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	var body map[string]any
	if err := json.Unmarshal(reqs[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	if keys, _ := body["keys"].([]any); len(keys) != 1 || keys[0] != "a/b?c#d" || body["withMetadata"] != true || body["type"] != "text" || len(body) != 3 {
		t.Errorf("body %s", reqs[0].Body)
	}
}

// TestKVGetWithMetadataErrors: a failed bulk get is returned as it is (it is not retried as two
// reads), never a panic: a 5xx, a 429 with Retry-After, a connection reset, a truncated answer, a
// cancelled context (nothing sent). A key deleted between the refused bulk get and the reads of a
// binary value is not found.
func TestKVGetWithMetadataErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		r    httpmock.Responder
		ok   func(error) bool
	}{
		{"500", jsonResponder(500, failure(10001, "boom")), func(err error) bool { return hasStatus(err, 500) }},
		{"429", withHeader(429, failure(971, "Please wait"), "Retry-After", "300"), func(err error) bool {
			e, ok := errors.AsType[*workerskv.APIError](err)
			return errors.Is(err, workerskv.ErrRateLimited) && ok && e.RetryAfter == 300*time.Second
		}},
		{"connection reset", httpmock.ConnectionFailure, func(err error) bool {
			return err != nil && !errors.As(err, new(*workerskv.APIError))
		}},
		{"truncated", jsonResponder(200, `{"success":true,"errors":[],"result":{"values":{"k":{"value":"v","meta`), func(err error) bool {
			return err != nil && strings.Contains(err.Error(), "malformed")
		}},
		{"value not text", jsonResponder(200, envelope(`{"values":{"k":{"value":17,"metadata":null}}}`)), func(err error) bool {
			return err != nil
		}},
		{"bad expiration", jsonResponder(200, envelope(`{"values":{"k":{"value":"v","metadata":null,"expiration":"soon"}}}`)), func(err error) bool {
			return err != nil
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, m := setup(t, workerskv.WithMaxRetries(workerskv.NoRetries))
			m.on("POST", vkBulkGetURL, tc.r)
			e, err := c.KV(testNS).GetWithMetadata(t.Context(), "k")
			if e != nil || !tc.ok(err) {
				t.Errorf("GetWithMetadata = %+v, %v", e, err)
			}
			if n := len(m.requests()); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		t.Parallel()
		c, m := setup(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := c.KV(testNS).GetWithMetadata(ctx, "k"); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if n := len(m.requests()); n != 0 {
			t.Errorf("%d requests sent", n)
		}
	})
	t.Run("deleted meanwhile", func(t *testing.T) {
		t.Parallel()
		c, m := setup(t)
		m.on("POST", vkBulkGetURL, jsonResponder(400, failure(10029, "bulk get keys: 'At least one of the requested keys corresponds to a non-text value'")))
		m.on("GET", vkValueURL("k"), jsonResponder(404, failure(10009, "get: 'key not found'")))
		m.on("GET", vkMetaURL("k"), jsonResponder(404, failure(10009, "metadata: 'key not found'")))
		if _, err := c.KV(testNS).GetWithMetadata(t.Context(), "k"); !errors.Is(err, workerskv.ErrKeyNotFound) {
			t.Errorf("err = %v, want ErrKeyNotFound", err)
		}
	})
	t.Run("key not UTF-8", func(t *testing.T) {
		t.Parallel()
		c, m := setup(t)
		// A bulk get (JSON) cannot carry the key: the value and the metadata are read apart.
		m.on("GET", vkValueURL("k\xff"), jsonResponder(200, "v"))
		m.on("GET", vkMetaURL("k\xff"), jsonResponder(200, envelope(`"m"`)))
		e, err := c.KV(testNS).GetWithMetadata(t.Context(), "k\xff")
		if err != nil || string(e.Value) != "v" || string(e.Metadata) != `"m"` {
			t.Errorf("GetWithMetadata = %+v, %v", e, err)
		}
		if n := len(m.requests()); n != 2 {
			t.Errorf("%d requests, want 2", n)
		}
	})
	t.Run("missing", func(t *testing.T) {
		t.Parallel()
		c, m := setup(t)
		m.on("POST", vkBulkGetURL, jsonResponder(200, envelope(`{"values":{"k":null}}`)))
		_, err := c.KV(testNS).GetWithMetadata(t.Context(), "k")
		if !errors.Is(err, workerskv.ErrKeyNotFound) || !errors.Is(err, workerskv.ErrNotFound) || errors.Is(err, workerskv.ErrNamespaceNotFound) {
			t.Errorf("err = %v, want ErrKeyNotFound", err)
		}
		if err != nil && !strings.Contains(err.Error(), `"k"`) {
			t.Errorf("err = %v: want the key named", err)
		}
	})
}
