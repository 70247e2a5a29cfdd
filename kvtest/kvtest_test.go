package kvtest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/workerskv/workerskv"
	"github.com/workerskv/workerskv/kvtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestNewServer is a user's test written with kvtest: write with a TTL, move the clock, see it expire.
func TestNewServer(t *testing.T) {
	srv := kvtest.NewServer(t)
	ns, err := srv.Client.Namespaces.Create(t.Context(), "sessions")
	if err != nil {
		t.Fatal(err)
	}
	kv := srv.Client.Namespace(ns.ID)
	if err := kv.Put(t.Context(), "session:42", []byte("alice"), &workerskv.PutOptions{ExpirationTTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if v, err := kv.Get(t.Context(), "session:42"); err != nil || string(v) != "alice" {
		t.Fatalf("get: %q %v", v, err)
	}
	srv.Clock.Advance(2 * time.Minute)
	if _, err := kv.Get(t.Context(), "session:42"); !errors.Is(err, workerskv.ErrNotFound) {
		t.Fatalf("after expiry: %v", err)
	}
}

func TestClientOptionsWin(t *testing.T) {
	srv := kvtest.NewServer(t, kvtest.WithClientOptions(workerskv.WithAccountID("ffffffffffffffffffffffffffffffff")))
	if _, err := srv.Client.Namespaces.List(t.Context(), nil); !errors.Is(err, workerskv.ErrForbidden) {
		t.Fatalf("an unknown account should be refused: %v", err)
	}
}

// Example shows the shape of a test written with kvtest. In a test, call kvtest.NewServer(t), which
// also stops the server when the test ends; Start is the same outside a test.
func Example() {
	srv, err := kvtest.Start()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	ctx := context.Background()
	ns, _ := srv.Client.Namespaces.Create(ctx, "sessions")
	kv := srv.Client.Namespace(ns.ID)
	_ = kv.Put(ctx, "session:42", []byte("alice"), &workerskv.PutOptions{ExpirationTTL: time.Minute})
	v, _ := kv.Get(ctx, "session:42")
	fmt.Printf("before: %s\n", v)

	srv.Clock.Advance(2 * time.Minute) // the emulator's clock drives expiration
	_, err = kv.Get(ctx, "session:42")
	fmt.Println("after: not found:", errors.Is(err, workerskv.ErrNotFound))
	// Output:
	// before: alice
	// after: not found: true
}
