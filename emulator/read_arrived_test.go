package emulator

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func TestReadArrived(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789"), 30_000) // 300,000 bytes: several growths
	cases := []struct {
		name      string
		body      []byte
		announced int64
	}{
		{"empty, announced", nil, 0},
		{"empty, unknown", nil, -1},
		{"exact", big, int64(len(big))},
		{"unknown length", big, -1},
		{"announced less than sent", big, 1000},
		{"announced more than sent", big[:5000], int64(len(big))},
		{"exactly the first buffer", big[:firstReadBytes], firstReadBytes},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, r := range []io.Reader{bytes.NewReader(c.body), iotest.OneByteReader(bytes.NewReader(c.body)), iotest.DataErrReader(bytes.NewReader(c.body))} {
				got, err := readArrived(r, c.announced)
				if err != nil || !bytes.Equal(got, c.body) {
					t.Fatalf("got %d bytes, %v; want the %d bytes sent", len(got), err, len(c.body))
				}
				if c.announced == int64(len(c.body)) && cap(got) != len(got) {
					t.Errorf("cap %d for a body of its announced length %d", cap(got), len(got))
				}
			}
		})
	}
	t.Run("error mid-body", func(t *testing.T) {
		boom := errors.New("connection reset")
		r := io.MultiReader(bytes.NewReader(big[:100]), iotest.ErrReader(boom))
		if _, err := readArrived(r, int64(len(big))); !errors.Is(err, boom) {
			t.Fatalf("err = %v, want %v", err, boom)
		}
	})
	t.Run("error after the announced bytes", func(t *testing.T) {
		boom := errors.New("connection reset")
		r := io.MultiReader(bytes.NewReader(big[:100]), iotest.ErrReader(boom))
		if _, err := readArrived(r, 100); !errors.Is(err, boom) {
			t.Fatalf("err = %v, want %v", err, boom)
		}
	})
}
