package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
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
		return readMultipartValue(multipart.NewReader(r.Body, params["boundary"]))
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
		if errors.Is(err, io.EOF) {
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
