package workerskv_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/workerskv/workerskv"
)

// fmtAll formats v with every verb that might reveal a secret.
func fmtAll(v any) string { return fmt.Sprintf("%v %+v %#v", v, v, v) }

// setupAuth is setup with other credentials than the canary token.
func setupAuth(t *testing.T, auth workerskv.Option, opts ...workerskv.Option) (*workerskv.Client, *mockServer) {
	t.Helper()
	mt := httpmock.NewMockTransport()
	m := &mockServer{MockTransport: mt}
	mt.RegisterNoResponder(func(req *http.Request) (*http.Response, error) {
		t.Errorf("unexpected request %s %s", req.Method, req.URL.String())
		return httpmock.NewStringResponse(599, "no responder"), nil
	})
	c, err := workerskv.NewClient(append([]workerskv.Option{
		auth,
		workerskv.WithAccountID(testAccount),
		workerskv.WithBaseURL(testBase),
		workerskv.WithHTTPClient(&http.Client{Transport: mt}),
		workerskv.WithBackoff(time.Millisecond, 2*time.Millisecond),
	}, opts...)...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c, m
}

// withHeader answers like jsonResponder, with one more response header.
func withHeader(status int, body, name, value string) httpmock.Responder {
	return func(*http.Request) (*http.Response, error) {
		r := httpmock.NewStringResponse(status, body)
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set(name, value)
		return r, nil
	}
}

func TestNotFoundAPIError(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("GET", nsURL+"/"+testNS, withHeader(404, failure(10013, "namespace not found"), "Cf-Ray", "8f1e2d3c4b5a6978-SJC"))
	_, err := c.Namespaces.Get(t.Context(), testNS)
	if !errors.Is(err, workerskv.ErrNotFound) || errors.Is(err, workerskv.ErrConflict) {
		t.Fatalf("err = %v: want ErrNotFound only", err)
	}
	e, ok := errors.AsType[*workerskv.APIError](err)
	if !ok {
		t.Fatalf("err = %T, want *APIError", err)
	}
	wantErrs := []workerskv.ResponseError{{Code: 10013, Message: "namespace not found"}}
	if e.StatusCode != 404 || !slices.Equal(e.Errors, wantErrs) || e.RayID != "8f1e2d3c4b5a6978-SJC" ||
		e.Method != "GET" || e.Path != "/accounts/"+testAccount+"/storage/kv/namespaces/"+testNS || e.Attempts != 1 {
		t.Errorf("APIError = %+v", *e)
	}
	for _, part := range []string{"GET", e.Path, "404", "10013 namespace not found", "8f1e2d3c4b5a6978-SJC"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q lacks %q", err, part)
		}
	}
	onlyRequest(t, m) // a 404 is not retried
}

func TestAPIErrorIs(t *testing.T) {
	t.Parallel()
	sentinels := map[string]error{
		"ErrNotFound": workerskv.ErrNotFound, "ErrUnauthorized": workerskv.ErrUnauthorized,
		"ErrForbidden": workerskv.ErrForbidden, "ErrRateLimited": workerskv.ErrRateLimited,
		"ErrConflict": workerskv.ErrConflict, "ErrInvalidInput": workerskv.ErrInvalidInput,
	}
	cases := []struct {
		name         string
		status, code int // code 0: a failure envelope without a known code
		want         error
	}{
		{"401", 401, 0, workerskv.ErrUnauthorized},
		{"403", 403, 0, workerskv.ErrForbidden},
		{"404", 404, 0, workerskv.ErrNotFound},
		{"409", 409, 0, workerskv.ErrConflict},
		{"429", 429, 0, workerskv.ErrRateLimited},
		{"400", 400, 0, workerskv.ErrInvalidInput},
		{"413", 413, 0, workerskv.ErrInvalidInput},
		{"500", 500, 0, nil},
		{"10009 key not found", 400, 10009, workerskv.ErrNotFound},
		{"10013 namespace not found", 400, 10013, workerskv.ErrNotFound},
		{"10014 title exists on 400", 400, 10014, workerskv.ErrConflict},
		{"10000 authentication", 400, 10000, workerskv.ErrUnauthorized},
		{"10037 permission", 400, 10037, workerskv.ErrForbidden},
		{"unknown code on 400", 400, 1234, workerskv.ErrInvalidInput},
		{"404 with 10013", 404, 10013, workerskv.ErrNotFound},
		// As the live service answers (spec/kv-api.md, "Evidence from the live service").
		{"duplicate title 400/10014", 400, 10014, workerskv.ErrConflict},
		{"unknown token 401/10000", 401, 10000, workerskv.ErrUnauthorized},
		{"no credentials 400/9106", 400, 9106, workerskv.ErrUnauthorized},
		{"token lacks permission 403/10000", 403, 10000, workerskv.ErrForbidden},
		{"token lacks permission 403/10037", 403, 10037, workerskv.ErrForbidden},
		{"token lacks permission 403/9109", 403, 9109, workerskv.ErrForbidden},
		{"account rate limit 429/971", 429, 971, workerskv.ErrRateLimited},
		{"unknown route 400/7003", 400, 7003, workerskv.ErrInvalidInput},
		{"unknown route 400/7000", 400, 7000, workerskv.ErrInvalidInput},
		{"unknown route answered 404/7003", 404, 7003, workerskv.ErrInvalidInput},
		{"list limit 400/10028", 400, 10028, workerskv.ErrInvalidInput},
		{"bulk write over 10,000 pairs 400/10012", 400, 10012, workerskv.ErrInvalidInput},
		{"bulk get of a non-text value 400/10029", 400, 10029, workerskv.ErrInvalidInput},
		{"expiration in the past 400/10033", 400, 10033, workerskv.ErrInvalidInput},
		{"metadata not json 400/10147", 400, 10147, workerskv.ErrInvalidInput},
		{"metadata not json 415/10147", 415, 10147, workerskv.ErrInvalidInput},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, m := setup(t, workerskv.WithMaxRetries(workerskv.NoRetries))
			body := failure(tc.code, "boom")
			if tc.code == 0 {
				body = `{"success":false,"errors":[],"messages":[],"result":null}`
			}
			m.on("GET", nsURL+"/"+testNS, jsonResponder(tc.status, body))
			_, err := c.Namespaces.Get(t.Context(), testNS)
			err = fmt.Errorf("wrapped: %w", err)
			for name, s := range sentinels {
				if got := errors.Is(err, s); got != (s == tc.want) {
					t.Errorf("errors.Is(%v, %s) = %v", err, name, got)
				}
			}
		})
	}
	var ve error = &workerskv.ValidationError{Field: "title", Reason: "empty"}
	if !errors.Is(fmt.Errorf("w: %w", ve), workerskv.ErrInvalidInput) || errors.Is(ve, workerskv.ErrNotFound) {
		t.Error("ValidationError must match ErrInvalidInput and nothing else")
	}
}

// TestAPIErrorHasCode: HasCode finds a code among all of Cloudflare's errors, and only a code that
// is there.
func TestAPIErrorHasCode(t *testing.T) {
	t.Parallel()
	e := &workerskv.APIError{StatusCode: 400, Errors: []workerskv.ResponseError{{Code: 10001, Message: "a"}, {Code: 10029, Message: "b"}}}
	for code, want := range map[int]bool{10001: true, 10029: true, 10009: false, 0: false} {
		if got := e.HasCode(code); got != want {
			t.Errorf("HasCode(%d) = %v, want %v", code, got, want)
		}
	}
	if (&workerskv.APIError{StatusCode: 500}).HasCode(0) {
		t.Error("an error without codes has code 0")
	}
}

// TestUnexpectedBodies: bodies that are not the v4 envelope still give useful, short errors.
func TestUnexpectedBodies(t *testing.T) {
	t.Parallel()
	html := "<!DOCTYPE html>\n<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n" +
		strings.Repeat("<p>cloudflare is having trouble</p>\n", 200) + "</body>\n</html>\n"
	cases := []struct {
		name, body string
		status     int
		apiErr     bool   // an *APIError with this status
		contains   string // in the error message
	}{
		{"html 502", html, 502, true, "502 Bad Gateway"},
		{"empty 500", "", 500, true, "empty"},
		{"non-envelope json 400", `{"error":"bad thing happened"}`, 400, true, "bad thing happened"},
		{"truncated json 500", `{"success":false,"errors":[{"code":10`, 500, true, "success"},
		{"200 success false", failure(10013, "namespace not found"), 200, true, "namespace not found"},
		{"truncated json 200", `{"success":true,"result":{"id":"ab`, 200, false, "malformed"},
		{"empty 200", "", 200, false, "malformed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, m := setup(t, workerskv.WithMaxRetries(workerskv.NoRetries))
			m.on("GET", nsURL+"/"+testNS, httpmock.NewStringResponder(tc.status, tc.body))
			ns, err := c.Namespaces.Get(t.Context(), testNS)
			if err == nil {
				t.Fatalf("Get = %+v, want an error", ns)
			}
			if !strings.Contains(err.Error(), tc.contains) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q: want %q in it and no newline", err, tc.contains)
			}
			e, ok := errors.AsType[*workerskv.APIError](err)
			if ok != tc.apiErr {
				t.Fatalf("err = %T %v; want *APIError: %v", err, err, tc.apiErr)
			}
			if !ok {
				return
			}
			if e.StatusCode != tc.status || len(e.Errors) == 0 {
				t.Errorf("APIError = %+v", *e)
			}
			for _, re := range e.Errors {
				if len(re.Message) >= 200 || strings.ContainsAny(re.Message, "\r\n") {
					t.Errorf("message is not a short excerpt: %q", re.Message)
				}
			}
		})
	}
}

// countingReader yields n bytes of JSON-ish filler and counts how many were read.
type countingReader struct {
	left int64
	read atomic.Int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), r.left))
	for i := range n {
		p[i] = 'x'
	}
	r.left -= int64(n)
	r.read.Add(int64(n))
	return n, nil
}

func TestErrorBodyReadLimit(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	body := &countingReader{left: 8 << 20}
	m.on("GET", nsURL+"/"+testNS, func(req *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 400, Header: http.Header{}, Body: io.NopCloser(body), Request: req}, nil
	})
	_, err := c.Namespaces.Get(t.Context(), testNS)
	if _, ok := errors.AsType[*workerskv.APIError](err); !ok {
		t.Fatalf("err = %v, want *APIError", err)
	}
	if n := body.read.Load(); n > 1<<20 {
		t.Errorf("read %d bytes of the error body, want at most 1 MiB", n)
	}
	if len(err.Error()) > 400 {
		t.Errorf("error message is %d bytes long", len(err.Error()))
	}
}

// TestCredentialsNeverLeak runs successes and failures with debug logging on and looks for the
// credentials in every error string, every log line and the client's formatting.
func TestCredentialsNeverLeak(t *testing.T) {
	t.Parallel()
	const key, email = "KEY-CANARY-91c2e8d47a", "canary-9f31@example.com"
	for name, auth := range map[string]workerskv.Option{
		"token": workerskv.WithAPIToken(canaryToken),
		"key":   workerskv.WithAPIKey(key, email),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
			c, m := setupAuth(t, auth, workerskv.WithLogger(logger), workerskv.WithMaxRetries(2))
			m.on("GET", nsURL+"/ok", withHeader(200, envelope(nsJSON("ok", "t")), "Cf-Ray", "ray-ok"))
			m.on("GET", nsURL+"/missing", jsonResponder(404, failure(10013, "namespace not found")))
			m.on("GET", nsURL+"/flaky", jsonResponder(500, failure(10001, "internal")).Then(jsonResponder(200, envelope(nsJSON("flaky", "t")))))
			m.on("GET", nsURL+"/down", httpmock.ConnectionFailure)
			m.on("GET", nsURL+"/trunc", jsonResponder(200, `{"success":true,"result":{"id":`))
			m.on("POST", nsURL, jsonResponder(400, failure(10014, "a namespace with this title already exists")))

			var errs []error
			for _, id := range []string{"ok", "missing", "flaky", "down", "trunc"} {
				if _, err := c.Namespaces.Get(t.Context(), id); err != nil {
					errs = append(errs, err)
				}
			}
			_, err := c.Namespaces.Create(t.Context(), "dup")
			errs = append(errs, err)
			if len(errs) != 4 {
				t.Fatalf("want 4 errors (missing, down, trunc, create), got %v", errs)
			}

			var all strings.Builder
			for _, err := range errs {
				fmt.Fprintf(&all, "%v\n%+v\n", err, err)
			}
			fmt.Fprintf(&all, "%s\n%s\n", fmtAll(c), fmtAll(withAccount(t, c, "x")))
			all.WriteString(buf.String())
			for _, secret := range []string{canaryToken, key, email} {
				if strings.Contains(all.String(), secret) {
					t.Errorf("%q leaked:\n%s", secret, all.String())
				}
			}
			log := buf.String()
			for _, want := range []string{
				"level=DEBUG", "method=GET", "path=" + nsPath + "/missing", "status=404", "attempt=1", "attempt=2",
				"cf_ray=ray-ok", "duration=", "method=POST", "path=" + nsPath + " ",
				`level=INFO msg="workerskv retry"`, "status=500",
			} {
				if !strings.Contains(log, want) {
					t.Errorf("log lacks %q:\n%s", want, log)
				}
			}
		})
	}
}

// TestAPIErrorMessageTamed: a server's messages are printed as one short line each, a few of them,
// so a hostile server cannot forge log lines or flood them.
func TestAPIErrorMessageTamed(t *testing.T) {
	t.Parallel()
	e := &workerskv.APIError{StatusCode: 400, Method: "GET", Path: "/x", Errors: []workerskv.ResponseError{
		{Code: 1000, Message: "bad\r\nlevel=ERROR msg=forged\x1b[31m"},
	}}
	for i := range 20 {
		e.Errors = append(e.Errors, workerskv.ResponseError{Code: 1001 + i, Message: strings.Repeat("é", 1000)})
	}
	s := e.Error()
	if strings.ContainsAny(s, "\r\n\x1b") {
		t.Fatalf("control characters printed: %q", s)
	}
	if !strings.Contains(s, "bad level=ERROR msg=forged [31m") || !strings.Contains(s, "and 13 more") || len(s) > 4096 {
		t.Fatalf("message not tamed as expected (%d bytes): %q", len(s), s)
	}
}

// TestNotFoundKinds: a missing key and a missing namespace are told apart by Cloudflare's code, and by
// whether the request named a key when there is no code; both match ErrNotFound.
func TestNotFoundKinds(t *testing.T) {
	t.Parallel()
	valueURL := nsURL + "/" + testNS + "/values/k"
	cases := []struct {
		name, method, url string
		status, code      int // code 0: no code in the body
		call              func(c *workerskv.Client) error
		want              error
	}{
		{"value 404/10009", "GET", valueURL, 404, 10009, getValue, workerskv.ErrKeyNotFound},
		{"value 404/10013", "GET", valueURL, 404, 10013, getValue, workerskv.ErrNamespaceNotFound},
		{"value 404 no code", "GET", valueURL, 404, 0, getValue, workerskv.ErrKeyNotFound},
		{"metadata 404 no code", "GET", nsURL + "/" + testNS + "/metadata/k", 404, 0, func(c *workerskv.Client) error {
			_, err := c.Keys.Metadata(context.Background(), testNS, "k")
			return err
		}, workerskv.ErrKeyNotFound},
		{"namespace 404 no code", "GET", nsURL + "/" + testNS, 404, 0, func(c *workerskv.Client) error {
			_, err := c.Namespaces.Get(context.Background(), testNS)
			return err
		}, workerskv.ErrNamespaceNotFound},
		{"keys 404/10013", "GET", nsURL + "/" + testNS + "/keys", 404, 10013, func(c *workerskv.Client) error {
			_, err := c.Keys.List(context.Background(), testNS, nil)
			return err
		}, workerskv.ErrNamespaceNotFound},
		{"400 is neither", "GET", valueURL, 400, 0, getValue, nil},
		// An unroutable path (a malformed account or namespace ID) is not a missing key, whatever its
		// status: a cache must not take it for a miss.
		{"value 400/7003 is neither", "GET", valueURL, 400, 7003, getValue, nil},
		{"value 404/7003 is neither", "GET", valueURL, 404, 7003, getValue, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, m := setup(t)
			body := failure(tc.code, "not found")
			if tc.code == 0 {
				body = `{"success":false,"errors":[],"messages":[],"result":null}`
			}
			m.on(tc.method, tc.url, jsonResponder(tc.status, body))
			err := fmt.Errorf("wrapped: %w", tc.call(c))
			for _, kind := range []error{workerskv.ErrKeyNotFound, workerskv.ErrNamespaceNotFound} {
				if got := errors.Is(err, kind); got != (kind == tc.want) {
					t.Errorf("errors.Is(%v, %v) = %v", err, kind, got)
				}
			}
			if got := errors.Is(err, workerskv.ErrNotFound); got != (tc.want != nil) {
				t.Errorf("errors.Is(%v, ErrNotFound) = %v", err, got)
			}
		})
	}
	for _, kind := range []error{workerskv.ErrKeyNotFound, workerskv.ErrNamespaceNotFound} {
		if !errors.Is(kind, workerskv.ErrNotFound) || errors.Is(kind, workerskv.ErrInvalidInput) {
			t.Errorf("%v must match ErrNotFound and no other category", kind)
		}
	}
	if errors.Is(workerskv.ErrNotFound, workerskv.ErrKeyNotFound) {
		t.Error("ErrNotFound must not match ErrKeyNotFound")
	}
}

func getValue(c *workerskv.Client) error {
	_, err := c.Values.Get(context.Background(), testNS, "k")
	return err
}
