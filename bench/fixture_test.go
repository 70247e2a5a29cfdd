package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Shared inputs: every client is given exactly these.
const (
	accountID   = "0123456789abcdef0123456789abcdef"
	namespaceID = "fedcba9876543210fedcba9876543210"
	apiToken    = "bench-token"
	valueKey    = "bench/key 1" // needs escaping: "/" and " " must travel as %2F and %20
	listPages   = 10            // pages of 1,000 keys for IterateKeys10000
	pageSize    = 1000
)

// Request sizes.
const (
	size100B  = 100
	size1MiB  = 1 << 20
	size25MiB = 25 << 20
)

// benchMetadata is the metadata of PutValueWithMetadata, as a user's struct.
type benchMetadata struct {
	Owner   string   `json:"owner"`
	Version int      `json:"version"`
	Tags    []string `json:"tags"`
}

var metadataValue = benchMetadata{Owner: "bench", Version: 3, Tags: []string{"a", "b"}}

// pair is one bulk-write input, in the shape a user would hold it before picking a client.
type pair struct {
	Key   string
	Value []byte
}

// makeValue returns n bytes of printable ASCII (so that bulk JSON needs no base64 and no escaping).
func makeValue(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}

// makePairs returns n bulk pairs with 100-byte values.
func makePairs(n int) []pair {
	ps := make([]pair, n)
	for i := range ps {
		ps[i] = pair{Key: fmt.Sprintf("bulk-%06d", i), Value: makeValue(size100B)}
	}
	return ps
}

// listPageBody pre-encodes page p (0-based) of the 10,000-key listing: 1,000 keys, each with metadata
// and an expiration; every page but the last carries a cursor.
func listPageBody(p int) []byte {
	type key struct {
		Name       string         `json:"name"`
		Expiration int64          `json:"expiration"`
		Metadata   map[string]any `json:"metadata"`
	}
	keys := make([]key, pageSize)
	for i := range keys {
		n := p*pageSize + i
		keys[i] = key{
			Name:       fmt.Sprintf("user/%06d/profile", n),
			Expiration: 1900000000 + int64(n),
			Metadata:   map[string]any{"owner": "team-" + strconv.Itoa(n%7), "size": n, "hot": n%2 == 0},
		}
	}
	cursor := ""
	if p < listPages-1 {
		cursor = pageCursor(p + 1)
	}
	env := map[string]any{
		"success": true, "errors": []any{}, "messages": []any{},
		"result":      keys,
		"result_info": map[string]any{"count": len(keys), "cursor": cursor},
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(env); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// pageCursor is the opaque cursor naming page p.
func pageCursor(p int) string { return fmt.Sprintf("AAAAAN%04d-opaque-cursor==", p) }
