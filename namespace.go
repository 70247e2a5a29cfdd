package workerskv

import (
	"context"
	"encoding/json"
	"iter"
)

// KV is a handle on one namespace, so that Go code reads like the Workers binding:
//
//	kv := client.Namespace(namespaceID)
//	if err := kv.Put(ctx, "greeting", []byte("hello"), nil); err != nil {
//		return err
//	}
//	v, err := kv.Get(ctx, "greeting")
//	if err != nil {
//		return err
//	}
//	fmt.Printf("%s\n", v)
//
// Its methods are thin wrappers over the services. Get one with [Client.Namespace].
type KV struct {
	client *Client
	id     string
}

// Namespace returns a handle on namespace id.
func (c *Client) Namespace(id string) *KV { return &KV{client: c, id: id} }

// ID returns the namespace ID.
func (kv *KV) ID() string { return kv.id }

// Get reads a value; see [ValuesService.Get].
func (kv *KV) Get(ctx context.Context, key string) ([]byte, error) {
	return kv.client.Values.Get(ctx, kv.id, key)
}

// Put writes a value; see [ValuesService.Put]. opts may be nil.
func (kv *KV) Put(ctx context.Context, key string, value []byte, opts *PutOptions) error {
	return kv.client.Values.put(ctx, kv.id, key, value, nil, opts)
}

// Delete removes a key; see [ValuesService.Delete].
func (kv *KV) Delete(ctx context.Context, key string) error {
	return kv.client.Values.Delete(ctx, kv.id, key)
}

// List iterates over the namespace's keys; see [KeysService.All]. opts may be nil.
func (kv *KV) List(ctx context.Context, opts *ListKeysOptions) iter.Seq2[Key, error] {
	return kv.client.Keys.All(ctx, kv.id, opts)
}

// Metadata reads a key's metadata; see [KeysService.Metadata].
func (kv *KV) Metadata(ctx context.Context, key string) (json.RawMessage, error) {
	return kv.client.Keys.Metadata(ctx, kv.id, key)
}
