package emulator_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/workerskv/workerskv/emulator"
)

func withAccounts(ids ...string) []emulator.Option {
	var opts []emulator.Option
	for _, id := range ids {
		opts = append(opts, emulator.WithAccount(id))
	}
	return opts
}

func TestAuthentication(t *testing.T) {
	h := newHarness(t,
		emulator.WithAPIToken("token-one"), emulator.WithAPIToken("token-two"),
		emulator.WithAPIKey("global-key", "Me@Example.com"),
		emulator.WithAccount(emulator.DefaultAccountID), emulator.WithAccount("second-account"))
	second := "/client/v4/accounts/second-account/storage/kv/namespaces"
	tests := []struct {
		name    string
		path    string
		headers []string
		status  int
		code    int
	}{
		{"token one", nsBase, []string{"Authorization", "Bearer token-one"}, 200, 0},
		{"token two, other account", second, []string{"Authorization", "Bearer token-two"}, 200, 0},
		{"lowercase scheme", nsBase, []string{"Authorization", "bearer token-one"}, 200, 0},
		{"key and email", nsBase, []string{"X-Auth-Key", "global-key", "X-Auth-Email", "me@example.com"}, 200, 0},
		{"no credentials", nsBase, []string{noAuth, ""}, 400, 9106},
		{"key without email", nsBase, []string{"X-Auth-Key", "global-key"}, 400, 9106},
		{"email without key", nsBase, []string{"X-Auth-Email", "me@example.com"}, 400, 9106},
		{"default token not accepted", nsBase, []string{"Authorization", "Bearer " + emulator.DefaultAPIToken}, 401, 10000},
		{"wrong token", nsBase, []string{"Authorization", "Bearer secret-guess"}, 401, 10000},
		{"not bearer", nsBase, []string{"Authorization", "Basic dG9rZW4tb25lOg=="}, 401, 10000},
		{"empty bearer", nsBase, []string{"Authorization", "Bearer "}, 401, 10000},
		{"wrong key", nsBase, []string{"X-Auth-Key", "nope", "X-Auth-Email", "me@example.com"}, 401, 10000},
		{"wrong email", nsBase, []string{"X-Auth-Key", "global-key", "X-Auth-Email", "you@example.com"}, 401, 10000},
		{"unknown account", "/client/v4/accounts/someone-else/storage/kv/namespaces", []string{"Authorization", "Bearer token-one"}, 403, 10000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := h.do(http.MethodGet, tc.path, nil, tc.headers...)
			if tc.status == 200 {
				wantOK(t, rec, nil)
				return
			}
			msg := "Authentication error"
			if tc.code == 9106 {
				msg = "Missing X-Auth-Key, X-Auth-Email or Authorization headers"
			}
			wantError(t, rec, tc.status, tc.code, msg)
			for _, secret := range []string{"secret-guess", "global-key", "nope", "token-one"} {
				if strings.Contains(rec.Body.String(), secret) || strings.Contains(rec.Header().Get("Www-Authenticate"), secret) {
					t.Fatalf("response echoes a credential: %s", rec.Body)
				}
			}
		})
	}
}

func TestAuthenticationFailuresChangeNothing(t *testing.T) {
	h := newHarness(t)
	rec := h.do("POST", nsBase, strings.NewReader(`{"title":"x"}`), "Authorization", "Bearer wrong")
	wantError(t, rec, 401, 10000, "Authentication error")
	var list []namespace
	wantOK(t, h.do("GET", nsBase, nil), &list)
	if len(list) != 0 {
		t.Fatalf("a rejected create made %v", list)
	}
}

func TestRouting(t *testing.T) {
	h := newHarness(t)
	ns := h.createNS("routes")
	nsPath := nsBase + "/" + ns
	tests := []struct {
		method, path string
		status, code int
		allow        string
	}{
		{"GET", "/", 400, 7003, ""},
		{"GET", "/client/v4", 400, 7003, ""},
		{"GET", "/client/v4/accounts/" + emulator.DefaultAccountID, 400, 7003, ""},
		{"GET", "/client/v4/accounts/" + emulator.DefaultAccountID + "/storage/kv", 400, 7003, ""},
		{"GET", "/client/v4/accounts/" + emulator.DefaultAccountID + "/storage/analytics", 400, 7003, ""},
		{"GET", nsPath + "/unknown", 400, 7003, ""},
		{"GET", nsPath + "/values", 400, 7003, ""},
		{"GET", nsPath + "/values/a/b", 400, 7003, ""},
		{"GET", nsPath + "/bulk/other", 400, 7003, ""},
		{"PATCH", nsBase, 405, 7001, "GET, POST"},
		{"POST", nsPath, 405, 7001, "GET, PUT, DELETE"},
		{"POST", nsPath + "/keys", 405, 7001, "GET"},
		{"POST", nsPath + "/values/k", 405, 7001, "GET, PUT, DELETE"},
		{"PUT", nsPath + "/metadata/k", 405, 7001, "GET"},
		{"GET", nsPath + "/bulk", 405, 7001, "PUT, DELETE"},
		{"GET", nsPath + "/bulk/delete", 405, 7001, "POST"},
		{"GET", nsPath + "/bulk/get", 405, 7001, "POST"},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			rec := h.do(tc.method, tc.path, nil)
			if tc.code == 7003 {
				routed := strings.TrimPrefix(tc.path, "/client/v4")
				if routed == "" {
					routed = tc.path
				}
				wantNoRoute(t, rec, routed)
			} else {
				wantError(t, rec, tc.status, tc.code, "Method not allowed")
			}
			if got := rec.Header().Get("Allow"); got != tc.allow {
				t.Fatalf("Allow %q, want %q", got, tc.allow)
			}
		})
	}
	// A trailing slash on a collection is tolerated.
	wantOK(t, h.do("GET", nsBase+"/", nil), nil)
	wantOK(t, h.do("GET", nsPath+"/keys/", nil), nil)
	// Unknown routes are 400 even without credentials; known ones need them.
	wantNoRoute(t, h.do("GET", "/nowhere", nil, noAuth, ""), "/nowhere")
	wantError(t, h.do("GET", nsPath, nil, noAuth, ""), 400, 9106, "Missing")
	// Every response has a distinct Cf-Ray.
	a, b := h.do("GET", nsPath, nil).Header().Get("Cf-Ray"), h.do("GET", nsPath, nil).Header().Get("Cf-Ray")
	if a == "" || a == b || !strings.HasSuffix(a, "-EMU") {
		t.Fatalf("Cf-Ray %q and %q", a, b)
	}
}
