package workerskv_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/workerskv/workerskv"
)

// sameJSON reports whether a and b are the same JSON value (numbers compared by their text).
func sameJSON(a, b []byte) bool {
	var x, y any
	da, db := json.NewDecoder(bytes.NewReader(a)), json.NewDecoder(bytes.NewReader(b))
	da.UseNumber()
	db.UseNumber()
	if da.Decode(&x) != nil || db.Decode(&y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// metadataVerdict is what the client and the emulator must make of metadata text: "" for none, or
// "client" (a *ValidationError: not JSON, or over 1,024 bytes compacted), "server" (valid JSON that
// is not UTF-8: 400 code 10025 from the emulator), or "ok".
func metadataVerdict(meta string) string {
	switch {
	case meta == "":
		return ""
	case !json.Valid([]byte(meta)):
		return "client"
	}
	var buf bytes.Buffer
	_ = json.Compact(&buf, []byte(meta))
	switch {
	case buf.Len() > 1024:
		return "client"
	case !utf8.ValidString(meta):
		return "client" // JSON text must be UTF-8: refused before sending
	}
	return "ok"
}

// FuzzPutWithMetadata sends fuzzed value bytes and metadata text through Values.Put, which frames
// them as multipart/form-data, into the emulator, which parses the multipart body. The value reads
// back byte-exact and the metadata as the same JSON (through Keys.Metadata and Keys.List), or the
// put is refused as metadataVerdict says and nothing changes.
func FuzzPutWithMetadata(f *testing.F) {
	values := []string{"", "v", "\x00\xff\r\n--", "\r\n--workerskv-\r\n\r\n", "--", strings.Repeat("ab\r\n", 300)}
	metas := []string{
		`{}`, `null`, `[]`, `0`, `"s"`, `{"a":1,"b":[true,false,null],"c":{"d":"e"}}`, ` { "sp" : 1 } `,
		`{"html":"<&>","ls":"\u2028","esc":"\"\\\/\b\f\n\r\t","u":"\u00e9\ud83d\ude00"}`,
		`{"big":1e400,"neg":-0.0,"exp":1E+2}`, `{"lone":"\ud800"}`, "{\"raw\":\"\xff\"}",
		`{"a":` + strings.Repeat(`[`, 100) + strings.Repeat(`]`, 100) + `}`,
		`{"s":"` + strings.Repeat("x", 1015) + `"}`, `{"s":"` + strings.Repeat("x", 1016) + `"}`,
		`{`, `{"a":1}x`, `nul`, "\r\n--workerskv-", "",
	}
	for i, v := range values {
		for j, m := range metas {
			if (i+j)%3 == 0 {
				f.Add([]byte(v), m)
			}
		}
	}
	c, _, ns := emuClient(f)
	f.Fuzz(func(t *testing.T, value []byte, meta string) {
		ctx := context.Background()
		const key = "k"
		if err := c.Values.Put(ctx, ns, key, strings.NewReader("previous"), nil); err != nil {
			t.Fatal(err)
		}
		opts := &workerskv.PutOptions{}
		if meta != "" {
			opts.Metadata = json.RawMessage(meta)
		}
		err := c.Values.Put(ctx, ns, key, bytes.NewReader(value), opts)
		var ve *workerskv.ValidationError
		switch verdict := metadataVerdict(meta); verdict {
		case "client":
			if !errors.As(err, &ve) || ve.Field != "metadata" {
				t.Fatalf("Put with metadata %q: %v, want a *ValidationError for the metadata", meta, err)
			}
		case "server":
			wantAPIError(t, "Put with non-UTF-8 metadata", err, 400, 10025)
		default:
			if err != nil {
				t.Fatalf("Put(%q, metadata %q): %v", value, meta, err)
			}
		}
		if err != nil {
			if got, gerr := c.Values.Get(ctx, ns, key); gerr != nil || string(got) != "previous" {
				t.Fatalf("a refused put changed the value: %q, %v", got, gerr)
			}
			return
		}
		got, err := c.Values.Get(ctx, ns, key)
		if err != nil || !bytes.Equal(got, value) {
			t.Fatalf("Get = %q, %v; want %q", got, err, value)
		}
		wantMeta := meta != "" && !sameJSON([]byte(meta), []byte("null"))
		md, err := c.Keys.Metadata(ctx, ns, key)
		if err != nil || (md != nil) != wantMeta || (wantMeta && !sameJSON(md, []byte(meta))) {
			t.Fatalf("Metadata = %s, %v; want %s", md, err, meta)
		}
		page, err := c.Keys.List(ctx, ns, nil)
		if err != nil || len(page.Keys) != 1 || page.Keys[0].Name != key {
			t.Fatalf("List = %+v, %v", page, err)
		}
		if lm := page.Keys[0].Metadata; (lm != nil) != wantMeta || (wantMeta && !sameJSON(lm, []byte(meta))) {
			t.Fatalf("listed metadata %s; want %s", lm, meta)
		}
	})
}
