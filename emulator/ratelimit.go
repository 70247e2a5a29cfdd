package emulator

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// errAPIRateLimited is Cloudflare's answer once a credential's budget is spent.
var errAPIRateLimited = newError(http.StatusTooManyRequests, codeAPIRateLimited,
	"Please wait and consider throttling your request speed")

// rateLimiter enforces WithAPIRateLimit: per credential, a fixed window of
// length per that opens at the first request counted in it and admits limit
// requests; the request after them is refused and starts a lockout of per,
// during which every request is refused without being counted and without
// extending it. The first request after the lockout opens a new window.
type rateLimiter struct {
	limit  int
	per    time.Duration
	policy string // the Ratelimit-Policy header, the same on every response

	mu      sync.Mutex
	budgets map[string]*budget // by credential; only accepted credentials get one
}

// budget is one credential's state.
type budget struct {
	start       time.Time // when the current window opened
	used        int       // requests admitted in it; 0 when no window is open
	lockedUntil time.Time // end of the lockout; zero or past when not locked out
}

func newRateLimiter(limit int, per time.Duration) *rateLimiter {
	return &rateLimiter{
		limit:   limit,
		per:     per,
		policy:  `"default";q=` + strconv.Itoa(limit) + `;w=` + strconv.FormatInt(ceilSeconds(per), 10),
		budgets: make(map[string]*budget),
	}
}

// take counts one request of credential cred made at now. It reports whether
// the request is admitted, the requests left in the window after it, and the
// time until the budget is whole again: the window's end, or for a refused
// request the lockout's end.
func (l *rateLimiter) take(cred string, now time.Time) (ok bool, remaining int, reset time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.budgets[cred]
	if b == nil {
		b = &budget{}
		l.budgets[cred] = b
	}
	if now.Before(b.lockedUntil) {
		return false, 0, b.lockedUntil.Sub(now)
	}
	if b.used == 0 || !now.Before(b.start.Add(l.per)) {
		b.start, b.used = now, 0
	}
	if b.used >= l.limit {
		b.lockedUntil = now.Add(l.per)
		return false, 0, l.per
	}
	b.used++
	return true, l.limit - b.used, b.start.Add(l.per).Sub(now)
}

// limitRate applies the account rate limit to an authenticated request of
// credential cred: it sets the Ratelimit and Ratelimit-Policy headers and,
// when the budget is spent, answers 429 with Retry-After. It reports whether
// the request was answered and must not be handled.
func (e *Emulator) limitRate(w http.ResponseWriter, cred string) bool {
	ok, remaining, reset := e.limiter.take(cred, e.clock.Now())
	secs := strconv.FormatInt(ceilSeconds(reset), 10)
	h := w.Header()
	h.Set("Ratelimit", `"default";r=`+strconv.Itoa(remaining)+`;t=`+secs)
	h.Set("Ratelimit-Policy", e.limiter.policy)
	if ok {
		return false
	}
	h.Set("Retry-After", secs)
	writeError(w, errAPIRateLimited)
	return true
}

// ceilSeconds is d in whole seconds, rounded up.
func ceilSeconds(d time.Duration) int64 {
	s := int64(d / time.Second)
	if d%time.Second > 0 {
		s++
	}
	return s
}
