package workerskv_test

import (
	"errors"
	"testing"

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
		res, err := c.Bulk.Delete(t.Context(), testNS, []string{"a"}, &workerskv.BulkOptions{Retries: workerskv.NoRetries})
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
