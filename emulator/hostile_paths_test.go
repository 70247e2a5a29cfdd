package emulator_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/workerskv/workerskv/emulator"
)

// TestHostileQueryParams: negative, zero, huge, non-numeric and fractional limit, page, per_page,
// expiration and expiration_ttl, and bad order and direction, are refused with 400 and a code, and
// change nothing.
func TestHostileQueryParams(t *testing.T) {
	h := newHarness(t)
	ns := h.createNS("params")
	wantOK(t, h.doJSON(http.MethodPut, nsBase+"/"+ns+"/bulk", fuzzSetup), nil)
	bad := []string{"-1", "0", "1e400", "99999999999999999999", "abc", "1.5", "", "%zz", "1%00", "%2020", "0x14", "1_0", "1;2"}
	var rows []hostileRow
	for _, v := range bad {
		if v != "" && v != "0" {
			rows = append(rows, hostileRow{name: "page=" + v, method: "GET", target: nsBase + "?page=" + v, status: 400, code: 10031})
		}
		if v != "" {
			// Cloudflare's code for a bad list limit, unless the query string is malformed.
			limitCode := 10028
			if strings.ContainsAny(v, "z;") {
				limitCode = 10031
			}
			rows = append(rows,
				hostileRow{name: "per_page=" + v, method: "GET", target: nsBase + "?per_page=" + v, status: 400, code: 10031},
				hostileRow{name: "limit=" + v, method: "GET", target: nsBase + "/{ns}/keys?limit=" + v, status: 400, code: limitCode})
		}
	}
	for _, v := range []string{"9", "1001", "-0010"} {
		rows = append(rows, hostileRow{name: "limit=" + v, method: "GET", target: nsBase + "/{ns}/keys?limit=" + v, status: 400, code: 10028})
	}
	rows = append(rows,
		hostileRow{name: "per_page=1001", method: "GET", target: nsBase + "?per_page=1001", status: 400, code: 10031},
		hostileRow{name: "order=name", method: "GET", target: nsBase + "?order=name", status: 400, code: 10031},
		hostileRow{name: "direction=up", method: "GET", target: nsBase + "?direction=up", status: 400, code: 10031})
	expBad := []string{"-1", "0", "1e400", "99999999999999999999", "abc", "1.5", "0x1p40", "inf", "NaN", "+1900000000",
		"1_900_000_000", "1e1", "%00", "%zz", "1900000000;"}
	for _, v := range append(expBad, "1800000059") {
		code := 10033
		if strings.ContainsAny(v, "z;") { // malformed query string
			code = 10031
		}
		rows = append(rows, hostileRow{name: "expiration=" + v, method: "PUT", target: nsBase + "/{ns}/values/new?expiration=" + v,
			body: text("v"), status: 400, code: code})
	}
	for _, v := range append(expBad, "59", "0x1p6", "6e1.5", "-60") {
		code := 10033
		if strings.ContainsAny(v, "z;") {
			code = 10031
		}
		rows = append(rows, hostileRow{name: "expiration_ttl=" + v, method: "PUT", target: nsBase + "/{ns}/values/new?expiration_ttl=" + v,
			body: text("v"), status: 400, code: code})
	}
	rows = append(rows,
		hostileRow{name: "prefix=%zz", method: "GET", target: nsBase + "/{ns}/keys?prefix=%zz", status: 400, code: 10031},
		hostileRow{name: "cursor=%", method: "GET", target: nsBase + "/{ns}/keys?cursor=%", status: 400, code: 10031},
		hostileRow{name: "prefix=a;b", method: "GET", target: nsBase + "/{ns}/keys?prefix=a;b", status: 400, code: 10031})
	for _, v := range []string{"-1", "1e400", "99999999999999999999", "1.5", "59", `"600"`, `true`, `[60]`} {
		for _, field := range []string{"expiration", "expiration_ttl"} {
			rows = append(rows, hostileRow{name: "bulk " + field + "=" + v, method: "PUT", target: nsBase + "/{ns}/bulk",
				body: text(`[{"key":"new","value":"v","` + field + `":` + v + `}]`), status: 400, code: 10033})
		}
	}
	h.runHostile(t, ns, rows)
}

// TestHostileKeyPaths: key segments that are not UTF-8 once decoded, or not validly percent-encoded,
// are refused with 400 code 10020 on every key route, and change nothing.
func TestHostileKeyPaths(t *testing.T) {
	h := newHarness(t)
	ns := h.createNS("keys")
	wantOK(t, h.doJSON(http.MethodPut, nsBase+"/"+ns+"/bulk", fuzzSetup), nil)
	// Bad percent-encoding (%zz) never reaches a handler: net/http refuses such a request line itself.
	segs := []string{"%FF", "a%C3%28", "%ED%A0%80", "%C0%AF", "%F4%90%80%80", "%E2%82", "a\xffb", "..", ".", "%2E%2E", "%2e"}
	var rows []hostileRow
	for _, seg := range segs {
		for _, m := range []struct{ method, route string }{{"GET", "values"}, {"PUT", "values"}, {"DELETE", "values"}, {"GET", "metadata"}} {
			rows = append(rows, hostileRow{name: m.method + " " + m.route + "/" + seg, method: m.method,
				target: nsBase + "/{ns}/" + m.route + "/" + seg, body: text("v"), status: 400, code: 10020})
		}
	}
	h.runHostile(t, ns, rows)
}

// TestUnknownQueryParams: unknown query parameters are ignored, as Cloudflare's API ignores them: the
// answers and the state are what they are without them.
func TestUnknownQueryParams(t *testing.T) {
	plain, extra := newHarness(t), newHarness(t)
	junk := "foo=bar&__proto__=x&expiration_tt=5&LIMIT=1&Cursor=zz&prefix[]=a&%00=%00&=&&x"
	var ids [2]string
	for i, h := range []*harness{plain, extra} {
		ids[i] = h.createNS("unknown")
		wantOK(t, h.doJSON(http.MethodPut, nsBase+"/"+ids[i]+"/bulk", fuzzSetup), nil)
	}
	steps := []struct{ method, path, query, body string }{
		{"PUT", "/values/x", "", "value"},
		{"PUT", "/values/y", "expiration_ttl=120", "value"},
		{"GET", "/values/x", "", ""},
		{"GET", "/keys", "prefix=b&limit=10", ""},
		{"GET", "/metadata/b", "", ""},
		{"DELETE", "/values/a", "", ""},
		{"POST", "/bulk/get", "", `{"keys":["a","b","x"]}`},
		{"PUT", "", "", `{"title":"renamed"}`},
	}
	for _, s := range steps {
		var codes [2]int
		var bodies [2]string
		for i, h := range []*harness{plain, extra} {
			q := s.query
			if i == 1 {
				q = strings.TrimPrefix(q+"&"+junk, "&")
			}
			target := nsBase + "/" + ids[i] + s.path
			if q != "" {
				target += "?" + q
			}
			rec := h.do(s.method, target, strings.NewReader(s.body))
			codes[i], bodies[i] = rec.Code, strings.ReplaceAll(rec.Body.String(), ids[i], "NS")
		}
		if codes[0] != codes[1] || bodies[0] != bodies[1] || codes[0] != http.StatusOK {
			t.Fatalf("%s %s: %d %s; with unknown parameters %d %s", s.method, s.path, codes[0], bodies[0], codes[1], bodies[1])
		}
	}
	if a, b := strings.ReplaceAll(plain.state(), ids[0], "NS"), strings.ReplaceAll(extra.state(), ids[1], "NS"); a != b {
		t.Fatalf("states differ:\n%s\n%s", a, b)
	}
	var nss [2][]namespace
	for i, h := range []*harness{plain, extra} {
		q := "?per_page=5"
		if i == 1 {
			q += "&" + junk
		}
		wantOK(t, h.do(http.MethodGet, nsBase+q, nil), &nss[i])
	}
	if len(nss[0]) != 1 || len(nss[1]) != 1 || nss[0][0].Title != nss[1][0].Title {
		t.Fatalf("namespace lists differ: %v %v", nss[0], nss[1])
	}
}

// TestJSONBodyContentTypes: the JSON endpoints read the body as JSON whatever its Content-Type (none,
// text/plain, a form type, a wrong charset), as Cloudflare's API accepts; a body that is not JSON is
// refused with 400 code 10027 and changes nothing.
func TestJSONBodyContentTypes(t *testing.T) {
	h := newHarness(t)
	for i, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1", "multipart/form-data; boundary=B"} {
		title := "t" + string(rune('a'+i))
		var headers []string
		if ct != "" {
			headers = []string{"Content-Type", ct}
		}
		var ns namespace
		wantOK(t, h.do(http.MethodPost, nsBase, strings.NewReader(`{"title":`+quote(title)+`}`), headers...), &ns)
		if ns.Title != title {
			t.Fatalf("Content-Type %q: created %+v", ct, ns)
		}
		wantOK(t, h.do(http.MethodPut, nsBase+"/"+ns.ID+"/bulk", strings.NewReader(`[{"key":"k","value":"v"}]`), headers...), nil)
		wantOK(t, h.do(http.MethodPost, nsBase+"/"+ns.ID+"/bulk/get", strings.NewReader(`{"keys":["k"]}`), headers...), nil)
	}
	ns := h.createNS("form")
	h.runHostile(t, ns, []hostileRow{
		{name: "form body", method: "POST", target: nsBase, headers: []string{"Content-Type", "application/x-www-form-urlencoded"},
			body: text("title=form2"), status: 400, code: 10027},
		{name: "multipart body", method: "POST", target: nsBase, headers: []string{"Content-Type", multipartType},
			body: text("--B\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nmp\r\n--B--\r\n"), status: 400, code: 10027},
		{name: "empty body", method: "POST", target: nsBase, body: text(""), status: 400, code: 10027},
		{name: "bulk as form", method: "PUT", target: nsBase + "/{ns}/bulk", headers: []string{"Content-Type", "application/x-www-form-urlencoded"},
			body: text("key=k&value=v"), status: 400, code: 10027},
	})
}

// TestPathTraversal puts a sentinel key in namespace B of account 2 and sends raw requests from
// namespace A of account 1 that try to reach it: encoded and raw dot segments, double encoding,
// dots in account and namespace IDs, backslashes, empty segments, B's ID under account 1. None reads,
// writes, deletes or lists the sentinel, and account 2 is unchanged; the same raw request lines sent
// over a socket to an httptest server (no path cleaning on the way) are refused too.
func TestPathTraversal(t *testing.T) {
	const acct1, acct2 = emulator.DefaultAccountID, "fedcba9876543210fedcba9876543210"
	h := newHarness(t, emulator.WithAccount(acct1), emulator.WithAccount(acct2))
	a := h.createNS("A")
	var b namespace
	base2 := "/client/v4/accounts/" + acct2 + "/storage/kv/namespaces"
	wantOK(t, h.doJSON(http.MethodPost, base2, `{"title":"B"}`), &b)
	wantOK(t, h.do(http.MethodPut, base2+"/"+b.ID+"/values/sentinel", strings.NewReader("secret-B")), nil)
	state2 := func() string {
		var nss []namespace
		wantOK(t, h.do(http.MethodGet, base2, nil), &nss)
		rec := h.do(http.MethodGet, base2+"/"+b.ID+"/keys", nil)
		return fmt.Sprint(nss, rec.Body.String(), h.do(http.MethodGet, base2+"/"+b.ID+"/values/sentinel", nil).Body.String())
	}
	before := state2()
	enc := func(s string) string { return strings.ReplaceAll(s, "/", "%2F") }
	up := "../../../../" + acct2 + "/storage/kv/namespaces/" + b.ID
	a1 := "/client/v4/accounts/" + acct1 + "/storage/kv/namespaces"
	targets := []string{
		a1 + "/" + a + "/values/" + enc(up+"/values/sentinel"),
		a1 + "/" + a + "/values/" + strings.ReplaceAll(enc(up+"/values/sentinel"), ".", "%2e"),
		a1 + "/" + a + "/values/" + strings.ReplaceAll(enc(up+"/values/sentinel"), "%2F", "%252F"),
		a1 + "/" + a + "/values/" + up + "/values/sentinel",
		a1 + "/" + a + "/metadata/" + enc(up+"/values/sentinel"),
		a1 + "/" + a + "/../" + b.ID + "/values/sentinel",
		a1 + "/" + a + "%2F..%2F" + b.ID + "/values/sentinel",
		a1 + "/%2e%2e/" + b.ID + "/values/sentinel",
		a1 + "/" + b.ID + "/values/sentinel",
		a1 + "/" + b.ID + "/keys",
		a1 + "/" + b.ID,
		a1 + "//" + b.ID + "/values/sentinel",
		a1 + "/" + a + `\..\` + b.ID + "/values/sentinel",
		"/client/v4/accounts/" + acct1 + "/../" + acct2 + "/storage/kv/namespaces/" + b.ID + "/values/sentinel",
		"/client/v4/accounts/" + acct1 + "%2F..%2F" + acct2 + "/storage/kv/namespaces/" + b.ID + "/values/sentinel",
		"/client/v4/accounts/%2e%2e/storage/kv/namespaces/" + b.ID + "/values/sentinel",
		"/client/v4/accounts/../accounts/" + acct2 + "/storage/kv/namespaces/" + b.ID + "/values/sentinel",
		"/client/v4/accounts/" + acct1 + "/storage/kv/namespaces/../../" + acct2 + "/storage/kv/namespaces/" + b.ID + "/keys",
		"/client/v4/accounts/" + acct1 + "/storage/kv/namespaces/" + a + "/keys/../../" + b.ID + "/keys",
	}
	methods := []struct{ method, body string }{{"GET", ""}, {"PUT", "pwned"}, {"DELETE", ""}, {"POST", `{"keys":["sentinel"]}`}}
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	for _, target := range targets {
		for _, m := range methods {
			t.Run(m.method+" "+target, func(t *testing.T) {
				hh := &harness{t: t, e: h.e, clock: h.clock}
				rec := hh.do(m.method, target, strings.NewReader(m.body))
				if strings.Contains(rec.Body.String(), "secret-B") {
					t.Fatalf("%d: the sentinel leaked: %s", rec.Code, rec.Body)
				}
				if rec.Code == http.StatusOK {
					// Only a write or delete of a literal key in namespace A may succeed.
					if m.method != "PUT" && m.method != "DELETE" || !strings.HasPrefix(target, a1+"/"+a+"/values/") {
						t.Fatalf("200: %s", rec.Body)
					}
				} else if rec.Code < 400 || rec.Code > 499 || decodeEnvelope(t, rec).Errors[0].Code == 0 {
					t.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
				status, body := rawRequest(t, srv.Listener.Addr().String(), m.method, target, m.body)
				if strings.Contains(body, "secret-B") || (status == http.StatusOK) != (rec.Code == http.StatusOK) {
					t.Fatalf("over a socket: %d %s (in process %d)", status, body, rec.Code)
				}
				if after := state2(); after != before {
					t.Fatalf("account 2 changed:\n%s\n%s", before, after)
				}
			})
		}
	}
	if keys := h.listAll(a, ""); len(keys) != 0 { // each literal key written was deleted next
		t.Fatalf("namespace A holds %q", keys)
	}
}

// rawRequest sends one request line as is over a connection to addr and returns the status and body.
func rawRequest(t *testing.T, addr, method, target, body string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: kv\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		method, target, emulator.DefaultAPIToken, len(body), body)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
