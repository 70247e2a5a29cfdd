package workerskv_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/workerskv/workerskv"
	"github.com/workerskv/workerskv/kvtest"
)

func TestKVHandle(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	kv := c.KV(testNS)
	if kv.ID() != testNS {
		t.Fatalf("ID %q", kv.ID())
	}
	vkStore(t, m, "a/b?")
	m.on("DELETE", vkValueURL("a/b?"), jsonResponder(200, envelope("null")))
	m.on("GET", vkMetaURL("a/b?"), jsonResponder(200, envelope(`{"v":1}`)))
	m.on("GET", keysURL, vkPager(map[string]string{"": keysPage([]string{"a/b?"}, "c1"), "c1": keysPage([]string{"z"}, "")}))

	value := []byte("value\x00\xff")
	if err := kv.Put(t.Context(), "a/b?", value, &workerskv.PutOptions{ExpirationTTL: 2 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	got, err := kv.Get(t.Context(), "a/b?")
	if err != nil || !bytes.Equal(got, value) {
		t.Fatalf("Get = %q, %v", got, err)
	}
	md, err := kv.Metadata(t.Context(), "a/b?")
	if err != nil || string(md) != `{"v":1}` {
		t.Fatalf("Metadata = %s, %v", md, err)
	}
	var names []string
	for k, err := range kv.All(t.Context(), &workerskv.ListKeysOptions{Prefix: "a"}) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, k.Name)
	}
	if len(names) != 2 || names[0] != "a/b?" || names[1] != "z" {
		t.Fatalf("List = %q", names)
	}
	if err := kv.Delete(t.Context(), "a/b?"); err != nil {
		t.Fatal(err)
	}

	reqs := m.requests()
	want := []struct{ method, route, query string }{
		{"PUT", "/values/a%2Fb%3F", "expiration_ttl=120"},
		{"GET", "/values/a%2Fb%3F", ""},
		{"GET", "/metadata/a%2Fb%3F", ""},
		{"GET", "/keys", "prefix=a"},
		{"GET", "/keys", "cursor=c1&prefix=a"},
		{"DELETE", "/values/a%2Fb%3F", ""},
	}
	if len(reqs) != len(want) {
		t.Fatalf("%d requests, want %d", len(reqs), len(want))
	}
	base := "/client/v4/accounts/" + testAccount + "/storage/kv/namespaces/" + testNS
	for i, w := range want {
		q, _ := url.ParseQuery(reqs[i].RawQuery)
		if reqs[i].Method != w.method || reqs[i].RawPath != base+w.route || q.Encode() != w.query {
			t.Errorf("request %d = %s %s ?%s, want %s %s ?%s", i, reqs[i].Method, reqs[i].RawPath, reqs[i].RawQuery, w.method, base+w.route, w.query)
		}
	}
	if ct := reqs[0].Header.Get("Content-Type"); ct != "application/octet-stream" || !bytes.Equal(reqs[0].Body, value) {
		t.Fatalf("Put sent %q as %q", reqs[0].Body, ct)
	}
}

func TestKVHandleEmptyNamespace(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	kv := c.KV("")
	ctx := t.Context()
	_, getErr := kv.Get(ctx, "k")
	_, mdErr := kv.Metadata(ctx, "k")
	var listErr error
	for _, err := range kv.All(ctx, nil) {
		listErr = err
	}
	for name, err := range map[string]error{
		"Get": getErr, "Put": kv.Put(ctx, "k", nil, nil), "Delete": kv.Delete(ctx, "k"), "Metadata": mdErr, "List": listErr,
	} {
		var ve *workerskv.ValidationError
		if !errors.As(err, &ve) || ve.Field != "namespace_id" || !errors.Is(err, workerskv.ErrInvalidInput) {
			t.Errorf("%s: %v, want a ValidationError for namespace_id", name, err)
		}
	}
	if n := len(m.requests()); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
}

// newEmulatorKV returns a handle on a new namespace of an in-process emulator, and the server.
func newEmulatorKV(t *testing.T, opts ...kvtest.Option) (*workerskv.KV, *kvtest.Server) {
	t.Helper()
	srv := kvtest.NewServer(t, opts...)
	ns, err := srv.Client.Namespaces.Create(t.Context(), "handle")
	if err != nil {
		t.Fatal(err)
	}
	return srv.Client.KV(ns.ID), srv
}

// TestKVGetWithMetadata: value, metadata and expiration in one call; a missing key and a wrong
// namespace are told apart.
func TestKVGetWithMetadata(t *testing.T) {
	t.Parallel()
	kv, srv := newEmulatorKV(t)
	ctx := t.Context()
	value := []byte("bin\x00\xff")
	exp := srv.Clock.Now().Add(time.Hour).Truncate(time.Second)
	if err := kv.Put(ctx, "k", value, &workerskv.PutOptions{Expiration: exp, Metadata: map[string]int{"v": 2}}); err != nil {
		t.Fatal(err)
	}
	e, err := kv.GetWithMetadata(ctx, "k")
	if err != nil || !bytes.Equal(e.Value, value) || string(e.Metadata) != `{"v":2}` || !e.Expiration.Equal(exp) {
		t.Fatalf("GetWithMetadata = %+v, %v", e, err)
	}
	if err := kv.Put(ctx, "plain", []byte("p"), nil); err != nil {
		t.Fatal(err)
	}
	e, err = kv.GetWithMetadata(ctx, "plain")
	if err != nil || string(e.Value) != "p" || e.Metadata != nil || !e.Expiration.IsZero() {
		t.Fatalf("GetWithMetadata(plain) = %+v, %v", e, err)
	}
	if _, err := kv.GetWithMetadata(ctx, "missing"); !errors.Is(err, workerskv.ErrKeyNotFound) || errors.Is(err, workerskv.ErrNamespaceNotFound) {
		t.Errorf("missing key: %v, want ErrKeyNotFound", err)
	}
	wrong := srv.Client.KV("00000000000000000000000000000000")
	if _, err := wrong.GetWithMetadata(ctx, "k"); !errors.Is(err, workerskv.ErrNamespaceNotFound) || errors.Is(err, workerskv.ErrKeyNotFound) {
		t.Errorf("wrong namespace: %v, want ErrNamespaceNotFound", err)
	}
	if _, err := kv.GetWithMetadata(ctx, ""); !errors.Is(err, workerskv.ErrInvalidInput) {
		t.Errorf("empty key: %v, want ErrInvalidInput", err)
	}
}

// TestKVGetWithMetadataConcurrent: for a binary value, the two requests are in flight at the same
// time, and when one fails its error is returned and the other is not waited for.
func TestKVGetWithMetadataConcurrent(t *testing.T) {
	t.Parallel()
	// A binary value: the bulk get refuses it, and the value and metadata are read apart.
	both := func(m *mockServer, value, meta httpmock.Responder) {
		m.on("POST", vkBulkGetURL, jsonResponder(400, failure(10029, "bulk get keys: 'At least one of the requested keys corresponds to a non-text value'")))
		m.on("GET", vkValueURL("k"), value)
		m.on("GET", vkMetaURL("k"), meta)
	}
	t.Run("in flight together", func(t *testing.T) {
		t.Parallel()
		c, m := setup(t)
		// Each request waits to meet the other: sent one after the other, the first gives up.
		arrived := make(chan struct{})
		meet := func(r httpmock.Responder) httpmock.Responder {
			return func(req *http.Request) (*http.Response, error) {
				select {
				case arrived <- struct{}{}:
				case <-arrived:
				case <-req.Context().Done():
					return nil, req.Context().Err()
				case <-time.After(30 * time.Second):
					return nil, errors.New("the other request never came")
				}
				return r(req)
			}
		}
		both(m, meet(withHeader(200, "v", "Expiration", "4102444800")), meet(jsonResponder(200, envelope(`{"a":1}`))))
		e, err := c.KV(testNS).GetWithMetadata(t.Context(), "k")
		if err != nil || string(e.Value) != "v" || string(e.Metadata) != `{"a":1}` || e.Expiration.Unix() != 4102444800 {
			t.Fatalf("GetWithMetadata = %+v, %v", e, err)
		}
	})
	t.Run("metadata fails", func(t *testing.T) {
		t.Parallel()
		c, m := setup(t, workerskv.WithMaxRetries(workerskv.NoRetries))
		hang := func(req *http.Request) (*http.Response, error) {
			<-req.Context().Done()
			return nil, req.Context().Err()
		}
		both(m, hang, jsonResponder(500, failure(10001, "boom")))
		_, err := c.KV(testNS).GetWithMetadata(t.Context(), "k")
		if e, ok := errors.AsType[*workerskv.APIError](err); !ok || e.StatusCode != 500 {
			t.Fatalf("err = %v, want the metadata's 500", err)
		}
	})
	t.Run("value fails", func(t *testing.T) {
		t.Parallel()
		c, m := setup(t)
		hang := func(req *http.Request) (*http.Response, error) {
			<-req.Context().Done()
			return nil, req.Context().Err()
		}
		both(m, jsonResponder(404, failure(10009, "get: 'key not found'")), hang)
		if _, err := c.KV(testNS).GetWithMetadata(t.Context(), "k"); !errors.Is(err, workerskv.ErrKeyNotFound) {
			t.Fatalf("err = %v, want ErrKeyNotFound", err)
		}
	})
}

type flags struct {
	Beta   bool     `json:"beta"`
	Owners []string `json:"owners"`
}

// TestKVJSON: PutJSON and GetJSON round-trip; bad targets, unencodable values and values that are not
// JSON give clear errors, never a panic.
func TestKVJSON(t *testing.T) {
	t.Parallel()
	kv, _ := newEmulatorKV(t)
	ctx := t.Context()
	in := flags{Beta: true, Owners: []string{"<web>", "ops"}}
	if err := kv.PutJSON(ctx, "flags", in, nil); err != nil {
		t.Fatal(err)
	}
	raw, err := kv.Get(ctx, "flags")
	if err != nil || string(raw) != `{"beta":true,"owners":["<web>","ops"]}` {
		t.Fatalf("stored %s, %v; want compact JSON without HTML escapes", raw, err)
	}
	var out flags
	if err := kv.GetJSON(ctx, "flags", &out); err != nil || !reflect.DeepEqual(out, in) {
		t.Fatalf("GetJSON = %+v, %v", out, err)
	}

	if err := kv.Put(ctx, "text", []byte("not json"), nil); err != nil {
		t.Fatal(err)
	}
	err = kv.GetJSON(ctx, "text", &out)
	ve, ok := errors.AsType[*workerskv.ValueError](err)
	if _, syntax := errors.AsType[*json.SyntaxError](err); !ok || ve.Key != "text" || !syntax || !strings.Contains(err.Error(), `"text"`) {
		t.Errorf("not JSON: %v, want a *ValueError naming the key and wrapping a *json.SyntaxError", err)
	}
	if err := kv.Put(ctx, "number", []byte("42"), nil); err != nil {
		t.Fatal(err)
	}
	if err := kv.GetJSON(ctx, "number", &out); !errors.As(err, new(*workerskv.ValueError)) {
		t.Errorf("JSON of the wrong shape: %v, want a *ValueError", err)
	}
	if err := kv.GetJSON(ctx, "missing", &out); !errors.Is(err, workerskv.ErrKeyNotFound) {
		t.Errorf("missing: %v, want ErrKeyNotFound", err)
	}
}

// TestKVJSONBadInput: refused before any request is sent.
func TestKVJSONBadInput(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	kv := c.KV(testNS)
	var nilPtr *flags
	for _, dst := range []any{nil, flags{}, nilPtr, "s"} {
		if err := kv.GetJSON(t.Context(), "k", dst); !errors.Is(err, workerskv.ErrInvalidInput) {
			t.Errorf("GetJSON into %T: %v, want ErrInvalidInput", dst, err)
		}
	}
	for _, v := range []any{make(chan int), math.NaN(), map[bool]func(){true: nil}} {
		if err := kv.PutJSON(t.Context(), "k", v, nil); !errors.Is(err, workerskv.ErrInvalidInput) {
			t.Errorf("PutJSON(%T): %v, want ErrInvalidInput", v, err)
		}
	}
	if n := len(m.requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

// TestKVBindingMethods: the rest of the binding's surface on the handle, against the emulator.
func TestKVBindingMethods(t *testing.T) {
	t.Parallel()
	kv, srv := newEmulatorKV(t)
	ctx := t.Context()
	res, err := kv.PutMany(ctx, []workerskv.BulkPair{
		{Key: "a", Value: []byte("1")}, {Key: "b", Value: []byte(`{"x":1}`), Metadata: map[string]string{"m": "b"}},
		{Key: "c", Value: []byte("3"), ExpirationTTL: time.Hour},
	}, nil)
	if err != nil || res.Succeeded != 3 {
		t.Fatalf("PutMany = %+v, %v", res, err)
	}
	got, err := kv.GetMany(ctx, []string{"a", "b", "nope"}, &workerskv.BulkGetOptions{WithMetadata: true})
	if err != nil || len(got) != 2 || string(got["a"].Value) != "1" || string(got["b"].Metadata) != `{"m":"b"}` {
		t.Fatalf("GetMany = %+v, %v", got, err)
	}
	v, exp, err := kv.GetWithExpiration(ctx, "c")
	if err != nil || string(v) != "3" || !exp.Equal(srv.Clock.Now().Add(time.Hour).Truncate(time.Second)) {
		t.Fatalf("GetWithExpiration = %q, %v, %v", v, exp, err)
	}
	r, err := kv.GetReader(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(r)
	r.Close()
	if err != nil || string(body) != `{"x":1}` {
		t.Fatalf("GetReader read %q, %v", body, err)
	}
	res, err = kv.DeleteMany(ctx, []string{"a", "b", "c"}, nil)
	if err != nil || res.Succeeded != 3 {
		t.Fatalf("DeleteMany = %+v, %v", res, err)
	}
	if _, err := kv.Get(ctx, "a"); !errors.Is(err, workerskv.ErrKeyNotFound) {
		t.Errorf("after DeleteMany: %v, want ErrKeyNotFound", err)
	}
}
