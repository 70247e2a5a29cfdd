package emulator_test

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// oracleBulkGet computes the result of a bulk get body against state as the API describes it, as a
// JSON value to compare with the answer's result, or refuses the body.
func oracleBulkGet(body []byte, state map[string]entry) (any, error) {
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return nil, refuse("not an object")
	}
	if _, err := parseJSONArray([]byte("[" + string(body) + "]")); err != nil {
		return nil, err // not UTF-8, or not one JSON value
	}
	m, err := parseObject(bytes.TrimLeft(body, " \t\r\n"))
	if err != nil {
		return nil, err
	}
	keysRaw, ok := m["keys"]
	if !ok || len(keysRaw) == 0 || keysRaw[0] != '[' {
		return nil, refuse("keys %.40s", keysRaw)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(keysRaw, &items); err != nil || len(items) > 100 {
		return nil, refuse("keys: %v, %d", err, len(items))
	}
	typ := "text"
	if raw, ok := m["type"]; ok && string(raw) != "null" {
		if typ, err = parseString(raw); err != nil {
			return nil, err
		}
		if typ == "" {
			typ = "text"
		}
		if typ != "text" && typ != "json" {
			return nil, refuse("type %q", typ)
		}
	}
	withMeta := false
	switch raw := string(m["withMetadata"]); raw {
	case "true":
		withMeta = true
	case "", "false", "null":
	default:
		return nil, refuse("withMetadata %s", raw)
	}
	values := map[string]any{}
	for _, raw := range items {
		k, err := parseString(raw)
		if err != nil {
			return nil, err
		}
		if err := oracleKey(k); err != nil {
			return nil, err
		}
		e, found := state[k]
		if !found {
			values[k] = nil
			continue
		}
		if !utf8.ValidString(e.value) {
			return nil, refuse("value of %q is not text", k)
		}
		var v any = e.value
		if typ == "json" {
			if json.Unmarshal([]byte(e.value), &v) != nil {
				return nil, refuse("value of %q is not JSON", k)
			}
		}
		if withMeta {
			var md any
			if e.metadata != "" {
				_ = json.Unmarshal([]byte(e.metadata), &md)
			}
			ent := map[string]any{"value": v, "metadata": md}
			if e.expiration != 0 {
				ent["expiration"] = float64(e.expiration)
			}
			v = ent
		}
		values[k] = v
	}
	return map[string]any{"values": values}, nil
}

// FuzzBulkGet sends fuzzed bodies to POST .../bulk/get. Never a panic or a 5xx; nothing ever
// changes; a 200 answers exactly what the state holds for a valid body (exact member names keys,
// type, withMetadata); a valid body is not refused, except with 10029 when a value is not UTF-8 text
// and 10034 for type json of a value that is not JSON.
func FuzzBulkGet(f *testing.F) {
	for _, s := range []string{`{"keys":[]}`, `{"keys":["a","b","c","zz"]}`, `{"keys":["a"],"type":"json"}`,
		`{"keys":["b"],"type":"json"}`, `{"keys":["a","b","c","zz"],"withMetadata":true}`,
		`{"keys":["a","zz"],"type":"json","withMetadata":true}`, `{"keys":["a","a"],"type":null,"withMetadata":null}`,
		`{"keys":null}`, `{}`, `null`, `[]`, `{"keys":[null]}`, `{"keys":[""]}`, `{"keys":["."]}`, `{"keys":[1]}`,
		`{"keys":"a"}`, `{"Keys":["a"]}`, `{"keys":["a"],"KEYS":["b"]}`, `{"keys":["a"],"type":"TEXT"}`,
		`{"keys":["a"],"type":""}`, `{"keys":["a"],"withmetadata":true}`, `{"keys":["a"],"withMetadata":"yes"}`,
		`{"keys":["a"]} x`, `{"keys":["a"]}{}`, "{\"keys\":[\"\xff\"]}", `{"keys":["\ud800"]}`,
		`{"keys":["` + strings.Repeat("k", 513) + `"]}`, `{"keys":[` + strings.Repeat(`"a",`, 100) + `"a"]}`,
		`{"keys":["a"],"x":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		h, ns, before := newFuzzState(t)
		want, oerr := oracleBulkGet(body, before)
		rec := h.do(http.MethodPost, nsBase+"/"+ns+"/bulk/get", bytes.NewReader(body), "Content-Type", "application/json")
		if after := h.snapshot(ns); !maps.Equal(after, before) {
			t.Fatalf("bulk get changed the state: %v", after)
		}
		if rec.Code != http.StatusOK {
			wantRefused(t, rec.Code, rec.Body.Bytes())
			if oerr == nil {
				t.Fatalf("refused a valid body: %s", rec.Body)
			}
			return
		}
		if oerr != nil {
			t.Fatalf("200 for a body the API refuses (%v): %s", oerr, rec.Body)
		}
		var got any
		r := wantOK(t, rec, nil)
		if err := json.Unmarshal(r.Result, &got); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("result %s (%v), want %s", r.Result, err, mustJSON(want))
		}
	})
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return strconv.Quote(err.Error())
	}
	return string(b)
}
