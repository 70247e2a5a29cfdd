package emulatorcmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/workerskv/workerskv/emulator"
)

// callKey makes one GET with the X-Auth-Key and X-Auth-Email pair and
// returns its status.
func (s *server) callKey(t *testing.T, key, email, path string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Auth-Key", key)
	req.Header.Set("X-Auth-Email", email)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// waitLog waits until the server's stderr holds n lines and returns it. The
// request log's record of a request is written as its response is sent.
func (s *server) waitLog(t *testing.T, n int) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out := s.errOut.String()
		if strings.Count(out, "\n") >= n {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("stderr has fewer than %d lines:\n%s", n, out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

const nsPath = "/accounts/" + emulator.DefaultAccountID + "/storage/kv/namespaces"

func TestAPIKeyFlags(t *testing.T) {
	const key, email = "flag-key-1", "flag@example.com"
	s := start(t, "-api-key", key, "-email", email)
	out := s.out.String()
	for _, want := range []string{
		"  API token:  " + emulator.DefaultAPIToken + "\n  API key:    " + key + "\n  email:      " + email + "\n  storage:",
		"curl -H \"Authorization: Bearer " + emulator.DefaultAPIToken + "\" " + s.base + nsPath + "\n",
		"curl -H \"X-Auth-Key: " + key + "\" -H \"X-Auth-Email: " + email + "\" " + s.base + nsPath + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("banner lacks %q:\n%s", want, out)
		}
	}
	if code := s.callKey(t, key, email, nsPath); code != http.StatusOK {
		t.Fatalf("API key refused: %d", code)
	}
	if code := s.callKey(t, key, "other@example.com", nsPath); code != http.StatusUnauthorized {
		t.Fatalf("wrong email: %d", code)
	}
	if code, body := s.call(t, emulator.DefaultAPIToken, http.MethodGet, nsPath, "", ""); code != http.StatusOK {
		t.Fatalf("the token is no longer accepted: %d %s", code, body)
	}
}

func TestAPIKeyDefaultsOff(t *testing.T) {
	t.Setenv(envAPIKey, "")
	t.Setenv(envEmail, "")
	s := start(t)
	out := s.out.String()
	if strings.Contains(out, "API key") || strings.Contains(out, "X-Auth-Key") || strings.Contains(out, "log:") {
		t.Fatalf("banner shows an API key or a log that are off:\n%s", out)
	}
	if code := s.callKey(t, "k", "e@example.com", nsPath); code != http.StatusUnauthorized {
		t.Fatalf("an API key accepted without -api-key: %d", code)
	}
}

func TestAPIKeyFromEnvironment(t *testing.T) {
	const key, email = "env-key-2", "env@example.com"
	t.Setenv(envAPIKey, key)
	t.Setenv(envEmail, email)
	s := start(t)
	if out := s.out.String(); !strings.Contains(out, "API key:    "+key+"\n") || !strings.Contains(out, "X-Auth-Email: "+email) {
		t.Fatalf("banner lacks the environment's key:\n%s", out)
	}
	if code := s.callKey(t, key, email, nsPath); code != http.StatusOK {
		t.Fatalf("environment's API key refused: %d", code)
	}
	s.stop(t)

	// Flags win over the environment, each on its own.
	s = start(t, "-api-key", "flag-key-3")
	if code := s.callKey(t, "flag-key-3", email, nsPath); code != http.StatusOK {
		t.Fatalf("-api-key with $%s refused: %d", envEmail, code)
	}
	if code := s.callKey(t, key, email, nsPath); code != http.StatusUnauthorized {
		t.Fatalf("environment's key accepted over -api-key: %d", code)
	}
	s.stop(t)

	// The environment's values never show in the usage message.
	var stdout, stderr bytes.Buffer
	if err := Run(context.Background(), "kvemulator", []string{"-h"}, &stdout, &stderr); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	if strings.Contains(stderr.String(), key) || strings.Contains(stderr.String(), email) {
		t.Fatalf("usage shows the environment's credentials:\n%s", stderr.String())
	}
}

func TestAPIKeyUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name       string
		key, email string // environment
		args       []string
	}{
		{"key only", "", "", []string{"-api-key", "k"}},
		{"email only", "", "", []string{"-email", "e@example.com"}},
		{"env key only", "k", "", nil},
		{"env email only", "", "e@example.com", nil},
		{"flag clears env key", "k", "e@example.com", []string{"-api-key="}},
		{"flag clears env email", "k", "e@example.com", []string{"-email", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(envAPIKey, tc.key)
			t.Setenv(envEmail, tc.email)
			var stdout, stderr bytes.Buffer
			err := Run(context.Background(), "kvemulator", append([]string{"-addr", "127.0.0.1:0"}, tc.args...), &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), "-api-key and -email") || ExitCode(err) != 2 {
				t.Fatalf("err %v, exit code %d; want a usage error naming both flags, exit 2", err, ExitCode(err))
			}
			if stdout.Len() != 0 {
				t.Fatalf("started anyway:\n%s", stdout.String())
			}
		})
	}
}

func TestAPIKeyPair(t *testing.T) {
	env := map[string]string{envAPIKey: "ek", envEmail: "ee"}
	getenv := func(k string) string { return env[k] }
	for _, tc := range []struct {
		args              []string
		key, email        string
		wantErr, emptyEnv bool
	}{
		{args: nil, key: "ek", email: "ee"},
		{args: []string{"-api-key", "fk"}, key: "fk", email: "ee"},
		{args: []string{"-email", "fe"}, key: "ek", email: "fe"},
		{args: []string{"-api-key", "fk", "-email", "fe"}, key: "fk", email: "fe"},
		{args: []string{"-api-key", ""}, wantErr: true},
		{args: nil, emptyEnv: true},
		{args: []string{"-api-key", "fk"}, emptyEnv: true, wantErr: true},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		k := fs.String("api-key", "", "")
		e := fs.String("email", "", "")
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		get := getenv
		if tc.emptyEnv {
			get = func(string) string { return "" }
		}
		key, email, err := apiKeyPair(fs, *k, *e, get)
		if (err != nil) != tc.wantErr || key != tc.key || email != tc.email {
			t.Errorf("%q (empty env %v): %q, %q, %v; want %q, %q, error %v", tc.args, tc.emptyEnv, key, email, err, tc.key, tc.email, tc.wantErr)
		}
	}
}

func TestLogFlagErrors(t *testing.T) {
	for _, bad := range []string{"", "yes", "JSON", "debug"} {
		var stdout, stderr bytes.Buffer
		err := Run(context.Background(), "kvemulator", []string{"-addr", "127.0.0.1:0", "-log", bad}, &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), "-log") || !strings.Contains(err.Error(), "off, text or json") || ExitCode(err) != 2 {
			t.Fatalf("-log %q: err %v, exit code %d; want a usage error naming the flag, exit 2", bad, err, ExitCode(err))
		}
		if stdout.Len() != 0 {
			t.Fatalf("-log %q: started anyway:\n%s", bad, stdout.String())
		}
	}
}

func TestLogFlagOff(t *testing.T) {
	for _, args := range [][]string{nil, {"-log", "off"}, {"-log", "json", "-log", "off"}} {
		s := start(t, args...)
		if code, body := s.call(t, emulator.DefaultAPIToken, http.MethodGet, nsPath, "", ""); code != http.StatusOK {
			t.Fatalf("list: %d %s", code, body)
		}
		s.stop(t)
		if s.errOut.String() != "" || strings.Contains(s.out.String(), "log:") {
			t.Fatalf("%q: logged while off:\n%s\n%s", args, s.out, s.errOut)
		}
	}
}

func TestLogFlagJSON(t *testing.T) {
	const key, email = "log-key-4", "log@example.com"
	s := start(t, "-log", "json", "-api-key", key, "-email", email)
	if !strings.Contains(s.out.String(), "  log:        requests, as json, on stderr\n") {
		t.Fatalf("banner lacks the log:\n%s", s.out)
	}
	id := s.createNamespace(t, "logged")
	missing := nsPath + "/" + id + "/values/a%2Fb"
	if code, _ := s.call(t, emulator.DefaultAPIToken, http.MethodGet, missing, "", ""); code != http.StatusNotFound {
		t.Fatalf("missing key: %d", code)
	}
	if code := s.callKey(t, key, email, nsPath); code != http.StatusOK {
		t.Fatalf("API key refused: %d", code)
	}
	out := s.waitLog(t, 3)
	var recs []map[string]any
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var r map[string]any
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
		recs = append(recs, r)
	}
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3:\n%s", len(recs), out)
	}
	get := recs[1]
	if get["msg"] != "request" || get["method"] != "GET" || get["path"] != "/client/v4"+missing || get["status"] != 404.0 ||
		!equalJSON(get["error_codes"], []any{10009.0}) || get["credential"] != "token" {
		t.Fatalf("record of the missing key: %v", get)
	}
	for _, f := range []string{"time", "bytes_in", "bytes_out", "duration", "ray"} {
		if _, ok := get[f]; !ok {
			t.Fatalf("record lacks %s: %v", f, get)
		}
	}
	if recs[0]["method"] != "POST" || recs[0]["bytes_in"] != float64(len(`{"title":"logged"}`)) || recs[2]["credential"] != "api_key" {
		t.Fatalf("records: %v", recs)
	}
	for _, secret := range []string{emulator.DefaultAPIToken, key, email} {
		if strings.Contains(out, secret) {
			t.Fatalf("the log contains %q:\n%s", secret, out)
		}
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func TestLogFlagText(t *testing.T) {
	s := start(t, "-log", "text")
	if code, _ := s.call(t, emulator.DefaultAPIToken, http.MethodGet, nsPath+"/0123", "", ""); code != http.StatusNotFound {
		t.Fatalf("missing namespace: %d", code)
	}
	out := s.waitLog(t, 1)
	want := "level=INFO msg=request method=GET path=/client/v4" + nsPath + "/0123 status=404 error_codes=[10013] bytes_in=0 bytes_out="
	if !strings.Contains(out, want) || !strings.Contains(out, " credential=token ray=") || strings.Contains(out, emulator.DefaultAPIToken) {
		t.Fatalf("text log lacks %q or shows the token:\n%s", want, out)
	}
}
