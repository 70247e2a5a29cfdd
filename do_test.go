package workerskv_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"testing"

	"github.com/workerskv/workerskv"
)

// TestDo: an endpoint the library does not wrap, with the client's auth, retries and envelope.
func TestDo(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("GET", testBase+"/user/tokens/verify", jsonResponder(200, envelope(`{"id":"tok-1","status":"active"}`)))
	var tok struct{ ID, Status string }
	if err := c.Do(t.Context(), "GET", "/user/tokens/verify", nil, &tok); err != nil || tok.ID != "tok-1" || tok.Status != "active" {
		t.Fatalf("GET: %+v, %v", tok, err)
	}
	got := onlyRequest(t, m)
	if got.Header.Get("Authorization") != "Bearer "+canaryToken || got.RawPath != "/client/v4/user/tokens/verify" {
		t.Errorf("sent %s with %q", got.RawPath, got.Header.Get("Authorization"))
	}

	t.Run("body, query and escaped path", func(t *testing.T) {
		c, m := setup(t)
		m.on("POST", testBase+"/accounts/"+testAccount+"/things/a%2Fb", jsonResponder(200, envelope(`null`)))
		err := c.Do(t.Context(), "POST", "/accounts/"+testAccount+"/things/a%2Fb?x=1", map[string]int{"n": 2}, nil)
		if err != nil {
			t.Fatal(err)
		}
		r := onlyRequest(t, m)
		if r.RawQuery != "x=1" || string(r.Body) != `{"n":2}` || r.Header.Get("Content-Type") != "application/json" || r.RawPath != "/client/v4/accounts/"+testAccount+"/things/a%2Fb" {
			t.Errorf("sent %s ? %s, body %s, content type %q", r.RawPath, r.RawQuery, r.Body, r.Header.Get("Content-Type"))
		}
	})
	t.Run("errors", func(t *testing.T) {
		c, m := setup(t)
		m.on("GET", testBase+"/nowhere", jsonResponder(404, failure(7003, "No route")))
		m.on("POST", testBase+"/flaky", jsonResponder(503, failure(10001, "unavailable")))
		var ae *workerskv.APIError
		if err := c.Do(t.Context(), "GET", "/nowhere", nil, nil); !errors.As(err, &ae) || ae.StatusCode != 404 {
			t.Errorf("404: %v", err)
		}
		if err := c.Do(t.Context(), "POST", "/flaky", nil, nil); !errors.As(err, &ae) || ae.Attempts != 1 {
			t.Errorf("POST 503: %v, want one attempt (POST is not idempotent)", err)
		}
		for _, p := range []string{"user/tokens/verify", "https://evil.test/x", "//evil.test/x", "/x#frag"} {
			if err := c.Do(t.Context(), "GET", p, nil, nil); !errors.Is(err, workerskv.ErrInvalidInput) {
				t.Errorf("path %q: err = %v, want ErrInvalidInput", p, err)
			}
		}
		if n := len(m.requests()); n != 2 {
			t.Errorf("%d requests, want 2: bad paths send nothing", n)
		}
		m.on("GET", testBase+"/odd", jsonResponder(200, envelope(`[1,2]`)))
		var v struct{}
		if err := c.Do(t.Context(), "GET", "/odd", nil, &v); err == nil {
			t.Error("a result that does not fit: no error")
		}
	})
}

func ExampleClient_Do() {
	api := exampleAPI() // stands in for https://api.cloudflare.com on loopback
	defer api.Close()
	c, err := workerskv.NewClient(
		workerskv.WithAPIToken("example-token"),
		workerskv.WithAccountID("0123456789abcdef0123456789abcdef"),
		workerskv.WithBaseURL(api.URL+"/client/v4"),
	)
	if err != nil {
		log.Fatal(err)
	}
	// An endpoint the library does not wrap, with the client's auth, pacing, retries and errors.
	var token struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	if err := c.Do(context.Background(), http.MethodGet, "/user/tokens/verify", nil, &token); err != nil {
		log.Fatal(err)
	}
	fmt.Println(token.ID, token.Status)
	// Output:
	// tok-1 active
}
