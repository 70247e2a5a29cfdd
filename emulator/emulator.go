package emulator

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Emulator is a stateful Workers KV REST API, in memory (New) or kept in a
// Durable (NewDurable). It is an http.Handler serving
// /client/v4/accounts/{account_id}/storage/kv/... from the root of its
// server, so a client uses http://host:port/client/v4 as its base URL. It is
// safe for concurrent use.
type Emulator struct {
	cfg      config
	clock    Clock
	delay    time.Duration
	accounts map[string]bool
	store    *store
	faults   *faultInjector // nil without WithFaults
	limiter  *rateLimiter   // nil without WithAPIRateLimit
	counters faultCounters
	rays     atomic.Uint64
	rayBase  uint64
	durable  Durable // the storage when made by NewDurable; nil in memory

	closeOnce sync.Once // Close closes durable once
	closeErr  error     // what closing durable returned

	// bulkSlots holds a token for each bulk write body being read and
	// decoded (see bulkWrite): its capacity bounds their memory.
	bulkSlots chan struct{}
}

// New returns an Emulator configured by opts. Without credential options it
// accepts DefaultAPIToken; without WithAccount it serves DefaultAccountID.
func New(opts ...Option) *Emulator {
	var cfg config
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if len(cfg.tokens) == 0 && len(cfg.keys) == 0 {
		cfg.tokens = []string{DefaultAPIToken}
	}
	if len(cfg.accounts) == 0 {
		cfg.accounts = []string{DefaultAccountID}
	}
	if cfg.clock == nil {
		cfg.clock = systemClock{}
	}
	e := &Emulator{
		cfg:      cfg,
		clock:    cfg.clock,
		delay:    cfg.delay,
		accounts: make(map[string]bool, len(cfg.accounts)),
		store:    newStore(),

		bulkSlots: make(chan struct{}, maxConcurrentBulkBodies),
	}
	for _, a := range cfg.accounts {
		e.accounts[a] = true
	}
	if cfg.faults != nil {
		e.faults = newFaultInjector(*cfg.faults)
	}
	if cfg.rateN > 0 {
		e.limiter = newRateLimiter(cfg.rateN, cfg.ratePer)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	for _, x := range b {
		e.rayBase = e.rayBase<<8 | uint64(x)
	}
	return e
}

// ServeHTTP answers one KV REST API request. In order: fault injection (when
// configured), routing (400 codes 7003 and 7000, 405 code 7001),
// authentication, the account rate limit (when configured; 429 code 971), the
// account check, the query string's syntax (400 code 10031), then the
// endpoint itself.
//
// With WithLogger, each request is logged once it is answered.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if e.cfg.logger != nil {
		e.serveLogged(w, r)
		return
	}
	e.serve(w, r)
}

// serve answers r, as ServeHTTP describes.
func (e *Emulator) serve(w http.ResponseWriter, r *http.Request) {
	e.counters.requests.Add(1)
	w.Header().Set("Cf-Ray", e.nextRay())
	if e.faults != nil && e.inject(w, r) {
		return
	}
	rt, err := matchRoute(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	cred, err := e.authenticate(r.Header)
	if err != nil {
		writeError(w, err)
		return
	}
	noteCredential(w, cred)
	if e.limiter != nil && e.limitRate(w, cred) {
		return
	}
	if !e.accounts[rt.account] {
		writeError(w, errAuthentication)
		return
	}
	if _, err := url.ParseQuery(r.URL.RawQuery); err != nil {
		// Parameters that cannot be decoded are refused rather than dropped, so
		// that a mangled expiration_ttl never writes a key that does not expire.
		writeError(w, badRequest(codeInvalidParam, "Malformed query string: parameters must be percent-encoded and separated by &."))
		return
	}
	if err := rt.handle(e, w, r, rt); err != nil {
		writeError(w, err)
	}
}

// nextRay returns a Cf-Ray header value, unique per request.
func (e *Emulator) nextRay() string {
	n := e.rayBase + e.rays.Add(1)
	s := strconv.FormatUint(n, 16)
	for len(s) < 16 {
		s = "0" + s
	}
	return s + "-EMU"
}

// visibleFrom returns when a write made at now becomes visible to readers:
// the zero time (at once) unless a consistency delay is configured.
func (e *Emulator) visibleFrom(now time.Time) time.Time {
	if e.delay <= 0 {
		return time.Time{}
	}
	return now.Add(e.delay)
}

// newNamespaceID returns 32 random lowercase hex characters.
func newNamespaceID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
