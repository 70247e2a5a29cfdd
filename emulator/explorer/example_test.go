package explorer_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/workerskv/workerskv/emulator"
	"github.com/workerskv/workerskv/emulator/explorer"
)

// An emulator of your own with its explorer, on one server: the API under
// /client/v4, the explorer at every other path. With a kvtest server, pass
// its Emulator and Clock fields instead, to look at a test's state while the
// test waits.
func ExampleCombined() {
	clock := emulator.NewFakeClock(time.Now())
	e := emulator.New(emulator.WithClock(clock))
	srv := httptest.NewServer(explorer.Combined(e, explorer.WithClock(clock)))
	defer srv.Close()
	// Clients use srv.URL + "/client/v4"; a browser opens srv.URL + "/" and
	// logs in with emulator.DefaultAPIToken.
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.Request.URL.Path, resp.StatusCode)
	// Output: /login 200
}
