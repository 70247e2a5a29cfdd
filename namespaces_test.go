package workerskv_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/jarcoal/httpmock"

	"github.com/workerskv/workerskv"
)

func TestNamespacesGet(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("GET", nsURL+"/"+testNS, jsonResponder(200, envelope(`{"id":"`+testNS+`","title":"t","supports_url_encoding":true}`)))
	ns, err := c.Namespaces.Get(t.Context(), testNS)
	if err != nil {
		t.Fatal(err)
	}
	if ns.ID != testNS || ns.Title != "t" || !ns.SupportsURLEncoding {
		t.Fatalf("got %+v", ns)
	}
	checkRequest(t, onlyRequest(t, m), want{method: "GET", path: nsPath + "/" + testNS})
}

// TestNamespacesGetEscapesID: an ID is one path segment whatever it holds.
func TestNamespacesGetEscapesID(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("GET", nsURL+"/a%2F..%3Fq=1%23f", jsonResponder(200, envelope(nsJSON("x", "t"))))
	if _, err := c.Namespaces.Get(t.Context(), "a/..?q=1#f"); err != nil {
		t.Fatal(err)
	}
	checkRequest(t, onlyRequest(t, m), want{method: "GET", path: nsPath + "/a%2F..%3Fq=1%23f"})
}

func TestNamespacesList(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("GET", nsURL, jsonResponder(200, `{"success":true,"errors":[],"messages":[],"result":[`+
		nsJSON("a1", "alpha")+`,`+nsJSON("b2", "beta")+`],"result_info":{"page":2,"per_page":50,"count":2,"total_count":52}}`))
	opts := &workerskv.ListNamespacesOptions{Page: 2, PerPage: 50, Order: "title", Direction: "desc"}
	p, err := c.Namespaces.List(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	checkRequest(t, onlyRequest(t, m), want{method: "GET", path: nsPath, query: "direction=desc&order=title&page=2&per_page=50"})
	wantNS := []workerskv.Namespace{{ID: "a1", Title: "alpha", SupportsURLEncoding: true}, {ID: "b2", Title: "beta", SupportsURLEncoding: true}}
	if !slices.Equal(p.Namespaces, wantNS) || p.Page != 2 || p.PerPage != 50 || p.Count != 2 || p.TotalCount != 52 {
		t.Errorf("page = %+v", p)
	}
	if p.HasMore() {
		t.Error("HasMore on the last page")
	}
}

func TestNamespacesListDefaults(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("GET", nsURL, jsonResponder(200, envelope(`[]`)))
	p, err := c.Namespaces.List(t.Context(), nil)
	if err != nil || len(p.Namespaces) != 0 || p.HasMore() {
		t.Fatalf("List = %+v, %v", p, err)
	}
	checkRequest(t, onlyRequest(t, m), want{method: "GET", path: nsPath})
}

func TestNamespacesAll(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("GET", nsURL, jsonResponder(200, `{"success":true,"errors":[],"messages":[],"result":[`+
		nsJSON("a1", "alpha")+`],"result_info":{"page":1,"per_page":20,"count":1,"total_count":1}}`))
	var ids []string
	for ns, err := range c.Namespaces.All(t.Context(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ns.ID)
	}
	if !slices.Equal(ids, []string{"a1"}) {
		t.Errorf("ids = %v", ids)
	}
	checkRequest(t, onlyRequest(t, m), want{method: "GET", path: nsPath, query: "page=1"})
}

func TestNamespacesCreate(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("POST", nsURL, jsonResponder(200, envelope(nsJSON(testNS, `my \"ns\"`))))
	ns, err := c.Namespaces.Create(t.Context(), `my "ns"`)
	if err != nil {
		t.Fatal(err)
	}
	if ns.ID != testNS || ns.Title != `my "ns"` {
		t.Errorf("ns = %+v", ns)
	}
	checkRequest(t, onlyRequest(t, m), want{method: "POST", path: nsPath, contentType: "application/json", body: `{"title":"my \"ns\""}`})
}

func TestNamespacesRename(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("PUT", nsURL+"/"+testNS, jsonResponder(200, envelope(nsJSON(testNS, "new"))))
	ns, err := c.Namespaces.Rename(t.Context(), testNS, "new")
	if err != nil || ns.ID != testNS || ns.Title != "new" {
		t.Fatalf("Rename = %+v, %v", ns, err)
	}
	checkRequest(t, onlyRequest(t, m), want{method: "PUT", path: nsPath + "/" + testNS, contentType: "application/json", body: `{"title":"new"}`})
}

// TestNamespacesRenameNullResult: the 2024 schema answers a rename with a null result.
func TestNamespacesRenameNullResult(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("PUT", nsURL+"/"+testNS, jsonResponder(200, envelope(`null`)))
	ns, err := c.Namespaces.Rename(t.Context(), testNS, "new")
	if err != nil || ns.ID != testNS || ns.Title != "new" {
		t.Fatalf("Rename = %+v, %v", ns, err)
	}
}

func TestNamespacesDelete(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("DELETE", nsURL+"/"+testNS, jsonResponder(200, envelope(`null`)))
	if err := c.Namespaces.Delete(t.Context(), testNS); err != nil {
		t.Fatal(err)
	}
	checkRequest(t, onlyRequest(t, m), want{method: "DELETE", path: nsPath + "/" + testNS})
}

// TestNamespacesInvalidInput: bad input is refused before anything is sent.
func TestNamespacesInvalidInput(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	ctx := t.Context()
	_, e1 := c.Namespaces.Create(ctx, "")
	_, e2 := c.Namespaces.Get(ctx, "")
	_, e3 := c.Namespaces.Rename(ctx, "..", "t")
	e4 := c.Namespaces.Delete(ctx, "012345678901234567890123456789012")
	_, e5 := c.Namespaces.List(ctx, &workerskv.ListNamespacesOptions{PerPage: 1001})
	for i, err := range []error{e1, e2, e3, e4, e5} {
		if _, ok := errors.AsType[*workerskv.ValidationError](err); !ok || !errors.Is(err, workerskv.ErrInvalidInput) {
			t.Errorf("case %d: err = %v, want a *ValidationError", i+1, err)
		}
	}
	if n := len(m.requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

// TestNamespacesCreateRetries: creating is not idempotent, so it is retried only on 429 and when the
// request provably never left (a dial error); Get is retried on any connection error.
func TestNamespacesCreateRetries(t *testing.T) {
	t.Parallel()
	created := jsonResponder(200, envelope(nsJSON(testNS, "t")))
	cases := []struct {
		name      string
		responder httpmock.Responder
		requests  int
		ok        bool
	}{
		{"500 not retried", jsonResponder(500, failure(10001, "internal")), 1, false},
		{"503 not retried", jsonResponder(503, ""), 1, false},
		{"429 retried", jsonResponder(429, failure(971, "slow down")).Then(created), 2, true},
		{"connection failure not retried", httpmock.ConnectionFailure, 1, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, m := setup(t, workerskv.WithMaxRetries(3))
			m.on("POST", nsURL, tc.responder)
			_, err := c.Namespaces.Create(t.Context(), "t")
			if (err == nil) != tc.ok {
				t.Errorf("err = %v", err)
			}
			reqs := m.requests()
			if len(reqs) != tc.requests {
				t.Fatalf("%d requests, want %d", len(reqs), tc.requests)
			}
			for _, r := range reqs {
				checkRequest(t, r, want{method: "POST", path: nsPath, contentType: "application/json", body: `{"title":"t"}`})
			}
		})
	}
	t.Run("get connection failure retried", func(t *testing.T) {
		t.Parallel()
		c, m := setup(t, workerskv.WithMaxRetries(3))
		m.on("GET", nsURL+"/"+testNS, httpmock.ConnectionFailure)
		if _, err := c.Namespaces.Get(t.Context(), testNS); err == nil {
			t.Error("no error")
		}
		if n := len(m.requests()); n != 4 {
			t.Errorf("%d requests, want 4", n)
		}
	})
}

// countingTransport counts round trips before passing them on.
type countingTransport struct {
	n    atomic.Int32
	base http.RoundTripper
}

func (ct *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	ct.n.Add(1)
	return ct.base.RoundTrip(r)
}

// TestNamespacesCreateRetriesDialError: a refused connection proves the request was never sent.
func TestNamespacesCreateRetriesDialError(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL + "/client/v4"
	srv.Close() // nothing listens there any more: every dial is refused
	ct := &countingTransport{base: http.DefaultTransport}
	c, err := workerskv.NewClient(workerskv.WithAPIToken(canaryToken), workerskv.WithAccountID(testAccount),
		workerskv.WithBaseURL(base), workerskv.WithHTTPClient(&http.Client{Transport: ct}),
		workerskv.WithMaxRetries(2), workerskv.WithBackoff(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Namespaces.Create(t.Context(), "t"); err == nil {
		t.Fatal("no error")
	}
	if n := ct.n.Load(); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
}
