package workerskv_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/workerskv/workerskv"
)

// maxErrorLen is the longest error string the client may produce from one response: enough for the
// method, path, status, a few codes and messages, short enough for a log line.
const maxErrorLen = 4096

// fixedResponse is an http.RoundTripper that answers every request with one status and body.
type fixedResponse struct {
	status      int
	contentType string
	body        []byte
}

func (f *fixedResponse) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body.Close()
	}
	h := http.Header{"Cf-Ray": {"0123456789abcdef-FUZ"}}
	if f.contentType != "" {
		h.Set("Content-Type", f.contentType)
	}
	return &http.Response{
		Status: strconv.Itoa(f.status) + " Fuzzed", StatusCode: f.status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(bytes.NewReader(f.body)), ContentLength: int64(len(f.body)),
		Request: req,
	}, nil
}

// errorSeeds are response bodies: envelopes well and badly formed, proxies' pages, junk.
var errorSeeds = []string{
	``, ` `, `null`, `{}`, `[]`, `"x"`, `0`, `{"success":false}`,
	`{"success":false,"errors":[{"code":10009,"message":"key not found"}],"messages":[],"result":null}`,
	`{"success":false,"errors":[{"code":10013,"message":"namespace not found"}],"result":null}`,
	`{"success":false,"errors":[],"messages":[],"result":null}`,
	`{"success":false,"errors":null}`,
	`{"success":false,"errors":[{"code":"10009","message":1}]}`,
	`{"success":false,"errors":[{"code":1e3,"message":"x"}]}`,
	`{"success":false,"errors":[{"code":99999999999999999999,"message":"x"}]}`,
	`{"success":false,"errors":[{"code":-1,"message":"\u0000\r\nX-Evil: 1"}]}`,
	`{"success":false,"errors":[{"code":10000,"message":"a"},{"code":9106,"message":"b"},{"code":971,"message":"c"}]}`,
	`{"success":true,"errors":[],"messages":[],"result":null}`,
	`{"success":true,"result":{"id":"x","title":"t","supports_url_encoding":true}}`,
	`{"success":true,"result":[{"name":"k","expiration":1.7e9,"metadata":{"a":1}}],"result_info":{"count":1,"cursor":"c"}}`,
	`{"success":true,"result":[{"name":"k","expiration":"soon"}]}`,
	`{"success":true,"result":[{"name":"k","expiration":1e400}]}`,
	`{"success":true,"result":"not what was expected"}`,
	`{"success":"yes"}`, `{"success":false,"errors":[{"code":10009,"message":"x"}]`,
	"<html><body><h1>502 Bad Gateway</h1>\r\n<hr>cloudflare</body></html>",
	"\xff\xfe\x00{\x00}", "\x1b[31mred\x1b[0m",
	`{"success":false,"errors":[{"code":1000,"message":"` + strings.Repeat("\u00e9", 100) + `"}]}`,
	`{"success":false,"errors":[` + strings.Repeat(`{"code":1001,"message":"m"},`, 50) + `{"code":1002,"message":"last"}]}`,
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
}

// FuzzAPIErrorDecoding drives the real client (namespaces Get, Keys.List and Values.Get) through a
// transport answering with a fuzzed status and body. It checks: no panic; a non-2xx status always
// gives an *APIError with that status and at least one error entry; a 2xx gives the value exactly
// (Values.Get), a result, or an error that is an *APIError with that status or a malformed-response
// error; no error string is longer than maxErrorLen; errors.Is works on every error.
func FuzzAPIErrorDecoding(f *testing.F) {
	statuses := []int{200, 204, 299, 301, 304, 400, 401, 403, 404, 409, 413, 429, 500, 502, 503, 520, 599, 100, 999}
	for i, body := range errorSeeds {
		f.Add(statuses[i%len(statuses)], i%2 == 0, []byte(body))
	}
	f.Add(404, true, []byte(errorSeeds[8]))
	f.Add(200, true, []byte(errorSeeds[8]))
	f.Fuzz(func(t *testing.T, status int, jsonType bool, body []byte) {
		if status < 100 || status > 999 {
			status = 100 + (status%900+900)%900 // a three-digit status, as HTTP carries
		}
		rt := &fixedResponse{status: status, body: body}
		if jsonType {
			rt.contentType = "application/json"
		}
		c, err := workerskv.NewClient(
			workerskv.WithAPIToken("fuzz-token"),
			workerskv.WithAccountID("0123456789abcdef0123456789abcdef"),
			workerskv.WithBaseURL("https://api.kv.test/client/v4"),
			workerskv.WithHTTPClient(&http.Client{Transport: rt}),
			workerskv.WithMaxRetries(workerskv.NoRetries),
		)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		const ns = "fedcba9876543210fedcba9876543210"
		ok2xx := status >= 200 && status <= 299

		_, err = c.Namespaces.Get(ctx, ns)
		checkDecodedError(t, "Namespaces.Get", status, err)
		_, err = c.Keys.List(ctx, ns, &workerskv.ListKeysOptions{Prefix: "p", Limit: 10})
		checkDecodedError(t, "Keys.List", status, err)
		v, err := c.Values.Get(ctx, ns, "key")
		checkDecodedError(t, "Values.Get", status, err)
		if ok2xx && (err != nil || !bytes.Equal(v, body)) {
			t.Fatalf("Values.Get with status %d: %q, %v; want the body exactly", status, v, err)
		}
	})
}

// checkDecodedError checks one call's error against the response status; see FuzzAPIErrorDecoding.
func checkDecodedError(t *testing.T, what string, status int, err error) {
	t.Helper()
	ok2xx := status >= 200 && status <= 299
	if err == nil {
		if !ok2xx {
			t.Fatalf("%s: status %d gave no error", what, status)
		}
		return
	}
	msg := err.Error()
	if len(msg) > maxErrorLen {
		t.Fatalf("%s: status %d: error of %d bytes (limit %d): %.200q…", what, status, len(msg), maxErrorLen, msg)
	}
	for _, target := range []error{workerskv.ErrNotFound, workerskv.ErrUnauthorized, workerskv.ErrForbidden,
		workerskv.ErrRateLimited, workerskv.ErrConflict, workerskv.ErrInvalidInput} {
		_ = errors.Is(err, target)
	}
	var ae *workerskv.APIError
	isAPI := errors.As(err, &ae)
	switch {
	case !ok2xx && !isAPI:
		t.Fatalf("%s: status %d gave %T %v, want *APIError", what, status, err, err)
	case isAPI && ae.StatusCode != status:
		t.Fatalf("%s: status %d gave an *APIError with status %d", what, status, ae.StatusCode)
	case isAPI && len(ae.Errors) == 0:
		t.Fatalf("%s: status %d: *APIError without any error entry", what, status)
	case ok2xx && !isAPI && !strings.Contains(msg, "malformed response"):
		t.Fatalf("%s: status %d: unexpected error %v", what, status, err)
	}
	if isAPI && ae.RayID != "0123456789abcdef-FUZ" {
		t.Fatalf("%s: RayID %q", what, ae.RayID)
	}
}
