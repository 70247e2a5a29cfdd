package workerskv_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/workerskv/workerskv"
)

const maxValue = 25 << 20

// zeros is an io.ReaderAt of zero bytes, for large values that cost no memory.
type zeros struct{}

func (zeros) ReadAt(p []byte, _ int64) (int, error) {
	clear(p)
	return len(p), nil
}

// bigValue is a seekable value of n zero bytes whose size Put can learn without reading it.
func bigValue(n int64) io.ReadSeeker { return io.NewSectionReader(zeros{}, 0, n) }

func TestValidationBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	put := func(key string, v io.Reader, o *workerskv.PutOptions) func(context.Context, *workerskv.Client) error {
		return func(ctx context.Context, c *workerskv.Client) error { return c.Values.Put(ctx, testNS, key, v, o) }
	}
	get := func(ns, key string) func(context.Context, *workerskv.Client) error {
		return func(ctx context.Context, c *workerskv.Client) error { _, err := c.Values.Get(ctx, ns, key); return err }
	}
	list := func(ns string, o *workerskv.ListKeysOptions) func(context.Context, *workerskv.Client) error {
		return func(ctx context.Context, c *workerskv.Client) error { _, err := c.Keys.List(ctx, ns, o); return err }
	}
	small := func() io.Reader { return strings.NewReader("v") }
	cases := []struct {
		name, field string
		call        func(context.Context, *workerskv.Client) error
	}{
		{"Get empty key", "key", get(testNS, "")},
		{"Get dot", "key", get(testNS, ".")},
		{"Get dot dot", "key", get(testNS, "..")},
		{"Get 513-byte key", "key", get(testNS, strings.Repeat("k", 513))},
		{"Get empty namespace", "namespace_id", get("", "k")},
		{"GetReader empty key", "key", func(ctx context.Context, c *workerskv.Client) error {
			_, err := c.Values.GetReader(ctx, testNS, "")
			return err
		}},
		{"Put empty key", "key", put("", small(), nil)},
		{"Put dot dot", "key", put("..", small(), nil)},
		{"Put 513-byte key", "key", put(strings.Repeat("é", 256)+"k", small(), nil)},
		{"Put empty namespace", "namespace_id", func(ctx context.Context, c *workerskv.Client) error {
			return c.Values.Put(ctx, "", "k", small(), nil)
		}},
		{"Put nil value", "value", put("k", nil, nil)},
		{"Put 1,025 bytes of metadata", "metadata", put("k", small(), &workerskv.PutOptions{Metadata: strings.Repeat("m", 1023)})},
		{"Put invalid raw metadata", "metadata", put("k", small(), &workerskv.PutOptions{Metadata: json.RawMessage(`{"a":`)})},
		{"Put unencodable metadata", "metadata", put("k", small(), &workerskv.PutOptions{Metadata: func() {}})},
		{"Put value over 25 MiB", "value", put("k", bigValue(maxValue+1), nil)},
		{"Put value over 25 MiB with metadata", "value", put("k", bigValue(maxValue+1), &workerskv.PutOptions{Metadata: 1})},
		{"Put TTL 59s", "expiration_ttl", put("k", small(), &workerskv.PutOptions{ExpirationTTL: 59 * time.Second})},
		{"Put TTL 59.9s", "expiration_ttl", put("k", small(), &workerskv.PutOptions{ExpirationTTL: 59900 * time.Millisecond})},
		{"Put negative TTL", "expiration_ttl", put("k", small(), &workerskv.PutOptions{ExpirationTTL: -time.Hour})},
		{"Put expiration 30s ahead", "expiration", put("k", small(), &workerskv.PutOptions{Expiration: time.Now().Add(30 * time.Second)})},
		{"Put expiration in the past", "expiration", put("k", small(), &workerskv.PutOptions{Expiration: time.Unix(1, 0)})},
		{"Put expiration and TTL", "expiration", put("k", small(), &workerskv.PutOptions{Expiration: time.Now().Add(time.Hour), ExpirationTTL: time.Hour})},
		{"Delete empty key", "key", func(ctx context.Context, c *workerskv.Client) error { return c.Values.Delete(ctx, testNS, "") }},
		{"Delete empty namespace", "namespace_id", func(ctx context.Context, c *workerskv.Client) error { return c.Values.Delete(ctx, "", "k") }},
		{"Metadata dot", "key", func(ctx context.Context, c *workerskv.Client) error {
			_, err := c.Keys.Metadata(ctx, testNS, ".")
			return err
		}},
		{"Metadata empty namespace", "namespace_id", func(ctx context.Context, c *workerskv.Client) error {
			_, err := c.Keys.Metadata(ctx, "", "k")
			return err
		}},
		{"List limit 5", "limit", list(testNS, &workerskv.ListKeysOptions{Limit: 5})},
		{"List limit 1001", "limit", list(testNS, &workerskv.ListKeysOptions{Limit: 1001})},
		{"List empty namespace", "namespace_id", list("", nil)},
		{"All limit 5", "limit", func(ctx context.Context, c *workerskv.Client) error {
			for _, err := range c.Keys.All(ctx, testNS, &workerskv.ListKeysOptions{Limit: 5}) {
				return err
			}
			return errors.New("All yielded nothing")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, m := setup(t)
			err := tc.call(t.Context(), c)
			var ve *workerskv.ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field || !errors.Is(err, workerskv.ErrInvalidInput) {
				t.Fatalf("error %v, want a ValidationError for field %q matching ErrInvalidInput", err, tc.field)
			}
			if n := len(m.requests()); n != 0 {
				t.Fatalf("%d requests sent for invalid input", n)
			}
		})
	}
}

func TestValidationLimitsAccepted(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("PUT", "=~/values/", jsonResponder(200, envelope("null")))
	m.on("GET", keysURL, jsonResponder(200, envelope("[]")))
	meta := strings.Repeat("m", 1022) // 1,024 bytes as JSON
	if err := c.Values.Put(t.Context(), testNS, strings.Repeat("k", 512), strings.NewReader("v"), &workerskv.PutOptions{Metadata: meta}); err != nil {
		t.Fatalf("512-byte key with 1,024 bytes of metadata: %v", err)
	}
	if err := c.Values.Put(t.Context(), testNS, "ttl", strings.NewReader("v"), &workerskv.PutOptions{ExpirationTTL: time.Minute}); err != nil {
		t.Fatalf("TTL 60s: %v", err)
	}
	if err := c.Values.Put(t.Context(), testNS, "exp", strings.NewReader("v"), &workerskv.PutOptions{Expiration: time.Now().Add(2 * time.Minute)}); err != nil {
		t.Fatalf("expiration 2 minutes ahead: %v", err)
	}
	for _, limit := range []int{10, 1000} {
		if _, err := c.Keys.List(t.Context(), testNS, &workerskv.ListKeysOptions{Limit: limit}); err != nil {
			t.Fatalf("limit %d: %v", limit, err)
		}
	}
	parts, _ := vkParts(t, m.requests()[0])
	if len(parts["metadata"].Data) != 1024 {
		t.Fatalf("metadata part is %d bytes, want 1,024", len(parts["metadata"].Data))
	}
}

// vkDrain answers 200 after reading the request body to its end, without keeping it; it reports a
// body read error as a transport would.
func vkDrain(n *int64) httpmock.Responder {
	return func(req *http.Request) (*http.Response, error) {
		read, err := io.Copy(io.Discard, req.Body)
		*n = read
		if err != nil {
			return nil, err
		}
		return httpmock.NewStringResponse(200, envelope("null")), nil
	}
}

func TestValuesPutExactly25MiB(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	var sent int64
	m.RegisterResponder("PUT", vkValueURL("big"), vkDrain(&sent))
	if err := c.Values.Put(t.Context(), testNS, "big", bigValue(maxValue), nil); err != nil || sent != maxValue {
		t.Fatalf("Put of exactly 25 MiB: %v after %d bytes", err, sent)
	}
}

// overLimit is a reader that cannot seek and yields one byte more than the value limit.
func overLimit() io.Reader {
	return struct{ io.Reader }{io.NewSectionReader(zeros{}, 0, maxValue+1)}
}

func TestValuesPutUnknownSizeOverLimit(t *testing.T) {
	t.Parallel()
	t.Run("transport reports the read error", func(t *testing.T) {
		t.Parallel()
		c, m := setup(t)
		var sent int64
		m.RegisterResponder("PUT", vkValueURL("big"), vkDrain(&sent))
		err := c.Values.Put(t.Context(), testNS, "big", overLimit(), nil)
		if !errors.Is(err, workerskv.ErrInvalidInput) || sent > maxValue+1 {
			t.Fatalf("Put: %v after %d bytes; want ErrInvalidInput", err, sent)
		}
	})
	t.Run("server answers 200 anyway", func(t *testing.T) {
		t.Parallel()
		c, m := setup(t)
		m.RegisterResponder("PUT", vkValueURL("big"), func(req *http.Request) (*http.Response, error) {
			_, _ = io.Copy(io.Discard, req.Body)
			return httpmock.NewStringResponse(200, envelope("null")), nil
		})
		err := c.Values.Put(t.Context(), testNS, "big", overLimit(), &workerskv.PutOptions{Metadata: "m"})
		var ve *workerskv.ValidationError
		if !errors.As(err, &ve) || ve.Field != "value" {
			t.Fatalf("Put: %v; want a ValidationError for the value", err)
		}
	})
}
