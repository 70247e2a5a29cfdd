package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/workerskv/workerskv"
	"github.com/workerskv/workerskv/internal/limits"
)

// A bulk file is wrangler's format: a JSON array. For bulk put its items are objects
// {"key", "value", "expiration", "expiration_ttl", "metadata", "base64"}; for bulk get and delete
// they are key strings, or objects with a "key" (the other fields ignored, so a put file serves to
// delete its keys). The array is read one item at a time, so a file need not fit in memory.

// inputError is a malformed input file: where, and what is wrong.
type inputError struct {
	file string
	item int // index in a bulk file's array; -1 when not about one item
	line int // 1-based; 0 when not known
	msg  string
}

func (e *inputError) Error() string {
	s := e.file
	if e.item >= 0 {
		s += fmt.Sprintf(": item [%d]", e.item)
	}
	if e.line > 0 {
		if e.item >= 0 {
			s += fmt.Sprintf(" (line %d)", e.line)
		} else {
			s += fmt.Sprintf(": line %d", e.line)
		}
	}
	return s + ": " + e.msg
}

// bulkReader reads the items of a bulk file's array.
type bulkReader struct {
	in    *input
	f     *os.File
	dec   *json.Decoder
	item  int   // index of the next item
	start int64 // offset where the last item began
}

func newBulkReader(in *input) (*bulkReader, error) {
	f, err := in.open()
	if err != nil {
		return nil, err
	}
	r := &bulkReader{in: in, f: f, dec: json.NewDecoder(bufio.NewReaderSize(f, 256<<10)), item: -1}
	tok, err := r.dec.Token()
	if err != nil || tok != json.Delim('[') {
		f.Close()
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, r.syntax(err)
		}
		return nil, &inputError{file: in.name, item: -1, line: in.lineAt(0), msg: "want a JSON array of items, as wrangler's bulk commands take"}
	}
	r.item = 0
	return r, nil
}

func (r *bulkReader) close() { r.f.Close() }

// next returns the next item's JSON, or io.EOF after the last one (and nothing but white space
// after the array).
func (r *bulkReader) next() (json.RawMessage, error) {
	if !r.dec.More() {
		if _, err := r.dec.Token(); err != nil { // the closing ]
			return nil, r.syntax(err)
		}
		if _, err := r.dec.Token(); !errors.Is(err, io.EOF) {
			return nil, &inputError{file: r.in.name, item: -1, line: r.in.lineAt(r.dec.InputOffset()), msg: "unexpected data after the array"}
		}
		return nil, io.EOF
	}
	r.start = r.dec.InputOffset()
	var raw json.RawMessage
	if err := r.dec.Decode(&raw); err != nil {
		return nil, r.syntax(err)
	}
	r.item++
	return raw, nil
}

// errorf reports a problem with the item next returned last.
func (r *bulkReader) errorf(format string, args ...any) error {
	return &inputError{file: r.in.name, item: r.item - 1, line: r.in.lineAt(r.start), msg: fmt.Sprintf(format, args...)}
}

// syntax reports a JSON syntax error where it is.
func (r *bulkReader) syntax(err error) error {
	e := &inputError{file: r.in.name, item: r.item, msg: "not valid JSON"}
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		e.line = r.in.lineAt(se.Offset - 1)
		e.msg += ": " + se.Error()
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		e.msg = "the file ends before the array does"
	default:
		e.msg += ": " + err.Error()
	}
	return e
}

// putFields are the fields of a bulk put item.
var putFields = map[string]bool{"key": true, "value": true, "expiration": true, "expiration_ttl": true, "metadata": true, "base64": true}

// putItem decodes a bulk put item into a pair, checking it as the API would so that a bad item is
// refused before anything is sent. unknown gets the names of fields wrangler's format does not have.
func putItem(raw json.RawMessage, now time.Time, unknown func(string)) (workerskv.BulkPair, error) {
	var p workerskv.BulkPair
	var fields map[string]json.RawMessage
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &fields) != nil {
		return p, errors.New(`want an object with "key" and "value"`)
	}
	names := make([]string, 0, len(fields))
	for name := range fields {
		if !putFields[name] {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		unknown(name)
	}
	key, err := stringField(fields, "key", true)
	if err != nil {
		return p, err
	}
	p.Key = key
	value, err := stringField(fields, "value", true)
	if err != nil {
		return p, err
	}
	isBase64 := false
	if raw, ok := fields["base64"]; ok && string(raw) != "null" {
		if json.Unmarshal(raw, &isBase64) != nil {
			return p, errors.New(`"base64" must be true or false`)
		}
	}
	if isBase64 {
		if p.Value, err = base64.StdEncoding.DecodeString(value); err != nil {
			return p, fmt.Errorf(`"value" is not valid base64 ("base64" is true): %v`, err)
		}
	} else {
		p.Value = []byte(value)
	}
	exp, hasExp, err := intField(fields, "expiration")
	if err != nil {
		return p, err
	}
	ttl, hasTTL, err := intField(fields, "expiration_ttl")
	if err != nil {
		return p, err
	}
	switch {
	case hasExp && hasTTL:
		return p, errors.New(`give "expiration" or "expiration_ttl", not both`)
	case hasTTL && ttl < limits.MinTTLSeconds:
		return p, fmt.Errorf(`"expiration_ttl" is %d; the minimum is %d seconds`, ttl, limits.MinTTLSeconds)
	case hasTTL:
		p.ExpirationTTL = time.Duration(ttl) * time.Second
	case hasExp && exp-now.Unix() < limits.MinTTLSeconds:
		return p, fmt.Errorf(`"expiration" %d is less than %d seconds from now`, exp, limits.MinTTLSeconds)
	case hasExp:
		p.Expiration = time.Unix(exp, 0)
	}
	if md, ok := fields["metadata"]; ok && string(md) != "null" {
		p.Metadata = md
	}
	// The rest (value size, metadata size) is checked as the library's bulk job checks it.
	return p, p.Validate()
}

// keyItem decodes an item of a bulk get or delete file: a key string, or an object with "key".
func keyItem(raw json.RawMessage) (string, error) {
	var key string
	switch {
	case len(raw) > 0 && raw[0] == '"':
		if err := json.Unmarshal(raw, &key); err != nil {
			return "", err
		}
	case len(raw) > 0 && raw[0] == '{':
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(raw, &fields); err != nil {
			return "", err
		}
		var err error
		if key, err = stringField(fields, "key", true); err != nil {
			return "", err
		}
	default:
		return "", errors.New(`want a key string or an object with "key"`)
	}
	return key, checkKey(key)
}

// checkKey refuses key names the API refuses, as the library's bulk jobs check them.
func checkKey(key string) error {
	p := workerskv.BulkPair{Key: key}
	return p.Validate()
}

func stringField(fields map[string]json.RawMessage, name string, required bool) (string, error) {
	raw, ok := fields[name]
	if !ok || string(raw) == "null" {
		if required {
			return "", fmt.Errorf("%q is missing", name)
		}
		return "", nil
	}
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", fmt.Errorf("%q must be a string", name)
	}
	return s, nil
}

// intField reads an optional whole number of seconds.
func intField(fields map[string]json.RawMessage, name string) (int64, bool, error) {
	raw, ok := fields[name]
	if !ok || string(raw) == "null" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		// A whole number written as a float (1.7e9, 1700000000.0) is accepted, as JavaScript would.
		f, ferr := strconv.ParseFloat(string(raw), 64)
		if ferr != nil || f != float64(int64(f)) {
			return 0, false, fmt.Errorf("%q must be a whole number of seconds", name)
		}
		n = int64(f)
	}
	return n, true, nil
}
