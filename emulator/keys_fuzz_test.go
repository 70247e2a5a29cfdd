package emulator_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// cursorFuzzKeys are the keys of the namespace FuzzListCursor lists, in byte order.
var cursorFuzzKeys = func() []string {
	keys := []string{"!", "\x00", "\x01ctl", " space", "%2F", "...", "../x", "a", "a/b", "a\x00", "b", "é", "€", "🔑"}
	for i := range 12 {
		keys = append(keys, "k"+strconv.Itoa(i))
	}
	slices.Sort(keys)
	return keys
}()

// cursorFor is a cursor in the documented format: base64url of version byte 1 and a key.
func cursorFor(key string) string {
	return base64.RawURLEncoding.EncodeToString(append([]byte{1}, key...))
}

// FuzzListCursor sends fuzzed cursor (and limit) query parameters, escaped or raw, to the key list
// of a namespace of 26 keys. The answer is always 200 or 400 with code 10032 (cursor), 10028
// (limit) or 10031 (a query string that cannot be decoded), never a 5xx or a panic. A 200 holds exactly the next keys after the cursor's key, in byte
// order, at most limit of them, with a cursor exactly when more remain.
func FuzzListCursor(f *testing.F) {
	seeds := []string{"", cursorFor("a"), cursorFor("k5"), cursorFor("\xff\xff"), cursorFor(strings.Repeat("z", 512)),
		cursorFor(strings.Repeat("z", 513)), cursorFor(""), "AQ", "AWE", "AWE=", "AWE%3D", "=", "%", "%zz", "AQ&limit=5",
		"AWE&cursor=AWI", "*", "..%2F", "\x00", base64.RawURLEncoding.EncodeToString([]byte{2, 'a'}),
		base64.StdEncoding.EncodeToString([]byte{1, 0xfb, 0xff}), "AWE\n", " AWE", "AWE#frag"}
	limits := []string{"", "10", "9", "1000", "1001", "-1", "0", "abc", "1.5", "1e400", "99999999999999999999", "+10", "010"}
	for i, c := range seeds {
		f.Add(c, i%2 == 0, limits[i%len(limits)])
	}
	h := newHarness(f)
	ns := h.createNS("cursor-fuzz")
	for _, k := range cursorFuzzKeys {
		h.put(ns, k, "v", "")
	}
	f.Fuzz(func(t *testing.T, cursor string, raw bool, limit string) {
		query := "cursor=" + url.QueryEscape(cursor) + "&limit=" + url.QueryEscape(limit)
		if raw {
			query = "cursor=" + cursor + "&limit=" + limit
		}
		req := httptest.NewRequest(http.MethodGet, keysPath(ns, ""), nil)
		req.URL.RawQuery = query
		req.Header.Set("Authorization", "Bearer kvemulator-token")
		rec := httptest.NewRecorder()
		h.e.ServeHTTP(rec, req)
		q, _ := url.ParseQuery(query) // what the emulator reads, parsed as it parses
		switch rec.Code {
		case http.StatusOK:
			checkCursorPage(t, rec, q)
		case http.StatusBadRequest:
			r := decodeEnvelope(t, rec)
			if r.Success || len(r.Errors) != 1 || (r.Errors[0].Code != 10028 && r.Errors[0].Code != 10031 && r.Errors[0].Code != 10032) {
				t.Fatalf("query %q: 400 without code 10028, 10031 or 10032: %s", query, rec.Body)
			}
		default:
			t.Fatalf("query %q: status %d: %s", query, rec.Code, rec.Body)
		}
	})
}

// checkCursorPage checks a 200 key list answered for query q; see FuzzListCursor.
func checkCursorPage(t *testing.T, rec *httptest.ResponseRecorder, q url.Values) {
	t.Helper()
	limit := 1000
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 10 || n > 1000 {
			t.Fatalf("limit %q was accepted: %s", s, rec.Body)
		}
		limit = n
	}
	after, hasAfter := "", false
	if c := q.Get("cursor"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		if err != nil || len(b) < 2 || b[0] != 1 || len(b) > 513 {
			t.Fatalf("cursor %q was accepted: %s", c, rec.Body)
		}
		after, hasAfter = string(b[1:]), true
	}
	var keys []keyEntry
	r := wantOK(t, rec, &keys)
	var info cursorInfo
	if err := json.Unmarshal(r.ResultInfo, &info); err != nil || info.Count != len(keys) {
		t.Fatalf("result_info %s for %d keys (%v)", r.ResultInfo, len(keys), err)
	}
	var want []string
	for _, k := range cursorFuzzKeys {
		if !hasAfter || k > after {
			want = append(want, k)
		}
	}
	more := len(want) > limit
	want = want[:min(limit, len(want))]
	got := make([]string, len(keys))
	for i, k := range keys {
		got[i] = k.Name
	}
	if !slices.Equal(got, want) {
		t.Fatalf("cursor after %q, limit %d: got %q, want %q", after, limit, got, want)
	}
	if (info.Cursor != "") != more {
		t.Fatalf("cursor %q with more=%v", info.Cursor, more)
	}
	if more && info.Cursor != cursorFor(want[len(want)-1]) {
		t.Fatalf("next cursor %q does not resume after %q", info.Cursor, want[len(want)-1])
	}
}
