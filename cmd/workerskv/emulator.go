package main

import (
	"errors"
	"flag"

	"github.com/spf13/cobra"

	"github.com/workerskv/workerskv/cmd/internal/emulatorcmd"
)

func (a *app) emulatorCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "emulator [-addr 127.0.0.1:8787] [-data DIR] [flags]",
		Short: "Serve the local KV emulator (the same server as kvemulator)",
		Long: `Serve the Workers KV REST API emulator on a local address, as the kvemulator command does: the
same code and the same flags (run "workerskv emulator -h" for them). It prints the base URL, account
ID and API token to use; point another terminal at it:

  export CLOUDFLARE_API_BASE_URL=http://127.0.0.1:8787/client/v4
  export CLOUDFLARE_API_TOKEN=kvemulator-token CLOUDFLARE_ACCOUNT_ID=0123456789abcdef0123456789abcdef

Ctrl-C stops it gracefully.`,
		DisableFlagParsing: true,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			err := emulatorcmd.Run(cmd.Context(), "workerskv emulator", args, a.stdout, a.stderr)
			switch {
			case errors.Is(err, flag.ErrHelp):
				return nil
			case err != nil && emulatorcmd.ExitCode(err) == exitUsage:
				return usageError{err}
			}
			return err
		}),
	}
}
