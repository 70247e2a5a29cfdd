package workerskv_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"

	"github.com/workerskv/workerskv"
)

func ExampleNewClient() {
	api := exampleAPI() // stands in for https://api.cloudflare.com on loopback
	defer api.Close()

	c, err := workerskv.NewClient(
		workerskv.WithAPIToken("example-token"),
		workerskv.WithAccountID("0123456789abcdef0123456789abcdef"),
		workerskv.WithBaseURL(api.URL+"/client/v4"), // omit to talk to Cloudflare
	)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	ns, err := c.Namespaces.Get(ctx, "ns-1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ns.ID, ns.Title)

	_, err = c.Namespaces.Get(ctx, "ns-404")
	fmt.Println(errors.Is(err, workerskv.ErrNotFound))
	// Output:
	// ns-1 sessions
	// true
}

func ExampleNamespacesService_All() {
	api := exampleAPI()
	defer api.Close()
	c, err := workerskv.NewClient(
		workerskv.WithAPIToken("example-token"),
		workerskv.WithAccountID("0123456789abcdef0123456789abcdef"),
		workerskv.WithBaseURL(api.URL+"/client/v4"),
	)
	if err != nil {
		log.Fatal(err)
	}

	// All fetches the pages (two namespaces each here) as the loop needs them.
	for ns, err := range c.Namespaces.All(context.Background(), &workerskv.ListNamespacesOptions{PerPage: 2}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(ns.ID, ns.Title)
	}
	// Output:
	// ns-1 sessions
	// ns-2 cache
	// ns-3 flags
}

// exampleAPI serves a fixed account's namespaces the way the KV REST API does: list (paged by page
// and per_page) and get, in v4 envelopes.
func exampleAPI() *httptest.Server {
	titles := []string{"sessions", "cache", "flags"}
	reply := func(w http.ResponseWriter, status int, v map[string]any) {
		v["success"], v["messages"] = status == http.StatusOK, []any{}
		if _, ok := v["errors"]; !ok {
			v["errors"] = []any{}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	namespace := func(i int) map[string]any {
		return map[string]any{"id": "ns-" + strconv.Itoa(i+1), "title": titles[i], "supports_url_encoding": true}
	}
	const base = "/client/v4/accounts/{account}/storage/kv/namespaces"
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+base, func(w http.ResponseWriter, r *http.Request) {
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
		page, per = max(page, 1), max(per, 1)
		items := []any{}
		for i := (page - 1) * per; i < min(page*per, len(titles)); i++ {
			items = append(items, namespace(i))
		}
		info := map[string]int{"page": page, "per_page": per, "count": len(items), "total_count": len(titles)}
		reply(w, http.StatusOK, map[string]any{"result": items, "result_info": info})
	})
	mux.HandleFunc("GET "+base+"/{id}", func(w http.ResponseWriter, r *http.Request) {
		for i := range titles {
			if r.PathValue("id") == "ns-"+strconv.Itoa(i+1) {
				reply(w, http.StatusOK, map[string]any{"result": namespace(i)})
				return
			}
		}
		errs := []any{map[string]any{"code": 10013, "message": "namespace not found"}}
		reply(w, http.StatusNotFound, map[string]any{"errors": errs, "result": nil})
	})
	mux.HandleFunc("GET /client/v4/user/tokens/verify", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusOK, map[string]any{"result": map[string]any{"id": "tok-1", "status": "active"}})
	})
	return httptest.NewServer(mux)
}
