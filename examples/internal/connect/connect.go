// Package connect gives the examples a client: for the real Cloudflare API when CLOUDFLARE_API_TOKEN
// and CLOUDFLARE_ACCOUNT_ID are set, otherwise for the KV emulator started in-process on loopback.
package connect

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/workerskv/workerskv"
	"github.com/workerskv/workerskv/emulator"
)

// Client returns a client for the real API when credentials are set, or for an in-process emulator,
// and a function that stops the emulator (a no-op for the real API).
func Client() (*workerskv.Client, func(), error) {
	if os.Getenv("CLOUDFLARE_API_TOKEN") != "" && os.Getenv("CLOUDFLARE_ACCOUNT_ID") != "" {
		c, err := workerskv.NewClientFromEnv()
		if err != nil {
			return nil, nil, err
		}
		fmt.Println("using the Cloudflare API")
		return c, func() {}, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	srv := &http.Server{Handler: emulator.New(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	base := "http://" + ln.Addr().String() + "/client/v4"
	fmt.Println("no CLOUDFLARE_API_TOKEN/CLOUDFLARE_ACCOUNT_ID: using the in-process emulator at", base)
	c, err := workerskv.NewClient(
		workerskv.WithAPIToken(emulator.DefaultAPIToken),
		workerskv.WithAccountID(emulator.DefaultAccountID),
		workerskv.WithBaseURL(base),
	)
	if err != nil {
		srv.Close()
		return nil, nil, err
	}
	return c, func() { srv.Close() }, nil
}
