package workerskv_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/workerskv/workerskv"
	"github.com/workerskv/workerskv/emulator"
)

// wireTransport is an http.RoundTripper that serves each request with an in-process handler, without
// sockets: the request is written in HTTP/1.1 wire form and parsed back with http.ReadRequest, as a
// server parses it, so the handler sees exactly the bytes that would cross the network (escaped path,
// headers, body). It is fast enough for fuzzing.
type wireTransport struct {
	h  http.Handler
	mu sync.Mutex
	// last is the latest request as the server parsed it (its body already consumed).
	last *http.Request
	// sent counts the requests.
	sent int
}

func (t *wireTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var wire bytes.Buffer
	if err := req.Write(&wire); err != nil { // Write closes req.Body
		return nil, err
	}
	sreq, err := http.ReadRequest(bufio.NewReader(&wire))
	if err != nil {
		return nil, fmt.Errorf("the server could not parse the request: %w", err)
	}
	sreq = sreq.WithContext(req.Context())
	t.mu.Lock()
	t.last = sreq
	t.sent++
	t.mu.Unlock()
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, sreq)
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

// lastRequest returns the latest request the handler received.
func (t *wireTransport) lastRequest() *http.Request {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last
}

// count returns how many requests were sent.
func (t *wireTransport) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sent
}

// emuClient returns a client of a fresh in-memory emulator reached through a wireTransport, with no
// retries, and a namespace created in it.
func emuClient(tb testing.TB, opts ...emulator.Option) (*workerskv.Client, *wireTransport, string) {
	tb.Helper()
	tr := &wireTransport{h: emulator.New(opts...)}
	c, err := workerskv.NewClient(
		workerskv.WithAPIToken(emulator.DefaultAPIToken),
		workerskv.WithAccountID(emulator.DefaultAccountID),
		workerskv.WithBaseURL("http://kv.emulator.test/client/v4"),
		workerskv.WithHTTPClient(&http.Client{Transport: tr}),
		workerskv.WithMaxRetries(workerskv.NoRetries),
	)
	if err != nil {
		tb.Fatal(err)
	}
	ns, err := c.Namespaces.Create(context.Background(), "fuzz")
	if err != nil {
		tb.Fatal(err)
	}
	return c, tr, ns.ID
}

// wantAPIError fails unless err is an *APIError with the given status and first error code.
func wantAPIError(tb testing.TB, what string, err error, status, code int) {
	tb.Helper()
	var ae *workerskv.APIError
	if !errors.As(err, &ae) || ae.StatusCode != status || len(ae.Errors) == 0 || ae.Errors[0].Code != code {
		tb.Fatalf("%s: got %T %v, want *APIError %d code %d", what, err, err, status, code)
	}
}

// sentHeaders are the only headers a client request carries.
var sentHeaders = map[string]bool{"Authorization": true, "User-Agent": true, "Content-Type": true, "Accept": true, "Content-Length": true}

// clientRefusesKey reports whether the client's documented key rules refuse key: empty, "." or "..",
// or over 512 bytes.
func clientRefusesKey(key string) bool {
	return key == "" || key == "." || key == ".." || len(key) > 512
}

// checkKeyRoundTrip writes key with the client and reads it back every way the API allows. The key
// is refused with a *ValidationError (empty, ".", "..", over 512 bytes), or, when it is not valid
// UTF-8, by the emulator with 400 code 10020 and no state change; otherwise it round-trips exactly and
// travels as a single escaped path segment.
func checkKeyRoundTrip(t *testing.T, c *workerskv.Client, tr *wireTransport, ns, key string) {
	t.Helper()
	ctx := context.Background()
	value := []byte("value of " + key)
	err := c.Values.Put(ctx, ns, key, bytes.NewReader(value), nil)
	var ve *workerskv.ValidationError
	if clientRefusesKey(key) {
		if !errors.As(err, &ve) || ve.Field != "key" {
			t.Fatalf("Put(%q): %v, want a *ValidationError for the key", key, err)
		}
		return
	}
	if errors.As(err, &ve) {
		t.Fatalf("Put(%q): %v: the client refused a key it documents as valid", key, err)
	}
	sreq := tr.lastRequest()
	escaped := sreq.URL.EscapedPath()
	seg, ok := strings.CutPrefix(escaped, "/client/v4/accounts/"+emulator.DefaultAccountID+"/storage/kv/namespaces/"+ns+"/values/")
	if !ok || strings.Contains(seg, "/") {
		t.Fatalf("Put(%q): the server saw path %q: the key is not one segment", key, escaped)
	}
	if dec, err := url.PathUnescape(seg); err != nil || dec != key {
		t.Fatalf("Put(%q): segment %q decodes to %q (%v)", key, seg, dec, err)
	}
	for name := range sreq.Header {
		if !sentHeaders[name] {
			t.Fatalf("Put(%q): header %q reached the server: %v", key, name, sreq.Header)
		}
	}
	if !utf8.ValidString(key) {
		wantAPIError(t, fmt.Sprintf("Put(%q)", key), err, http.StatusBadRequest, 10020)
		if p, err := c.Keys.List(ctx, ns, nil); err != nil || len(p.Keys) != 0 {
			t.Fatalf("after a refused put the namespace holds %v (%v)", p, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
	got, err := c.Values.Get(ctx, ns, key)
	if err != nil || !bytes.Equal(got, value) {
		t.Fatalf("Get(%q) = %q, %v; want %q", key, got, err, value)
	}
	page, err := c.Keys.List(ctx, ns, &workerskv.ListKeysOptions{Prefix: key, Limit: 10})
	if err != nil || len(page.Keys) == 0 || page.Keys[0].Name != key {
		t.Fatalf("List(prefix %q) = %+v, %v; want the key first", key, page, err)
	}
	if md, err := c.Keys.Metadata(ctx, ns, key); err != nil || md != nil {
		t.Fatalf("Metadata(%q) = %s, %v; want none", key, md, err)
	}
	res, err := c.Bulk.Get(ctx, ns, []string{key}, nil)
	if err != nil || !bytes.Equal(res[key].Value, value) {
		t.Fatalf("Bulk.Get(%q) = %v, %v", key, res, err)
	}
	if err := c.Values.Delete(ctx, ns, key); err != nil {
		t.Fatalf("Delete(%q): %v", key, err)
	}
	if _, err := c.Values.Get(ctx, ns, key); !errors.Is(err, workerskv.ErrNotFound) {
		t.Fatalf("Get(%q) after Delete: %v, want not found", key, err)
	}
}

// keySeeds are hostile and ordinary key names: escaping, traversal, header injection, limits.
var keySeeds = []string{
	"plain", "dir/sub key", "..%2F..%2Fx", "../../x", "%2e%2e", "..%252F", "a?b=c#d", "100%", "%zz",
	"\r\nX-Evil: 1", "a\r\n\r\nGET /x HTTP/1.1", "\x00", "\t", " ", "+", ";", "é", "\u2028", "🔑",
	"\xff", "\xc3\x28", "\xed\xa0\x80", "", ".", "..", "./", "/", "//", "...", "a/./b", "a/../b",
	strings.Repeat("a", 512), strings.Repeat("a", 513), strings.Repeat("€", 170), strings.Repeat("€", 171),
}

// FuzzKeyEscaping: any key string is refused by client validation, refused by the emulator with a
// clear 400 (10020, not valid UTF-8), or round-trips exactly through the client's escaping and the
// emulator's path decoding (put, get, list by prefix, metadata, bulk get, delete).
func FuzzKeyEscaping(f *testing.F) {
	for _, k := range keySeeds {
		f.Add(k)
	}
	c, tr, ns := emuClient(f)
	f.Fuzz(func(t *testing.T, key string) {
		checkKeyRoundTrip(t, c, tr, ns, key)
	})
}
