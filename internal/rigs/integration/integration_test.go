package integration

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/workerskv/workerskv"
	"github.com/workerskv/workerskv/emulator"
	"github.com/workerskv/workerskv/kvtest"
)

func TestNamespaceLifecycle(t *testing.T) {
	t.Parallel()
	tg := newTarget(t)
	ctx := t.Context()
	c := tg.client
	title := "workerskv-it-lifecycle-" + time.Now().Format("150405.000000000")
	ns, err := c.Namespaces.Create(ctx, title)
	if err != nil {
		t.Fatal(err)
	}
	if ns.ID == "" || ns.Title != title {
		t.Fatalf("created %+v", ns)
	}
	if _, err := c.Namespaces.Create(ctx, title); !errors.Is(err, workerskv.ErrConflict) {
		t.Fatalf("duplicate title: got %v, want ErrConflict", err)
	}
	got, err := c.Namespaces.Get(ctx, ns.ID)
	if err != nil || got.Title != title {
		t.Fatalf("get: %+v, %v", got, err)
	}
	renamed, err := c.Namespaces.Rename(ctx, ns.ID, title+"-renamed")
	if err != nil || renamed.Title != title+"-renamed" {
		t.Fatalf("rename: %+v, %v", renamed, err)
	}
	found := false
	for n, err := range c.Namespaces.All(ctx, &workerskv.ListNamespacesOptions{PerPage: 5, Order: "title"}) {
		if err != nil {
			t.Fatal(err)
		}
		found = found || n.ID == ns.ID && n.Title == title+"-renamed"
	}
	if !found {
		t.Fatal("renamed namespace not listed")
	}
	if err := c.Namespaces.Delete(ctx, ns.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Namespaces.Get(ctx, ns.ID); !errors.Is(err, workerskv.ErrNotFound) {
		t.Fatalf("get after delete: got %v, want ErrNotFound", err)
	}
}

// awkwardKeys must round-trip exactly through the URL path and the listing.
var awkwardKeys = []string{
	"a/b", "/leading", "q?x=1", "h#f", "100%", "%2F", "sp ace", "a/../b", "...", "tab\there",
	"ctl\u001f", "ключ", "🔑 emoji", "..%2F..%2Fother", "plus+and&amp", strings.Repeat("k", 512),
}

func TestSpecialKeysRoundTrip(t *testing.T) {
	t.Parallel()
	tg := newTarget(t)
	ns := tg.namespace(t)
	kv := tg.client.KV(ns)
	ctx := t.Context()
	for i, k := range awkwardKeys {
		if err := kv.Put(ctx, k, []byte{byte(i), 0, 0xff}, nil); err != nil {
			t.Fatalf("put %q: %v", k, err)
		}
	}
	for i, k := range awkwardKeys {
		v, err := kv.Get(ctx, k)
		if err != nil || !bytes.Equal(v, []byte{byte(i), 0, 0xff}) {
			t.Errorf("get %q = %v, %v", k, v, err)
		}
	}
	var listed []string
	for k, err := range kv.All(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, k.Name)
	}
	want := slices.Clone(awkwardKeys)
	slices.Sort(want)
	if !slices.Equal(listed, want) {
		t.Fatalf("listed %q\nwant %q", listed, want)
	}
}

func TestValuesMetadataAndErrors(t *testing.T) {
	t.Parallel()
	tg := newTarget(t)
	ns := tg.namespace(t)
	c := tg.client
	ctx := t.Context()
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	err := c.Values.Put(ctx, ns, "bin", bytes.NewReader(all), &workerskv.PutOptions{
		ExpirationTTL: time.Hour, Metadata: map[string]any{"n": 1, "s": "x"},
	})
	if err != nil {
		t.Fatal(err)
	}
	v, exp, err := c.Values.GetWithExpiration(ctx, ns, "bin")
	if err != nil || !bytes.Equal(v, all) {
		t.Fatalf("get: %v %v", v, err)
	}
	if d := time.Until(exp); d < 50*time.Minute || d > 70*time.Minute {
		t.Errorf("expiration %v is not about an hour ahead", exp)
	}
	md, err := c.Keys.Metadata(ctx, ns, "bin")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(md, &m); err != nil || m["s"] != "x" || m["n"] != float64(1) {
		t.Fatalf("metadata %s: %v", md, err)
	}
	if err := c.Values.Put(ctx, ns, "plain", strings.NewReader(""), nil); err != nil {
		t.Fatal(err)
	}
	if md, err := c.Keys.Metadata(ctx, ns, "plain"); err != nil || md != nil {
		t.Fatalf("metadata of a key without: %s, %v", md, err)
	}
	if v, err := c.Values.Get(ctx, ns, "plain"); err != nil || len(v) != 0 {
		t.Fatalf("empty value: %q, %v", v, err)
	}
	if _, err := c.Values.Get(ctx, ns, "missing"); !errors.Is(err, workerskv.ErrNotFound) {
		t.Fatalf("missing value: %v", err)
	}
	if _, err := c.Keys.Metadata(ctx, ns, "missing"); !errors.Is(err, workerskv.ErrNotFound) {
		t.Fatalf("missing metadata: %v", err)
	}
	if err := c.Values.Delete(ctx, ns, "bin"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Values.Get(ctx, ns, "bin"); !errors.Is(err, workerskv.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if err := c.Values.Delete(ctx, ns, "never-was"); err != nil {
		t.Fatalf("deleting a missing key: %v", err)
	}
	if _, err := c.Values.Get(ctx, "00000000000000000000000000000000", "k"); !errors.Is(err, workerskv.ErrNotFound) {
		t.Fatalf("missing namespace: %v", err)
	}
}

func TestValidationRefusedBeforeSending(t *testing.T) {
	t.Parallel()
	tg := newTarget(t)
	ns := tg.namespace(t)
	kv := tg.client.KV(ns)
	ctx := t.Context()
	cases := map[string]error{
		"empty key":      kv.Put(ctx, "", []byte("v"), nil),
		"dot key":        kv.Put(ctx, "..", []byte("v"), nil),
		"long key":       kv.Put(ctx, strings.Repeat("k", 513), []byte("v"), nil),
		"short ttl":      kv.Put(ctx, "k", []byte("v"), &workerskv.PutOptions{ExpirationTTL: 59 * time.Second}),
		"near expiry":    kv.Put(ctx, "k", []byte("v"), &workerskv.PutOptions{Expiration: time.Now().Add(30 * time.Second)}),
		"metadata size":  kv.Put(ctx, "k", []byte("v"), &workerskv.PutOptions{Metadata: strings.Repeat("m", 1100)}),
		"value too long": kv.Put(ctx, "k", make([]byte, 25<<20+1), nil),
	}
	for name, err := range cases {
		var ve *workerskv.ValidationError
		if !errors.As(err, &ve) || !errors.Is(err, workerskv.ErrInvalidInput) {
			t.Errorf("%s: got %v, want a ValidationError", name, err)
		}
	}
}

func TestAuthErrors(t *testing.T) {
	t.Parallel()
	if live() {
		t.Skip("uses the emulator's credentials")
	}
	srv := kvtest.NewServer(t)
	bad, err := workerskv.NewClient(workerskv.WithAPIToken("wrong"), workerskv.WithAccountID(srv.AccountID), workerskv.WithBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.Namespaces.List(t.Context(), nil)
	// As Cloudflare answers: an unknown token is 401, an account the token cannot see 403, both with
	// code 10000; each matches one category.
	if !errors.Is(err, workerskv.ErrUnauthorized) || errors.Is(err, workerskv.ErrForbidden) {
		t.Fatalf("wrong token: %v, want ErrUnauthorized only", err)
	}
	other, err := srv.Client.WithAccount("ffffffffffffffffffffffffffffffff")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Namespaces.List(t.Context(), nil); !errors.Is(err, workerskv.ErrForbidden) || errors.Is(err, workerskv.ErrUnauthorized) {
		t.Fatalf("unknown account: %v, want ErrForbidden only", err)
	}
}

func TestExpirationWithClock(t *testing.T) {
	t.Parallel()
	tg := newTarget(t)
	tg.needClock(t)
	ns := tg.namespace(t)
	kv := tg.client.KV(ns)
	ctx := t.Context()
	if err := kv.Put(ctx, "short", []byte("v"), &workerskv.PutOptions{ExpirationTTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if err := kv.Put(ctx, "long", []byte("v"), &workerskv.PutOptions{ExpirationTTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	tg.clock.Advance(61 * time.Second)
	if _, err := kv.Get(ctx, "short"); !errors.Is(err, workerskv.ErrNotFound) {
		t.Fatalf("expired key readable: %v", err)
	}
	var names []string
	for k, err := range kv.All(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, k.Name)
	}
	if !slices.Equal(names, []string{"long"}) {
		t.Fatalf("listed %q, want only long", names)
	}
}

// TestListAcrossEmptyPages expires the first keys of the keyspace so that the emulator, like KV, serves
// empty pages with a cursor: every live key must still be listed.
func TestListAcrossEmptyPages(t *testing.T) {
	t.Parallel()
	tg := newTarget(t)
	tg.needClock(t)
	ns := tg.namespace(t)
	ctx := t.Context()
	var pairs []workerskv.BulkPair
	for i := range 35 {
		p := workerskv.BulkPair{Key: "k" + string(rune('A'+i/10)) + string(rune('0'+i%10)), Value: []byte("v")}
		if i < 30 {
			p.ExpirationTTL = time.Minute
		}
		pairs = append(pairs, p)
	}
	if res, err := tg.client.Bulk.Put(ctx, ns, pairs, nil); err != nil || res.Succeeded != 35 {
		t.Fatalf("bulk put: %+v %v", res, err)
	}
	tg.clock.Advance(2 * time.Minute)
	first, err := tg.client.Keys.List(ctx, ns, &workerskv.ListKeysOptions{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Keys) != 0 || first.Cursor == "" {
		t.Fatalf("first page: %d keys, cursor %q; want an empty page with a cursor", len(first.Keys), first.Cursor)
	}
	var names []string
	for k, err := range tg.client.Keys.All(ctx, ns, &workerskv.ListKeysOptions{Limit: 10}) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, k.Name)
	}
	if len(names) != 5 || names[0] != "kD0" {
		t.Fatalf("listed %q, want the 5 live keys kD0..kD4", names)
	}
}

func TestBulkThroughServer(t *testing.T) {
	t.Parallel()
	tg := newTarget(t)
	ns := tg.namespace(t)
	c := tg.client
	ctx := t.Context()
	pairs := []workerskv.BulkPair{
		{Key: "text", Value: []byte("hello")},
		{Key: "bin", Value: []byte{0xff, 0xfe, 0}},
		{Key: "meta", Value: []byte(`{"a":1}`), Metadata: map[string]int{"m": 2}, ExpirationTTL: time.Hour},
		{Key: "empty", Value: []byte{}},
	}
	res, err := c.Bulk.Put(ctx, ns, pairs, nil)
	if err != nil || res.Succeeded != len(pairs) {
		t.Fatalf("bulk put: %+v %v", res, err)
	}
	if v, err := c.Values.Get(ctx, ns, "bin"); err != nil || !bytes.Equal(v, []byte{0xff, 0xfe, 0}) {
		t.Fatalf("binary value: %v %v", v, err)
	}
	got, err := c.Bulk.Get(ctx, ns, []string{"text", "meta", "empty", "missing"}, &workerskv.BulkGetOptions{WithMetadata: true})
	if err != nil {
		t.Fatal(err)
	}
	if string(got["text"].Value) != "hello" || string(got["meta"].Metadata) != `{"m":2}` || got["meta"].Expiration.IsZero() {
		t.Fatalf("bulk get: %+v", got)
	}
	if e, ok := got["empty"]; !ok || len(e.Value) != 0 {
		t.Fatalf("empty value should be present: %+v %v", e, ok)
	}
	if _, ok := got["missing"]; ok {
		t.Fatal("missing key reported as present")
	}
	js, err := c.Bulk.Get(ctx, ns, []string{"meta"}, &workerskv.BulkGetOptions{Type: "json"})
	if err != nil || string(js["meta"].Value) != `{"a":1}` {
		t.Fatalf("bulk get json: %+v %v", js, err)
	}
	del, err := c.Bulk.Delete(ctx, ns, []string{"text", "bin", "meta", "empty"}, nil)
	if err != nil || del.Succeeded != 4 {
		t.Fatalf("bulk delete: %+v %v", del, err)
	}
	for k, err := range c.Keys.All(ctx, ns, nil) {
		t.Fatalf("namespace not empty: %v %v", k, err)
	}
}

// TestConsistencyDelay shows the emulator's eventual-consistency mode through the client.
func TestConsistencyDelay(t *testing.T) {
	t.Parallel()
	if live() {
		t.Skip("emulator only")
	}
	tg := newTarget(t, kvtest.WithEmulatorOptions(emulator.WithConsistencyDelay(time.Minute)))
	ns := tg.namespace(t)
	kv := tg.client.KV(ns)
	if err := kv.Put(t.Context(), "k", []byte("v"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Get(t.Context(), "k"); !errors.Is(err, workerskv.ErrNotFound) {
		t.Fatalf("read before the delay: %v", err)
	}
	tg.clock.Advance(time.Minute + time.Second)
	if v, err := kv.Get(t.Context(), "k"); err != nil || string(v) != "v" {
		t.Fatalf("read after the delay: %q %v", v, err)
	}
}
