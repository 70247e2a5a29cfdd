package workerskv_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/workerskv/workerskv"
)

// vkValueURL and vkMetaURL are the exact escaped URLs of a key's value and metadata.
func vkValueURL(key string) string { return nsURL + "/" + testNS + "/values/" + url.PathEscape(key) }
func vkMetaURL(key string) string  { return nsURL + "/" + testNS + "/metadata/" + url.PathEscape(key) }

// vkLengths records the ContentLength of every request a responder answers.
type vkLengths struct {
	mu sync.Mutex
	n  []int64
}

func (l *vkLengths) wrap(r httpmock.Responder) httpmock.Responder {
	return func(req *http.Request) (*http.Response, error) {
		l.mu.Lock()
		l.n = append(l.n, req.ContentLength)
		l.mu.Unlock()
		return r(req)
	}
}

// vkPart is one decoded part of a multipart/form-data body.
type vkPart struct {
	FileName, ContentType string
	Data                  []byte
}

// vkParts decodes a recorded multipart/form-data request body into its parts by form name, and their
// order.
func vkParts(t *testing.T, rec recorded) (map[string]vkPart, []string) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(rec.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		t.Fatalf("Content-Type %q: %v", rec.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(bytes.NewReader(rec.Body), params["boundary"])
	parts, order := map[string]vkPart{}, []string(nil)
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			return parts, order
		}
		if err != nil {
			t.Fatalf("multipart body: %v", err)
		}
		data, err := io.ReadAll(p)
		if err != nil {
			t.Fatalf("part %q: %v", p.FormName(), err)
		}
		parts[p.FormName()] = vkPart{p.FileName(), p.Header.Get("Content-Type"), data}
		order = append(order, p.FormName())
	}
}

// vkOne returns the only recorded request.
func vkOne(t *testing.T, m *mockServer) recorded {
	t.Helper()
	reqs := m.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1: %+v", len(reqs), reqs)
	}
	return reqs[0]
}

// vkRaw answers with status, raw bytes and extra headers.
func vkRaw(status int, body []byte, header ...string) httpmock.Responder {
	return func(*http.Request) (*http.Response, error) {
		r := httpmock.NewBytesResponse(status, body)
		r.Header.Set("Content-Type", "application/octet-stream")
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		return r, nil
	}
}

func TestValuesGetWire(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("GET", vkValueURL("k"), vkRaw(200, []byte("v\x00\xff"), "Expiration", "1767225600"))
	v, err := c.Values.Get(t.Context(), testNS, "k")
	if err != nil || string(v) != "v\x00\xff" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	rec := vkOne(t, m)
	if rec.Method != "GET" || rec.RawPath != "/client/v4/accounts/"+testAccount+"/storage/kv/namespaces/"+testNS+"/values/k" || rec.RawQuery != "" || len(rec.Body) != 0 {
		t.Fatalf("request %+v", rec)
	}
	if got := rec.Header.Get("Authorization"); got != "Bearer "+canaryToken {
		t.Fatalf("Authorization %q", got)
	}
}

func TestValuesGetWithExpirationWire(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("GET", vkValueURL("exp"), vkRaw(200, []byte("x"), "Expiration", "1767225600"))
	m.on("GET", vkValueURL("forever"), vkRaw(200, []byte("y")))
	v, exp, err := c.Values.GetWithExpiration(t.Context(), testNS, "exp")
	if err != nil || string(v) != "x" || !exp.Equal(time.Unix(1767225600, 0)) {
		t.Fatalf("GetWithExpiration = %q, %v, %v", v, exp, err)
	}
	v, exp, err = c.Values.GetWithExpiration(t.Context(), testNS, "forever")
	if err != nil || string(v) != "y" || !exp.IsZero() {
		t.Fatalf("GetWithExpiration without header = %q, %v, %v", v, exp, err)
	}
}

func TestValuesGetReaderWire(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("GET", vkValueURL("k"), vkRaw(200, []byte("streamed bytes")))
	rc, err := c.Values.GetReader(t.Context(), testNS, "k")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil || string(b) != "streamed bytes" {
		t.Fatalf("read %q, %v", b, err)
	}
	if rec := vkOne(t, m); rec.Method != "GET" || rec.RawQuery != "" {
		t.Fatalf("request %+v", rec)
	}
}

func TestValuesPutRawWire(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		opts  *workerskv.PutOptions
		query url.Values
	}{
		{"no options", nil, url.Values{}},
		{"zero options", &workerskv.PutOptions{}, url.Values{}},
		{"expiration in whole seconds", &workerskv.PutOptions{Expiration: time.Unix(4102444800, 900_000_000)}, url.Values{"expiration": {"4102444800"}}},
		{"ttl in whole seconds", &workerskv.PutOptions{ExpirationTTL: 90*time.Second + 500*time.Millisecond}, url.Values{"expiration_ttl": {"90"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, m := setup(t)
			var lens vkLengths
			m.on("PUT", vkValueURL("k"), lens.wrap(jsonResponder(200, envelope("null"))))
			value := []byte("raw\r\n--value\x00")
			if err := c.Values.Put(t.Context(), testNS, "k", bytes.NewReader(value), tc.opts); err != nil {
				t.Fatal(err)
			}
			rec := vkOne(t, m)
			if !bytes.Equal(rec.Body, value) {
				t.Fatalf("body %q, want %q", rec.Body, value)
			}
			if ct := rec.Header.Get("Content-Type"); ct != "application/octet-stream" {
				t.Fatalf("Content-Type %q", ct)
			}
			if lens.n[0] != int64(len(value)) {
				t.Fatalf("ContentLength %d, want %d", lens.n[0], len(value))
			}
			q, err := url.ParseQuery(rec.RawQuery)
			if err != nil || q.Encode() != tc.query.Encode() {
				t.Fatalf("query %q, want %q", rec.RawQuery, tc.query.Encode())
			}
		})
	}
}

func TestValuesPutMetadataWire(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		metadata any
		want     string
	}{
		{"map", map[string]any{"b": 1, "a": "x y"}, `{"a":"x y","b":1}`},
		{"struct", struct {
			Owner string `json:"owner"`
		}{"ann"}, `{"owner":"ann"}`},
		{"raw message compacted", json.RawMessage("{ \"a\" : [1, 2] }\n"), `{"a":[1,2]}`},
		{"string", "plain", `"plain"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, m := setup(t)
			var lens vkLengths
			m.on("PUT", vkValueURL("k"), lens.wrap(jsonResponder(200, envelope("null"))))
			value := []byte("\x00value\r\n--not-a-boundary--\r\n\xff")
			opts := &workerskv.PutOptions{Metadata: tc.metadata, ExpirationTTL: time.Hour}
			if err := c.Values.Put(t.Context(), testNS, "k", bytes.NewReader(value), opts); err != nil {
				t.Fatal(err)
			}
			rec := vkOne(t, m)
			if rec.RawQuery != "expiration_ttl=3600" {
				t.Fatalf("query %q", rec.RawQuery)
			}
			if lens.n[0] != int64(len(rec.Body)) {
				t.Fatalf("ContentLength %d, body %d bytes", lens.n[0], len(rec.Body))
			}
			parts, order := vkParts(t, rec)
			if len(order) != 2 || order[0] != "metadata" || order[1] != "value" {
				t.Fatalf("parts %q, want [metadata value]", order)
			}
			if p := parts["metadata"]; p.ContentType != "application/json" || string(p.Data) != tc.want || p.FileName != "" {
				t.Fatalf("metadata part %+v (%q), want %s", p, p.Data, tc.want)
			}
			if p := parts["value"]; p.ContentType != "application/octet-stream" || p.FileName == "" || !bytes.Equal(p.Data, value) {
				t.Fatalf("value part %+v (%q)", p, p.Data)
			}
		})
	}
}

func TestValuesDelete(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		status   int
		body     string
		wantCode int // 0: no error
	}{
		{"ok", 200, envelope("null"), 0},
		{"missing key is not an error", 404, failure(10009, "key not found"), 0},
		{"missing namespace is", 404, failure(10013, "namespace not found"), 10013},
		{"server error is", 500, failure(10001, "internal"), 10001},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, m := setup(t, workerskv.WithMaxRetries(workerskv.NoRetries))
			m.on("DELETE", vkValueURL("gone"), jsonResponder(tc.status, tc.body))
			err := c.Values.Delete(t.Context(), testNS, "gone")
			rec := vkOne(t, m)
			if rec.Method != "DELETE" || rec.RawQuery != "" || len(rec.Body) != 0 {
				t.Fatalf("request %+v", rec)
			}
			if tc.wantCode == 0 {
				if err != nil {
					t.Fatalf("Delete: %v", err)
				}
				return
			}
			var ae *workerskv.APIError
			if !errors.As(err, &ae) || ae.StatusCode != tc.status || ae.Errors[0].Code != tc.wantCode {
				t.Fatalf("Delete error %v, want APIError %d code %d", err, tc.status, tc.wantCode)
			}
			if tc.status == 404 && !errors.Is(err, workerskv.ErrNotFound) {
				t.Fatalf("%v does not match ErrNotFound", err)
			}
		})
	}
}

func TestValuesNotFound(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("GET", vkValueURL("missing"), jsonResponder(404, failure(10009, "key not found")))
	_, err := c.Values.Get(t.Context(), testNS, "missing")
	vkWantNotFound(t, "Get", err)
	rc, err := c.Values.GetReader(t.Context(), testNS, "missing")
	if rc != nil {
		t.Fatal("GetReader returned a reader with its error")
	}
	vkWantNotFound(t, "GetReader", err)
	if n := len(m.requests()); n != 2 {
		t.Fatalf("%d requests, want 2 (a 404 is not retried)", n)
	}
}

func vkWantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	var ae *workerskv.APIError
	if !errors.Is(err, workerskv.ErrNotFound) || !errors.As(err, &ae) || ae.StatusCode != 404 || ae.Errors[0].Code != 10009 {
		t.Fatalf("%s: %v, want ErrNotFound from a 404 with code 10009", what, err)
	}
}

// vkStore is a responder pair that stores what PUT sends (the value part of a multipart body) and
// answers GET with it.
func vkStore(t *testing.T, m *mockServer, key string) {
	var mu sync.Mutex
	var stored []byte
	m.on("PUT", vkValueURL(key), func(req *http.Request) (*http.Response, error) {
		body, _ := io.ReadAll(req.Body)
		if strings.HasPrefix(req.Header.Get("Content-Type"), "multipart/") {
			parts, _ := vkParts(t, recorded{Header: req.Header, Body: body})
			body = parts["value"].Data
		}
		mu.Lock()
		stored = body
		mu.Unlock()
		return httpmock.NewStringResponse(200, envelope("null")), nil
	})
	m.on("GET", vkValueURL(key), func(*http.Request) (*http.Response, error) {
		mu.Lock()
		defer mu.Unlock()
		return httpmock.NewBytesResponse(200, stored), nil
	})
}

func TestValuesBinaryRoundTrip(t *testing.T) {
	t.Parallel()
	all := make([]byte, 0, 512)
	for i := range 256 {
		all = append(all, byte(i))
	}
	for i := range 256 {
		all = append(all, byte(255-i))
	}
	for _, opts := range []*workerskv.PutOptions{nil, {Metadata: map[string]int{"v": 1}}} {
		t.Run(map[bool]string{true: "raw", false: "multipart"}[opts == nil], func(t *testing.T) {
			t.Parallel()
			c, m := setup(t)
			vkStore(t, m, "bin")
			if err := c.Values.Put(t.Context(), testNS, "bin", bytes.NewReader(all), opts); err != nil {
				t.Fatal(err)
			}
			got, err := c.Values.Get(t.Context(), testNS, "bin")
			if err != nil || !bytes.Equal(got, all) {
				t.Fatalf("round trip: %v\n got %x\nwant %x", err, got, all)
			}
		})
	}
}

func TestValuesPutRetryReplaysSeekableBody(t *testing.T) {
	t.Parallel()
	value := append(bytes.Repeat([]byte("0123456789abcdef"), 4096), 0, 0xff, '\r', '\n')
	for _, meta := range []any{nil, map[string]string{"m": "1"}} {
		t.Run(map[bool]string{true: "raw", false: "multipart"}[meta == nil], func(t *testing.T) {
			t.Parallel()
			c, m := setup(t)
			var lens vkLengths
			m.on("PUT", vkValueURL("k"), lens.wrap(httpmock.NewStringResponder(503, failure(10001, "unavailable")).
				Then(jsonResponder(200, envelope("null")))))
			if err := c.Values.Put(t.Context(), testNS, "k", bytes.NewReader(value), &workerskv.PutOptions{Metadata: meta}); err != nil {
				t.Fatal(err)
			}
			reqs := m.requests()
			if len(reqs) != 2 || !bytes.Equal(reqs[0].Body, reqs[1].Body) || lens.n[0] != lens.n[1] || lens.n[1] != int64(len(reqs[1].Body)) {
				t.Fatalf("%d requests; bodies equal: %v; lengths %v", len(reqs), len(reqs) == 2 && bytes.Equal(reqs[0].Body, reqs[1].Body), lens.n)
			}
			for _, rec := range reqs {
				got := rec.Body
				if meta != nil {
					parts, _ := vkParts(t, rec)
					got = parts["value"].Data
				}
				if !bytes.Equal(got, value) {
					t.Fatalf("attempt sent %d value bytes, want the %d of the value", len(got), len(value))
				}
			}
		})
	}
}

func TestValuesPutNonSeekableNotRetried(t *testing.T) {
	t.Parallel()
	readers := map[string]func([]byte) io.Reader{
		"MultiReader":    func(b []byte) io.Reader { return io.MultiReader(bytes.NewReader(b)) },
		"wrapped reader": func(b []byte) io.Reader { return struct{ io.Reader }{bytes.NewReader(b)} },
	}
	for name, mk := range readers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, m := setup(t)
			m.on("PUT", vkValueURL("k"), jsonResponder(503, failure(10001, "unavailable")))
			err := c.Values.Put(t.Context(), testNS, "k", mk([]byte("once only")), nil)
			var ae *workerskv.APIError
			if !errors.As(err, &ae) || ae.StatusCode != 503 {
				t.Fatalf("Put: %v, want an APIError 503", err)
			}
			if rec := vkOne(t, m); string(rec.Body) != "once only" {
				t.Fatalf("body %q", rec.Body)
			}
		})
	}
}

func TestValuesPutFromReaderPosition(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	var lens vkLengths
	m.on("PUT", vkValueURL("k"), lens.wrap(httpmock.NewStringResponder(503, "").Then(jsonResponder(200, envelope("null")))))
	br := bytes.NewReader([]byte("abcdefgh"))
	if _, err := br.Read(make([]byte, 3)); err != nil {
		t.Fatal(err)
	}
	if err := c.Values.Put(t.Context(), testNS, "k", br, nil); err != nil {
		t.Fatal(err)
	}
	reqs := m.requests()
	if len(reqs) != 2 || string(reqs[0].Body) != "defgh" || string(reqs[1].Body) != "defgh" || lens.n[0] != 5 || lens.n[1] != 5 {
		t.Fatalf("requests %+v, lengths %v; want two attempts sending %q", reqs, lens.n, "defgh")
	}
}

// TestKVPutNilValue: a nil []byte through the handle is an empty value, not a crash.
func TestKVPutNilValue(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("PUT", nsURL+"/"+testNS+"/values/k", jsonResponder(200, envelope("null")))
	if err := c.KV(testNS).Put(t.Context(), "k", nil, nil); err != nil {
		t.Fatal(err)
	}
	if reqs := m.requests(); len(reqs) != 1 || len(reqs[0].Body) != 0 {
		t.Fatalf("requests: %+v", reqs)
	}
}

// TestValuesGetTruncated: a value body that ends before its Content-Length is an error, not a short
// value.
func TestValuesGetTruncated(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("GET", vkValueURL("k"), func(*http.Request) (*http.Response, error) {
		return &http.Response{
			StatusCode: 200, ContentLength: 100, Header: http.Header{"Content-Type": {"application/octet-stream"}},
			Body: io.NopCloser(strings.NewReader("only 17 bytes...")),
		}, nil
	})
	v, err := c.Values.Get(t.Context(), testNS, "k")
	if !errors.Is(err, io.ErrUnexpectedEOF) || v != nil {
		t.Fatalf("Get = %q, %v; want no value and io.ErrUnexpectedEOF", v, err)
	}
}

// TestValuesGetReusesConnection: reading values one after another keeps to one connection, because
// each read runs to the end of its body before it returns.
func TestValuesGetReusesConnection(t *testing.T) {
	t.Parallel()
	value := bytes.Repeat([]byte("v"), 100)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(value)))
		w.Write(value)
	}))
	var conns atomic.Int32
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c, err := workerskv.NewClient(workerskv.WithAPIToken(canaryToken), workerskv.WithAccountID(testAccount),
		workerskv.WithBaseURL(srv.URL+"/client/v4"), workerskv.WithHTTPClient(&http.Client{Transport: tr}))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		v, err := c.Values.Get(t.Context(), testNS, "k")
		if err != nil || !bytes.Equal(v, value) {
			t.Fatalf("Get %d = %q, %v", i, v, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("20 reads used %d connections, want 1", n)
	}
}
