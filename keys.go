package workerskv

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"time"

	"github.com/workerskv/workerskv/internal/envelope"
	"github.com/workerskv/workerskv/internal/keypage"
)

// KeysService lists keys and reads their metadata. Use it through [Client.Keys].
type KeysService service

// Key is one key of a listing.
type Key struct {
	// Name is the key name, exactly as written.
	Name string
	// Expiration is when the key expires; the zero time if it never does.
	Expiration time.Time
	// Metadata is the key's metadata as JSON, or nil when it has none.
	Metadata json.RawMessage
}

// keyList is a page's keys as decoded from a response: in one pass by internal/keypage when the page
// has the usual shape, and through encoding/json (UnmarshalJSON) otherwise.
type keyList []Key

// wireKey is a key as the API lists it: {"name", "expiration" (epoch seconds), "metadata"}. The
// encoding/json path decodes a page into these and converts them, which costs far less per key than
// a custom UnmarshalJSON on Key (a second decoder run per key).
type wireKey struct {
	Name       string          `json:"name"`
	Expiration float64         `json:"expiration"`
	Metadata   json.RawMessage `json:"metadata"`
}

// UnmarshalJSON decodes a JSON array of keys.
func (l *keyList) UnmarshalJSON(b []byte) error {
	var wire []wireKey
	if err := json.Unmarshal(b, &wire); err != nil {
		return err
	}
	*l = make(keyList, len(wire))
	for i, w := range wire {
		(*l)[i] = newKey(w.Name, w.Expiration, w.Metadata)
	}
	return nil
}

// decodeKeyPage is the fast path of a key list: one pass, no reflection (see internal/keypage).
func decodeKeyPage(body []byte) (keyList, *envelope.ResultInfo, bool) {
	keys, cursor, ok := keypage.Decode(body, newKey)
	if !ok {
		return nil, nil, false
	}
	return keys, &envelope.ResultInfo{Cursor: cursor}, true
}

// newKey makes a Key from the API's fields: metadata null means none, and an expiration below one
// second means none.
func newKey(name string, expiration float64, metadata []byte) Key {
	k := Key{Name: name, Metadata: metadata}
	if string(k.Metadata) == "null" {
		k.Metadata = nil
	}
	if expiration >= 1 {
		k.Expiration = time.Unix(int64(expiration), 0)
	}
	return k
}

// ListKeysOptions selects a page of keys. The zero value lists from the first key, 1,000 per page.
type ListKeysOptions struct {
	// Prefix limits the listing to keys that start with it.
	Prefix string `url:"prefix,omitempty"`
	// Limit is the page size, 10–1000 (default 1000).
	Limit int `url:"limit,omitempty"`
	// Cursor resumes a listing where a previous page ended ([KeyPage].Cursor).
	Cursor string `url:"cursor,omitempty"`
}

// KeyPage is one page of keys.
type KeyPage struct {
	Keys []Key
	// Cursor continues the listing; empty when this was the last page. A page can be short, or even
	// empty, while a cursor remains.
	Cursor string
}

// List returns one page of keys in byte order of their names
// (GET .../namespaces/{namespace_id}/keys). opts may be nil.
func (s *KeysService) List(ctx context.Context, namespaceID string, opts *ListKeysOptions) (*KeyPage, error) {
	if err := validateNamespaceID(namespaceID); err != nil {
		return nil, err
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	r := &request{method: http.MethodGet, segments: s.client.nsPath(namespaceID, "keys")}
	if opts != nil && *opts != (ListKeysOptions{}) {
		r.query = opts
	}
	keys, info, err := callFast(ctx, s.client, r, decodeKeyPage)
	if err != nil {
		return nil, err
	}
	if keys == nil {
		keys = keyList{} // a page without a result member lists no keys, as an empty one does
	}
	p := &KeyPage{Keys: keys}
	if info != nil {
		p.Cursor = info.Cursor
	}
	return p, nil
}

// All iterates over every key (from opts.Cursor, if set), fetching pages lazily. It follows the cursor
// until the server returns none, keeps going across empty pages, and ends with an error if the server
// repeats a cursor. Ranging over it again starts over; it yields the first error and stops; it makes no
// request after a break.
func (s *KeysService) All(ctx context.Context, namespaceID string, opts *ListKeysOptions) iter.Seq2[Key, error] {
	var o ListKeysOptions
	if opts != nil {
		o = *opts
	}
	return cursorSeq(ctx, o.Cursor, func(ctx context.Context, cursor string) ([]Key, string, error) {
		po := o
		po.Cursor = cursor
		p, err := s.List(ctx, namespaceID, &po)
		if err != nil {
			return nil, "", err
		}
		return p.Keys, p.Cursor, nil
	})
}

// Metadata returns a key's metadata (GET .../namespaces/{namespace_id}/metadata/{key_name}), nil when
// the key has none. A missing key gives an error matching [ErrNotFound].
func (s *KeysService) Metadata(ctx context.Context, namespaceID, key string) (json.RawMessage, error) {
	if err := validateNamespaceID(namespaceID); err != nil {
		return nil, err
	}
	if err := validateKey(key); err != nil {
		return nil, err
	}
	m, _, err := call[json.RawMessage](ctx, s.client, &request{method: http.MethodGet, segments: s.client.nsPath(namespaceID, "metadata", key)})
	if err != nil {
		return nil, err
	}
	if string(m) == "null" {
		return nil, nil
	}
	return m, nil
}
