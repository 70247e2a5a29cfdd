package workerskv

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// Version is the library's version, sent in the User-Agent header as "workerskv-go/<Version>".
const Version = "0.1.0"

// Client talks to the Workers KV REST API of one Cloudflare account. Build it with [NewClient] or
// [NewClientFromEnv]. A Client is safe for concurrent use.
type Client struct {
	// Namespaces manages namespaces: list, create, get, rename, delete.
	Namespaces *NamespacesService
	// Values reads, writes and deletes single values.
	Values *ValuesService
	// Keys lists keys and reads their metadata.
	Keys *KeysService
	// Bulk writes, reads and deletes many keys at once, in requests of any number.
	Bulk *BulkService

	core      *core
	accountID string
	// ns is the URL of the account's KV namespaces collection, below which every request's path is.
	ns nsPrefix
}

// core is what copies made by WithAccount share.
type core struct {
	// httpClient is the caller's http.Client (a copy), around our transport; each request makes its
	// own retryablehttp.Client over it (see reqState.do).
	httpClient   *http.Client
	maxRetries   int
	base         *url.URL
	userAgent    string
	logger       *slog.Logger
	maxRetryWait time.Duration
	backoffMin   time.Duration
	backoffMax   time.Duration
	// auth holds the credentials, one pointer further from Client than core is.
	auth *credentials
	// basePath is the base URL's escaped path, trimmed from request paths in errors and logs.
	basePath string
	// budget is what the server said about the rate limit: lockout and pace.
	budget *budget
}

// credentials holds what authenticates the requests. fmt prints a pointer inside a struct it is
// printing as an address, so a Client printed field by field (when fmt cannot call its Format, as in
// an unexported field of the caller's struct) shows at most core, never this.
type credentials struct {
	// apiKey says the credentials are an API key and email rather than an API token.
	apiKey bool
	// headers go on every request: credentials and User-Agent, built once.
	headers []header
}

// service is the common shape of the services: a back-pointer to the client.
type service struct{ client *Client }

// NewClient returns a client configured by opts. It needs credentials ([WithAPIToken] or [WithAPIKey],
// not both) and an account ([WithAccountID]); otherwise, or for a malformed base URL, it returns an
// error.
func NewClient(opts ...Option) (*Client, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	return newClient(&cfg)
}

func newClient(cfg *config) (*Client, error) {
	if len(cfg.errs) > 0 {
		return nil, errors.Join(cfg.errs...)
	}
	switch {
	case cfg.token == "" && cfg.apiKey == "":
		return nil, errors.New("workerskv: no credentials: use WithAPIToken or WithAPIKey (or set CLOUDFLARE_API_TOKEN)")
	case cfg.token != "" && cfg.apiKey != "":
		return nil, errors.New("workerskv: both an API token and an API key were given: use one")
	case cfg.accountID != "" && validateID("account_id", cfg.accountID) != nil:
		return nil, validateID("account_id", cfg.accountID)
	case cfg.accountID == "":
		return nil, errors.New("workerskv: no account ID: use WithAccountID (or set CLOUDFLARE_ACCOUNT_ID)")
	}
	base, err := parseBaseURL(cfg.baseURL)
	if err != nil {
		return nil, err
	}
	logger := cfg.logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ua := "workerskv-go/" + Version
	if cfg.userAgent != "" {
		ua = cfg.userAgent + " " + ua
	}
	co := &core{
		base:         base,
		userAgent:    ua,
		logger:       logger,
		maxRetryWait: cfg.maxRetryWait,
		backoffMin:   cfg.backoffMin,
		backoffMax:   cfg.backoffMax,
		maxRetries:   min(cfg.maxRetries, math.MaxInt32),
		budget:       newBudget(cfg.maxRetryWait, staticLimiter(cfg)),
	}
	auth := &credentials{apiKey: cfg.token == ""}
	if auth.apiKey {
		auth.headers = append(auth.headers, header{"X-Auth-Key", []string{cfg.apiKey}}, header{"X-Auth-Email", []string{cfg.email}})
	} else {
		auth.headers = append(auth.headers, header{"Authorization", []string{"Bearer " + cfg.token}})
	}
	auth.headers = append(auth.headers, header{"User-Agent", []string{ua}})
	co.auth = auth
	co.basePath = base.EscapedPath()
	co.httpClient = co.newHTTPClient(cfg)
	c := &Client{core: co, accountID: cfg.accountID}
	c.wire()
	return c, nil
}

func parseBaseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		// A *url.Error quotes the whole URL, which may carry a password or a token: keep the reason only.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("workerskv: bad base URL: %w", err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		// Show scheme, host and path only: user info and query are where secrets would be.
		shown := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
		return nil, fmt.Errorf("workerskv: bad base URL %q: need http(s)://host[/path] without query, fragment or user info", shown)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = strings.TrimSuffix(u.RawPath, "/")
	return u, nil
}

// newHTTPClient returns a copy of the caller's http.Client (or a new one) whose transport passes each
// attempt through the budget and the debug log, and which never sends credentials to another origin.
func (co *core) newHTTPClient(cfg *config) *http.Client {
	var hc http.Client
	if cfg.httpClient != nil {
		hc = *cfg.httpClient
	} else {
		hc.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc.Transport = &transport{base: base, budget: co.budget, logger: co.logger}
	hc.CheckRedirect = stripCredentialsOnRedirect(hc.CheckRedirect)
	return &hc
}

// staticLimiter is WithRateLimit's limiter, or nil. A token bucket lets burst+rate*per requests
// through in any window of length per; it keeps that within n.
func staticLimiter(cfg *config) *rate.Limiter {
	if cfg.rateN <= 0 {
		return nil
	}
	burst := max(1, cfg.rateN/20)
	perSecond := float64(cfg.rateN-burst) / cfg.ratePer.Seconds()
	if cfg.rateN == burst {
		perSecond = float64(cfg.rateN) / cfg.ratePer.Seconds() / 2
	}
	return rate.NewLimiter(rate.Limit(perSecond), burst)
}

// WithAccount returns a copy of c that addresses account id, sharing c's transport, credentials,
// connection pool and rate limiter. Making the copy is cheap and sends nothing. An id that is not a
// usable account ID (empty, "." or "..", over 32 characters) gives a [*ValidationError] and no client.
func (c *Client) WithAccount(id string) (*Client, error) {
	if err := validateID("account_id", id); err != nil {
		return nil, err
	}
	cp := &Client{core: c.core, accountID: id}
	cp.wire()
	return cp, nil
}

// AccountID returns the account the client addresses.
func (c *Client) AccountID() string { return c.accountID }

// wire points c's services at c and joins, once, the path every request of c starts with.
func (c *Client) wire() {
	c.ns = newNSPrefix(c.core.base, "accounts", c.accountID, "storage", "kv", "namespaces")
	s := &service{client: c}
	c.Namespaces = (*NamespacesService)(s)
	c.Values = (*ValuesService)(s)
	c.Keys = (*KeysService)(s)
	c.Bulk = (*BulkService)(s)
}

// nsPrefix is the URL below which requests' paths are: its Path decoded, and its RawPath as it
// travels.
type nsPrefix struct{ u url.URL }

// newNSPrefix returns base, less one trailing slash of its escaped path (a base ending in "%2F" keeps
// it), with segments appended as [nsPrefix.Join] appends them.
func newNSPrefix(base *url.URL, segments ...string) nsPrefix {
	u := *base
	u.RawQuery, u.Fragment, u.RawFragment = "", "", ""
	u.RawPath = base.EscapedPath()
	if strings.HasSuffix(u.RawPath, "/") {
		u.Path, u.RawPath = strings.TrimSuffix(u.Path, "/"), strings.TrimSuffix(u.RawPath, "/")
	}
	return nsPrefix{*nsPrefix{u}.Join(segments...)}
}

// Join returns the prefix's URL with segments appended, each escaped by [url.PathEscape] as one path
// segment. RawPath holds the escaped form, so that "/" in a key travels as %2F (and "?" as %3F, "#"
// as %23, "%" as %25): no key can change which endpoint is called. The path is never cleaned, so a
// segment ".." stays a segment (callers refuse "." and ".." keys before).
func (p nsPrefix) Join(segments ...string) *url.URL {
	u := p.u
	n := 0
	for _, s := range segments {
		n += 1 + len(s)
	}
	var path, raw strings.Builder // each in one allocation: escaping at most triples a segment
	path.Grow(len(u.Path) + n)
	raw.Grow(len(u.RawPath) + 3*n)
	path.WriteString(u.Path)
	raw.WriteString(u.RawPath)
	for _, s := range segments {
		path.WriteString("/")
		path.WriteString(s)
		raw.WriteString("/")
		raw.WriteString(url.PathEscape(s))
	}
	u.Path, u.RawPath = path.String(), raw.String()
	return &u
}

// String describes the client without its credentials.
func (c *Client) String() string {
	if c == nil || c.core == nil {
		return "workerskv.Client{}"
	}
	auth := "token"
	if c.core.auth.apiKey {
		auth = "api-key"
	}
	return fmt.Sprintf("workerskv.Client{base: %s, account: %s, auth: %s}", c.core.base.Redacted(), c.accountID, auth)
}

// GoString is like String, so that %#v does not print credentials either.
func (c *Client) GoString() string { return c.String() }

// Format prints the client as String does, whatever the verb, so that no verb (%s, %q, %t, ...)
// prints its fields. A Client is always used through a pointer; a Client value printed by fmt shows
// its fields' pointers as addresses, and the credentials are one pointer further away than that.
func (c *Client) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, c.String()) }
