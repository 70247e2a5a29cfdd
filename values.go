package workerskv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"

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
	v, err := readBody(resp.Body, resp.ContentLength, limits.MaxValueBytes)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("workerskv: reading value: %w", err)
	}
	return v, expirationHeader(resp), nil
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
		method: http.MethodGet, segments: s.client.nsPath(namespaceID, "values", key), accept: acceptValue,
	})
}

// acceptValue is the Accept header of a value read: raw bytes, or a JSON error envelope.
var acceptValue = []string{"application/octet-stream, application/json"}

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
// "value". A large value is streamed, never copied into memory; a seekable value of at most 64 KiB is
// read once into a buffer and sent from it, which is faster for small values.
//
// When value is an [io.ReadSeeker] (a *bytes.Reader, *strings.Reader or regular *os.File) the upload
// is retried like any other request: each attempt sends it from where it was when Put was called, and
// the value is not read after Put returns. Any other reader, or one whose Seek fails (os.Stdin on a
// pipe), can be read only once, so its upload is sent once and not retried.
//
// Bad input (key, value over 25 MiB when its size is known, metadata over 1,024 bytes, TTL under 60s,
// expiration less than 60s ahead) gives a [*ValidationError] before anything is sent. A reader of
// unknown size that yields more than 25 MiB ends the upload with a [*ValidationError] too.
func (s *ValuesService) Put(ctx context.Context, namespaceID, key string, value io.Reader, opts *PutOptions) error {
	if value == nil {
		return invalid("value", "nil reader")
	}
	return s.put(ctx, namespaceID, key, nil, value, opts)
}

// smallValue is the size up to which a value is sent from one in-memory buffer rather than streamed:
// net/http writes a request whose body it knows to be in memory in one go, while a streamed body
// costs an extra write of the headers and a wake-up of the server.
const smallValue = 64 << 10

// put writes a value held in memory (mem, when value is nil) or read from value.
func (s *ValuesService) put(ctx context.Context, namespaceID, key string, mem []byte, value io.Reader, opts *PutOptions) error {
	if err := validateNamespaceID(namespaceID); err != nil {
		return err
	}
	if err := validateKey(key); err != nil {
		return err
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
	if value == nil && mem == nil {
		mem = []byte{}
	}
	if value != nil {
		if mem, err = readSmall(value); err != nil {
			return err
		}
	} else if len(mem) > limits.MaxValueBytes {
		return invalid("value", "%d bytes; the limit is %d", len(mem), limits.MaxValueBytes)
	}
	r := &request{
		method:      http.MethodPut,
		segments:    s.client.nsPath(namespaceID, "values", key),
		contentType: "application/octet-stream",
	}
	if exp != 0 || ttl != 0 {
		r.query = url.Values(expirationQuery(exp, ttl))
	}
	var prefix, suffix []byte // the multipart framing around the value, with metadata
	if meta != nil {
		prefix, suffix, r.contentType = multipartFrame(meta)
	}
	switch {
	case mem != nil && meta == nil:
		r.body = mem
	case mem != nil && len(mem) <= smallValue:
		r.body = slices.Concat(prefix, mem, suffix)
	case mem != nil:
		value = bytes.NewReader(mem)
	}
	if r.body != nil {
		err = callNoResult(ctx, s.client, r)
		return err
	}
	vb, size, replayable, err := newValueBody(value)
	if err != nil {
		return err
	}
	open := retryablehttp.ReaderFunc(vb.open)
	r.body, r.bodyLen, r.noReplay = open, size, !replayable
	if meta != nil {
		r.body = framed(open, prefix, suffix)
		if size >= 0 {
			r.bodyLen = int64(len(prefix)) + size + int64(len(suffix))
		}
	}
	err = callNoResult(ctx, s.client, r)
	if vb.done() {
		// The transport may report the failed read, or a server may have answered anyway: either way
		// the value was not stored whole.
		return errValueTooLarge
	}
	return err
}

// readSmall reads a seekable value of at most smallValue bytes into memory, from where it is now, and
// returns nil (reading nothing) for any other value.
func readSmall(value io.Reader) ([]byte, error) {
	rs, ok := value.(io.ReadSeeker)
	if !ok {
		return nil, nil
	}
	start, err := rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, nil // a pipe: streamed once
	}
	end, err := rs.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, fmt.Errorf("workerskv: value: %w", err)
	}
	if _, err := rs.Seek(start, io.SeekStart); err != nil {
		return nil, fmt.Errorf("workerskv: value: %w", err)
	}
	n := end - start
	if n < 0 || n > smallValue {
		return nil, nil
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(rs, buf); err != nil {
		return nil, fmt.Errorf("workerskv: reading value: %w", err)
	}
	return buf, nil
}

// errValueTooLarge ends an upload of unknown size that passes the value limit.
var errValueTooLarge = &ValidationError{Field: "value", Reason: fmt.Sprintf("larger than %d bytes", limits.MaxValueBytes)}

// valueBody is the value of one Put as a request body: a *replayer or a *limitedOnce.
type valueBody interface {
	// open returns the value from its start, for each attempt.
	open() (io.Reader, error)
	// done is called when the upload is over; it reports whether a value of unknown size passed the
	// limit.
	done() (tooLarge bool)
}

// newValueBody prepares value for upload and returns its size (-1 when unknown) and whether it can be
// sent again. An io.ReadSeeker is replayed from where it is now; any other reader is read once, at
// most one byte past the value limit.
func newValueBody(value io.Reader) (vb valueBody, size int64, replayable bool, err error) {
	// A reader that cannot tell its position (an *os.File on a pipe, such as os.Stdin) is sent once.
	rs, ok := value.(io.ReadSeeker)
	var start int64
	if ok {
		start, err = rs.Seek(0, io.SeekCurrent)
		ok = err == nil
	}
	if ok {
		end, err := rs.Seek(0, io.SeekEnd)
		if err != nil {
			return nil, 0, false, fmt.Errorf("workerskv: value: %w", err)
		}
		if _, err := rs.Seek(start, io.SeekStart); err != nil {
			return nil, 0, false, fmt.Errorf("workerskv: value: %w", err)
		}
		size := max(end-start, 0)
		if size > limits.MaxValueBytes {
			return nil, 0, false, invalid("value", "%d bytes; the limit is %d", size, limits.MaxValueBytes)
		}
		return &replayer{rs: rs, start: start, size: size}, size, true, nil
	}
	size = -1
	if l, ok := value.(interface{ Len() int }); ok {
		size = int64(l.Len())
		if size > limits.MaxValueBytes {
			return nil, 0, false, invalid("value", "%d bytes; the limit is %d", size, limits.MaxValueBytes)
		}
	}
	return &limitedOnce{r: value, left: limits.MaxValueBytes + 1}, size, false, nil
}

// replayer hands each attempt of an upload its own reader of a seekable value, rewound to where the
// value was when Put was called.
//
// net/http may go on reading an attempt's body after that attempt's response has arrived (a server can
// answer before it has read the whole request). So an attempt's reader stops working as soon as the
// next attempt opens one, or the upload is over: a late read can neither move the value under the next
// attempt nor touch the caller's reader after Put has returned.
type replayer struct {
	mu          sync.Mutex
	rs          io.ReadSeeker
	start, size int64
	gen         int // the attempt whose reader is live
}

// errAttemptOver fails reads of an attempt's body after a newer attempt has started.
var errAttemptOver = errors.New("workerskv: value read by an attempt that is over")

func (p *replayer) open() (io.Reader, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gen++
	if _, err := p.rs.Seek(p.start, io.SeekStart); err != nil {
		return nil, err
	}
	return &attemptReader{p: p, gen: p.gen, left: p.size}, nil
}

func (p *replayer) done() bool {
	p.mu.Lock()
	p.gen++
	p.mu.Unlock()
	return false
}

type attemptReader struct {
	p    *replayer
	gen  int
	left int64
}

func (a *attemptReader) Read(b []byte) (int, error) {
	a.p.mu.Lock()
	defer a.p.mu.Unlock()
	if a.gen != a.p.gen {
		return 0, errAttemptOver
	}
	if a.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > a.left {
		b = b[:a.left]
	}
	n, err := a.p.rs.Read(b)
	a.left -= int64(n)
	return n, err
}

// limitedOnce hides a one-shot reader's Close (the transport must not close the caller's reader) and
// stops an upload that passes the value limit.
type limitedOnce struct {
	r        io.Reader
	left     int64
	started  atomic.Bool // Read was called: the value can no longer be sent from its start
	tooLarge atomic.Bool // set when the limit was passed, whatever the transport made of the error
}

// errNoRewind refuses to resend a one-shot value that was partly read (net/http rewinds a request body
// through GetBody when a connection is lost); sending the rest would store a truncated value.
var errNoRewind = errors.New("workerskv: the value was partly sent and cannot be read again: pass an io.ReadSeeker to allow resending")

func (l *limitedOnce) open() (io.Reader, error) {
	if l.started.Load() {
		return nil, errNoRewind
	}
	return l, nil
}

func (l *limitedOnce) done() bool { return l.tooLarge.Load() }

func (l *limitedOnce) Read(p []byte) (int, error) {
	l.started.Store(true)
	if l.left <= 0 {
		l.tooLarge.Store(true)
		return 0, errValueTooLarge
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left <= 0 {
		// One byte over the limit was read: the value is too large.
		l.tooLarge.Store(true)
		return n, errValueTooLarge
	}
	return n, err
}

// multipartFrame returns what goes before and after a value in a multipart/form-data body whose
// parts are "metadata" (meta, as JSON) and "value" (a file of type application/octet-stream), and the
// body's Content-Type. The value is not copied: it is streamed between the two. The boundary is
// mime/multipart's random one, which cannot be guessed by whoever chose the value.
func multipartFrame(meta []byte) (prefix, suffix []byte, contentType string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	h := make(textproto.MIMEHeader, 2)
	h.Set("Content-Disposition", `form-data; name="metadata"`)
	h.Set("Content-Type", "application/json")
	// Writes to a bytes.Buffer do not fail.
	part, _ := w.CreatePart(h)
	_, _ = part.Write(meta)
	_, _ = w.CreateFormFile("value", "value")
	n := buf.Len()
	_ = w.Close()
	b := buf.Bytes()
	return b[:n:n], b[n:], w.FormDataContentType()
}

// framed wraps a value body function in multipart framing.
func framed(body retryablehttp.ReaderFunc, prefix, suffix []byte) retryablehttp.ReaderFunc {
	return func() (io.Reader, error) {
		v, err := body()
		if err != nil {
			return nil, err
		}
		return io.MultiReader(bytes.NewReader(prefix), v, bytes.NewReader(suffix)), nil
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
	err := callNoResult(ctx, s.client, &request{method: http.MethodDelete, segments: s.client.nsPath(namespaceID, "values", key)})
	if errors.Is(err, ErrNotFound) && isKeyNotFound(err) {
		return nil
	}
	return err
}

// isKeyNotFound reports whether err is the API's "key not found" (not a missing namespace).
func isKeyNotFound(err error) bool { return hasCode(err, 10009) }
