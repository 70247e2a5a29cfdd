package workerskv

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/workerskv/workerskv/internal/limits"
)

// exportLine is one line of the export format: the bulk-write item shape, one JSON object per line.
type exportLine struct {
	Key        string          `json:"key"`
	Value      string          `json:"value"`
	Base64     bool            `json:"base64,omitempty"`
	Expiration int64           `json:"expiration,omitempty"`
	Metadata   json.RawMessage `json:"metadata,omitempty"`
}

// ExportOptions tunes [BulkService.Export]. The zero value (or nil) exports every key.
type ExportOptions struct {
	// Prefix, when set, exports only the keys that start with it: a backup of one part of a
	// namespace, which [BulkService.Import] reads the same way.
	Prefix string
}

// Export writes the keys of a namespace (every key, or those opts selects; opts may be nil), in key
// order, to w as JSON Lines: one object per key with "key", "value" (base64-encoded with "base64": true
// when the value is not valid UTF-8, or when that is shorter than escaping it as JSON text), and
// "expiration" (epoch seconds) and "metadata" when the key has them. It lists keys a page at a time and
// reads their values in bulk, so memory stays bounded by one page of values. The output is what
// [BulkService.Import] reads.
func (s *BulkService) Export(ctx context.Context, namespaceID string, w io.Writer, opts *ExportOptions) error {
	var prefix string
	if opts != nil {
		prefix = opts.Prefix
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	page := make([]Key, 0, limits.MaxListLimit)
	flush := func() error {
		if err := s.exportPage(ctx, namespaceID, page, bw); err != nil {
			return err
		}
		page = page[:0]
		return nil
	}
	for k, err := range s.client.Keys.All(ctx, namespaceID, &ListKeysOptions{Prefix: prefix}) {
		if err != nil {
			return err
		}
		page = append(page, k)
		if len(page) == cap(page) {
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

func (s *BulkService) exportPage(ctx context.Context, namespaceID string, page []Key, w *bufio.Writer) error {
	if len(page) == 0 {
		return nil
	}
	names := make([]string, len(page))
	for i, k := range page {
		names[i] = k.Name
	}
	vals, err := s.exportValues(ctx, namespaceID, names)
	if err != nil {
		return err
	}
	var line []byte
	for _, k := range page {
		v, ok := vals[k.Name]
		if !ok {
			continue // deleted since it was listed
		}
		value := v.Value
		if bytes.ContainsRune(value, utf8.RuneError) {
			// The API refuses to serve bytes that are not UTF-8 in bulk (see exportValues), but a
			// server that replaces them with U+FFFD instead would corrupt a binary value: read a
			// value with a replacement character again for its exact bytes.
			raw, err := s.client.Values.Get(ctx, namespaceID, k.Name)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			value = raw
		}
		line = appendExportLine(line[:0], k, value)
		if _, err := w.Write(line); err != nil {
			return fmt.Errorf("workerskv: export: %w", err)
		}
	}
	return nil
}

// exportValues reads the values of names in bulk. The API refuses a whole bulk get when one of its
// values is not text (code 10029), so when that happens the values are read again a batch at a time,
// and each key of a batch that is refused on its own, which gives its exact bytes. Keys deleted since
// they were listed are absent from the result.
func (s *BulkService) exportValues(ctx context.Context, namespaceID string, names []string) (map[string]Entry, error) {
	vals, err := s.Get(ctx, namespaceID, names, nil)
	if err == nil || !isNonTextValue(err) {
		return vals, err
	}
	vals = make(map[string]Entry, len(names))
	for start := 0; start < len(names); start += limits.MaxBulkGetItems {
		batch := names[start:min(start+limits.MaxBulkGetItems, len(names))]
		got, err := s.Get(ctx, namespaceID, batch, &BulkGetOptions{Concurrency: 1})
		if err != nil && !isNonTextValue(err) {
			return nil, err
		}
		if err == nil {
			for k, v := range got {
				vals[k] = v
			}
			continue
		}
		for _, name := range batch {
			raw, err := s.client.Values.Get(ctx, namespaceID, name)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			vals[name] = Entry{Value: raw}
		}
	}
	return vals, nil
}

// isNonTextValue reports whether err is the API's refusal of a bulk get one of whose values is not
// text (code 10029).
func isNonTextValue(err error) bool { return hasCode(err, 10029) }

func appendExportLine(dst []byte, k Key, value []byte) []byte {
	dst = append(dst, `{"key":`...)
	dst = appendJSONString(dst, k.Name)
	dst = append(dst, `,"value":`...)
	dst = appendValue(dst, value)
	if !k.Expiration.IsZero() {
		dst = append(dst, `,"expiration":`...)
		dst = strconv.AppendInt(dst, k.Expiration.Unix(), 10)
	}
	if len(k.Metadata) > 0 {
		var buf bytes.Buffer
		if json.Compact(&buf, k.Metadata) == nil {
			dst = append(dst, `,"metadata":`...)
			dst = append(dst, buf.Bytes()...)
		}
	}
	return append(dst, '}', '\n')
}

// Import reads JSON Lines as written by [BulkService.Export] from r and writes them to a namespace
// through the bulk path ([BulkService.PutSeq]), streaming: memory stays bounded whatever the input
// size. Keys that expire less than 60 seconds from now cannot be written and are reported in the
// result's Unsuccessful list.
func (s *BulkService) Import(ctx context.Context, namespaceID string, r io.Reader, opts *BulkOptions) (*BulkResult, error) {
	var skipped []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 2*limits.MaxValueBytes)
	seq := iter.Seq2[BulkPair, error](func(yield func(BulkPair, error) bool) {
		now := time.Now()
		for n := 1; sc.Scan(); n++ {
			if len(bytes.TrimSpace(sc.Bytes())) == 0 {
				continue
			}
			var l exportLine
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				yield(BulkPair{}, fmt.Errorf("line %d: %w", n, err))
				return
			}
			p := BulkPair{Key: l.Key, Value: []byte(l.Value)}
			if l.Base64 {
				v, err := base64.StdEncoding.DecodeString(l.Value)
				if err != nil {
					yield(BulkPair{}, fmt.Errorf("line %d: key %q: bad base64: %w", n, l.Key, err))
					return
				}
				p.Value = v
			}
			if l.Expiration != 0 {
				if l.Expiration-now.Unix() < limits.MinTTLSeconds {
					skipped = append(skipped, l.Key)
					continue
				}
				p.Expiration = time.Unix(l.Expiration, 0)
			}
			if len(l.Metadata) > 0 && string(l.Metadata) != "null" {
				p.Metadata = l.Metadata
			}
			if !yield(p, nil) {
				return
			}
		}
		if err := sc.Err(); err != nil {
			yield(BulkPair{}, err)
		}
	})
	res, err := s.PutSeq(ctx, namespaceID, seq, opts)
	if res != nil {
		res.Unsuccessful = append(res.Unsuccessful, skipped...)
	}
	return res, err
}
