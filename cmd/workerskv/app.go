package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/workerskv/workerskv"
)

// streams are what a command reads and writes, and where it reads its environment: the process's
// own in main, substitutes in tests.
type streams struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// app is one run of the command: its streams and the global flags.
type app struct {
	streams

	accountID string // --account-id
	baseURL   string // --base-url
	jsonOut   bool   // --json
	quiet     bool   // --quiet
	retries   int    // --retries; see retriesSet
	resends   int    // --resends; see bulkOptions

	root *cobra.Command
}

// run executes the command line args and returns the exit status. ctx is cancelled by Ctrl-C.
func run(ctx context.Context, args []string, s streams) int {
	a := &app{streams: s}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(s.stdin)
	root.SetOut(s.stdout)
	root.SetErr(s.stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	return a.report(cmd, err)
}

// rootCommand builds the command tree.
func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "workerskv",
		Short: "Operate Cloudflare Workers KV: namespaces, keys, bulk jobs, backups, and a local emulator",
		Long: `workerskv operates Cloudflare Workers KV from the command line, with wrangler's command shape:
namespaces, single keys, bulk files, export and import of a namespace as JSON Lines, and a local
emulator of the KV REST API.

Credentials and endpoint come from the environment, as for wrangler:
  CLOUDFLARE_API_TOKEN                      an API token with Workers KV Storage permissions
  CLOUDFLARE_API_KEY and CLOUDFLARE_EMAIL   or a global API key and its email
  CLOUDFLARE_ACCOUNT_ID                     the account (or --account-id)
  CLOUDFLARE_API_BASE_URL                   another endpoint, such as the emulator (or --base-url)

Exit status: 0 ok, 1 error, 2 usage, 3 not found, 4 partial bulk failure, 130 interrupted.`,
		Version:       workerskv.Version,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&a.accountID, "account-id", "", "Cloudflare account ID (default $CLOUDFLARE_ACCOUNT_ID)")
	pf.StringVar(&a.baseURL, "base-url", "", "API base URL (default $CLOUDFLARE_API_BASE_URL, else Cloudflare's)")
	pf.BoolVar(&a.jsonOut, "json", false, "write machine-readable JSON to stdout")
	pf.BoolVarP(&a.quiet, "quiet", "q", false, "no progress bar and no confirmation messages")
	pf.IntVar(&a.retries, "retries", 4, "how many times a failed request is retried (0 for none)")
	pf.IntVar(&a.resends, "resends", 3, "bulk jobs: how many times keys the API reports unsuccessful are sent again (0 for none)")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })

	root.AddCommand(
		a.namespaceCommand(),
		a.keyCommand(),
		a.bulkCommand(),
		a.exportCommand(),
		a.importCommand(),
		a.emulatorCommand(),
	)
	root.Long += "\n\nCommands:\n" + commandList(root)
	a.root = root
	return root
}

// commandList lists every runnable command below root, one a line, so that "workerskv --help"
// shows the whole tree and not only the first level.
func commandList(root *cobra.Command) string {
	type entry struct{ use, short string }
	var entries []entry
	var walk func(c *cobra.Command, path string)
	walk = func(c *cobra.Command, path string) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			p := strings.TrimSpace(path + " " + sub.Name())
			if sub.HasSubCommands() {
				walk(sub, p)
				continue
			}
			// The name and positional arguments; the flags are in the command's own help.
			use := p
			for i, w := range strings.Fields(sub.Use) {
				if i > 0 && !strings.HasPrefix(w, "-") && !strings.HasPrefix(w, "[-") {
					use += " " + w
				} else if i > 0 {
					break
				}
			}
			entries = append(entries, entry{use, sub.Short})
		}
	}
	walk(root, "")
	width := 0
	for _, e := range entries {
		width = max(width, len(e.use))
	}
	var b strings.Builder
	for _, e := range entries {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, e.use, e.short)
	}
	return strings.TrimRight(b.String(), "\n")
}

// group returns a command that only holds subcommands: run without one, or with an unknown one,
// it is a usage error (cobra would print the help and exit 0).
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{
		Use:   use,
		Short: short,
		RunE: func(cmd *cobra.Command, args []string) error {
			names := make([]string, 0, len(cmd.Commands()))
			for _, s := range cmd.Commands() {
				names = append(names, s.Name())
			}
			if len(args) > 0 {
				return usageError{fmt.Errorf("unknown command %q for %q: want one of %s", args[0], cmd.CommandPath(), strings.Join(names, ", "))}
			}
			return usageError{fmt.Errorf("%q needs a command: %s", cmd.CommandPath(), strings.Join(names, ", "))}
		},
	}
	c.AddCommand(subs...)
	return c
}

// runE adapts a command's function to cobra: it marks the errors the command returns, so that
// report tells them from the usage errors cobra returns before running anything.
func runE(f func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := f(cmd, args); err != nil {
			return ranError{err}
		}
		return nil
	}
}

// ranError is an error returned by a command that ran (as opposed to one refused by cobra).
type ranError struct{ err error }

func (e ranError) Error() string { return e.err.Error() }
func (e ranError) Unwrap() error { return e.err }
