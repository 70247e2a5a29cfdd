package kvtest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
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
	kv := srv.Client.KV(ns.ID)
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
	kv := srv.Client.KV(ns.ID)
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

// ExampleServer_NewNamespace gives a test a namespace of its own in one line. The namespace is
// deleted when the test ends.
func ExampleServer_NewNamespace() {
	t := newExampleT()    // in a test, the test's *testing.T
	defer t.runCleanups() // in a test, the testing package runs them when it ends

	srv := kvtest.NewServer(t)
	kv := srv.NewNamespace(t)
	if err := kv.Put(context.Background(), "greeting", []byte("hello"), nil); err != nil {
		t.Fatal(err)
	}
	v, _ := kv.Get(context.Background(), "greeting")
	fmt.Printf("%s\n", v)
	// Output: hello
}

// fakeT is a testing.TB whose failure and cleanups a test controls, so that it can check what
// kvtest does when a test fails without failing itself. Methods it does not override go to the
// embedded testing.TB.
type fakeT struct {
	testing.TB
	mu       sync.Mutex
	name     string
	failed   bool
	cleanups []func()
	logs     []string
}

// newFakeT returns a fakeT named name that forwards the methods it lacks to t.
func newFakeT(t testing.TB, name string) *fakeT { return &fakeT{TB: t, name: name} }

// newExampleT returns a fakeT for an example, which has no test.
func newExampleT() *fakeT { return &fakeT{name: "Example"} }

func (f *fakeT) Helper()      {}
func (f *fakeT) Name() string { return f.name }

func (f *fakeT) Cleanup(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups = append(f.cleanups, fn)
}

func (f *fakeT) Failed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}

func (f *fakeT) Fail() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failed = true
}

func (f *fakeT) Log(args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logs = append(f.logs, fmt.Sprint(args...))
}

func (f *fakeT) Errorf(format string, args ...any) {
	f.Fail()
	f.Log(fmt.Sprintf(format, args...))
}

func (f *fakeT) Fatal(args ...any) {
	if f.TB != nil {
		f.TB.Fatal(args...)
	}
	panic(fmt.Sprint(args...))
}

func (f *fakeT) Fatalf(format string, args ...any) { f.Fatal(fmt.Sprintf(format, args...)) }

// runCleanups runs the registered cleanups, last first, as the testing package does.
func (f *fakeT) runCleanups() {
	for {
		f.mu.Lock()
		n := len(f.cleanups)
		if n == 0 {
			f.mu.Unlock()
			return
		}
		fn := f.cleanups[n-1]
		f.cleanups = f.cleanups[:n-1]
		f.mu.Unlock()
		fn()
	}
}

func (f *fakeT) output() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.logs, "\n")
}

// TestRequestLogOnFailure checks that a failed test gets the emulator's request log, without the
// credentials, and that a test that passes gets nothing.
func TestRequestLogOnFailure(t *testing.T) {
	for _, fail := range []bool{false, true} {
		ft := newFakeT(t, "TestUser")
		srv := kvtest.NewServer(ft)
		kv := srv.NewNamespace(ft)
		if _, err := kv.Get(t.Context(), "missing/key"); !errors.Is(err, workerskv.ErrKeyNotFound) {
			t.Fatalf("get: %v", err)
		}
		if fail {
			ft.Fail()
		}
		ft.runCleanups()
		out := ft.output()
		if !fail {
			if out != "" {
				t.Fatalf("a passing test got output:\n%s", out)
			}
			continue
		}
		for _, want := range []string{
			"kvtest: emulator request log:\n",
			"msg=request method=POST path=/client/v4/accounts/" + srv.AccountID + "/storage/kv/namespaces status=200",
			"method=GET path=/client/v4/accounts/" + srv.AccountID + "/storage/kv/namespaces/" + kv.ID() + "/values/missing%2Fkey status=404 error_codes=[10009]",
			"method=DELETE path=/client/v4/accounts/" + srv.AccountID + "/storage/kv/namespaces/" + kv.ID() + " status=200",
			"credential=token",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("the log lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, srv.Token) {
			t.Errorf("the log shows the token:\n%s", out)
		}
	}
}

// TestNewNamespace checks that each namespace is fresh, named after the test, and deleted when the
// test ends.
func TestNewNamespace(t *testing.T) {
	srv := kvtest.NewServer(t)
	ft := newFakeT(t, "TestUser/sub")
	a, b := srv.NewNamespace(ft), srv.NewNamespace(ft)
	if a.ID() == b.ID() {
		t.Fatal("two namespaces with one ID")
	}
	if err := a.Put(t.Context(), "k", []byte("v"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(t.Context(), "k"); !errors.Is(err, workerskv.ErrKeyNotFound) {
		t.Fatalf("the second namespace is not empty: %v", err)
	}
	for _, kv := range []*workerskv.KV{a, b} {
		ns, err := srv.Client.Namespaces.Get(t.Context(), kv.ID())
		if err != nil || !strings.HasPrefix(ns.Title, "TestUser/sub-") {
			t.Fatalf("namespace %s: %+v, %v", kv.ID(), ns, err)
		}
	}
	// A namespace the test deleted itself is no failure.
	if err := srv.Client.Namespaces.Delete(t.Context(), b.ID()); err != nil {
		t.Fatal(err)
	}
	ft.runCleanups()
	if ft.Failed() {
		t.Fatalf("cleanup failed:\n%s", ft.output())
	}
	page, err := srv.Client.Namespaces.List(t.Context(), nil)
	if err != nil || len(page.Namespaces) != 0 {
		t.Fatalf("namespaces left after cleanup: %+v, %v", page, err)
	}

	// A server stopped before the namespace's cleanup took it along.
	ft = newFakeT(t, "TestStopped")
	stopped := kvtest.NewServer(ft)
	stopped.NewNamespace(ft)
	stopped.Close()
	ft.runCleanups()
	if ft.Failed() {
		t.Fatalf("cleanup after Close failed:\n%s", ft.output())
	}
}
