package workerskv

import (
	"context"
	"fmt"
	"iter"
)

// pageNumberSeq iterates over every item of a page-numbered listing, starting at page first (1 when 0).
// Each range starts over, fetches lazily, stops on the first error (yielding it), and makes no request
// after the loop body breaks.
func pageNumberSeq[T any](ctx context.Context, first int, fetch func(ctx context.Context, page int) (items []T, more bool, err error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		page := max(first, 1)
		for {
			items, more, err := fetch(ctx, page)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if !more || len(items) == 0 {
				return
			}
			page++
		}
	}
}

// cursorSeq iterates over every item of a cursor-paged listing, starting at cursor start. It follows
// the cursor until it is empty, keeps going across empty pages while a cursor remains, and ends with an
// error if the server hands back a cursor it already gave (which would loop forever). Each range starts
// over; no request is made after the loop body breaks.
func cursorSeq[T any](ctx context.Context, start string, fetch func(ctx context.Context, cursor string) (items []T, next string, err error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		cursor := start
		seen := map[string]bool{}
		if start != "" {
			seen[start] = true
		}
		for {
			items, next, err := fetch(ctx, cursor)
			if err != nil {
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if next == "" {
				return
			}
			if seen[next] {
				yield(zero, fmt.Errorf("workerskv: the server repeated the cursor %q: listing stopped to avoid a loop", truncate(next, 40)))
				return
			}
			seen[next] = true
			cursor = next
		}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
