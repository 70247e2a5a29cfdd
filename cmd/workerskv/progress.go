package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/workerskv/workerskv"
)

// progress shows how far a long job has come on stderr: items done, the total when known, the rate
// and the time left. It shows nothing when stderr is not a terminal, or with --quiet or --json, so
// that scripts and logs get no extra output. A nil *progress is valid and shows nothing.
type progress struct {
	mu    sync.Mutex
	bar   *progressbar.ProgressBar
	w     io.Writer
	done  int
	total int // -1 when not known
}

// newProgress returns a progress display for a job described by desc, of total items (-1 when not
// known), or nil when there must be none.
func (a *app) newProgress(desc string, total int) *progress {
	if a.quiet || a.jsonOut || !isTerminal(a.stderr) {
		return nil
	}
	return newProgressTo(a.stderr, desc, total)
}

func newProgressTo(w io.Writer, desc string, total int) *progress {
	bar := progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("keys"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetRenderBlankState(true),
		progressbar.OptionSpinnerType(14),
	)
	return &progress{bar: bar, w: w, total: total}
}

// set shows done items.
func (p *progress) set(done int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done = done
	_ = p.bar.Set(done)
}

// add shows n more items done.
func (p *progress) add(n int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	_ = p.bar.Set(p.done)
}

// bulk returns a progress callback for a bulk job whose items start at base.
func (p *progress) bulk(base int) func(workerskv.BulkProgress) {
	if p == nil {
		return nil
	}
	return func(bp workerskv.BulkProgress) { p.set(base + bp.Done) }
}

// finish shows the final state on its own line, so that what follows starts on a new one: the whole
// bar when the job completed (the count as the total, when it was not known), the last state shown
// when it did not.
func (p *progress) finish(completed bool) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if completed {
		if p.total < 0 {
			p.bar.ChangeMax(max(p.done, 1))
		}
		_ = p.bar.Finish()
	} else {
		_ = p.bar.Exit()
	}
	fmt.Fprintln(p.w)
}
