package workerskv_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/workerskv/workerskv"
)

func ExampleValuesService_Put() {
	client, stop := exampleKV()
	defer stop()
	ctx := context.Background()

	// With metadata the value is sent as multipart/form-data; without, as raw bytes.
	err := client.Values.Put(ctx, "example-namespace", "greeting", strings.NewReader("hello, world"), &workerskv.PutOptions{
		ExpirationTTL: time.Hour,
		Metadata:      map[string]string{"lang": "en"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	md, err := client.Keys.Metadata(ctx, "example-namespace", "greeting")
	fmt.Printf("%s %v\n", md, err)
	// Output: {"lang":"en"} <nil>
}

func ExampleValuesService_Get() {
	client, stop := exampleKV()
	defer stop()
	ctx := context.Background()

	// Key names may hold any character: "/" and "?" stay part of the name.
	if err := client.Values.Put(ctx, "example-namespace", "config/app?env=prod", strings.NewReader(`{"debug":false}`), nil); err != nil {
		fmt.Println(err)
		return
	}
	v, err := client.Values.Get(ctx, "example-namespace", "config/app?env=prod")
	fmt.Printf("%s %v\n", v, err)

	_, err = client.Values.Get(ctx, "example-namespace", "no-such-key")
	fmt.Println(errors.Is(err, workerskv.ErrNotFound))
	// Output:
	// {"debug":false} <nil>
	// true
}

func ExampleKeysService_All() {
	client, stop := exampleKV()
	defer stop()
	ctx := context.Background()
	kv := client.KV("example-namespace")
	for _, k := range []string{"user:3", "team:1", "user:1", "user:2"} {
		if err := kv.Put(ctx, k, []byte("v"), nil); err != nil {
			fmt.Println(err)
			return
		}
	}

	// All follows the cursor from page to page (this server sends two keys a page).
	for key, err := range client.Keys.All(ctx, "example-namespace", &workerskv.ListKeysOptions{Prefix: "user:"}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(key.Name)
	}
	// Output:
	// user:1
	// user:2
	// user:3
}

// exampleKV starts a tiny in-memory Workers KV on loopback (one namespace's values, metadata and key
// listings, two keys a page, no expiry) and returns a client for it and a function that stops it.
func exampleKV() (*workerskv.Client, func()) {
	type entry struct {
		value    []byte
		metadata json.RawMessage
	}
	var mu sync.Mutex
	store := map[string]entry{}
	reply := func(w http.ResponseWriter, status int, result any, cursor string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		errs := []map[string]any{}
		if status == http.StatusNotFound {
			errs = append(errs, map[string]any{"code": 10009, "message": "key not found"})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"success": status == http.StatusOK, "errors": errs,
			"messages": []any{}, "result": result, "result_info": map[string]string{"cursor": cursor}})
	}
	lookup := func(key string) (entry, bool) {
		mu.Lock()
		defer mu.Unlock()
		e, ok := store[key]
		return e, ok
	}

	const ns = "/client/v4/accounts/{account}/storage/kv/namespaces/{ns}"
	mux := http.NewServeMux()
	mux.HandleFunc("PUT "+ns+"/values/{key}", func(w http.ResponseWriter, r *http.Request) {
		var e entry
		if mr, err := r.MultipartReader(); err == nil {
			for p, err := mr.NextPart(); err == nil; p, err = mr.NextPart() {
				b, _ := io.ReadAll(p)
				if p.FormName() == "metadata" {
					e.metadata = b
				} else {
					e.value = b
				}
			}
		} else {
			e.value, _ = io.ReadAll(r.Body)
		}
		mu.Lock()
		store[r.PathValue("key")] = e
		mu.Unlock()
		reply(w, http.StatusOK, nil, "")
	})
	mux.HandleFunc("GET "+ns+"/values/{key}", func(w http.ResponseWriter, r *http.Request) {
		if e, ok := lookup(r.PathValue("key")); ok {
			_, _ = w.Write(e.value)
			return
		}
		reply(w, http.StatusNotFound, nil, "")
	})
	mux.HandleFunc("GET "+ns+"/metadata/{key}", func(w http.ResponseWriter, r *http.Request) {
		if e, ok := lookup(r.PathValue("key")); ok {
			reply(w, http.StatusOK, e.metadata, "")
			return
		}
		reply(w, http.StatusNotFound, nil, "")
	})
	mux.HandleFunc("GET "+ns+"/keys", func(w http.ResponseWriter, r *http.Request) {
		prefix, after := r.URL.Query().Get("prefix"), r.URL.Query().Get("cursor") // the cursor is the last key sent
		mu.Lock()
		var names []string
		for name := range store {
			if strings.HasPrefix(name, prefix) && name > after {
				names = append(names, name)
			}
		}
		mu.Unlock()
		slices.Sort(names)
		cursor := ""
		if len(names) > 2 {
			names, cursor = names[:2], names[1]
		}
		keys := []map[string]string{}
		for _, n := range names {
			keys = append(keys, map[string]string{"name": n})
		}
		reply(w, http.StatusOK, keys, cursor)
	})

	srv := httptest.NewServer(mux)
	client, err := workerskv.NewClient(
		workerskv.WithAPIToken("example-token"),
		workerskv.WithAccountID("example-account"),
		workerskv.WithBaseURL(srv.URL+"/client/v4"),
	)
	if err != nil {
		panic(err)
	}
	return client, srv.Close
}
