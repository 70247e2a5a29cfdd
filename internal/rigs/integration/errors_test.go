package integration

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/workerskv/workerskv"
)

// apiErr is one entry of a failure envelope's errors.
type apiErr struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// TestErrorsThroughClient provokes, through the client, the failures of the contract's table of
// answers seen from the live service ("Evidence from the live service" in spec/kv-api.md), and checks
// status, code, message and the client's category. Against the real API, only what the table marks
// sure or likely is checked.
func TestErrorsThroughClient(t *testing.T) {
	t.Parallel()
	tg := newTarget(t)
	ns := tg.namespace(t)
	c := tg.client
	ctx := t.Context()
	const gone = "ffffffffffffffffffffffffffffff00" // a namespace no account has
	if _, err := c.Bulk.Put(ctx, ns, []workerskv.BulkPair{
		{Key: "text", Value: []byte("hello")},
		{Key: "bin", Value: []byte{0xff, 0xfe, 'x'}},
	}, nil); err != nil {
		t.Fatal(err)
	}
	info, err := c.Namespaces.Get(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		call    func() error
		status  int
		code    int
		message string
		want    error
		// guessed: the status or message is the emulator's guess (no evidence); not checked live.
		guessed bool
	}{
		{name: "value of a missing key", status: 404, code: 10009, message: "get: 'key not found'", want: workerskv.ErrKeyNotFound,
			call: func() error { _, err := c.Values.Get(ctx, ns, "missing"); return err }},
		{name: "metadata of a missing key", status: 404, code: 10009, message: "metadata: 'key not found'", want: workerskv.ErrKeyNotFound,
			call: func() error { _, err := c.Keys.Metadata(ctx, ns, "missing"); return err }},
		{name: "get namespace", status: 404, code: 10013, message: "get namespace: 'namespace not found'", want: workerskv.ErrNamespaceNotFound,
			call: func() error { _, err := c.Namespaces.Get(ctx, gone); return err }},
		{name: "list keys", status: 404, code: 10013, message: "list keys: 'namespace not found'", want: workerskv.ErrNamespaceNotFound,
			call: func() error { _, err := c.Keys.List(ctx, gone, nil); return err }},
		{name: "put", status: 404, code: 10013, message: "put: 'namespace not found'", want: workerskv.ErrNamespaceNotFound,
			call: func() error { return c.Values.Put(ctx, gone, "k", strings.NewReader("v"), nil) }},
		{name: "bulk remove keys", status: 404, code: 10013, message: "bulk remove keys: 'namespace not found'", want: workerskv.ErrNamespaceNotFound,
			call: func() error { _, err := c.Bulk.Delete(ctx, gone, []string{"k"}, nil); return err }},
		{name: "bulk put", status: 404, code: 10013, message: "bulk put: 'namespace not found'", want: workerskv.ErrNamespaceNotFound, guessed: true,
			call: func() error {
				_, err := c.Bulk.Put(ctx, gone, []workerskv.BulkPair{{Key: "k", Value: []byte("v")}}, nil)
				return err
			}},
		{name: "bulk get keys", status: 404, code: 10013, message: "bulk get keys: 'namespace not found'", want: workerskv.ErrNamespaceNotFound, guessed: true,
			call: func() error { _, err := c.Bulk.Get(ctx, gone, []string{"k"}, nil); return err }},
		{name: "duplicate title", status: 400, code: 10014, message: "a namespace with this account ID and title already exists", want: workerskv.ErrConflict,
			call: func() error { _, err := c.Namespaces.Create(ctx, info.Title); return err }},
		{name: "bulk get of a binary value as text", status: 400, code: 10029, guessed: true, want: workerskv.ErrInvalidInput,
			message: "bulk get keys: 'At least one of the requested keys corresponds to a non-text value'",
			call:    func() error { _, err := c.Bulk.Get(ctx, ns, []string{"text", "bin"}, nil); return err }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			var ae *workerskv.APIError
			if !errors.As(err, &ae) || len(ae.Errors) == 0 {
				t.Fatalf("got %v, want an APIError", err)
			}
			if ae.Errors[0].Code != tc.code {
				t.Fatalf("code %d, want %d: %v", ae.Errors[0].Code, tc.code, err)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("%v does not match %v", err, tc.want)
			}
			if tg.live && tc.guessed {
				return
			}
			if ae.StatusCode != tc.status || ae.Errors[0].Message != tc.message {
				t.Fatalf("%d %q, want %d %q", ae.StatusCode, ae.Errors[0].Message, tc.status, tc.message)
			}
		})
	}
	// The refused bulk get refused everything; the text value alone is served.
	got, err := c.Bulk.Get(ctx, ns, []string{"text"}, nil)
	if err != nil || string(got["text"].Value) != "hello" {
		t.Fatalf("bulk get of a text value: %+v, %v", got, err)
	}
}

// TestErrorsOfRequestsTheClientRefuses sends, without the client, requests it refuses before sending,
// and checks the answers against the contract's table of answers seen from the live service and the
// response schema.
func TestErrorsOfRequestsTheClientRefuses(t *testing.T) {
	t.Parallel()
	tg := newTarget(t)
	ns := tg.namespace(t)
	nsPath := "/accounts/" + tg.account + "/storage/kv/namespaces/" + ns

	var tooMany bytes.Buffer
	tooMany.WriteString("[")
	for i := range 10001 {
		if i > 0 {
			tooMany.WriteString(",")
		}
		fmt.Fprintf(&tooMany, `{"key":"k%d","value":"v"}`, i)
	}
	tooMany.WriteString("]")
	var badMetadata bytes.Buffer
	mw := multipart.NewWriter(&badMetadata)
	_ = mw.WriteField("value", "v")
	_ = mw.WriteField("metadata", `{"unclosed":`)
	_ = mw.Close()

	cases := []struct {
		name, method, path, contentType string
		body                            []byte
		status                          int
		want                            []apiErr
		guessed                         bool // the status or a message is the emulator's guess; not checked live
	}{
		{name: "limit 9", method: "GET", path: nsPath + "/keys?limit=9",
			status: 400, want: []apiErr{{10028, "limit argument must be at least 10"}}},
		{name: "limit 1001", method: "GET", path: nsPath + "/keys?limit=1001", guessed: true,
			status: 400, want: []apiErr{{10028, "limit argument must be at most 1000"}}},
		{name: "expiration in the past", method: "PUT", path: nsPath + "/values/k?expiration=1000", contentType: "application/octet-stream", body: []byte("v"),
			status: 400, want: []apiErr{{10033, "put: 'Invalid expiration of 1000. Please specify integer greater than the current number of seconds since the UNIX epoch.'"}}},
		{name: "metadata not json", method: "PUT", path: nsPath + "/values/k", contentType: mw.FormDataContentType(), body: badMetadata.Bytes(), guessed: true,
			status: 400, want: []apiErr{{10147, "metadata must be valid json"}}},
		{name: "bulk put of 10,001 pairs", method: "PUT", path: nsPath + "/bulk", contentType: "application/json", body: tooMany.Bytes(), guessed: true,
			status: 400, want: []apiErr{{10012, "bulk put: 'received 10001 key/value pairs, but max allowed per request is: 10000'"}}},
		{name: "unknown route", method: "GET", path: "/accounts/" + tg.account + "/storage/kv/nowhere",
			status: 400, want: []apiErr{
				{7003, "Could not route to /accounts/" + tg.account + "/storage/kv/nowhere, perhaps your object identifier is invalid?"},
				{7000, "No route for that URI"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recordingTB{TB: t}
			hc := &http.Client{Transport: loadSpec(t).Transport(rec, nil)}
			req, err := http.NewRequestWithContext(t.Context(), tc.method, tg.baseURL+tc.path, bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+tg.token)
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			// The requests break the schema on purpose; their answers must not.
			for _, v := range rec.errs {
				if strings.Contains(v, ": response ") {
					t.Errorf("%s", v)
				}
			}
			var env struct {
				Success bool            `json:"success"`
				Errors  []apiErr        `json:"errors"`
				Result  json.RawMessage `json:"result"`
			}
			if err := json.Unmarshal(raw, &env); err != nil || env.Success || len(env.Errors) != len(tc.want) {
				t.Fatalf("status %d: %s: want a failure envelope with %d errors", resp.StatusCode, raw, len(tc.want))
			}
			for i, w := range tc.want {
				if env.Errors[i].Code != w.Code {
					t.Fatalf("error %d: code %d, want %d: %s", i, env.Errors[i].Code, w.Code, raw)
				}
				if !(tg.live && tc.guessed) && env.Errors[i].Message != w.Message {
					t.Fatalf("error %d: %q, want %q", i, env.Errors[i].Message, w.Message)
				}
			}
			if !(tg.live && tc.guessed) && resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, raw)
			}
		})
	}
	// Nothing refused was written.
	for k, err := range tg.client.Keys.All(t.Context(), ns, nil) {
		t.Fatalf("a refused request wrote %v (%v)", k, err)
	}
}
