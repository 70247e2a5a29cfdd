package emulator_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// entry is one visible key as the API shows it.
type entry struct {
	value, metadata string // metadata compacted, "" for none
	expiration      int64
}

// fuzzSetup is the state every bulk fuzz input starts from: a (JSON value), b (text with metadata),
// c (binary, expiring). It returns the harness, the namespace and that state.
const fuzzSetup = `[{"key":"a","value":"{\"x\":[1,2]}"},{"key":"b","value":"text","metadata":{"m":1}},` +
	`{"key":"c","value":"/w==","base64":true,"expiration_ttl":3600}]`

func newFuzzState(t *testing.T) (*harness, string, map[string]entry) {
	h := newHarness(t)
	ns := h.createNS("fuzz")
	wantOK(t, h.doJSON(http.MethodPut, nsBase+"/"+ns+"/bulk", fuzzSetup), nil)
	return h, ns, h.snapshot(ns)
}

// snapshot reads every visible key of ns: value, metadata and expiration.
func (h *harness) snapshot(ns string) map[string]entry {
	h.t.Helper()
	out := map[string]entry{}
	cursor := ""
	for {
		q := "?limit=1000"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		keys, info := h.list(ns, q)
		for _, k := range keys {
			status, v := h.get(ns, k.Name)
			if status != http.StatusOK {
				h.t.Fatalf("listed key %q reads %d", k.Name, status)
			}
			out[k.Name] = entry{value: v, metadata: compact(k.Metadata), expiration: k.Expiration}
		}
		if cursor = info.Cursor; cursor == "" {
			return out
		}
	}
}

func compact(raw []byte) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return "invalid:" + string(raw)
	}
	// The emulator may escape <, > and & in what it answers; compare the JSON values.
	var v any
	_ = json.Unmarshal(buf.Bytes(), &v)
	b, _ := json.Marshal(v)
	return string(b)
}

// wantRefused checks a refusal of a bulk request: 400 or 413 with one of the documented codes.
func wantRefused(t *testing.T, status int, body []byte) {
	t.Helper()
	var env response
	if err := json.Unmarshal(body, &env); err != nil || env.Success || len(env.Errors) != 1 {
		t.Fatalf("status %d without a failure envelope: %s", status, body)
	}
	code := env.Errors[0].Code
	switch {
	case status == http.StatusBadRequest && (code == 10012 || code == 10020 || code == 10022 || code == 10025 ||
		code == 10027 || code == 10029 || code == 10033 || code == 10034 || code == 10147):
	case status == http.StatusRequestEntityTooLarge && code == 10024:
	default:
		t.Fatalf("refused with status %d code %d: %s", status, code, body)
	}
}

// oracle errors: why the oracle refuses a body.
var errOracle = errors.New("oracle: invalid")

func refuse(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errOracle}, args...)...)
}

// parseJSONArray parses a whole body as one JSON array (valid UTF-8, nothing after it).
func parseJSONArray(body []byte) ([]json.RawMessage, error) {
	if !utf8.Valid(body) {
		return nil, refuse("not UTF-8")
	}
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '[' {
		return nil, refuse("not an array")
	}
	var items []json.RawMessage
	if err := json.Unmarshal(body, &items); err != nil {
		return nil, refuse("%v", err)
	}
	return items, nil
}

// parseObject parses one JSON object, member names exact (the last of a repeated name wins).
func parseObject(raw []byte) (map[string]json.RawMessage, error) {
	if len(raw) == 0 || raw[0] != '{' {
		return nil, refuse("not an object: %.40s", raw)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, refuse("%v", err)
	}
	return m, nil
}

// parseString parses a JSON string (not null).
func parseString(raw json.RawMessage) (string, error) {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", refuse("not a string: %.40s", raw)
	}
	return s, nil
}

// oracleKey checks a key name: 1 to 512 bytes, not "." or "..".
func oracleKey(k string) error {
	if k == "" || k == "." || k == ".." || len(k) > 512 {
		return refuse("bad key %q", k)
	}
	return nil
}

// isNumber reports whether raw is a JSON number (not a string holding one).
func isNumber(raw json.RawMessage) bool {
	return len(raw) > 0 && (raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'))
}

// oracleSeconds parses a JSON number that is a non-negative whole number of seconds (at most 2^53).
// An integer written out is judged exactly; other forms by their float64 value.
func oracleSeconds(raw json.RawMessage) (int64, error) {
	if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		if n < 0 || n > 1<<53 {
			return 0, refuse("bad seconds %s", raw)
		}
		return n, nil
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f != math.Trunc(f) || f < 0 || f > 1<<53 {
		return 0, refuse("bad seconds %s", raw)
	}
	return int64(f), nil
}

// oracleBulkWrite applies a bulk write body to state as the API describes it, or refuses it.
func oracleBulkWrite(body []byte, state map[string]entry, now int64) (int, error) {
	items, err := parseJSONArray(body)
	if err != nil || len(items) > 10000 {
		return 0, refuse("body: %v, %d items", err, len(items))
	}
	for _, raw := range items {
		m, err := parseObject(raw)
		if err != nil {
			return 0, err
		}
		key, err := parseString(m["key"])
		if err != nil {
			return 0, err
		}
		if err := oracleKey(key); err != nil {
			return 0, err
		}
		value, err := parseString(m["value"])
		if err != nil {
			return 0, err
		}
		switch b := string(m["base64"]); b {
		case "true":
			v, err := base64.StdEncoding.DecodeString(value)
			if err != nil {
				v, err = base64.RawStdEncoding.DecodeString(value)
			}
			if err != nil {
				return 0, refuse("bad base64")
			}
			value = string(v)
		case "", "false", "null":
		default:
			return 0, refuse("base64 %s", b)
		}
		e := entry{value: value}
		var expRaw json.RawMessage // the one that applies: expiration_ttl wins, expiration is then ignored
		for _, name := range []string{"expiration", "expiration_ttl"} {
			if raw, ok := m[name]; ok && string(raw) != "null" {
				if !isNumber(raw) {
					return 0, refuse("%s %.40s", name, raw)
				}
				expRaw = raw
			}
		}
		if expRaw != nil {
			secs, err := oracleSeconds(expRaw)
			_, isTTL := m["expiration_ttl"]
			if isTTL && string(m["expiration_ttl"]) != "null" {
				secs += now
			}
			if err != nil || secs < now+60 {
				return 0, refuse("expiration %s", expRaw)
			}
			e.expiration = secs
		}
		if md, ok := m["metadata"]; ok {
			var buf bytes.Buffer
			if json.Compact(&buf, md) != nil || buf.Len() > 1024 {
				return 0, refuse("metadata")
			}
			e.metadata = compact(md)
		}
		state[key] = e
	}
	return len(items), nil
}

// bulkWriteSeeds are bulk write bodies, well and badly formed.
var bulkWriteSeeds = []string{
	fuzzSetup, `[]`, ` [ ] `, `[{"key":"a","value":"new"}]`, `[{"key":"d","value":"x","metadata":null}]`,
	`[{"key":"a","value":"1"},{"key":"a","value":"2"}]`, `[{"key":"a","value":"aGk=","base64":true}]`,
	`[{"key":"a","value":"aGk","base64":true}]`, `[{"key":"a","value":"!!","base64":true}]`,
	`[{"key":"e","value":"v","expiration_ttl":60}]`, `[{"key":"e","value":"v","expiration_ttl":59}]`,
	`[{"key":"e","value":"v","expiration":1800000060}]`, `[{"key":"e","value":"v","expiration":1800000059}]`,
	`[{"key":"e","value":"v","expiration_ttl":"120"}]`, `[{"key":"e","value":"v","expiration_ttl":1.5}]`,
	`[{"key":"e","value":"v","expiration_ttl":1e400}]`, `[{"key":"e","value":"v","expiration":-1,"expiration_ttl":60}]`,
	`[{"Key":"a","Value":"case"}]`, `[{"key":"a","KEY":"b","value":"v"}]`, `[{"key":"a","value":"v"}] x`,
	`[{"key":"a","value":"v"}][]`, `[{"key":"a","value":"v"},]`, `[null]`, `null`, `{}`, `[1]`, `["a"]`,
	`[{"key":null,"value":"v"}]`, `[{"key":"a","value":null}]`, `[{"key":"a","value":1}]`, `[{"key":"","value":"v"}]`,
	`[{"key":".","value":"v"}]`, `[{"key":"..","value":"v"}]`, `[{"key":"` + strings.Repeat("k", 513) + `","value":"v"}]`,
	"[{\"key\":\"\xff\",\"value\":\"v\"}]", "[{\"key\":\"k\",\"value\":\"\xc3\x28\"}]", `[{"key":"\ud800","value":"v"}]`,
	`[{"key":"m","value":"v","metadata":{"s":"` + strings.Repeat("x", 1017) + `"}}]`,
	`[{"key":"m","value":"v","metadata":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}]`,
	`[{"key":"m","value":"v","base64":"true"}]`, `[{"key":"m","value":"v","unknown":{"deep":[1]}}]`,
	`[{"key":"b","value":"v","metadata":{"<":"&"}}]`,
}

// FuzzBulkWrite sends fuzzed bodies to PUT .../bulk. Never a panic or a 5xx; a refusal (400 or 413
// with a documented code) changes nothing; a 200 changes the state exactly as the body says, read
// with exact member names; a body the API's description accepts is not refused.
func FuzzBulkWrite(f *testing.F) {
	for _, s := range bulkWriteSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		h, ns, before := newFuzzState(t)
		want := maps.Clone(before)
		n, oerr := oracleBulkWrite(body, want, epoch.Unix())
		rec := h.do(http.MethodPut, nsBase+"/"+ns+"/bulk", bytes.NewReader(body), "Content-Type", "application/json")
		after := h.snapshot(ns)
		if rec.Code != http.StatusOK {
			wantRefused(t, rec.Code, rec.Body.Bytes())
			if !maps.Equal(after, before) {
				t.Fatalf("refused (%d) but the state changed:\nbefore %v\nafter  %v", rec.Code, before, after)
			}
			if oerr == nil {
				t.Fatalf("refused a valid body (%d items): %s", n, rec.Body)
			}
			return
		}
		if oerr != nil {
			t.Fatalf("200 for a body the API refuses (%v): %s", oerr, rec.Body)
		}
		var res struct {
			SuccessfulKeyCount int      `json:"successful_key_count"`
			UnsuccessfulKeys   []string `json:"unsuccessful_keys"`
		}
		wantOK(t, rec, &res)
		if res.SuccessfulKeyCount != n || res.UnsuccessfulKeys == nil || len(res.UnsuccessfulKeys) != 0 {
			t.Fatalf("result %+v for %d items", res, n)
		}
		if !maps.Equal(after, want) {
			t.Fatalf("state after the write:\n got  %v\n want %v", after, want)
		}
	})
}

// FuzzBulkDelete sends fuzzed bodies to POST .../bulk/delete (or the deprecated DELETE .../bulk).
// Never a panic or a 5xx; a refusal changes nothing; a 200 removes exactly the keys of a JSON array
// of valid key names.
func FuzzBulkDelete(f *testing.F) {
	for i, s := range []string{`[]`, `["a"]`, `["a","a","zz"]`, `["a","b","c"]`, `[""]`, `["."]`, `[null]`, `[1]`,
		`null`, `{}`, `["a"] x`, `["a"]["b"]`, `["a",]`, "[\"\xff\"]", `["\ud800"]`, `["A"]`, `[["a"]]`,
		`["` + strings.Repeat("k", 513) + `"]`, `[` + strings.Repeat(`"a",`, 10000) + `"a"]`} {
		f.Add(i%2 == 0, []byte(s))
	}
	f.Fuzz(func(t *testing.T, deprecated bool, body []byte) {
		h, ns, before := newFuzzState(t)
		want := maps.Clone(before)
		items, oerr := parseJSONArray(body)
		if oerr == nil && len(items) > 10000 {
			oerr = refuse("%d keys", len(items))
		}
		for _, raw := range items {
			k, err := parseString(raw)
			if err == nil {
				err = oracleKey(k)
			}
			if oerr == nil {
				oerr = err
			}
			delete(want, k)
		}
		method, path := http.MethodPost, nsBase+"/"+ns+"/bulk/delete"
		if deprecated {
			method, path = http.MethodDelete, nsBase+"/"+ns+"/bulk"
		}
		rec := h.do(method, path, bytes.NewReader(body), "Content-Type", "application/json")
		after := h.snapshot(ns)
		switch {
		case rec.Code != http.StatusOK:
			wantRefused(t, rec.Code, rec.Body.Bytes())
			if !maps.Equal(after, before) {
				t.Fatalf("refused (%d) but the state changed: %v", rec.Code, after)
			}
			if oerr == nil {
				t.Fatalf("refused a valid body: %s", rec.Body)
			}
		case oerr != nil:
			t.Fatalf("200 for a body the API refuses (%v): %s", oerr, rec.Body)
		case !maps.Equal(after, want):
			t.Fatalf("state after the delete:\n got  %v\n want %v", after, want)
		}
	})
}
