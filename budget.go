package workerskv

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// budget is what the server has said about the account's rate limit, shared by a Client, every
// goroutine using it and every copy WithAccount makes of it. Cloudflare's limit (1,200 requests per 5
// minutes) is per user, shared with every other replica of the service and with the team's other
// tools, so a client cannot count its way to safety: it listens instead.
//
//   - A lockout: after a 429 with Retry-After, or a Ratelimit header whose budget is spent, nothing is
//     sent until the reset. A call made meanwhile waits for the reset when it is within
//     WithMaxRetryWait and the context's deadline, and is otherwise refused at once, locally.
//   - A pace: the remaining budget, less a reserve left to the rest of the fleet and the team's
//     tools, is spread over the rest of the server's window.
//   - A ceiling: WithRateLimit's static limit, applied on top of both.
type budget struct {
	// ignore makes the client behave as one that does not listen to the server (tests only).
	ignore bool
	// maxWait is the longest lockout a call waits out (WithMaxRetryWait).
	maxWait time.Duration
	// static is WithRateLimit's limiter, or nil.
	static *rate.Limiter

	mu sync.Mutex
	// lockedUntil is the end of the lockout; zero or past when there is none.
	lockedUntil time.Time
	// resetAt is the end of the server's window, as its last Ratelimit header said.
	resetAt time.Time
	// quota is the window's budget: Ratelimit-Policy's q, or else the largest remainder seen.
	quota int
	// paced spreads the remaining budget until resetAt; unlimited when nothing is known.
	paced *rate.Limiter
}

// reserveShare: the client keeps 1/reserveShare of the window's quota (at least one request) unspent,
// for the other replicas of a fleet (which may each send one more request before they hear that the
// budget is low) and for the team's dashboard, wrangler and Terraform.
const reserveShare = 20

func newBudget(maxWait time.Duration, static *rate.Limiter) *budget {
	return &budget{maxWait: maxWait, static: static, paced: rate.NewLimiter(rate.Inf, 1)}
}

// lockedFor is how long, from now, the client is locked out; 0 when it is not.
func (b *budget) lockedFor(now time.Time) time.Duration {
	if b.ignore {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return max(0, b.lockedUntil.Sub(now))
}

// admit waits until a request may be sent: past any lockout, at the server's pace, and within the
// static limit. It sends nothing itself. It returns a *lockoutError when a lockout is too long to
// wait out or its turn at the server's pace too far away, errRateWait when the static limiter's wait
// would pass the context's deadline, and the context's error when it ends during a wait.
func (b *budget) admit(ctx context.Context) error {
	if err := b.waitLockout(ctx); err != nil {
		return err
	}
	if !b.ignore {
		b.mu.Lock()
		if !time.Now().Before(b.resetAt) {
			// The window the pace was set for is over: the budget is whole again.
			b.paced.SetLimit(rate.Inf)
		}
		b.mu.Unlock()
		if err := b.waitPace(ctx); err != nil {
			return err
		}
	}
	if b.static != nil {
		if err := b.static.Wait(ctx); err != nil {
			return limiterError(ctx)
		}
	}
	// A response heard while this request waited its turn may have locked the client out.
	return b.waitLockout(ctx)
}

// waitLockout waits out the lockout, if there is one and it is short enough.
func (b *budget) waitLockout(ctx context.Context) error {
	for {
		d := b.lockedFor(time.Now())
		if d == 0 {
			return nil
		}
		if d > b.maxWait || !fitsDeadline(ctx, d) {
			return &lockoutError{wait: d}
		}
		if !sleepCtx(ctx, d) {
			return ctx.Err()
		}
	}
}

// waitPace waits for this request's turn at the server's pace. A turn further away than maxWait, or
// past the context's deadline, is given back and the request refused at once, as for a lockout: when
// demand outruns the budget, calls fail fast instead of queueing for hours.
func (b *budget) waitPace(ctx context.Context) error {
	r := b.paced.Reserve()
	d := r.Delay()
	if d == 0 {
		return nil
	}
	if d > b.maxWait || !fitsDeadline(ctx, d) {
		r.Cancel()
		return &lockoutError{wait: d, paced: true}
	}
	if !sleepCtx(ctx, d) {
		r.Cancel()
		return ctx.Err()
	}
	return nil
}

// limiterError is what a refused limiter wait returns: the context's error when it is done, else
// errRateWait (the wait would pass the deadline).
func limiterError(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return errRateWait
}

// observe learns from a response: a 429's Retry-After, and the Ratelimit and Ratelimit-Policy
// headers. Malformed headers are ignored.
func (b *budget) observe(status int, h http.Header, now time.Time) {
	if b.ignore {
		return
	}
	left, reset, haveLeft := parseRatelimit(h.Get("Ratelimit"))
	quota, window, havePolicy := parseRatelimitPolicy(h.Get("Ratelimit-Policy"))
	b.mu.Lock()
	defer b.mu.Unlock()
	if havePolicy {
		b.quota = quota
		if haveLeft {
			reset = min(reset, window)
		}
	} else if haveLeft && left >= b.quota {
		b.quota = left + 1
	}
	if status == http.StatusTooManyRequests {
		if ra, ok := parseRetryAfter(h.Get("Retry-After"), now); ok {
			b.lockUntil(now.Add(ra))
		} else if haveLeft {
			b.lockUntil(now.Add(reset))
		}
		return
	}
	if !haveLeft {
		return
	}
	b.resetAt = now.Add(reset)
	spare := left - max(1, b.quota/reserveShare)
	switch {
	case spare <= 0:
		b.lockUntil(b.resetAt)
	case reset <= 0:
		b.paced.SetLimitAt(now, rate.Inf)
	default:
		b.paced.SetLimitAt(now, rate.Limit(float64(spare)/reset.Seconds()))
		b.paced.SetBurstAt(now, max(1, spare/reserveShare))
	}
}

func (b *budget) lockUntil(t time.Time) {
	if t.After(b.lockedUntil) {
		b.lockedUntil = t
	}
}

// parseRatelimit reads a Ratelimit header as Cloudflare sends it, `"default";r=<remaining>;t=<seconds
// until the window resets>`: the first item's r and t parameters, whole numbers of at least 0. Other
// items and parameters are ignored; without both r and t it reports false.
func parseRatelimit(v string) (remaining int, reset time.Duration, ok bool) {
	r, t, ok := firstItemParams(v, "r", "t")
	return r, time.Duration(t) * time.Second, ok
}

// parseRatelimitPolicy reads a Ratelimit-Policy header, `"default";q=<quota>;w=<window seconds>`:
// the first item's q and w, with q of at least 1 and w of at least 1 second.
func parseRatelimitPolicy(v string) (quota int, window time.Duration, ok bool) {
	q, w, ok := firstItemParams(v, "q", "w")
	if !ok || q < 1 || w < 1 {
		return 0, 0, false
	}
	return q, time.Duration(w) * time.Second, true
}

// firstItemParams returns the integer parameters a and b of the first item of a structured-field list
// (RFC 9651) such as `"default";r=5;t=30, "other";r=1;t=2`.
func firstItemParams(v, a, b string) (int, int, bool) {
	item, _, _ := strings.Cut(v, ",")
	params := strings.Split(item, ";")
	if len(params) < 2 {
		return 0, 0, false
	}
	va, vb := -1, -1
	for _, p := range params[1:] {
		name, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		n, err := strconv.Atoi(val)
		if err != nil || n < 0 || n > maxHeaderInt {
			continue
		}
		switch name {
		case a:
			va = n
		case b:
			vb = n
		}
	}
	return va, vb, va >= 0 && vb >= 0
}

// maxHeaderInt bounds the numbers read from rate-limit headers (about 31 years in seconds), so that no
// header can overflow a time.Duration.
const maxHeaderInt = 1 << 30

// lockoutError is a request refused before it was sent because the client is locked out by the
// server's rate limit for longer than it may wait. The request path turns it into an [*APIError]
// with status 429.
type lockoutError struct {
	wait time.Duration
	// paced: not a lockout, but the client's next turn at the server's pace is wait away.
	paced bool
}

func (e *lockoutError) Error() string {
	if e.paced {
		return fmt.Sprintf("refused locally, nothing sent: at the pace the server's rate limit allows, this client's next request is %s away", e.wait)
	}
	return fmt.Sprintf("refused locally, nothing sent: the server's rate limit locks this client out for another %s", e.wait)
}
