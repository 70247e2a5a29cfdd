package explorer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/workerskv/workerskv"
)

// listLimits are the page sizes offered for the key list (the API allows
// 10 to 1000); the first is the default.
var listLimits = []int{50, 10, 100, 1000}

// maxValueBytes is the largest value the API accepts (25 MiB).
const maxValueBytes = 25 << 20

// keysData is the key list page's template data.
type keysData struct {
	ID, Title string
	Prefix    string
	Limit     int
	Limits    []int
	Keys      []keyRow
	NextLink  string
	FirstLink string
	Now       time.Time
}

type keyRow struct {
	Name       string
	Link       string
	Expiration time.Time
	Metadata   string
}

// keysPage lists one page of a namespace's keys, optionally by prefix.
func (x *Explorer) keysPage(w http.ResponseWriter, r *http.Request, s *caller) {
	id := r.PathValue("id")
	q := r.URL.Query()
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || !slices.Contains(listLimits, limit) {
		limit = listLimits[0]
	}
	prefix, cursor := q.Get("prefix"), q.Get("cursor")
	ctx, cancel := ctxFor(r)
	defer cancel()
	ns, err := s.client.Namespaces.Get(ctx, id)
	if err != nil {
		x.fail(w, r, err)
		return
	}
	p, err := s.client.Keys.List(ctx, id, &workerskv.ListKeysOptions{Prefix: prefix, Limit: limit, Cursor: cursor})
	if err != nil {
		x.fail(w, r, err)
		return
	}
	d := keysData{ID: ns.ID, Title: ns.Title, Prefix: prefix, Limit: limit, Limits: listLimits, Now: x.cfg.clock.Now()}
	ls := strconv.Itoa(limit)
	for _, k := range p.Keys {
		d.Keys = append(d.Keys, keyRow{
			Name:       k.Name,
			Link:       x.nsLink(id, "key", "name", k.Name),
			Expiration: k.Expiration,
			Metadata:   shorten(compactJSON(k.Metadata), 160),
		})
	}
	if p.Cursor != "" {
		d.NextLink = x.nsLink(id, "", "prefix", prefix, "limit", ls, "cursor", p.Cursor)
	}
	if cursor != "" {
		d.FirstLink = x.nsLink(id, "", "prefix", prefix, "limit", ls)
	}
	x.render(w, r, http.StatusOK, "keys", ns.Title, d)
}

// compactJSON returns metadata as one line of JSON ("" for none).
func compactJSON(m json.RawMessage) string {
	if len(m) == 0 || string(m) == "null" {
		return ""
	}
	var b bytes.Buffer
	if err := json.Compact(&b, m); err != nil {
		return string(m)
	}
	return unescapeHTML(b.String())
}

// unescapeHTML turns the escapes \u003c, \u003e and \u0026 of a JSON
// text back into the characters <, > and &. Go's encoder writes them in
// place of those characters, so metadata written as {"a":"<b>"} comes back
// from the API as {"a":"\u003cb\u003e"}; the page shows what was written
// (and escapes it for HTML when it renders it). The JSON means the same.
func unescapeHTML(s string) string {
	if !strings.Contains(s, `\u`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		if s[i+1] == 'u' && i+6 <= len(s) {
			switch strings.ToLower(s[i+2 : i+6]) {
			case "003c":
				b.WriteByte('<')
				i += 5
				continue
			case "003e":
				b.WriteByte('>')
				i += 5
				continue
			case "0026":
				b.WriteByte('&')
				i += 5
				continue
			}
		}
		// Any other escape, \\ included, is copied whole.
		b.WriteString(s[i : i+2])
		i++
	}
	return b.String()
}

// errBadForm is an input mistake caught before calling the API.
type errBadForm string

func (e errBadForm) Error() string { return string(e) }

// parseMetadata reads a metadata field: empty means none; anything else
// must be JSON.
func parseMetadata(s string) (json.RawMessage, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	if !json.Valid([]byte(s)) {
		return nil, errBadForm("Metadata must be JSON, for example {\"owner\": \"web\"}.")
	}
	return json.RawMessage(s), nil
}

// parseTTL reads a TTL field in seconds: empty means none.
func parseTTL(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > 100*365*24*3600 {
		return 0, errBadForm("The TTL must be a whole number of seconds (at least 60).")
	}
	return time.Duration(n) * time.Second, nil
}

// putValue writes a new value (or replaces one) from the put form: the key,
// the value typed in or an uploaded file, an optional TTL in seconds and
// optional JSON metadata.
func (x *Explorer) putValue(w http.ResponseWriter, r *http.Request, s *caller) {
	id := r.PathValue("id")
	back := x.nsLink(id, "")
	r.Body = http.MaxBytesReader(w, r.Body, maxValueBytes+1<<20)
	if err := r.ParseMultipartForm(1 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		x.done(w, r, back, errBadForm("The form could not be read (a value may be at most 25 MiB)."), "")
		return
	} else if err != nil {
		_ = r.ParseForm()
	}
	key := r.PostFormValue("key")
	value := []byte(r.PostFormValue("value"))
	if f, hdr, err := r.FormFile("file"); err == nil {
		if hdr.Size > 0 {
			value, err = io.ReadAll(io.LimitReader(f, maxValueBytes+1))
			if err != nil {
				_ = f.Close()
				x.done(w, r, back, errBadForm("The uploaded file could not be read."), "")
				return
			}
		}
		_ = f.Close()
	}
	ttl, err := parseTTL(r.PostFormValue("ttl"))
	if err != nil {
		x.done(w, r, back, err, "")
		return
	}
	meta, err := parseMetadata(r.PostFormValue("metadata"))
	if err != nil {
		x.done(w, r, back, err, "")
		return
	}
	opts := &workerskv.PutOptions{ExpirationTTL: ttl}
	if meta != nil {
		opts.Metadata = meta
	}
	ctx, cancel := ctxFor(r)
	defer cancel()
	if err := s.client.KV(id).Put(ctx, key, value, opts); err != nil {
		x.done(w, r, back, err, "")
		return
	}
	x.done(w, r, x.nsLink(id, "key", "name", key), nil, "Stored %d bytes at key %q.", len(value), key)
}

// deleteKeys deletes the keys selected in the key list, with the bulk API.
func (x *Explorer) deleteKeys(w http.ResponseWriter, r *http.Request, s *caller) {
	id := r.PathValue("id")
	back := formValue(w, r, "back")
	names := r.PostForm["name"]
	if len(names) == 0 {
		x.done(w, r, back, errBadForm("Select the keys to delete first."), "")
		return
	}
	ctx, cancel := ctxFor(r)
	defer cancel()
	res, err := s.client.KV(id).DeleteMany(ctx, names, nil)
	if err != nil {
		x.done(w, r, back, err, "")
		return
	}
	if n := len(res.Unsuccessful) + len(res.Unconfirmed); n > 0 {
		x.done(w, r, back, errBadForm(fmt.Sprintf("Deleted %d keys; %d could not be deleted.", res.Succeeded, n)), "")
		return
	}
	x.done(w, r, back, nil, "Deleted %d %s.", res.Succeeded, plural(res.Succeeded, "key", "keys"))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
