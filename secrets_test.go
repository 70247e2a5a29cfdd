package workerskv_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/workerskv/workerskv"
	"github.com/workerskv/workerskv/emulator"
	"github.com/workerskv/workerskv/kvtest"
)

// The canary API key and email; canaryToken is in helpers_test.go.
const (
	canaryKey   = "CANARY-key-7d41b09e2c5a"
	canaryEmail = "canary-5be0@example.com"
)

// canaries are the secrets, and distinctive parts of them, that must never be printed anywhere.
var canaries = []string{canaryToken, "3f9a1c7e5b2d4068", canaryKey, "7d41b09e2c5a", canaryEmail, "canary-5be0"}

// secretAuths are both kinds of credentials, made of canaries.
func secretAuths() map[string]workerskv.Option {
	return map[string]workerskv.Option{
		"token": workerskv.WithAPIToken(canaryToken),
		"key":   workerskv.WithAPIKey(canaryKey, canaryEmail),
	}
}

// leakSink collects all the library prints: errors in every verb, formatted values, panic messages,
// and its logs through a debug-level text handler and a JSON handler.
type leakSink struct {
	mu       sync.Mutex
	text, js bytes.Buffer
	printed  strings.Builder
	errs     int
}

type sinkWriter struct {
	s   *leakSink
	buf *bytes.Buffer
}

func (w sinkWriter) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return w.buf.Write(p)
}

func (s *leakSink) logger() *slog.Logger {
	o := &slog.HandlerOptions{Level: slog.LevelDebug}
	return slog.New(slog.NewMultiHandler(
		slog.NewTextHandler(sinkWriter{s, &s.text}, o),
		slog.NewJSONHandler(sinkWriter{s, &s.js}, o)))
}

// err records an error (nil is ignored) in %v, %+v and %#v.
func (s *leakSink) err(err error) {
	if err == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs++
	fmt.Fprintf(&s.printed, "%v\n%+v\n%#v\n%s\n", err, err, err, err.Error())
}

// value records each v in %v, %+v, %#v, %s, %q and %t.
func (s *leakSink) value(vs ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range vs {
		// %v and %s use String and %#v GoString when there are; %q and %t print fields when there are not.
		fmt.Fprintf(&s.printed, "%v\n%+v\n%#v\n%s\n%q\n%t\n", v, v, v, v, v, v)
	}
}

// call runs f, recording its error and, if it panics, the panic value.
func (s *leakSink) call(f func() error) {
	defer func() {
		if r := recover(); r != nil {
			s.value(r, fmt.Sprint(r))
		}
	}()
	s.err(f())
}

// check fails the test if any canary was printed, and if nothing at all was logged or failed (the
// scenario would prove nothing).
func (s *leakSink) check(t *testing.T, minErrs int) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, out := range map[string]string{"printed": s.printed.String(), "text log": s.text.String(), "JSON log": s.js.String()} {
		for _, c := range canaries {
			if i := strings.Index(out, c); i >= 0 {
				t.Errorf("%s shows %q: …%s…", name, c, out[max(0, i-200):min(len(out), i+100)])
			}
		}
	}
	if s.errs < minErrs || s.text.Len() == 0 || s.js.Len() == 0 || !json.Valid(bytes.SplitN(s.js.Bytes(), []byte("\n"), 2)[0]) {
		t.Errorf("the scenario proved little: %d errors (want %d), %d bytes of text log, %d of JSON", s.errs, minErrs, s.text.Len(), s.js.Len())
	}
}

// TestSecretsNeverPrintedMock runs successes, 4xx, 5xx with retries, 429 with a long Retry-After,
// connection failures, truncated JSON, HTML, cancelled contexts and bulk jobs against httpmock, with
// both kinds of canary credentials, and looks for them in every error, log line and formatted value.
func TestSecretsNeverPrintedMock(t *testing.T) {
	t.Parallel()
	for name, auth := range secretAuths() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := &leakSink{}
			mt := httpmock.NewMockTransport()
			m := &mockServer{MockTransport: mt}
			mt.RegisterNoResponder(httpmock.ConnectionFailure)
			c, err := workerskv.NewClient(auth, workerskv.WithAccountID(testAccount), workerskv.WithBaseURL(testBase),
				workerskv.WithHTTPClient(&http.Client{Transport: mt}), workerskv.WithBackoff(time.Millisecond, 2*time.Millisecond),
				workerskv.WithMaxRetries(2), workerskv.WithLogger(s.logger()))
			if err != nil {
				t.Fatal(err)
			}
			ns := nsURL + "/" + testNS
			m.on("GET", nsURL+"/"+testNS, withRay(200, envelope(nsJSON(testNS, "t"))))
			m.on("GET", nsURL+"/ffff0000ffff0000ffff0000ffff0001", jsonResponder(404, failure(10013, "namespace not found")))
			m.on("GET", nsURL+"/ffff0000ffff0000ffff0000ffff0002", jsonResponder(403, failure(10000, "Authentication error")))
			m.on("GET", nsURL+"/ffff0000ffff0000ffff0000ffff0003", jsonResponder(500, failure(10001, "internal")).Then(jsonResponder(200, envelope(nsJSON("f", "t")))))
			m.on("GET", nsURL+"/ffff0000ffff0000ffff0000ffff0004", jsonResponder(503, failure(10001, "unavailable")))
			m.on("GET", nsURL+"/ffff0000ffff0000ffff0000ffff0005", retryAfter(3600))
			m.on("GET", nsURL+"/ffff0000ffff0000ffff0000ffff0006", jsonResponder(200, `{"success":true,"result":{"id":`))
			m.on("GET", nsURL+"/ffff0000ffff0000ffff0000ffff0007", httpmock.NewStringResponder(502, "<html><body>Bad gateway</body></html>"))
			m.on("GET", ns+"/values/a", httpmock.NewStringResponder(200, "value"))
			m.on("PUT", ns+"/values/a", jsonResponder(200, envelope("null")))
			m.on("PUT", ns+"/values/big", jsonResponder(413, failure(10024, "payload too large")))
			m.on("GET", ns+"/keys", jsonResponder(200, `{"success":true,"errors":[],"messages":[],"result":[{"name":"a","metadata":{"m":1}}],"result_info":{"count":1,"cursor":"c1"}}`).
				Then(jsonResponder(500, failure(10001, "internal"))))
			m.on("PUT", ns+"/bulk", jsonResponder(500, failure(10001, "internal")))
			m.on("POST", ns+"/bulk/delete", jsonResponder(200, envelope(`{"successful_key_count":2,"unsuccessful_keys":[]}`)))
			m.on("POST", ns+"/bulk/get", jsonResponder(200, `{"success":true,"result":{"values":`))
			m.on("POST", nsURL, jsonResponder(400, failure(10014, "a namespace with this title already exists")))

			ctx := t.Context()
			for i := range 8 {
				s.call(func() error {
					n, err := c.Namespaces.Get(ctx, fmt.Sprintf("ffff0000ffff0000ffff0000ffff%04d", i))
					s.value(n)
					return err
				})
			}
			s.call(func() error { n, err := c.Namespaces.Get(ctx, testNS); s.value(n); return err })
			s.call(func() error { _, err := c.Namespaces.Create(ctx, "dup"); return err })
			s.call(func() error { _, err := c.Namespaces.Get(ctx, "0123456789abcdef0123456789abcdee"); return err }) // connection failure
			kv := c.KV(testNS)
			s.value(c, *c, []workerskv.Client{*c}, struct{ C workerskv.Client }{*c}, c.Namespaces, c.Values, c.Keys, c.Bulk, kv, *kv, withAccount(t, c, "x"), auth)
			// In unexported fields fmt cannot call Format or String, and prints the fields themselves;
			// a verb that does not suit a pointer prints what it points to.
			s.value(struct{ c workerskv.Client }{*c}, struct{ c *workerskv.Client }{c}, struct{ kv workerskv.KV }{*kv},
				struct{ s *workerskv.ValuesService }{c.Values}, struct{ kv *workerskv.KV }{kv})
			s.call(func() error { v, err := kv.Get(ctx, "a"); s.value(v); return err })
			s.call(func() error {
				return kv.Put(ctx, "a", []byte("v"), &workerskv.PutOptions{Metadata: map[string]int{"m": 1}})
			})
			s.call(func() error { return kv.Put(ctx, "big", []byte("v"), nil) })
			s.call(func() error {
				p, err := c.Keys.List(ctx, testNS, nil)
				s.value(p)
				if p != nil {
					_, err = c.Keys.List(ctx, testNS, &workerskv.ListKeysOptions{Cursor: p.Cursor})
				}
				return err
			})
			s.call(func() error {
				r, err := c.Bulk.Put(ctx, testNS, []workerskv.BulkPair{{Key: "a", Value: []byte("1")}}, nil)
				s.value(r)
				return err
			})
			s.call(func() error { r, err := c.Bulk.Delete(ctx, testNS, []string{"a", "b"}, nil); s.value(r); return err })
			s.call(func() error { r, err := c.Bulk.Get(ctx, testNS, []string{"a"}, nil); s.value(r); return err })
			cancelled, cancel := context.WithCancel(ctx)
			cancel()
			s.call(func() error { _, err := c.Values.Get(cancelled, testNS, "a"); return err })
			s.call(func() error {
				r, err := c.Bulk.Put(cancelled, testNS, []workerskv.BulkPair{{Key: "a", Value: []byte("1")}}, nil)
				s.value(r)
				return err
			})
			oddInputs(s, c, kv)
			s.check(t, 14)
		})
	}
}

// oddInputs calls the API with nil and malformed input, recording errors and panics.
func oddInputs(s *leakSink, c *workerskv.Client, kv *workerskv.KV) {
	var nilCtx context.Context
	var nilClient *workerskv.Client
	var nilKV *workerskv.KV
	ctx := context.Background()
	s.call(func() error { return c.Values.Put(ctx, testNS, "k", nil, nil) })
	s.call(func() error { _, err := c.Values.Get(nilCtx, testNS, "k"); return err })
	s.call(func() error {
		return c.Values.Put(ctx, testNS, "k", strings.NewReader("v"), &workerskv.PutOptions{Metadata: func() {}})
	})
	s.call(func() error { return c.Values.Put(ctx, testNS, "", strings.NewReader("v"), nil) })
	s.call(func() error { return c.Values.Put(ctx, "", "k", strings.NewReader("v"), nil) })
	s.call(func() error { _, err := c.Bulk.Put(ctx, testNS, []workerskv.BulkPair{{Key: ".."}}, nil); return err })
	s.call(func() error { _, err := c.Bulk.Get(ctx, testNS, []string{""}, nil); return err })
	s.call(func() error { _, err := c.Keys.List(ctx, testNS, &workerskv.ListKeysOptions{Limit: 1}); return err })
	s.call(func() error { s.value(nilClient); return nil })
	s.call(func() error { _, err := nilClient.Values.Get(ctx, testNS, "k"); return err })
	s.call(func() error { _, err := nilKV.Get(ctx, "k"); return err })
	s.call(func() error { return kv.Put(ctx, "k", nil, &workerskv.PutOptions{ExpirationTTL: time.Second}) })
}

// withRay answers like jsonResponder, with a Cf-Ray header.
func withRay(status int, body string) httpmock.Responder {
	return func(*http.Request) (*http.Response, error) {
		r := httpmock.NewStringResponse(status, body)
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Cf-Ray", "8f00000000000000-SJC")
		return r, nil
	}
}

// retryAfter answers 429 asking for a wait of secs seconds.
func retryAfter(secs int) httpmock.Responder {
	return func(*http.Request) (*http.Response, error) {
		r := httpmock.NewStringResponse(429, failure(971, "Please wait and consider throttling your request speed"))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Retry-After", strconv.Itoa(secs))
		return r, nil
	}
}

// TestSecretsNeverPrintedNetwork covers failures only a real transport gives: a refused connection, a
// connection closed without an answer, a body cut short, and a token net/http refuses to send.
func TestSecretsNeverPrintedNetwork(t *testing.T) {
	t.Parallel()
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/short") {
			w.Header().Set("Content-Length", "100")
			_, _ = w.Write([]byte(`{"success":true,"result":{"id":"`))
			return
		}
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	}))
	defer hang.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String() + "/client/v4"
	_ = ln.Close()
	auths := secretAuths()
	auths["bad token"] = workerskv.WithAPIToken(canaryToken + "\r\nX-Injected: 1")
	for name, auth := range auths {
		s := &leakSink{}
		for _, base := range []string{hang.URL + "/client/v4", refused} {
			tr := &http.Transport{}
			c, err := workerskv.NewClient(auth, workerskv.WithAccountID(testAccount), workerskv.WithBaseURL(base),
				workerskv.WithHTTPClient(&http.Client{Transport: tr}), workerskv.WithBackoff(time.Millisecond, 2*time.Millisecond),
				workerskv.WithMaxRetries(1), workerskv.WithLogger(s.logger()))
			if err != nil {
				t.Fatal(err)
			}
			s.call(func() error { _, err := c.Namespaces.Get(t.Context(), testNS); return err })
			s.call(func() error { _, err := c.Namespaces.Get(t.Context(), "short"); return err })
			s.call(func() error { return c.Values.Put(t.Context(), testNS, "k", strings.NewReader("v"), nil) })
			tr.CloseIdleConnections()
		}
		t.Run(name, func(t *testing.T) { s.check(t, 6) })
	}
}

// TestSecretsNeverPrintedEmulator runs a workload against the emulator with faults, with both kinds of
// canary credentials, and a client whose credentials the emulator refuses.
func TestSecretsNeverPrintedEmulator(t *testing.T) {
	t.Parallel()
	srv := kvtest.NewServer(t, kvtest.WithEmulatorOptions(
		emulator.WithAPIToken(canaryToken), emulator.WithAPIKey(canaryKey, canaryEmail),
		emulator.WithFaults(emulator.Faults{Seed: 9, ServerError: 0.2, Drop: 0.1, Slow: 0.1, Latency: 5 * time.Millisecond})))
	auths := secretAuths()
	auths["refused"] = workerskv.WithAPIKey(canaryKey+"-wrong", canaryEmail)
	for name, auth := range auths {
		t.Run(name, func(t *testing.T) {
			s := &leakSink{}
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			c, err := workerskv.NewClient(auth, workerskv.WithAccountID(srv.AccountID), workerskv.WithBaseURL(srv.URL),
				workerskv.WithHTTPClient(&http.Client{Transport: tr}), workerskv.WithBackoff(time.Millisecond, 5*time.Millisecond),
				workerskv.WithMaxRetries(8), workerskv.WithLogger(s.logger()))
			if err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			id := testNS
			s.call(func() error {
				n, err := c.Namespaces.Create(ctx, "secrets-"+name)
				if n != nil {
					id = n.ID
				}
				s.value(n)
				return err
			})
			kv := c.KV(id)
			s.call(func() error {
				return kv.Put(ctx, "a/b", []byte("v"), &workerskv.PutOptions{Metadata: map[string]string{"x": "y"}})
			})
			s.call(func() error { _, err := kv.Get(ctx, "a/b"); return err })
			s.call(func() error { _, err := kv.Get(ctx, "missing"); return err })
			s.call(func() error { _, err := kv.Metadata(ctx, "a/b"); return err })
			for k, err := range kv.All(ctx, nil) {
				s.value(k)
				s.err(err)
			}
			s.call(func() error {
				r, err := c.Bulk.Put(ctx, id, []workerskv.BulkPair{{Key: "x", Value: []byte("1")}, {Key: "y", Value: []byte{0xff}}}, nil)
				s.value(r)
				return err
			})
			s.call(func() error { m, err := c.Bulk.Get(ctx, id, []string{"x", "z"}, nil); s.value(m); return err })
			s.call(func() error { r, err := c.Bulk.Delete(ctx, id, []string{"x", "y"}, nil); s.value(r); return err })
			s.call(func() error {
				_, err := withAccount(t, c, "ffffffffffffffffffffffffffffffff").Namespaces.List(ctx, nil)
				return err
			})
			s.call(func() error { return c.Namespaces.Delete(ctx, id) })
			s.call(func() error { _, err := kv.Get(ctx, "a/b"); return err })
			s.call(func() error { return c.Bulk.Export(ctx, id, io.Discard, nil) })
			s.value(c, kv)
			s.check(t, 4)
		})
	}
}
