package workerskv_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
)

// keyPageTransport answers every request with one pre-encoded page of keys.
type keyPageTransport struct{ body []byte }

func (t keyPageTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		ContentLength: int64(len(t.body)), Body: io.NopCloser(bytes.NewReader(t.body)), Request: req,
	}, nil
}

// keyPage1000 is a page of 1,000 keys, each with an expiration and a small metadata object, and a
// cursor: the shape of bench/'s ListKeysPage1000.
func keyPage1000() []byte {
	type key struct {
		Name       string         `json:"name"`
		Expiration int64          `json:"expiration"`
		Metadata   map[string]any `json:"metadata"`
	}
	keys := make([]key, 1000)
	for i := range keys {
		keys[i] = key{
			Name:       fmt.Sprintf("user/%06d/profile", i),
			Expiration: 1900000000 + int64(i),
			Metadata:   map[string]any{"owner": "team-" + strconv.Itoa(i%7), "size": i, "hot": i%2 == 0},
		}
	}
	b, err := json.Marshal(map[string]any{
		"success": true, "errors": []any{}, "messages": []any{}, "result": keys,
		"result_info": map[string]any{"count": len(keys), "cursor": "AAAAAN0001-opaque-cursor=="},
	})
	if err != nil {
		panic(err)
	}
	return b
}

// BenchmarkListKeysPage1000 decodes one page of 1,000 keys through Keys.List, without a network.
func BenchmarkListKeysPage1000(b *testing.B) {
	body := keyPage1000()
	c := vkClient(b, keyPageTransport{body})
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		p, err := c.Keys.List(b.Context(), testNS, nil)
		if err != nil || len(p.Keys) != 1000 {
			b.Fatalf("List: %d keys, %v", len(p.Keys), err)
		}
	}
}
