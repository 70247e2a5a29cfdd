package emulator_test

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/workerskv/workerskv/emulator"
)

func TestValueRawWriteContentTypes(t *testing.T) {
	h := newHarness(t)
	ns := h.createNS("values")
	for i, ct := range []string{"application/octet-stream", "text/plain;charset=UTF-8", "*/*", "", "application/json"} {
		key := fmt.Sprint("k", i)
		body := fmt.Sprintf("value %d with content type %q", i, ct)
		var rec *httptest.ResponseRecorder
		if ct == "" {
			rec = h.do("PUT", valuePath(ns, key), strings.NewReader(body))
		} else {
			rec = h.do("PUT", valuePath(ns, key), strings.NewReader(body), "Content-Type", ct)
		}
		r := wantOK(t, rec, nil)
		if string(r.Result) != "null" {
			t.Fatalf("put result %s", r.Result)
		}
		got := h.do("GET", valuePath(ns, key), nil)
		if got.Code != 200 || got.Body.String() != body {
			t.Fatalf("%q: got %d %q", ct, got.Code, got.Body)
		}
		if got.Header().Get("Content-Type") != "application/octet-stream" || got.Header().Get("Expiration") != "" {
			t.Fatalf("headers %v", got.Header())
		}
	}
}

func TestValueAllBytesRoundTrip(t *testing.T) {
	h := newHarness(t)
	ns := h.createNS("bytes")
	var all []byte
	for i := range 256 {
		all = append(all, byte(i))
	}
	all = append(all, all...)
	wantOK(t, h.do("PUT", valuePath(ns, "bin"), bytes.NewReader(all), "Content-Type", "application/octet-stream"), nil)
	rec := h.do("GET", valuePath(ns, "bin"), nil)
	if !bytes.Equal(rec.Body.Bytes(), all) {
		t.Fatalf("bytes differ: %x", rec.Body.Bytes())
	}
	if rec.Header().Get("Content-Length") != strconv.Itoa(len(all)) {
		t.Fatalf("Content-Length %q", rec.Header().Get("Content-Length"))
	}
	// An empty value is a value too.
	h.put(ns, "empty", "", "")
	if code, body := h.get(ns, "empty"); code != 200 || body != "" {
		t.Fatalf("empty value: %d %q", code, body)
	}
}

// awkwardKeys must round-trip through escaped paths unchanged.
var awkwardKeys = []string{
	"dir/sub key", "a?b=c", "frag#ment", "100%", "%2F", "%zz", " leading and trailing ",
	"../../other", "..%2F..%2Fother", "...", "./x", "a/../b", "ключ", "キー", "emoji 😀🎉", "tab\tand\nnewline",
	"plus+sign", "semi;colon", "back\\slash", "quote\"s", "~tilde", "a//b", "/", "//",
}

func TestKeysRoundTripThroughEscapedPaths(t *testing.T) {
	h := newHarness(t)
	ns := h.createNS("awkward")
	for i, key := range awkwardKeys {
		h.put(ns, key, fmt.Sprint("v", i), "")
	}
	for i, key := range awkwardKeys {
		if code, body := h.get(ns, key); code != 200 || body != fmt.Sprint("v", i) {
			t.Errorf("key %q: %d %q", key, code, body)
		}
	}
	want := slices.Clone(awkwardKeys)
	slices.Sort(want)
	if got := h.listAll(ns, ""); !slices.Equal(got, want) {
		t.Fatalf("listed %q\nwant %q", got, want)
	}
	// The escaped form decodes exactly once: %252F is the key "%2F".
	wantOK(t, h.do("PUT", nsBase+"/"+ns+"/values/dir%2Fsub%20key", strings.NewReader("direct")), nil)
	if code, body := h.get(ns, "dir/sub key"); code != 200 || body != "direct" {
		t.Fatalf("dir/sub key: %d %q", code, body)
	}
	wantOK(t, h.do("PUT", nsBase+"/"+ns+"/values/%252F", strings.NewReader("once")), nil)
	if code, body := h.get(ns, "%2F"); code != 200 || body != "once" {
		t.Fatalf("%%2F: %d %q", code, body)
	}
	// A traversal is a key name: the namespace route is untouched.
	wantOK(t, h.do("PUT", nsBase+"/"+ns+"/values/..%2F..%2F"+ns, strings.NewReader("trap")), nil)
	var info namespace
	wantOK(t, h.do("GET", nsBase+"/"+ns, nil), &info)
	if info.Title != "awkward" {
		t.Fatalf("namespace changed: %+v", info)
	}
	// Unescaped slashes make a path with too many segments: no such route.
	wantNoRoute(t, h.do("GET", nsBase+"/"+ns+"/values/dir/sub", nil), strings.TrimPrefix(nsBase, "/client/v4")+"/"+ns+"/values/dir/sub")
}

func TestKeysRoundTripOverHTTP(t *testing.T) {
	e := emulator.New()
	srv := httptest.NewServer(e)
	defer srv.Close()
	client := srv.Client()
	call := func(method, path string, body io.Reader) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+emulator.DefaultAPIToken)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := call("POST", nsBase, strings.NewReader(`{"title":"http"}`))
	if code != 200 {
		t.Fatalf("create: %d %s", code, body)
	}
	ns := body[strings.Index(body, `"id":"`)+6:][:32]
	for i, key := range awkwardKeys {
		if code, body := call("PUT", valuePath(ns, key), strings.NewReader(fmt.Sprint("v", i))); code != 200 {
			t.Fatalf("put %q: %d %s", key, code, body)
		}
	}
	for i, key := range awkwardKeys {
		if code, body := call("GET", valuePath(ns, key), nil); code != 200 || body != fmt.Sprint("v", i) {
			t.Errorf("get %q: %d %q", key, code, body)
		}
	}
	// An invalid escape in the request line is refused with 400.
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.URL.Opaque = "//" + req.URL.Host + nsBase + "/" + ns + "/values/%zz"
	req.Header.Set("Authorization", "Bearer "+emulator.DefaultAPIToken)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("invalid escape: status %d, want 400", resp.StatusCode)
	}
}

func TestInvalidKeys(t *testing.T) {
	h := newHarness(t)
	ns := h.createNS("keys")
	long := strings.Repeat("k", 513)
	tests := []struct {
		name, seg string
		msg       string
	}{
		{"empty", "", "must not be empty"},
		{"dot", ".", `cannot be "." or ".."`},
		{"dotdot", "..", `cannot be "." or ".."`},
		{"escaped dot", "%2E", `cannot be "." or ".."`},
		{"too long", long, "UTF-8 encoded length of 513 exceeds key length limit of 512."},
		{"too long multibyte", strings.Repeat("%C3%A9", 257), "length of 514 exceeds"},
		{"not utf-8", "%FF", "valid UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := nsBase + "/" + ns + "/values/" + tc.seg
			for _, method := range []string{"GET", "PUT", "DELETE"} {
				wantError(t, h.do(method, path, strings.NewReader("v")), 400, 10020, tc.msg)
			}
			wantError(t, h.do("GET", nsBase+"/"+ns+"/metadata/"+tc.seg, nil), 400, 10020, tc.msg)
		})
	}
	// 512 bytes is fine.
	h.put(ns, strings.Repeat("k", 512), "max", "")
}

func TestValueNotFoundAndDelete(t *testing.T) {
	h := newHarness(t)
	ns := h.createNS("del")
	wantError(t, h.do("GET", valuePath(ns, "missing"), nil), 404, 10009, "key not found")
	wantError(t, h.do("GET", metaPath(ns, "missing"), nil), 404, 10009, "key not found")
	// Deleting a missing key succeeds.
	r := wantOK(t, h.do("DELETE", valuePath(ns, "missing"), nil), nil)
	if string(r.Result) != "null" {
		t.Fatalf("delete result %s", r.Result)
	}
	h.put(ns, "k", "v", "")
	wantOK(t, h.doJSON("DELETE", valuePath(ns, "k"), "{}"), nil)
	wantError(t, h.do("GET", valuePath(ns, "k"), nil), 404, 10009, "key not found")

	missingNS := "ffffffffffffffffffffffffffffffff"
	for _, method := range []string{"GET", "PUT", "DELETE"} {
		wantError(t, h.do(method, valuePath(missingNS, "k"), strings.NewReader("v")), 404, 10013, "namespace not found")
	}
	wantError(t, h.do("GET", metaPath(missingNS, "k"), nil), 404, 10013, "namespace not found")
}

// multipartBody builds a value write body. value is sent as a file part when
// asFile is set; metadata is left out when it is nil.
func multipartBody(t *testing.T, value []byte, asFile bool, metadata *string) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if metadata != nil {
		hdr := textproto.MIMEHeader{}
		hdr.Set("Content-Disposition", `form-data; name="metadata"`)
		hdr.Set("Content-Type", "application/json")
		w, _ := mw.CreatePart(hdr)
		_, _ = io.WriteString(w, *metadata)
	}
	_ = mw.WriteField("ignored", "extra parts are skipped")
	if value != nil {
		var w io.Writer
		if asFile {
			w, _ = mw.CreateFormFile("value", "blob.bin")
		} else {
			w, _ = mw.CreateFormField("value")
		}
		_, _ = w.Write(value)
	}
	_ = mw.Close()
	return &buf, mw.FormDataContentType()
}

func ptr(s string) *string { return &s }

func TestValueMultipart(t *testing.T) {
	h := newHarness(t)
	ns := h.createNS("multipart")
	binary := []byte{0, 1, 2, 0xff, '\r', '\n', '-', '-'}

	body, ct := multipartBody(t, binary, true, ptr(`{ "owner": "me",  "n": [1, 2] }`))
	wantOK(t, h.do("PUT", valuePath(ns, "file"), body, "Content-Type", ct), nil)
	if rec := h.do("GET", valuePath(ns, "file"), nil); !bytes.Equal(rec.Body.Bytes(), binary) {
		t.Fatalf("file part value %q", rec.Body.Bytes())
	}
	r := wantOK(t, h.do("GET", metaPath(ns, "file"), nil), nil)
	if string(r.Result) != `{"owner":"me","n":[1,2]}` {
		t.Fatalf("metadata %s", r.Result)
	}

	body, ct = multipartBody(t, []byte("plain field"), false, nil)
	wantOK(t, h.do("PUT", valuePath(ns, "field"), body, "Content-Type", ct), nil)
	if code, got := h.get(ns, "field"); code != 200 || got != "plain field" {
		t.Fatalf("field: %d %q", code, got)
	}
	r = wantOK(t, h.do("GET", metaPath(ns, "field"), nil), nil)
	if string(r.Result) != "null" {
		t.Fatalf("no metadata must read as null, got %s", r.Result)
	}

	// Overwriting with a raw body drops the metadata.
	h.put(ns, "file", "raw", "")
	if r := wantOK(t, h.do("GET", metaPath(ns, "file"), nil), nil); string(r.Result) != "null" {
		t.Fatalf("metadata survived an overwrite: %s", r.Result)
	}

	errCases := []struct {
		name     string
		value    []byte
		metadata *string
		code     int
		msg      string
	}{
		{"no value part", nil, ptr(`{}`), 10027, `no "value" part`},
		{"metadata not json", []byte("v"), ptr(`{not json`), 10147, "metadata must be valid json"},
		{"metadata empty", []byte("v"), ptr(``), 10147, "metadata must be valid json"},
		{"metadata too large", []byte("v"), ptr(`"` + strings.Repeat("m", 1023) + `"`), 10025, "Metadata length of 1025 exceeds limit of 1024"},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			body, ct := multipartBody(t, tc.value, false, tc.metadata)
			wantError(t, h.do("PUT", valuePath(ns, "bad"), body, "Content-Type", ct), 400, tc.code, tc.msg)
		})
	}
	wantError(t, h.do("PUT", valuePath(ns, "bad"), strings.NewReader("x"), "Content-Type", "multipart/form-data"), 400, 10027, "boundary")
	wantError(t, h.do("PUT", valuePath(ns, "bad"), strings.NewReader("--xyz\r\nContent-Disposition: form-data; name=\"value\"\r\n\r\nno closing boundary"), "Content-Type", "multipart/form-data; boundary=xyz"), 400, 10027, "Malformed multipart")
	wantError(t, h.do("PUT", valuePath(ns, "bad"), strings.NewReader("garbage"), "Content-Type", "multipart/form-data; boundary=xyz"), 400, 10027, "Malformed multipart") // no boundary line at all
	wantError(t, h.do("GET", valuePath(ns, "bad"), nil), 404, 10009, "key not found")

	// 1,024 bytes of compact metadata is the limit, and whitespace does not count.
	body, ct = multipartBody(t, []byte("v"), false, ptr(`  "`+strings.Repeat("m", 1022)+`"  `))
	wantOK(t, h.do("PUT", valuePath(ns, "maxmeta"), body, "Content-Type", ct), nil)
}

func TestExpiration(t *testing.T) {
	h := newHarness(t)
	ns := h.createNS("expiring")
	now := epoch.Unix()

	h.put(ns, "ttl", "a", "?expiration_ttl=60")
	h.put(ns, "abs", "b", fmt.Sprintf("?expiration=%d", now+120))
	h.put(ns, "both", "c", fmt.Sprintf("?expiration=%d&expiration_ttl=300", now+100000))
	h.put(ns, "ttl-ignores-bad-expiration", "d", "?expiration=soon&expiration_ttl=90")
	h.put(ns, "forever", "e", "")
	h.put(ns, "float", "f", fmt.Sprintf("?expiration=%d.0", now+600))

	wantExp := map[string]int64{"ttl": now + 60, "abs": now + 120, "both": now + 300, "ttl-ignores-bad-expiration": now + 90, "forever": 0, "float": now + 600}
	for key, exp := range wantExp {
		rec := h.do("GET", valuePath(ns, key), nil)
		got := rec.Header().Get("Expiration")
		if (exp == 0 && got != "") || (exp != 0 && got != strconv.FormatInt(exp, 10)) {
			t.Errorf("%s: expiration header %q, want %d", key, got, exp)
		}
	}
	keys, _ := h.list(ns, "")
	for _, k := range keys {
		if k.Expiration != wantExp[k.Name] {
			t.Errorf("list %s: expiration %d, want %d", k.Name, k.Expiration, wantExp[k.Name])
		}
	}
	if rec := h.do("GET", keysPath(ns, "?prefix=forever"), nil); strings.Contains(rec.Body.String(), "expiration") || strings.Contains(rec.Body.String(), "metadata") {
		t.Fatalf("expiration and metadata must be omitted: %s", rec.Body)
	}

	h.clock.Advance(59 * time.Second)
	if code, _ := h.get(ns, "ttl"); code != 200 {
		t.Fatal("ttl key expired early")
	}
	h.clock.Advance(time.Second) // now+60: expiration <= now hides the key
	for _, path := range []string{valuePath(ns, "ttl"), metaPath(ns, "ttl")} {
		wantError(t, h.do("GET", path, nil), 404, 10009, "key not found")
	}
	if names := h.listAll(ns, ""); slices.Contains(names, "ttl") {
		t.Fatalf("expired key listed: %v", names)
	}
	h.clock.Advance(time.Hour)
	if names := h.listAll(ns, ""); !slices.Equal(names, []string{"forever"}) {
		t.Fatalf("after an hour: %v", names)
	}
	// Writing an expired key again brings it back.
	h.put(ns, "ttl", "again", "")
	if code, body := h.get(ns, "ttl"); code != 200 || body != "again" {
		t.Fatalf("rewritten: %d %q", code, body)
	}
}

func TestExpirationErrors(t *testing.T) {
	h := newHarness(t)
	ns := h.createNS("bad-expiration")
	now := epoch.Unix()
	tests := []struct {
		query, msg string
	}{
		{"?expiration_ttl=59", "Invalid expiration_ttl of 59. Expiration TTL must be at least 60."},
		{"?expiration_ttl=0", "Invalid expiration_ttl of 0. Expiration TTL must be at least 60."},
		{"?expiration_ttl=-60", "Invalid expiration_ttl of -60."},
		{"?expiration_ttl=abc", "Invalid expiration_ttl of abc."},
		{"?expiration_ttl=60.5", "Invalid expiration_ttl of 60.5."},
		{"?expiration_ttl=9223372036854775807", "too large"},
		{fmt.Sprintf("?expiration=%d", now+59), fmt.Sprintf("Invalid expiration of %d. Expiration times must be at least 60 seconds in the future.", now+59)},
		{fmt.Sprintf("?expiration=%d", now-1000), fmt.Sprintf("put: 'Invalid expiration of %d. Please specify integer greater than the current number of seconds since the UNIX epoch.'", now-1000)},
		{fmt.Sprintf("?expiration=%d", now), fmt.Sprintf("put: 'Invalid expiration of %d. Please specify integer greater than the current number of seconds since the UNIX epoch.'", now)},
		{fmt.Sprintf("?expiration=%d", now+1), fmt.Sprintf("put: 'Invalid expiration of %d. Expiration times must be at least 60 seconds in the future.'", now+1)},
		{"?expiration=-1", "Invalid expiration of -1."},
		{"?expiration=tomorrow", "Invalid expiration of tomorrow."},
		{"?expiration=1e400", "Invalid expiration of 1e400."},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			wantError(t, h.do("PUT", valuePath(ns, "k")+tc.query, strings.NewReader("v")), 400, 10033, tc.msg)
		})
	}
	wantError(t, h.do("GET", valuePath(ns, "k"), nil), 404, 10009, "key not found")
	// Exactly 60 seconds ahead is accepted.
	h.put(ns, "k", "v", fmt.Sprintf("?expiration=%d", now+60))
}
