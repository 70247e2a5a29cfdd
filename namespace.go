package workerskv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"reflect"
	"sync"
	"time"
)

// KV is a handle on one namespace, shaped like the Workers KV binding so that Go code reads like a
// Worker's: it is the first thing to reach for. Get one with [Client.KV]:
//
//	kv := client.KV(namespaceID)
//	if err := kv.Put(ctx, "greeting", []byte("hello"), nil); err != nil {
//		return err
//	}
//	v, err := kv.Get(ctx, "greeting")
//	if err != nil {
//		return err
//	}
//	fmt.Printf("%s\n", v)
//
// Each binding method has its counterpart: get ([KV.Get], [KV.GetJSON], [KV.GetReader]),
// getWithMetadata ([KV.GetWithMetadata]), get of many keys ([KV.GetMany]), put ([KV.Put],
// [KV.PutJSON]), delete, list, and bulk writes and deletes ([KV.PutMany], [KV.DeleteMany]). The methods
// are thin wrappers over the services ([Client.Values], [Client.Keys], [Client.Bulk]), which remain the
// full REST mapping. A service that reads on every request should read through a [Cache].
//
// A missing key gives an error matching [ErrKeyNotFound]; a wrong namespace ID one matching
// [ErrNamespaceNotFound]; both match [ErrNotFound]. A KV is safe for concurrent use.
type KV struct {
	client *Client
	id     string
}

// KV returns a handle on namespace id. It sends nothing; a bad id is reported by each call.
func (c *Client) KV(id string) *KV { return &KV{client: c, id: id} }

// ID returns the namespace ID.
func (kv *KV) ID() string { return kv.id }

// Get reads a value; see [ValuesService.Get].
func (kv *KV) Get(ctx context.Context, key string) ([]byte, error) {
	return kv.client.Values.Get(ctx, kv.id, key)
}

// GetWithExpiration reads a value and when it expires (the zero time if never); see
// [ValuesService.GetWithExpiration].
func (kv *KV) GetWithExpiration(ctx context.Context, key string) ([]byte, time.Time, error) {
	return kv.client.Values.GetWithExpiration(ctx, kv.id, key)
}

// GetReader opens a value for streaming; the caller closes it. See [ValuesService.GetReader].
func (kv *KV) GetReader(ctx context.Context, key string) (io.ReadCloser, error) {
	return kv.client.Values.GetReader(ctx, kv.id, key)
}

// Entry is a value with its metadata and expiration: what [KV.GetWithMetadata] and [Cache.GetWithMetadata]
// read, and each value of [BulkService.Get] and [KV.GetMany].
type Entry struct {
	// Value is the value's bytes, exactly as written; from a bulk get of type [BulkGetJSON], the JSON
	// the server parsed it into.
	Value []byte
	// Metadata is the key's metadata as JSON, nil when it has none (or when a bulk get did not ask for
	// it).
	Metadata json.RawMessage
	// Expiration is when the key expires, the zero time when it never does (or when a bulk get did not
	// ask for it).
	Expiration time.Time
}

// GetWithMetadata reads a value with its metadata and expiration, like the binding's getWithMetadata.
//
// A text value (valid UTF-8) comes in one request: a bulk get of the one key with its metadata
// (POST .../bulk/get with withMetadata), which returns the value, the metadata and the expiration
// together. The API serves only text values that way and refuses a binary one (code 10029); then the
// value and the metadata are read with two more requests, run concurrently: the value
// (GET .../values/{key_name}, which also gives the expiration) and the metadata
// (GET .../metadata/{key_name}). So against the API rate limit a text value costs one request, a
// missing key one, and a binary value three; a key that is not valid UTF-8, which a bulk get cannot
// carry, costs the two. To read a value known to be binary in two requests, call
// [KV.GetWithExpiration] and [KV.Metadata].
//
// In the two-request case each part is as its own request found it: if the key is written while
// they run, Value and Metadata may come from different writes, and if it is deleted, the call fails
// with [ErrKeyNotFound]. If either request fails the other is cancelled and the error is returned. A
// missing key gives [ErrKeyNotFound]; bad input a [*ValidationError] before anything is sent.
func (kv *KV) GetWithMetadata(ctx context.Context, key string) (*Entry, error) {
	// Checked here so that bad input gives one error, no request and no goroutine.
	if err := validateNamespaceID(kv.id); err != nil {
		return nil, err
	}
	if err := validateKey(key); err != nil {
		return nil, err
	}
	if validateBulkKey(key) == nil {
		e, err := kv.getWithMetadataBulk(ctx, key)
		if !isNotText(err) {
			return e, err
		}
	}
	return kv.getWithMetadataApart(ctx, key)
}

// getWithMetadataBulk reads a text value with its metadata and expiration in one bulk get.
func (kv *KV) getWithMetadataBulk(ctx context.Context, key string) (*Entry, error) {
	vals, err := kv.client.Bulk.getBatch(ctx, kv.id, []string{key}, &bulkGetWithMetadata)
	if err != nil {
		return nil, err
	}
	v, ok := vals[key]
	if !ok {
		return nil, &keyNotFoundError{key: key}
	}
	return &Entry{Value: v.Value, Metadata: v.Metadata, Expiration: v.Expiration}, nil
}

// getWithMetadataApart reads a value with its metadata and expiration in two concurrent requests,
// as binary values need. The key must have been validated.
func (kv *KV) getWithMetadataApart(ctx context.Context, key string) (*Entry, error) {
	both, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		meta    json.RawMessage
		metaErr error
		wg      sync.WaitGroup
	)
	wg.Go(func() {
		meta, metaErr = kv.client.Keys.Metadata(both, kv.id, key)
		if metaErr != nil {
			cancel()
		}
	})
	v, exp, err := kv.client.Values.GetWithExpiration(both, kv.id, key)
	if err != nil {
		cancel()
	}
	wg.Wait()
	// Report the value's error, unless it is only the cancellation that the metadata's failure caused.
	cancelledByMeta := metaErr != nil && ctx.Err() == nil && errors.Is(err, context.Canceled)
	switch {
	case err != nil && !cancelledByMeta:
		return nil, err
	case metaErr != nil:
		return nil, metaErr
	}
	return &Entry{Value: v, Metadata: meta, Expiration: exp}, nil
}

// bulkGetWithMetadata asks a bulk get for values as text, with their metadata and expiration.
var bulkGetWithMetadata = BulkGetOptions{Type: BulkGetText, WithMetadata: true}

// isNotText reports whether err is the API's refusal of a bulk get of a value that is not text (code
// 10029), which fails the whole request without saying which value.
func isNotText(err error) bool { return hasCode(err, 10029) }

// keyNotFoundError is the error for a key that a bulk get returned as null: it does not exist. It
// matches [ErrKeyNotFound] and [ErrNotFound], as the API's own not-found error does.
type keyNotFoundError struct{ key string }

func (e *keyNotFoundError) Error() string { return fmt.Sprintf("workerskv: key %q not found", e.key) }

// Is reports whether target is [ErrKeyNotFound] or [ErrNotFound].
func (e *keyNotFoundError) Is(target error) bool {
	return target == ErrKeyNotFound || target == ErrNotFound
}

// GetJSON reads a value and decodes it as JSON into dst, which must be a non-nil pointer, like the
// binding's get(key, "json"). A dst that is not a non-nil pointer gives a [*ValidationError] before
// anything is sent; a value that is not valid JSON, or does not fit dst, gives a [*ValueError] naming
// the key.
func (kv *KV) GetJSON(ctx context.Context, key string, dst any) error {
	if err := checkJSONTarget(dst); err != nil {
		return err
	}
	v, err := kv.Get(ctx, key)
	if err != nil {
		return err
	}
	return decodeJSONValue(key, v, dst)
}

// checkJSONTarget refuses a decoding target that is not a non-nil pointer.
func checkJSONTarget(dst any) error {
	if rv := reflect.ValueOf(dst); rv.Kind() != reflect.Pointer || rv.IsNil() {
		return invalid("dst", "need a non-nil pointer to decode JSON into, got %T", dst)
	}
	return nil
}

// decodeJSONValue decodes the value of key into dst.
func decodeJSONValue(key string, v []byte, dst any) error {
	if err := json.Unmarshal(v, dst); err != nil {
		return &ValueError{Key: key, Err: err}
	}
	return nil
}

// ValueError reports a value that was read but cannot be used as asked: [KV.GetJSON] of a value that
// is not valid JSON, or whose JSON does not fit the destination.
type ValueError struct {
	// Key is the key whose value it is.
	Key string
	// Err is the decoding error, such as a *json.SyntaxError or *json.UnmarshalTypeError.
	Err error
}

// Error names the key and what is wrong with its value.
func (e *ValueError) Error() string {
	return fmt.Sprintf("workerskv: value of key %q is not usable as JSON: %v", e.Key, e.Err)
}

// Unwrap returns the decoding error.
func (e *ValueError) Unwrap() error { return e.Err }

// Put writes a value; see [ValuesService.Put]. opts may be nil.
func (kv *KV) Put(ctx context.Context, key string, value []byte, opts *PutOptions) error {
	return kv.client.Values.put(ctx, kv.id, key, value, nil, opts)
}

// PutJSON writes v encoded as JSON, like the binding's put(key, JSON.stringify(v)). A v that cannot be
// encoded gives a [*ValidationError] before anything is sent. opts may be nil.
func (kv *KV) PutJSON(ctx context.Context, key string, v any, opts *PutOptions) error {
	b, err := encodeJSONValue(v)
	if err != nil {
		return err
	}
	return kv.Put(ctx, key, b, opts)
}

// encodeJSONValue encodes v as compact JSON without HTML escaping, as JSON.stringify does.
func encodeJSONValue(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, invalid("value", "cannot be encoded as JSON: %v", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Delete removes a key; see [ValuesService.Delete].
func (kv *KV) Delete(ctx context.Context, key string) error {
	return kv.client.Values.Delete(ctx, kv.id, key)
}

// List returns one page of the namespace's keys, like the binding's list; see [KeysService.List].
// opts may be nil; pass the page's Cursor in opts to read the next page.
func (kv *KV) List(ctx context.Context, opts *ListKeysOptions) (*KeyPage, error) {
	return kv.client.Keys.List(ctx, kv.id, opts)
}

// All iterates over the namespace's keys, every page, lazily; see [KeysService.All]. opts may be nil.
func (kv *KV) All(ctx context.Context, opts *ListKeysOptions) iter.Seq2[Key, error] {
	return kv.client.Keys.All(ctx, kv.id, opts)
}

// Metadata reads a key's metadata; see [KeysService.Metadata].
func (kv *KV) Metadata(ctx context.Context, key string) (json.RawMessage, error) {
	return kv.client.Keys.Metadata(ctx, kv.id, key)
}

// GetMany reads many text or JSON values at once, like the binding's get of a list of keys; see
// [BulkService.Get]. Missing keys are absent from the map. opts may be nil.
func (kv *KV) GetMany(ctx context.Context, keys []string, opts *BulkGetOptions) (map[string]Entry, error) {
	return kv.client.Bulk.Get(ctx, kv.id, keys, opts)
}

// PutMany writes many pairs at once, in as many requests as the API's limits need; see
// [BulkService.Put]. opts may be nil.
func (kv *KV) PutMany(ctx context.Context, pairs []BulkPair, opts *BulkOptions) (*BulkResult, error) {
	return kv.client.Bulk.Put(ctx, kv.id, pairs, opts)
}

// DeleteMany deletes many keys at once; see [BulkService.Delete]. opts may be nil.
func (kv *KV) DeleteMany(ctx context.Context, keys []string, opts *BulkOptions) (*BulkResult, error) {
	return kv.client.Bulk.Delete(ctx, kv.id, keys, opts)
}
