package emulator

import "time"

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

// WithClock sets the time source used for expiration and for the
// consistency delay. A nil clock keeps the system clock.
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
