package emulator

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Faults configures seeded fault injection. For every request the emulator
// draws, before handling it, whether the request is slowed and whether it is
// answered with a fault instead of being handled; a faulted request never
// changes state. Fractions are clamped to [0, 1]. RateLimited, ServerError
// and Drop are tried in that order on one draw, so their sum above 1 starves
// the later ones. Slow is drawn separately: a slowed request is delayed and
// then either faulted or handled as usual.
type Faults struct {
	// Seed seeds the random source: the same seed and the same order of
	// requests give the same faults.
	Seed int64
	// RateLimited is the fraction of requests answered 429 with a
	// Retry-After header and a Cloudflare envelope (code 10429).
	RateLimited float64
	// RetryAfter is the Retry-After value sent, rounded up to whole seconds;
	// zero or less means 1 second.
	RetryAfter time.Duration
	// ServerError is the fraction of requests answered 500 and 503 in turn,
	// with a Cloudflare envelope (code 10001).
	ServerError float64
	// Drop is the fraction of requests whose connection is closed with no
	// response. When the ResponseWriter cannot be hijacked (HTTP/2, or a
	// recorder) the handler panics with http.ErrAbortHandler instead.
	Drop float64
	// Slow is the fraction of requests delayed by Latency before anything
	// else happens to them. The delay is real time, not the emulator's
	// clock, and ends early when the request's context is done.
	Slow float64
	// Latency is the delay of a slowed request.
	Latency time.Duration
}

// FaultStats counts what fault injection did. Requests counts every request
// the emulator received, faulted or not.
type FaultStats struct {
	Requests     int64
	RateLimited  int64
	ServerErrors int64
	Dropped      int64
	Slowed       int64
}

// faultCounters are the live counters behind FaultStats.
type faultCounters struct {
	requests, rateLimited, serverErrors, dropped, slowed atomic.Int64
}

// FaultStats returns how many requests the emulator received and how many of
// them fault injection slowed, rate limited, failed or dropped.
func (e *Emulator) FaultStats() FaultStats {
	c := &e.counters
	return FaultStats{
		Requests:     c.requests.Load(),
		RateLimited:  c.rateLimited.Load(),
		ServerErrors: c.serverErrors.Load(),
		Dropped:      c.dropped.Load(),
		Slowed:       c.slowed.Load(),
	}
}

// faultKind is what fault injection decided for one request.
type faultKind uint8

const (
	faultNone faultKind = iota
	faultRateLimited
	faultServerError
	faultDrop
)

// faultInjector draws faults from a seeded source, one request at a time.
type faultInjector struct {
	cfg        Faults
	retryAfter string

	mu       sync.Mutex
	rng      *rand.Rand
	errCount uint64 // server errors so far, to alternate 500 and 503
}

func newFaultInjector(f Faults) *faultInjector {
	clamp := func(p float64) float64 { return min(max(p, 0), 1) }
	f.RateLimited, f.ServerError = clamp(f.RateLimited), clamp(f.ServerError)
	f.Drop, f.Slow = clamp(f.Drop), clamp(f.Slow)
	secs := int64(1)
	if f.RetryAfter > 0 {
		secs = int64((f.RetryAfter + time.Second - 1) / time.Second)
	}
	seed := uint64(f.Seed)
	return &faultInjector{
		cfg:        f,
		retryAfter: strconv.FormatInt(secs, 10),
		rng:        rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
	}
}

// decide draws the fate of one request. status is 500 or 503 for a server error.
func (f *faultInjector) decide() (kind faultKind, status int, slow bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, s := f.rng.Float64(), f.rng.Float64()
	slow = s < f.cfg.Slow
	switch {
	case u < f.cfg.RateLimited:
		kind = faultRateLimited
	case u < f.cfg.RateLimited+f.cfg.ServerError:
		kind, status = faultServerError, http.StatusInternalServerError
		if f.errCount%2 == 1 {
			status = http.StatusServiceUnavailable
		}
		f.errCount++
	case u < f.cfg.RateLimited+f.cfg.ServerError+f.cfg.Drop:
		kind = faultDrop
	}
	return kind, status, slow
}

// inject applies fault injection to r. It reports whether the request was
// dealt with (answered, dropped or abandoned) and must not be handled.
func (e *Emulator) inject(w http.ResponseWriter, r *http.Request) bool {
	f := e.faults
	kind, status, slow := f.decide()
	if slow {
		e.counters.slowed.Add(1)
		t := time.NewTimer(f.cfg.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return true
		}
	}
	switch kind {
	case faultRateLimited:
		e.counters.rateLimited.Add(1)
		w.Header().Set("Retry-After", f.retryAfter)
		writeError(w, newError(http.StatusTooManyRequests, codeRateLimited,
			"Rate limited. Please wait and consider throttling your request speed"))
	case faultServerError:
		e.counters.serverErrors.Add(1)
		msg := "Internal server error"
		if status == http.StatusServiceUnavailable {
			msg = "Service temporarily unavailable"
		}
		writeError(w, newError(status, codeInternal, "%s", msg))
	case faultDrop:
		e.counters.dropped.Add(1)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		_ = conn.Close()
	default:
		return false
	}
	return true
}
