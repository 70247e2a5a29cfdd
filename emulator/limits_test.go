package emulator_test

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http/httptest"
	"strings"
	"testing"
)

const (
	mib            = 1 << 20
	maxValue       = 25 * mib
	valueBodyLimit = maxValue + 64<<10
	bulkBodyLimit  = 100_000_000
)

// countingReader yields prefix and then filler bytes up to size bytes in
// all, counting what is read, without ever holding the body in memory.
type countingReader struct {
	prefix string
	filler byte
	size   int64
	read   int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.read >= c.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), c.size-c.read))
	p = p[:n]
	if c.read < int64(len(c.prefix)) {
		k := copy(p, c.prefix[c.read:])
		c.read += int64(k)
		p = p[k:]
	}
	if len(p) > 0 {
		p[0] = c.filler
		for filled := 1; filled < len(p); filled *= 2 {
			copy(p[filled:], p[:filled])
		}
		c.read += int64(len(p))
	}
	return n, nil
}

// send serves a request whose body is r; contentLength -1 means unknown.
func (h *harness) send(method, target string, r io.Reader, contentLength int64, contentType string) *httptest.ResponseRecorder {
	h.t.Helper()
	req := httptest.NewRequest(method, target, r)
	req.ContentLength = contentLength
	req.Header.Set("Authorization", "Bearer kvemulator-token")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.e.ServeHTTP(rec, req)
	return rec
}

func TestBodyLimitsStopReading(t *testing.T) {
	h := newHarness(t)
	ns := h.createNS("limits")
	bulkPrefix := `[{"key":"k","value":"`
	tests := []struct {
		name, method, path string
		body               *countingReader
		contentLength      int64
		limit              int64
	}{
		{"value, unknown length", "PUT", valuePath(ns, "big"), &countingReader{filler: 'v', size: 40 * mib}, -1, valueBodyLimit},
		{"value, announced length", "PUT", valuePath(ns, "big"), &countingReader{filler: 'v', size: 40 * mib}, 40 * mib, valueBodyLimit},
		{"bulk write, announced length", "PUT", bulkPath(ns, ""), &countingReader{prefix: bulkPrefix, filler: 'v', size: bulkBodyLimit + 1}, bulkBodyLimit + 1, bulkBodyLimit},
		{"bulk delete, announced length", "POST", bulkPath(ns, "/delete"), &countingReader{prefix: `["`, filler: 'k', size: bulkBodyLimit + 1}, bulkBodyLimit + 1, bulkBodyLimit},
		{"namespace create, unknown length", "POST", nsBase, &countingReader{prefix: `{"title":"`, filler: 't', size: 10 * mib}, -1, mib},
		{"bulk get, unknown length", "POST", bulkPath(ns, "/get"), &countingReader{prefix: `{"keys":["`, filler: 'k', size: 10 * mib}, -1, mib},
	}
	if !testing.Short() {
		tests = append(tests, struct {
			name, method, path string
			body               *countingReader
			contentLength      int64
			limit              int64
		}{"bulk write, unknown length", "PUT", bulkPath(ns, ""), &countingReader{prefix: bulkPrefix, filler: 'v', size: 150_000_000}, -1, bulkBodyLimit})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := h.send(tc.method, tc.path, tc.body, tc.contentLength, "")
			wantError(t, rec, 413, 10024, fmt.Sprintf("limit of %d bytes", tc.limit))
			if tc.contentLength > tc.limit && tc.body.read != 0 {
				t.Fatalf("read %d bytes of a body announced too large", tc.body.read)
			}
			if tc.body.read > tc.limit+1 {
				t.Fatalf("read %d bytes, limit %d", tc.body.read, tc.limit)
			}
		})
	}
	if names := h.listAll(ns, ""); len(names) != 0 {
		t.Fatalf("rejected bodies wrote %v", names)
	}
}

func TestValueSizeLimit(t *testing.T) {
	h := newHarness(t)
	ns := h.createNS("value-size")

	exact := &countingReader{filler: 'x', size: maxValue}
	wantOK(t, h.send("PUT", valuePath(ns, "exact"), exact, maxValue, "application/octet-stream"), nil)
	if rec := h.do("GET", valuePath(ns, "exact"), nil); rec.Body.Len() != maxValue {
		t.Fatalf("stored %d bytes", rec.Body.Len())
	}

	over := &countingReader{filler: 'x', size: maxValue + 1}
	wantError(t, h.send("PUT", valuePath(ns, "over"), over, -1, ""), 413, 10024, "Value length of 26214401 exceeds limit of 26214400.")

	// The same through multipart: the value part counts, not the framing.
	for _, size := range []int{maxValue, maxValue + 1} {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		w, _ := mw.CreateFormFile("value", "big.bin")
		_, _ = w.Write(bytes.Repeat([]byte{'m'}, size))
		_ = mw.WriteField("metadata", `{"size":"`+strings.Repeat("s", 900)+`"}`)
		_ = mw.Close()
		rec := h.send("PUT", valuePath(ns, "multi"), &buf, int64(buf.Len()), mw.FormDataContentType())
		if size == maxValue {
			wantOK(t, rec, nil)
		} else {
			wantError(t, rec, 413, 10024, "Value length of 26214401 exceeds limit")
		}
	}
	// A multipart body over the cap is refused while streaming, even when the
	// excess is in a part the emulator skips.
	huge := &countingReader{prefix: "--b\r\nContent-Disposition: form-data; name=\"skipped\"\r\n\r\n", filler: 's', size: 40 * mib}
	wantError(t, h.send("PUT", valuePath(ns, "huge"), huge, -1, "multipart/form-data; boundary=b"), 413, 10024, "limit of")
	if huge.read > valueBodyLimit+1 {
		t.Fatalf("read %d bytes of a multipart body over the cap", huge.read)
	}

	if names := h.listAll(ns, ""); strings.Join(names, ",") != "exact,multi" {
		t.Fatalf("keys %v", names)
	}
}

func TestBulkValueSizeLimit(t *testing.T) {
	h := newHarness(t)
	ns := h.createNS("bulk-value-size")
	body := `[{"key":"k","value":"` + strings.Repeat("v", maxValue+1) + `"}]`
	wantError(t, h.doJSON("PUT", bulkPath(ns, ""), body), 413, 10024, "Value length of 26214401 exceeds limit")
}
