package workerskv_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/workerskv/workerskv"
)

// TestRetryCountConvention: a retry count means the same in an Option and in an option struct: 0 is the
// default, NoRetries (or any negative count) is none, and n is n.
func TestRetryCountConvention(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		opts     []workerskv.Option
		attempts int
	}{
		{"not set: default 4 retries", nil, 5},
		{"0: the default", []workerskv.Option{workerskv.WithMaxRetries(0)}, 5},
		{"2", []workerskv.Option{workerskv.WithMaxRetries(2)}, 3},
		{"NoRetries", []workerskv.Option{workerskv.WithMaxRetries(workerskv.NoRetries)}, 1},
		{"any negative", []workerskv.Option{workerskv.WithMaxRetries(-7)}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, m := setup(t, tc.opts...)
			m.on("GET", nsURL+"/"+testNS, jsonResponder(503, failure(10001, "unavailable")))
			if _, err := c.Namespaces.Get(t.Context(), testNS); err == nil {
				t.Fatal("no error")
			}
			if n := len(m.requests()); n != tc.attempts {
				t.Errorf("%d attempts, want %d", n, tc.attempts)
			}
		})
	}
	t.Run("BulkOptions.Retries NoRetries", func(t *testing.T) {
		t.Parallel()
		c, m := setup(t)
		m.on("POST", nsURL+"/"+testNS+"/bulk/delete", jsonResponder(200, envelope(`{"successful_key_count":0,"unsuccessful_keys":["a"]}`)))
		res, err := c.Bulk.Delete(t.Context(), testNS, []string{"a"}, &workerskv.BulkOptions{Resends: workerskv.NoRetries})
		if err != nil || len(res.Unsuccessful) != 1 {
			t.Fatalf("result %+v, err %v", res, err)
		}
		if n := len(m.requests()); n != 1 {
			t.Errorf("%d requests, want 1: NoRetries sends unsuccessful keys once", n)
		}
	})
}

// TestWithAccountRefusesBadID: WithAccount returns the error at once, not at the first request.
func TestWithAccountRefusesBadID(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	for _, id := range []string{"", ".", "..", "0123456789abcdef0123456789abcdef0"} {
		oc, err := c.WithAccount(id)
		if oc != nil || !errors.Is(err, workerskv.ErrInvalidInput) {
			t.Errorf("WithAccount(%q) = %v, %v; want nil and an ErrInvalidInput", id, oc, err)
		}
		var ve *workerskv.ValidationError
		if errors.As(err, &ve) && ve.Field != "account_id" {
			t.Errorf("WithAccount(%q): field %q, want account_id", id, ve.Field)
		}
	}
	if n := len(m.requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

// withAccount is c.WithAccount(id) for an id the test knows is valid.
func withAccount(t *testing.T, c *workerskv.Client, id string) *workerskv.Client {
	t.Helper()
	oc, err := c.WithAccount(id)
	if err != nil {
		t.Fatal(err)
	}
	return oc
}

// TestTypedOptionValues: the typed constants send the API's values, the old string values still work,
// and a value outside the set is refused before sending, naming the constants.
func TestTypedOptionValues(t *testing.T) {
	t.Parallel()
	t.Run("namespace order and direction", func(t *testing.T) {
		t.Parallel()
		for _, opts := range []*workerskv.ListNamespacesOptions{
			{Order: workerskv.OrderByTitle, Direction: workerskv.Descending},
			{Order: "title", Direction: "desc"},
		} {
			c, m := setup(t)
			m.on("GET", nsURL, jsonResponder(200, envelope(`[]`)))
			if _, err := c.Namespaces.List(t.Context(), opts); err != nil {
				t.Fatal(err)
			}
			checkRequest(t, onlyRequest(t, m), want{method: "GET", path: nsPath, query: "direction=desc&order=title"})
		}
		c, m := setup(t)
		m.on("GET", nsURL, jsonResponder(200, envelope(`[]`)))
		for _, opts := range []*workerskv.ListNamespacesOptions{{Order: "name"}, {Direction: "up"}} {
			_, err := c.Namespaces.List(t.Context(), opts)
			var ve *workerskv.ValidationError
			if !errors.As(err, &ve) || !strings.Contains(ve.Reason, "workerskv.") {
				t.Errorf("List(%+v): %v; want a ValidationError naming the constants", *opts, err)
			}
		}
		if n := len(m.requests()); n != 0 {
			t.Errorf("%d requests sent", n)
		}
	})
	t.Run("bulk get type", func(t *testing.T) {
		t.Parallel()
		for _, typ := range []workerskv.BulkGetType{workerskv.BulkGetJSON, "json"} {
			c, m := setup(t)
			m.on("POST", nsURL+"/"+testNS+"/bulk/get", jsonResponder(200, envelope(`{"values":{"k":{"a":1}}}`)))
			got, err := c.Bulk.Get(t.Context(), testNS, []string{"k"}, &workerskv.BulkGetOptions{Type: typ})
			if err != nil || string(got["k"].Value) != `{"a":1}` {
				t.Fatalf("Get = %v, %v", got, err)
			}
			if body := string(onlyRequest(t, m).Body); !strings.Contains(body, `"type":"json"`) {
				t.Errorf("body %s lacks the type", body)
			}
		}
		c, m := setup(t)
		_, err := c.Bulk.Get(t.Context(), testNS, []string{"k"}, &workerskv.BulkGetOptions{Type: "JSON"})
		var ve *workerskv.ValidationError
		if !errors.As(err, &ve) || !strings.Contains(ve.Reason, "workerskv.BulkGetJSON") {
			t.Errorf("Type JSON: %v; want a ValidationError naming the constants", err)
		}
		if n := len(m.requests()); n != 0 {
			t.Errorf("%d requests sent", n)
		}
	})
}

// TestMaxRetryWaitConvention: WithMaxRetryWait reads 0 and negative durations as every option does: 0
// keeps the default (60s), a negative duration means never wait.
func TestMaxRetryWaitConvention(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		d        time.Duration
		attempts int
	}{
		{"0: the default, a 30s Retry-After is honoured", 0, 2},
		{"negative: never", -1, 1},
		{"10s: a 30s Retry-After is not", 10 * time.Second, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				c, m := setup(t, workerskv.WithMaxRetryWait(tc.d), workerskv.WithMaxRetries(1))
				m.on("GET", nsURL+"/"+testNS, func(r *http.Request) (*http.Response, error) {
					resp, err := jsonResponder(503, failure(10001, "unavailable"))(r)
					resp.Header.Set("Retry-After", "30")
					return resp, err
				})
				_, err := c.Namespaces.Get(t.Context(), testNS)
				var ae *workerskv.APIError
				if !errors.As(err, &ae) || ae.RetryAfter != 30*time.Second {
					t.Fatalf("err = %v, want the 503 with RetryAfter 30s", err)
				}
				if n := len(m.requests()); n != tc.attempts {
					t.Errorf("%d attempts, want %d", n, tc.attempts)
				}
			})
		})
	}
}
