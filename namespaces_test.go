package workerskv_test

import (
	"testing"
)

func TestNamespacesGet(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("GET", nsURL+"/"+testNS, jsonResponder(200, envelope(`{"id":"`+testNS+`","title":"t","supports_url_encoding":true}`)))
	ns, err := c.Namespaces.Get(t.Context(), testNS)
	if err != nil {
		t.Fatal(err)
	}
	if ns.ID != testNS || ns.Title != "t" || !ns.SupportsURLEncoding {
		t.Fatalf("got %+v", ns)
	}
	reqs := m.requests()
	if len(reqs) != 1 || reqs[0].Header.Get("Authorization") != "Bearer "+canaryToken {
		t.Fatalf("requests: %+v", reqs)
	}
}
