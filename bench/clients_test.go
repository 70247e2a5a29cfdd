package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"

	cflegacy "github.com/cloudflare/cloudflare-go"
	kvv7 "github.com/cloudflare/cloudflare-go/v7/kv"
	optv7 "github.com/cloudflare/cloudflare-go/v7/option"
	sharedv7 "github.com/cloudflare/cloudflare-go/v7/shared"

	"github.com/workerskv/workerskv"
)

// errUnsupported marks an operation a client cannot do; its benchmark is skipped and TestWire records
// the exception.
var errUnsupported = errors.New("not supported by this client")

// kvClient is the work every client is measured on. Each method is what a user of that client would
// write: conversions of the caller's data into the client's types happen inside it, so they are timed.
type kvClient interface {
	Get(ctx context.Context, key string) ([]byte, error)
	Put(ctx context.Context, key string, value []byte) error
	PutWithMetadata(ctx context.Context, key string, value []byte, meta *benchMetadata) error
	// ListPage lists the first page of keys and returns how many keys were decoded.
	ListPage(ctx context.Context) (int, error)
	// IterateKeys lists every key across pages and returns how many there were.
	IterateKeys(ctx context.Context) (int, error)
	// BulkPut writes all pairs, in 10,000-pair requests.
	BulkPut(ctx context.Context, pairs []pair) error
}

// clientNames is the order of the columns.
var clientNames = []string{"workerskv", "nethttp", "cfgo-v7", "cfgo-legacy"}

// newHTTPClient gives every client the same kind of transport: a fresh clone of net/http's default.
func newHTTPClient() *http.Client {
	return &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
}

// newClient builds the named client against baseURL (".../client/v4", no trailing slash) with
// credentials token and account. Retries are off everywhere (the servers never fail, but retry
// support must not add per-request work that differs by configuration); legacy's default 4 req/s
// client-side limiter is lifted, since it would measure sleeping, not the client.
func newClient(name, baseURL, token, account, ns string) (kvClient, func()) {
	return newClientWith(name, baseURL, token, account, ns, newHTTPClient())
}

// newClientWith is newClient over the given HTTP client.
func newClientWith(name, baseURL, token, account, ns string, hc *http.Client) (kvClient, func()) {
	done := func() { hc.CloseIdleConnections() }
	switch name {
	case "workerskv":
		c, err := workerskv.NewClient(
			workerskv.WithBaseURL(baseURL), workerskv.WithAPIToken(token), workerskv.WithAccountID(account),
			workerskv.WithHTTPClient(hc), workerskv.WithMaxRetries(workerskv.NoRetries))
		if err != nil {
			panic(err)
		}
		return &wkvClient{c: c, kv: c.KV(ns), ns: ns}, done
	case "nethttp":
		return &netClient{hc: hc, token: "Bearer " + token,
			base: baseURL + "/accounts/" + url.PathEscape(account) + "/storage/kv/namespaces/" + url.PathEscape(ns)}, done
	case "cfgo-v7":
		return &v7Client{kv: newV7KV(baseURL, token, hc), account: account, ns: ns}, done
	case "cfgo-legacy":
		api, err := cflegacy.NewWithAPIToken(token, cflegacy.BaseURL(baseURL), cflegacy.HTTPClient(hc),
			cflegacy.UsingRetryPolicy(0, 0, 0), cflegacy.UsingRateLimit(math.Inf(1)))
		if err != nil {
			panic(err)
		}
		return &legacyClient{api: api, rc: cflegacy.AccountIdentifier(account), ns: ns}, done
	}
	panic("unknown client " + name)
}

// --- workerskv ---

type wkvClient struct {
	c  *workerskv.Client
	kv *workerskv.KV
	ns string
}

func (w *wkvClient) Get(ctx context.Context, key string) ([]byte, error) { return w.kv.Get(ctx, key) }

func (w *wkvClient) Put(ctx context.Context, key string, value []byte) error {
	return w.kv.Put(ctx, key, value, nil)
}

func (w *wkvClient) PutWithMetadata(ctx context.Context, key string, value []byte, meta *benchMetadata) error {
	return w.kv.Put(ctx, key, value, &workerskv.PutOptions{Metadata: meta})
}

func (w *wkvClient) ListPage(ctx context.Context) (int, error) {
	p, err := w.c.Keys.List(ctx, w.ns, nil)
	if err != nil {
		return 0, err
	}
	return len(p.Keys), nil
}

func (w *wkvClient) IterateKeys(ctx context.Context) (int, error) {
	n := 0
	for _, err := range w.kv.All(ctx, nil) {
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func (w *wkvClient) BulkPut(ctx context.Context, pairs []pair) error {
	bp := make([]workerskv.BulkPair, len(pairs))
	for i, p := range pairs {
		bp[i] = workerskv.BulkPair{Key: p.Key, Value: p.Value}
	}
	res, err := w.c.Bulk.Put(ctx, w.ns, bp, nil)
	if err != nil {
		return err
	}
	if len(res.Unsuccessful) > 0 {
		return fmt.Errorf("%d keys unsuccessful", len(res.Unsuccessful))
	}
	return nil
}

// --- net/http, the leanest correct code by hand ---

type netClient struct {
	hc    *http.Client
	token string // "Bearer ..."
	base  string // .../namespaces/<ns>
}

type envelope[T any] struct {
	Success bool `json:"success"`
	Errors  []struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"errors"`
	Result     T `json:"result"`
	ResultInfo struct {
		Cursor string `json:"cursor"`
	} `json:"result_info"`
}

func (n *netClient) do(ctx context.Context, method, u, contentType string, body io.Reader, size int) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if size >= 0 {
		req.ContentLength = int64(size)
	}
	req.Header["Authorization"] = []string{n.token}
	if contentType != "" {
		req.Header["Content-Type"] = []string{contentType}
	}
	return n.hc.Do(req)
}

// call sends a request and decodes the envelope's result into out.
func call[T any](n *netClient, ctx context.Context, method, u, contentType string, body io.Reader, size int) (*envelope[T], error) {
	resp, err := n.do(ctx, method, u, contentType, body, size)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var env envelope[T]
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return nil, fmt.Errorf("%s %s: HTTP %d: %w", method, u, resp.StatusCode, err)
	}
	if !env.Success || resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s: HTTP %d: %+v", method, resp.StatusCode, env.Errors)
	}
	return &env, nil
}

func (n *netClient) Get(ctx context.Context, key string) ([]byte, error) {
	resp, err := n.do(ctx, http.MethodGet, n.base+"/values/"+url.PathEscape(key), "", nil, -1)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		return nil, fmt.Errorf("GET value: HTTP %d: %s", resp.StatusCode, b)
	}
	var buf bytes.Buffer
	if resp.ContentLength > 0 {
		buf.Grow(int(resp.ContentLength) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (n *netClient) Put(ctx context.Context, key string, value []byte) error {
	_, err := call[json.RawMessage](n, ctx, http.MethodPut, n.base+"/values/"+url.PathEscape(key),
		"application/octet-stream", bytes.NewReader(value), len(value))
	return err
}

func (n *netClient) PutWithMetadata(ctx context.Context, key string, value []byte, meta *benchMetadata) error {
	mj, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	buf.Grow(len(value) + len(mj) + 512)
	mw := multipart.NewWriter(&buf)
	h := make(textproto.MIMEHeader, 2)
	h["Content-Disposition"] = []string{`form-data; name="metadata"`}
	h["Content-Type"] = []string{"application/json"}
	pw, _ := mw.CreatePart(h)
	pw.Write(mj)
	h = make(textproto.MIMEHeader, 2)
	h["Content-Disposition"] = []string{`form-data; name="value"; filename="value"`}
	h["Content-Type"] = []string{"application/octet-stream"}
	pw, _ = mw.CreatePart(h)
	pw.Write(value)
	mw.Close()
	_, err = call[json.RawMessage](n, ctx, http.MethodPut, n.base+"/values/"+url.PathEscape(key),
		mw.FormDataContentType(), &buf, buf.Len())
	return err
}

type netKey struct {
	Name       string          `json:"name"`
	Expiration int64           `json:"expiration"`
	Metadata   json.RawMessage `json:"metadata"`
}

func (n *netClient) listPage(ctx context.Context, cursor string) ([]netKey, string, error) {
	u := n.base + "/keys"
	if cursor != "" {
		u += "?cursor=" + url.QueryEscape(cursor)
	}
	env, err := call[[]netKey](n, ctx, http.MethodGet, u, "", nil, -1)
	if err != nil {
		return nil, "", err
	}
	return env.Result, env.ResultInfo.Cursor, nil
}

func (n *netClient) ListPage(ctx context.Context) (int, error) {
	keys, _, err := n.listPage(ctx, "")
	return len(keys), err
}

func (n *netClient) IterateKeys(ctx context.Context) (int, error) {
	total, cursor := 0, ""
	for {
		keys, next, err := n.listPage(ctx, cursor)
		if err != nil {
			return total, err
		}
		total += len(keys)
		if next == "" {
			return total, nil
		}
		cursor = next
	}
}

type netBulkItem struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type netBulkResult struct {
	SuccessfulKeyCount int      `json:"successful_key_count"`
	UnsuccessfulKeys   []string `json:"unsuccessful_keys"`
}

func (n *netClient) BulkPut(ctx context.Context, pairs []pair) error {
	for len(pairs) > 0 {
		chunk := pairs[:min(len(pairs), 10000)]
		pairs = pairs[len(chunk):]
		items := make([]netBulkItem, len(chunk))
		for i, p := range chunk {
			items[i] = netBulkItem{Key: p.Key, Value: string(p.Value)}
		}
		body, err := json.Marshal(items)
		if err != nil {
			return err
		}
		env, err := call[netBulkResult](n, ctx, http.MethodPut, n.base+"/bulk", "application/json", bytes.NewReader(body), len(body))
		if err != nil {
			return err
		}
		if len(env.Result.UnsuccessfulKeys) > 0 {
			return fmt.Errorf("%d keys unsuccessful", len(env.Result.UnsuccessfulKeys))
		}
	}
	return nil
}

// --- cloudflare-go v7 (generated) ---

// newV7KV builds v7's KV service, which is what cloudflare.NewClient (the SDK's root package) would
// put in its KV field, without importing that package: it imports every one of the SDK's ~150 service
// packages, and compiling them was most of this module's build time. The service gets the options
// NewClient would give it, in the same order: first those of cloudflare.DefaultClientOptions (an
// HTTP client, then WithEnvironmentProduction), then the ones this benchmark passes. Every v7 request
// applies all of them again, so the list keeps NewClient's length: DefaultClientOptions' HTTP client
// (its own, replaced by hc further down) is hc here, which keeps each request's work, bytes included,
// as it was with NewClient.
//
// Unlike NewClient, this deliberately does not read the CLOUDFLARE_* environment variables (base URL,
// token, API key and e-mail, user service key, custom headers): what a benchmark sends must not
// depend on the environment it runs in.
func newV7KV(baseURL, token string, hc *http.Client) *kvv7.KVService {
	return kvv7.NewKVService(
		optv7.WithHTTPClient(hc), optv7.WithEnvironmentProduction(), // DefaultClientOptions, minus the environment
		optv7.WithBaseURL(baseURL+"/"), optv7.WithAPIToken(token), optv7.WithHTTPClient(hc), optv7.WithMaxRetries(0))
}

type v7Client struct {
	kv      *kvv7.KVService
	account string
	ns      string
}

// v7's request fields are param.Field[T] values, which its docs build with cloudflare.F(x). That helper
// is in the root package, and param.Field is in an internal package that cannot be named here (so no
// generic helper can take a pointer to one either: Go code cannot reach a type parameter's fields).
// Its Value and Present fields are exported, though, so the code below sets them directly;
//
//	p.AccountID.Value, p.AccountID.Present = v.account, true
//
// does to a zero params struct exactly what p.AccountID = cloudflare.F(v.account) does.

// v7 puts key names into the URL unescaped; its docs tell the user to URL-encode them, so we do.

func (v *v7Client) Get(ctx context.Context, key string) ([]byte, error) {
	var p kvv7.NamespaceValueGetParams
	p.AccountID.Value, p.AccountID.Present = v.account, true
	resp, err := v.kv.Namespaces.Values.Get(ctx, v.ns, url.PathEscape(key), p)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

func (v *v7Client) Put(ctx context.Context, key string, value []byte) error {
	var p kvv7.NamespaceValueUpdateParams
	p.AccountID.Value, p.AccountID.Present = v.account, true
	p.Value.Value, p.Value.Present = sharedv7.UnionString(value), true
	_, err := v.kv.Namespaces.Values.Update(ctx, v.ns, url.PathEscape(key), p)
	return err
}

// PutWithMetadata passes the metadata pre-serialized: a Go map or struct would be flattened into
// "metadata.owner" form fields, which the API ignores (cloudflare-go#3911).
func (v *v7Client) PutWithMetadata(ctx context.Context, key string, value []byte, meta *benchMetadata) error {
	mj, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	var p kvv7.NamespaceValueUpdateParams
	p.AccountID.Value, p.AccountID.Present = v.account, true
	p.Value.Value, p.Value.Present = sharedv7.UnionString(value), true
	p.Metadata.Value, p.Metadata.Present = string(mj), true
	_, err = v.kv.Namespaces.Values.Update(ctx, v.ns, url.PathEscape(key), p)
	return err
}

func (v *v7Client) ListPage(ctx context.Context) (int, error) {
	var p kvv7.NamespaceKeyListParams
	p.AccountID.Value, p.AccountID.Present = v.account, true
	page, err := v.kv.Namespaces.Keys.List(ctx, v.ns, p)
	if err != nil {
		return 0, err
	}
	return len(page.Result), nil
}

func (v *v7Client) IterateKeys(ctx context.Context) (int, error) {
	var p kvv7.NamespaceKeyListParams
	p.AccountID.Value, p.AccountID.Present = v.account, true
	it := v.kv.Namespaces.Keys.ListAutoPaging(ctx, v.ns, p)
	n := 0
	for it.Next() {
		_ = it.Current()
		n++
	}
	return n, it.Err()
}

func (v *v7Client) BulkPut(ctx context.Context, pairs []pair) error {
	for len(pairs) > 0 {
		chunk := pairs[:min(len(pairs), 10000)]
		pairs = pairs[len(chunk):]
		body := make([]kvv7.NamespaceBulkUpdateParamsBody, len(chunk))
		for i, pr := range chunk {
			b := &body[i]
			b.Key.Value, b.Key.Present = pr.Key, true
			b.Value.Value, b.Value.Present = string(pr.Value), true
		}
		var p kvv7.NamespaceBulkUpdateParams
		p.AccountID.Value, p.AccountID.Present = v.account, true
		p.Body = body
		res, err := v.kv.Namespaces.BulkUpdate(ctx, v.ns, p)
		if err != nil {
			return err
		}
		if len(res.UnsuccessfulKeys) > 0 {
			return fmt.Errorf("%d keys unsuccessful", len(res.UnsuccessfulKeys))
		}
	}
	return nil
}

// --- cloudflare-go v0.119 (legacy, hand-written) ---

type legacyClient struct {
	api *cflegacy.API
	rc  *cflegacy.ResourceContainer
	ns  string
}

func (l *legacyClient) Get(ctx context.Context, key string) ([]byte, error) {
	return l.api.GetWorkersKV(ctx, l.rc, cflegacy.GetWorkersKVParams{NamespaceID: l.ns, Key: key})
}

func (l *legacyClient) Put(ctx context.Context, key string, value []byte) error {
	_, err := l.api.WriteWorkersKVEntry(ctx, l.rc, cflegacy.WriteWorkersKVEntryParams{NamespaceID: l.ns, Key: key, Value: value})
	return err
}

// PutWithMetadata: the legacy client cannot write metadata on a single value.
func (l *legacyClient) PutWithMetadata(context.Context, string, []byte, *benchMetadata) error {
	return errUnsupported
}

func (l *legacyClient) ListPage(ctx context.Context) (int, error) {
	r, err := l.api.ListWorkersKVKeys(ctx, l.rc, cflegacy.ListWorkersKVsParams{NamespaceID: l.ns})
	return len(r.Result), err
}

// IterateKeys: legacy lists one page per call; the user follows the cursor by hand.
func (l *legacyClient) IterateKeys(ctx context.Context) (int, error) {
	n, cursor := 0, ""
	for {
		r, err := l.api.ListWorkersKVKeys(ctx, l.rc, cflegacy.ListWorkersKVsParams{NamespaceID: l.ns, Cursor: cursor})
		if err != nil {
			return n, err
		}
		n += len(r.Result)
		if r.ResultInfo.Cursor == "" {
			return n, nil
		}
		cursor = r.ResultInfo.Cursor
	}
}

func (l *legacyClient) BulkPut(ctx context.Context, pairs []pair) error {
	for len(pairs) > 0 {
		chunk := pairs[:min(len(pairs), 10000)]
		pairs = pairs[len(chunk):]
		kvs := make([]*cflegacy.WorkersKVPair, len(chunk))
		for i, p := range chunk {
			kvs[i] = &cflegacy.WorkersKVPair{Key: p.Key, Value: string(p.Value)}
		}
		if _, err := l.api.WriteWorkersKVEntries(ctx, l.rc, cflegacy.WriteWorkersKVEntriesParams{NamespaceID: l.ns, KVs: kvs}); err != nil {
			return err
		}
	}
	return nil
}
