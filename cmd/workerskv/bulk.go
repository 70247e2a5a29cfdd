package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/workerskv/workerskv"
)

func (a *app) bulkCommand() *cobra.Command {
	return group("bulk", "Write, read and delete many keys from a wrangler bulk file",
		a.bulkPutCommand(), a.bulkGetCommand(), a.bulkDeleteCommand())
}

func (a *app) bulkPutCommand() *cobra.Command {
	var ns nsFlags
	cmd := &cobra.Command{
		Use:   "put FILE --namespace-id ID",
		Short: "Write the key-value pairs of a wrangler bulk file (- for stdin)",
		Long: `Write the key-value pairs of a wrangler bulk file (- for stdin): a JSON array of
{"key", "value", "expiration", "expiration_ttl", "metadata", "base64"}.

The whole file is checked before anything is sent; a malformed item is named by its index and line.
The file is streamed, so it need not fit in memory. Exits with status 4 when some keys were not
written, listing them.`,
		Args: exactArgs("FILE"),
	}
	cmd.RunE = runE(func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		c, id, in, err := a.namespaceInput(ctx, &ns, args[0])
		if err != nil {
			return err
		}
		defer in.close()
		total, err := a.checkPutFile(ctx, in)
		if err != nil {
			return err
		}
		return a.runBulk(ctx, "bulk put", "Wrote", total, func(opts *workerskv.BulkOptions) (*workerskv.BulkResult, error) {
			return c.Bulk.PutSeq(ctx, id, putPairs(in), opts)
		})
	})
	ns.register(cmd)
	return cmd
}

// checkPutFile reads a bulk put file through and returns how many items it holds, or the first
// problem with it. Fields wrangler's format does not have are named in a warning.
func (a *app) checkPutFile(ctx context.Context, in *input) (int, error) {
	r, err := newBulkReader(in)
	if err != nil {
		return 0, err
	}
	defer r.close()
	warned := map[string]bool{}
	unknown := func(name string) {
		if !warned[name] && !a.quiet {
			fmt.Fprintf(a.stderr, "workerskv: warning: %s: item [%d]: unknown field %q ignored\n", in.name, r.item-1, name)
		}
		warned[name] = true
	}
	now := time.Now()
	for n := 0; ; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return 0, fmt.Errorf("interrupted while checking %s; nothing was sent: %w", in.name, ctx.Err())
		}
		raw, err := r.next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
		if _, err := putItem(raw, now, unknown); err != nil {
			return 0, r.errorf("%v", err)
		}
	}
}

// putPairs reads a checked bulk put file again, yielding its pairs.
func putPairs(in *input) iter.Seq2[workerskv.BulkPair, error] {
	return func(yield func(workerskv.BulkPair, error) bool) {
		r, err := newBulkReader(in)
		if err != nil {
			yield(workerskv.BulkPair{}, err)
			return
		}
		defer r.close()
		now := time.Now()
		for {
			raw, err := r.next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield(workerskv.BulkPair{}, err)
				return
			}
			p, err := putItem(raw, now, func(string) {})
			if err != nil {
				err = r.errorf("%v", err)
			}
			if !yield(p, err) || err != nil {
				return
			}
		}
	}
}

// readKeyFile checks a bulk get or delete file through, then tells start how many keys it holds
// and calls batch with its keys in order, at most size at a time, until batch returns false.
func readKeyFile(ctx context.Context, in *input, size int, start func(total int), batch func([]string) bool) (total int, err error) {
	total, err = countKeys(ctx, in)
	if err != nil || total == 0 {
		return total, err
	}
	start(total)
	keys := make([]string, 0, min(size, 1024))
	for key, err := range keyFileSeq(in) {
		if err != nil {
			return total, err
		}
		if keys = append(keys, key); len(keys) == size {
			if !batch(keys) {
				return total, nil
			}
			keys = keys[:0]
		}
	}
	if len(keys) > 0 {
		batch(keys)
	}
	return total, nil
}

// countKeys checks a bulk get or delete file through and counts its keys, sending nothing.
func countKeys(ctx context.Context, in *input) (int, error) {
	n := 0
	for _, err := range keyFileSeq(in) {
		if err != nil {
			return 0, err
		}
		if n%1024 == 0 && ctx.Err() != nil {
			return 0, fmt.Errorf("interrupted while checking %s; nothing was sent: %w", in.name, ctx.Err())
		}
		n++
	}
	return n, nil
}

// keyFileSeq reads the keys of a bulk get or delete file from its start, in order, stopping at the
// first error.
func keyFileSeq(in *input) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		r, err := newBulkReader(in)
		if err != nil {
			yield("", err)
			return
		}
		defer r.close()
		for {
			raw, err := r.next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err == nil {
				var key string
				if key, err = keyItem(raw); err != nil {
					err = r.errorf("%v", err)
				} else if !yield(key, nil) {
					return
				}
			}
			if err != nil {
				yield("", err)
				return
			}
		}
	}
}

func (a *app) bulkDeleteCommand() *cobra.Command {
	var ns nsFlags
	cmd := &cobra.Command{
		Use:   "delete FILE --namespace-id ID",
		Short: "Delete the keys of a wrangler bulk file (- for stdin)",
		Long: `Delete the keys of a wrangler bulk file (- for stdin): a JSON array of key strings, or of
objects with "key" (such as a bulk put file). Deleting a missing key succeeds. Exits with status 4
when some keys were not deleted, listing them.`,
		Args: exactArgs("FILE"),
	}
	cmd.RunE = runE(func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		c, id, in, err := a.namespaceInput(ctx, &ns, args[0])
		if err != nil {
			return err
		}
		defer in.close()
		// Checked through first, so that a bad file sends nothing and the progress bar knows the total.
		total, err := countKeys(ctx, in)
		if err != nil {
			return err
		}
		sum := &bulkSummary{}
		var jobErr error
		if total > 0 {
			bar := a.newProgress("bulk delete", total)
			var res *workerskv.BulkResult
			res, jobErr = c.Bulk.DeleteSeq(ctx, id, keyFileSeq(in), a.bulkOptions(bar.bulk(0)))
			sum.add(res)
			bar.finish(jobErr == nil && len(sum.Unsuccessful)+len(sum.Unconfirmed) == 0)
		}
		sum.Total = total
		return a.endBulk(ctx, "bulk delete", "Deleted", sum, jobErr)
	})
	ns.register(cmd)
	return cmd
}

// getBatch is how many keys one Bulk.Get call gets before its values are written out.
const getBatch = 1000

func (a *app) bulkGetCommand() *cobra.Command {
	var ns nsFlags
	cmd := &cobra.Command{
		Use:   "get FILE --namespace-id ID",
		Short: "Read the values of the keys of a wrangler bulk file (- for stdin)",
		Long: `Read the values of the keys of a wrangler bulk file (- for stdin): a JSON array of key
strings, or of objects with "key". Writes a table of keys and values, or with --json one object
mapping each key to its value (null for a missing key). The API serves only text values in bulk:
read a binary value with "workerskv key get".`,
		Args: exactArgs("FILE"),
	}
	cmd.RunE = runE(func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		c, id, in, err := a.namespaceInput(ctx, &ns, args[0])
		if err != nil {
			return err
		}
		defer in.close()
		out := newBulkGetWriter(a)
		var jobErr error
		_, err = readKeyFile(ctx, in, getBatch, func(int) {}, func(keys []string) bool {
			vals, err := c.Bulk.Get(ctx, id, keys, nil)
			if err != nil {
				jobErr = err
				return false
			}
			for _, k := range keys {
				v, ok := vals[k]
				if jobErr = out.value(k, v.Value, ok); jobErr != nil {
					return false
				}
			}
			return true
		})
		if err != nil {
			return err
		}
		if jobErr != nil {
			if hasCode(jobErr, codeNotText) {
				return fail("bulk get", fmt.Errorf("%s: read values that are not text with \"workerskv key get\"", describe(jobErr)))
			}
			return fail("bulk get", jobErr)
		}
		return out.close()
	})
	ns.register(cmd)
	return cmd
}

// bulkGetWriter writes values as they are read: a table, or with --json one JSON object.
type bulkGetWriter struct{ *listing }

func newBulkGetWriter(a *app) *bulkGetWriter {
	return &bulkGetWriter{a.newListing("{", "}", "KEY", "VALUE")}
}

func (w *bulkGetWriter) value(key string, v []byte, found bool) error {
	if w.t != nil {
		shown := "(not found)"
		if found {
			shown = displayValue(v)
		}
		w.t.row(displayKey(key), shown)
		return nil
	}
	k, _ := marshalJSON(key, "", "")
	val := []byte("null")
	if found {
		val, _ = marshalJSON(string(v), "", "")
	}
	return w.member(string(k) + ": " + string(val))
}

// displayValue shows a value in a table: as is when short and printable, quoted otherwise, cut
// to 60 characters.
func displayValue(v []byte) string {
	s := displayKey(string(v))
	if utf8.RuneCountInString(s) > 60 {
		r := []rune(s)
		s = string(r[:59]) + "…"
	}
	return s
}
