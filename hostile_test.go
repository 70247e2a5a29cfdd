package workerskv_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/workerskv/workerskv"
	"github.com/workerskv/workerskv/emulator"
)

// TestHostileKeysThroughClient: hostile key names (header injection, traversal, escapes, limits,
// invalid UTF-8) are refused with a *ValidationError, refused by the emulator with 400 code 10020
// (not UTF-8) and no state change, or escaped exactly: one path segment, no extra header on the
// server's side, and an exact round trip (put, get, list, metadata, bulk get, delete).
func TestHostileKeysThroughClient(t *testing.T) {
	c, tr, ns := emuClient(t)
	keys := map[string]string{
		"CRLF header injection":  "\r\nX-Evil: 1",
		"LF header injection":    "\nX-Evil: 1",
		"request smuggling":      "a\r\n\r\nGET /client/v4/accounts/x HTTP/1.1\r\nHost: evil\r\nX-Evil: 1\r\n\r\n",
		"encoded traversal":      "..%2F..%2F",
		"encoded dots":           "%2e%2e",
		"double-encoded slash":   "..%252F",
		"raw traversal":          "../../x",
		"into another namespace": "../" + ns + "/values/x",
		"backslash traversal":    `..\..\x`,
		"query and fragment":     "?cursor=x&limit=1#frag",
		"percent":                "100%",
		"NUL":                    "\x00",
		"dot leaders":            "\u2024\u2024",
		"fullwidth slash":        "\uff0f",
		"512 bytes":              strings.Repeat("/", 512),
		"empty":                  "",
		"dot":                    ".",
		"dot dot":                "..",
		"513 bytes":              strings.Repeat("a", 513),
		"not UTF-8":              "\xff",
		"overlong slash":         "\xc0\xaf",
		"surrogate":              "\xed\xa0\x80",
	}
	for name, key := range keys {
		t.Run(name, func(t *testing.T) { checkKeyRoundTrip(t, c, tr, ns, key) })
	}
	t.Run("bulk", func(t *testing.T) {
		ctx := t.Context()
		pairs := []workerskv.BulkPair{{Key: keys["CRLF header injection"], Value: []byte("1")}, {Key: keys["raw traversal"], Value: []byte("2")}}
		if res, err := c.Bulk.Put(ctx, ns, pairs, nil); err != nil || res.Succeeded != 2 {
			t.Fatalf("Bulk.Put: %+v, %v", res, err)
		}
		got, err := c.Bulk.Get(ctx, ns, []string{pairs[0].Key, pairs[1].Key}, nil)
		if err != nil || string(got[pairs[0].Key].Value) != "1" || string(got[pairs[1].Key].Value) != "2" {
			t.Fatalf("Bulk.Get: %v, %v", got, err)
		}
		if res, err := c.Bulk.Delete(ctx, ns, []string{pairs[0].Key, pairs[1].Key}, nil); err != nil || res.Succeeded != 2 {
			t.Fatalf("Bulk.Delete: %+v, %v", res, err)
		}
		for _, k := range []string{"\xff", "", "..", strings.Repeat("a", 513)} {
			sent := tr.count()
			_, err := c.Bulk.Put(ctx, ns, []workerskv.BulkPair{{Key: k, Value: []byte("v")}}, nil)
			var ve *workerskv.ValidationError
			if !errors.As(err, &ve) || tr.count() != sent {
				t.Fatalf("Bulk.Put(%q): %v, %d requests sent; want a *ValidationError and none", k, err, tr.count()-sent)
			}
		}
	})
}

// TestHostileTitlesThroughClient: titles that are empty, not UTF-8 or too long are refused before
// sending; any other title (header injection, control characters) round-trips exactly.
func TestHostileTitlesThroughClient(t *testing.T) {
	c, tr, ns := emuClient(t)
	ctx := t.Context()
	for _, title := range []string{"", "\xff", "a\xc0\xafb", "\xed\xa0\x80", strings.Repeat("é", 513)} {
		sent := tr.count()
		_, err := c.Namespaces.Create(ctx, title)
		_, err2 := c.Namespaces.Rename(ctx, ns, title)
		var ve, ve2 *workerskv.ValidationError
		if !errors.As(err, &ve) || !errors.As(err2, &ve2) || ve.Field != "title" || tr.count() != sent {
			t.Fatalf("title %q: %v / %v, %d requests; want *ValidationErrors and none sent", title, err, err2, tr.count()-sent)
		}
	}
	for _, title := range []string{"\r\nX-Evil: 1", "\x00\x01", `{"title":"x"}`, "\u2028</script>", strings.Repeat("é", 512)} {
		created, err := c.Namespaces.Create(ctx, title)
		if err != nil || created.Title != title {
			t.Fatalf("Create(%q) = %+v, %v", title, created, err)
		}
		for name := range tr.lastRequest().Header {
			if !sentHeaders[name] {
				t.Fatalf("header %q reached the server", name)
			}
		}
		if got, err := c.Namespaces.Get(ctx, created.ID); err != nil || got.Title != title {
			t.Fatalf("Get = %+v, %v", got, err)
		}
		if got, err := c.Namespaces.Rename(ctx, created.ID, strings.ToUpper(title)); err != nil || got.Title != strings.ToUpper(title) {
			t.Fatalf("Rename = %+v, %v", got, err)
		}
	}
}

// TestHostileOptionsThroughClient: out-of-range paging, expirations and metadata are refused with a
// *ValidationError before anything is sent, except metadata that is valid JSON but not UTF-8, which
// the client sends and the emulator refuses (400, code 10025); nothing changes either way.
func TestHostileOptionsThroughClient(t *testing.T) {
	c, tr, ns := emuClient(t)
	ctx := t.Context()
	put := func(opts *workerskv.PutOptions) error {
		return c.Values.Put(ctx, ns, "k", strings.NewReader("v"), opts)
	}
	refused := map[string]func() error{
		"limit -1":   func() error { _, err := c.Keys.List(ctx, ns, &workerskv.ListKeysOptions{Limit: -1}); return err },
		"limit 9":    func() error { _, err := c.Keys.List(ctx, ns, &workerskv.ListKeysOptions{Limit: 9}); return err },
		"limit 1001": func() error { _, err := c.Keys.List(ctx, ns, &workerskv.ListKeysOptions{Limit: 1001}); return err },
		"page -1":    func() error { _, err := c.Namespaces.List(ctx, &workerskv.ListNamespacesOptions{Page: -1}); return err },
		"per_page -1": func() error {
			_, err := c.Namespaces.List(ctx, &workerskv.ListNamespacesOptions{PerPage: -1})
			return err
		},
		"per_page 1001": func() error {
			_, err := c.Namespaces.List(ctx, &workerskv.ListNamespacesOptions{PerPage: 1001})
			return err
		},
		"order injection": func() error {
			_, err := c.Namespaces.List(ctx, &workerskv.ListNamespacesOptions{Order: "id&page=-1"})
			return err
		},
		"ttl 59s":         func() error { return put(&workerskv.PutOptions{ExpirationTTL: 59 * time.Second}) },
		"ttl -1s":         func() error { return put(&workerskv.PutOptions{ExpirationTTL: -time.Second}) },
		"ttl overflow":    func() error { return put(&workerskv.PutOptions{ExpirationTTL: -1 << 63}) },
		"expiration past": func() error { return put(&workerskv.PutOptions{Expiration: time.Unix(-1, 0)}) },
		"expiration soon": func() error { return put(&workerskv.PutOptions{Expiration: time.Now().Add(59 * time.Second)}) },
		"both": func() error {
			return put(&workerskv.PutOptions{Expiration: time.Now().Add(time.Hour), ExpirationTTL: time.Hour})
		},
		"metadata not JSON": func() error {
			return put(&workerskv.PutOptions{Metadata: json.RawMessage(`{"a":`)})
		},
		"metadata nested 10,001": func() error {
			return put(&workerskv.PutOptions{Metadata: json.RawMessage(strings.Repeat("[", 10001) + strings.Repeat("]", 10001))})
		},
		"metadata nested 10,000": func() error {
			return put(&workerskv.PutOptions{Metadata: json.RawMessage(strings.Repeat("[", 10000) + strings.Repeat("]", 10000))})
		},
		"metadata 1,025 bytes": func() error {
			return put(&workerskv.PutOptions{Metadata: strings.Repeat("x", 1023)})
		},
		"metadata unencodable": func() error { return put(&workerskv.PutOptions{Metadata: func() {}}) },
		"metadata not UTF-8": func() error {
			return put(&workerskv.PutOptions{Metadata: json.RawMessage("{\"a\":\"\xff\"}")})
		},
		"value over 25 MiB": func() error {
			return c.Values.Put(ctx, ns, "k", bytes.NewReader(make([]byte, 25<<20+1)), nil)
		},
	}
	if err := put(nil); err != nil {
		t.Fatal(err)
	}
	before := clientState(t, c)
	for name, call := range refused {
		t.Run(name, func(t *testing.T) {
			sent := tr.count()
			err := call()
			var ve *workerskv.ValidationError
			if !errors.As(err, &ve) || tr.count() != sent {
				t.Fatalf("%v (%T), %d requests sent; want a *ValidationError and none", err, err, tr.count()-sent)
			}
		})
	}
	t.Run("prefix with CRLF", func(t *testing.T) {
		if _, err := c.Keys.List(ctx, ns, &workerskv.ListKeysOptions{Prefix: "\r\nX-Evil: 1", Limit: 10}); err != nil {
			t.Fatal(err)
		}
		if tr.lastRequest().Header.Get("X-Evil") != "" || tr.lastRequest().URL.Query().Get("prefix") != "\r\nX-Evil: 1" {
			t.Fatalf("request %v %v", tr.lastRequest().URL, tr.lastRequest().Header)
		}
	})
	t.Run("cursor with CRLF", func(t *testing.T) {
		_, err := c.Keys.List(ctx, ns, &workerskv.ListKeysOptions{Cursor: "\r\nX-Evil: 1"})
		wantAPIError(t, "List", err, 400, 10032)
	})
	if after := clientState(t, c); after != before {
		t.Fatalf("state changed:\n%s\n%s", before, after)
	}
}

// clientState renders every namespace of c's account and every key in it, with its value.
func clientState(t *testing.T, c *workerskv.Client) string {
	t.Helper()
	var b strings.Builder
	for ns, err := range c.Namespaces.All(t.Context(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %q:", ns.ID, ns.Title)
		for k, err := range c.Keys.All(t.Context(), ns.ID, nil) {
			if err != nil {
				t.Fatal(err)
			}
			v, err := c.Values.Get(t.Context(), ns.ID, k.Name)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, " %q=%q %s", k.Name, v, k.Metadata)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// TestHostileIDsThroughClient puts a sentinel key in namespace B of account 2 and tries to reach it
// from account 1 with hostile namespace and account IDs (traversal, encoded dots, another account's
// namespace). Every attempt is refused (a *ValidationError, or an *APIError 403 or 404) and neither
// account's state changes.
func TestHostileIDsThroughClient(t *testing.T) {
	const acct2 = "fedcba9876543210fedcba9876543210"
	c1, tr, nsA := emuClient(t, emulator.WithAccount(emulator.DefaultAccountID), emulator.WithAccount(acct2))
	ctx := t.Context()
	c2, err := c1.WithAccount(acct2)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c2.Namespaces.Create(ctx, "B")
	if err != nil {
		t.Fatal(err)
	}
	nsB := b.ID
	if err := c2.Values.Put(ctx, nsB, "sentinel", strings.NewReader("secret-B"), nil); err != nil {
		t.Fatal(err)
	}
	before1, before2 := clientState(t, c1), clientState(t, c2)
	attempts := func(c *workerskv.Client, ns string) map[string]error {
		out := map[string]error{}
		_, out["Values.Get"] = c.Values.Get(ctx, ns, "sentinel")
		out["Values.Put"] = c.Values.Put(ctx, ns, "sentinel", strings.NewReader("overwritten"), nil)
		out["Values.Delete"] = c.Values.Delete(ctx, ns, "sentinel")
		_, out["Keys.List"] = c.Keys.List(ctx, ns, nil)
		_, out["Keys.Metadata"] = c.Keys.Metadata(ctx, ns, "sentinel")
		_, out["Bulk.Get"] = c.Bulk.Get(ctx, ns, []string{"sentinel"}, nil)
		_, out["Bulk.Delete"] = c.Bulk.Delete(ctx, ns, []string{"sentinel"}, nil)
		_, out["Namespaces.Get"] = c.Namespaces.Get(ctx, ns)
		_, out["Namespaces.Rename"] = c.Namespaces.Rename(ctx, ns, "pwned")
		out["Namespaces.Delete"] = c.Namespaces.Delete(ctx, ns)
		return out
	}
	check := func(t *testing.T, errs map[string]error) {
		for call, err := range errs {
			var ve *workerskv.ValidationError
			var ae *workerskv.APIError
			switch {
			case errors.As(err, &ve):
			case errors.As(err, &ae) && (ae.StatusCode == 403 || ae.StatusCode == 404):
			default:
				t.Errorf("%s: %v (%T); want a *ValidationError or an *APIError 403/404", call, err, err)
			}
		}
		if a1, a2 := clientState(t, c1), clientState(t, c2); a1 != before1 || a2 != before2 {
			t.Fatalf("state changed:\n%s%s\n%s%s", before1, before2, a1, a2)
		}
	}
	for _, id := range []string{nsB, "..", ".", "", "../" + nsB, "..%2F" + nsB, nsA + "/../" + nsB, "%2e%2e", `..\` + nsB,
		"../../../" + acct2 + "/storage/kv/namespaces/" + nsB, nsB + "x", strings.ToUpper(nsB)} {
		t.Run("namespace "+id, func(t *testing.T) { check(t, attempts(c1, id)) })
	}
	// WithAccount refuses account IDs that would change the path ("", ".", ".." and any over 32
	// characters); any other travels as one escaped segment, which the emulator refuses (403 or 404).
	for _, acct := range []string{"..", ".", "", emulator.DefaultAccountID + "/../" + acct2, "../" + acct2, "%2e%2e", acct2 + "/.."} {
		t.Run("account "+acct, func(t *testing.T) {
			sent := tr.count()
			ca, err := c1.WithAccount(acct)
			if err != nil {
				if !errors.Is(err, workerskv.ErrInvalidInput) || tr.count() > sent {
					t.Fatalf("WithAccount(%q): %v, %d requests; want a validation error and none", acct, err, tr.count()-sent)
				}
				return
			}
			errs := attempts(ca, nsB)
			if tr.count() > sent {
				if p := tr.lastRequest().URL.EscapedPath(); strings.Contains(p, "/"+acct2+"/") {
					t.Fatalf("account 2 appears as a path segment: %s", p)
				}
			}
			check(t, errs)
		})
	}
}
