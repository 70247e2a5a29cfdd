package bench

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"math"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	cflegacy "github.com/cloudflare/cloudflare-go"
	kvv7 "github.com/cloudflare/cloudflare-go/v7/kv"
	sharedv7 "github.com/cloudflare/cloudflare-go/v7/shared"

	"github.com/workerskv/workerskv/emulator"
)

// TestPeersAgainstEmulator runs a KV session with each of Cloudflare's Go clients against the
// emulator: namespaces created, renamed, listed and deleted; values written with metadata and a TTL,
// read back, listed by prefix; bulk writes (with base64), bulk reads and deletes; and a missing key
// answered as the client's not-found error. The emulator is for everyone's tests, not only
// workerskv's: a change to its answers that breaks one of these clients fails here.
func TestPeersAgainstEmulator(t *testing.T) {
	srv := httptest.NewServer(emulator.New())
	defer srv.Close()
	base := srv.URL + "/client/v4"
	t.Run("cfgo-v7", func(t *testing.T) {
		v7Session(t, newV7KV(base, emulator.DefaultAPIToken, newHTTPClient()), emulator.DefaultAccountID)
	})
	t.Run("cfgo-legacy", func(t *testing.T) {
		api, err := cflegacy.NewWithAPIToken(emulator.DefaultAPIToken, cflegacy.BaseURL(base), cflegacy.HTTPClient(newHTTPClient()),
			cflegacy.UsingRetryPolicy(0, 0, 0), cflegacy.UsingRateLimit(math.Inf(1)))
		if err != nil {
			t.Fatal(err)
		}
		legacySession(t, api, cflegacy.AccountIdentifier(emulator.DefaultAccountID))
	})
}

const compatKey = "compat/key 1" // must travel escaped

func v7Session(t *testing.T, kv *kvv7.KVService, account string) {
	ctx := context.Background()
	var np kvv7.NamespaceNewParams
	np.AccountID.Value, np.AccountID.Present = account, true
	np.Title.Value, np.Title.Present = "compat-v7", true
	ns, err := kv.Namespaces.New(ctx, np)
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	var up kvv7.NamespaceUpdateParams
	up.AccountID.Value, up.AccountID.Present = account, true
	up.Title.Value, up.Title.Present = "compat-v7-renamed", true
	if _, err := kv.Namespaces.Update(ctx, ns.ID, up); err != nil {
		t.Fatalf("rename namespace: %v", err)
	}
	var lp kvv7.NamespaceListParams
	lp.AccountID.Value, lp.AccountID.Present = account, true
	var titles []string
	for it := kv.Namespaces.ListAutoPaging(ctx, lp); it.Next(); {
		titles = append(titles, it.Current().Title)
	}
	if !slices.Contains(titles, "compat-v7-renamed") {
		t.Errorf("namespace list %q lacks the renamed namespace", titles)
	}

	var vp kvv7.NamespaceValueUpdateParams
	vp.AccountID.Value, vp.AccountID.Present = account, true
	vp.Value.Value, vp.Value.Present = sharedv7.UnionString("hello"), true
	vp.Metadata.Value, vp.Metadata.Present = `{"owner":"compat"}`, true
	vp.ExpirationTTL.Value, vp.ExpirationTTL.Present = 3600, true
	if _, err := kv.Namespaces.Values.Update(ctx, ns.ID, url.PathEscape(compatKey), vp); err != nil {
		t.Fatalf("write value: %v", err)
	}
	var gp kvv7.NamespaceValueGetParams
	gp.AccountID.Value, gp.AccountID.Present = account, true
	resp, err := kv.Namespaces.Values.Get(ctx, ns.ID, url.PathEscape(compatKey), gp)
	if err != nil {
		t.Fatalf("read value: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello" {
		t.Errorf("value %q, want hello", body)
	}
	var mp kvv7.NamespaceMetadataGetParams
	mp.AccountID.Value, mp.AccountID.Present = account, true
	meta, err := kv.Namespaces.Metadata.Get(ctx, ns.ID, url.PathEscape(compatKey), mp)
	if err != nil {
		t.Fatalf("read metadata: %v", err)
	}
	if m, ok := (*meta).(map[string]any); !ok || m["owner"] != "compat" {
		t.Errorf("metadata %#v, want owner compat", *meta)
	}
	var kp kvv7.NamespaceKeyListParams
	kp.AccountID.Value, kp.AccountID.Present = account, true
	kp.Prefix.Value, kp.Prefix.Present = "compat/", true
	page, err := kv.Namespaces.Keys.List(ctx, ns.ID, kp)
	if err != nil {
		t.Fatalf("list keys: %v", err)
	}
	if len(page.Result) != 1 || page.Result[0].Name != compatKey || page.Result[0].Expiration == 0 {
		t.Errorf("keys by prefix: %+v, want %q with its expiration", page.Result, compatKey)
	}

	body3 := make([]kvv7.NamespaceBulkUpdateParamsBody, 3)
	for i, k := range []string{"bulk-a", "bulk-b", "bulk-c"} {
		body3[i].Key.Value, body3[i].Key.Present = k, true
		body3[i].Value.Value, body3[i].Value.Present = "v-"+k, true
	}
	body3[2].Value.Value = base64.StdEncoding.EncodeToString([]byte{0, 1, 2})
	body3[2].Base64.Value, body3[2].Base64.Present = true, true
	var bp kvv7.NamespaceBulkUpdateParams
	bp.AccountID.Value, bp.AccountID.Present = account, true
	bp.Body = body3
	if res, err := kv.Namespaces.BulkUpdate(ctx, ns.ID, bp); err != nil || res.SuccessfulKeyCount != 3 {
		t.Fatalf("bulk write: %+v, %v", res, err)
	}
	var bg kvv7.NamespaceBulkGetParams
	bg.AccountID.Value, bg.AccountID.Present = account, true
	bg.Keys.Value, bg.Keys.Present = []string{"bulk-a", "bulk-b", "missing"}, true
	got, err := kv.Namespaces.BulkGet(ctx, ns.ID, bg)
	if err != nil {
		t.Fatalf("bulk get: %v", err)
	}
	if !strings.Contains(got.JSON.RawJSON(), `"bulk-a":"v-bulk-a"`) || !strings.Contains(got.JSON.RawJSON(), `"missing":null`) {
		t.Errorf("bulk get result %s", got.JSON.RawJSON())
	}
	var bd kvv7.NamespaceBulkDeleteParams
	bd.AccountID.Value, bd.AccountID.Present = account, true
	bd.Body = []string{"bulk-a", "bulk-b", "bulk-c"}
	if _, err := kv.Namespaces.BulkDelete(ctx, ns.ID, bd); err != nil {
		t.Fatalf("bulk delete: %v", err)
	}
	if _, err := kv.Namespaces.Values.Get(ctx, ns.ID, "bulk-a", gp); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("read of a deleted key: %v, want a 404 error", err)
	}

	var dp kvv7.NamespaceDeleteParams
	dp.AccountID.Value, dp.AccountID.Present = account, true
	if _, err := kv.Namespaces.Delete(ctx, ns.ID, dp); err != nil {
		t.Fatalf("delete namespace: %v", err)
	}
}

func legacySession(t *testing.T, api *cflegacy.API, rc *cflegacy.ResourceContainer) {
	ctx := context.Background()
	created, err := api.CreateWorkersKVNamespace(ctx, rc, cflegacy.CreateWorkersKVNamespaceParams{Title: "compat-legacy"})
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	ns := created.Result.ID
	if _, err := api.UpdateWorkersKVNamespace(ctx, rc, cflegacy.UpdateWorkersKVNamespaceParams{NamespaceID: ns, Title: "compat-legacy-renamed"}); err != nil {
		t.Fatalf("rename namespace: %v", err)
	}
	list, _, err := api.ListWorkersKVNamespaces(ctx, rc, cflegacy.ListWorkersKVNamespacesParams{})
	if err != nil {
		t.Fatalf("list namespaces: %v", err)
	}
	if !slices.ContainsFunc(list, func(n cflegacy.WorkersKVNamespace) bool { return n.Title == "compat-legacy-renamed" }) {
		t.Errorf("namespace list %+v lacks the renamed namespace", list)
	}

	if _, err := api.WriteWorkersKVEntry(ctx, rc, cflegacy.WriteWorkersKVEntryParams{NamespaceID: ns, Key: compatKey, Value: []byte("hello")}); err != nil {
		t.Fatalf("write value: %v", err)
	}
	if v, err := api.GetWorkersKV(ctx, rc, cflegacy.GetWorkersKVParams{NamespaceID: ns, Key: compatKey}); err != nil || string(v) != "hello" {
		t.Fatalf("read value: %q, %v", v, err)
	}
	kvs := []*cflegacy.WorkersKVPair{
		{Key: "bulk-a", Value: "v-a", ExpirationTTL: 3600, Metadata: map[string]any{"owner": "compat"}},
		{Key: "bulk-b", Value: base64.StdEncoding.EncodeToString([]byte{0, 1, 2}), Base64: true},
	}
	if _, err := api.WriteWorkersKVEntries(ctx, rc, cflegacy.WriteWorkersKVEntriesParams{NamespaceID: ns, KVs: kvs}); err != nil {
		t.Fatalf("bulk write: %v", err)
	}
	keys, err := api.ListWorkersKVKeys(ctx, rc, cflegacy.ListWorkersKVsParams{NamespaceID: ns, Prefix: "bulk-"})
	if err != nil {
		t.Fatalf("list keys: %v", err)
	}
	if len(keys.Result) != 2 || keys.Result[0].Name != "bulk-a" || keys.Result[0].Expiration == 0 {
		t.Errorf("keys by prefix: %+v", keys.Result)
	}
	if v, err := api.GetWorkersKV(ctx, rc, cflegacy.GetWorkersKVParams{NamespaceID: ns, Key: "bulk-b"}); err != nil || string(v) != "\x00\x01\x02" {
		t.Errorf("read base64-written value: %q, %v", v, err)
	}
	if _, err := api.DeleteWorkersKVEntries(ctx, rc, cflegacy.DeleteWorkersKVEntriesParams{NamespaceID: ns, Keys: []string{"bulk-a", "bulk-b"}}); err != nil {
		t.Fatalf("bulk delete: %v", err)
	}
	var nf *cflegacy.NotFoundError
	if _, err := api.GetWorkersKV(ctx, rc, cflegacy.GetWorkersKVParams{NamespaceID: ns, Key: "bulk-a"}); !errors.As(err, &nf) {
		t.Errorf("read of a deleted key: %v, want a NotFoundError", err)
	}
	if _, err := api.DeleteWorkersKVNamespace(ctx, rc, ns); err != nil {
		t.Fatalf("delete namespace: %v", err)
	}
}
