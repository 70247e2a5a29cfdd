package workerskv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/workerskv/workerskv/internal/formbody"
	"github.com/workerskv/workerskv/internal/limits"
)

// ValuesService reads, writes and deletes single values. Use it through [Client.Values].
type ValuesService service

// PutOptions sets a written value's expiration and metadata. The zero value writes a value that never
// expires and has no metadata.
type PutOptions struct {
	// Expiration is when the key expires; it must be at least 60 seconds in the future. Sent in whole
	// seconds.
	Expiration time.Time
	// ExpirationTTL is how long from now the key lives; at least 60 seconds. Sent in whole seconds. Set
	// Expiration or ExpirationTTL, not both.
	ExpirationTTL time.Duration
	// Metadata is stored with the key: any value encoding/json can encode (a json.RawMessage is sent
	// as is), at most 1,024 bytes serialized.
	Metadata any
}

// Get reads a value (GET .../namespaces/{namespace_id}/values/{key_name}). A missing key gives an
// error matching [ErrNotFound].
func (s *ValuesService) Get(ctx context.Context, namespaceID, key string) ([]byte, error) {
	v, _, err := s.GetWithExpiration(ctx, namespaceID, key)
	return v, err
}

// GetWithExpiration is [ValuesService.Get] that also returns when the key expires (the zero time for a
// key that never expires).
func (s *ValuesService) GetWithExpiration(ctx context.Context, namespaceID, key string) ([]byte, time.Time, error) {
	resp, err := s.getValue(ctx, namespaceID, key)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if n := resp.ContentLength; n > 0 && n <= limits.MaxValueBytes {
		buf.Grow(int(n) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return nil, time.Time{}, fmt.Errorf("workerskv: reading value: %w", err)
	}
	return buf.Bytes(), expirationHeader(resp), nil
}

// GetReader opens a value for reading without buffering it
// (GET .../namespaces/{namespace_id}/values/{key_name}). The caller must close the reader. The
// request's context also governs the reads.
func (s *ValuesService) GetReader(ctx context.Context, namespaceID, key string) (io.ReadCloser, error) {
	resp, err := s.getValue(ctx, namespaceID, key)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

func (s *ValuesService) getValue(ctx context.Context, namespaceID, key string) (*http.Response, error) {
	if err := validateNamespaceID(namespaceID); err != nil {
		return nil, err
	}
	if err := validateKey(key); err != nil {
		return nil, err
	}
	return s.client.send(ctx, &request{
		method: http.MethodGet, segments: s.client.nsPath(namespaceID, "values", key), accept: "application/octet-stream, application/json",
	})
}

func expirationHeader(resp *http.Response) time.Time {
	if v := resp.Header.Get("Expiration"); v != "" {
		if secs, err := strconv.ParseInt(v, 10, 64); err == nil && secs > 0 {
			return time.Unix(secs, 0)
		}
	}
	return time.Time{}
}

// Put writes a value (PUT .../namespaces/{namespace_id}/values/{key_name}), replacing any value,
// expiration and metadata the key had. Without metadata the body is the raw bytes
// (application/octet-stream); with metadata it is multipart/form-data with parts "metadata" and
// "value". The value is streamed, never copied into memory.
//
// When value is an [io.ReadSeeker] (a *bytes.Reader, *strings.Reader or *os.File) the upload is
// retried like any other request: each attempt rewinds it to where it was when Put was called. Any
// other reader can be read only once, so its upload is sent once and not retried.
//
// Bad input (key, value over 25 MiB when its size is known, metadata over 1,024 bytes, TTL under 60s,
// expiration less than 60s ahead) gives a [*ValidationError] before anything is sent.
func (s *ValuesService) Put(ctx context.Context, namespaceID, key string, value io.Reader, opts *PutOptions) error {
	if err := validateNamespaceID(namespaceID); err != nil {
		return err
	}
	if err := validateKey(key); err != nil {
		return err
	}
	if value == nil {
		return invalid("value", "nil reader")
	}
	var o PutOptions
	if opts != nil {
		o = *opts
	}
	exp, ttl, err := expirationParams(o.Expiration, o.ExpirationTTL, time.Now())
	if err != nil {
		return err
	}
	meta, err := encodeMetadata(o.Metadata)
	if err != nil {
		return err
	}
	body, size, replayable, err := valueBody(value)
	if err != nil {
		return err
	}
	r := &request{
		method:      http.MethodPut,
		segments:    s.client.nsPath(namespaceID, "values", key),
		body:        body,
		bodyLen:     size,
		contentType: "application/octet-stream",
		noReplay:    !replayable,
	}
	if exp != 0 || ttl != 0 {
		r.query = url.Values(expirationQuery(exp, ttl))
	}
	if meta != nil {
		f := formbody.New(meta)
		r.contentType = f.ContentType
		r.body = framed(body, f)
		if size >= 0 {
			r.bodyLen = f.Len(size)
		}
	}
	_, _, err = call[any](ctx, s.client, r)
	return err
}

// errValueTooLarge ends an upload of unknown size that passes the value limit.
var errValueTooLarge = &ValidationError{Field: "value", Reason: fmt.Sprintf("larger than %d bytes", limits.MaxValueBytes)}

// valueBody returns a body function for value, its size (-1 when unknown) and whether it can be sent
// again.
func valueBody(value io.Reader) (retryablehttp.ReaderFunc, int64, bool, error) {
	if rs, ok := value.(io.ReadSeeker); ok {
		start, err := rs.Seek(0, io.SeekCurrent)
		if err != nil {
			return nil, 0, false, fmt.Errorf("workerskv: value: %w", err)
		}
		end, err := rs.Seek(0, io.SeekEnd)
		if err != nil {
			return nil, 0, false, fmt.Errorf("workerskv: value: %w", err)
		}
		if _, err := rs.Seek(start, io.SeekStart); err != nil {
			return nil, 0, false, fmt.Errorf("workerskv: value: %w", err)
		}
		size := end - start
		if size > limits.MaxValueBytes {
			return nil, 0, false, invalid("value", "%d bytes; the limit is %d", size, limits.MaxValueBytes)
		}
		return func() (io.Reader, error) {
			if _, err := rs.Seek(start, io.SeekStart); err != nil {
				return nil, err
			}
			return io.LimitReader(rs, size), nil
		}, size, true, nil
	}
	size := int64(-1)
	if l, ok := value.(interface{ Len() int }); ok {
		size = int64(l.Len())
		if size > limits.MaxValueBytes {
			return nil, 0, false, invalid("value", "%d bytes; the limit is %d", size, limits.MaxValueBytes)
		}
	}
	once := &limitedOnce{r: value, left: limits.MaxValueBytes + 1}
	return func() (io.Reader, error) { return once, nil }, size, false, nil
}

// limitedOnce hides a one-shot reader's Close (the transport must not close the caller's reader) and
// stops an upload that passes the value limit.
type limitedOnce struct {
	r    io.Reader
	left int64
}

func (l *limitedOnce) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, errValueTooLarge
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left <= 0 && err == nil {
		// One byte over the limit was read: the value is too large.
		return n, errValueTooLarge
	}
	return n, err
}

// framed wraps a value body function in multipart framing.
func framed(body retryablehttp.ReaderFunc, f formbody.Frame) retryablehttp.ReaderFunc {
	return func() (io.Reader, error) {
		v, err := body()
		if err != nil {
			return nil, err
		}
		return io.MultiReader(bytes.NewReader(f.Prefix), v, bytes.NewReader(f.Suffix)), nil
	}
}

// Delete removes a key (DELETE .../namespaces/{namespace_id}/values/{key_name}). Deleting a key that
// does not exist is not an error.
func (s *ValuesService) Delete(ctx context.Context, namespaceID, key string) error {
	if err := validateNamespaceID(namespaceID); err != nil {
		return err
	}
	if err := validateKey(key); err != nil {
		return err
	}
	_, _, err := call[any](ctx, s.client, &request{method: http.MethodDelete, segments: s.client.nsPath(namespaceID, "values", key)})
	if errors.Is(err, ErrNotFound) && isKeyNotFound(err) {
		return nil
	}
	return err
}

// isKeyNotFound reports whether err is the API's "key not found" (not a missing namespace).
func isKeyNotFound(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	for _, e := range ae.Errors {
		if e.Code == 10009 {
			return true
		}
	}
	return false
}
