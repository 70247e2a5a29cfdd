package workerskv

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"time"

	"github.com/workerskv/workerskv/internal/limits"
)

// BulkService writes, reads and deletes many keys at once. It accepts any number of items and splits
// them into requests within the API's limits: at most 10,000 pairs and under 100 MB of JSON per write,
// 10,000 keys per delete, 100 keys per get. Use it through [Client.Bulk].
type BulkService service

// BulkPair is one key to write in bulk.
type BulkPair struct {
	// Key is the key name (1–512 bytes of valid UTF-8).
	Key string
	// Value is stored byte-exact; values that are not valid UTF-8 are sent base64-encoded.
	Value []byte
	// Expiration and ExpirationTTL are as in [PutOptions]: at most one of them.
	Expiration    time.Time
	ExpirationTTL time.Duration
	// Metadata is as in [PutOptions].
	Metadata any
}

// Validate reports, as a [*ValidationError], what a bulk write would refuse in p before sending
// anything: a key that is empty, "." or "..", over 512 bytes or not valid UTF-8; a value over 25 MiB;
// both expirations, or one under 60 seconds away; metadata that does not encode as JSON of at most
// 1,024 bytes. Tools that read pairs from a file can check all of them before a job starts.
func (p *BulkPair) Validate() error {
	_, err := preparePair(p, time.Now(), false)
	return err
}

// BulkOptions tunes a bulk job. The zero value runs 4 requests at a time with no progress reports.
type BulkOptions struct {
	// Concurrency is how many requests run at once (default 4). They all go through the client's
	// rate limiter, if it has one.
	Concurrency int
	// Progress, if set, is called after each finished request, never concurrently.
	Progress func(BulkProgress)
	// Resends is how many times keys the API reports in unsuccessful_keys are sent again, with backoff:
	// 0 means the default (3), and [NoRetries] (or any negative count) means none. Each request is also
	// retried on its own as the client's [WithMaxRetries] says.
	Resends int
}

// BulkProgress reports how far a bulk job has come.
type BulkProgress struct {
	// Done is how many items the API has confirmed; Total how many there are (-1 when unknown, for
	// streamed input).
	Done, Total int
	// Requests is how many requests have finished; Bytes how many request-body bytes they carried.
	Requests int
	Bytes    int64
}

// BulkResult accounts for every item of a bulk write or delete: partial failure is data, not a lost
// error.
type BulkResult struct {
	// Succeeded is how many items the API confirmed written (or deleted).
	Succeeded int
	// Unsuccessful lists keys the API reported it could not write (after the retries, or when the job
	// stopped before they could be retried), or whose request failed for good.
	Unsuccessful []string
	// Unconfirmed lists keys whose outcome is unknown because the job stopped early (context cancelled
	// or an error): never sent, or sent in a request that did not complete. Empty when the job ran to
	// its end.
	Unconfirmed []string
}

func (o *BulkOptions) normalized() BulkOptions {
	var n BulkOptions
	if o != nil {
		n = *o
	}
	if n.Concurrency <= 0 {
		n.Concurrency = 4
	}
	switch {
	case n.Resends == 0:
		n.Resends = 3
	case n.Resends < 0:
		n.Resends = 0
	}
	return n
}

// Put writes pairs (PUT .../namespaces/{namespace_id}/bulk), as many requests as the limits need, up to
// opts.Concurrency at a time. Every pair is checked before anything is sent; a pair that can never fit
// gives a [*ValidationError] and no request is made. Pairs are encoded as their requests are built,
// so at most a few requests' worth are held at once besides pairs itself. Keys the API reports in
// unsuccessful_keys are retried; the result says which keys were not written. On an error (including
// a cancelled context) the result is still returned and accounts for every pair:
// Succeeded + len(Unsuccessful) + len(Unconfirmed) == len(pairs).
func (s *BulkService) Put(ctx context.Context, namespaceID string, pairs []BulkPair, opts *BulkOptions) (*BulkResult, error) {
	if err := validateNamespaceID(namespaceID); err != nil {
		return nil, err
	}
	// Nothing is sent before every pair is checked. The pairs of the first request are checked as
	// they are encoded, so a job of one request reads each pair once. The pairs after them are
	// checked next, keeping what the check worked out (expirations, encoded metadata) so that their
	// encoding only reads each value; an upper bound of a pair's size is enough to check it.
	now := time.Now()
	b := &chunker{maxItems: limits.MaxBulkWriteItems, maxBytes: limits.MaxBulkWriteBytes}
	var first *chunk
	i := 0
	for ; i < len(pairs) && first == nil; i++ {
		e, err := preparePair(&pairs[i], now, true)
		if err == nil && !itemFits(e.size, limits.MaxBulkWriteBytes) {
			err = tooLarge(e.key, e.size)
		}
		if err != nil {
			return nil, err
		}
		first = b.add(&e, len(pairs)-i)
	}
	// Pairs [0, i) are encoded: in first (when it filled up) and in b's chunk being built.
	encs := make([]pairEncoding, len(pairs)-i)
	if err := checkItems(len(encs), func(k int) (pairEncoding, error) {
		var err error
		encs[k], err = preparePair(&pairs[i+k], now, false)
		return encs[k], err
	}); err != nil {
		return nil, err
	}
	j := newBulkJob(s.client, http.MethodPut, s.client.nsPath(namespaceID, "bulk"), withTotal(opts, len(pairs)))
	return j.run(ctx, j.indexedFrom(first, b, i, len(pairs), func(k int) (pairEncoding, error) {
		e := encs[k-i] // k >= i: the producer starts at i
		e.measureValue()
		return e, nil
	}))
}

// PutSeq is [BulkService.Put] for input that need not fit in memory: it reads pairs from seq as it
// sends them, holding at most a few requests' worth at a time. An error from seq, or a pair that fails
// validation, stops the job: requests already sent are completed, and the error is returned with the
// result. Pairs read from seq are accounted for in the result, pairs not yet read are not. Progress
// reports carry Total -1.
func (s *BulkService) PutSeq(ctx context.Context, namespaceID string, seq iter.Seq2[BulkPair, error], opts *BulkOptions) (*BulkResult, error) {
	if err := validateNamespaceID(namespaceID); err != nil {
		return nil, err
	}
	j := newBulkJob(s.client, http.MethodPut, s.client.nsPath(namespaceID, "bulk"), opts)
	now := time.Now()
	b := &chunker{maxItems: limits.MaxBulkWriteItems, maxBytes: limits.MaxBulkWriteBytes}
	return j.run(ctx, seqProducer(j, b, seq, func(p BulkPair) (pairEncoding, error) {
		e, err := preparePair(&p, now, true)
		if err == nil && !itemFits(e.size, limits.MaxBulkWriteBytes) {
			err = tooLarge(p.Key, e.size)
		}
		return e, err
	}))
}

// Delete deletes keys (POST .../namespaces/{namespace_id}/bulk/delete), 10,000 per request, up to
// opts.Concurrency at a time. Every key is checked before anything is sent. Deleting a key that does
// not exist counts as a success. The result accounts for every key as [BulkService.Put] does.
func (s *BulkService) Delete(ctx context.Context, namespaceID string, keys []string, opts *BulkOptions) (*BulkResult, error) {
	if err := validateNamespaceID(namespaceID); err != nil {
		return nil, err
	}
	prepare := func(i int) (pairEncoding, error) { return keyEncoding(keys[i]) }
	if err := checkItems(len(keys), prepare); err != nil {
		return nil, err
	}
	j := newBulkJob(s.client, http.MethodPost, s.client.nsPath(namespaceID, "bulk", "delete"), withTotal(opts, len(keys)))
	return j.run(ctx, j.indexed(len(keys), limits.MaxBulkDeleteItems, prepare))
}

// DeleteSeq is [BulkService.Delete] for keys that need not fit in memory: it reads keys from seq as it
// sends them, 10,000 per request, holding at most a few requests' worth at a time. An error from seq,
// or a key that fails validation, stops the job: requests already sent are completed, and the error is
// returned with the result. Keys read from seq are accounted for in the result, keys not yet read are
// not. Progress reports carry Total -1.
func (s *BulkService) DeleteSeq(ctx context.Context, namespaceID string, seq iter.Seq2[string, error], opts *BulkOptions) (*BulkResult, error) {
	if err := validateNamespaceID(namespaceID); err != nil {
		return nil, err
	}
	j := newBulkJob(s.client, http.MethodPost, s.client.nsPath(namespaceID, "bulk", "delete"), opts)
	b := &chunker{maxItems: limits.MaxBulkDeleteItems, maxBytes: limits.MaxBulkWriteBytes}
	return j.run(ctx, seqProducer(j, b, seq, keyEncoding))
}

// seqProducer is the producer of a streamed job (PutSeq, DeleteSeq): it reads items from seq,
// prepares each (checks and measures it; prepare names the item's key even when it refuses it), and
// emits chunks as b fills them. An error from seq, or
// an item that prepare refuses, stops the job with that error; a cancelled context or a refused chunk
// stops it without one. Items read but not sent are accounted as unconfirmed; the refused item and
// items not yet read are not accounted.
func seqProducer[T any](j *bulkJob, b *chunker, seq iter.Seq2[T, error], prepare func(T) (pairEncoding, error)) producer {
	return func(ctx context.Context, emit func(*chunk, bool) bool) error {
		stop := func(more ...string) {
			if c := b.rest(); c != nil {
				j.unconfirmed(c.keys)
			}
			j.unconfirmed(more)
		}
		for item, err := range seq {
			if err != nil {
				stop()
				return fmt.Errorf("workerskv: bulk input: %w", err)
			}
			e, err := prepare(item)
			if ctx.Err() != nil {
				stop(e.key)
				return nil
			}
			if err != nil {
				stop()
				return err
			}
			if full := b.add(&e, 0); full != nil && !emit(full, false) {
				stop()
				return nil
			}
		}
		if c := b.rest(); c != nil {
			emit(c, true)
		}
		return nil
	}
}
