package workerskv_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/workerskv/workerskv"
)

// exLine is one line of the export format.
type exLine struct {
	Key        string          `json:"key"`
	Value      string          `json:"value"`
	Base64     bool            `json:"base64"`
	Expiration int64           `json:"expiration"`
	Metadata   json.RawMessage `json:"metadata"`
}

// exPairs makes n pairs with metadata on some, expirations on others, binary values on every 20th.
func exPairs(n int, now time.Time) []workerskv.BulkPair {
	rng := rand.New(rand.NewPCG(7, 8))
	pairs := make([]workerskv.BulkPair, n)
	for i := range pairs {
		p := workerskv.BulkPair{Key: fmt.Sprintf("rec/%05d", i), Value: []byte(fmt.Sprintf("record %d: \"ok\"\n", i))}
		switch {
		case i%20 == 0:
			p.Value = make([]byte, 16+i%64)
			for j := range p.Value {
				p.Value[j] = byte(rng.Uint32())
			}
			p.Value[0] = 0xff // never valid UTF-8
		case i%97 == 0:
			p.Value = nil
		}
		if i%3 == 0 {
			p.Metadata = map[string]any{"i": i, "tag": "x y", "nested": map[string]bool{"z": i%2 == 0}}
		}
		if i%5 == 0 {
			p.Expiration = now.Add(time.Hour + time.Duration(i)*time.Second)
		}
		pairs[i] = p
	}
	return pairs
}

// TestExportImportRoundTrip: 10,001 keys with metadata, expirations and binary values (11 pages of
// keys, and one more pair than a bulk write takes) are exported, imported into another namespace in two
// requests and exported again: the two exports are identical, and the copy holds the same bytes.
func TestExportImportRoundTrip(t *testing.T) {
	t.Parallel()
	srv, src := bkNamespace(t)
	c, ctx := srv.Client, t.Context()
	pairs := exPairs(10_001, srv.Clock.Now())
	res, err := c.Bulk.Put(ctx, src, pairs, nil)
	bkCheckComplete(t, "Put", res, err, len(pairs))

	var first bytes.Buffer
	if err := c.Bulk.Export(ctx, src, &first, nil); err != nil {
		t.Fatal(err)
	}
	exported := first.Bytes()
	sc := bufio.NewScanner(bytes.NewReader(exported))
	n := 0
	for ; sc.Scan(); n++ {
		var l exLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		p := pairs[n]
		value := []byte(l.Value)
		if l.Base64 {
			value, _ = base64.StdEncoding.DecodeString(l.Value)
		}
		if l.Key != p.Key || !bytes.Equal(value, p.Value) || l.Base64 == utf8.Valid(p.Value) ||
			(l.Expiration != 0) != !p.Expiration.IsZero() || (l.Expiration != 0 && l.Expiration != p.Expiration.Unix()) ||
			(l.Metadata != nil) != (p.Metadata != nil) {
			t.Fatalf("line %d = %s, for %+v", n+1, sc.Bytes(), p)
		}
	}
	if n != len(pairs) {
		t.Fatalf("%d lines exported, want %d", n, len(pairs))
	}

	dst, err := c.Namespaces.Create(ctx, "copy")
	if err != nil {
		t.Fatal(err)
	}
	var reports int
	res, err = c.Bulk.Import(ctx, dst.ID, bytes.NewReader(exported), &workerskv.BulkOptions{Progress: func(p workerskv.BulkProgress) {
		reports++
		if p.Total != -1 || p.Requests != reports {
			t.Errorf("progress %+v", p)
		}
	}})
	bkCheckComplete(t, "Import", res, err, len(pairs))
	if reports != 2 {
		t.Errorf("%d progress reports", reports)
	}
	var second bytes.Buffer
	if err := c.Bulk.Export(ctx, dst.ID, &second, nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(second.Bytes(), exported) {
		t.Errorf("the export of the copy (%d bytes) differs from the original's (%d bytes)", second.Len(), len(exported))
	}
	for _, i := range []int{0, 20, 9_980, 10_000, 3, 5} {
		v, err := c.Values.Get(ctx, dst.ID, pairs[i].Key)
		if err != nil || !bytes.Equal(v, pairs[i].Value) {
			t.Errorf("copy of %s = %x, %v", pairs[i].Key, v, err)
		}
	}
}

// TestExportPrefix: only the keys that start with the prefix are exported, each line as Export writes
// it.
func TestExportPrefix(t *testing.T) {
	t.Parallel()
	srv, ns := bkNamespace(t)
	c, ctx := srv.Client, t.Context()
	pairs := []workerskv.BulkPair{{Key: "a/1", Value: []byte("x")}, {Key: "b/1", Value: []byte{0xff}}, {Key: "b/2", Value: []byte("y")}, {Key: "c", Value: []byte("z")}}
	res, err := c.Bulk.Put(ctx, ns, pairs, nil)
	bkCheckComplete(t, "Put", res, err, len(pairs))
	var all, part bytes.Buffer
	if err := c.Bulk.Export(ctx, ns, &all, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Bulk.Export(ctx, ns, &part, &workerskv.ExportOptions{Prefix: "b/"}); err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(all.Bytes(), []byte("\n"))
	if want := string(lines[1]) + string(lines[2]); part.String() != want {
		t.Errorf("Export with Prefix b/ =\n%s\nwant the b/ lines of Export:\n%s", part.String(), want)
	}
}

// TestImportInput: keys expiring in under 60 s cannot be written and are reported unsuccessful; bad
// lines stop the import with an error naming the line; the pairs read before it but not yet sent are
// reported unconfirmed.
func TestImportInput(t *testing.T) {
	t.Parallel()
	srv, ns := bkNamespace(t)
	c, ctx := srv.Client, t.Context()
	soon, later := time.Now().Add(30*time.Second).Unix(), time.Now().Add(time.Hour).Unix()
	in := fmt.Sprintf(`{"key":"a","value":"1"}

{"key":"soon","value":"2","expiration":%d}
{"key":"later","value":"3","expiration":%d,"metadata":{"k":"v"}}
{"key":"bin","value":"/wA=","base64":true}
`, soon, later)
	res, err := c.Bulk.Import(ctx, ns, strings.NewReader(in), nil)
	if err != nil || res.Succeeded != 3 || len(res.Unsuccessful) != 1 || res.Unsuccessful[0] != "soon" {
		t.Fatalf("Import = %+v, %v", res, err)
	}
	if v, err := c.Values.Get(ctx, ns, "bin"); err != nil || !bytes.Equal(v, []byte{0xff, 0}) {
		t.Errorf("bin = %x, %v", v, err)
	}
	if m, err := c.Keys.Metadata(ctx, ns, "later"); err != nil || string(m) != `{"k":"v"}` {
		t.Errorf("later's metadata = %s, %v", m, err)
	}
	for _, bad := range []string{
		`{"key":"x","value":"1"}` + "\n" + `{"key":"y","value":` + "\n",
		`{"key":"x","value":"1"}` + "\n" + `{"key":"y","value":"!!","base64":true}` + "\n",
		`{"key":"x","value":"1"}` + "\n" + `{"key":"","value":"2"}` + "\n",
	} {
		res, err := c.Bulk.Import(ctx, ns, strings.NewReader(bad), nil)
		if err == nil || (!strings.Contains(err.Error(), "line 2") && !errors.Is(err, workerskv.ErrInvalidInput)) {
			t.Errorf("Import(%q): err %v", bad, err)
		}
		if res == nil || res.Succeeded != 0 || len(res.Unconfirmed) != 1 || res.Unconfirmed[0] != "x" {
			t.Errorf("Import(%q) = %+v", bad, res)
		}
	}
}
