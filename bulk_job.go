package workerskv

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/workerskv/workerskv/internal/limits"
)

// bulkJob runs the requests of one bulk write or delete concurrently and accounts for every key.
type bulkJob struct {
	c        *Client
	method   string
	segments segments
	opts     BulkOptions

	mu       sync.Mutex
	res      BulkResult
	progress BulkProgress
	err      error
	// interrupted is set when the job stopped before every item had an answer.
	interrupted bool
	cancel      context.CancelFunc
}

func newBulkJob(c *Client, method string, path segments, opts *BulkOptions) *bulkJob {
	j := &bulkJob{c: c, method: method, segments: path, opts: opts.normalized()}
	j.progress.Total = -1
	return j
}

// producer hands a job its chunks, in order, through emit; last marks the final chunk.
type producer func(ctx context.Context, emit func(ch *chunk, last bool) bool) error

// run lets produce hand chunks to the job through emit, which returns false once the job is stopping
// (having accounted the chunk as unconfirmed), and waits for every request. Workers are started as
// chunks need them, up to the concurrency; the last chunk (last true) is sent by the producer itself
// when a worker slot is free, so a job of one request starts no goroutine. produce accounts for the
// items it never handed over. An error from produce stops the job without cancelling the requests
// already sent.
func (j *bulkJob) run(parent context.Context, produce producer) (*BulkResult, error) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	j.cancel = cancel
	var (
		work    chan *chunk
		workers int
		wg      sync.WaitGroup
	)
	worker := func() {
		for ch := range work {
			if ctx.Err() != nil {
				j.unconfirmed(ch.keys)
				continue
			}
			j.send(ctx, ch)
		}
	}
	emit := func(ch *chunk, last bool) bool {
		if ctx.Err() != nil {
			j.unconfirmed(ch.keys)
			return false
		}
		if last && workers < j.opts.Concurrency {
			j.send(ctx, ch)
			return true
		}
		if work == nil {
			work = make(chan *chunk)
		}
		select {
		case work <- ch: // an idle worker took it
			return true
		default:
		}
		if workers < j.opts.Concurrency {
			workers++
			wg.Go(worker)
		}
		select {
		case work <- ch:
			return true
		case <-ctx.Done():
		}
		j.unconfirmed(ch.keys)
		return false
	}
	func() {
		// Deferred, so that a panic from the input or a Progress callback on this goroutine leaves no
		// worker waiting for chunks.
		defer func() {
			if work != nil {
				close(work)
			}
			wg.Wait()
		}()
		if err := produce(ctx, emit); err != nil {
			j.setErr(err)
		}
	}()
	if j.err == nil && j.interrupted {
		// Stopped early by the caller's context (the job cancels itself only on an error).
		j.err = parent.Err()
		if j.err == nil {
			j.err = context.Canceled
		}
	}
	return &j.res, j.err
}

// send posts one chunk, then resends the keys the API reports as unsuccessful, with backoff, up to the
// configured number of retries.
func (j *bulkJob) send(ctx context.Context, ch *chunk) {
	for round := 0; ; round++ {
		res, _, err := call[*bulkWriteResult](ctx, j.c, &request{
			method: j.method, segments: j.segments, contentType: "application/json",
			body: retryablehttp.ReaderFunc(ch.reader), bodyLen: int64(ch.size),
		})
		if err != nil {
			if ctx.Err() != nil {
				j.unconfirmed(ch.keys)
			} else {
				j.unsuccessful(ch.keys)
				j.fail(err)
			}
			return
		}
		var failed []int
		if res != nil && len(res.UnsuccessfulKeys) > 0 {
			bad := make(map[string]bool, len(res.UnsuccessfulKeys))
			for _, k := range res.UnsuccessfulKeys {
				bad[k] = true
			}
			for i, k := range ch.keys {
				if bad[k] {
					failed = append(failed, i)
				}
			}
		}
		j.finished(ch.len()-len(failed), int64(ch.size))
		if len(failed) == 0 {
			return
		}
		ch = ch.subset(failed)
		if round >= j.opts.Resends {
			j.unsuccessful(ch.keys)
			return
		}
		if !sleepCtx(ctx, j.c.core.backoffFor(round+1)) {
			// The API said these were not written; the job stopped before they could be retried.
			j.unsuccessful(ch.keys)
			j.mu.Lock()
			j.interrupted = true
			j.mu.Unlock()
			return
		}
	}
}

func (j *bulkJob) finished(ok int, bytes int64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.res.Succeeded += ok
	j.progress.Done += ok
	j.progress.Requests++
	j.progress.Bytes += bytes
	if j.opts.Progress != nil {
		j.opts.Progress(j.progress)
	}
}

func (j *bulkJob) unsuccessful(keys []string) {
	j.mu.Lock()
	j.res.Unsuccessful = append(j.res.Unsuccessful, keys...)
	j.mu.Unlock()
}

func (j *bulkJob) unconfirmed(keys []string) {
	if len(keys) == 0 {
		return
	}
	j.mu.Lock()
	j.res.Unconfirmed = append(j.res.Unconfirmed, keys...)
	j.interrupted = true
	j.mu.Unlock()
}

// fail records the job's first error and stops it, cancelling the requests in flight.
func (j *bulkJob) fail(err error) {
	j.setErr(err)
	j.cancel()
}

// setErr records the job's first error.
func (j *bulkJob) setErr(err error) {
	j.mu.Lock()
	if j.err == nil && !errors.Is(err, context.Canceled) {
		j.err = err
	}
	j.mu.Unlock()
}

// sleepCtx waits for d or until ctx is done; it reports whether the full wait passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// itemPreparer checks item i and returns its encoding.
type itemPreparer func(i int) (pairEncoding, error)

// checkItems checks each of n items and returns the first one's validation error, or a
// [*ValidationError] for an item too large for any request.
func checkItems(n int, prepare itemPreparer) error {
	for i := range n {
		e, err := prepare(i)
		if err != nil {
			return err
		}
		if !itemFits(e.size, limits.MaxBulkWriteBytes) {
			return tooLarge(e.key, e.size)
		}
	}
	return nil
}

func tooLarge(key string, n int) error {
	return invalid("value", "key %q: %d bytes encoded, more than one bulk request may carry (%d)", key, n, limits.MaxBulkWriteBytes)
}

// indexed is a producer that encodes n checked items, in order, into chunks of at most maxItems as it
// hands them to the job. When the job stops, the items it never sent are accounted as unconfirmed.
func (j *bulkJob) indexed(n, maxItems int, prepare itemPreparer) producer {
	return j.indexedFrom(nil, &chunker{maxItems: maxItems, maxBytes: limits.MaxBulkWriteBytes}, 0, n, prepare)
}

// indexedFrom is [bulkJob.indexed] for a job whose items before from are already encoded: first (a
// full chunk, or nil) and b's chunk being built hold them. It hands over first, then carries on
// encoding from item from into b.
func (j *bulkJob) indexedFrom(first *chunk, b *chunker, from, n int, prepare itemPreparer) producer {
	return func(ctx context.Context, emit func(*chunk, bool) bool) error {
		stop := func(from int) {
			if c := b.rest(); c != nil {
				j.unconfirmed(c.keys)
			}
			rest := make([]string, 0, n-from)
			for i := from; i < n; i++ {
				e, _ := prepare(i)
				rest = append(rest, e.key)
			}
			j.unconfirmed(rest)
		}
		if first != nil && !emit(first, false) {
			stop(from)
			return nil
		}
		for i := from; i < n; i++ {
			if ctx.Err() != nil {
				stop(i)
				return nil
			}
			e, err := prepare(i)
			if err != nil { // checked before the job started: only input changed meanwhile gets here
				stop(i)
				return err
			}
			if full := b.add(&e, n-i); full != nil && !emit(full, false) {
				stop(i + 1)
				return nil
			}
		}
		if c := b.rest(); c != nil {
			emit(c, true)
		}
		return nil
	}
}

// withTotal returns options that carry the item count for progress reports.
func withTotal(opts *BulkOptions, total int) *BulkOptions {
	var o BulkOptions
	if opts != nil {
		o = *opts
	}
	if o.Progress != nil {
		p := o.Progress
		o.Progress = func(bp BulkProgress) {
			bp.Total = total
			p(bp)
		}
	}
	return &o
}

// bulkWriteResult is the result object of the bulk write and delete endpoints.
type bulkWriteResult struct {
	SuccessfulKeyCount int      `json:"successful_key_count"`
	UnsuccessfulKeys   []string `json:"unsuccessful_keys"`
}
