// Package emulatorcmd is the standalone emulator server behind the kvemulator
// command and the "workerskv emulator" subcommand: flag parsing, listening,
// the banner, and graceful shutdown. Both commands run the same code, so
// they accept the same flags and behave the same.
package emulatorcmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/workerskv/workerskv/cmd/internal/persist"
	"github.com/workerskv/workerskv/emulator"
)

// Main runs the emulator command named name with args until SIGINT or
// SIGTERM, then exits the process: status 0 after a clean shutdown, 2 for a
// malformed command line, 1 for any other failure.
func Main(name string, args []string) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := Run(ctx, name, args, os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(ExitCode(err))
	}
}

// usageError is a mistake in the command line.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// ExitCode is the status a command exits with for err: 2 for a usage error, as
// the flag package uses, and 1 for anything else.
func ExitCode(err error) int {
	if _, ok := errors.AsType[usageError](err); ok {
		return 2
	}
	return 1
}

// parseRateLimit reads a -rate-limit value, N/DURATION with N a positive
// integer and DURATION a positive time.ParseDuration value ("1200/5m").
// The empty string means no limit: it returns 0, 0.
func parseRateLimit(s string) (n int, per time.Duration, err error) {
	if s == "" {
		return 0, 0, nil
	}
	num, dur, ok := strings.Cut(s, "/")
	if !ok {
		return 0, 0, errors.New("want N/DURATION, for example 1200/5m")
	}
	n, err = strconv.Atoi(num)
	if err != nil || n <= 0 {
		return 0, 0, fmt.Errorf("request count %q must be a positive integer", num)
	}
	per, err = time.ParseDuration(dur)
	if err != nil || per <= 0 {
		return 0, 0, fmt.Errorf("window %q must be a positive duration such as 5m or 300s", dur)
	}
	return n, per, nil
}

// Environment variables that give -api-key and -email their defaults.
const (
	envAPIKey = "KVEMULATOR_API_KEY"
	envEmail  = "KVEMULATOR_EMAIL"
)

// newLogger returns the request logger for a -log value: nil for "off",
// else a text or JSON slog handler writing to w.
func newLogger(format string, w io.Writer) (*slog.Logger, error) {
	switch format {
	case "off":
		return nil, nil
	case "text":
		return slog.New(slog.NewTextHandler(w, nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, nil)), nil
	}
	return nil, errors.New("want off, text or json")
}

// apiKeyPair resolves -api-key and -email, given in fs as key and email: a
// flag not on the command line takes its value from its environment
// variable, looked up with getenv. The two must be given together, or
// neither.
func apiKeyPair(fs *flag.FlagSet, key, email string, getenv func(string) string) (string, string, error) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["api-key"] {
		key = getenv(envAPIKey)
	}
	if !set["email"] {
		email = getenv(envEmail)
	}
	if (key == "") != (email == "") {
		return "", "", errors.New("-api-key and -email (or " + envAPIKey + " and " + envEmail + ") must be given together")
	}
	return key, email, nil
}

// Run parses args, serves the emulator until ctx is done, then shuts down
// gracefully. It writes the connection details to stdout once listening,
// and usage messages and the request log (-log) to stderr. name is the
// command's name in usage messages.
func Run(ctx context.Context, name string, args []string, stdout, stderr io.Writer) error {
	if stderr == nil {
		stderr = io.Discard
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8787", "`address` to listen on (port 0 picks a free one)")
	data := fs.String("data", "", "`directory` to persist state in (default: in memory)")
	token := fs.String("token", emulator.DefaultAPIToken, "API `token` accepted as \"Authorization: Bearer TOKEN\"")
	account := fs.String("account", emulator.DefaultAccountID, "account `ID` served")
	var rateN int
	var ratePer time.Duration
	fs.Func("rate-limit", "enforce the account API rate limit: `N/DURATION` requests per credential, e.g. 1200/5m (default: none)", func(s string) error {
		var err error
		rateN, ratePer, err = parseRateLimit(s)
		return err
	})
	apiKey := fs.String("api-key", "", "API `key` accepted as X-Auth-Key, with -email (default: $"+envAPIKey+")")
	email := fs.String("email", "", "`email` accepted as X-Auth-Email, with -api-key (default: $"+envEmail+")")
	logFormat := "off"
	var logger *slog.Logger
	fs.Func("log", "log each request to stderr: `FORMAT` off, text or json (default: off)", func(s string) error {
		var err error
		logger, err = newLogger(s, stderr)
		logFormat = s
		return err
	})
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments %q", fs.Args())}
	}
	if *token == "" || *account == "" {
		return usageError{errors.New("-token and -account must not be empty")}
	}
	key, keyEmail, err := apiKeyPair(fs, *apiKey, *email, os.Getenv)
	if err != nil {
		return usageError{err}
	}

	opts := []emulator.Option{emulator.WithAPIToken(*token), emulator.WithAccount(*account)}
	rateLimit := ""
	if rateN > 0 {
		opts = append(opts, emulator.WithAPIRateLimit(rateN, ratePer))
		rateLimit = fmt.Sprintf("  rate limit: %d requests per %v per credential, then 429 for %v\n", rateN, ratePer, ratePer)
	}
	keyLines, logLine := "", ""
	if key != "" {
		opts = append(opts, emulator.WithAPIKey(key, keyEmail))
		keyLines = fmt.Sprintf("  API key:    %s\n  email:      %s\n", key, keyEmail)
	}
	if logger != nil {
		opts = append(opts, emulator.WithLogger(logger))
		logLine = "  log:        requests, as " + logFormat + ", on stderr\n"
	}
	// Bind first: a port already in use must not leave a new data
	// directory behind.
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", *addr)
	if err != nil {
		return err
	}
	var e *emulator.Emulator
	storage := "in memory (use -data DIR to persist)"
	if *data != "" {
		if e, err = persist.Open(*data, opts...); err != nil {
			return errors.Join(err, ln.Close())
		}
		storage = *data
	} else {
		e = emulator.New(opts...)
	}

	lim := serverLimits
	srv := newServer(withExplorer(e, *account), lim)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	base := "http://" + displayAddr(ln.Addr()) + "/client/v4"
	nsURL := base + "/accounts/" + *account + "/storage/kv/namespaces"
	keyCurl := ""
	if key != "" {
		keyCurl = fmt.Sprintf("  curl -H \"X-Auth-Key: %s\" -H \"X-Auth-Email: %s\" %s\n", key, keyEmail, nsURL)
	}
	fmt.Fprintf(stdout, `Workers KV REST API emulator
  base URL:   %s
  explorer:   %s
  account ID: %s
  API token:  %s
%s  storage:    %s
%s%sTry:
  curl -H "Authorization: Bearer %s" %s
%s`, base, explorerURL(ln.Addr()), *account, *token, keyLines, storage, rateLimit, logLine, *token, nsURL, keyCurl)

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
		// Serve failed before any shutdown was asked for.
		return errors.Join(serveErr, e.Close())
	}

	fmt.Fprintln(stdout, "shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), lim.shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		// Requests still running (or still being read) past the grace
		// period: drop their connections. That is the expected end of a
		// stop asked for while a client is slow, not a failure: writes
		// already acknowledged are on disk, and one still being committed
		// completes before Close returns.
		fmt.Fprintf(stdout, "requests still in progress after %v were aborted\n", lim.shutdownGrace)
		_ = srv.Close()
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		serveErr = err
	}
	return errors.Join(serveErr, e.Close())
}

// displayAddr is the listener's address as clients should dial it: an
// unspecified host (":8787", "0.0.0.0") is shown as localhost.
func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
