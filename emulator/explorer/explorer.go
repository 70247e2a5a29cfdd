// Package explorer is a web explorer for the Workers KV emulator: a few
// server-rendered pages to see and change what the emulator holds while you
// work. It lists namespaces (create, rename, delete), browses keys by prefix
// a page at a time, shows a value as text, pretty-printed JSON or a hex dump
// with a download link, shows and edits a key's metadata and expiration
// (with a countdown on the emulator's clock), puts new values with a TTL and
// metadata, and deletes one key or a selection.
//
// The explorer holds no state of its own and knows nothing of the emulator's
// insides: every page is made of calls to the KV REST API, made with the
// workerskv library through an in-process transport that hands each request
// to the API handler directly, without a socket. What it can do is what the
// API allows, and it authenticates exactly as the API does.
//
// The kvemulator command serves the explorer at the root of its address and
// prints its URL. To use it in-process, next to an emulator of your own,
// Combined serves both on one handler:
//
//	e := emulator.New(emulator.WithClock(clock))
//	srv := httptest.NewServer(explorer.Combined(e, explorer.WithClock(clock)))
//	// API: srv.URL + "/client/v4"; explorer: srv.URL + "/", token emulator.DefaultAPIToken
//
// The same works for a kvtest server (explorer.Combined(srv.Emulator,
// explorer.WithClock(srv.Clock))), to look at a test's state while the
// test waits (for a key press, say). New gives the explorer alone, to mount next to the
// API in a mux of your own (see WithPrefix).
//
// # Security
//
// The explorer is meant for a developer's own machine, but it is not an open
// door. Every page and action needs the API token the emulator accepts: the
// login form checks it with an API call and keeps it in an HttpOnly,
// SameSite=Strict cookie, and each API call the explorer makes carries it.
// State-changing requests are refused when a browser says they come from
// another origin (http.CrossOriginProtection), pages may not be framed, and
// a Content-Security-Policy allows only the explorer's own embedded script
// and style sheet. Every key, value, title and metadata string is escaped by
// html/template when it is shown; a value is only ever served raw as a
// download (Content-Disposition: attachment).
package explorer

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/workerskv/workerskv/emulator"
)

//go:embed templates/*.html static/*
var assets embed.FS

// Option configures an Explorer; pass options to New.
type Option func(*config)

type config struct {
	account string
	prefix  string
	clock   emulator.Clock
}

// WithAccountID sets the account whose namespaces the explorer shows. The
// default is emulator.DefaultAccountID.
func WithAccountID(id string) Option {
	return func(c *config) {
		if id != "" {
			c.account = id
		}
	}
}

// WithPrefix sets the path the explorer is mounted at, "/" by default, for
// example "/_explorer/". The explorer serves the paths below it and builds
// its links from it; mount it without http.StripPrefix.
func WithPrefix(prefix string) Option {
	return func(c *config) {
		if prefix == "" {
			return
		}
		if !strings.HasPrefix(prefix, "/") {
			prefix = "/" + prefix
		}
		if !strings.HasSuffix(prefix, "/") {
			prefix += "/"
		}
		c.prefix = prefix
	}
}

// WithClock sets the clock the explorer reads to show how long keys have
// left; pass the emulator's clock (the one given to emulator.WithClock).
// Without it the explorer uses the API handler's own Now method when it has
// one, as *emulator.Emulator does, and the system clock otherwise. When the
// clock can be moved, as an *emulator.FakeClock can (it has a method
// Advance(time.Duration)), every page offers a control to advance it, so
// expirations can be watched without waiting.
func WithClock(c emulator.Clock) Option {
	return func(cfg *config) {
		if c != nil {
			cfg.clock = c
		}
	}
}

// advancer is a clock that can be moved forward, as *emulator.FakeClock can.
type advancer interface {
	Advance(d time.Duration)
}

// systemClock reads the wall clock.
type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Explorer is the web explorer, an http.Handler. Build it with New.
type Explorer struct {
	cfg     config
	rt      http.RoundTripper
	mux     *http.ServeMux
	handler http.Handler
	pages   pageSet

	// verified remembers, by a hash of the token, when the API last
	// accepted a token, so that the countdowns' clock requests (one a
	// second per open page) need not each cost an API request.
	verified sync.Map // [sha256.Size]byte -> time.Time
}

// New returns an explorer for the KV REST API served by api, usually an
// *emulator.Emulator. api is called in-process with requests for
// /client/v4/accounts/{account_id}/storage/kv/...; it never sees a request
// the explorer itself received.
func New(api http.Handler, opts ...Option) *Explorer {
	cfg := config{account: emulator.DefaultAccountID, prefix: "/"}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.clock == nil {
		if c, ok := api.(emulator.Clock); ok {
			cfg.clock = c
		} else {
			cfg.clock = systemClock{}
		}
	}
	x := &Explorer{
		cfg:   cfg,
		rt:    inProcess{h: api},
		mux:   http.NewServeMux(),
		pages: loadPages(),
	}
	x.routes()
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(x.crossOriginDenied))
	x.handler = cop.Handler(x.mux)
	return x
}

// ServeHTTP serves the explorer's pages, actions and assets below its prefix.
func (x *Explorer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	rest, ok := strings.CutPrefix(r.URL.Path, x.cfg.prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/" + rest
	r2.URL.RawPath = ""
	x.handler.ServeHTTP(w, r2)
}

// routes registers the explorer's pages and actions, relative to its prefix.
func (x *Explorer) routes() {
	m := x.mux
	m.HandleFunc("GET /login", x.loginPage)
	m.HandleFunc("POST /login", x.login)
	m.HandleFunc("POST /logout", x.logout)
	m.Handle("GET /static/", http.StripPrefix("/static/", x.static()))

	m.HandleFunc("GET /{$}", x.authed(x.namespacesPage))
	m.HandleFunc("POST /namespaces", x.authed(x.createNamespace))
	m.HandleFunc("POST /ns/{id}/rename", x.authed(x.renameNamespace))
	m.HandleFunc("POST /ns/{id}/delete", x.authed(x.deleteNamespace))
	m.HandleFunc("GET /ns/{id}", x.authed(x.keysPage))
	m.HandleFunc("POST /ns/{id}/put", x.authed(x.putValue))
	m.HandleFunc("POST /ns/{id}/delete-keys", x.authed(x.deleteKeys))
	m.HandleFunc("GET /ns/{id}/key", x.authed(x.valuePage))
	m.HandleFunc("GET /ns/{id}/raw", x.authed(x.download))
	m.HandleFunc("POST /ns/{id}/key/edit", x.authed(x.editKey))
	m.HandleFunc("POST /ns/{id}/key/delete", x.authed(x.deleteKey))
	m.HandleFunc("GET /now", x.authed(x.now))
	m.HandleFunc("POST /clock", x.authed(x.advanceClock))
	m.HandleFunc("/", x.notFound)
}

// static serves the embedded style sheet and script.
func (x *Explorer) static() http.Handler {
	sub, err := fs.Sub(assets, "static")
	if err != nil {
		return http.NotFoundHandler()
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}
