package emulator

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
)

// readValueBody reads the body of a value write, at most maxValueBodyBytes
// (refused before reading when Content-Length says more). A multipart/form-data
// body is streamed part by part with mime/multipart.Reader; anything else is
// the raw value.
func readValueBody(w http.ResponseWriter, r *http.Request) (value []byte, metadata json.RawMessage, _ *apiError) {
	if err := limitBody(w, r, maxValueBodyBytes); err != nil {
		return nil, nil, err
	}
	ct := r.Header.Get("Content-Type")
	if mt, _, _ := strings.Cut(ct, ";"); strings.EqualFold(strings.TrimSpace(mt), "multipart/form-data") {
		_, params, err := mime.ParseMediaType(ct)
		if err != nil || params["boundary"] == "" {
			return nil, nil, badRequest(codeInvalidBody, "Content-Type multipart/form-data needs a boundary parameter.")
		}
		body := &closeWatcher{r: r.Body, dash: []byte("--" + params["boundary"])}
		value, metadata, aerr := readMultipartValue(multipart.NewReader(body, params["boundary"]))
		if aerr == nil && !body.seen {
			// mime/multipart reports a body cut right after a boundary line
			// as a clean end, like the closing boundary.
			aerr = badRequest(codeInvalidBody, "The multipart/form-data body ends without its closing boundary.")
		}
		return value, metadata, aerr
	}
	value, err := readArrived(r.Body, r.ContentLength)
	if err != nil {
		return nil, nil, bodyError(err, maxValueBodyBytes, "Could not read the request body.")
	}
	if len(value) > maxValueBytes {
		return nil, nil, errValueTooLarge(len(value))
	}
	return value, nil, nil
}

// firstReadBytes is the buffer a body is first read into, whatever length it
// announces.
const firstReadBytes = 64 << 10

// readArrived reads body to the end. Its buffer grows with the bytes that
// have arrived, doubling, never to more than announced (the Content-Length,
// or -1 when unknown) before the bytes are there: a client that announces
// 25 MiB and sends one byte holds 64 KiB, not 25 MiB. A body that arrives
// whole ends in a slice of exactly its length.
func readArrived(body io.Reader, announced int64) ([]byte, error) {
	size := int64(bytes.MinRead)
	if announced >= 0 {
		size = min(announced, firstReadBytes)
	}
	b := make([]byte, 0, size)
	for {
		if len(b) == cap(b) {
			if int64(len(b)) == announced {
				// All that was announced is here: look for the end without
				// growing the buffer.
				var probe [1]byte
				n, err := body.Read(probe[:])
				switch {
				case n > 0:
					b = append(b, probe[0])
					continue
				case err == io.EOF:
					return b, nil
				case err != nil:
					return b, err
				}
				continue
			}
			grow := max(len(b), bytes.MinRead)
			if rest := announced - int64(len(b)); rest > 0 {
				grow = int(min(int64(grow), rest))
			}
			b = append(make([]byte, 0, len(b)+grow), b...) // exactly: append would round up
		}
		n, err := body.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// readMultipartValue reads parts "value" (required, a plain field or a file)
// and "metadata" (optional JSON); other parts are skipped.
func readMultipartValue(mr *multipart.Reader) (value []byte, metadata json.RawMessage, _ *apiError) {
	const malformed = "Malformed multipart/form-data body."
	var haveValue bool
	for {
		p, err := mr.NextPart()
		// A bare io.EOF is the closing boundary, or a body cut right after a
		// boundary line (caught by closeWatcher). A wrapped EOF is a body that
		// ends inside a part, such as after a line that only looks like the
		// closing boundary ("--b--0"), and is refused below.
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, bodyError(err, maxValueBodyBytes, malformed)
		}
		switch p.FormName() {
		case "value":
			data, err := io.ReadAll(io.LimitReader(p, maxValueBytes+1))
			if err != nil {
				return nil, nil, bodyError(err, maxValueBodyBytes, malformed)
			}
			if len(data) > maxValueBytes {
				return nil, nil, errValueTooLarge(len(data))
			}
			value, haveValue = data, true
		case "metadata":
			data, err := io.ReadAll(io.LimitReader(p, maxMetadataPart+1))
			if err != nil {
				return nil, nil, bodyError(err, maxValueBodyBytes, malformed)
			}
			if len(data) > maxMetadataPart {
				return nil, nil, badRequest(codeInvalidMetadata, "Metadata length exceeds limit of %d bytes.", maxMetadataBytes)
			}
			md, aerr := normalizeMetadata(data)
			if aerr != nil {
				return nil, nil, aerr
			}
			metadata = md
		default:
			if _, err := io.Copy(io.Discard, p); err != nil {
				return nil, nil, bodyError(err, maxValueBodyBytes, malformed)
			}
		}
	}
	if !haveValue {
		return nil, nil, badRequest(codeInvalidBody, "The multipart/form-data body has no \"value\" part.")
	}
	return value, metadata, nil
}

// closeWatcher passes a multipart body through and notes whether the close
// delimiter went by, even split across reads: the line ending of the first
// boundary line (CRLF, or LF, which mime/multipart also accepts), "--", the
// boundary, "--". Until that first boundary line it follows the preamble's
// lines; in a CRLF body an LF followed by "--boundary--" is part data.
type closeWatcher struct {
	r        io.Reader
	dash     []byte // "--" + boundary
	line     []byte // the start of the current preamble line
	overflow bool   // the current preamble line is too long to be a boundary line
	pat      []byte // the close delimiter, once the first boundary line has told its line ending
	tail     []byte // the last len(pat)-1 bytes read
	seen     bool
}

// maxBoundaryLWSP bounds the spaces and tabs a boundary line may carry after
// the boundary (mime/multipart allows any number; no client sends more).
const maxBoundaryLWSP = 1024

func (c *closeWatcher) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	b := p[:n]
	if c.pat == nil {
		b = c.preamble(b)
	}
	if !c.seen && c.pat != nil && len(b) > 0 {
		c.scan(b)
	}
	return n, err
}

// preamble follows b's lines until the end of the first boundary line, sets
// pat from that line's ending and returns the rest of b.
func (c *closeWatcher) preamble(b []byte) []byte {
	for i, ch := range b {
		if !c.overflow {
			if len(c.line) < len(c.dash)+maxBoundaryLWSP+2 {
				c.line = append(c.line, ch)
			} else {
				c.overflow = true
			}
		}
		if ch != '\n' {
			continue
		}
		if nl := boundaryLineEnd(c.line, c.dash); nl != "" && !c.overflow {
			c.pat = append([]byte(nl), append(c.dash, "--"...)...)
			return b[i+1:]
		}
		c.line, c.overflow = c.line[:0], false
	}
	return nil
}

// boundaryLineEnd returns the line ending of line, which ends in LF, when it
// is a boundary line as mime/multipart reads the first one (the boundary
// with its dashes, spaces or tabs, then CRLF or LF), and "" otherwise.
func boundaryLineEnd(line, dash []byte) string {
	rest, ok := bytes.CutPrefix(line, dash)
	if !ok {
		return ""
	}
	switch string(bytes.TrimLeft(rest, " \t")) {
	case "\r\n":
		return "\r\n"
	case "\n":
		return "\n"
	}
	return ""
}

// scan looks for the close delimiter in b and across the end of the
// previous read.
func (c *closeWatcher) scan(b []byte) {
	k := len(c.pat) - 1
	head := append(c.tail, b[:min(len(b), k)]...)
	c.seen = bytes.Contains(head, c.pat) || bytes.Contains(b, c.pat)
	if len(b) >= k {
		c.tail = append(c.tail[:0], b[len(b)-k:]...)
	} else {
		c.tail = append(c.tail[:0], head[max(0, len(head)-k):]...)
	}
}
