package emulator_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/workerskv/workerskv/emulator"
)

// logBuffer is an io.Writer for a slog handler that requests write
// concurrently with the test reading it.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// logRecord is one request record of a JSON log.
type logRecord struct {
	Time       string `json:"time"`
	Level      string `json:"level"`
	Msg        string `json:"msg"`
	Method     string `json:"method"`
	Path       string `json:"path"`
	Status     int    `json:"status"`
	ErrorCodes []int  `json:"error_codes"`
	BytesIn    *int64 `json:"bytes_in"`
	BytesOut   *int64 `json:"bytes_out"`
	Duration   *int64 `json:"duration"`
	Credential string `json:"credential"`
	Ray        string `json:"ray"`
}

// jsonLogHarness is a harness whose emulator logs JSON records to the
// returned buffer.
func jsonLogHarness(t *testing.T, opts ...emulator.Option) (*harness, *logBuffer) {
	t.Helper()
	buf := &logBuffer{}
	logger := slog.New(slog.NewJSONHandler(buf, nil))
	return newHarness(t, append(opts, emulator.WithLogger(logger))...), buf
}

// records decodes every record of a JSON log.
func records(t *testing.T, buf *logBuffer) []logRecord {
	t.Helper()
	var out []logRecord
	dec := json.NewDecoder(strings.NewReader(buf.String()))
	dec.DisallowUnknownFields()
	for dec.More() {
		var r logRecord
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("log record: %v\n%s", err, buf)
		}
		out = append(out, r)
	}
	return out
}

func TestLoggerRecordsRequests(t *testing.T) {
	h, buf := jsonLogHarness(t)
	var ns struct{ ID string }
	const createBody = `{"title":"logged"}`
	rec := h.doJSON(http.MethodPost, nsBase, createBody)
	wantOK(t, rec, &ns)
	createdOut := rec.Body.Len()

	keyPath := nsBase + "/" + ns.ID + "/values/dir%2Fsub%20key"
	if rec := h.do(http.MethodPut, keyPath, strings.NewReader("hello")); rec.Code != http.StatusOK {
		t.Fatalf("put: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(http.MethodGet, keyPath, nil); rec.Code != http.StatusOK || rec.Body.String() != "hello" {
		t.Fatalf("get: %d %s", rec.Code, rec.Body)
	}
	missing := h.do(http.MethodGet, nsBase+"/"+ns.ID+"/metadata/nope", nil)
	if missing.Code != http.StatusNotFound {
		t.Fatalf("missing key: %d %s", missing.Code, missing.Body)
	}
	h.do(http.MethodGet, "/client/v4/nowhere", nil)
	h.do(http.MethodGet, nsBase, nil, noAuth, "")
	h.do(http.MethodGet, nsBase, nil, "Authorization", "Bearer wrong")

	got := records(t, buf)
	if len(got) != 7 {
		t.Fatalf("%d records, want 7:\n%s", len(got), buf)
	}
	for i, r := range got {
		if r.Level != "INFO" || r.Msg != "request" || r.BytesIn == nil || r.BytesOut == nil || r.Duration == nil || *r.Duration < 0 ||
			!strings.HasSuffix(r.Ray, "-EMU") {
			t.Errorf("record %d lacks a field: %+v", i, r)
		}
	}
	want := []struct {
		method, path string
		status       int
		codes        []int
		in, out      int64
		cred         string
	}{
		{http.MethodPost, nsBase, 200, nil, int64(len(createBody)), int64(createdOut), "token"},
		{http.MethodPut, keyPath, 200, nil, 5, -1, "token"},
		{http.MethodGet, keyPath, 200, nil, 0, 5, "token"},
		{http.MethodGet, nsBase + "/" + ns.ID + "/metadata/nope", 404, []int{10009}, 0, int64(missing.Body.Len()), "token"},
		{http.MethodGet, "/client/v4/nowhere", 400, []int{7003, 7000}, 0, -1, "token"},
		{http.MethodGet, nsBase, 400, []int{9106}, 0, -1, "none"},
		{http.MethodGet, nsBase, 401, []int{10000}, 0, -1, "token"},
	}
	for i, w := range want {
		r := got[i]
		if r.Method != w.method || r.Path != w.path || r.Status != w.status || !equalInts(r.ErrorCodes, w.codes) ||
			*r.BytesIn != w.in || (w.out >= 0 && *r.BytesOut != w.out) || *r.BytesOut <= 0 || r.Credential != w.cred {
			t.Errorf("record %d = %+v (bytes_in %d, bytes_out %d)\nwant %+v", i, r, *r.BytesIn, *r.BytesOut, w)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestLoggerCredentialKinds(t *testing.T) {
	h, buf := jsonLogHarness(t, emulator.WithAPIToken("tok"), emulator.WithAPIKey("key", "me@example.com"))
	h.do(http.MethodGet, nsBase, nil, "Authorization", "Bearer tok")
	h.do(http.MethodGet, nsBase, nil, "X-Auth-Key", "key", "X-Auth-Email", "me@example.com")
	h.do(http.MethodGet, nsBase, nil, "X-Auth-Key", "nope", "X-Auth-Email", "me@example.com")
	// A wrong token with a good key pair: the key pair authenticates.
	h.do(http.MethodGet, nsBase, nil, "Authorization", "Bearer nope", "X-Auth-Key", "key", "X-Auth-Email", "me@example.com")
	h.do(http.MethodGet, nsBase, nil, noAuth, "")
	var kinds []string
	for _, r := range records(t, buf) {
		kinds = append(kinds, r.Credential+":"+http.StatusText(r.Status))
	}
	want := "token:OK api_key:OK api_key:Unauthorized api_key:OK none:Bad Request"
	if got := strings.Join(kinds, " "); got != want {
		t.Fatalf("credential kinds %q, want %q", got, want)
	}
}

// TestLoggerNeverLogsCredentials sends good and bad tokens, API keys and
// emails, in both formats, and finds none of them in the log.
func TestLoggerNeverLogsCredentials(t *testing.T) {
	const token, key, email = "secret-token-5f1c", "secret-key-9a7e", "secret-email-3b2d@example.com"
	const badToken, badKey, badEmail = "wrong-token-77aa", "wrong-key-88bb", "wrong-email-99cc@example.com"
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			buf := &logBuffer{}
			var handler slog.Handler = slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})
			if format == "json" {
				handler = slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})
			}
			h := newHarness(t, emulator.WithAPIToken(token), emulator.WithAPIKey(key, email), emulator.WithLogger(slog.New(handler)))
			for _, hdrs := range [][]string{
				{"Authorization", "Bearer " + token},
				{"Authorization", "Bearer " + badToken},
				{"Authorization", badToken},
				{"X-Auth-Key", key, "X-Auth-Email", email},
				{"X-Auth-Key", badKey, "X-Auth-Email", badEmail},
				{"X-Auth-Key", key},
				{"X-Auth-Email", email},
				{"Authorization", "Bearer " + badToken, "X-Auth-Key", key, "X-Auth-Email", email},
			} {
				h.do(http.MethodGet, nsBase, nil, hdrs...)
				h.do(http.MethodGet, nsBase+"/ns/values/k", nil, hdrs...)
				h.do(http.MethodGet, "/client/v4/nowhere", nil, hdrs...)
			}
			out := buf.String()
			if strings.Count(out, "\n") != 24 {
				t.Fatalf("want 24 records:\n%s", out)
			}
			for _, secret := range []string{token, key, email, badToken, badKey, badEmail, "secret", "wrong", "example.com"} {
				if strings.Contains(out, secret) {
					t.Fatalf("the log contains %q:\n%s", secret, out)
				}
			}
		})
	}
}

func TestLoggerTextFormat(t *testing.T) {
	buf := &logBuffer{}
	h := newHarness(t, emulator.WithLogger(slog.New(slog.NewTextHandler(buf, nil))))
	h.do(http.MethodGet, nsBase+"/0123/values/a%2Fb", nil)
	line := buf.String()
	for _, want := range []string{
		"level=INFO msg=request method=GET path=" + nsBase + "/0123/values/a%2Fb status=404 error_codes=[10013] bytes_in=0 bytes_out=",
		" duration=", " credential=token ray=",
	} {
		if !strings.Contains(line, want) {
			t.Fatalf("text record lacks %q:\n%s", want, line)
		}
	}
	if strings.Count(line, "\n") != 1 {
		t.Fatalf("want one record:\n%s", line)
	}
}

func TestLoggerOff(t *testing.T) {
	// A nil logger and a logger not enabled for Info log nothing and serve as usual.
	buf := &logBuffer{}
	quiet := slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	for _, opt := range []emulator.Option{emulator.WithLogger(nil), emulator.WithLogger(quiet)} {
		h := newHarness(t, opt)
		wantOK(t, h.doJSON(http.MethodPost, nsBase, `{"title":"quiet"}`), nil)
		if rec := h.do(http.MethodGet, nsBase+"/nope", nil); rec.Code != http.StatusNotFound {
			t.Fatalf("missing namespace: %d", rec.Code)
		}
	}
	// The last WithLogger wins.
	h := newHarness(t, emulator.WithLogger(slog.New(slog.NewJSONHandler(buf, nil))), emulator.WithLogger(nil))
	h.do(http.MethodGet, nsBase, nil)
	if buf.String() != "" {
		t.Fatalf("logged while off:\n%s", buf)
	}
}

// TestLoggerDroppedConnection logs a request whose connection fault
// injection drops (here, with a recorder, by aborting the handler).
func TestLoggerDroppedConnection(t *testing.T) {
	h, buf := jsonLogHarness(t, emulator.WithFaults(emulator.Faults{Seed: 1, Drop: 1}))
	func() {
		defer func() {
			if v := recover(); v != http.ErrAbortHandler {
				t.Fatalf("recovered %v, want http.ErrAbortHandler", v)
			}
		}()
		h.do(http.MethodGet, nsBase, nil)
	}()
	got := records(t, buf)
	if len(got) != 1 || got[0].Status != 0 || *got[0].BytesOut != 0 || got[0].Path != nsBase {
		t.Fatalf("records %+v", got)
	}
}

// TestLoggerOversizedBody sends a chunked body over the cap to a real
// server: the answer is still 413, and the log reports it with what was
// read of the body.
func TestLoggerOversizedBody(t *testing.T) {
	buf := &logBuffer{}
	srv := httptest.NewServer(emulator.New(emulator.WithLogger(slog.New(slog.NewJSONHandler(buf, nil)))))
	defer srv.Close()
	body := io.MultiReader(strings.NewReader(`{"title":"`), strings.NewReader(strings.Repeat("x", 2<<20)), strings.NewReader(`"}`))
	req, err := http.NewRequest(http.MethodPost, srv.URL+nsBase, struct{ io.Reader }{body}) // no length: chunked
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+emulator.DefaultAPIToken)
	resp, err := srv.Client().Do(req)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		// The server may close the connection before the client has sent
		// everything; the log is what this test checks.
		t.Logf("request: %v", err)
	}
	if resp != nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413", resp.StatusCode)
		}
	}
	srv.Close()
	got := records(t, buf)
	if len(got) != 1 || got[0].Status != 413 || !equalInts(got[0].ErrorCodes, []int{10024}) || *got[0].BytesIn < 1<<20 || *got[0].BytesIn > 2<<20 {
		t.Fatalf("records %+v", got)
	}
}
