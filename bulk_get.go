package workerskv

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/workerskv/workerskv/internal/limits"
)

type bulkGetBody struct {
	Keys         []string    `json:"keys"`
	Type         BulkGetType `json:"type,omitempty"`
	WithMetadata bool        `json:"withMetadata,omitempty"`
}

type bulkGetResult struct {
	Values map[string]json.RawMessage `json:"values"`
}

// Get reads many values (POST .../namespaces/{namespace_id}/bulk/get), 100 keys per request, up to
// opts.Concurrency at a time. Keys that do not exist are absent from the map, so a missing key is told
// apart from an empty value with the comma-ok idiom. The API serves only text values this way: read
// binary values with [ValuesService.Get].
func (s *BulkService) Get(ctx context.Context, namespaceID string, keys []string, opts *BulkGetOptions) (map[string]Entry, error) {
	if err := validateNamespaceID(namespaceID); err != nil {
		return nil, err
	}
	var o BulkGetOptions
	if opts != nil {
		o = *opts
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	for _, k := range keys {
		if err := validateBulkKey(k); err != nil {
			return nil, err
		}
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := make(map[string]Entry, len(keys))
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	work := make(chan []string)
	for range o.Concurrency {
		wg.Go(func() {
			for batch := range work {
				vals, err := s.getBatch(ctx, namespaceID, batch, &o)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
					cancel()
				}
				for k, v := range vals {
					out[k] = v
				}
				mu.Unlock()
			}
		})
	}
feed:
	for start := 0; start < len(keys); start += limits.MaxBulkGetItems {
		select {
		case work <- keys[start:min(start+limits.MaxBulkGetItems, len(keys))]:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		return out, firstErr
	}
	return out, nil
}

func (s *BulkService) getBatch(ctx context.Context, namespaceID string, keys []string, o *BulkGetOptions) (map[string]Entry, error) {
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	body, err := jsonBody(bulkGetBody{Keys: keys, Type: o.Type, WithMetadata: o.WithMetadata})
	if err != nil {
		return nil, err
	}
	res, _, err := call[bulkGetResult](ctx, s.client, &request{
		method: http.MethodPost, segments: s.client.nsPath(namespaceID, "bulk", "get"), body: body, contentType: "application/json",
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]Entry, len(res.Values))
	for k, raw := range res.Values {
		if len(raw) == 0 || string(raw) == "null" {
			continue // missing key
		}
		v, err := decodeBulkValue(raw, o)
		if err != nil {
			return nil, fmt.Errorf("workerskv: bulk get: key %q: %w", k, err)
		}
		out[k] = v
	}
	return out, nil
}

func decodeBulkValue(raw json.RawMessage, o *BulkGetOptions) (Entry, error) {
	var v Entry
	if o.WithMetadata {
		var w struct {
			Value      json.RawMessage `json:"value"`
			Metadata   json.RawMessage `json:"metadata"`
			Expiration json.Number     `json:"expiration"`
		}
		if err := json.Unmarshal(raw, &w); err != nil {
			return v, err
		}
		raw = w.Value
		if string(w.Metadata) != "null" && len(w.Metadata) > 0 {
			v.Metadata = w.Metadata
		}
		if w.Expiration != "" {
			secs, err := w.Expiration.Float64()
			if err != nil {
				return v, fmt.Errorf("bad expiration %q", w.Expiration)
			}
			if secs > 0 {
				v.Expiration = time.Unix(int64(secs), 0)
			}
		}
	}
	if o.Type == BulkGetJSON {
		v.Value = raw
		return v, nil
	}
	var text string
	if err := json.Unmarshal(raw, &text); err != nil {
		return v, fmt.Errorf("value is not a JSON string: %w", err)
	}
	v.Value = []byte(text)
	return v, nil
}

// BulkGetOptions tunes [BulkService.Get].
type BulkGetOptions struct {
	// Type is [BulkGetText] (the default: values are returned as their bytes) or [BulkGetJSON] (values
	// are parsed by the server and returned as JSON).
	Type BulkGetType
	// WithMetadata also returns each key's metadata and expiration.
	WithMetadata bool
	// Concurrency is how many requests run at once (default 4).
	Concurrency int
}

// BulkGetType says how [BulkService.Get] returns values.
type BulkGetType string

// The value types the API's bulk get accepts.
const (
	// BulkGetText returns each value's bytes. The API refuses the whole request if a value is not
	// text.
	BulkGetText BulkGetType = "text"
	// BulkGetJSON returns each value parsed as JSON by the server.
	BulkGetJSON BulkGetType = "json"
)
