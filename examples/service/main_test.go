package main

import (
	"strings"
	"testing"
)

// TestDemo runs the service on the in-process emulator and checks what its demo prints: the flags as
// JSON, a 404 for an unknown flag, and one read from KV per flag for 200 requests.
func TestDemo(t *testing.T) {
	t.Setenv("CLOUDFLARE_API_TOKEN", "")
	var out strings.Builder
	if err := run(t.Context(), "127.0.0.1:0", true, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`GET /flags/checkout: 200 {"enabled":true,"percent":25}`,
		`GET /flags/search: 200 {"enabled":false}`,
		`GET /flags/payments: 200 {"enabled":true,"regions":["eu","us"]}`,
		"GET /flags/dark-mode: 404 no such flag",
		"200 requests served; 4 reads from KV, 196 from memory",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
