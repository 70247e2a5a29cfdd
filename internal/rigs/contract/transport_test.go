package contract_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// canned is the response a fake server gives.
type canned struct {
	status   int
	ct, body string
}

// seen is what a fake server received.
type seen struct {
	method, escapedPath, ct string
	contentLength           int64
	body                    []byte
}

// fakeServer is a loopback httptest server that records requests and answers with reply(r).
type fakeServer struct {
	*httptest.Server
	mu   sync.Mutex
	got  []seen
	with func(r *http.Request) canned
}

func newFakeServer(t *testing.T, with func(r *http.Request) canned) *fakeServer {
	f := &fakeServer{with: with}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("server: reading body: %v", err)
		}
		f.mu.Lock()
		f.got = append(f.got, seen{r.Method, r.URL.EscapedPath(), r.Header.Get("Content-Type"), r.ContentLength, body})
		f.mu.Unlock()
		c := f.with(r)
		if c.ct != "" {
			w.Header().Set("Content-Type", c.ct)
		}
		w.WriteHeader(c.status)
		_, _ = io.WriteString(w, c.body)
	}))
	t.Cleanup(f.Close)
	return f
}

// last returns the last request the server received.
func (f *fakeServer) last() seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.got[len(f.got)-1]
}

// do sends one request through client and returns the status and the response body.
func do(t *testing.T, client *http.Client, method, url, ct string, body []byte) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer test-token")
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, got
}

func TestTransportValidTrafficPassesUnchanged(t *testing.T) {
	s := loadSpec(t)
	value := bytes.Repeat([]byte("\x00\xffkv"), 512*1024+3) // 2 MiB + 12 bytes, not UTF-8
	srv := newFakeServer(t, func(r *http.Request) canned {
		switch {
		case r.Method == "GET" && strings.Contains(r.URL.Path, "/values/"):
			return canned{200, bin, string(value)}
		case r.Method == "POST":
			return canned{200, js, nsOK}
		default:
			return canned{200, js, okNull}
		}
	})
	rec := &recorder{TB: t}
	client := &http.Client{Transport: s.Transport(rec, srv.Client().Transport)}
	base := srv.URL + nsPath

	if st, got := do(t, client, "POST", base, js, []byte(`{"title":"my-ns"}`)); st != 200 || string(got) != nsOK {
		t.Errorf("create: status %d body %q", st, got)
	}
	if b := srv.last().body; string(b) != `{"title":"my-ns"}` {
		t.Errorf("server got create body %q", b)
	}

	do(t, client, "PUT", base+ns+"/values/big?expiration_ttl=3600", bin, value)
	if g := srv.last(); !bytes.Equal(g.body, value) || g.contentLength != int64(len(value)) || g.ct != bin {
		t.Errorf("server got %d bytes (Content-Length %d, type %q), want %d", len(g.body), g.contentLength, g.ct, len(value))
	}

	mpCT, mpBody := multipartBody(t, part{"value", bin, "v"}, part{"metadata", js, `{"a":1}`})
	do(t, client, "PUT", base+ns+"/values/a%2Fb%3Fc", mpCT, []byte(mpBody))
	if g := srv.last(); string(g.body) != mpBody || !strings.HasSuffix(g.escapedPath, "/values/a%2Fb%3Fc") {
		t.Errorf("server got path %q and a body of %d bytes", g.escapedPath, len(g.body))
	}

	if st, got := do(t, client, "GET", base+ns+"/values/a%2Fb%3Fc", "", nil); st != 200 || !bytes.Equal(got, value) {
		t.Errorf("get value: status %d, %d bytes, want %d", st, len(got), len(value))
	}
	do(t, client, "DELETE", base+ns, "", nil)

	if errs := rec.errors(); len(errs) != 0 {
		t.Errorf("valid traffic reported as violations:\n%s", strings.Join(errs, "\n"))
	}
}

func TestTransportReportsViolations(t *testing.T) {
	s := loadSpec(t)
	badList := `{"success":true,"errors":[],"messages":[],"result":{"name":"a"},"result_info":{"count":1}}`
	srv := newFakeServer(t, func(r *http.Request) canned {
		switch {
		case strings.HasSuffix(r.URL.Path, "/keys"):
			return canned{200, js, badList}
		case r.Method == "POST":
			return canned{400, js, `{"success":false,"errors":[{"code":10019,"message":"title missing"}],"messages":[],"result":null}`}
		default:
			return canned{404, "text/html", "<html>not found</html>"}
		}
	})
	base := srv.URL + nsPath

	tests := []struct {
		name, method, url, ct, body string
		want                        []string
		status                      int
		respBody                    string
	}{
		{"bad response shape", "GET", base + ns + "/keys", "", "",
			[]string{"GET " + nsPath + ns + "/keys", "response 200", `"/result": value must be an array`}, 200, badList},
		{"bad request body", "POST", base, js, `{"name":"x"}`,
			[]string{"POST " + nsPath, `property "title" is missing`}, 400, ""},
		{"HTML error page", "GET", base + ns + "/metadata/k", "", "",
			[]string{"GET " + nsPath + ns + "/metadata/k", `Content-Type "text/html" for status 404`}, 404, "<html>not found</html>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			client := &http.Client{Transport: s.Transport(rec, srv.Client().Transport)}
			var body []byte
			if tc.body != "" {
				body = []byte(tc.body)
			}
			st, got := do(t, client, tc.method, tc.url, tc.ct, body)
			if st != tc.status || (tc.respBody != "" && string(got) != tc.respBody) {
				t.Errorf("caller got status %d body %q; want the server's response unchanged", st, got)
			}
			if g := srv.last(); string(g.body) != tc.body {
				t.Errorf("server got body %q, want %q", g.body, tc.body)
			}
			errs := rec.errors()
			if len(errs) != 1 {
				t.Fatalf("got %d reports, want 1:\n%s", len(errs), strings.Join(errs, "\n"))
			}
			for _, w := range tc.want {
				if !strings.Contains(errs[0], w) {
					t.Errorf("report %q does not mention %q", errs[0], w)
				}
			}
		})
	}
}

func TestTransportNoCredentials(t *testing.T) {
	s := loadSpec(t)
	srv := newFakeServer(t, func(*http.Request) canned { return canned{200, js, nsOK} })
	rec := &recorder{TB: t}
	client := &http.Client{Transport: s.Transport(rec, srv.Client().Transport)}
	resp, err := client.Get(srv.URL + nsPath + ns)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if errs := rec.errors(); len(errs) != 1 || !strings.Contains(errs[0], "credentials: none sent") {
		t.Errorf("reports = %q, want one about missing credentials", errs)
	}
}

func TestTransportConcurrent(t *testing.T) {
	s := loadSpec(t)
	srv := newFakeServer(t, func(*http.Request) canned { return canned{200, js, bulkOK} })
	rec := &recorder{TB: t}
	client := &http.Client{Transport: s.Transport(rec, srv.Client().Transport)}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			body := fmt.Sprintf(`[{"key":"k%d","value":"v","metadata":[%d,{"n":null}]}]`, i, i)
			do(t, client, "PUT", srv.URL+nsPath+ns+"/bulk", js, []byte(body))
		})
	}
	wg.Wait()
	if errs := rec.errors(); len(errs) != 0 {
		t.Errorf("reports: %q", errs)
	}
}

func TestTransportBaseError(t *testing.T) {
	s := loadSpec(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	rec := &recorder{TB: t}
	req, _ := http.NewRequest("GET", url+nsPath+ns, nil)
	req.Header.Set("Authorization", "Bearer x")
	if _, err := (&http.Client{Transport: s.Transport(rec, nil)}).Do(req); err == nil {
		t.Error("request to a closed server succeeded")
	}
	if errs := rec.errors(); len(errs) != 0 {
		t.Errorf("a transport error was reported as a violation: %q", errs)
	}
}
