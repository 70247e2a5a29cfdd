package contract_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/workerskv/workerskv/internal/rigs/contract"
)

// exchange is one request and, if status is not 0, its response.
type exchange struct {
	name     string
	method   string
	path     string // relative to nsPath, with query
	ct, body string
	auth     func(http.Header) // nil: bearer token
	status   int
	respCT   string
	resp     string
	wantReq  string // "" = request must pass; else substrings of the violation, "|"-separated
	wantResp string
}

func run(t *testing.T, s *contract.Spec, c exchange) {
	t.Helper()
	req, err := http.NewRequest(c.method, "http://127.0.0.1:8787"+nsPath+c.path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	if c.ct != "" {
		req.Header.Set("Content-Type", c.ct)
	}
	if c.auth == nil {
		c.auth = bearer
	}
	c.auth(req.Header)
	checkErr(t, "request", s.ValidateRequest(req, []byte(c.body)), c.wantReq)
	if c.status != 0 {
		h := http.Header{}
		if c.respCT != "" {
			h.Set("Content-Type", c.respCT)
		}
		checkErr(t, "response", s.ValidateResponse(req, []byte(c.body), c.status, h, []byte(c.resp)), c.wantResp)
	}
}

const (
	js  = "application/json"
	bin = "application/octet-stream"
	ns  = "/" + namespace
)

func TestValidExchanges(t *testing.T) {
	s := loadSpec(t)
	mpCT, mpBody := multipartBody(t, part{"value", "", "hello"}, part{"metadata", js, `{"owner":"me","n":[1,[2]]}`})
	mpCT2, mpBody2 := multipartBody(t, part{"value", "image/png", "\x89PNG\x00\xff"}, part{"metadata", "", `null`})
	mpCT3, mpBody3 := multipartBody(t, part{"value", bin, "only a value"})
	cases := []exchange{
		{name: "list namespaces", method: "GET", path: "?page=2&per_page=50&order=title&direction=desc",
			status: 200, respCT: js, resp: `{"success":true,"errors":[],"messages":[],"result":[{"id":"` + namespace +
				`","title":"t","supports_url_encoding":true}],"result_info":{"page":2,"per_page":50,"count":1,"total_count":51}}`},
		{name: "list namespaces, no query", method: "GET", status: 200, respCT: "application/json; charset=utf-8",
			resp: `{"success":true,"errors":[],"messages":[],"result":[],"result_info":{"page":1,"per_page":20,"count":0,"total_count":0}}`},
		{name: "create namespace", method: "POST", ct: js, body: `{"title":"my-ns"}`, status: 200, respCT: js, resp: nsOK},
		{name: "get namespace", method: "GET", path: ns, status: 200, respCT: js, resp: nsOK},
		{name: "rename namespace", method: "PUT", path: ns, ct: js, body: `{"title":"renamed"}`, status: 200, respCT: js, resp: nsOK},
		{name: "delete namespace, no body", method: "DELETE", path: ns, status: 200, respCT: js, resp: okNull},
		{name: "delete namespace, {} body", method: "DELETE", path: ns, ct: js, body: `{}`, status: 200, respCT: js,
			resp: `{"success":true,"errors":[],"messages":[],"result":{}}`},
		{name: "list keys", method: "GET", path: ns + "/keys?prefix=user%3A&limit=10&cursor=6Ck1la0VxJ0djhid",
			status: 200, respCT: js, resp: `{"success":true,"errors":[],"messages":[],"result":[{"name":"user:1","expiration":1577836800,` +
				`"metadata":{"a":1}},{"name":"user:2","metadata":null},{"name":"user:3"}],"result_info":{"count":3,"cursor":""}}`},
		{name: "put value raw with expiration_ttl", method: "PUT", path: ns + "/values/k1?expiration_ttl=60", ct: bin,
			body: "\x00\x01raw\xff", status: 200, respCT: js, resp: okNull},
		{name: "put value raw with expiration, empty value", method: "PUT", path: ns + "/values/k1?expiration=1900000000",
			ct: bin, status: 200, respCT: js, resp: okNull},
		{name: "put value multipart value+metadata", method: "PUT", path: ns + "/values/k1", ct: mpCT, body: mpBody,
			status: 200, respCT: js, resp: okNull},
		{name: "put value multipart binary value, metadata without content type", method: "PUT", path: ns + "/values/k1",
			ct: mpCT2, body: mpBody2, status: 200, respCT: js, resp: okNull},
		{name: "put value multipart value only", method: "PUT", path: ns + "/values/k1", ct: mpCT3, body: mpBody3,
			status: 200, respCT: js, resp: okNull},
		{name: "get value raw bytes", method: "GET", path: ns + "/values/k1", status: 200, respCT: bin, resp: "\x00\x01raw\xff"},
		{name: "get value, escaped key a%2Fb%3Fc", method: "GET", path: ns + "/values/a%2Fb%3Fc", status: 200, respCT: bin, resp: "v"},
		{name: "put value, escaped key", method: "PUT", path: ns + "/values/a%2Fb%3Fc%20d%25", ct: bin, body: "v",
			status: 200, respCT: js, resp: okNull},
		// 300 characters decoded, 1800 escaped: maxLength 512 applies to the decoded key.
		{name: "long escaped key", method: "GET", path: ns + "/values/" + strings.Repeat("%C3%A9", 300), status: 200, respCT: bin},
		{name: "delete value", method: "DELETE", path: ns + "/values/a%2Fb", status: 200, respCT: js, resp: okNull},
		{name: "get metadata", method: "GET", path: ns + "/metadata/k1", status: 200, respCT: js,
			resp: `{"success":true,"errors":[],"messages":[],"result":{"someMetadataKey":"someMetadataValue"}}`},
		{name: "get metadata, none", method: "GET", path: ns + "/metadata/k1", status: 200, respCT: js,
			resp: `{"success":true,"errors":[],"messages":[],"result":null}`},
		{name: "bulk write", method: "PUT", path: ns + "/bulk", ct: js,
			body:   `[{"key":"a","value":"1","expiration_ttl":120,"metadata":{"x":[[1]]}},{"key":"b","value":"aGk=","base64":true,"expiration":1900000000}]`,
			status: 200, respCT: js, resp: bulkOK},
		{name: "bulk delete", method: "POST", path: ns + "/bulk/delete", ct: js, body: `["a","b"]`, status: 200, respCT: js, resp: bulkOK},
		{name: "bulk delete, deprecated", method: "DELETE", path: ns + "/bulk", ct: js, body: `["a"]`, status: 200, respCT: js, resp: bulkOK},
		{name: "bulk get", method: "POST", path: ns + "/bulk/get", ct: js, body: `{"keys":["a","b","c"],"type":"json"}`,
			status: 200, respCT: js, resp: `{"success":true,"errors":[],"messages":[],"result":{"values":{"a":"1","b":{"x":1},"c":null}}}`},
		{name: "bulk get with metadata", method: "POST", path: ns + "/bulk/get", ct: js, body: `{"keys":["a","b"],"withMetadata":true}`,
			status: 200, respCT: js, resp: `{"success":true,"errors":[],"messages":[],"result":{"values":{"a":{"value":"1",` +
				`"metadata":{"x":1},"expiration":1577836800},"b":null}}}`},
		// Every entry is an object with value and metadata, so it also matches the plain form: the
		// spec's oneOf alone would refuse this valid response.
		{name: "bulk get with metadata, no missing keys", method: "POST", path: ns + "/bulk/get", ct: js,
			body: `{"keys":["a"],"withMetadata":true,"type":"text"}`, status: 200, respCT: js,
			resp: `{"success":true,"errors":[],"messages":[],"result":{"values":{"a":{"value":"1","metadata":null}}}}`},
		// workers-kv_any refers to itself; without cutAnyCycle this takes kin-openapi forever (2^300 visits).
		{name: "deeply nested metadata", method: "PUT", path: ns + "/bulk", ct: js,
			body:   `[{"key":"a","value":"1","metadata":` + strings.Repeat("[", 300) + `{"x":null}` + strings.Repeat("]", 300) + `}]`,
			status: 200, respCT: js, resp: bulkOK},
		{name: "404 error envelope 10009", method: "GET", path: ns + "/values/missing", status: 404, respCT: js, resp: notFound},
		{name: "error with extra fields", method: "GET", path: ns + "/metadata/missing", status: 404, respCT: js,
			resp: `{"success":false,"errors":[{"code":10009,"message":"key not found","documentation_url":"https://x"}],"messages":[],"result":null}`},
		{name: "bulk write 400 with bulk result", method: "PUT", path: ns + "/bulk", ct: js, body: `[{"key":"a","value":"1"}]`,
			status: 400, respCT: js, resp: `{"success":false,"errors":[{"code":10001,"message":"bad"}],"messages":[],` +
				`"result":{"successful_key_count":0,"unsuccessful_keys":["a"]}}`},
		{name: "undeclared 502 with HTML is outside the contract", method: "GET", path: ns, status: 502, respCT: "text/html", resp: "<html>bad gateway</html>"},
		{name: "undeclared 500 with envelope", method: "GET", path: ns, status: 500, respCT: js,
			resp: `{"success":false,"errors":[{"code":10000,"message":"internal"}],"messages":[],"result":null}`},
		{name: "api key credentials", method: "GET", path: ns, auth: func(h http.Header) {
			h.Set("X-Auth-Key", "k")
			h.Set("X-Auth-Email", "a@example.com")
		}, status: 200, respCT: js, resp: nsOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { run(t, s, c) })
	}
}

func TestViolations(t *testing.T) {
	s := loadSpec(t)
	noValueCT, noValue := multipartBody(t, part{"metadata", js, `{"a":1}`})
	badMetaCT, badMeta := multipartBody(t, part{"value", "", "v"}, part{"metadata", js, `{not json`})
	extraCT, extra := multipartBody(t, part{"value", "", "v"}, part{"expiration_ttl", "", "60"})
	cases := []exchange{
		{name: "create namespace without title", method: "POST", ct: js, body: `{"name":"x"}`, wantReq: `POST|` + nsPath + `|"title"`},
		{name: "create namespace with a long title", method: "POST", ct: js, body: `{"title":"` + strings.Repeat("t", 513) + `"}`, wantReq: "title"},
		{name: "create namespace without body", method: "POST", wantReq: "request body"},
		{name: "create namespace as form", method: "POST", ct: "application/x-www-form-urlencoded", body: "title=x", wantReq: "Content-Type"},
		{name: "per_page=abc", method: "GET", path: "?per_page=abc", wantReq: `GET|per_page`},
		{name: "per_page too large", method: "GET", path: "?per_page=1001", wantReq: "per_page"},
		{name: "direction=sideways", method: "GET", path: "?direction=sideways", wantReq: "direction"},
		{name: "unknown query parameter", method: "GET", path: "?pagesize=5", wantReq: `unknown query parameter "pagesize"`},
		{name: "repeated query parameter", method: "GET", path: "?page=1&page=2", wantReq: `"page" sent 2 times`},
		{name: "list keys limit below 10", method: "GET", path: ns + "/keys?limit=5", wantReq: "limit"},
		{name: "expiration_ttl below 60", method: "PUT", path: ns + "/values/k?expiration_ttl=30", ct: bin, body: "v", wantReq: "expiration_ttl"},
		{name: "value put as text/plain", method: "PUT", path: ns + "/values/k", ct: "text/plain", body: "v", wantReq: "Content-Type"},
		{name: "value put without content type", method: "PUT", path: ns + "/values/k", body: "v", wantReq: "Content-Type"},
		{name: "multipart without value", method: "PUT", path: ns + "/values/k", ct: noValueCT, body: noValue, wantReq: `"value"`},
		{name: "multipart metadata not JSON", method: "PUT", path: ns + "/values/k", ct: badMetaCT, body: badMeta, wantReq: `"metadata" is not valid JSON`},
		{name: "multipart unknown part", method: "PUT", path: ns + "/values/k", ct: extraCT, body: extra, wantReq: `"expiration_ttl" is not in the schema`},
		{name: "bulk write body is an object", method: "PUT", path: ns + "/bulk", ct: js, body: `{"key":"a","value":"1"}`, wantReq: "array"},
		{name: "bulk write item without value", method: "PUT", path: ns + "/bulk", ct: js, body: `[{"key":"a"}]`, wantReq: `"value"`},
		{name: "bulk write value not a string", method: "PUT", path: ns + "/bulk", ct: js, body: `[{"key":"a","value":1}]`, wantReq: "value"},
		{name: "bulk get type bad enum", method: "POST", path: ns + "/bulk/get", ct: js, body: `{"keys":["a"],"type":"xml"}`, wantReq: "type"},
		{name: "bulk get over 100 keys", method: "POST", path: ns + "/bulk/get", ct: js,
			body: `{"keys":["` + strings.Repeat(`k","`, 100) + `k"]}`, wantReq: "keys"},
		{name: "delete namespace with non-JSON body", method: "DELETE", path: ns, ct: js, body: "{", wantReq: "not valid JSON"},
		{name: "no credentials", method: "GET", path: ns, auth: func(http.Header) {}, wantReq: "credentials: none sent"},
		{name: "api key without email", method: "GET", path: ns, auth: func(h http.Header) { h.Set("X-Auth-Key", "k") }, wantReq: "together"},
		{name: "basic auth", method: "GET", path: ns, auth: func(h http.Header) { h.Set("Authorization", "Basic eDp5") }, wantReq: "Bearer"},
		{name: "unescaped slash in key splits the segment", method: "GET", path: ns + "/values/a/b", wantReq: "no operation"},
		{name: "key longer than 512", method: "GET", path: ns + "/values/" + strings.Repeat("k", 513), wantReq: "key_name"},
		{name: "method not in spec", method: "PATCH", path: ns, wantReq: "no operation"},
		{name: "list keys result is an object", method: "GET", path: ns + "/keys", status: 200, respCT: js,
			resp:     `{"success":true,"errors":[],"messages":[],"result":{"name":"a"},"result_info":{"count":1,"cursor":""}}`,
			wantResp: `GET|/keys|response 200|result`},
		{name: "list keys item without name", method: "GET", path: ns + "/keys", status: 200, respCT: js,
			resp: `{"success":true,"errors":[],"messages":[],"result":[{"expiration":1}],"result_info":{"count":1,"cursor":""}}`, wantResp: "name"},
		{name: "list namespaces result_info.page a string", method: "GET", status: 200, respCT: js,
			resp: `{"success":true,"errors":[],"messages":[],"result":[],"result_info":{"page":"1"}}`, wantResp: "page"},
		{name: "success envelope without errors", method: "GET", path: ns, status: 200, respCT: js,
			resp: `{"success":true,"messages":[],"result":{"id":"x","title":"t"}}`, wantResp: "errors"},
		{name: "200 with success false", method: "GET", path: ns, status: 200, respCT: js,
			resp: `{"success":false,"errors":[],"messages":[],"result":null}`, wantResp: "success"},
		{name: "rename response without result", method: "PUT", path: ns, ct: js, body: `{"title":"t"}`, status: 200, respCT: js,
			resp: okNull, wantResp: "result"},
		{name: "undeclared success status 204", method: "DELETE", path: ns, status: 204, wantResp: "status 204 is not declared"},
		{name: "value get as JSON", method: "GET", path: ns + "/values/k", status: 200, respCT: js, resp: `"v"`, wantResp: "Content-Type"},
		{name: "HTML 404 for a JSON operation", method: "GET", path: ns + "/values/k", status: 404, respCT: "text/html",
			resp: "<html>404</html>", wantResp: `Content-Type "text/html" for status 404`},
		{name: "405 for a method the spec lacks", method: "PUT", path: ns + "/keys", status: 405, respCT: "text/plain", resp: "no", wantReq: "no operation", wantResp: "no operation"},
		{name: "error envelope with success true", method: "GET", path: ns, status: 404, respCT: js,
			resp: `{"success":true,"errors":[{"code":10013,"message":"namespace not found"}],"messages":[],"result":null}`, wantResp: "success"},
		{name: "error envelope without errors", method: "GET", path: ns, status: 400, respCT: js,
			resp: `{"success":false,"errors":[],"messages":[],"result":null}`, wantResp: "at least one error"},
		{name: "error code below 1000", method: "GET", path: ns, status: 400, respCT: js,
			resp: `{"success":false,"errors":[{"code":7,"message":"x"}],"messages":[],"result":null}`, wantResp: "code"},
		{name: "error body not JSON though declared JSON", method: "GET", path: ns, status: 429, respCT: js, resp: "slow down", wantResp: "not valid JSON"},
		{name: "undeclared 503 JSON that is no envelope", method: "GET", path: ns, status: 503, respCT: js, resp: `{"error":"down"}`, wantResp: "success"},
		{name: "bulk get with metadata answered in plain form", method: "POST", path: ns + "/bulk/get", ct: js,
			body: `{"keys":["a"],"withMetadata":true}`, status: 200, respCT: js,
			resp: `{"success":true,"errors":[],"messages":[],"result":{"values":{"a":"1"}}}`, wantResp: "with-metadata"},
		{name: "bulk get entry missing metadata", method: "POST", path: ns + "/bulk/get", ct: js,
			body: `{"keys":["a"],"withMetadata":true}`, status: 200, respCT: js,
			resp: `{"success":true,"errors":[],"messages":[],"result":{"values":{"a":{"value":"1"}}}}`, wantResp: "metadata"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { run(t, s, c) })
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := contract.Load("testdata/does-not-exist.json"); err == nil {
		t.Error("Load of a missing file succeeded")
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	doc := `{"openapi":"3.0.3","info":{"title":"x","version":"1"},"paths":{"/a":{"get":{"responses":{"200":{"description":"ok",` +
		`"content":{"application/json":{"schema":{"type":"strin"}}}}}}}}}`
	if err := os.WriteFile(bad, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := contract.Load(bad); err == nil {
		t.Error("Load of an invalid document succeeded")
	}
}
