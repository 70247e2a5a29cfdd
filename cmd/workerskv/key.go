package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/workerskv/workerskv"
	"github.com/workerskv/workerskv/internal/limits"
)

func (a *app) keyCommand() *cobra.Command {
	return group("key", "Read and write single keys",
		a.keyListCommand(), a.keyGetCommand(), a.keyPutCommand(), a.keyDeleteCommand())
}

// keyJSON is a key in the --json output of key list, with wrangler's field names.
type keyJSON struct {
	Name       string          `json:"name"`
	Expiration int64           `json:"expiration,omitempty"`
	Metadata   json.RawMessage `json:"metadata,omitempty"`
}

func (a *app) keyListCommand() *cobra.Command {
	var (
		ns     nsFlags
		prefix string
		limit  int
	)
	cmd := &cobra.Command{
		Use:   "list --namespace-id ID [--prefix P] [--limit N]",
		Short: "List keys in key order, with their expiration and metadata",
		Args:  cobra.NoArgs,
	}
	cmd.RunE = runE(func(cmd *cobra.Command, _ []string) error {
		if limit < 0 {
			return usagef("--limit must be positive")
		}
		ctx := cmd.Context()
		c, id, err := a.namespace(ctx, &ns)
		if err != nil {
			return err
		}
		opts := &workerskv.ListKeysOptions{Prefix: prefix}
		if limit > 0 && limit < limits.MaxListLimit {
			opts.Limit = max(limit, limits.MinListLimit)
		}
		out := newKeyListWriter(a)
		n := 0
		for k, err := range c.Keys.All(ctx, id, opts) {
			if err != nil {
				return fail("list keys", err)
			}
			if err := out.key(k); err != nil {
				return err
			}
			if n++; n == limit {
				break
			}
		}
		return out.close()
	})
	ns.register(cmd)
	cmd.Flags().StringVar(&prefix, "prefix", "", "list only keys that start with `P`")
	cmd.Flags().IntVar(&limit, "limit", 0, "list at most `N` keys (default: all)")
	return cmd
}

// keyListWriter writes a listing as it arrives, so that memory does not grow with the namespace:
// a table, or with --json one JSON array.
type keyListWriter struct{ *listing }

func newKeyListWriter(a *app) *keyListWriter {
	return &keyListWriter{a.newListing("[", "]", "NAME", "EXPIRATION", "METADATA")}
}

func (w *keyListWriter) key(k workerskv.Key) error {
	if w.t != nil {
		md := "-"
		if len(k.Metadata) > 0 {
			md = string(k.Metadata)
		}
		w.t.row(displayKey(k.Name), displayTime(k.Expiration), md)
		return nil
	}
	b, err := marshalJSON(keyJSON{Name: k.Name, Expiration: unixOrZero(k.Expiration), Metadata: k.Metadata}, "  ", "  ")
	if err != nil {
		return err
	}
	return w.member(string(b))
}

// entryJSON is a key with its value in --json output: the shape of a line of an export.
type entryJSON struct {
	Key        string          `json:"key"`
	Value      string          `json:"value"`
	Base64     bool            `json:"base64,omitempty"`
	Expiration int64           `json:"expiration,omitempty"`
	Metadata   json.RawMessage `json:"metadata,omitempty"`
}

// newEntryJSON holds value as text when it is valid UTF-8, in base64 otherwise.
func newEntryJSON(key string, value []byte, expiration time.Time, metadata json.RawMessage) entryJSON {
	e := entryJSON{Key: key, Expiration: unixOrZero(expiration), Metadata: metadata}
	if utf8.Valid(value) {
		e.Value = string(value)
	} else {
		e.Value, e.Base64 = base64.StdEncoding.EncodeToString(value), true
	}
	return e
}

func (a *app) keyGetCommand() *cobra.Command {
	var (
		ns                 nsFlags
		text, withMetadata bool
	)
	cmd := &cobra.Command{
		Use:   "get KEY --namespace-id ID [--text] [--metadata]",
		Short: "Write a key's value to stdout, byte for byte",
		Long: `Write a key's value to stdout, byte for byte.

--text writes it as text ending in a newline, with bytes that are not UTF-8 replaced.
--metadata writes the key's metadata (JSON, or null) instead of the value.
--json writes one document with the key, value (base64 when not UTF-8), expiration and metadata.
A missing key exits with status 3.`,
		Args: exactArgs("KEY"),
	}
	cmd.RunE = runE(func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		key := args[0]
		c, id, err := a.namespace(ctx, &ns)
		if err != nil {
			return err
		}
		kv := c.KV(id)
		op := fmt.Sprintf("get key %s", displayKey(key))
		switch {
		case a.jsonOut:
			e, err := kv.GetWithMetadata(ctx, key)
			if err != nil {
				return fail(op, err)
			}
			return a.printJSON(newEntryJSON(key, e.Value, e.Expiration, e.Metadata))
		case withMetadata:
			md, err := kv.Metadata(ctx, key)
			if err != nil {
				return fail(op, err)
			}
			if len(md) == 0 {
				md = json.RawMessage("null")
			}
			_, err = fmt.Fprintf(a.stdout, "%s\n", md)
			return err
		case text:
			v, err := kv.Get(ctx, key)
			if err != nil {
				return fail(op, err)
			}
			s := strings.ToValidUTF8(string(v), "\uFFFD")
			if !strings.HasSuffix(s, "\n") {
				s += "\n"
			}
			_, err = io.WriteString(a.stdout, s)
			return err
		}
		r, err := kv.GetReader(ctx, key)
		if err != nil {
			return fail(op, err)
		}
		defer r.Close()
		if _, err := io.Copy(a.stdout, r); err != nil {
			return fail(op, err)
		}
		return nil
	})
	ns.register(cmd)
	cmd.Flags().BoolVar(&text, "text", false, "write the value as text, ending in a newline")
	cmd.Flags().BoolVar(&withMetadata, "metadata", false, "write the key's metadata instead of its value")
	return cmd
}

func (a *app) keyPutCommand() *cobra.Command {
	var (
		ns         nsFlags
		path       string
		ttl        int64
		expiration int64
		metadata   string
	)
	cmd := &cobra.Command{
		Use:   "put KEY [VALUE] --namespace-id ID [--path FILE] [--ttl SECONDS] [--expiration UNIX] [--metadata JSON]",
		Short: "Write a key's value: VALUE, a file's bytes (--path), or stdin",
		Args:  rangeArgs(1, "KEY", "VALUE"),
	}
	cmd.RunE = runE(func(cmd *cobra.Command, args []string) error {
		key := args[0]
		opts := &workerskv.PutOptions{}
		flags := cmd.Flags()
		switch {
		case len(args) == 2 && path != "":
			return usagef("give VALUE or --path, not both")
		case flags.Changed("ttl") && flags.Changed("expiration"):
			return usagef("give --ttl or --expiration, not both")
		case flags.Changed("ttl") && ttl < limits.MinTTLSeconds:
			return usagef("--ttl must be at least %d seconds", limits.MinTTLSeconds)
		case flags.Changed("expiration") && expiration <= 0:
			return usagef("--expiration must be a time in epoch seconds")
		}
		if flags.Changed("ttl") {
			opts.ExpirationTTL = time.Duration(ttl) * time.Second
		}
		if flags.Changed("expiration") {
			opts.Expiration = time.Unix(expiration, 0)
		}
		if flags.Changed("metadata") {
			if !json.Valid([]byte(metadata)) {
				return usagef("--metadata is not valid JSON")
			}
			opts.Metadata = json.RawMessage(metadata)
		}
		ctx := cmd.Context()
		c, id, err := a.namespace(ctx, &ns)
		if err != nil {
			return err
		}
		var value io.Reader
		switch {
		case len(args) == 2:
			value = strings.NewReader(args[1])
		case path != "":
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			value = f // seekable: the upload is retried if need be
		default:
			value = bytes.NewReader(nil)
			if a.stdin != nil {
				value = a.stdin
			}
		}
		if err := c.Values.Put(ctx, id, key, value, opts); err != nil {
			return fail(fmt.Sprintf("put key %s", displayKey(key)), err)
		}
		if a.jsonOut {
			return a.printJSON(map[string]any{"namespace_id": id, "key": key, "written": true})
		}
		a.say("Wrote key %s", displayKey(key))
		return nil
	})
	ns.register(cmd)
	cmd.Flags().StringVar(&path, "path", "", "read the value from `FILE`")
	cmd.Flags().Int64Var(&ttl, "ttl", 0, "expire the key after `SECONDS` (at least 60)")
	cmd.Flags().Int64Var(&expiration, "expiration", 0, "expire the key at `UNIX` time, in epoch seconds")
	cmd.Flags().StringVar(&metadata, "metadata", "", "store `JSON` as the key's metadata (at most 1024 bytes)")
	return cmd
}

func (a *app) keyDeleteCommand() *cobra.Command {
	var ns nsFlags
	cmd := &cobra.Command{
		Use:   "delete KEY --namespace-id ID",
		Short: "Delete a key (deleting a missing key succeeds)",
		Args:  exactArgs("KEY"),
	}
	cmd.RunE = runE(func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		c, id, err := a.namespace(ctx, &ns)
		if err != nil {
			return err
		}
		if err := c.Values.Delete(ctx, id, args[0]); err != nil {
			return fail(fmt.Sprintf("delete key %s", displayKey(args[0])), err)
		}
		if a.jsonOut {
			return a.printJSON(map[string]any{"namespace_id": id, "key": args[0], "deleted": true})
		}
		a.say("Deleted key %s", displayKey(args[0]))
		return nil
	})
	ns.register(cmd)
	return cmd
}
