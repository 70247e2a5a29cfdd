package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/workerskv/workerskv"
)

func (a *app) exportCommand() *cobra.Command {
	var (
		ns     nsFlags
		prefix string
		output string
	)
	cmd := &cobra.Command{
		Use:   "export --namespace-id ID [--prefix P] [-o FILE]",
		Short: "Back a namespace up as JSON Lines (to stdout, or -o FILE)",
		Long: `Back a namespace up as JSON Lines, one key a line in key order:
{"key", "value", "base64" (when the value is base64), "expiration", "metadata"}.
This is the format of the library's Bulk.Export, and what "workerskv import" reads.

With -o FILE the backup is written to a temporary file beside FILE and renamed to FILE once
complete, so an interrupted export never leaves a FILE that looks whole.`,
		Args: cobra.NoArgs,
	}
	cmd.RunE = runE(func(cmd *cobra.Command, _ []string) error {
		ctx := cmd.Context()
		c, id, err := a.namespace(ctx, &ns)
		if err != nil {
			return err
		}
		out, err := createOutput(output, a.stdout)
		if err != nil {
			return err
		}
		bar := a.newProgress("export", -1)
		cw := &lineCounter{w: out, bar: bar}
		err = c.Bulk.Export(ctx, id, cw, &workerskv.ExportOptions{Prefix: prefix})
		bar.finish(err == nil)
		if err == nil {
			err = out.commit()
		} else {
			out.abort()
		}
		if err != nil {
			if ctx.Err() != nil && output != "-" {
				return fmt.Errorf("export interrupted after %d keys; %s was not written: %w", cw.lines, output, ctx.Err())
			}
			if ctx.Err() != nil {
				return fmt.Errorf("export interrupted after %d keys: %w", cw.lines, ctx.Err())
			}
			return fail("export", err)
		}
		if output == "-" {
			return nil
		}
		if a.jsonOut {
			return a.printJSON(map[string]any{"namespace_id": id, "file": output, "keys": cw.lines})
		}
		a.say("Exported %s to %s", plural(cw.lines, "key"), output)
		return nil
	})
	ns.register(cmd)
	cmd.Flags().StringVar(&prefix, "prefix", "", "export only keys that start with `P`")
	cmd.Flags().StringVarP(&output, "output", "o", "-", "write to `FILE` (- for stdout)")
	return cmd
}

func (a *app) importCommand() *cobra.Command {
	var ns nsFlags
	cmd := &cobra.Command{
		Use:   "import FILE --namespace-id ID",
		Short: "Restore a JSON Lines backup made by export into a namespace (- for stdin)",
		Long: `Restore a JSON Lines backup made by "workerskv export" (or the library's Bulk.Export) into a
namespace, through bulk writes. The whole file is checked before anything is sent; a malformed line
is named by its number. Keys that expire less than 60 seconds from now cannot be written and are
reported as unsuccessful (status 4).`,
		Args: exactArgs("FILE"),
	}
	cmd.RunE = runE(func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		c, id, in, err := a.namespaceInput(ctx, &ns, args[0])
		if err != nil {
			return err
		}
		defer in.close()
		total, err := checkJSONLines(ctx, in)
		if err != nil {
			return err
		}
		f, err := in.open()
		if err != nil {
			return err
		}
		defer f.Close()
		return a.runBulk(ctx, "import", "Imported", total, func(opts *workerskv.BulkOptions) (*workerskv.BulkResult, error) {
			return c.Bulk.Import(ctx, id, f, opts)
		})
	})
	ns.register(cmd)
	return cmd
}

// output is where an export goes: stdout, or a temporary file renamed to its name once complete.
type output struct {
	io.Writer
	f    *os.File // nil for stdout
	name string
}

func createOutput(name string, stdout io.Writer) (*output, error) {
	if name == "-" || name == "" {
		return &output{Writer: stdout}, nil
	}
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*.partial")
	if err != nil {
		return nil, err
	}
	return &output{Writer: f, f: f, name: name}, nil
}

func (o *output) commit() error {
	if o.f == nil {
		return nil
	}
	if err := o.f.Close(); err != nil {
		os.Remove(o.f.Name())
		return err
	}
	if err := os.Rename(o.f.Name(), o.name); err != nil {
		os.Remove(o.f.Name())
		return err
	}
	return nil
}

func (o *output) abort() {
	if o.f != nil {
		o.f.Close()
		os.Remove(o.f.Name())
	}
}

// lineCounter counts the lines written through it, one a key, and shows them as progress.
type lineCounter struct {
	w     io.Writer
	bar   *progress
	lines int
}

func (c *lineCounter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if k := bytes.Count(p[:n], []byte{'\n'}); k > 0 {
		c.lines += k
		c.bar.add(k)
	}
	return n, err
}
