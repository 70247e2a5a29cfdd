// Command quickstart shows workerskv end to end: it creates a namespace, writes a value with metadata
// and a TTL, reads it back, lists keys by prefix, deletes the key and the namespace.
//
// With CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID set it uses the real Cloudflare API; without
// them it starts the KV emulator in-process on loopback, so it runs anywhere with no set-up:
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/workerskv/workerskv"
	"github.com/workerskv/workerskv/examples/internal/connect"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	c, stop, err := connect.Client()
	if err != nil {
		return err
	}
	defer stop()

	title := fmt.Sprintf("workerskv-quickstart-%d", time.Now().UnixNano())
	ns, err := c.Namespaces.Create(ctx, title)
	if err != nil {
		return err
	}
	fmt.Printf("created namespace %q (%s)\n", ns.Title, ns.ID)
	defer func() {
		if err := c.Namespaces.Delete(context.WithoutCancel(ctx), ns.ID); err != nil {
			fmt.Fprintln(os.Stderr, "quickstart: deleting namespace:", err)
			return
		}
		fmt.Printf("deleted namespace %s\n", ns.ID)
	}()

	kv := c.KV(ns.ID)
	key := "greetings/hello world?"
	err = kv.Put(ctx, key, []byte("Hello, Workers KV!"), &workerskv.PutOptions{
		ExpirationTTL: time.Hour,
		Metadata:      map[string]string{"lang": "en"},
	})
	if err != nil {
		return err
	}
	fmt.Printf("put %q with a 1h TTL and metadata\n", key)

	v, exp, err := c.Values.GetWithExpiration(ctx, ns.ID, key)
	if err != nil {
		return err
	}
	fmt.Printf("get %q = %q (expires in about %s)\n", key, v, time.Until(exp).Round(time.Minute))

	for k, err := range kv.All(ctx, &workerskv.ListKeysOptions{Prefix: "greetings/"}) {
		if err != nil {
			return err
		}
		fmt.Printf("listed %q metadata=%s\n", k.Name, k.Metadata)
	}

	if err := kv.Delete(ctx, key); err != nil {
		return err
	}
	_, err = kv.Get(ctx, key)
	if !errors.Is(err, workerskv.ErrNotFound) {
		return fmt.Errorf("expected not found after delete, got %v", err)
	}
	fmt.Printf("deleted %q (a read now gives ErrNotFound)\n", key)
	return nil
}
