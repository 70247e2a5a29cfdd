package emulator_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Limits the hostile rows are built around (see the package doc).
const (
	valueBodyCap = 25<<20 + 64<<10
	bulkBodyCap  = 100_000_000
	jsonBodyCap  = 1 << 20
)

// countingBody yields a prefix and then a pattern over and over, n bytes in all, counting how many
// were read.
type countingBody struct {
	prefix  []byte
	pattern []byte
	off     int // in pattern
	left    int64
	read    int64
}

func newCountingBody(prefix, pattern string, n int64) *countingBody {
	return &countingBody{prefix: []byte(prefix), pattern: []byte(strings.Repeat(pattern, 1+4096/len(pattern))), left: n}
}

func (c *countingBody) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), c.left)]
	n := copy(p, c.prefix)
	c.prefix = c.prefix[n:]
	for n < len(p) {
		m := copy(p[n:], c.pattern[c.off:])
		c.off = (c.off + m) % len(c.pattern)
		n += m
	}
	c.left -= int64(len(p))
	c.read += int64(len(p))
	return len(p), nil
}

// state renders every namespace of the default account and every visible key in it.
func (h *harness) state() string {
	h.t.Helper()
	var nss []namespace
	wantOK(h.t, h.do(http.MethodGet, nsBase+"?per_page=1000&order=title", nil), &nss)
	var b strings.Builder
	for _, ns := range nss {
		fmt.Fprintf(&b, "%s %q %v\n", ns.ID, ns.Title, h.snapshot(ns.ID))
	}
	return b.String()
}

// hostileRow is one hostile request: it must get a clear 4xx with an error code, change nothing, and
// (when maxRead is set) read at most maxRead bytes of its body.
type hostileRow struct {
	name    string
	method  string
	target  string // {ns} stands for the namespace ID
	headers []string
	body    func() io.Reader // nil for none
	length  int64            // Content-Length to announce when not 0; -1 for unknown
	status  int
	code    int
	maxRead int64 // for a *countingBody: read at most this many bytes (-1: none at all)
}

func (h *harness) runHostile(t *testing.T, ns string, rows []hostileRow) {
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			h := &harness{t: t, e: h.e, clock: h.clock}
			before := h.state()
			var body io.Reader
			if row.body != nil {
				body = row.body()
			}
			req := httptest.NewRequest(row.method, strings.ReplaceAll(row.target, "{ns}", ns), body)
			if row.length != 0 {
				req.ContentLength = row.length
			}
			req.Header.Set("Authorization", "Bearer kvemulator-token")
			for i := 0; i+1 < len(row.headers); i += 2 {
				req.Header.Set(row.headers[i], row.headers[i+1])
			}
			rec := httptest.NewRecorder()
			h.e.ServeHTTP(rec, req)
			wantError(t, rec, row.status, row.code, "")
			if cb, ok := body.(*countingBody); ok && row.maxRead != 0 && cb.read > max(row.maxRead, 0) {
				t.Errorf("read %d bytes of the body, want at most %d", cb.read, max(row.maxRead, 0))
			}
			if after := h.state(); after != before {
				t.Fatalf("state changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

func text(s string) func() io.Reader { return func() io.Reader { return strings.NewReader(s) } }

func nested(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }

// mpBody frames metadata and a value as the API's multipart body, boundary "B".
func mpBody(metadata, value string) string {
	return "--B\r\nContent-Disposition: form-data; name=\"metadata\"\r\nContent-Type: application/json\r\n\r\n" +
		metadata + "\r\n--B\r\nContent-Disposition: form-data; name=\"value\"\r\n\r\n" + value + "\r\n--B--\r\n"
}

const multipartType = "multipart/form-data; boundary=B"

// TestHostileBodies: oversized, deeply nested, huge, truncated and non-UTF-8 bodies are refused with
// a clear 4xx and an error code, before being read whole, and change nothing.
func TestHostileBodies(t *testing.T) {
	h := newHarness(t)
	ns := h.createNS("hostile")
	wantOK(t, h.doJSON(http.MethodPut, nsBase+"/"+ns+"/bulk", fuzzSetup), nil)
	values, bulk, bulkDel, bulkGet := nsBase+"/{ns}/values/", nsBase+"/{ns}/bulk", nsBase+"/{ns}/bulk/delete", nsBase+"/{ns}/bulk/get"
	counting := func(prefix, pattern string, n int64) func() io.Reader {
		return func() io.Reader { return newCountingBody(prefix, pattern, n) }
	}
	// Bulk items padded to 20,000 bytes with white space: the 100,000,000-byte cap comes before the
	// 10,000-item one, and the decoder holds one item at a time.
	bigItem := `{"key":"a","value":"v"}` + strings.Repeat(" ", 20000-24) + ","
	mpHead := "--B\r\nContent-Disposition: form-data; name=\"value\"\r\n\r\n"
	whole := mpBody(`{"m":1}`, "value")
	rows := []hostileRow{
		// Oversized bodies: refused on Content-Length before any byte is read, or cut off at the cap.
		{name: "value put, Content-Length over the cap", method: "PUT", target: values + "a",
			body: counting("", "x", valueBodyCap+1), length: valueBodyCap + 1, status: 413, code: 10024, maxRead: -1},
		{name: "value put, unknown length over the cap", method: "PUT", target: values + "a",
			body: counting("", "x", 2*valueBodyCap), length: -1, status: 413, code: 10024, maxRead: valueBodyCap + 1},
		{name: "value put multipart, unknown length over the cap", method: "PUT", target: values + "a", headers: []string{"Content-Type", multipartType},
			body: counting(mpHead, "x", 2*valueBodyCap), length: -1, status: 413, code: 10024, maxRead: valueBodyCap + 1},
		{name: "value put, 25 MiB + 1 byte", method: "PUT", target: values + "a",
			body: counting("", "x", 25<<20+1), status: 413, code: 10024},
		{name: "bulk write, Content-Length over the cap", method: "PUT", target: bulk,
			body: counting("[", " ", bulkBodyCap+1), length: bulkBodyCap + 1, status: 413, code: 10024, maxRead: -1},
		{name: "bulk write, unknown length over the cap", method: "PUT", target: bulk,
			body: counting("[", bigItem, bulkBodyCap+1<<20), length: -1, status: 413, code: 10024, maxRead: bulkBodyCap + 1},
		{name: "bulk delete, Content-Length over the cap", method: "POST", target: bulkDel,
			body: counting("[", " ", bulkBodyCap+1), length: bulkBodyCap + 1, status: 413, code: 10024, maxRead: -1},
		{name: "bulk delete (DELETE), Content-Length over the cap", method: "DELETE", target: bulk,
			body: counting("[", " ", bulkBodyCap+1), length: bulkBodyCap + 1, status: 413, code: 10024, maxRead: -1},
		{name: "namespace create, Content-Length over the cap", method: "POST", target: nsBase,
			body: counting(`{"title":"`, "x", jsonBodyCap+1), length: jsonBodyCap + 1, status: 413, code: 10024, maxRead: -1},
		{name: "namespace create, unknown length over the cap", method: "POST", target: nsBase,
			body: counting(`{"title":"`, "x", 8*jsonBodyCap), length: -1, status: 413, code: 10024, maxRead: jsonBodyCap + 1},
		{name: "namespace create, white space over the cap", method: "POST", target: nsBase,
			body: counting(`{"title":"t"}`, " ", 8*jsonBodyCap), length: -1, status: 413, code: 10024, maxRead: jsonBodyCap + 1},
		{name: "namespace rename, unknown length over the cap", method: "PUT", target: nsBase + "/{ns}",
			body: counting(`{"title":"`, "x", 8*jsonBodyCap), length: -1, status: 413, code: 10024, maxRead: jsonBodyCap + 1},
		{name: "bulk get, unknown length over the cap", method: "POST", target: bulkGet,
			body: counting(`{"keys":["`, "x", 8*jsonBodyCap), length: -1, status: 413, code: 10024, maxRead: jsonBodyCap + 1},
		// Deeply nested and huge metadata.
		{name: "multipart metadata nested 10,001 levels", method: "PUT", target: values + "a", headers: []string{"Content-Type", multipartType},
			body: text(mpBody(nested(10001), "v")), status: 400, code: 10147},
		{name: "multipart metadata nested 10,000 levels", method: "PUT", target: values + "a", headers: []string{"Content-Type", multipartType},
			body: text(mpBody(nested(10000), "v")), status: 400, code: 10025},
		{name: "multipart metadata of 1 MiB", method: "PUT", target: values + "a", headers: []string{"Content-Type", multipartType},
			body: counting("--B\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n\"", "x", 1<<20), status: 400, code: 10025, maxRead: 128 << 10},
		{name: "multipart metadata of 1,025 bytes", method: "PUT", target: values + "a", headers: []string{"Content-Type", multipartType},
			body: text(mpBody(`"`+strings.Repeat("x", 1023)+`"`, "v")), status: 400, code: 10025},
		{name: "bulk metadata nested 10,001 levels", method: "PUT", target: bulk,
			body: text(`[{"key":"a","value":"v","metadata":` + nested(10001) + `}]`), status: 400, code: 10027},
		{name: "bulk metadata nested 9,990 levels", method: "PUT", target: bulk,
			body: text(`[{"key":"a","value":"v","metadata":` + nested(9990) + `}]`), status: 400, code: 10025},
		{name: "bulk metadata of 2 MiB", method: "PUT", target: bulk,
			body: text(`[{"key":"a","value":"v","metadata":"` + strings.Repeat("x", 2<<20) + `"}]`), status: 400, code: 10025},
		{name: "bulk get member nested 10,001 levels", method: "POST", target: bulkGet,
			body: text(`{"keys":["a"],"x":` + nested(10001) + `}`), status: 400, code: 10027},
		{name: "namespace create title nested", method: "POST", target: nsBase, body: text(`{"title":` + nested(10001) + `}`), status: 400, code: 10027},
		// Truncated and malformed multipart bodies.
		{name: "multipart cut in a header", method: "PUT", target: values + "a", headers: []string{"Content-Type", multipartType},
			body: text(whole[:20]), status: 400, code: 10027},
		{name: "multipart cut in the value", method: "PUT", target: values + "a", headers: []string{"Content-Type", multipartType},
			body: text(whole[:len(whole)-12]), status: 400, code: 10027},
		{name: "multipart cut before the closing boundary", method: "PUT", target: values + "a", headers: []string{"Content-Type", multipartType},
			body: text(strings.TrimSuffix(whole, "--B--\r\n")), status: 400, code: 10027},
		{name: "multipart cut after a boundary line", method: "PUT", target: values + "a", headers: []string{"Content-Type", multipartType},
			body: text(strings.TrimSuffix(whole, "--B--\r\n") + "--B\r\n"), status: 400, code: 10027},
		{name: "multipart ending in a line that only looks like the closing boundary", method: "PUT", target: values + "a",
			headers: []string{"Content-Type", multipartType},
			body:    text("--B\nContent-Disposition: form-data; name=\"value\"\n\n--B--0"), status: 400, code: 10027},
		{name: "multipart cut after a boundary line, with an LF close delimiter inside CRLF data", method: "PUT", target: values + "a",
			headers: []string{"Content-Type", multipartType},
			body:    text("--B\r\nContent-Disposition: form-data; name=\"value\"\r\n\r\nab\n--B--cd\r\n--B\r\n"), status: 400, code: 10027},
		{name: "multipart empty", method: "PUT", target: values + "a", headers: []string{"Content-Type", multipartType},
			body: text(""), status: 400, code: 10027},
		{name: "multipart without a boundary", method: "PUT", target: values + "a", headers: []string{"Content-Type", "multipart/form-data"},
			body: text(whole), status: 400, code: 10027},
		{name: "multipart with another boundary", method: "PUT", target: values + "a", headers: []string{"Content-Type", "multipart/form-data; boundary=C"},
			body: text(whole), status: 400, code: 10027},
		{name: "multipart without a value part", method: "PUT", target: values + "a", headers: []string{"Content-Type", multipartType},
			body: text("--B\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n{}\r\n--B--\r\n"), status: 400, code: 10027},
		// Bodies that are not UTF-8, or not one JSON value.
		{name: "title not UTF-8 (create)", method: "POST", target: nsBase, body: text("{\"title\":\"t\xff\"}"), status: 400, code: 10027},
		{name: "title overlong UTF-8 (create)", method: "POST", target: nsBase, body: text("{\"title\":\"\xc0\xaf\"}"), status: 400, code: 10027},
		{name: "title not UTF-8 (rename)", method: "PUT", target: nsBase + "/{ns}", body: text("{\"title\":\"\xed\xa0\x80\"}"), status: 400, code: 10027},
		{name: "title with data after it", method: "POST", target: nsBase, body: text(`{"title":"t"} {"title":"u"}`), status: 400, code: 10027},
		{name: "title member in capitals", method: "POST", target: nsBase, body: text(`{"TITLE":"t"}`), status: 400, code: 10019},
		{name: "bulk write key not UTF-8", method: "PUT", target: bulk, body: text("[{\"key\":\"\xff\",\"value\":\"v\"}]"), status: 400, code: 10027},
		{name: "bulk write value not UTF-8", method: "PUT", target: bulk, body: text("[{\"key\":\"a\",\"value\":\"\xfe\"}]"), status: 400, code: 10027},
		{name: "bulk delete key not UTF-8", method: "POST", target: bulkDel, body: text("[\"a\",\"\xff\"]"), status: 400, code: 10027},
		{name: "bulk get key not UTF-8", method: "POST", target: bulkGet, body: text("{\"keys\":[\"\xff\"]}"), status: 400, code: 10027},
		{name: "bulk write data after the array", method: "PUT", target: bulk, body: text(`[{"key":"a","value":"v"}] [`), status: 400, code: 10027},
		{name: "bulk write Key and Value in capitals", method: "PUT", target: bulk, body: text(`[{"Key":"a","Value":"v"}]`), status: 400, code: 10027},
		{name: "bulk write expiration as a string", method: "PUT", target: bulk, body: text(`[{"key":"a","value":"v","expiration_ttl":"600"}]`), status: 400, code: 10033},
		// Seconds are numbers of at most 2^53, judged by value whatever the number's form.
		{name: "bulk write expiration 1e16 written out", method: "PUT", target: bulk, body: text(`[{"key":"a","value":"v","expiration":10000000000000000}]`), status: 400, code: 10033},
		{name: "bulk write expiration 1e16", method: "PUT", target: bulk, body: text(`[{"key":"a","value":"v","expiration":1e16}]`), status: 400, code: 10033},
		{name: "bulk write expiration 2^53+1", method: "PUT", target: bulk, body: text(`[{"key":"a","value":"v","expiration":9007199254740993}]`), status: 400, code: 10033},
		{name: "bulk write expiration_ttl 2^53+1", method: "PUT", target: bulk, body: text(`[{"key":"a","value":"v","expiration_ttl":9007199254740993}]`), status: 400, code: 10033},
		{name: "value put expiration 1e16 written out", method: "PUT", target: values + "a?expiration=10000000000000000", body: text("v"), status: 400, code: 10033},
		{name: "value put expiration_ttl 2^53+1", method: "PUT", target: values + "a?expiration_ttl=9007199254740993", body: text("v"), status: 400, code: 10033},
	}
	h.runHostile(t, ns, rows)
}
