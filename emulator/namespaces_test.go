package emulator_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var nsIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestNamespaceLifecycle(t *testing.T) {
	h := newHarness(t)

	var created namespace
	wantOK(t, h.doJSON(http.MethodPost, nsBase, `{"title":"first"}`), &created)
	if !nsIDPattern.MatchString(created.ID) || created.Title != "first" || !created.SupportsURLEncoding {
		t.Fatalf("created %+v", created)
	}

	var got namespace
	wantOK(t, h.do(http.MethodGet, nsBase+"/"+created.ID, nil), &got)
	if got != created {
		t.Fatalf("get %+v, want %+v", got, created)
	}

	var renamed namespace
	wantOK(t, h.doJSON(http.MethodPut, nsBase+"/"+created.ID, `{"title":"second"}`), &renamed)
	if renamed.ID != created.ID || renamed.Title != "second" {
		t.Fatalf("renamed %+v", renamed)
	}
	// Renaming to its own title is fine, and the old title is free again.
	wantOK(t, h.doJSON(http.MethodPut, nsBase+"/"+created.ID, `{"title":"second"}`), nil)
	h.createNS("first")

	r := wantOK(t, h.do(http.MethodDelete, nsBase+"/"+created.ID, nil), nil)
	if string(r.Result) != "null" {
		t.Fatalf("delete result %s", r.Result)
	}
	wantError(t, h.do(http.MethodGet, nsBase+"/"+created.ID, nil), 404, 10013, "namespace not found")
	wantError(t, h.do(http.MethodDelete, nsBase+"/"+created.ID, nil), 404, 10013, "namespace not found")
	// Its keys went with it, and its title is free.
	wantError(t, h.do(http.MethodGet, valuePath(created.ID, "k"), nil), 404, 10013, "namespace not found")
	h.createNS("second")
}

func TestNamespaceDeleteBodies(t *testing.T) {
	h := newHarness(t)
	for i, body := range []string{"", "{}", `{"anything":[1,2,3]}`, "null", "not json at all"} {
		id := h.createNS(fmt.Sprint("ns", i))
		wantOK(t, h.doJSON(http.MethodDelete, nsBase+"/"+id, body), nil)
	}
}

func TestNamespaceErrors(t *testing.T) {
	h := newHarness(t)
	id := h.createNS("taken")
	h.createNS("other")
	long := strings.Repeat("é", 513)
	tests := []struct {
		name, method, path, body string
		status, code             int
		msg                      string
	}{
		{"create duplicate", "POST", nsBase, `{"title":"taken"}`, 400, 10014, "already exists"},
		{"create no title", "POST", nsBase, `{}`, 400, 10019, "request is missing a title definition"},
		{"create empty title", "POST", nsBase, `{"title":""}`, 400, 10019, "request is missing a title definition"},
		{"create long title", "POST", nsBase, `{"title":"` + long + `"}`, 400, 10019, "limit of 512"},
		{"create not json", "POST", nsBase, `{"title":`, 400, 10027, "not valid JSON"},
		{"create title not string", "POST", nsBase, `{"title":5}`, 400, 10027, "not valid JSON"},
		{"rename to taken", "PUT", nsBase + "/" + id, `{"title":"other"}`, 400, 10014, "already exists"},
		{"rename no title", "PUT", nsBase + "/" + id, `{}`, 400, 10019, "request is missing a title definition"},
		{"rename missing", "PUT", nsBase + "/00000000000000000000000000000000", `{"title":"x"}`, 404, 10013, "namespace not found"},
		{"get missing", "GET", nsBase + "/nope", "", 404, 10013, "namespace not found"},
		{"page 0", "GET", nsBase + "?page=0", "", 400, 10031, "page"},
		{"page text", "GET", nsBase + "?page=x", "", 400, 10031, "page"},
		{"per_page 0", "GET", nsBase + "?per_page=0", "", 400, 10031, "per_page"},
		{"per_page 1001", "GET", nsBase + "?per_page=1001", "", 400, 10031, "per_page"},
		{"order", "GET", nsBase + "?order=created", "", 400, 10031, "order"},
		{"direction", "GET", nsBase + "?direction=up", "", 400, 10031, "direction"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, h.doJSON(tc.method, tc.path, tc.body), tc.status, tc.code, tc.msg)
		})
	}
	// Nothing above changed the catalog.
	var all []namespace
	wantOK(t, h.do("GET", nsBase, nil), &all)
	if len(all) != 2 {
		t.Fatalf("%d namespaces, want 2", len(all))
	}
}

type pageInfo struct {
	Page       int `json:"page"`
	PerPage    int `json:"per_page"`
	Count      int `json:"count"`
	TotalCount int `json:"total_count"`
}

func TestNamespacePagination(t *testing.T) {
	h := newHarness(t)
	var titles, ids []string
	for i := range 45 {
		title := fmt.Sprintf("ns-%02d", 44-i)
		titles = append(titles, title)
		ids = append(ids, h.createNS(title))
	}
	page := func(query string) ([]namespace, pageInfo) {
		t.Helper()
		var out []namespace
		r := wantOK(t, h.do("GET", nsBase+query, nil), &out)
		var info pageInfo
		if err := json.Unmarshal(r.ResultInfo, &info); err != nil {
			t.Fatal(err)
		}
		return out, info
	}

	// Defaults: page 1, 20 per page, ordered by id ascending.
	out, info := page("")
	if len(out) != 20 || info != (pageInfo{Page: 1, PerPage: 20, Count: 20, TotalCount: 45}) {
		t.Fatalf("default page: %d items, %+v", len(out), info)
	}
	slices.Sort(ids)
	for i, ns := range out {
		if ns.ID != ids[i] {
			t.Fatalf("item %d id %s, want %s", i, ns.ID, ids[i])
		}
	}

	// Walk every page by title, descending.
	slices.Sort(titles)
	slices.Reverse(titles)
	var walked []string
	for p := 1; ; p++ {
		out, info := page(fmt.Sprintf("?page=%d&per_page=10&order=title&direction=desc", p))
		if info.Page != p || info.PerPage != 10 || info.Count != len(out) || info.TotalCount != 45 {
			t.Fatalf("page %d info %+v", p, info)
		}
		if len(out) == 0 {
			break
		}
		for _, ns := range out {
			walked = append(walked, ns.Title)
		}
	}
	if !slices.Equal(walked, titles) {
		t.Fatalf("walked %v\nwant %v", walked, titles)
	}

	out, info = page("?page=5&per_page=10")
	if len(out) != 5 || info.Count != 5 {
		t.Fatalf("last partial page: %d items %+v", len(out), info)
	}
	out, info = page("?page=999999999999&per_page=1000")
	if len(out) != 0 || info.Count != 0 || info.TotalCount != 45 {
		t.Fatalf("page past the end: %d items %+v", len(out), info)
	}
	if r := h.do("GET", nsBase+"?page=99", nil); !strings.Contains(r.Body.String(), `"result":[]`) {
		t.Fatalf("empty page must be an empty array: %s", r.Body)
	}
}

func TestAccountsAreSeparate(t *testing.T) {
	h := newHarness(t, withAccounts("acct-a", "acct-b")...)
	a := "/client/v4/accounts/acct-a/storage/kv/namespaces"
	b := "/client/v4/accounts/acct-b/storage/kv/namespaces"
	var ns namespace
	wantOK(t, h.doJSON("POST", a, `{"title":"same"}`), &ns)
	wantOK(t, h.doJSON("POST", b, `{"title":"same"}`), nil)
	wantError(t, h.do("GET", b+"/"+ns.ID, nil), 404, 10013, "namespace not found")
	var list []namespace
	wantOK(t, h.do("GET", a, nil), &list)
	if len(list) != 1 || list[0].ID != ns.ID {
		t.Fatalf("account a lists %+v", list)
	}
	// The default account is not served when accounts are configured.
	wantError(t, h.do("GET", nsBase, nil), 403, 10000, "Authentication error")
}
