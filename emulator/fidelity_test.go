package emulator_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/workerskv/workerskv/emulator"
)

// wantErr is one expected entry of a failure envelope's errors.
type wantErr struct {
	code    int
	message string
}

// wantErrors checks a failure envelope exactly: the status, and every error's
// code and whole message, in order.
func wantErrors(t testing.TB, rec *httptest.ResponseRecorder, status int, want ...wantErr) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d: %s", rec.Code, status, rec.Body)
	}
	r := decodeEnvelope(t, rec)
	if r.Success || string(r.Result) != "null" || len(r.Errors) != len(want) {
		t.Fatalf("not a failure envelope with %d errors and result null: %s", len(want), rec.Body)
	}
	for i, w := range want {
		if got := r.Errors[i]; got.Code != w.code || got.Message != w.message {
			t.Fatalf("error %d: %d %q, want %d %q", i, got.Code, got.Message, w.code, w.message)
		}
	}
}

// wantNoRoute checks the answer for a path the API does not serve, as
// Cloudflare gives it: 400 with code 7003 naming the path (without
// /client/v4) and code 7000.
func wantNoRoute(t testing.TB, rec *httptest.ResponseRecorder, path string) {
	t.Helper()
	wantErrors(t, rec, http.StatusBadRequest,
		wantErr{7003, "Could not route to " + path + ", perhaps your object identifier is invalid?"},
		wantErr{7000, "No route for that URI"})
}

// TestLiveEvidence checks every error row of the contract's table of answers
// seen from the live service that it marks sure or likely (and the
// emulator's choice where the table gives no status), exactly: status, codes
// and messages.
func TestLiveEvidence(t *testing.T) {
	h := newHarness(t)
	ns := h.createNS("evidence")
	now := epoch.Unix()
	wantOK(t, h.doJSON(http.MethodPut, bulkPath(ns, ""), `[{"key":"text","value":"hello"},`+
		`{"key":"bin","value":"`+base64.StdEncoding.EncodeToString([]byte{0xff, 0xfe, 'x'})+`","base64":true}]`), nil)
	const gone = "ffffffffffffffffffffffffffffffff"
	nsNotFound := func(op string) []wantErr { return []wantErr{{10013, op + ": 'namespace not found'"}} }

	tooMany := bulkPairsJSON(10_001)
	manyKeys, _ := json.Marshal(map[string]any{"keys": make([]string, 101)})
	badMetadataBody, badMetadataType := multipartBody(t, []byte("v"), false, ptr(`{"unclosed":`))
	badMetadata, _ := io.ReadAll(badMetadataBody)

	tests := []struct {
		name         string
		method, path string
		body         string
		headers      []string
		status       int
		want         []wantErr
	}{
		// key not found (sure)
		{name: "value get of a missing key", method: "GET", path: valuePath(ns, "missing"),
			status: 404, want: []wantErr{{10009, "get: 'key not found'"}}},
		{name: "metadata get of a missing key", method: "GET", path: metaPath(ns, "missing"),
			status: 404, want: []wantErr{{10009, "metadata: 'key not found'"}}},
		// namespace not found (sure), one prefix per operation
		{name: "get namespace", method: "GET", path: nsBase + "/" + gone, status: 404, want: nsNotFound("get namespace")},
		{name: "list keys", method: "GET", path: keysPath(gone, ""), status: 404, want: nsNotFound("list keys")},
		{name: "put", method: "PUT", path: valuePath(gone, "k"), body: "v", status: 404, want: nsNotFound("put")},
		{name: "get", method: "GET", path: valuePath(gone, "k"), status: 404, want: nsNotFound("get")},
		{name: "metadata", method: "GET", path: metaPath(gone, "k"), status: 404, want: nsNotFound("metadata")},
		{name: "bulk put", method: "PUT", path: bulkPath(gone, ""), body: `[]`, status: 404, want: nsNotFound("bulk put")},
		{name: "bulk remove keys", method: "POST", path: bulkPath(gone, "/delete"), body: `["k"]`, status: 404, want: nsNotFound("bulk remove keys")},
		{name: "bulk remove keys, deprecated", method: "DELETE", path: bulkPath(gone, ""), body: `["k"]`, status: 404, want: nsNotFound("bulk remove keys")},
		{name: "bulk get keys", method: "POST", path: bulkPath(gone, "/get"), body: `{"keys":["k"]}`, status: 404, want: nsNotFound("bulk get keys")},
		// duplicate title (code sure, status likely)
		{name: "duplicate title", method: "POST", path: nsBase, body: `{"title":"evidence"}`,
			status: 400, want: []wantErr{{10014, "a namespace with this account ID and title already exists"}}},
		// keys list limit outside 10-1000 (likely)
		{name: "limit 9", method: "GET", path: keysPath(ns, "?limit=9"),
			status: 400, want: []wantErr{{10028, "limit argument must be at least 10"}}},
		{name: "limit 1001", method: "GET", path: keysPath(ns, "?limit=1001"),
			status: 400, want: []wantErr{{10028, "limit argument must be at most 1000"}}},
		// expiration at or before now (likely)
		{name: "expiration now", method: "PUT", path: valuePath(ns, "k") + fmt.Sprintf("?expiration=%d", now), body: "v",
			status: 400, want: []wantErr{{10033, fmt.Sprintf("put: 'Invalid expiration of %d. Please specify integer greater than the current number of seconds since the UNIX epoch.'", now)}}},
		{name: "expiration past", method: "PUT", path: valuePath(ns, "k") + "?expiration=1000", body: "v",
			status: 400, want: []wantErr{{10033, "put: 'Invalid expiration of 1000. Please specify integer greater than the current number of seconds since the UNIX epoch.'"}}},
		// metadata not valid JSON (likely; the status is the emulator's choice)
		{name: "metadata not json", method: "PUT", path: valuePath(ns, "k"), body: string(badMetadata), headers: []string{"Content-Type", badMetadataType},
			status: 400, want: []wantErr{{10147, "metadata must be valid json"}}},
		// bulk write over 10,000 pairs (sure for the code)
		{name: "bulk put of 10,001 pairs", method: "PUT", path: bulkPath(ns, ""), body: tooMany,
			status: 400, want: []wantErr{{10012, "bulk put: 'received 10001 key/value pairs, but max allowed per request is: 10000'"}}},
		// bulk get of a binary value with type text (likely): the whole request fails
		{name: "bulk get text of a binary value", method: "POST", path: bulkPath(ns, "/get"), body: `{"keys":["text","bin","missing"],"type":"text"}`,
			status: 400, want: []wantErr{{10029, "bulk get keys: 'At least one of the requested keys corresponds to a non-text value'"}}},
		{name: "bulk get default type of a binary value", method: "POST", path: bulkPath(ns, "/get"), body: `{"keys":["bin"],"withMetadata":true}`,
			status: 400, want: []wantErr{{10029, "bulk get keys: 'At least one of the requested keys corresponds to a non-text value'"}}},
		// bulk get over 100 keys (likely for the message)
		{name: "bulk get of 101 keys", method: "POST", path: bulkPath(ns, "/get"), body: string(manyKeys),
			status: 400, want: []wantErr{{10022, "bulk get keys: 'You can request a maximum of 100 keys'"}}},
		// authentication (sure, likely, likely)
		{name: "no credentials", method: "GET", path: nsBase, headers: []string{noAuth, ""},
			status: 400, want: []wantErr{{9106, "Missing X-Auth-Key, X-Auth-Email or Authorization headers"}}},
		{name: "unknown token", method: "GET", path: nsBase, headers: []string{"Authorization", "Bearer wrong"},
			status: 401, want: []wantErr{{10000, "Authentication error"}}},
		{name: "an account the token cannot see", method: "GET", path: "/client/v4/accounts/00000000000000000000000000000000/storage/kv/namespaces",
			status: 403, want: []wantErr{{10000, "Authentication error"}}},
		// unknown route (likely)
		{name: "unknown route", method: "GET", path: "/client/v4/accounts/" + emulator.DefaultAccountID + "/storage/kv/elsewhere",
			status: 400, want: []wantErr{
				{7003, "Could not route to /accounts/" + emulator.DefaultAccountID + "/storage/kv/elsewhere, perhaps your object identifier is invalid?"},
				{7000, "No route for that URI"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			wantErrors(t, h.do(tc.method, tc.path, body, tc.headers...), tc.status, tc.want...)
		})
	}
	// Nothing refused was written.
	if names := h.listAll(ns, ""); len(names) != 2 {
		t.Fatalf("refused requests wrote keys: %v", names)
	}
}

// TestBulkLimitCountsEveryPair checks that the count in the message of a bulk
// write or delete over 10,000 items is the array's length, not where the
// emulator stopped.
func TestBulkLimitCountsEveryPair(t *testing.T) {
	h := newHarness(t)
	ns := h.createNS("bulk-count")
	pairs, keys := []string{}, []string{}
	for i := range 10050 {
		pairs = append(pairs, fmt.Sprintf(`{"key":"k%d","value":"v","metadata":{"n":[%d,{"x":"]"}]}}`, i, i))
		keys = append(keys, fmt.Sprintf(`"k%d"`, i))
	}
	wantErrors(t, h.doJSON(http.MethodPut, bulkPath(ns, ""), "["+strings.Join(pairs, ",")+"]"), 400,
		wantErr{10012, "bulk put: 'received 10050 key/value pairs, but max allowed per request is: 10000'"})
	wantErrors(t, h.doJSON(http.MethodPost, bulkPath(ns, "/delete"), "["+strings.Join(keys, ",")+"]"), 400,
		wantErr{10012, "bulk remove keys: 'received 10050 keys, but max allowed per request is: 10000'"})
	// A body that turns out malformed after the 10,000th item is refused as such.
	wantError(t, h.doJSON(http.MethodPut, bulkPath(ns, ""), "["+strings.Join(pairs, ",")+",{"), 400, 10027, "")
	if names := h.listAll(ns, ""); len(names) != 0 {
		t.Fatalf("refused bulk writes wrote %d keys", len(names))
	}
}

// TestBulkGetTextValues checks that text values, U+FFFD included, are served
// by a bulk get and that one binary value among them fails it.
func TestBulkGetTextValues(t *testing.T) {
	h := newHarness(t)
	ns := h.createNS("bulk-get-text")
	h.put(ns, "replacement", "a\uFFFDb", "")
	h.put(ns, "empty", "", "")
	r := wantOK(t, h.doJSON(http.MethodPost, bulkPath(ns, "/get"), `{"keys":["replacement","empty"]}`), nil)
	if got, want := string(r.Result), `{"values":{"empty":"","replacement":"a`+"\uFFFD"+`b"}}`; got != want {
		t.Fatalf("result %s, want %s", got, want)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("value", "half \xe2\x82")
	_ = mw.Close()
	wantOK(t, h.do(http.MethodPut, valuePath(ns, "cut"), &buf, "Content-Type", mw.FormDataContentType()), nil)
	wantError(t, h.doJSON(http.MethodPost, bulkPath(ns, "/get"), `{"keys":["replacement","cut"]}`), 400, 10029, "non-text value")
	wantError(t, h.doJSON(http.MethodPost, bulkPath(ns, "/get"), `{"keys":["cut"],"type":"json"}`), 400, 10029, "non-text value")
}
