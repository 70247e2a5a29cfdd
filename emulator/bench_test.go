package emulator

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

const benchBase = "/client/v4/accounts/" + DefaultAccountID + "/storage/kv/namespaces/"

func benchNamespace(b *testing.B, e *Emulator) string {
	b.Helper()
	ns, err := e.store.createNamespace(DefaultAccountID, newNamespaceID(), "bench")
	if err != nil {
		b.Fatal(err)
	}
	return ns.ID
}

func benchServe(b *testing.B, e *Emulator, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("%s %s: %d %s", req.Method, req.URL, rec.Code, rec.Body)
	}
	return rec
}

func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("bench/key-%06d", i)
	}
	return keys
}

// BenchmarkValuePut writes 100-byte values through ServeHTTP.
func BenchmarkValuePut(b *testing.B) {
	e := New()
	ns := benchNamespace(b, e)
	value := bytes.Repeat([]byte("v"), 100)
	paths := benchKeys(1024)
	for i, k := range paths {
		paths[i] = benchBase + ns + "/values/" + url.PathEscape(k)
	}
	b.SetBytes(int64(len(value)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPut, paths[i%len(paths)], bytes.NewReader(value))
		req.Header.Set("Authorization", "Bearer "+DefaultAPIToken)
		req.Header.Set("Content-Type", "application/octet-stream")
		benchServe(b, e, req)
		i++
	}
}

// BenchmarkValueGet reads 100-byte values through ServeHTTP.
func BenchmarkValueGet(b *testing.B) {
	e := New()
	ns := benchNamespace(b, e)
	value := bytes.Repeat([]byte("v"), 100)
	keys := benchKeys(1024)
	paths := make([]string, len(keys))
	for i, k := range keys {
		if err := e.store.writeKeys(DefaultAccountID, ns, time.Now(), []keyWrite{{key: k, value: value}}); err != nil {
			b.Fatal(err)
		}
		paths[i] = benchBase + ns + "/values/" + url.PathEscape(k)
	}
	b.SetBytes(int64(len(value)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodGet, paths[i%len(paths)], nil)
		req.Header.Set("Authorization", "Bearer "+DefaultAPIToken)
		if rec := benchServe(b, e, req); rec.Body.Len() != len(value) {
			b.Fatal("short value")
		}
		i++
	}
}

// BenchmarkListKeysPage lists 1000-key pages through ServeHTTP, walking the
// cursor over a namespace of 1,000,000 keys (built directly in the store).
func BenchmarkListKeysPage(b *testing.B) {
	const total, batch = 1_000_000, 10_000
	e := New()
	ns := benchNamespace(b, e)
	value := []byte("v")
	now := time.Now()
	writes := make([]keyWrite, 0, batch)
	for i := range total {
		writes = append(writes, keyWrite{key: fmt.Sprintf("bench/key-%07d", i), value: value})
		if len(writes) == batch {
			if err := e.store.writeKeys(DefaultAccountID, ns, now, writes); err != nil {
				b.Fatal(err)
			}
			writes = writes[:0]
		}
	}
	list := benchBase + ns + "/keys?limit=1000"
	cursor := ""
	b.ReportAllocs()
	for b.Loop() {
		target := list
		if cursor != "" {
			target += "&cursor=" + cursor
		}
		req, _ := http.NewRequest(http.MethodGet, target, nil)
		req.Header.Set("Authorization", "Bearer "+DefaultAPIToken)
		body := benchServe(b, e, req).Body.String()
		i := strings.LastIndex(body, `"cursor":"`)
		cursor = body[i+len(`"cursor":"`) : len(body)-3]
	}
}
