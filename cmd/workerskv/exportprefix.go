package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"unicode/utf8"

	"github.com/workerskv/workerskv"
	"github.com/workerskv/workerskv/internal/limits"
)

// exportPrefix writes the keys of a namespace that start with prefix to w, in the format of
// Bulk.Export, which has no prefix option. Like Bulk.Export it lists a page of keys at a time and
// reads their values in bulk, so memory stays bounded by a page of values; values the API will not
// serve in bulk (not text) are read one by one, and keys deleted since they were listed are left
// out.
func exportPrefix(ctx context.Context, c *workerskv.Client, id, prefix string, w io.Writer) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	page := make([]workerskv.Key, 0, limits.MaxListLimit)
	flush := func() error {
		for start := 0; start < len(page); start += limits.MaxBulkGetItems {
			batch := page[start:min(start+limits.MaxBulkGetItems, len(page))]
			if err := exportBatch(ctx, c, id, batch, enc); err != nil {
				return err
			}
		}
		page = page[:0]
		return nil
	}
	for k, err := range c.Keys.All(ctx, id, &workerskv.ListKeysOptions{Prefix: prefix}) {
		if err != nil {
			return err
		}
		if page = append(page, k); len(page) == cap(page) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	return bw.Flush()
}

func exportBatch(ctx context.Context, c *workerskv.Client, id string, batch []workerskv.Key, enc *json.Encoder) error {
	names := make([]string, len(batch))
	for i, k := range batch {
		names[i] = k.Name
	}
	vals, err := c.Bulk.Get(ctx, id, names, nil)
	oneByOne := hasCode(err, codeNotText)
	if err != nil && !oneByOne {
		return err
	}
	for _, k := range batch {
		var value []byte
		if v, ok := vals[k.Name]; ok && !oneByOne {
			value = v.Value
		} else if !oneByOne {
			continue // deleted since it was listed
		}
		if oneByOne || bytes.ContainsRune(value, utf8.RuneError) {
			// Read on its own for its exact bytes: a bulk read carries text only.
			value, err = c.Values.Get(ctx, id, k.Name)
			if errors.Is(err, workerskv.ErrKeyNotFound) {
				continue
			}
			if err != nil {
				return err
			}
		}
		if err := enc.Encode(newEntryJSON(k.Name, value, k.Expiration, k.Metadata)); err != nil {
			return err
		}
	}
	return nil
}
