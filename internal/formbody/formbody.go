// Package formbody frames a value and its metadata as a multipart/form-data body without copying the
// value: the body is a fixed prefix, the value's bytes, and a fixed suffix, so it can be streamed from
// any reader and rebuilt for a retry by re-reading the value.
package formbody

import (
	"crypto/rand"
	"encoding/hex"
	"io"
)

// Frame is the framing around the value part of a multipart body.
type Frame struct {
	// Prefix is the metadata part (when there is metadata) and the header of the value part.
	Prefix []byte
	// Suffix ends the value part and the body.
	Suffix []byte
	// ContentType is the request's Content-Type, with the boundary.
	ContentType string
}

// New returns the framing for a body with a "metadata" part holding metadataJSON (skipped when nil)
// followed by a "value" file part of type application/octet-stream. The boundary is random, 128 bits,
// so it cannot be guessed by whoever chose the value.
func New(metadataJSON []byte) Frame {
	var raw [16]byte
	_, _ = rand.Read(raw[:])
	boundary := "workerskv-" + hex.EncodeToString(raw[:])
	return NewWithBoundary(metadataJSON, boundary)
}

// NewWithBoundary is New with a chosen boundary, for tests.
func NewWithBoundary(metadataJSON []byte, boundary string) Frame {
	p := make([]byte, 0, 256+len(metadataJSON))
	if metadataJSON != nil {
		p = append(p, "--"+boundary+"\r\n"+
			"Content-Disposition: form-data; name=\"metadata\"\r\n"+
			"Content-Type: application/json\r\n\r\n"...)
		p = append(p, metadataJSON...)
		p = append(p, "\r\n"...)
	}
	p = append(p, "--"+boundary+"\r\n"+
		"Content-Disposition: form-data; name=\"value\"; filename=\"value\"\r\n"+
		"Content-Type: application/octet-stream\r\n\r\n"...)
	return Frame{
		Prefix:      p,
		Suffix:      []byte("\r\n--" + boundary + "--\r\n"),
		ContentType: "multipart/form-data; boundary=" + boundary,
	}
}

// Len is the length of a body framing a value of n bytes.
func (f Frame) Len(n int64) int64 { return int64(len(f.Prefix)) + n + int64(len(f.Suffix)) }

// Reader returns the whole body for a value read from value: prefix, value, suffix. It has only a
// Read method on purpose: io.MultiReader's WriteTo allocates a 32 KiB buffer on every request, while
// net/http copies a plain reader through the buffer it already has.
func (f Frame) Reader(value io.Reader) io.Reader {
	return &frameReader{prefix: f.Prefix, value: value, suffix: f.Suffix}
}

type frameReader struct {
	prefix, suffix []byte // what is left of them
	value          io.Reader
	valueDone      bool
}

func (r *frameReader) Read(p []byte) (int, error) {
	if len(r.prefix) > 0 {
		n := copy(p, r.prefix)
		r.prefix = r.prefix[n:]
		return n, nil
	}
	if !r.valueDone {
		n, err := r.value.Read(p)
		if err != io.EOF {
			return n, err
		}
		r.valueDone = true
		if n > 0 {
			return n, nil
		}
	}
	if len(r.suffix) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.suffix)
	r.suffix = r.suffix[n:]
	return n, nil
}
