package emulator_test

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

// oracleValueBody is what a value write with this Content-Type and body stores: the raw body, or for
// multipart/form-data the last "value" part and the last "metadata" part (JSON, at most 1,024 bytes
// compacted); or an error when the body must be refused.
func oracleValueBody(contentType string, body []byte) (entry, error) {
	mt, _, _ := strings.Cut(contentType, ";")
	if !strings.EqualFold(strings.TrimSpace(mt), "multipart/form-data") {
		return entry{value: string(body)}, nil
	}
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil || params["boundary"] == "" {
		return entry{}, refuse("content type %q", contentType)
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var e entry
	haveValue := false
	for {
		p, err := mr.NextPart()
		if err == io.EOF { // the closing boundary; a wrapped EOF is a truncated body
			break
		}
		if err != nil {
			return entry{}, refuse("multipart: %v", err)
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return entry{}, refuse("part: %v", err)
		}
		switch p.FormName() {
		case "value":
			e.value, haveValue = string(data), true
		case "metadata":
			var buf bytes.Buffer
			if len(data) > 64<<10 || !utf8.Valid(data) || json.Compact(&buf, data) != nil || buf.Len() > 1024 {
				return entry{}, refuse("metadata %.40q", data)
			}
			e.metadata = compact(data)
		}
	}
	if !haveValue {
		return entry{}, refuse("no value part")
	}
	if !closeDelimiterAfterFirstBoundary(body, params["boundary"]) {
		return entry{}, refuse("no closing boundary") // mime/multipart misses a cut right after a boundary line
	}
	return e, nil
}

// closeDelimiterAfterFirstBoundary reports whether body holds the close delimiter after its first
// boundary line, with the line ending that line used (CRLF, or LF as mime/multipart also accepts):
// in a CRLF body an LF followed by "--boundary--" is part data.
func closeDelimiterAfterFirstBoundary(body []byte, boundary string) bool {
	dash := []byte("--" + boundary)
	for rest := body; len(rest) > 0; {
		line, after, found := bytes.Cut(rest, []byte("\n"))
		if !found {
			return false
		}
		if tail, ok := bytes.CutPrefix(line, dash); ok {
			switch string(bytes.TrimLeft(tail, " \t")) {
			case "\r":
				return bytes.Contains(after, []byte("\r\n--"+boundary+"--"))
			case "":
				return bytes.Contains(after, []byte("\n--"+boundary+"--"))
			}
		}
		rest = after
	}
	return false
}

// FuzzValuePutRaw sends fuzzed Content-Types and bodies to PUT .../values/k: the emulator's choice
// between a raw and a multipart body, and its multipart parsing. Never a panic or a 5xx; a refusal
// (400 or 413 with a documented code) leaves the previous value; a 200 stores what oracleValueBody
// says, and a body it accepts is not refused.
func FuzzValuePutRaw(f *testing.F) {
	const b = "XyZ"
	part := func(name, ct, data string) string {
		s := "--" + b + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n"
		if ct != "" {
			s += "Content-Type: " + ct + "\r\n"
		}
		return s + "\r\n" + data + "\r\n"
	}
	end := "--" + b + "--\r\n"
	mp := "multipart/form-data; boundary=" + b
	whole := part("metadata", "application/json", `{"a":1}`) + part("value", "", "v\r\nal") + end
	for _, s := range [][2]string{
		{"", "raw"}, {"application/octet-stream", ""}, {"text/plain", "\xff\x00"}, {"*/*", "x"},
		{mp, whole}, {mp, part("value", "", "only") + end}, {mp, part("value", "", "1") + part("value", "", "2") + end},
		{mp, part("metadata", "", "null") + part("value", "", "v") + end}, {mp, part("metadata", "", "{") + part("value", "", "v") + end},
		{mp, part("metadata", "", "\"\xff\"") + part("value", "", "v") + end}, {mp, part("metadata", "", "") + part("value", "", "v") + end},
		{mp, part("metadata", "", `{"s":"`+strings.Repeat("x", 1020)+`"}`) + part("value", "", "v") + end},
		{mp, part("metadata", "", strings.Repeat("[", 10001)+strings.Repeat("]", 10001)) + part("value", "", "v") + end},
		{mp, part("other", "", "x") + end}, {mp, ""}, {mp, whole[:len(whole)/2]}, {mp, whole[:len(whole)-3]},
		{mp, strings.ReplaceAll(whole, "\r\n", "\n")}, {mp, part("value", "", "v")}, {mp, part("value", "", "v") + "--" + b + "\r\n"},
		{mp, part("value", "", "v") + "--" + b}, {mp, part("value", "", "v") + "--" + b + "-"}, {mp, part("value", "", "v") + "--" + b + "--"}, {"multipart/form-data", whole}, {"multipart/form-data; boundary=", whole},
		{"MULTIPART/FORM-DATA; BOUNDARY=" + b, whole}, {"multipart/form-data; boundary=\"" + b + "\"", whole},
		{"multipart/form-data; boundary=" + b + "; boundary=x", whole}, {"multipart/mixed; boundary=" + b, whole},
		{mp, "--" + b + "\r\nContent-Disposition: attachment; name=\"value\"\r\n\r\nv\r\n" + end},
		{mp, "--" + b + "\r\nContent-Disposition: form-data; name=\"value\"; filename=\"../../etc\"\r\n\r\nv\r\n" + end},
	} {
		f.Add(s[0], []byte(s[1]))
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		h, ns, before := newFuzzState(t)
		want, oerr := oracleValueBody(contentType, body)
		var headers []string
		if contentType != "" {
			headers = []string{"Content-Type", contentType}
		}
		rec := h.do(http.MethodPut, valuePath(ns, "b"), bytes.NewReader(body), headers...)
		after := h.snapshot(ns)
		// Read one byte at a time, so that every delimiter straddles reads, the body gets the same answer.
		h2, ns2, _ := newFuzzState(t)
		if rec2 := h2.do(http.MethodPut, valuePath(ns2, "b"), iotest.OneByteReader(bytes.NewReader(body)), headers...); rec2.Code != rec.Code {
			t.Fatalf("read a byte at a time: %d, at once: %d", rec2.Code, rec.Code)
		}
		if rec.Code != http.StatusOK {
			wantRefused(t, rec.Code, rec.Body.Bytes())
			if !maps.Equal(after, before) {
				t.Fatalf("refused (%d) but the state changed: %v", rec.Code, after)
			}
			if oerr == nil {
				t.Fatalf("refused a valid body: %s", rec.Body)
			}
			return
		}
		if oerr != nil {
			t.Fatalf("200 for a body the API refuses (%v): %s", oerr, rec.Body)
		}
		wantState := maps.Clone(before)
		wantState["b"] = want
		if !maps.Equal(after, wantState) {
			t.Fatalf("state after the write:\n got  %v\n want %v", after, wantState)
		}
	})
}
