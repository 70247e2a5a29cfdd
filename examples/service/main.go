// Command service is a small HTTP service that serves feature flags stored in Workers KV, reading them
// through a workerskv.Cache: however many requests it serves, it reads each flag from KV at most about
// once per TTL, which keeps it far below the API's rate limit of 1,200 requests per 5 minutes.
//
// With CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID set it uses the real Cloudflare API (in a new
// namespace, deleted on exit); without them it starts the KV emulator in-process, so it runs anywhere:
//
//	go run ./examples/service              # serves on 127.0.0.1:8080 until interrupted
//	curl http://127.0.0.1:8080/flags/checkout
//	go run ./examples/service -demo        # asks itself for a few flags, prints the cache's figures, exits
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/workerskv/workerskv"
	"github.com/workerskv/workerskv/examples/internal/connect"
)

// Flag is a feature flag as stored in KV, as JSON under flags/<name>.
type Flag struct {
	Enabled bool     `json:"enabled"`
	Percent int      `json:"percent,omitempty"`
	Regions []string `json:"regions,omitempty"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to serve on")
	demo := flag.Bool("demo", false, "request a few flags from the running service, print the results, and exit")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, *demo, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "service:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, addr string, demo bool, out io.Writer) error {
	c, stopKV, err := connect.Client()
	if err != nil {
		return err
	}
	defer stopKV()
	ns, err := c.Namespaces.Create(ctx, fmt.Sprintf("workerskv-service-%d", time.Now().UnixNano()))
	if err != nil {
		return err
	}
	defer c.Namespaces.Delete(context.WithoutCancel(ctx), ns.ID)
	kv := c.KV(ns.ID)
	if err := seed(ctx, kv); err != nil {
		return err
	}

	cache := workerskv.NewCache(kv, &workerskv.CacheOptions{TTL: 30 * time.Second, RefreshAhead: 10 * time.Second})
	defer cache.Close()

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: flagsHandler(cache), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "serving feature flags on %s (try: curl %s/flags/checkout)\n", base, base)

	if demo {
		return runDemo(ctx, base, cache, out)
	}
	<-ctx.Done()
	fmt.Fprintln(out, "stopping")
	return nil
}

// seed writes the flags the service serves.
func seed(ctx context.Context, kv *workerskv.KV) error {
	flags := map[string]Flag{
		"checkout": {Enabled: true, Percent: 25},
		"search":   {Enabled: false},
		"payments": {Enabled: true, Regions: []string{"eu", "us"}},
	}
	for name, f := range flags {
		if err := kv.PutJSON(ctx, "flags/"+name, f, nil); err != nil {
			return err
		}
	}
	return nil
}

// flagsHandler serves GET /flags/{name} from the cache: the flag as JSON, 404 for an unknown flag.
func flagsHandler(cache *workerskv.Cache) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /flags/{name}", func(w http.ResponseWriter, r *http.Request) {
		var f Flag
		err := cache.GetJSON(r.Context(), "flags/"+r.PathValue("name"), &f)
		switch {
		case errors.Is(err, workerskv.ErrKeyNotFound):
			http.Error(w, "no such flag", http.StatusNotFound)
			return
		case err != nil:
			slog.Error("reading a flag", "error", err)
			http.Error(w, "flags unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(f)
	})
	return mux
}

// runDemo asks the service for flags as its clients would, then prints what the cache did.
func runDemo(ctx context.Context, base string, cache *workerskv.Cache, out io.Writer) error {
	names := []string{"checkout", "search", "payments", "dark-mode"}
	for i := range 200 {
		name := names[i%len(names)]
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/flags/"+name, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if i < len(names) {
			fmt.Fprintf(out, "GET /flags/%s: %d %s", name, resp.StatusCode, body)
		}
	}
	s := cache.Stats()
	fmt.Fprintf(out, "200 requests served; %d reads from KV, %d from memory\n", s.Loads, s.Hits)
	return nil
}
