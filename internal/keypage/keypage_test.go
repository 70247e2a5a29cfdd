package keypage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/workerskv/workerskv/internal/envelope"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Key is one decoded key, as the tests compare them.
type Key struct {
	Name       string
	Expiration float64
	Metadata   []byte
}

func newKey(name string, expiration float64, metadata []byte) Key {
	return Key{Name: name, Expiration: expiration, Metadata: metadata}
}

// reference decodes body the way the client does without this package.
func reference(body []byte) (keys []Key, cursor string, err error) {
	type wireKey struct {
		Name       string          `json:"name"`
		Expiration float64         `json:"expiration"`
		Metadata   json.RawMessage `json:"metadata"`
	}
	env, err := envelope.Decode[[]wireKey](body)
	if err != nil {
		return nil, "", err
	}
	if !env.Success {
		return nil, "", errors.New("success false")
	}
	for _, w := range env.Result {
		k := Key{Name: w.Name, Expiration: w.Expiration, Metadata: w.Metadata}
		if string(k.Metadata) == "null" {
			k.Metadata = nil
		}
		keys = append(keys, k)
	}
	if env.ResultInfo != nil {
		cursor = env.ResultInfo.Cursor
	}
	return keys, cursor, nil
}

// check holds Decode to the reference: when Decode accepts a body, the body is valid JSON and the
// reference gives the same keys and cursor (or fails only on the type of a field Decode ignores).
func check(t *testing.T, body []byte) (accepted bool) {
	t.Helper()
	keys, cursor, ok := Decode(body, newKey)
	if !ok {
		return false
	}
	if !json.Valid(body) {
		t.Fatalf("Decode accepted invalid JSON %q", body)
	}
	want, wantCursor, err := reference(body)
	if err != nil {
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) || te.Field == "result" || strings.HasPrefix(te.Field, "result.") || te.Field == "result_info.cursor" || te.Field == "success" {
			t.Fatalf("Decode accepted %q, which the reference refuses: %v", body, err)
		}
		return true
	}
	if cursor != wantCursor || len(keys) != len(want) {
		t.Fatalf("body %q: got %d keys, cursor %q; want %d keys, cursor %q", body, len(keys), cursor, len(want), wantCursor)
	}
	for i := range keys {
		g, w := keys[i], want[i]
		if g.Name != w.Name || g.Expiration != w.Expiration || !bytes.Equal(g.Metadata, w.Metadata) || (g.Metadata == nil) != (w.Metadata == nil) {
			t.Fatalf("body %q key %d: got %+v, want %+v", body, i, g, w)
		}
	}
	return true
}

func page(n int) string {
	var b strings.Builder
	b.WriteString(`{"success":true,"errors":[],"messages":[],"result":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name":"key/%04d ключ","expiration":%d,"metadata":{"n":%d,"tags":["a","b\"c"],"x":null}}`, i, 1800000000+i, i)
	}
	b.WriteString(`],"result_info":{"count":3,"cursor":"abc=="}}`)
	return b.String()
}

var seeds = []string{
	page(3),
	page(0),
	`{"success":true,"errors":[],"messages":[],"result":[{"name":"a"},{"name":"b","metadata":null,"expiration":null}],"result_info":{"count":2,"cursor":""}}`,
	` { "result" : [ { "name" : "a" , "metadata" : [ 1 , 2.5e3 , -0 ] } ] , "success" : true } `,
	`{"success":true,"result":[{"name":"esc\"aped"}]}`,
	`{"success":true,"result":[{"Name":"upper"}]}`,
	`{"success":true,"result":[{"name":"a","metadata":{"k\u00e9y":1}}]}`,
	`{"success":false,"errors":[{"code":10013,"message":"namespace not found"}],"result":null}`,
	`{"success":true,"result":[{"name":"a"}],"result_info":{"cursor":"c\u002f"}}`,
	`{"success":true,"result":[{"name":"a","expiration":1e400}]}`,
	`{"success":true,"result":[{"name":"a","expiration":"1800000000"}]}`,
	`{"success":true,"result":[{"name":"\xff"}]}`,
	`{"success":true,"result":[{"name":"a"}]}x`,
	`{"success":true,"result":[{"name":"a"},]}`,
	`{"success":true,"errors":5,"result":[{"name":"a"}]}`,
	`{"success":true,"result":[{"name":"a","metadata":{"deep":[[[[[]]]]]}}],"result_info":{"count":"x","cursor":"n"}}`,
	`{"success":true,"result":[{"name":"a","metadata":01}]}`,
	`{"success":true,"result":[{"name":"a","metadata":"bad \x01 control"}]}`,
	`{"ſuccess":true,"result":[]}`,
}

func TestDecodeMatchesEncodingJSON(t *testing.T) {
	accepted := 0
	for _, s := range seeds {
		if check(t, []byte(s)) {
			accepted++
		}
	}
	if accepted < 4 {
		t.Fatalf("the fast path accepted only %d of the seeds: it should take the common pages", accepted)
	}
	if _, _, ok := Decode([]byte(page(1000)), newKey); !ok {
		t.Fatal("a plain 1,000-key page must take the fast path")
	}
}

func TestDecodeSharesAllocations(t *testing.T) {
	body := []byte(page(1000))
	allocs := testing.AllocsPerRun(10, func() { Decode(body, newKey) })
	if allocs > 8 {
		t.Fatalf("decoding a 1,000-key page took %.0f allocations, want a handful", allocs)
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { check(t, body) })
}
