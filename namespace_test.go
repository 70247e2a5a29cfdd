package workerskv_test

import (
	"bytes"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/workerskv/workerskv"
)

func TestKVHandle(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	kv := c.Namespace(testNS)
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
	for k, err := range kv.List(t.Context(), &workerskv.ListKeysOptions{Prefix: "a"}) {
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
	kv := c.Namespace("")
	ctx := t.Context()
	_, getErr := kv.Get(ctx, "k")
	_, mdErr := kv.Metadata(ctx, "k")
	var listErr error
	for _, err := range kv.List(ctx, nil) {
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
