package workerskv

import (
	"errors"
	"log/slog"
	"net/http"
	"time"
)

// Option configures a [Client] built by [NewClient] or [NewClientFromEnv].
type Option func(*config)

// config is what the options write; NewClient validates it as a whole.
type config struct {
	token, apiKey, email string
	authOptions          int // how many credential options were given
	accountID            string
	baseURL              string
	baseURLSet           bool
	httpClient           *http.Client
	maxRetries           int
	backoffMin           time.Duration
	backoffMax           time.Duration
	maxRetryWait         time.Duration
	rateN                int
	ratePer              time.Duration
	userAgent            string
	logger               *slog.Logger
	errs                 []error
}

// defaultMaxRetryWait is the longest Retry-After honoured unless [WithMaxRetryWait] says otherwise.
const defaultMaxRetryWait = 60 * time.Second

// DefaultBaseURL is the Cloudflare API base URL used unless [WithBaseURL] says otherwise.
const DefaultBaseURL = "https://api.cloudflare.com/client/v4"

func defaultConfig() config {
	return config{
		baseURL:      DefaultBaseURL,
		maxRetries:   defaultMaxRetries,
		backoffMin:   500 * time.Millisecond,
		backoffMax:   30 * time.Second,
		maxRetryWait: defaultMaxRetryWait,
	}
}

// WithAPIToken authenticates with an API token, sent as "Authorization: Bearer <token>".
// The token needs the "Workers KV Storage Read" and, for writes, "Workers KV Storage Write" permissions.
func WithAPIToken(token string) Option {
	return func(c *config) {
		c.token = token
		c.authOptions++
		if token == "" {
			c.errs = append(c.errs, errors.New("workerskv: WithAPIToken: empty token"))
		}
	}
}

// WithAPIKey authenticates with a legacy global API key and the account's email address, sent as the
// X-Auth-Key and X-Auth-Email headers. Prefer [WithAPIToken].
func WithAPIKey(key, email string) Option {
	return func(c *config) {
		c.apiKey, c.email = key, email
		c.authOptions++
		if key == "" || email == "" {
			c.errs = append(c.errs, errors.New("workerskv: WithAPIKey: empty key or email"))
		}
	}
}

// WithAccountID sets the Cloudflare account every request addresses. See also [Client.WithAccount].
func WithAccountID(id string) Option {
	return func(c *config) { c.accountID = id }
}

// WithBaseURL sets the API base URL, [DefaultBaseURL] by default. Point it at an emulator for tests,
// e.g. "http://127.0.0.1:8787/client/v4".
func WithBaseURL(baseURL string) Option {
	return func(c *config) { c.baseURL, c.baseURLSet = baseURL, true }
}

// WithHTTPClient sends requests through a copy of hc (hc itself is never modified). Its Transport is
// used for every attempt; its Timeout, if any, bounds each attempt, not the whole call: use a context
// deadline for that.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) {
		if hc == nil {
			c.errs = append(c.errs, errors.New("workerskv: WithHTTPClient: nil client"))
			return
		}
		c.httpClient = hc
	}
}

// NoRetries, given as a count of retries or resends, turns them off: WithMaxRetries(NoRetries) (a
// failed request is sent once), or BulkOptions{Resends: NoRetries} (keys the API reports unsuccessful
// are not sent again).
//
// Every such count in this package, in an [Option] or in an option struct, follows one convention:
// 0 means the default, a negative count (NoRetries) means none, and n > 0 means up to n.
const NoRetries = -1

// defaultMaxRetries is how many times a failed request is retried unless [WithMaxRetries] says
// otherwise.
const defaultMaxRetries = 4

// WithMaxRetries sets how many times a failed request is retried: 0 keeps the default (4), and
// [NoRetries] (or any negative count) turns retries off, as every retry count in this package does.
func WithMaxRetries(n int) Option {
	return func(c *config) {
		switch {
		case n == 0:
			c.maxRetries = defaultMaxRetries
		case n < 0:
			c.maxRetries = 0
		default:
			c.maxRetries = n
		}
	}
}

// WithBackoff sets the exponential backoff between retries: the first wait is about min, doubling up to
// max, with jitter (defaults 500ms and 30s). A Retry-After header from the server takes precedence.
func WithBackoff(min, max time.Duration) Option {
	return func(c *config) {
		if min < 0 || max < min {
			c.errs = append(c.errs, errors.New("workerskv: WithBackoff: need 0 <= min <= max"))
			return
		}
		c.backoffMin, c.backoffMax = min, max
	}
}

// WithMaxRetryWait caps how long the client waits when the server asks it to with Retry-After: 0 keeps
// the default (60s), and a negative duration means never (as every option of this package reads 0 and
// negative values). A longer wait, or one that would pass the context's deadline, ends the retries at
// once with an [*APIError] whose RetryAfter says how long the server asked for. The same cap applies
// to a call made while the client is locked out by the rate limit: it waits for the reset within the
// cap, and otherwise fails at once without sending anything.
func WithMaxRetryWait(d time.Duration) Option {
	return func(c *config) {
		switch {
		case d == 0:
			c.maxRetryWait = defaultMaxRetryWait
		case d < 0:
			c.maxRetryWait = 0
		default:
			c.maxRetryWait = d
		}
	}
}

// WithRateLimit paces requests on the client side so that no window of length per sees more than n of
// them, retries included. Cloudflare allows 1,200 requests per 5 minutes per user or token, and a client
// that crosses it is refused (HTTP 429) for the next 5 minutes, so WithRateLimit(1200, 5*time.Minute) is
// a safe choice for a single process using a token. Copies made by [Client.WithAccount] share the limiter.
// By default there is no static limit. Either way the client also paces itself from the server's
// Ratelimit header and stops sending during a lockout (see "Retries and rate limits" in the package
// doc); WithRateLimit is a ceiling on top of that.
func WithRateLimit(n int, per time.Duration) Option {
	return func(c *config) {
		if n <= 0 || per <= 0 {
			c.errs = append(c.errs, errors.New("workerskv: WithRateLimit: need n > 0 and per > 0"))
			return
		}
		c.rateN, c.ratePer = n, per
	}
}

// WithUserAgent puts the application's own product token (e.g. "myapp/1.2") in front of the library's
// "workerskv-go/<Version>" in the User-Agent header.
func WithUserAgent(product string) Option {
	return func(c *config) { c.userAgent = product }
}

// WithLogger logs each attempt at debug level (method, path, status, attempt, duration, cf-ray) and
// retries at info level. Headers and bodies are never logged. By default nothing is logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}
