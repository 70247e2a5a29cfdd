package workerskv

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/workerskv/workerskv/internal/limits"
)

// validateKey refuses key names the API cannot store: empty, "." and "..", over 512 bytes.
func validateKey(key string) error {
	switch {
	case key == "":
		return invalid("key", "empty")
	case key == "." || key == "..":
		return invalid("key", "%q is not allowed as a key name", key)
	case len(key) > limits.MaxKeyBytes:
		return invalid("key", "%d bytes long; the limit is %d", len(key), limits.MaxKeyBytes)
	}
	return nil
}

// encodeMetadata serializes metadata as compact JSON (a json.RawMessage is taken as JSON text) and
// checks the 1,024-byte limit. It returns nil for nil metadata.
func encodeMetadata(m any) ([]byte, error) {
	if m == nil {
		return nil, nil
	}
	var b []byte
	if raw, ok := m.(json.RawMessage); ok {
		if raw == nil {
			return nil, nil
		}
		if !json.Valid(raw) {
			return nil, invalid("metadata", "not valid JSON")
		}
		var buf bytes.Buffer
		_ = json.Compact(&buf, raw)
		b = buf.Bytes()
	} else {
		var err error
		if b, err = json.Marshal(m); err != nil {
			return nil, invalid("metadata", "cannot be encoded as JSON: %v", err)
		}
	}
	if !utf8.Valid(b) {
		return nil, invalid("metadata", "not valid UTF-8")
	}
	if len(b) > limits.MaxMetadataBytes {
		return nil, invalid("metadata", "%d bytes serialized; the limit is %d", len(b), limits.MaxMetadataBytes)
	}
	return b, nil
}

// expirationParams checks an expiration and a TTL (at most one of them set) and returns them as the
// API's whole-second values; zero means unset.
func expirationParams(exp time.Time, ttl time.Duration, now time.Time) (expiration, expirationTTL int64, err error) {
	if !exp.IsZero() && ttl != 0 {
		return 0, 0, invalid("expiration", "set Expiration or ExpirationTTL, not both")
	}
	if ttl != 0 {
		secs := int64(ttl / time.Second)
		if secs < limits.MinTTLSeconds {
			return 0, 0, invalid("expiration_ttl", "%s is under the minimum of %ds", ttl, limits.MinTTLSeconds)
		}
		return 0, secs, nil
	}
	if !exp.IsZero() {
		if exp.Unix()-now.Unix() < limits.MinTTLSeconds {
			return 0, 0, invalid("expiration", "%s is less than %ds in the future", exp.UTC().Format(time.RFC3339), limits.MinTTLSeconds)
		}
		return exp.Unix(), 0, nil
	}
	return 0, 0, nil
}

// expirationQuery renders expiration parameters as query values.
func expirationQuery(expiration, ttl int64) map[string][]string {
	q := map[string][]string{}
	if expiration != 0 {
		q["expiration"] = []string{strconv.FormatInt(expiration, 10)}
	}
	if ttl != 0 {
		q["expiration_ttl"] = []string{strconv.FormatInt(ttl, 10)}
	}
	return q
}

func validateNamespaceID(id string) error { return validateID("namespace_id", id) }

// validateID refuses identifiers that would change the request path: empty, "." and "..", or over
// the 32 characters Cloudflare's IDs have.
func validateID(field, id string) error {
	switch {
	case id == "":
		return invalid(field, "empty")
	case id == "." || id == "..":
		return invalid(field, "%q is not an ID", id)
	case len(id) > 32:
		return invalid(field, "longer than 32 characters")
	}
	return nil
}

// validateBulkKey refuses key names a bulk request cannot carry: those [validateKey] refuses, and
// invalid UTF-8 (a bulk body is JSON).
func validateBulkKey(key string) error {
	if err := validateKey(key); err != nil {
		return err
	}
	if !utf8.ValidString(key) {
		return invalid("key", "%q is not valid UTF-8, which a bulk request (JSON) cannot carry", key)
	}
	return nil
}

// validateTitle refuses namespace titles the API cannot store: empty, invalid UTF-8, or over 512
// characters.
func validateTitle(title string) error {
	switch {
	case title == "":
		return invalid("title", "empty")
	case !utf8.ValidString(title):
		return invalid("title", "not valid UTF-8")
	case utf8.RuneCountInString(title) > limits.MaxTitleBytes:
		return invalid("title", "longer than %d characters", limits.MaxTitleBytes)
	}
	return nil
}

// validate checks the options of a key listing: a limit within what the API accepts.
func (o *ListKeysOptions) validate() error {
	if o != nil && o.Limit != 0 && (o.Limit < limits.MinListLimit || o.Limit > limits.MaxListLimit) {
		return invalid("limit", "%d is outside %d–%d", o.Limit, limits.MinListLimit, limits.MaxListLimit)
	}
	return nil
}

// validate checks the options of a namespace listing against what the API accepts.
func (o *ListNamespacesOptions) validate() error {
	if o == nil {
		return nil
	}
	switch {
	case o.Page < 0:
		return invalid("page", "must be 1 or more")
	case o.PerPage < 0 || o.PerPage > 1000:
		return invalid("per_page", "must be between 1 and 1000")
	case o.Order != "" && o.Order != OrderByID && o.Order != OrderByTitle:
		return invalid("order", "%q is not workerskv.OrderByID (\"id\") or workerskv.OrderByTitle (\"title\")", o.Order)
	case o.Direction != "" && o.Direction != Ascending && o.Direction != Descending:
		return invalid("direction", "%q is not workerskv.Ascending (\"asc\") or workerskv.Descending (\"desc\")", o.Direction)
	}
	return nil
}

// validate checks the options of a bulk get: a type the API knows.
func (o *BulkGetOptions) validate() error {
	if o.Type != "" && o.Type != BulkGetText && o.Type != BulkGetJSON {
		return invalid("type", "%q is not workerskv.BulkGetText (\"text\") or workerskv.BulkGetJSON (\"json\")", o.Type)
	}
	return nil
}
