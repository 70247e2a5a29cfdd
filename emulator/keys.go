package emulator

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// keyJSON is the Key object of the API: expiration and metadata are omitted
// when the key has none.
type keyJSON struct {
	Name       string          `json:"name"`
	Expiration int64           `json:"expiration,omitempty"`
	Metadata   json.RawMessage `json:"metadata,omitempty"`
}

// cursorInfo is the result_info of the key list.
type cursorInfo struct {
	Count  int    `json:"count"`
	Cursor string `json:"cursor"`
}

// cursorVersion prefixes the encoded cursor so its format can change.
const cursorVersion = 1

// encodeCursor makes the opaque cursor that resumes a list after key.
func encodeCursor(key string) string {
	b := make([]byte, 0, 1+len(key))
	b = append(b, cursorVersion)
	b = append(b, key...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor returns the key a cursor resumes after.
func decodeCursor(c string) (string, *apiError) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) < 2 || b[0] != cursorVersion || len(b)-1 > maxKeyBytes {
		return "", badRequest(codeInvalidCursor, "Invalid cursor: pass the cursor of a previous list response unchanged.")
	}
	return string(b[1:]), nil
}

// listLimit reads the limit parameter of the key list: absent or empty gives
// the default; a value outside 10 to 1000 is refused with code 10028 and
// Cloudflare's message, and so is one that is not an integer.
func listLimit(s string) (int, *apiError) {
	if s == "" {
		return defaultListLimit, nil
	}
	n, err := strconv.Atoi(s)
	var ne *strconv.NumError
	if err != nil && errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
		n, err = maxListLimit+1, nil // out of range: its sign decides below
		if strings.HasPrefix(s, "-") {
			n = minListLimit - 1
		}
	}
	switch {
	case err != nil:
		return 0, badRequest(codeInvalidLimit, "limit argument must be an integer")
	case n < minListLimit:
		return 0, badRequest(codeInvalidLimit, "limit argument must be at least %d", minListLimit)
	case n > maxListLimit:
		return 0, badRequest(codeInvalidLimit, "limit argument must be at most %d", maxListLimit)
	}
	return n, nil
}

// listKeys serves GET NS/{namespace_id}/keys. Keys come in byte order of
// their names. A page scans at most limit stored entries from the cursor,
// counting expired, deleted and not yet visible ones, and returns the visible
// ones among them; so a page can be short, or empty, while the cursor in
// result_info is not. The cursor is "" on the last page.
func (e *Emulator) listKeys(w http.ResponseWriter, r *http.Request, rt *route) error {
	q := r.URL.Query()
	limit, err := listLimit(q.Get("limit"))
	if err != nil {
		return err
	}
	var after string
	if c := q.Get("cursor"); c != "" {
		if after, err = decodeCursor(c); err != nil {
			return err
		}
	}
	keys, last, more, lerr := e.store.listKeys(rt.account, rt.namespace, q.Get("prefix"), after, limit, e.clock.Now())
	if lerr != nil {
		return lerr
	}
	out := make([]keyJSON, len(keys))
	for i, k := range keys {
		out[i] = keyJSON{Name: k.name, Expiration: k.expiration, Metadata: k.metadata}
	}
	info := cursorInfo{Count: len(out)}
	if more {
		info.Cursor = encodeCursor(last)
	}
	writeResult(w, out, info)
	return nil
}
