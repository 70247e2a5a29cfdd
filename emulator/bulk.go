package emulator

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"time"
	"unicode/utf8"
)

// bulkResult is the result of bulk write and bulk delete.
type bulkResult struct {
	SuccessfulKeyCount int      `json:"successful_key_count"`
	UnsuccessfulKeys   []string `json:"unsuccessful_keys"`
}

// bulkItem is one element of a bulk write body; null members are unset.
type bulkItem struct {
	Key           *string
	Value         *string
	Base64        *bool
	Expiration    jsonNumber
	ExpirationTTL jsonNumber
	Metadata      json.RawMessage
}

func (it *bulkItem) field(name string) any {
	switch name {
	case "key":
		return &it.Key
	case "value":
		return &it.Value
	case "base64":
		return &it.Base64
	case "expiration":
		return &it.Expiration
	case "expiration_ttl":
		return &it.ExpirationTTL
	case "metadata":
		return &it.Metadata
	}
	return nil
}

// bulkGetBody is the body of bulk get; null members are unset.
type bulkGetBody struct {
	Keys         *[]string
	Type         *string
	WithMetadata *bool
}

func (b *bulkGetBody) field(name string) any {
	switch name {
	case "keys":
		return &b.Keys
	case "type":
		return &b.Type
	case "withMetadata":
		return &b.WithMetadata
	}
	return nil
}

// bulkGetEntry is one value of a bulk get with metadata.
type bulkGetEntry struct {
	Value      any             `json:"value"`
	Metadata   json.RawMessage `json:"metadata"`
	Expiration int64           `json:"expiration,omitempty"`
}

// bulkWrite serves PUT NS/{namespace_id}/bulk: a JSON array of up to 10,000
// items in a body of at most 100,000,000 bytes. The array is decoded as a
// stream and every item is checked before any is written; one invalid item
// fails the whole request with 400. The writes are then applied at once.
func (e *Emulator) bulkWrite(w http.ResponseWriter, r *http.Request, rt *route) error {
	if e.store.lookup(rt.account, rt.namespace) == nil {
		return errNamespaceNotFound
	}
	if err := limitBody(w, r, maxBulkBodyBytes); err != nil {
		return err
	}
	release, err := e.acquireBulkSlot(r)
	if err != nil {
		return err
	}
	defer release()
	now := e.clock.Now()
	visible := e.visibleFrom(now)
	var writes []keyWrite
	var scratch json.RawMessage
	aerr := decodeArray(r, maxBulkWriteItems, "key/value pairs", func(dec *json.Decoder) *apiError {
		var it bulkItem
		if err := decodeObject(dec, &scratch, it.field); err != nil {
			if errors.Is(err, errNotNumber) {
				return badRequest(codeInvalidExpiration, "expiration and expiration_ttl must be JSON numbers of seconds.")
			}
			return bodyError(err, maxBulkBodyBytes, "Each bulk write item must be an object with a string key and a string value.")
		}
		kw, aerr := bulkItemWrite(it, now)
		if aerr != nil {
			return aerr
		}
		kw.visibleFrom = visible
		writes = append(writes, kw)
		return nil
	})
	if aerr != nil {
		return aerr
	}
	if err := e.store.writeKeys(rt.account, rt.namespace, now, writes); err != nil {
		return err
	}
	writeResult(w, bulkResult{SuccessfulKeyCount: len(writes), UnsuccessfulKeys: []string{}}, nil)
	return nil
}

// acquireBulkSlot waits until fewer than maxConcurrentBulkBodies bulk write
// bodies are being read, or until the request is cancelled. A bulk write
// holds every pair it decodes until it applies them together, up to the
// body's size (100 MB), so this bounds what bulk writes hold between them
// to about maxConcurrentBulkBodies times that; the others wait their turn
// without reading their bodies.
func (e *Emulator) acquireBulkSlot(r *http.Request) (release func(), _ error) {
	select {
	case e.bulkSlots <- struct{}{}:
		return func() { <-e.bulkSlots }, nil
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
}

// bulkItemWrite checks one bulk write item and turns it into a keyWrite.
func bulkItemWrite(it bulkItem, now time.Time) (keyWrite, *apiError) {
	if it.Key == nil {
		return keyWrite{}, badRequest(codeInvalidBody, "Every bulk write item needs a key.")
	}
	key := *it.Key
	if err := validateKey(key); err != nil {
		return keyWrite{}, err
	}
	if it.Value == nil {
		return keyWrite{}, badRequest(codeInvalidBody, "The bulk write item for key %q has no value.", clip(key))
	}
	value := []byte(*it.Value)
	if it.Base64 != nil && *it.Base64 {
		decoded, err := base64.StdEncoding.DecodeString(*it.Value)
		if err != nil {
			decoded, err = base64.RawStdEncoding.DecodeString(*it.Value)
		}
		if err != nil {
			return keyWrite{}, badRequest(codeInvalidBody, "The value for key %q is not valid base64.", clip(key))
		}
		value = decoded
	}
	if len(value) > maxValueBytes {
		return keyWrite{}, errValueTooLarge(len(value))
	}
	expiration, err := resolveExpiration(string(it.Expiration), string(it.ExpirationTTL), now)
	if err != nil {
		return keyWrite{}, err
	}
	var metadata json.RawMessage
	if len(it.Metadata) > 0 {
		if metadata, err = normalizeMetadata(it.Metadata); err != nil {
			return keyWrite{}, err
		}
	}
	return keyWrite{key: key, value: value, metadata: metadata, expiration: expiration}, nil
}

// bulkDelete serves POST NS/{namespace_id}/bulk/delete and the deprecated
// DELETE NS/{namespace_id}/bulk: a JSON array of up to 10,000 key names.
// Keys that do not exist count as deleted.
func (e *Emulator) bulkDelete(w http.ResponseWriter, r *http.Request, rt *route) error {
	if e.store.lookup(rt.account, rt.namespace) == nil {
		return errNamespaceNotFound
	}
	if err := limitBody(w, r, maxBulkBodyBytes); err != nil {
		return err
	}
	now := e.clock.Now()
	visible := e.visibleFrom(now)
	var writes []keyWrite
	err := decodeArray(r, maxBulkDeleteKeys, "keys", func(dec *json.Decoder) *apiError {
		var key string
		if err := dec.Decode(&key); err != nil {
			return bodyError(err, maxBulkBodyBytes, "A bulk delete body must be a JSON array of key names.")
		}
		if aerr := validateKey(key); aerr != nil {
			return aerr
		}
		writes = append(writes, keyWrite{key: key, delete: true, visibleFrom: visible})
		return nil
	})
	if err != nil {
		return err
	}
	if err := e.store.writeKeys(rt.account, rt.namespace, now, writes); err != nil {
		return err
	}
	writeResult(w, bulkResult{SuccessfulKeyCount: len(writes), UnsuccessfulKeys: []string{}}, nil)
	return nil
}

// decodeArray streams the JSON array in r's body (valid UTF-8, nothing after
// the array), calling each for every element, and refuses more than maxItems
// elements without reading further.
func decodeArray(r *http.Request, maxItems int, what string, each func(*json.Decoder) *apiError) *apiError {
	dec := newJSONDecoder(r.Body)
	const notArray = "The request body must be a JSON array."
	tok, err := dec.Token()
	if err != nil {
		return bodyError(err, maxBulkBodyBytes, notArray)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return badRequest(codeInvalidBody, notArray)
	}
	for n := 0; dec.More(); n++ {
		if n == maxItems {
			return errTooManyBulkItems(dec, maxItems, what)
		}
		if err := each(dec); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return bodyError(err, maxBulkBodyBytes, notArray)
	}
	if err := expectEnd(dec); err != nil {
		return bodyError(err, maxBulkBodyBytes, notArray)
	}
	return nil
}

// bulkGet serves POST NS/{namespace_id}/bulk/get: up to 100 keys; missing
// keys come back as null. Values must be text: one that is not valid UTF-8
// fails the whole request (400, code 10029), as in Cloudflare. With type
// "json" each value is parsed, and one that is not JSON fails the request
// too (400); with "text", the default, values are strings.
func (e *Emulator) bulkGet(w http.ResponseWriter, r *http.Request, rt *route) error {
	var body bulkGetBody
	const what = `Request body is not valid JSON of the expected shape, {"keys": [string], "type": "text"|"json", "withMetadata": bool}.`
	if err := decodeJSONObject(w, r, maxJSONBodyBytes, body.field, what); err != nil {
		return err
	}
	if body.Keys == nil {
		return badRequest(codeInvalidBody, "The request body needs a keys array.")
	}
	keys := *body.Keys
	if len(keys) > maxBulkGetKeys {
		return badRequest(codeTooManyKeys, "You can request a maximum of %d keys", maxBulkGetKeys)
	}
	typ := "text"
	if body.Type != nil && *body.Type != "" {
		typ = *body.Type
	}
	if typ != "text" && typ != "json" {
		return badRequest(codeInvalidBody, "Invalid type %q: it must be text or json.", clip(typ))
	}
	withMetadata := body.WithMetadata != nil && *body.WithMetadata
	for _, k := range keys {
		if err := validateKey(k); err != nil {
			return err
		}
	}
	views, err := e.store.getMany(rt.account, rt.namespace, keys, e.clock.Now())
	if err != nil {
		return err
	}
	values := make(map[string]any, len(keys))
	for i, k := range keys {
		v := views[i]
		if v == nil {
			values[k] = nil
			continue
		}
		var val any
		switch {
		case !utf8.Valid(v.value):
			return badRequest(codeNonTextValue, "At least one of the requested keys corresponds to a non-text value")
		case typ == "json":
			if !json.Valid(v.value) {
				return badRequest(codeValueNotJSON, "At least one of the requested keys corresponds to a non-json value")
			}
			val = json.RawMessage(v.value)
		default:
			val = string(v.value)
		}
		if withMetadata {
			values[k] = bulkGetEntry{Value: val, Metadata: v.metadata, Expiration: v.expiration}
		} else {
			values[k] = val
		}
	}
	writeResult(w, map[string]any{"values": values}, nil)
	return nil
}
