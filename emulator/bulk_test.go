package emulator_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

type bulkResult struct {
	SuccessfulKeyCount int      `json:"successful_key_count"`
	UnsuccessfulKeys   []string `json:"unsuccessful_keys"`
}

func bulkPath(ns, suffix string) string { return nsBase + "/" + ns + "/bulk" + suffix }

func TestBulkWrite(t *testing.T) {
	h := newHarness(t)
	ns := h.createNS("bulk")
	now := epoch.Unix()
	binary := []byte{0, 0xff, 0xfe, 'x'}
	body := fmt.Sprintf(`[
		{"key":"plain","value":"hello"},
		{"key":"b64","value":%q,"base64":true},
		{"key":"ttl","value":"t","expiration_ttl":120,"metadata":{"m":[1, 2]}},
		{"key":"abs","value":"a","expiration":%d},
		{"key":"both","value":"b","expiration":%d,"expiration_ttl":600},
		{"key":"dir/sub key","value":"slashes stay plain in JSON"},
		{"key":"null-meta","value":"n","metadata":null},
		{"key":"plain","value":"last write wins"}
	]`, base64.StdEncoding.EncodeToString(binary), now+300, now+100000)
	var res bulkResult
	wantOK(t, h.doJSON("PUT", bulkPath(ns, ""), body), &res)
	if res.SuccessfulKeyCount != 8 || res.UnsuccessfulKeys == nil || len(res.UnsuccessfulKeys) != 0 {
		t.Fatalf("result %+v", res)
	}
	if code, v := h.get(ns, "plain"); code != 200 || v != "last write wins" {
		t.Fatalf("plain: %d %q", code, v)
	}
	if rec := h.do("GET", valuePath(ns, "b64"), nil); !bytes.Equal(rec.Body.Bytes(), binary) {
		t.Fatalf("b64: %x", rec.Body.Bytes())
	}
	if code, v := h.get(ns, "dir/sub key"); code != 200 || v != "slashes stay plain in JSON" {
		t.Fatalf("dir/sub key: %d %q", code, v)
	}
	exp := map[string]int64{}
	meta := map[string]string{}
	keys, _ := h.list(ns, "")
	for _, k := range keys {
		exp[k.Name], meta[k.Name] = k.Expiration, string(k.Metadata)
	}
	if exp["ttl"] != now+120 || exp["abs"] != now+300 || exp["both"] != now+600 || exp["plain"] != 0 {
		t.Fatalf("expirations %v", exp)
	}
	if meta["ttl"] != `{"m":[1,2]}` || meta["null-meta"] != "" {
		t.Fatalf("metadata %v", meta)
	}
	// An empty array is fine.
	wantOK(t, h.doJSON("PUT", bulkPath(ns, ""), `[]`), &res)
	if res.SuccessfulKeyCount != 0 {
		t.Fatalf("empty bulk: %+v", res)
	}
}

// bulkPairsJSON is a bulk write body of n pairs, k0=v to k<n-1>=v.
func bulkPairsJSON(n int) string {
	var b strings.Builder
	b.WriteString("[")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"key":"k%d","value":"v"}`, i)
	}
	b.WriteString("]")
	return b.String()
}

func TestBulkWriteErrors(t *testing.T) {
	h := newHarness(t)
	ns := h.createNS("bulk-errors")
	tooMany := bulkPairsJSON(10_001)
	tests := []struct {
		name, body string
		status     int
		code       int
		msg        string
	}{
		{"object body", `{"key":"k","value":"v"}`, 400, 10027, "JSON array"},
		{"not json", `[{"key":`, 400, 10027, "must be an object"},
		{"item not object", `["k"]`, 400, 10027, "must be an object"},
		{"missing key", `[{"value":"v"}]`, 400, 10027, "needs a key"},
		{"missing value", `[{"key":"good"},{"key":"k"}]`, 400, 10027, `key "good" has no value`},
		{"value not string", `[{"key":"k","value":5}]`, 400, 10027, "must be an object"},
		{"empty key", `[{"key":"","value":"v"}]`, 400, 10020, "must not be empty"},
		{"dot key", `[{"key":"..","value":"v"}]`, 400, 10020, `cannot be "." or ".."`},
		{"long key", `[{"key":"` + strings.Repeat("x", 513) + `","value":"v"}]`, 400, 10020, "exceeds key length limit of 512"},
		{"bad base64", `[{"key":"k","value":"!!notbase64","base64":true}]`, 400, 10027, `key "k" is not valid base64`},
		{"ttl too small", `[{"key":"k","value":"v","expiration_ttl":59}]`, 400, 10033, "Invalid expiration_ttl of 59. Expiration TTL must be at least 60."},
		{"expiration too soon", fmt.Sprintf(`[{"key":"k","value":"v","expiration":%d}]`, epoch.Unix()+10), 400, 10033, "at least 60 seconds in the future"},
		{"expiration past", fmt.Sprintf(`[{"key":"k","value":"v","expiration":%d}]`, epoch.Unix()), 400, 10033, fmt.Sprintf("bulk put: 'Invalid expiration of %d. Please specify integer greater than the current number of seconds since the UNIX epoch.'", epoch.Unix())},
		{"negative ttl", `[{"key":"k","value":"v","expiration_ttl":-100}]`, 400, 10033, "Invalid expiration_ttl of -100"},
		{"metadata too large", `[{"key":"k","value":"v","metadata":"` + strings.Repeat("m", 1100) + `"}]`, 400, 10025, "exceeds limit of 1024"},
		{"too many items", tooMany, 400, 10012, "bulk put: 'received 10001 key/value pairs, but max allowed per request is: 10000'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, h.doJSON("PUT", bulkPath(ns, ""), tc.body), tc.status, tc.code, tc.msg)
		})
	}
	// Nothing was written by any failed request, not even the valid items.
	if names := h.listAll(ns, ""); len(names) != 0 {
		t.Fatalf("failed bulk writes wrote %v", names)
	}
	wantError(t, h.doJSON("PUT", bulkPath("ffffffffffffffffffffffffffffffff", ""), `[]`), 404, 10013, "namespace not found")
}

func TestBulkDelete(t *testing.T) {
	for _, route := range []struct{ method, suffix string }{{"POST", "/delete"}, {"DELETE", ""}} {
		t.Run(route.method, func(t *testing.T) {
			h := newHarness(t)
			ns := h.createNS("bulk-delete")
			for _, k := range []string{"a", "b", "c/d", "keep"} {
				h.put(ns, k, "v", "")
			}
			var res bulkResult
			wantOK(t, h.doJSON(route.method, bulkPath(ns, route.suffix), `["a","b","c/d","never-existed"]`), &res)
			if res.SuccessfulKeyCount != 4 || len(res.UnsuccessfulKeys) != 0 || res.UnsuccessfulKeys == nil {
				t.Fatalf("result %+v", res)
			}
			if names := h.listAll(ns, ""); len(names) != 1 || names[0] != "keep" {
				t.Fatalf("left %v", names)
			}
			keys := make([]string, 10001)
			for i := range keys {
				keys[i] = fmt.Sprint("k", i)
			}
			many, _ := json.Marshal(keys)
			for _, tc := range []struct {
				body string
				code int
				msg  string
			}{
				{`{"keys":["a"]}`, 10027, "JSON array"},
				{`[1,2]`, 10027, "array of key names"},
				{`["keep",""]`, 10020, "must not be empty"},
				{string(many), 10012, "bulk remove keys: 'received 10001 keys, but max allowed per request is: 10000'"},
			} {
				wantError(t, h.doJSON(route.method, bulkPath(ns, route.suffix), tc.body), 400, tc.code, tc.msg)
			}
			if names := h.listAll(ns, ""); len(names) != 1 {
				t.Fatalf("a failed bulk delete deleted: %v", names)
			}
			wantError(t, h.doJSON(route.method, bulkPath("ffffffffffffffffffffffffffffffff", route.suffix), `[]`), 404, 10013, "namespace not found")
		})
	}
}

func TestBulkGet(t *testing.T) {
	h := newHarness(t)
	ns := h.createNS("bulk-get")
	now := epoch.Unix()
	wantOK(t, h.doJSON("PUT", bulkPath(ns, ""), fmt.Sprintf(`[
		{"key":"text","value":"hello"},
		{"key":"obj","value":"{\"a\": [1, true]}","metadata":{"m":1},"expiration":%d},
		{"key":"num","value":"42"},
		{"key":"bad-utf8","value":%q,"base64":true}
	]`, now+3600, base64.StdEncoding.EncodeToString([]byte{'o', 'k', 0xff, 0xfe, '!'}))), nil)

	result := func(body string) string {
		t.Helper()
		r := wantOK(t, h.doJSON("POST", bulkPath(ns, "/get"), body), nil)
		return string(r.Result)
	}
	if got, want := result(`{"keys":["text","num","missing"]}`), `{"values":{"missing":null,"num":"42","text":"hello"}}`; got != want {
		t.Fatalf("text:\n%s\nwant\n%s", got, want)
	}
	if got, want := result(`{"keys":["obj","num","missing"],"type":"json"}`), `{"values":{"missing":null,"num":42,"obj":{"a":[1,true]}}}`; got != want {
		t.Fatalf("json:\n%s\nwant\n%s", got, want)
	}
	wantMeta := fmt.Sprintf(`{"values":{"missing":null,"obj":{"value":"{\"a\": [1, true]}","metadata":{"m":1},"expiration":%d},"text":{"value":"hello","metadata":null}}}`, now+3600)
	if got := result(`{"keys":["obj","text","missing"],"withMetadata":true,"type":"text"}`); got != wantMeta {
		t.Fatalf("withMetadata:\n%s\nwant\n%s", got, wantMeta)
	}
	if got, want := result(`{"keys":[]}`), `{"values":{}}`; got != want {
		t.Fatalf("no keys: %s", got)
	}

	many, _ := json.Marshal(map[string]any{"keys": make([]string, 101)})
	tests := []struct {
		body string
		code int
		msg  string
	}{
		{`{"keys":["text"],"type":"json"}`, 10034, "bulk get keys: 'At least one of the requested keys corresponds to a non-json value'"},
		{`{"keys":["text","bad-utf8"]}`, 10029, "bulk get keys: 'At least one of the requested keys corresponds to a non-text value'"},
		{`{"keys":["bad-utf8","missing"],"type":"text","withMetadata":true}`, 10029, "non-text value"},
		{`{"keys":["num","bad-utf8"],"type":"json"}`, 10029, "non-text value"},
		{`{"keys":["text"],"type":"arrayBuffer"}`, 10027, "must be text or json"},
		{`{"type":"text"}`, 10027, "needs a keys array"},
		{`{"keys":"text"}`, 10027, "not valid JSON"},
		{`not json`, 10027, "not valid JSON"},
		{`{"keys":[""]}`, 10020, "must not be empty"},
		{string(many), 10022, "bulk get keys: 'You can request a maximum of 100 keys'"},
	}
	for _, tc := range tests {
		wantError(t, h.doJSON("POST", bulkPath(ns, "/get"), tc.body), 400, tc.code, tc.msg)
	}
	wantError(t, h.doJSON("POST", bulkPath("ffffffffffffffffffffffffffffffff", "/get"), `{"keys":["a"]}`), 404, 10013, "namespace not found")
}
