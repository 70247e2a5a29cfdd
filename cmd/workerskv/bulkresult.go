package main

import (
	"context"
	"fmt"

	"github.com/workerskv/workerskv"
)

// bulkSummary accounts for every item of a bulk write or delete: the --json output of bulk put,
// bulk delete and import, and what a partial failure reports.
type bulkSummary struct {
	// Total is how many items the input holds.
	Total int `json:"total"`
	// Succeeded is how many the API confirmed.
	Succeeded int `json:"succeeded"`
	// Unsuccessful lists keys the API did not write (or delete), after the retries.
	Unsuccessful []string `json:"unsuccessful"`
	// Unconfirmed lists keys whose outcome is unknown: the job stopped while they were in flight.
	Unconfirmed []string `json:"unconfirmed"`
	// NotSent is how many items were never read from the input because the job stopped first.
	NotSent int `json:"not_sent"`
	// Interrupted says the job was stopped by Ctrl-C.
	Interrupted bool `json:"interrupted"`
}

// add accounts for a bulk job's result.
func (s *bulkSummary) add(res *workerskv.BulkResult) {
	if res == nil {
		return
	}
	s.Succeeded += res.Succeeded
	s.Unsuccessful = append(s.Unsuccessful, res.Unsuccessful...)
	s.Unconfirmed = append(s.Unconfirmed, res.Unconfirmed...)
}

// finish works out how many items were not sent and whether ctx was cancelled.
func (s *bulkSummary) finish(ctx context.Context) {
	s.NotSent = max(0, s.Total-s.Succeeded-len(s.Unsuccessful)-len(s.Unconfirmed))
	s.Interrupted = ctx.Err() != nil && !s.complete()
}

// complete reports whether every item was confirmed.
func (s *bulkSummary) complete() bool {
	return len(s.Unsuccessful) == 0 && len(s.Unconfirmed) == 0 && s.Succeeded >= s.Total
}

// counts is the summary as one phrase.
func (s *bulkSummary) counts() string {
	head := "not every key was done"
	if s.Interrupted {
		head = "interrupted"
	}
	return fmt.Sprintf("%s: %d of %d succeeded, %d unsuccessful, %d unconfirmed, %d not sent",
		head, s.Succeeded, s.Total, len(s.Unsuccessful), len(s.Unconfirmed), s.NotSent)
}

// runBulk runs one library bulk job of op over total items with a progress display, and ends the
// command as endBulk does. job is given the options that feed the display.
func (a *app) runBulk(ctx context.Context, op, verb string, total int, job func(*workerskv.BulkOptions) (*workerskv.BulkResult, error)) error {
	bar := a.newProgress(op, total)
	res, jobErr := job(a.bulkOptions(bar.bulk(0)))
	bar.finish(jobErr == nil && res != nil && len(res.Unsuccessful) == 0 && len(res.Unconfirmed) == 0)
	if res == nil {
		return fail(op, jobErr)
	}
	sum := &bulkSummary{Total: total}
	sum.add(res)
	return a.endBulk(ctx, op, verb, sum, jobErr)
}

// endBulk reports the end of a bulk job of op: the summary as JSON with --json, a confirmation
// with verb ("Wrote", "Deleted", "Imported") otherwise; and a *partialError unless every item was
// confirmed. jobErr is the error the job ended with, if any.
func (a *app) endBulk(ctx context.Context, op, verb string, sum *bulkSummary, jobErr error) error {
	if sum.Unsuccessful == nil {
		sum.Unsuccessful = []string{}
	}
	if sum.Unconfirmed == nil {
		sum.Unconfirmed = []string{}
	}
	sum.finish(ctx)
	if a.jsonOut {
		if err := a.printJSON(sum); err != nil {
			return err
		}
	}
	if sum.complete() {
		if jobErr != nil && ctx.Err() == nil {
			return fail(op, jobErr)
		}
		a.say("%s %s", verb, plural(sum.Succeeded, "key"))
		return nil
	}
	return &partialError{op: op, sum: *sum, cause: jobErr, listed: a.jsonOut}
}

// plural is n and noun, in the plural unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
