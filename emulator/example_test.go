package emulator_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/workerskv/workerskv/emulator"
)

// Example serves the emulator on loopback and talks to it with plain net/http.
func Example() {
	srv := httptest.NewServer(emulator.New())
	defer srv.Close()
	base := srv.URL + "/client/v4/accounts/" + emulator.DefaultAccountID + "/storage/kv/namespaces"

	call := func(method, target, body string) []byte {
		req, _ := http.NewRequest(method, target, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+emulator.DefaultAPIToken)
		resp, err := srv.Client().Do(req)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return b
	}

	var created struct {
		Result struct{ ID string } `json:"result"`
	}
	_ = json.Unmarshal(call("POST", base, `{"title":"example"}`), &created)
	value := base + "/" + created.Result.ID + "/values/" + url.PathEscape("greeting/en")
	call("PUT", value+"?expiration_ttl=3600", "hello, world")
	fmt.Println(string(call("GET", value, "")))
	fmt.Println(string(call("GET", base+"/"+created.Result.ID+"/metadata/nope", "")))
	// Output:
	// hello, world
	// {"success":false,"errors":[{"code":10009,"message":"metadata: 'key not found'"}],"messages":[],"result":null}
}
