package bench

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
)

// Pre-encoded Cloudflare v4 envelopes. The server answers every client identically and does no work
// beyond draining the request body, so the benchmarks measure client overhead.
var (
	envNull      = []byte(`{"success":true,"errors":[],"messages":[],"result":null}` + "\n")
	envBulk10000 = []byte(`{"success":true,"errors":[],"messages":[],"result":{"successful_key_count":10000,"unsuccessful_keys":[]}}` + "\n")
)

// cannedServer serves the fixtures: every value read returns the value it was built with, every value
// write the null-result envelope, the key listing its pre-encoded pages (selected by cursor), and bulk
// writes a pre-encoded bulk result.
type cannedServer struct {
	*httptest.Server
	prefix string // /client/v4/accounts/<id>/storage/kv/namespaces/<ns>/

	value      []byte   // served by GET values/...
	valueLen   string   // its Content-Length
	pages      [][]byte // key listing pages
	cursorPage map[string]int

	// record, when set, is called with each request (body read) instead of draining it: TestWire.
	mu     sync.Mutex
	record func(r *http.Request, body []byte)
}

func newCannedServer(value []byte) *cannedServer {
	s := &cannedServer{
		prefix:     "/client/v4/accounts/" + accountID + "/storage/kv/namespaces/" + namespaceID + "/",
		value:      value,
		valueLen:   strconv.Itoa(len(value)),
		cursorPage: map[string]int{},
	}
	for p := range listPages {
		s.pages = append(s.pages, listPageBody(p))
		s.cursorPage[pageCursor(p)] = p
	}
	s.Server = httptest.NewServer(s)
	return s
}

// BaseURL is the API base URL clients are pointed at (no trailing slash).
func (s *cannedServer) BaseURL() string { return s.URL + "/client/v4" }

func (s *cannedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	rec := s.record
	s.mu.Unlock()
	if rec != nil {
		body, _ := io.ReadAll(r.Body)
		rec(r, body)
	} else {
		io.Copy(io.Discard, r.Body)
	}
	h := w.Header()
	if r.Header.Get("Authorization") != "Bearer "+apiToken {
		h["Content-Type"] = jsonCT
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"success":false,"errors":[{"code":10000,"message":"Authentication error"}],"messages":[],"result":null}`))
		return
	}
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), s.prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	switch {
	case r.Method == http.MethodGet && strings.HasPrefix(rest, "values/"):
		h["Content-Type"] = octetCT
		h["Content-Length"] = []string{s.valueLen}
		w.Write(s.value)
	case r.Method == http.MethodPut && strings.HasPrefix(rest, "values/"):
		h["Content-Type"] = jsonCT
		w.Write(envNull)
	case r.Method == http.MethodGet && rest == "keys":
		p := 0
		if c := r.URL.Query().Get("cursor"); c != "" {
			var ok bool
			if p, ok = s.cursorPage[c]; !ok {
				http.Error(w, "bad cursor", http.StatusBadRequest)
				return
			}
		}
		h["Content-Type"] = jsonCT
		w.Write(s.pages[p])
	case r.Method == http.MethodPut && rest == "bulk":
		h["Content-Type"] = jsonCT
		w.Write(envBulk10000)
	default:
		http.NotFound(w, r)
	}
}

var (
	jsonCT  = []string{"application/json"}
	octetCT = []string{"application/octet-stream"}
)
