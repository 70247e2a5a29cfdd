package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
)

// wireRequest is what TestWire compares: the request as the API would understand it.
type wireRequest struct {
	Method string
	Path   string     // escaped, exactly as on the request line
	Query  url.Values // decoded
	Auth   string
	Class  string // content type without parameters ("" when there is no body)
	// Value is the stored value: the raw body, or the "value" part of a multipart body.
	Value []byte
	// Metadata is the decoded JSON metadata: the "metadata" part of a multipart body.
	Metadata any
	// PartTypes lists each multipart part as name:content-type, in order.
	PartTypes string
	// JSON is the decoded JSON body (bulk writes).
	JSON any
}

func decodeWire(t *testing.T, r *http.Request, body []byte) wireRequest {
	path, _, _ := strings.Cut(r.RequestURI, "?")
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		t.Errorf("bad query %q: %v", r.URL.RawQuery, err)
	}
	if len(q) == 0 {
		q = nil
	}
	w := wireRequest{Method: r.Method, Path: path, Query: q, Auth: r.Header.Get("Authorization")}
	if ct := r.Header.Get("Content-Type"); ct != "" && len(body) > 0 {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil {
			t.Errorf("bad content type %q", ct)
		}
		w.Class = mt
		switch {
		case mt == "application/octet-stream":
			w.Value = body
		case mt == "application/json":
			if err := json.Unmarshal(body, &w.JSON); err != nil {
				t.Errorf("bad JSON body: %v", err)
			}
		case mt == "multipart/form-data":
			mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
			var types []string
			for {
				p, err := mr.NextPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("bad multipart body: %v", err)
				}
				b, _ := io.ReadAll(p)
				types = append(types, p.FormName()+":"+p.Header.Get("Content-Type"))
				switch p.FormName() {
				case "value":
					w.Value = b
				case "metadata":
					if err := json.Unmarshal(b, &w.Metadata); err != nil {
						t.Errorf("metadata part is not JSON: %q", b)
					}
				default:
					t.Errorf("unexpected part %q", p.FormName())
				}
			}
			w.PartTypes = strings.Join(types, ", ")
		default:
			t.Errorf("unexpected content type %q", ct)
		}
	}
	return w
}

// wireOps are the operations TestWire checks, one per benchmark (sizes reduced where the size changes
// nothing about the request's shape; 25,000 pairs checks the chunking).
var wireOps = []struct {
	name string
	run  func(ctx context.Context, c kvClient) error
}{
	{"GetValue", func(ctx context.Context, c kvClient) error { _, err := c.Get(ctx, valueKey); return err }},
	{"PutValue", func(ctx context.Context, c kvClient) error { return c.Put(ctx, valueKey, makeValue(size100B)) }},
	{"PutValueWithMetadata", func(ctx context.Context, c kvClient) error {
		return c.PutWithMetadata(ctx, valueKey, makeValue(size100B), &metadataValue)
	}},
	{"ListKeysPage1000", func(ctx context.Context, c kvClient) error { _, err := c.ListPage(ctx); return err }},
	{"IterateKeys10000", func(ctx context.Context, c kvClient) error { _, err := c.IterateKeys(ctx); return err }},
	{"BulkPut10000", func(ctx context.Context, c kvClient) error { return c.BulkPut(ctx, makePairs(10000)) }},
	{"BulkPut25000", func(ctx context.Context, c kvClient) error { return c.BulkPut(ctx, makePairs(25000)) }},
}

// wireExceptions documents, per operation and client, every way a client's request differs from the
// reference (nethttp, written to the API contract), and why. An exception must still hold: if the
// difference goes away, the test fails so that the table is updated.
var wireExceptions = map[string]map[string]struct {
	fields []string // wireRequest fields allowed (and expected) to differ
	why    string
}{
	"PutValue": {
		"cfgo-v7": {[]string{"Class", "PartTypes"}, "v7 always writes single values as multipart/form-data (one \"value\" part); it cannot send raw application/octet-stream. The stored value is the same."},
	},
	"PutValueWithMetadata": {
		"cfgo-v7":     {[]string{"PartTypes"}, "v7 sends metadata as a plain form field (no Content-Type: application/json) and the value part without a file name/type; a Go map or struct would be flattened into metadata.<field> parts the API ignores (cf-go#3911), so the benchmark passes pre-serialized JSON. Value and metadata decode the same."},
		"cfgo-legacy": {nil, "legacy cannot write metadata on a single value: not benchmarked."},
	},
}

// unsupported marks exceptions where the client cannot do the operation at all.
func unsupported(op, client string) bool {
	e, ok := wireExceptions[op][client]
	return ok && e.fields == nil
}

func TestWire(t *testing.T) {
	srv := newCannedServer(makeValue(size100B))
	defer srv.Close()
	var mu sync.Mutex
	var got []wireRequest
	srv.mu.Lock()
	srv.record = func(r *http.Request, body []byte) {
		w := decodeWire(t, r, body)
		mu.Lock()
		got = append(got, w)
		mu.Unlock()
	}
	srv.mu.Unlock()
	ctx := context.Background()
	for _, op := range wireOps {
		t.Run(op.name, func(t *testing.T) {
			reqs := map[string][]wireRequest{}
			for _, name := range clientNames {
				c, done := newClient(name, srv.BaseURL(), apiToken, accountID, namespaceID)
				mu.Lock()
				got = nil
				mu.Unlock()
				err := op.run(ctx, c)
				done()
				if unsupported(op.name, name) {
					if err != errUnsupported {
						t.Errorf("%s: documented as unsupported but returned %v", name, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				mu.Lock()
				reqs[name] = got
				mu.Unlock()
				// Bulk workers may run concurrently: compare in path-then-body order.
				sort.SliceStable(reqs[name], func(i, j int) bool { return firstKey(reqs[name][i]) < firstKey(reqs[name][j]) })
			}
			ref := reqs["nethttp"]
			if len(ref) == 0 {
				t.Fatal("reference client sent nothing")
			}
			for _, name := range clientNames {
				if name == "nethttp" || unsupported(op.name, name) {
					continue
				}
				compareWire(t, op.name, name, ref, reqs[name])
			}
		})
	}
}

// firstKey orders bulk requests by their first pair's key.
func firstKey(w wireRequest) string {
	if a, ok := w.JSON.([]any); ok && len(a) > 0 {
		if m, ok := a[0].(map[string]any); ok {
			return fmt.Sprint(m["key"])
		}
	}
	return w.Path + "?" + w.Query.Encode()
}

func compareWire(t *testing.T, op, client string, ref, got []wireRequest) {
	t.Helper()
	if len(got) != len(ref) {
		t.Errorf("%s: %d requests, reference sent %d", client, len(got), len(ref))
		return
	}
	allowed := map[string]bool{}
	for _, f := range wireExceptions[op][client].fields {
		allowed[f] = true
	}
	seen := map[string]bool{}
	for i := range ref {
		rv, gv := reflect.ValueOf(ref[i]), reflect.ValueOf(got[i])
		for f := 0; f < rv.NumField(); f++ {
			field := rv.Type().Field(f).Name
			a, b := rv.Field(f).Interface(), gv.Field(f).Interface()
			if reflect.DeepEqual(a, b) {
				continue
			}
			if allowed[field] {
				seen[field] = true
				t.Logf("%s request %d: documented difference in %s: reference %v, %s %v", client, i, field, short(a), client, short(b))
				continue
			}
			t.Errorf("%s request %d: %s differs: reference %v, got %v", client, i, field, short(a), short(b))
		}
	}
	for f := range allowed {
		if !seen[f] {
			t.Errorf("%s: documented exception on %s no longer differs: update wireExceptions", client, f)
		}
	}
}

func short(v any) string {
	s := fmt.Sprintf("%v", v)
	if b, ok := v.([]byte); ok {
		s = fmt.Sprintf("%q", b)
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
