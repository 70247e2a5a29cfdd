package workerskv_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"testing"

	"github.com/jarcoal/httpmock"

	"github.com/workerskv/workerskv"
)

// pages answers namespace list requests from ids, honouring page and per_page (default 20). With
// totals false, result_info has no total_count, as some servers do.
func pages(ids []string, totals bool) httpmock.Responder {
	return func(r *http.Request) (*http.Response, error) {
		q := r.URL.Query()
		page, _ := strconv.Atoi(q.Get("page"))
		per, _ := strconv.Atoi(q.Get("per_page"))
		page, per = max(page, 1), cmpOr(per, 20)
		lo, hi := min((page-1)*per, len(ids)), min(page*per, len(ids))
		result := []workerskv.Namespace{}
		for _, id := range ids[lo:hi] {
			result = append(result, workerskv.Namespace{ID: id, Title: "title " + id, SupportsURLEncoding: true})
		}
		info := map[string]int{"page": page, "per_page": per, "count": len(result)}
		if totals {
			info["total_count"] = len(ids)
		}
		body, _ := json.Marshal(map[string]any{"success": true, "errors": []any{}, "messages": []any{}, "result": result, "result_info": info})
		return jsonResponder(200, string(body))(r)
	}
}

func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// collect ranges over seq, returning the IDs before the first error and that error.
func collect(seq func(func(workerskv.Namespace, error) bool)) (ids []string, err error) {
	for ns, e := range seq {
		if e != nil {
			return ids, e
		}
		ids = append(ids, ns.ID)
	}
	return ids, nil
}

func queries(m *mockServer) []string {
	var qs []string
	for _, r := range m.requests() {
		qs = append(qs, r.RawQuery)
	}
	return qs
}

var five = []string{"n1", "n2", "n3", "n4", "n5"}

func TestNamespacesAllPages(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("GET", nsURL, pages(five, true))
	opts := &workerskv.ListNamespacesOptions{PerPage: 2, Order: "id"}
	seq := c.Namespaces.All(t.Context(), opts)
	for round := 1; round <= 2; round++ { // ranging again starts over
		ids, err := collect(seq)
		if err != nil || !slices.Equal(ids, five) {
			t.Fatalf("round %d: %v, %v", round, ids, err)
		}
	}
	pageQueries := []string{"order=id&page=1&per_page=2", "order=id&page=2&per_page=2", "order=id&page=3&per_page=2"}
	if got := queries(m); !slices.Equal(got, append(pageQueries, pageQueries...)) {
		t.Errorf("queries = %q", got)
	}
	for _, r := range m.requests() {
		checkRequest(t, r, want{method: "GET", path: nsPath, query: r.RawQuery})
	}
	if *opts != (workerskv.ListNamespacesOptions{PerPage: 2, Order: "id"}) {
		t.Errorf("All changed the caller's options: %+v", *opts)
	}
}

func TestNamespacesAllFromPage(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("GET", nsURL, pages(five, true))
	ids, err := collect(c.Namespaces.All(t.Context(), &workerskv.ListNamespacesOptions{Page: 2, PerPage: 2}))
	if err != nil || !slices.Equal(ids, five[2:]) {
		t.Fatalf("%v, %v", ids, err)
	}
	if got := queries(m); !slices.Equal(got, []string{"page=2&per_page=2", "page=3&per_page=2"}) {
		t.Errorf("queries = %q", got)
	}
}

// TestNamespacesAllWithoutTotals: with no total_count, a full page means there may be more and a short
// or empty page ends the listing.
func TestNamespacesAllWithoutTotals(t *testing.T) {
	t.Parallel()
	for _, n := range []int{4, 5} {
		c, m := setup(t)
		m.on("GET", nsURL, pages(five[:n], false))
		ids, err := collect(c.Namespaces.All(t.Context(), &workerskv.ListNamespacesOptions{PerPage: 2}))
		if err != nil || !slices.Equal(ids, five[:n]) {
			t.Fatalf("%d namespaces: %v, %v", n, ids, err)
		}
		if got, want := len(m.requests()), 3; got != want { // 4: pages 2, 2, 0; 5: pages 2, 2, 1
			t.Errorf("%d namespaces: %d requests, want %d", n, got, want)
		}
	}
}

func TestNamespacesAllBreak(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("GET", nsURL, pages(five, true))
	for ns, err := range c.Namespaces.All(t.Context(), &workerskv.ListNamespacesOptions{PerPage: 2}) {
		if err != nil || ns.ID != "n1" {
			t.Fatalf("first item: %+v, %v", ns, err)
		}
		break
	}
	if n := len(m.requests()); n != 1 {
		t.Errorf("%d requests after a break on the first item, want 1", n)
	}
}

// TestNamespacesAllStopsOnError: the first error is yielded once and ends the listing, even if the
// loop body does not break.
func TestNamespacesAllStopsOnError(t *testing.T) {
	t.Parallel()
	c, m := setup(t, workerskv.WithMaxRetries(workerskv.NoRetries))
	ok := pages(five, true)
	m.on("GET", nsURL, func(r *http.Request) (*http.Response, error) {
		if r.URL.Query().Get("page") == "2" {
			return jsonResponder(500, failure(10001, "internal"))(r)
		}
		return ok(r)
	})
	var ids []string
	var errs []error
	for ns, err := range c.Namespaces.All(t.Context(), &workerskv.ListNamespacesOptions{PerPage: 2}) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ids = append(ids, ns.ID)
	}
	if !slices.Equal(ids, five[:2]) || len(errs) != 1 {
		t.Fatalf("ids %v, errors %v", ids, errs)
	}
	if e, ok := errors.AsType[*workerskv.APIError](errs[0]); !ok || e.StatusCode != 500 {
		t.Errorf("err = %v, want the 500 *APIError", errs[0])
	}
	if n := len(m.requests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestNamespacesAllInvalidOptions(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	ids, err := collect(c.Namespaces.All(t.Context(), &workerskv.ListNamespacesOptions{Direction: "up"}))
	if len(ids) != 0 || !errors.Is(err, workerskv.ErrInvalidInput) {
		t.Errorf("%v, %v", ids, err)
	}
	if n := len(m.requests()); n != 0 {
		t.Errorf("%d requests", n)
	}
}
