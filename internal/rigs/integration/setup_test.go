// Package integration runs the client through a server end to end: the in-process emulator by default,
// the real Cloudflare API when WORKERSKV_LIVE=1, CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID are set.
// Every request and response is validated against Cloudflare's OpenAPI schema on the way.
package integration

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/workerskv/workerskv"
	"github.com/workerskv/workerskv/emulator"
	"github.com/workerskv/workerskv/internal/rigs/contract"
	"github.com/workerskv/workerskv/kvtest"
)

var (
	specOnce sync.Once
	spec     *contract.Spec
	specErr  error
)

func loadSpec(t testing.TB) *contract.Spec {
	t.Helper()
	specOnce.Do(func() {
		spec, specErr = contract.Load(filepath.Join("..", "..", "..", "testdata", "kv-openapi.json"))
	})
	if specErr != nil {
		t.Fatal(specErr)
	}
	return spec
}

// target is what a test runs against.
type target struct {
	client *workerskv.Client
	// clock drives the emulator's time; nil against the real API.
	clock *emulator.FakeClock
	live  bool
	// baseURL (ending in /client/v4), token and account are what the client uses, for requests the
	// client would refuse to send.
	baseURL, token, account string
}

func live() bool {
	return os.Getenv("WORKERSKV_LIVE") == "1" && os.Getenv("CLOUDFLARE_API_TOKEN") != "" && os.Getenv("CLOUDFLARE_ACCOUNT_ID") != ""
}

// newTarget returns a client whose every request and response is checked against the schema.
func newTarget(t *testing.T, opts ...kvtest.Option) *target {
	t.Helper()
	s := loadSpec(t)
	if live() {
		c, err := workerskv.NewClientFromEnv(workerskv.WithHTTPClient(&http.Client{Transport: s.Transport(t, nil)}))
		if err != nil {
			t.Fatal(err)
		}
		base := os.Getenv("CLOUDFLARE_API_BASE_URL")
		if base == "" {
			base = "https://api.cloudflare.com/client/v4"
		}
		return &target{client: c, live: true, baseURL: base,
			token: os.Getenv("CLOUDFLARE_API_TOKEN"), account: os.Getenv("CLOUDFLARE_ACCOUNT_ID")}
	}
	srv := kvtest.NewServer(t, opts...)
	c, err := workerskv.NewClient(
		workerskv.WithAPIToken(srv.Token),
		workerskv.WithAccountID(srv.AccountID),
		workerskv.WithBaseURL(srv.URL),
		workerskv.WithHTTPClient(&http.Client{Transport: s.Transport(t, nil)}),
		workerskv.WithBackoff(time.Millisecond, 10*time.Millisecond),
	)
	if err != nil {
		t.Fatal(err)
	}
	return &target{client: c, clock: srv.Clock, baseURL: srv.URL, token: srv.Token, account: srv.AccountID}
}

// needClock skips a test that needs to move time, against the real API.
func (tg *target) needClock(t *testing.T) {
	if tg.clock == nil {
		t.Skip("needs the emulator's clock")
	}
}

// namespace creates a namespace for the test and deletes it when the test ends.
func (tg *target) namespace(t *testing.T) string {
	t.Helper()
	title := fmt.Sprintf("workerskv-it-%s-%d", t.Name(), time.Now().UnixNano())
	if len(title) > 200 {
		title = title[:200]
	}
	ns, err := tg.client.Namespaces.Create(t.Context(), title)
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	t.Cleanup(func() {
		if err := tg.client.Namespaces.Delete(context.Background(), ns.ID); err != nil {
			t.Errorf("cleanup: delete namespace %s: %v", ns.ID, err)
		}
	})
	return ns.ID
}
