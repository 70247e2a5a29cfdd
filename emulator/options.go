package emulator

import (
	"log/slog"
	"time"
)

// DefaultAPIToken is the bearer token the emulator accepts when neither
// WithAPIToken nor WithAPIKey is given.
const DefaultAPIToken = "kvemulator-token"

// DefaultAccountID is the account the emulator serves when WithAccount is not given.
const DefaultAccountID = "0123456789abcdef0123456789abcdef"

// Option configures an Emulator; pass options to New.
type Option func(*config)

// apiKey is one accepted X-Auth-Key and X-Auth-Email pair.
type apiKey struct {
	key, email string
}

// config collects what the options set.
type config struct {
	tokens   []string
	keys     []apiKey
	accounts []string
	clock    Clock
	faults   *Faults
	delay    time.Duration
	rateN    int           // WithAPIRateLimit's n; 0 when off
	ratePer  time.Duration // WithAPIRateLimit's per
	logger   *slog.Logger  // WithLogger's; nil when off
}

// WithAPIToken makes the emulator accept "Authorization: Bearer <token>".
// It may be given several times; every token given is accepted. Giving it
// (or WithAPIKey) replaces DefaultAPIToken. An empty token is ignored.
func WithAPIToken(token string) Option {
	return func(c *config) {
		if token != "" {
			c.tokens = append(c.tokens, token)
		}
	}
}

// WithAPIKey makes the emulator accept the legacy X-Auth-Key and X-Auth-Email
// header pair. It may be given several times. Giving it (or WithAPIToken)
// replaces DefaultAPIToken. The email is compared case-insensitively.
func WithAPIKey(key, email string) Option {
	return func(c *config) {
		if key != "" && email != "" {
			c.keys = append(c.keys, apiKey{key: key, email: email})
		}
	}
}

// WithAccount adds an account ID the emulator serves. It may be given several
// times; each account has its own namespaces. Without it the emulator serves
// DefaultAccountID only. Requests for any other account get 403, code 10000.
func WithAccount(id string) Option {
	return func(c *config) {
		if id != "" {
			c.accounts = append(c.accounts, id)
		}
	}
}

// WithClock sets the time source used for expiration, for the consistency
// delay and for the account rate limit. A nil clock keeps the system clock.
func WithClock(c Clock) Option {
	return func(cfg *config) {
		if c != nil {
			cfg.clock = c
		}
	}
}

// WithFaults turns on seeded fault injection (rate limiting, server errors,
// dropped connections and latency); see Faults.
func WithFaults(f Faults) Option {
	return func(c *config) {
		f := f
		c.faults = &f
	}
}

// WithConsistencyDelay turns on the eventual-consistency mode: every write
// (value put, value delete, bulk write, bulk delete) becomes visible to reads
// and lists only d after it was made, measured on the emulator's clock. Until
// then readers see the previous version of the key, or its absence. Namespace
// creation, renaming and deletion stay immediate. A d of zero or less turns
// the mode off.
func WithConsistencyDelay(d time.Duration) Option {
	return func(c *config) {
		c.delay = max(d, 0)
	}
}

// WithAPIRateLimit turns on Cloudflare's account API rate limit: each
// credential (a bearer token, or an X-Auth-Key and X-Auth-Email pair) may make
// n requests per window of length per, measured on the emulator's clock. The
// budget is per credential, as Cloudflare's is per user: clients that share a
// token (the replicas of a service) share one budget. Cloudflare's limit is
// 1,200 requests per 5 minutes:
//
//	emulator.WithAPIRateLimit(1200, 5*time.Minute)
//
// A window opens at the first request counted in it and lasts per; its
// budget is whole again when it ends. Once n requests have been admitted in a
// window, the next one is refused and starts a lockout of per: until per has
// passed since that request, every request of the credential is answered 429
// with code 971 ("Please wait and consider throttling your request speed")
// and a Retry-After header (whole seconds until the lockout ends, rounded
// up). Refused requests are not counted and do not extend the lockout; the
// first request after it opens a new window.
//
// Only requests that are routed and authenticated count, whatever their
// answer afterwards (a 403 for another account, a 404 for a missing key, a
// 400 for a bad body); the check comes before the request's body is read or
// anything changes, so a refused write changes nothing. Requests refused by
// routing (400, 405), for missing or unknown credentials (400, 401) or by
// fault injection are not counted and carry no rate-limit headers. Every
// counted response, the 429 included, carries
//
//	Ratelimit: "default";r=<requests left in the window>;t=<seconds until it ends>
//	Ratelimit-Policy: "default";q=<n>;w=<per in seconds>
//
// with t the seconds until the lockout ends on a 429; seconds are rounded up.
// The budgets are kept in memory (with NewDurable too), one small record per
// accepted credential. An n or per of zero or less turns the limit off, which
// is the default; the last WithAPIRateLimit given wins.
func WithAPIRateLimit(n int, per time.Duration) Option {
	return func(c *config) {
		if n <= 0 || per <= 0 {
			c.rateN, c.ratePer = 0, 0
			return
		}
		c.rateN, c.ratePer = n, per
	}
}

// WithLogger logs every request to l once it is answered: one record at
// slog.LevelInfo, message "request", with the attributes method, path (the
// escaped path as sent, so a key reads as its client encoded it), status (0
// when no response was written, as for a dropped connection), error_codes
// (the Cloudflare codes of an error envelope; absent on success), bytes_in
// (request body bytes read), bytes_out (response body bytes written),
// duration, credential (the kind of credential: "token", "api_key" or
// "none"; never the credential itself) and ray (the Cf-Ray header). The
// query string and the headers are not logged.
//
// Logging is off by default, and a nil l turns it off; a request costs
// nothing more then, nor when l is not enabled for slog.LevelInfo. The last
// WithLogger given wins.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}
