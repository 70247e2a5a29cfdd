package explorer

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/workerskv/workerskv"
)

// How much of a value the page shows; the download has all of it.
const (
	maxTextShown = 1 << 20
	maxHexShown  = 64 << 10
)

// valueData is the value page's template data.
type valueData struct {
	ID, Title    string
	Name         string
	Size         int
	View         string // "text", "json" or "hex"
	Views        []viewTab
	Shown        string // the value as the view shows it
	Truncated    bool
	ShownBytes   int
	IsJSON       bool
	Metadata     string // pretty JSON, "" for none
	Expiration   time.Time
	Now          time.Time
	TTLLeft      int64 // whole seconds left, 0 when it never expires
	DownloadLink string
	KeysLink     string
}

type viewTab struct {
	Name, Label, Link string
	Current           bool
}

// valuePage shows one key: its value (as text, JSON or hex), metadata and
// expiration, with forms to edit the metadata and expiration and to delete.
func (x *Explorer) valuePage(w http.ResponseWriter, r *http.Request, s *caller) {
	id := r.PathValue("id")
	name := r.URL.Query().Get("name")
	ctx, cancel := ctxFor(r)
	defer cancel()
	ns, err := s.client.Namespaces.Get(ctx, id)
	if err != nil {
		x.fail(w, r, err)
		return
	}
	e, err := s.client.KV(id).GetWithMetadata(ctx, name)
	if err != nil {
		x.fail(w, r, err)
		return
	}
	now := x.cfg.clock.Now()
	d := valueData{
		ID: ns.ID, Title: ns.Title, Name: name, Size: len(e.Value),
		IsJSON:       json.Valid(e.Value),
		Metadata:     prettyJSON(e.Metadata),
		Expiration:   e.Expiration,
		Now:          now,
		DownloadLink: x.nsLink(id, "raw", "name", name),
		KeysLink:     x.nsLink(id, ""),
	}
	if !e.Expiration.IsZero() {
		d.TTLLeft = max(int64(e.Expiration.Sub(now)/time.Second), 0)
	}
	d.View = r.URL.Query().Get("view")
	switch {
	case d.View == "text" || d.View == "hex" || (d.View == "json" && d.IsJSON):
	case d.IsJSON:
		d.View = "json"
	case looksBinary(e.Value):
		d.View = "hex"
	default:
		d.View = "text"
	}
	for _, v := range []struct{ name, label string }{{"text", "Text"}, {"json", "JSON"}, {"hex", "Hex"}} {
		if v.name == "json" && !d.IsJSON {
			continue
		}
		d.Views = append(d.Views, viewTab{Name: v.name, Label: v.label, Current: v.name == d.View,
			Link: x.nsLink(id, "key", "name", name, "view", v.name)})
	}
	d.Shown, d.ShownBytes, d.Truncated = show(e.Value, d.View)
	x.render(w, r, http.StatusOK, "value", name, d)
}

// show renders v for view, within the page's limits.
func show(v []byte, view string) (shown string, n int, truncated bool) {
	limit := maxTextShown
	if view == "hex" {
		limit = maxHexShown
	}
	n = min(len(v), limit)
	part := v[:n]
	switch view {
	case "hex":
		return hex.Dump(part), n, n < len(v)
	case "json":
		if n == len(v) {
			var b bytes.Buffer
			if json.Indent(&b, v, "", "  ") == nil {
				return b.String(), n, false
			}
		}
	}
	return strings.ToValidUTF8(string(part), "\uFFFD"), n, n < len(v)
}

// looksBinary reports whether v is not text: not UTF-8, or holding control
// characters other than tab, newline and carriage return.
func looksBinary(v []byte) bool {
	if !utf8.Valid(v) {
		return true
	}
	for _, r := range string(v) {
		if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
			return true
		}
	}
	return false
}

// prettyJSON indents metadata for display and editing ("" for none).
func prettyJSON(m json.RawMessage) string {
	if len(m) == 0 || string(m) == "null" {
		return ""
	}
	var b bytes.Buffer
	if err := json.Indent(&b, m, "", "  "); err != nil {
		return string(m)
	}
	return unescapeHTML(b.String())
}

// download serves a value's bytes as an attachment, never as a page.
func (x *Explorer) download(w http.ResponseWriter, r *http.Request, s *caller) {
	id, name := r.PathValue("id"), r.URL.Query().Get("name")
	ctx, cancel := ctxFor(r)
	defer cancel()
	v, err := s.client.KV(id).Get(ctx, name)
	if err != nil {
		x.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": fileName(name)}))
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Content-Length", strconv.Itoa(len(v)))
	_, _ = w.Write(v)
}

// fileName makes a download's file name from a key: path separators and
// control characters become "_".
func fileName(key string) string {
	f := strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || unicode.IsControl(r) || r == utf8.RuneError {
			return '_'
		}
		return r
	}, key)
	if f == "" || f == "." || f == ".." {
		f = "value"
	}
	return f
}

// editKey rewrites a key's metadata and expiration. The REST API has no
// call that changes them alone, so the value is read and written again with
// the new metadata and expiration: a write made in between is overwritten.
func (x *Explorer) editKey(w http.ResponseWriter, r *http.Request, s *caller) {
	id := r.PathValue("id")
	name := formValue(w, r, "name")
	back := x.nsLink(id, "key", "name", name)
	meta, err := parseMetadata(formValue(w, r, "metadata"))
	if err != nil {
		x.done(w, r, back, err, "")
		return
	}
	ctx, cancel := ctxFor(r)
	defer cancel()
	kv := s.client.KV(id)
	e, err := kv.GetWithMetadata(ctx, name)
	if err != nil {
		x.done(w, r, back, err, "")
		return
	}
	opts := &workerskv.PutOptions{}
	if meta != nil {
		opts.Metadata = meta
	}
	switch formValue(w, r, "expiry") {
	case "never":
	case "ttl":
		ttl, err := parseTTL(formValue(w, r, "ttl"))
		if err != nil || ttl == 0 {
			x.done(w, r, back, errBadForm("Enter the TTL in seconds (at least 60)."), "")
			return
		}
		opts.ExpirationTTL = ttl
	default: // "keep"
		// As a TTL on the emulator's clock: an absolute time would be checked
		// against this machine's clock, which a fake emulator clock is not.
		if !e.Expiration.IsZero() {
			left := e.Expiration.Sub(x.cfg.clock.Now())
			ttl := left.Truncate(time.Second)
			if ttl < left {
				ttl += time.Second
			}
			opts.ExpirationTTL = max(ttl, time.Second)
		}
	}
	if err := kv.Put(ctx, name, e.Value, opts); err != nil {
		x.done(w, r, back, err, "")
		return
	}
	x.done(w, r, back, nil, "Saved the metadata and expiration of %q.", name)
}

// deleteKey deletes the key shown on the value page.
func (x *Explorer) deleteKey(w http.ResponseWriter, r *http.Request, s *caller) {
	id := r.PathValue("id")
	name := formValue(w, r, "name")
	ctx, cancel := ctxFor(r)
	defer cancel()
	if err := s.client.KV(id).Delete(ctx, name); err != nil {
		x.done(w, r, x.nsLink(id, "key", "name", name), err, "")
		return
	}
	x.done(w, r, x.nsLink(id, ""), nil, "Deleted key %q.", name)
}

// now answers the emulator's current time, in Unix milliseconds, for the
// pages' countdowns. Like every page, it needs a token the API accepts.
func (x *Explorer) now(w http.ResponseWriter, r *http.Request, s *caller) {
	if err := x.verify(r, s); err != nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte("log in first\n"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, "{\"now\":%d}\n", x.cfg.clock.Now().UnixMilli())
}

// maxAdvance bounds one move of the clock.
const maxAdvance = 10 * 365 * 24 * time.Hour

// advanceClock moves a fake clock forward by the number of seconds given.
func (x *Explorer) advanceClock(w http.ResponseWriter, r *http.Request, _ *caller) {
	back := formValue(w, r, "back")
	a, ok := x.cfg.clock.(advancer)
	if !ok {
		x.done(w, r, back, errBadForm("This emulator runs on the system clock, which cannot be advanced."), "")
		return
	}
	d, err := time.ParseDuration(strings.TrimSpace(formValue(w, r, "by")))
	if err != nil || d <= 0 || d > maxAdvance {
		x.done(w, r, back, errBadForm("Advance the clock by a positive duration such as 90s, 10m or 2h."), "")
		return
	}
	a.Advance(d)
	x.done(w, r, back, nil, "Advanced the clock by %v.", d)
}
