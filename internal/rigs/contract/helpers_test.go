package contract_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"sync"
	"testing"

	"github.com/workerskv/workerskv/internal/rigs/contract"
)

const (
	account   = "023e105f4ecef8ad9ca31a8372d0c353"
	namespace = "0f2ac74b498b48028cb68387c421e279"
	// nsPath is the namespaces collection, relative to the server root.
	nsPath = "/client/v4/accounts/" + account + "/storage/kv/namespaces"
	// okNull is a success envelope without result.
	okNull = `{"success":true,"errors":[],"messages":[],"result":null}`
	// notFound is the error envelope for a missing key.
	notFound = `{"success":false,"errors":[{"code":10009,"message":"key not found"}],"messages":[],"result":null}`
	// bulkOK is a bulk write/delete success.
	bulkOK = `{"success":true,"errors":[],"messages":[],"result":{"successful_key_count":2,"unsuccessful_keys":[]}}`
	// nsOK is a success envelope holding one namespace.
	nsOK = `{"success":true,"errors":[],"messages":[],"result":{"id":"` + namespace + `","title":"my-ns","supports_url_encoding":true}}`
)

var (
	specOnce sync.Once
	spec     *contract.Spec
	specErr  error
)

// loadSpec loads the repository's copy of the KV schema once per test binary.
func loadSpec(t testing.TB) *contract.Spec {
	t.Helper()
	specOnce.Do(func() { spec, specErr = contract.Load("../../../testdata/kv-openapi.json") })
	if specErr != nil {
		t.Fatalf("Load: %v", specErr)
	}
	return spec
}

// part is one part of a multipart body; an empty ct leaves the part without Content-Type.
type part struct{ name, ct, data string }

// multipartBody encodes parts and returns the request's Content-Type and body.
func multipartBody(t testing.TB, parts ...part) (string, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q`, p.name))
		if p.ct != "" {
			h.Set("Content-Type", p.ct)
		}
		pw, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pw.Write([]byte(p.data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.FormDataContentType(), buf.String()
}

// recorder is a fake testing.TB that records Errorf calls; other methods go to the embedded TB.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

// Errorf records the formatted message instead of failing the test.
func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// errors returns the recorded messages.
func (r *recorder) errors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errs...)
}

// checkErr fails t unless err is nil when want is empty, or err contains every "|"-separated part of want.
func checkErr(t *testing.T, what string, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("%s: unexpected violation: %v", what, err)
	case want != "" && err == nil:
		t.Errorf("%s: violation not caught, want one mentioning %q", what, want)
	case want != "":
		for _, w := range strings.Split(want, "|") {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: violation %q does not mention %q", what, err, w)
			}
		}
	}
}

// bearer sets token credentials.
func bearer(h http.Header) { h.Set("Authorization", "Bearer test-token") }
