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
		body := &closeWatcher{r: r.Body, pat: []byte("\n--" + params["boundary"] + "--")}
		value, metadata, aerr := readMultipartValue(multipart.NewReader(body, params["boundary"]))
		if aerr == nil && !body.seen {
			// mime/multipart reports a body cut right after a boundary line
			// as a clean end, like the closing boundary.
			aerr = badRequest(codeInvalidBody, "The multipart/form-data body ends without its closing boundary.")
		}
		return value, metadata, aerr
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(r.Body); err != nil {
		return nil, nil, bodyError(err, maxValueBodyBytes, "Could not read the request body.")
	}
	if buf.Len() > maxValueBytes {
		return nil, nil, errValueTooLarge(buf.Len())
	}
	return buf.Bytes(), nil, nil
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
// delimiter (CRLF or LF, "--", the boundary, "--") went by, even split across
// reads.
type closeWatcher struct {
	r    io.Reader
	pat  []byte
	tail []byte // the last len(pat)-1 bytes read
	seen bool
}

func (c *closeWatcher) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.seen || n == 0 {
		return n, err
	}
	b, k := p[:n], len(c.pat)-1
	head := append(c.tail, b[:min(len(b), k)]...) // the delimiter may straddle two reads
	c.seen = bytes.Contains(head, c.pat) || bytes.Contains(b, c.pat)
	if len(b) >= k {
		c.tail = append(c.tail[:0], b[len(b)-k:]...)
	} else {
		c.tail = append(c.tail[:0], head[max(0, len(head)-k):]...)
	}
	return n, err
}
