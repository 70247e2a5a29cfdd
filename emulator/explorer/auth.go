package explorer

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/workerskv/workerskv"
)

// caller is what a logged-in request carries to its handler.
type caller struct {
	client *workerskv.Client
	token  string
}

// verifiedFor is how long an accepted token is trusted by verify without
// asking the API again.
const verifiedFor = 5 * time.Minute

// verify checks that the API accepts the caller's token: by an API call
// (the cheapest, the first page of namespaces), or by remembering that one
// succeeded within verifiedFor.
func (x *Explorer) verify(r *http.Request, s *caller) error {
	h := sha256.Sum256([]byte(s.token))
	now := time.Now()
	if t, ok := x.verified.Load(h); ok && now.Sub(t.(time.Time)) < verifiedFor {
		return nil
	}
	ctx, cancel := apiContext(r.Context())
	defer cancel()
	if _, err := s.client.Namespaces.List(ctx, &workerskv.ListNamespacesOptions{PerPage: 5}); err != nil {
		x.verified.Delete(h)
		return err
	}
	x.verified.Store(h, now)
	return nil
}

// authedHandler is a page or action that needs a logged-in user.
type authedHandler func(w http.ResponseWriter, r *http.Request, s *caller)

// cookieName names the token cookie. Browsers send a host's cookies to every
// port of it, so the port is part of the name: explorers of two emulators on
// one machine keep their own logins.
func cookieName(r *http.Request) string {
	name := "kvexplorer"
	if _, port, err := net.SplitHostPort(r.Host); err == nil && port != "" && isDigits(port) {
		name += "-" + port
	}
	return name
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// token returns the API token of r's login cookie, or "".
func (x *Explorer) token(r *http.Request) string {
	c, err := r.Cookie(cookieName(r))
	if err != nil {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || !utf8.Valid(b) {
		return ""
	}
	return string(b)
}

// setCookie sets (or, with maxAge < 0, removes) a cookie scoped to the
// explorer: HttpOnly, SameSite=Strict, and Secure when served over TLS.
func (x *Explorer) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     x.cfg.prefix,
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
}

// authed wraps h so that it runs only for a request with a login cookie; a
// request without one is sent to the login page (a page) or refused with
// 401 (an action or /now). The token is not checked here: the API checks it
// on every call h makes, and an API answer of 401 sends the user back to log
// in (see fail).
func (x *Explorer) authed(h authedHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		tok := x.token(r)
		if tok == "" {
			x.needLogin(w, r)
			return
		}
		c, err := x.client(tok)
		if err != nil {
			x.needLogin(w, r)
			return
		}
		h(w, r, &caller{client: c, token: tok})
	}
}

// needLogin answers a request that has no valid login.
func (x *Explorer) needLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || strings.HasSuffix(r.URL.Path, "/now") {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte("log in first\n"))
		return
	}
	next := x.cfg.prefix + strings.TrimPrefix(r.URL.Path, "/")
	if r.URL.RawQuery != "" {
		next += "?" + r.URL.RawQuery
	}
	http.Redirect(w, r, x.link("login", "next", next), http.StatusSeeOther)
}

// loginData is the login page's template data.
type loginData struct {
	Next  string
	Error string
}

func (x *Explorer) loginPage(w http.ResponseWriter, r *http.Request) {
	x.render(w, r, http.StatusOK, "login", "Log in", loginData{Next: x.localPath(r.URL.Query().Get("next"))})
}

// login checks the token with an API call (the first page of namespaces)
// and, when the API accepts it, stores it in the login cookie.
func (x *Explorer) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	tok := strings.TrimSpace(r.PostFormValue("token"))
	next := x.localPath(r.PostFormValue("next"))
	fail := func(status int, msg string) {
		x.render(w, r, status, "login", "Log in", loginData{Next: next, Error: msg})
	}
	if tok == "" {
		fail(http.StatusBadRequest, "Enter the API token the emulator accepts.")
		return
	}
	c, err := x.client(tok)
	if err != nil {
		fail(http.StatusBadRequest, "That token cannot be used.")
		return
	}
	if err := x.verify(r, &caller{client: c, token: tok}); err != nil {
		switch {
		case errors.Is(err, workerskv.ErrUnauthorized), errors.Is(err, workerskv.ErrInvalidInput):
			fail(http.StatusUnauthorized, "The emulator does not accept that token.")
		default:
			fail(http.StatusBadGateway, "The API refused: "+err.Error())
		}
		return
	}
	x.setCookie(w, r, cookieName(r), base64.RawURLEncoding.EncodeToString([]byte(tok)), 0)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (x *Explorer) logout(w http.ResponseWriter, r *http.Request) {
	x.setCookie(w, r, cookieName(r), "", -1)
	http.Redirect(w, r, x.link("login"), http.StatusSeeOther)
}

// localPath returns p if it is a path inside the explorer, for redirects
// after a login or an action, and the explorer's root otherwise: a link
// cannot send a user elsewhere after logging in.
func (x *Explorer) localPath(p string) string {
	if !strings.HasPrefix(p, x.cfg.prefix) || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n\t") {
		return x.cfg.prefix
	}
	return p
}

// crossOriginDenied answers a state-changing request a browser says was
// made by another site.
func (x *Explorer) crossOriginDenied(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusForbidden)
	_, _ = w.Write([]byte("cross-origin request refused\n"))
}

// unauthorized reports whether err says the API no longer accepts the
// caller's token (the emulator restarted with another one, say).
func unauthorized(err error) bool {
	return errors.Is(err, workerskv.ErrUnauthorized)
}

// ctxFor bounds a handler's API calls.
func ctxFor(r *http.Request) (context.Context, context.CancelFunc) {
	return apiContext(r.Context())
}
