// Command kvemulator serves the Workers KV REST API emulator
// (github.com/workerskv/workerskv/emulator) as a standalone server, for local
// development and for tests in other languages.
//
//	go install github.com/workerskv/workerskv/cmd/kvemulator@latest
//	kvemulator [-addr 127.0.0.1:8787] [-data DIR] [-token TOKEN] [-account ID] [-rate-limit N/DURATION]
//	           [-api-key KEY -email EMAIL] [-log off|text|json]
//
// Run the built binary, not "go run ./cmd/kvemulator": go run starts the
// server as a child process that a signal sent to go run does not reach.
//
// It prints the base URL (http://ADDR/client/v4), the account ID and the API
// token to use, and a curl command to try. At http://ADDR/ it serves a web
// explorer of the emulator's namespaces, keys and values (see
// github.com/workerskv/workerskv/emulator/explorer); log in with the API
// token. docs/ci.md shows how to run it in a CI job. Without -data the state is in
// memory and lost on exit; with -data DIR it is kept in DIR/kv.db, every
// write committed to disk before it is acknowledged, and loaded again on the
// next start. SIGINT or SIGTERM stops it gracefully: requests in progress are
// finished, then the state file is closed; requests still running (or still
// being sent) 10 seconds after the signal are aborted, and the exit status
// is 0 either way.
//
// It protects itself from idle, slow and oversized clients with limits no
// real client meets: headers must arrive within 10 seconds and fit in
// 64 KiB (431 otherwise); a body must keep arriving (no pause of 30 seconds)
// and be complete within 5 minutes; a keep-alive connection idle for 2
// minutes is closed. A request's memory grows with the bytes that have
// arrived, not with the length it announces.
//
// With -rate-limit N/DURATION (for example 1200/5m, Cloudflare's limit) each
// credential may make N requests per DURATION; further requests are answered
// 429, code 971, with Retry-After, until DURATION has passed since the first
// refused one (see emulator.WithAPIRateLimit). Without it there is no limit.
//
// With -api-key KEY and -email EMAIL it also accepts the legacy X-Auth-Key
// and X-Auth-Email header pair, besides the token; the environment variables
// KVEMULATOR_API_KEY and KVEMULATOR_EMAIL give them when the flags are not
// used. The two must be given together. The banner prints them with a curl
// command that uses them.
//
// -log text or -log json writes one line per request to stderr, in slog's
// text or JSON format: method, escaped path, status, Cloudflare error codes,
// bytes in and out, duration and the kind of credential, never the
// credential itself (see emulator.WithLogger). The default, -log off, logs
// nothing.
//
// A malformed command line exits with status 2, any other failure with 1.
package main

import (
	"os"

	"github.com/workerskv/workerskv/cmd/internal/emulatorcmd"
)

func main() { emulatorcmd.Main("kvemulator", os.Args[1:]) }
