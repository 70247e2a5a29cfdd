package explorer

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/workerskv/workerskv"
)

// pageSet holds one parsed template per page, each with the shared layout.
type pageSet map[string]*template.Template

// pageNames are the pages in templates/, each NAME.html defining "content".
var pageNames = []string{"login", "namespaces", "keys", "value", "error"}

// loadPages parses the embedded templates. They are part of the binary and
// covered by tests, so a parse error is a build mistake; it still does not
// panic: the page is left out and answered with a plain error.
func loadPages() pageSet {
	ps := make(pageSet, len(pageNames))
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/"+name+".html")
		if err == nil {
			ps[name] = t
		}
	}
	return ps
}

var funcs = template.FuncMap{
	"remaining": remaining,
	"unixMilli": func(t time.Time) int64 { return t.UnixMilli() },
	"utc":       func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
}

// layoutData is what every page's layout reads; Page is the page's own data.
type layoutData struct {
	Base     string // the explorer's prefix, ending in "/"
	Title    string
	LoggedIn bool
	Flash    *flash
	Now      time.Time // the emulator's time
	Clock    bool      // whether the clock can be advanced
	Back     string    // this page's path, for actions that come back to it
	Page     any
}

// render writes page name with data, status and the common layout.
func (x *Explorer) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	t, ok := x.pages[name]
	if !ok {
		http.Error(w, "page "+name+" is missing", http.StatusInternalServerError)
		return
	}
	back := x.cfg.prefix + strings.TrimPrefix(r.URL.Path, "/")
	if r.URL.RawQuery != "" {
		back += "?" + r.URL.RawQuery
	}
	_, canAdvance := x.cfg.clock.(advancer)
	ld := layoutData{
		Base:     x.cfg.prefix,
		Title:    title,
		LoggedIn: name != "login" && x.token(r) != "",
		Flash:    x.takeFlash(w, r),
		Now:      x.cfg.clock.Now(),
		Clock:    canAdvance,
		Back:     back,
		Page:     data,
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, ld); err != nil {
		http.Error(w, "rendering "+name+" failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// link returns the explorer's path p (relative to its prefix) with the
// query parameters given as name, value pairs; empty values are left out.
func (x *Explorer) link(p string, kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Add(kv[i], kv[i+1])
		}
	}
	s := x.cfg.prefix + p
	if len(q) > 0 {
		s += "?" + q.Encode()
	}
	return s
}

// nsLink returns the path of namespace id's page p ("" for its key list).
func (x *Explorer) nsLink(id, p string, kv ...string) string {
	s := "ns/" + url.PathEscape(id)
	if p != "" {
		s += "/" + p
	}
	return x.link(s, kv...)
}

// flash is a one-time message shown on the next page after an action.
type flash struct {
	Error bool
	Text  string
}

// setFlash stores a message for the next page rendered.
func (x *Explorer) setFlash(w http.ResponseWriter, r *http.Request, isErr bool, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if len(msg) > 600 {
		msg = msg[:600] + "…"
	}
	kind := "ok:"
	if isErr {
		kind = "err:"
	}
	x.setCookie(w, r, cookieName(r)+"-flash", base64.RawURLEncoding.EncodeToString([]byte(kind+msg)), 60)
}

// takeFlash returns the stored message, if any, and clears it.
func (x *Explorer) takeFlash(w http.ResponseWriter, r *http.Request) *flash {
	name := cookieName(r) + "-flash"
	c, err := r.Cookie(name)
	if err != nil {
		return nil
	}
	x.setCookie(w, r, name, "", -1)
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return nil
	}
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	if rest, ok := strings.CutPrefix(s, "err:"); ok {
		return &flash{Error: true, Text: rest}
	}
	if rest, ok := strings.CutPrefix(s, "ok:"); ok {
		return &flash{Text: rest}
	}
	return nil
}

// done ends an action: it stores msg and sends the browser to back, or to
// fallback when back is not a path of the explorer.
func (x *Explorer) done(w http.ResponseWriter, r *http.Request, back string, err error, format string, args ...any) {
	switch {
	case err != nil && unauthorized(err):
		x.setCookie(w, r, cookieName(r), "", -1)
		http.Redirect(w, r, x.link("login"), http.StatusSeeOther)
		return
	case err != nil:
		x.setFlash(w, r, true, "%s", describe(err))
	case format != "":
		x.setFlash(w, r, false, format, args...)
	}
	http.Redirect(w, r, x.localPath(back), http.StatusSeeOther)
}

// fail answers a page whose API calls failed: a login page for a token the
// API no longer accepts, otherwise an error page with the API's message.
func (x *Explorer) fail(w http.ResponseWriter, r *http.Request, err error) {
	if unauthorized(err) {
		x.setCookie(w, r, cookieName(r), "", -1)
		x.needLogin(w, r)
		return
	}
	status := http.StatusBadGateway
	switch {
	case errors.Is(err, workerskv.ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, workerskv.ErrInvalidInput), errors.Is(err, workerskv.ErrForbidden):
		status = http.StatusBadRequest
	}
	x.render(w, r, status, "error", "Error", describe(err))
}

func (x *Explorer) notFound(w http.ResponseWriter, r *http.Request) {
	x.render(w, r, http.StatusNotFound, "error", "Not found", "There is no page here.")
}

// describe turns an API error into a sentence for a person.
func describe(err error) string {
	switch {
	case errors.Is(err, workerskv.ErrNamespaceNotFound):
		return "That namespace does not exist (any more)."
	case errors.Is(err, workerskv.ErrKeyNotFound):
		return "That key does not exist (any more): it was deleted or it expired."
	}
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "workerskv: ")
	return msg
}

// remaining formats how long is left from now until t: "2h 5m 3s", or
// "expired".
func remaining(t, now time.Time) string {
	d := t.Sub(now)
	if d <= 0 {
		return "expired"
	}
	d = d.Round(time.Second)
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	h := d / time.Hour
	d -= h * time.Hour
	m := d / time.Minute
	d -= m * time.Minute
	s := d / time.Second
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh %dm", days, h, m)
	case h > 0:
		return fmt.Sprintf("%dh %dm %ds", h, m, s)
	case m > 0:
		return fmt.Sprintf("%dm %ds", m, s)
	}
	return fmt.Sprintf("%ds", s)
}

// shorten cuts s to at most n bytes on a rune boundary, marking the cut.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
