package formbody

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"strings"
	"testing"
	"testing/iotest"
)

type part struct {
	name, file, contentType string
	data                    []byte
}

// parse reads a framed value with mime/multipart and returns its parts in order.
func parse(t *testing.T, f Frame, value []byte) []part {
	t.Helper()
	body := bytes.Join([][]byte{f.Prefix, value, f.Suffix}, nil)
	if int64(len(body)) != f.Len(int64(len(value))) {
		t.Fatalf("Len = %d, body is %d bytes", f.Len(int64(len(value))), len(body))
	}
	mt, params, err := mime.ParseMediaType(f.ContentType)
	if err != nil || mt != "multipart/form-data" {
		t.Fatalf("ContentType %q: %v", f.ContentType, err)
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var parts []part
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			return parts
		}
		if err != nil {
			t.Fatal(err)
		}
		d, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, part{p.FormName(), p.FileName(), p.Header.Get("Content-Type"), d})
	}
}

func TestFrameWithMetadata(t *testing.T) {
	t.Parallel()
	value := []byte("\x00\xff\r\n--B0UND\r\nvalue--") // a boundary-like line inside the value is data
	f := NewWithBoundary([]byte(`{"a":1}`), "B0UND-x")
	parts := parse(t, f, value)
	if len(parts) != 2 {
		t.Fatalf("%d parts, want 2", len(parts))
	}
	if md := parts[0]; md.name != "metadata" || md.file != "" || md.contentType != "application/json" || string(md.data) != `{"a":1}` {
		t.Errorf("metadata part %+v", md)
	}
	if v := parts[1]; v.name != "value" || v.file != "value" || v.contentType != "application/octet-stream" || !bytes.Equal(v.data, value) {
		t.Errorf("value part %+v", v)
	}
	if f.ContentType != "multipart/form-data; boundary=B0UND-x" {
		t.Errorf("ContentType %q", f.ContentType)
	}
}

func TestFrameWithoutMetadata(t *testing.T) {
	t.Parallel()
	parts := parse(t, NewWithBoundary(nil, "b"), []byte("v"))
	if len(parts) != 1 || parts[0].name != "value" || string(parts[0].data) != "v" {
		t.Fatalf("parts %+v", parts)
	}
}

func TestFrameEmptyValue(t *testing.T) {
	t.Parallel()
	parts := parse(t, NewWithBoundary([]byte(`null`), "b"), nil)
	if len(parts) != 2 || string(parts[0].data) != "null" || len(parts[1].data) != 0 {
		t.Fatalf("parts %+v", parts)
	}
}

func TestNewRandomBoundary(t *testing.T) {
	t.Parallel()
	a, b := New([]byte(`{}`)), New([]byte(`{}`))
	if a.ContentType == b.ContentType {
		t.Fatal("two frames share a boundary")
	}
	_, params, _ := mime.ParseMediaType(a.ContentType)
	if len(params["boundary"]) < 32 || !strings.HasPrefix(string(a.Suffix), "\r\n--"+params["boundary"]+"--") {
		t.Fatalf("boundary %q, suffix %q", params["boundary"], a.Suffix)
	}
	if parts := parse(t, a, []byte("value")); len(parts) != 2 || string(parts[1].data) != "value" {
		t.Fatalf("parts %+v", parts)
	}
}

func TestFrameReader(t *testing.T) {
	f := NewWithBoundary([]byte(`{"a":1}`), "B")
	value := strings.Repeat("v", 100)
	want := string(f.Prefix) + value + string(f.Suffix)
	for _, size := range []int{1, 3, 7, 64, 4096} {
		r := f.Reader(iotest.OneByteReader(strings.NewReader(value)))
		var got []byte
		buf := make([]byte, size)
		for {
			n, err := r.Read(buf)
			got = append(got, buf[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if string(got) != want || int64(len(got)) != f.Len(int64(len(value))) {
			t.Fatalf("read size %d: got %q, want %q", size, got, want)
		}
		if _, ok := r.(io.WriterTo); ok {
			t.Fatal("the frame reader must not implement WriterTo (it would bypass net/http's buffer)")
		}
	}
}
