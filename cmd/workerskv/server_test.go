package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/workerskv/workerskv"
	"github.com/workerskv/workerskv/emulator"
)

// testServer is an emulator on loopback for the command under test.
type testServer struct {
	URL string // API base URL
	hs  *httptest.Server
	// bulks counts the bulk writes that have arrived.
	bulks atomic.Int64
}

// serverConfig selects what the test server does besides emulating.
type serverConfig struct {
	emu []emulator.Option
	// unsuccessful: bulk writes and deletes report the keys with this prefix in unsuccessful_keys
	// and leave them alone, as the API does when it could not write some keys.
	unsuccessful string
	// holdBulk: every bulk write after the first is held until its client gives up, as a request
	// to an overloaded server is.
	holdBulk bool
}

func startServer(cfg serverConfig) *testServer {
	opts := append([]emulator.Option{
		emulator.WithAPIToken(emulator.DefaultAPIToken),
		emulator.WithAccount(emulator.DefaultAccountID),
	}, cfg.emu...)
	emu := emulator.New(opts...)
	s := &testServer{}
	var h http.Handler = emu
	if cfg.unsuccessful != "" {
		h = &unsuccessfulKeys{next: emu, prefix: cfg.unsuccessful}
	}
	s.hs = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/bulk") || r.Method != http.MethodPut {
			h.ServeHTTP(w, r)
			return
		}
		if s.bulks.Add(1) > 1 && cfg.holdBulk {
			// Read the body first: only then does the server notice the client going away.
			io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-time.After(time.Minute):
			}
			return
		}
		h.ServeHTTP(w, r)
	}))
	s.URL = s.hs.URL + "/client/v4"
	return s
}

func (s *testServer) Close() { s.hs.Close() }

// env returns the environment that points the command at the server.
func (s *testServer) env() []string {
	return []string{
		"CLOUDFLARE_API_BASE_URL=" + s.URL,
		"CLOUDFLARE_API_TOKEN=" + emulator.DefaultAPIToken,
		"CLOUDFLARE_ACCOUNT_ID=" + emulator.DefaultAccountID,
	}
}

// processEnv is the test process's environment without any Cloudflare settings, plus the server's:
// a command run with it can reach nothing but the server.
func (s *testServer) processEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CLOUDFLARE_") {
			env = append(env, kv)
		}
	}
	return append(env, s.env()...)
}

// client returns a library client for the server.
func (s *testServer) client(t testing.TB) *workerskv.Client {
	t.Helper()
	c, err := workerskv.NewClient(
		workerskv.WithAPIToken(emulator.DefaultAPIToken),
		workerskv.WithAccountID(emulator.DefaultAccountID),
		workerskv.WithBaseURL(s.URL),
	)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// unsuccessfulKeys passes requests to next, except that bulk writes and deletes leave out the keys
// with prefix and report them in unsuccessful_keys.
type unsuccessfulKeys struct {
	next   http.Handler
	prefix string
}

func (u *unsuccessfulKeys) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	isWrite := r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/bulk")
	isDelete := r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/bulk/delete")
	if !isWrite && !isDelete {
		u.next.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var items []json.RawMessage
	if err := json.Unmarshal(body, &items); err != nil {
		u.next.ServeHTTP(w, requestWithBody(r, body))
		return
	}
	var keep []json.RawMessage
	failed := []string{}
	for _, it := range items {
		var key string
		if isWrite {
			var p struct{ Key string }
			_ = json.Unmarshal(it, &p)
			key = p.Key
		} else {
			_ = json.Unmarshal(it, &key)
		}
		if strings.HasPrefix(key, u.prefix) {
			failed = append(failed, key)
		} else {
			keep = append(keep, it)
		}
	}
	if keep == nil {
		keep = []json.RawMessage{}
	}
	rest, _ := json.Marshal(keep)
	rec := httptest.NewRecorder()
	u.next.ServeHTTP(rec, requestWithBody(r, rest))
	if rec.Code != http.StatusOK {
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"success": true, "errors": []any{}, "messages": []any{},
		"result": map[string]any{"successful_key_count": len(keep), "unsuccessful_keys": failed},
	})
}

func requestWithBody(r *http.Request, body []byte) *http.Request {
	r2 := r.Clone(r.Context())
	r2.Body = io.NopCloser(bytes.NewReader(body))
	r2.ContentLength = int64(len(body))
	return r2
}
