package persist_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/workerskv/workerskv/emulator"
)

// The helpers below are those of the emulator's own tests that the
// persistence tests use: requests through ServeHTTP and checks of the v4
// envelope.

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// nsBase is the namespaces collection of the default account.
const nsBase = "/client/v4/accounts/" + emulator.DefaultAccountID + "/storage/kv/namespaces"

// epoch is where every FakeClock of the tests starts.
var epoch = time.Unix(1_800_000_000, 0).UTC()

// harness drives an Emulator through ServeHTTP.
type harness struct {
	t     testing.TB
	e     *emulator.Emulator
	clock *emulator.FakeClock
}

// do sends one request with the default token, and headers (name, value
// pairs).
func (h *harness) do(method, target string, body io.Reader, headers ...string) *httptest.ResponseRecorder {
	h.t.Helper()
	req := httptest.NewRequest(method, target, body)
	req.Header.Set("Authorization", "Bearer "+emulator.DefaultAPIToken)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.e.ServeHTTP(rec, req)
	return rec
}

func (h *harness) doJSON(method, target, body string) *httptest.ResponseRecorder {
	h.t.Helper()
	return h.do(method, target, strings.NewReader(body), "Content-Type", "application/json")
}

// response is the v4 envelope as the tests read it.
type response struct {
	Success bool `json:"success"`
	Errors  []struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"errors"`
	Messages   []json.RawMessage `json:"messages"`
	Result     json.RawMessage   `json:"result"`
	ResultInfo json.RawMessage   `json:"result_info"`
}

func decodeEnvelope(t testing.TB, rec *httptest.ResponseRecorder) response {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q, want application/json; body %s", ct, rec.Body)
	}
	var r response
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("body is not an envelope: %v: %s", err, rec.Body)
	}
	if r.Errors == nil || r.Messages == nil {
		t.Fatalf("errors and messages must be arrays: %s", rec.Body)
	}
	return r
}

// wantOK checks a 200 envelope and decodes its result into result (if not nil).
func wantOK(t testing.TB, rec *httptest.ResponseRecorder, result any) response {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", rec.Code, rec.Body)
	}
	r := decodeEnvelope(t, rec)
	if !r.Success || len(r.Errors) != 0 {
		t.Fatalf("not a success: %s", rec.Body)
	}
	if result != nil {
		if err := json.Unmarshal(r.Result, result); err != nil {
			t.Fatalf("result: %v: %s", err, rec.Body)
		}
	}
	return r
}

// wantError checks a failure envelope: status, code, and that the message
// contains msg.
func wantError(t testing.TB, rec *httptest.ResponseRecorder, status, code int, msg string) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d: %s", rec.Code, status, rec.Body)
	}
	r := decodeEnvelope(t, rec)
	if r.Success || len(r.Errors) != 1 || string(r.Result) != "null" {
		t.Fatalf("not a failure envelope with result null: %s", rec.Body)
	}
	if r.Errors[0].Code != code || !strings.Contains(r.Errors[0].Message, msg) {
		t.Fatalf("error %d %q, want %d containing %q", r.Errors[0].Code, r.Errors[0].Message, code, msg)
	}
}

type namespace struct {
	ID                  string `json:"id"`
	Title               string `json:"title"`
	SupportsURLEncoding bool   `json:"supports_url_encoding"`
}

func (h *harness) createNS(title string) string {
	h.t.Helper()
	b, _ := json.Marshal(title)
	var ns namespace
	wantOK(h.t, h.doJSON(http.MethodPost, nsBase, `{"title":`+string(b)+`}`), &ns)
	return ns.ID
}

func valuePath(ns, key string) string  { return nsBase + "/" + ns + "/values/" + url.PathEscape(key) }
func metaPath(ns, key string) string   { return nsBase + "/" + ns + "/metadata/" + url.PathEscape(key) }
func keysPath(ns, query string) string { return nsBase + "/" + ns + "/keys" + query }
func bulkPath(ns, suffix string) string {
	return nsBase + "/" + ns + "/bulk" + suffix
}

// put writes a raw value and fails the test unless it succeeds.
func (h *harness) put(ns, key, value, query string) {
	h.t.Helper()
	wantOK(h.t, h.do(http.MethodPut, valuePath(ns, key)+query, strings.NewReader(value)), nil)
}

// get reads a value: its status and body.
func (h *harness) get(ns, key string) (int, string) {
	h.t.Helper()
	rec := h.do(http.MethodGet, valuePath(ns, key), nil)
	return rec.Code, rec.Body.String()
}

type keyEntry struct {
	Name       string          `json:"name"`
	Expiration int64           `json:"expiration"`
	Metadata   json.RawMessage `json:"metadata"`
}

type cursorInfo struct {
	Count  int    `json:"count"`
	Cursor string `json:"cursor"`
}

// list fetches one page of keys.
func (h *harness) list(ns, query string) ([]keyEntry, cursorInfo) {
	h.t.Helper()
	var keys []keyEntry
	r := wantOK(h.t, h.do(http.MethodGet, keysPath(ns, query), nil), &keys)
	var info cursorInfo
	if err := json.Unmarshal(r.ResultInfo, &info); err != nil {
		h.t.Fatalf("result_info: %v", err)
	}
	if info.Count != len(keys) {
		h.t.Fatalf("result_info.count %d for %d keys", info.Count, len(keys))
	}
	return keys, info
}

// multipartBody is a multipart/form-data value upload: the value (as a file
// part when asFile) and, when not nil, the metadata.
func multipartBody(t *testing.T, value []byte, asFile bool, metadata *string) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if metadata != nil {
		hdr := textproto.MIMEHeader{}
		hdr.Set("Content-Disposition", `form-data; name="metadata"`)
		hdr.Set("Content-Type", "application/json")
		w, _ := mw.CreatePart(hdr)
		_, _ = io.WriteString(w, *metadata)
	}
	if value != nil {
		var w io.Writer
		if asFile {
			w, _ = mw.CreateFormFile("value", "blob.bin")
		} else {
			w, _ = mw.CreateFormField("value")
		}
		_, _ = w.Write(value)
	}
	_ = mw.Close()
	return &buf, mw.FormDataContentType()
}

func ptr(s string) *string { return &s }
