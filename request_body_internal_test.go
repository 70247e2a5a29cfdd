package workerskv

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/workerskv/workerskv/internal/limits"
)

// TestReadBody: a body of known length is read whole into a slice of exactly that length, and any
// body that disagrees with its length is an error, never a short or padded value.
func TestReadBody(t *testing.T) {
	t.Parallel()
	value := []byte("0123456789abcdef\x00\xff")
	n := int64(len(value))
	errBoom := errors.New("boom")
	cases := []struct {
		name    string
		body    io.Reader
		n       int64
		want    []byte
		wantErr error // nil: success; errAny: any error
	}{
		{"exact", bytes.NewReader(value), n, value, nil},
		{"data with EOF", iotest.DataErrReader(bytes.NewReader(value)), n, value, nil},
		{"one byte per read", iotest.OneByteReader(bytes.NewReader(value)), n, value, nil},
		{"half per read", iotest.HalfReader(bytes.NewReader(value)), n, value, nil},
		{"empty", strings.NewReader(""), 0, []byte{}, nil},
		{"length left unset", bytes.NewReader(value), 0, value, nil},
		{"unknown length", bytes.NewReader(value), -1, value, nil},
		{"over the largest value", bytes.NewReader(value), 1 << 40, value, nil},
		{"short", bytes.NewReader(value[:5]), n, nil, io.ErrUnexpectedEOF},
		{"nothing", strings.NewReader(""), n, nil, io.ErrUnexpectedEOF},
		{"long", bytes.NewReader(append(value, 'x')), n, nil, errAny},
		{"error midway", io.MultiReader(bytes.NewReader(value[:5]), iotest.ErrReader(errBoom)), n, nil, errBoom},
		{"error after the value", io.MultiReader(bytes.NewReader(value), iotest.ErrReader(errBoom)), n, nil, errBoom},
		{"error with the last bytes", &lastBytesErr{value, errBoom}, n, nil, errBoom},
		{"empty reads between", &emptyReads{r: iotest.OneByteReader(bytes.NewReader(value))}, n, value, nil},
	}
	for _, tc := range cases {
		got, err := readBody(tc.body, tc.n, limits.MaxValueBytes)
		switch {
		case tc.wantErr == nil && (err != nil || !bytes.Equal(got, tc.want) || got == nil):
			t.Errorf("%s: readBody = %q, %v; want %q", tc.name, got, err, tc.want)
		case tc.wantErr == errAny && err == nil, tc.wantErr != nil && tc.wantErr != errAny && !errors.Is(err, tc.wantErr):
			t.Errorf("%s: readBody = %q, %v; want error %v", tc.name, got, err, tc.wantErr)
		case tc.wantErr != nil && got != nil:
			t.Errorf("%s: readBody returned %q with its error", tc.name, got)
		}
		if tc.wantErr == nil && tc.n > 0 && tc.n <= int64(len(value)) && int64(len(got)) != tc.n {
			t.Errorf("%s: len %d, want %d", tc.name, len(got), tc.n)
		}
	}
}

var errAny = errors.New("any error")

// lastBytesErr returns all of its data together with err, then io.EOF.
type lastBytesErr struct {
	data []byte
	err  error
}

func (r *lastBytesErr) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	if len(r.data) == 0 {
		return n, r.err
	}
	return n, nil
}

// emptyReads returns (0, nil) before every read of r, which io.Reader allows.
type emptyReads struct {
	r     io.Reader
	empty bool
}

func (r *emptyReads) Read(p []byte) (int, error) {
	if r.empty = !r.empty; r.empty {
		return 0, nil
	}
	return r.r.Read(p)
}
