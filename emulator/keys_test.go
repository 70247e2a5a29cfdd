package emulator_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestListKeysOrderPrefixAndMetadata(t *testing.T) {
	h := newHarness(t)
	ns := h.createNS("list")
	keys := []string{"b", "a", "a/b", "a.b", "ab", "A", "é", "z", "a\x00", "a0", "~", "😀"}
	for _, k := range keys {
		h.put(ns, k, "v", "")
	}
	body, ct := multipartBody(t, []byte("v"), false, ptr(`{"tag":1}`))
	wantOK(t, h.do("PUT", valuePath(ns, "with-meta"), body, "Content-Type", ct), nil)
	keys = append(keys, "with-meta")

	want := slices.Clone(keys)
	slices.Sort(want) // Go string order is byte order
	got, info := h.list(ns, "")
	var names []string
	for _, k := range got {
		names = append(names, k.Name)
		if k.Name == "with-meta" && string(k.Metadata) != `{"tag":1}` {
			t.Fatalf("metadata %s", k.Metadata)
		}
		if k.Name != "with-meta" && k.Metadata != nil {
			t.Fatalf("%s has metadata %s", k.Name, k.Metadata)
		}
	}
	if !slices.Equal(names, want) || info.Cursor != "" {
		t.Fatalf("listed %q cursor %q\nwant %q", names, info.Cursor, want)
	}

	for prefix, wantNames := range map[string][]string{
		"a":      {"a", "a\x00", "a.b", "a/b", "a0", "ab"},
		"a/":     {"a/b"},
		"with-m": {"with-meta"},
		"nope":   nil,
		"😀":      {"😀"},
	} {
		if got := h.listAll(ns, "?prefix="+url.QueryEscape(prefix)); !slices.Equal(got, wantNames) {
			t.Errorf("prefix %q: %q, want %q", prefix, got, wantNames)
		}
	}
	if r := h.do("GET", keysPath(ns, "?prefix=nope"), nil); !strings.Contains(r.Body.String(), `"result":[],"result_info":{"count":0,"cursor":""}`) {
		t.Fatalf("empty list: %s", r.Body)
	}
}

func TestListKeysCursorPaging(t *testing.T) {
	h := newHarness(t)
	ns := h.createNS("paging")
	var want []string
	for i := range 95 {
		k := fmt.Sprintf("key-%03d", i)
		want = append(want, k)
		h.put(ns, k, "v", "")
	}
	h.put(ns, "other", "v", "")

	var got []string
	cursor, pages := "", 0
	for {
		q := "?limit=10&prefix=key-"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		keys, info := h.list(ns, q)
		pages++
		for _, k := range keys {
			got = append(got, k.Name)
		}
		if info.Cursor == "" {
			if len(keys) != 5 {
				t.Fatalf("last page has %d keys", len(keys))
			}
			break
		}
		if len(keys) != 10 {
			t.Fatalf("page %d has %d keys", pages, len(keys))
		}
		cursor = info.Cursor
	}
	if pages != 10 || !slices.Equal(got, want) {
		t.Fatalf("%d pages, keys %v", pages, got)
	}
	// Exactly limit keys left: that page is the last, with no cursor.
	_, info := h.list(ns, "?limit=96")
	if info.Cursor != "" {
		t.Fatalf("cursor %q after listing everything", info.Cursor)
	}
	// Default limit is 1000.
	if keys, info := h.list(ns, ""); len(keys) != 96 || info.Cursor != "" {
		t.Fatalf("default list: %d keys, cursor %q", len(keys), info.Cursor)
	}
	// A key written behind the cursor is not seen; one ahead of it is.
	_, first := h.list(ns, "?limit=10&prefix=key-")
	h.put(ns, "key-000a", "v", "")
	h.put(ns, "key-050a", "v", "")
	rest := h.listFrom(ns, "?limit=10&prefix=key-", first.Cursor)
	if slices.Contains(rest, "key-000a") || !slices.Contains(rest, "key-050a") {
		t.Fatalf("resumed list %v", rest)
	}
}

func TestListKeysEmptyPageWithCursor(t *testing.T) {
	h := newHarness(t)
	ns := h.createNS("sparse")
	// 25 keys that will expire sort before 5 that will not.
	for i := range 25 {
		h.put(ns, fmt.Sprintf("a-%02d", i), "v", "?expiration_ttl=60")
	}
	for i := range 5 {
		h.put(ns, fmt.Sprintf("b-%02d", i), "v", "")
	}
	h.clock.Advance(2 * time.Minute)

	keys, info := h.list(ns, "?limit=10")
	if len(keys) != 0 || info.Cursor == "" {
		t.Fatalf("first page: %d keys, cursor %q; want an empty page with a cursor", len(keys), info.Cursor)
	}
	keys, info = h.list(ns, "?limit=10&cursor="+url.QueryEscape(info.Cursor))
	if len(keys) != 0 || info.Cursor == "" {
		t.Fatalf("second page: %d keys, cursor %q", len(keys), info.Cursor)
	}
	keys, info = h.list(ns, "?limit=10&cursor="+url.QueryEscape(info.Cursor))
	if len(keys) != 5 || info.Cursor != "" || keys[0].Name != "b-00" {
		t.Fatalf("third page: %v, cursor %q", keys, info.Cursor)
	}
	// Listing removed the expired entries, so a fresh list is dense now.
	if keys, info := h.list(ns, "?limit=10"); len(keys) != 5 || info.Cursor != "" {
		t.Fatalf("after lazy removal: %d keys, cursor %q", len(keys), info.Cursor)
	}
}

func TestListKeysErrors(t *testing.T) {
	h := newHarness(t)
	ns := h.createNS("list-errors")
	tests := []struct {
		query string
		code  int
		msg   string
	}{
		{"?limit=9", 10028, "limit argument must be at least 10"},
		{"?limit=0", 10028, "limit argument must be at least 10"},
		{"?limit=1001", 10028, "limit argument must be at most 1000"},
		{"?limit=99999999999999999999", 10028, "limit argument must be at most 1000"},
		{"?limit=-99999999999999999999", 10028, "limit argument must be at least 10"},
		{"?limit=ten", 10028, "limit argument must be an integer"},
		{"?limit=-5", 10028, "limit argument must be at least 10"},
		{"?cursor=not-a-cursor", 10032, "Invalid cursor"},
		{"?cursor=" + url.QueryEscape("!!!"), 10032, "Invalid cursor"},
		{"?cursor=AA", 10032, "Invalid cursor"},
		{"?cursor=Ami4", 10032, "Invalid cursor"}, // wrong version byte
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			wantError(t, h.do("GET", keysPath(ns, tc.query), nil), 400, tc.code, tc.msg)
		})
	}
	wantError(t, h.do("GET", keysPath("ffffffffffffffffffffffffffffffff", ""), nil), 404, 10013, "namespace not found")
	for _, limit := range []string{"10", "1000"} {
		h.list(ns, "?limit="+limit)
	}
}
