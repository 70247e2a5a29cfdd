package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"
	"time"
	"unicode"

	"golang.org/x/term"
)

// printJSON writes v to stdout as one indented JSON document. HTML characters are not escaped, so
// values read as they are stored.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// marshalJSON encodes v as JSON without escaping HTML characters, indented by indent after the
// first line (compact when indent is empty), with no newline at the end.
func marshalJSON(v any, prefix, indent string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent(prefix, indent)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// say writes a confirmation for a person to stdout, unless --json or --quiet asks for none.
func (a *app) say(format string, args ...any) {
	if a.jsonOut || a.quiet {
		return
	}
	fmt.Fprintf(a.stdout, format+"\n", args...)
}

// table writes rows aligned in columns under a header.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, header ...string) *table {
	t := &table{tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	t.row(header...)
	return t
}

func (t *table) row(cells ...string) {
	for i, c := range cells {
		if i > 0 {
			io.WriteString(t.tw, "\t")
		}
		io.WriteString(t.tw, c)
	}
	io.WriteString(t.tw, "\n")
}

func (t *table) flush() error { return t.tw.Flush() }

// listing writes items as they arrive, so that memory does not grow with their number: rows of a
// table, or with --json the members of one JSON document that begins with opening and ends with
// closing ("[" and "]", or "{" and "}").
type listing struct {
	w                io.Writer
	t                *table // nil with --json
	opening, closing string
	count            int
}

func (a *app) newListing(opening, closing string, header ...string) *listing {
	l := &listing{w: a.stdout, opening: opening, closing: closing}
	if !a.jsonOut {
		l.t = newTable(a.stdout, header...)
	}
	return l
}

// member writes the next member of the JSON document, already encoded.
func (l *listing) member(s string) error {
	sep := ",\n  "
	if l.count == 0 {
		sep = l.opening + "\n  "
	}
	l.count++
	_, err := io.WriteString(l.w, sep+s)
	return err
}

// close ends the table or the JSON document.
func (l *listing) close() error {
	if l.t != nil {
		return l.t.flush()
	}
	end := "\n" + l.closing + "\n"
	if l.count == 0 {
		end = l.opening + l.closing + "\n"
	}
	_, err := io.WriteString(l.w, end)
	return err
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// displayKey shows a key name as it is when it is printable, quoted otherwise, so that a key with
// a line break or a tab cannot break a table or a message.
func displayKey(k string) string {
	for _, r := range k {
		if !unicode.IsPrint(r) || r == unicode.ReplacementChar {
			return strconv.Quote(k)
		}
	}
	if k == "" {
		return `""`
	}
	return k
}

// displayTime shows an expiration, or "-" for none.
func displayTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// unixOrZero is t as epoch seconds, 0 for the zero time.
func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}
