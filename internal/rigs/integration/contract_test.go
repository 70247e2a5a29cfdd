package integration

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/workerskv/workerskv"
	"github.com/workerskv/workerskv/kvtest"
)

// recordingTB captures the violations a contract transport reports instead of failing the test.
type recordingTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recordingTB) Helper() {}

// TestContractViolationIsCaught sends a request whose body breaks the schema through the same
// validating transport the suite uses, and expects it to be reported.
func TestContractViolationIsCaught(t *testing.T) {
	t.Parallel()
	srv := kvtest.NewServer(t)
	rec := &recordingTB{TB: t}
	hc := &http.Client{Transport: loadSpec(t).Transport(rec, nil)}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost,
		srv.URL+"/accounts/"+srv.AccountID+"/storage/kv/namespaces", strings.NewReader(`{"name":"no title"}`))
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(rec.errs) == 0 || !strings.Contains(strings.Join(rec.errs, "\n"), "title") {
		t.Fatalf("a create-namespace body without a title was not reported: %q", rec.errs)
	}
}

// TestContractResponseViolationIsCaught serves a key list whose result is an object, not an array,
// and expects the validating transport to report it.
func TestContractResponseViolationIsCaught(t *testing.T) {
	t.Parallel()
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"success":true,"errors":[],"messages":[],"result":{"name":"k"},"result_info":{"count":1,"cursor":""}}`)
	}))
	defer bad.Close()
	rec := &recordingTB{TB: t}
	c, err := workerskv.NewClient(
		workerskv.WithAPIToken("t"), workerskv.WithAccountID("a"), workerskv.WithBaseURL(bad.URL+"/client/v4"),
		workerskv.WithHTTPClient(&http.Client{Transport: loadSpec(t).Transport(rec, nil)}),
	)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = c.Keys.List(t.Context(), "ns", nil)
	if len(rec.errs) == 0 {
		t.Fatal("a key list whose result is an object was not reported")
	}
}
