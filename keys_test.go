package workerskv_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/workerskv/workerskv"
)

var keysURL = nsURL + "/" + testNS + "/keys"

// keysPageBody is a page of four keys; bName is the second key's name as it appears in the JSON.
func keysPageBody(bName string) string {
	return `{"success":true,"errors":[],"messages":[],"result":[` +
		`{"name":"a","expiration":1767225600,"metadata":{"x":1}},` +
		`{"name":"` + bName + `"},` +
		`{"name":"c","metadata":null},` +
		`{"name":"d","metadata":"s","expiration":1767225601.0}` +
		`],"result_info":{"count":4,"cursor":"next-page"}}`
}

// TestKeysListWire decodes the same page through the one-pass decoder and, with an escape in a name
// that makes it decline, through encoding/json: the keys must be the same.
func TestKeysListWire(t *testing.T) {
	t.Parallel()
	for _, bName := range []string{`b/?#`, `b\/?\u0023`} {
		t.Run(bName, func(t *testing.T) {
			t.Parallel()
			testKeysListWire(t, keysPageBody(bName))
		})
	}
}

func testKeysListWire(t *testing.T, body string) {
	c, m := setup(t)
	m.on("GET", keysURL, jsonResponder(200, body))
	page, err := c.Keys.List(t.Context(), testNS, &workerskv.ListKeysOptions{Prefix: "user:/?&=", Limit: 10, Cursor: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	rec := vkOne(t, m)
	if rec.Method != "GET" || rec.RawPath != "/client/v4/accounts/"+testAccount+"/storage/kv/namespaces/"+testNS+"/keys" {
		t.Fatalf("request %+v", rec)
	}
	q, err := url.ParseQuery(rec.RawQuery)
	want := url.Values{"prefix": {"user:/?&="}, "limit": {"10"}, "cursor": {"c1"}}
	if err != nil || q.Encode() != want.Encode() {
		t.Fatalf("query %q, want %q", rec.RawQuery, want.Encode())
	}
	wantKeys := []workerskv.Key{
		{Name: "a", Expiration: time.Unix(1767225600, 0), Metadata: json.RawMessage(`{"x":1}`)},
		{Name: "b/?#"},
		{Name: "c"},
		{Name: "d", Expiration: time.Unix(1767225601, 0), Metadata: json.RawMessage(`"s"`)},
	}
	if page.Cursor != "next-page" || len(page.Keys) != len(wantKeys) {
		t.Fatalf("page %+v", page)
	}
	for i, k := range page.Keys {
		w := wantKeys[i]
		if k.Name != w.Name || !k.Expiration.Equal(w.Expiration) || !bytes.Equal(k.Metadata, w.Metadata) || (w.Metadata == nil) != (k.Metadata == nil) {
			t.Errorf("key %d = {%q %v %s}, want {%q %v %s}", i, k.Name, k.Expiration, k.Metadata, w.Name, w.Expiration, w.Metadata)
		}
	}
}

func TestKeysListNoOptions(t *testing.T) {
	t.Parallel()
	for _, opts := range []*workerskv.ListKeysOptions{nil, {}} {
		c, m := setup(t)
		m.on("GET", keysURL, jsonResponder(200, envelope(`[]`)))
		page, err := c.Keys.List(t.Context(), testNS, opts)
		if err != nil || len(page.Keys) != 0 || page.Cursor != "" {
			t.Fatalf("List(%v) = %+v, %v", opts, page, err)
		}
		if rec := vkOne(t, m); rec.RawQuery != "" {
			t.Fatalf("query %q, want none", rec.RawQuery)
		}
	}
}

func TestKeysMetadataWire(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("GET", vkMetaURL("with"), jsonResponder(200, envelope(`{"owner":"ann","n":[1,2]}`)))
	m.on("GET", vkMetaURL("without"), jsonResponder(200, envelope(`null`)))
	m.on("GET", vkMetaURL("missing"), jsonResponder(404, failure(10009, "key not found")))
	md, err := c.Keys.Metadata(t.Context(), testNS, "with")
	if err != nil || string(md) != `{"owner":"ann","n":[1,2]}` {
		t.Fatalf("Metadata = %s, %v", md, err)
	}
	if md, err := c.Keys.Metadata(t.Context(), testNS, "without"); err != nil || md != nil {
		t.Fatalf("Metadata of a key without any = %q, %v; want nil", md, err)
	}
	_, err = c.Keys.Metadata(t.Context(), testNS, "missing")
	vkWantNotFound(t, "Metadata", err)
	for _, rec := range m.requests() {
		if rec.Method != "GET" || !strings.Contains(rec.RawPath, "/"+testNS+"/metadata/") || rec.RawQuery != "" {
			t.Fatalf("request %+v", rec)
		}
	}
}

// vkPager answers key listings from pages keyed by the cursor asked for.
func vkPager(pages map[string]string) httpmock.Responder {
	return func(req *http.Request) (*http.Response, error) {
		body, ok := pages[req.URL.Query().Get("cursor")]
		if !ok {
			return httpmock.NewStringResponse(400, failure(10000, "unknown cursor")), nil
		}
		return httpmock.NewStringResponse(200, body), nil
	}
}

func keysPage(names []string, cursor string) string {
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"name":"` + n + `"}`)
	}
	return `{"success":true,"errors":[],"messages":[],"result":[` + b.String() + `],"result_info":{"count":` + strconv.Itoa(len(names)) + `,"cursor":"` + cursor + `"}}`
}

func TestKeysAllAcrossEmptyPage(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("GET", keysURL, vkPager(map[string]string{
		"":   keysPage([]string{"p1", "p2"}, "c1"),
		"c1": keysPage(nil, "c2"),
		"c2": keysPage([]string{"p3"}, ""),
	}))
	opts := &workerskv.ListKeysOptions{Prefix: "p", Limit: 10}
	var names []string
	for k, err := range c.Keys.All(t.Context(), testNS, opts) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, k.Name)
	}
	if strings.Join(names, ",") != "p1,p2,p3" {
		t.Fatalf("keys %q", names)
	}
	if *opts != (workerskv.ListKeysOptions{Prefix: "p", Limit: 10}) {
		t.Fatalf("All changed the caller's options: %+v", opts)
	}
	reqs := m.requests()
	for i, cursor := range []string{"", "c1", "c2"} {
		q, _ := url.ParseQuery(reqs[i].RawQuery)
		if q.Get("prefix") != "p" || q.Get("limit") != "10" || q.Get("cursor") != cursor {
			t.Errorf("page %d query %q, want prefix p, limit 10, cursor %q", i+1, reqs[i].RawQuery, cursor)
		}
	}
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
}

func TestKeysAllRepeatedCursorEnds(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("GET", keysURL, vkPager(map[string]string{
		"":   keysPage([]string{"a"}, "c1"),
		"c1": keysPage([]string{"b"}, "c1"),
	}))
	var names []string
	var errs []error
	for k, err := range c.Keys.All(t.Context(), testNS, nil) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		names = append(names, k.Name)
		if len(names) > 10 {
			t.Fatal("listing loops")
		}
	}
	if strings.Join(names, ",") != "a,b" || len(errs) != 1 || len(m.requests()) != 2 {
		t.Fatalf("keys %q, errors %v, %d requests; want a,b then one error after 2 requests", names, errs, len(m.requests()))
	}
}

func TestKeysAllRestartsAndStopsOnBreak(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("GET", keysURL, vkPager(map[string]string{
		"":   keysPage([]string{"a", "b"}, "c1"),
		"c1": keysPage([]string{"c"}, ""),
	}))
	seq := c.Keys.All(t.Context(), testNS, nil)
	for range 2 {
		n := 0
		for _, err := range seq {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		if n != 3 {
			t.Fatalf("ranging gave %d keys, want 3", n)
		}
	}
	if n := len(m.requests()); n != 4 {
		t.Fatalf("%d requests for two full ranges, want 4", n)
	}
	for range seq {
		break
	}
	if n := len(m.requests()); n != 5 {
		t.Fatalf("%d requests after a break on the first key, want 5", n)
	}
}

// awkwardKeys are key names that must reach the API as exactly one path segment.
var awkwardKeys = []string{
	"a/b", "/leading", "trailing/", "q?x=1", "h#f", "100%", "%2F", "sp ace", "a/../b", "...", "..a", "a..",
	"tab\there", "\u001f", "ключ", "🔑", "semi;colon,comma", "plus+amp&eq=at@", "back\\slash",
	strings.Repeat("a/?%", 128), // 512 bytes
}

func TestKeyEscapingOnTheWire(t *testing.T) {
	t.Parallel()
	calls := map[string]struct {
		method, route string
		do            func(c *workerskv.Client, t *testing.T, key string) error
	}{
		"Get": {"GET", "values", func(c *workerskv.Client, t *testing.T, k string) error {
			_, err := c.Values.Get(t.Context(), testNS, k)
			return err
		}},
		"Put": {"PUT", "values", func(c *workerskv.Client, t *testing.T, k string) error {
			return c.Values.Put(t.Context(), testNS, k, strings.NewReader("v"), nil)
		}},
		"Delete": {"DELETE", "values", func(c *workerskv.Client, t *testing.T, k string) error {
			return c.Values.Delete(t.Context(), testNS, k)
		}},
		"Metadata": {"GET", "metadata", func(c *workerskv.Client, t *testing.T, k string) error {
			_, err := c.Keys.Metadata(t.Context(), testNS, k)
			return err
		}},
	}
	for _, key := range awkwardKeys {
		for name, call := range calls {
			t.Run(name+"/"+url.PathEscape(key[:min(len(key), 16)]), func(t *testing.T) {
				t.Parallel()
				c, m := setup(t)
				prefix := "/client/v4/accounts/" + testAccount + "/storage/kv/namespaces/" + testNS + "/" + call.route + "/"
				m.on(call.method, "=~^"+regexp.QuoteMeta("https://api.kv.test"+prefix), jsonResponder(200, envelope("null")))
				if err := call.do(c, t, key); err != nil {
					t.Fatal(err)
				}
				rec := vkOne(t, m)
				seg, ok := strings.CutPrefix(rec.RawPath, prefix)
				if !ok || strings.Contains(seg, "/") || rec.RawQuery != "" {
					t.Fatalf("key %q sent as path %q query %q: not one segment of the %s endpoint", key, rec.RawPath, rec.RawQuery, call.route)
				}
				if got, err := url.PathUnescape(seg); err != nil || got != key {
					t.Fatalf("segment %q decodes to %q (%v), want %q", seg, got, err, key)
				}
			})
		}
	}
}

// TestKeysListWithoutResult: a page whose result is empty, null or missing lists no keys: Keys is
// empty, not nil, on both decoding paths ("Success" spelled with a capital makes the one-pass
// decoder leave the body to encoding/json, which accepts it).
func TestKeysListWithoutResult(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		`{"success":true,"errors":[],"messages":[],"result":[]}`,
		`{"success":true,"errors":[],"messages":[],"result":null}`,
		`{"success":true,"errors":[],"messages":[]}`,
		`{"Success":true,"errors":[],"messages":[]}`,
		`{"Success":true,"errors":[],"messages":[],"result":null}`,
	} {
		c, m := setup(t)
		m.on("GET", keysURL, jsonResponder(200, body))
		page, err := c.Keys.List(t.Context(), testNS, nil)
		if err != nil || page.Keys == nil || len(page.Keys) != 0 || page.Cursor != "" {
			t.Errorf("%s: page %#v, %v; want no keys, not nil", body, page, err)
		}
	}
}
