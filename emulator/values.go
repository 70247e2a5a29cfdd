package emulator

import (
	"net/http"
	"strconv"
)

// getValue serves GET NS/{namespace_id}/values/{key_name}: the raw bytes, as
// application/octet-stream, with an expiration header (epoch seconds) when
// the key expires.
func (e *Emulator) getValue(w http.ResponseWriter, r *http.Request, rt *route) error {
	key, err := decodeKey(rt.keySeg)
	if err != nil {
		return err
	}
	v, gerr := e.store.get(rt.account, rt.namespace, key, e.clock.Now())
	if gerr != nil {
		return gerr
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.Itoa(len(v.value)))
	if v.expiration != 0 {
		h.Set("Expiration", strconv.FormatInt(v.expiration, 10))
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(v.value)
	return nil
}

// putValue serves PUT NS/{namespace_id}/values/{key_name}. A multipart/form-data
// body carries the value in part "value" and optional JSON metadata in part
// "metadata"; any other body is the raw value, whatever its Content-Type.
// Query expiration or expiration_ttl set when the key expires.
func (e *Emulator) putValue(w http.ResponseWriter, r *http.Request, rt *route) error {
	key, err := decodeKey(rt.keySeg)
	if err != nil {
		return err
	}
	now := e.clock.Now()
	q := r.URL.Query()
	exp, err := resolveExpiration(q.Get("expiration"), q.Get("expiration_ttl"), now)
	if err != nil {
		return err
	}
	// Refuse a missing namespace before reading a large body.
	if e.store.lookup(rt.account, rt.namespace) == nil {
		return errNamespaceNotFound
	}
	value, metadata, err := readValueBody(w, r)
	if err != nil {
		return err
	}
	write := keyWrite{key: key, value: value, metadata: metadata, expiration: exp, visibleFrom: e.visibleFrom(now)}
	if err := e.store.writeKeys(rt.account, rt.namespace, now, []keyWrite{write}); err != nil {
		return err
	}
	writeResult(w, nil, nil)
	return nil
}

// deleteValue serves DELETE NS/{namespace_id}/values/{key_name}. Deleting a
// key that does not exist succeeds. Any body is ignored.
func (e *Emulator) deleteValue(w http.ResponseWriter, r *http.Request, rt *route) error {
	key, err := decodeKey(rt.keySeg)
	if err != nil {
		return err
	}
	now := e.clock.Now()
	write := keyWrite{key: key, delete: true, visibleFrom: e.visibleFrom(now)}
	if err := e.store.writeKeys(rt.account, rt.namespace, now, []keyWrite{write}); err != nil {
		return err
	}
	writeResult(w, nil, nil)
	return nil
}

// getMetadata serves GET NS/{namespace_id}/metadata/{key_name}: the result is
// the key's metadata, null when it has none; a missing key is 404, 10009.
func (e *Emulator) getMetadata(w http.ResponseWriter, r *http.Request, rt *route) error {
	key, err := decodeKey(rt.keySeg)
	if err != nil {
		return err
	}
	v, gerr := e.store.get(rt.account, rt.namespace, key, e.clock.Now())
	if gerr != nil {
		return gerr
	}
	if v.metadata == nil {
		writeResult(w, nil, nil)
		return nil
	}
	writeResult(w, v.metadata, nil)
	return nil
}
