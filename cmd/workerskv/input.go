package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/workerskv/workerskv"
)

// input is a file a command reads twice: once to check all of it before anything is sent, then to
// send it. "-" is stdin, copied to a temporary file first, so both passes read the same bytes and
// memory does not grow with the input.
type input struct {
	name    string // as given, for messages ("-" reads as "stdin")
	path    string
	cleanup func()
}

// namespaceInput resolves the namespace ns names, then prepares the input file name, for the
// commands that send a file into a namespace; the caller must call the input's close.
func (a *app) namespaceInput(ctx context.Context, ns *nsFlags, name string) (*workerskv.Client, string, *input, error) {
	c, id, err := a.namespace(ctx, ns)
	if err != nil {
		return nil, "", nil, err
	}
	in, err := a.openInput(name)
	if err != nil {
		return nil, "", nil, err
	}
	return c, id, in, nil
}

// openInput prepares name for reading; the caller must call close.
func (a *app) openInput(name string) (*input, error) {
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		f.Close()
		return &input{name: name, path: name, cleanup: func() {}}, nil
	}
	tmp, err := os.CreateTemp("", "workerskv-stdin-*")
	if err != nil {
		return nil, err
	}
	in := &input{name: "stdin", path: tmp.Name(), cleanup: func() { os.Remove(tmp.Name()) }}
	if a.stdin != nil {
		_, err = io.Copy(tmp, a.stdin)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		in.cleanup()
		return nil, fmt.Errorf("reading stdin: %w", err)
	}
	return in, nil
}

func (in *input) open() (*os.File, error) { return os.Open(in.path) }

func (in *input) close() { in.cleanup() }

// lineAt returns the 1-based line of the first character at or after offset that is not white
// space or a comma: where the JSON value starting at offset begins. It reads the file again, so
// that the checks need not count lines as they go.
func (in *input) lineAt(offset int64) int {
	f, err := in.open()
	if err != nil {
		return 0
	}
	defer f.Close()
	r := bufio.NewReader(f)
	line := 1
	for i := int64(0); ; i++ {
		c, err := r.ReadByte()
		if err != nil {
			return line
		}
		if i >= offset && c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != ',' {
			return line
		}
		if c == '\n' {
			line++
		}
	}
}
