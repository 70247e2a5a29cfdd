package emulatorcmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/workerskv/workerskv/emulator"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// syncBuffer is an io.Writer the server goroutine writes while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var baseURLLine = regexp.MustCompile(`base URL:\s+(\S+)`)

// server is one Run in the background.
type server struct {
	base   string // http://127.0.0.1:PORT/client/v4
	out    *syncBuffer
	errOut *syncBuffer // stderr: the request log
	cancel context.CancelFunc
	done   chan error
}

// start runs Run with args plus -addr 127.0.0.1:0 and waits for its base URL.
func start(t *testing.T, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{out: &syncBuffer{}, errOut: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() {
		s.done <- Run(ctx, "kvemulator", append([]string{"-addr", "127.0.0.1:0"}, args...), s.out, s.errOut)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := baseURLLine.FindStringSubmatch(s.out.String()); m != nil {
			s.base = m[1]
			break
		}
		select {
		case err := <-s.done:
			t.Fatalf("run returned before listening: %v\n%s", err, s.out)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no base URL printed:\n%s", s.out)
		}
	}
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop cancels the context (as SIGINT does) and waits for run to return.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if s.done == nil {
		return
	}
	s.cancel()
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	s.done = nil
	http.DefaultClient.CloseIdleConnections()
}

// call makes one request with the token and returns status and body.
func (s *server) call(t *testing.T, token, method, path, contentType, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func TestServePersistsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	const token, account = "test-token", "acc0123"
	args := []string{"-data", dir, "-token", token, "-account", account}
	s := start(t, args...)
	out := s.out.String()
	for _, want := range []string{"/client/v4", account, token, dir, "curl -H \"Authorization: Bearer " + token + "\" " + s.base + "/accounts/" + account + "/storage/kv/namespaces"} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.HasPrefix(s.base, "http://127.0.0.1:") || strings.HasSuffix(s.base, ":0/client/v4") {
		t.Fatalf("base URL %q does not name the real port", s.base)
	}

	nsPath := "/accounts/" + account + "/storage/kv/namespaces"
	code, body := s.call(t, token, http.MethodPost, nsPath, "application/json", `{"title":"cli"}`)
	var created struct {
		Success bool
		Result  struct{ ID, Title string }
	}
	if err := json.Unmarshal(body, &created); code != 200 || err != nil || !created.Success || created.Result.ID == "" {
		t.Fatalf("create namespace: %d %s", code, body)
	}
	valuePath := nsPath + "/" + created.Result.ID + "/values/" + url.PathEscape("greeting/en")
	if code, body := s.call(t, token, http.MethodPut, valuePath+"?expiration_ttl=3600", "text/plain", "hello, world"); code != 200 {
		t.Fatalf("put: %d %s", code, body)
	}
	if code, body := s.call(t, token, http.MethodGet, valuePath, "", ""); code != 200 || string(body) != "hello, world" {
		t.Fatalf("get: %d %q", code, body)
	}
	listKeys := func(s *server) string {
		t.Helper()
		code, body := s.call(t, token, http.MethodGet, nsPath+"/"+created.Result.ID+"/keys", "", "")
		var list struct {
			Result []struct {
				Name       string
				Expiration int64
			}
		}
		if err := json.Unmarshal(body, &list); code != 200 || err != nil || len(list.Result) != 1 {
			t.Fatalf("list keys: %d %s", code, body)
		}
		if list.Result[0].Expiration == 0 {
			t.Fatalf("key lost its expiration: %s", body)
		}
		return list.Result[0].Name
	}
	if name := listKeys(s); name != "greeting/en" {
		t.Fatalf("listed %q", name)
	}
	if code, _ := s.call(t, "wrong", http.MethodGet, valuePath, "", ""); code != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d", code)
	}
	s.stop(t)
	if !strings.Contains(s.out.String(), "shutting down") {
		t.Fatalf("no shutdown message:\n%s", s.out)
	}

	s2 := start(t, args...)
	if code, body := s2.call(t, token, http.MethodGet, valuePath, "", ""); code != 200 || string(body) != "hello, world" {
		t.Fatalf("get after restart: %d %q", code, body)
	}
	if name := listKeys(s2); name != "greeting/en" {
		t.Fatalf("listed %q after restart", name)
	}
}

func TestServeInMemoryDefaults(t *testing.T) {
	s := start(t)
	out := s.out.String()
	for _, want := range []string{emulator.DefaultAPIToken, emulator.DefaultAccountID, "in memory"} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
	code, body := s.call(t, emulator.DefaultAPIToken, http.MethodGet, "/accounts/"+emulator.DefaultAccountID+"/storage/kv/namespaces", "", "")
	if code != 200 || !strings.Contains(string(body), `"success":true`) {
		t.Fatalf("list namespaces: %d %s", code, body)
	}
}

func TestRunErrors(t *testing.T) {
	ctx := context.Background()
	var out bytes.Buffer
	if err := Run(ctx, "kvemulator", []string{"-nope"}, &out, io.Discard); err == nil {
		t.Fatal("unknown flag accepted")
	}
	var usage bytes.Buffer
	if err := Run(ctx, "kvemulator", []string{"-h"}, &out, &usage); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	for _, want := range []string{"Usage of kvemulator:", "-api-key key", "-email email", "-log FORMAT", "KVEMULATOR_API_KEY", "KVEMULATOR_EMAIL"} {
		if !strings.Contains(usage.String(), want) {
			t.Fatalf("usage on stderr lacks %q:\n%s", want, usage.String())
		}
	}
	if err := Run(ctx, "kvemulator", []string{"extra"}, &out, io.Discard); err == nil {
		t.Fatal("extra argument accepted")
	}
	if err := Run(ctx, "kvemulator", []string{"-addr", "256.0.0.1:0"}, &out, io.Discard); err == nil {
		t.Fatal("bad address accepted")
	}
	// A data directory in use by a running server cannot be opened twice.
	dir := t.TempDir()
	start(t, "-data", dir)
	if err := Run(ctx, "kvemulator", []string{"-addr", "127.0.0.1:0", "-data", dir}, &out, io.Discard); err == nil {
		t.Fatal("second server on the same data directory started")
	}
}

func TestParseRateLimit(t *testing.T) {
	for _, tc := range []struct {
		in  string
		n   int
		per time.Duration
	}{
		{"1200/5m", 1200, 5 * time.Minute},
		{"1/1s", 1, time.Second},
		{"10/1m30s", 10, 90 * time.Second},
		{"", 0, 0},
	} {
		n, per, err := parseRateLimit(tc.in)
		if err != nil || n != tc.n || per != tc.per {
			t.Errorf("parseRateLimit(%q) = %d, %v, %v; want %d, %v", tc.in, n, per, err, tc.n, tc.per)
		}
	}
	for _, in := range []string{"abc", "0/5m", "-1/5m", "10/0s", "10/-5m", "10/", "/5m", "10", "10/5", "1.5/5m", "10/5m/1"} {
		if n, per, err := parseRateLimit(in); err == nil {
			t.Errorf("parseRateLimit(%q) = %d, %v; want an error", in, n, per)
		}
	}
}

func TestRateLimitFlag(t *testing.T) {
	ctx := context.Background()
	for _, bad := range []string{"abc", "0/5m", "10/0s", "10/"} {
		var out bytes.Buffer
		err := Run(ctx, "kvemulator", []string{"-addr", "127.0.0.1:0", "-rate-limit", bad}, &out, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "-rate-limit") || ExitCode(err) != 2 {
			t.Fatalf("-rate-limit %q: err %v, exit code %d; want a usage error naming the flag, exit 2", bad, err, ExitCode(err))
		}
		if out.Len() != 0 {
			t.Fatalf("-rate-limit %q: started anyway:\n%s", bad, out.String())
		}
	}
	if got := ExitCode(errors.New("listen: address in use")); got != 1 {
		t.Fatalf("exit code %d for a runtime error, want 1", got)
	}

	// Off by default: no rate-limit line, no headers.
	s := start(t)
	if strings.Contains(s.out.String(), "rate limit") {
		t.Fatalf("banner mentions a rate limit that is off:\n%s", s.out)
	}
	nsPath := "/accounts/" + emulator.DefaultAccountID + "/storage/kv/namespaces"
	resp, err := http.Get(s.base + nsPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Ratelimit-Policy"); got != "" {
		t.Fatalf("Ratelimit-Policy %q without -rate-limit", got)
	}
	s.stop(t)

	s = start(t, "-rate-limit", "3/1m")
	if !strings.Contains(s.out.String(), "rate limit: 3 requests per 1m0s") {
		t.Fatalf("banner lacks the rate limit:\n%s", s.out)
	}
	get := func() *http.Response {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, s.base+nsPath, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+emulator.DefaultAPIToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	for i := range 3 {
		resp := get()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Ratelimit"), `"default";r=`+strconv.Itoa(2-i)+";") ||
			resp.Header.Get("Ratelimit-Policy") != `"default";q=3;w=60` {
			t.Fatalf("request %d: %d, Ratelimit %q, Ratelimit-Policy %q", i+1, resp.StatusCode, resp.Header.Get("Ratelimit"), resp.Header.Get("Ratelimit-Policy"))
		}
	}
	if resp := get(); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "60" {
		t.Fatalf("request 4: %d, Retry-After %q; want 429, 60", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}
