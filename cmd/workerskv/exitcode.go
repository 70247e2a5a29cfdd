package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/workerskv/workerskv"
)

// Exit statuses, documented in the package comment.
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitNotFound    = 3
	exitPartial     = 4
	exitInterrupted = 130 // 128 + SIGINT, as a shell reports a process stopped by Ctrl-C
)

// usageError is a mistake in the command line.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usagef returns a usageError with a formatted message.
func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// opError is a failed operation: what was being done, and why it failed.
type opError struct {
	op  string
	err error
}

// Error is the operation and a description of the cause fit for a person: Cloudflare's messages
// and codes, the HTTP status and the cf-ray ID for an API error.
func (e *opError) Error() string { return e.op + ": " + describe(e.err) }
func (e *opError) Unwrap() error { return e.err }

// fail wraps err with the operation it ended; nil stays nil.
func fail(op string, err error) error {
	if err == nil {
		return nil
	}
	return &opError{op, err}
}

// notFoundError is something named on the command line that does not exist, such as a namespace
// title.
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string { return e.msg }

// partialError is a bulk job that did not account every item as done: some failed, were not
// confirmed, or were not sent because the job stopped (interrupted or failed).
type partialError struct {
	op     string
	sum    bulkSummary
	cause  error // the error that stopped the job, if any
	listed bool  // the keys are in the JSON document on stdout
}

func (e *partialError) Error() string {
	s := e.op + ": " + e.sum.counts()
	if e.cause != nil && !errors.Is(e.cause, context.Canceled) {
		s += ": " + describe(e.cause)
	}
	return s
}
func (e *partialError) Unwrap() error { return e.cause }

// maxListedKeys is how many keys of each kind a failed bulk job lists on stderr; --json lists all.
const maxListedKeys = 100

// report writes err to stderr as one line (and, for a bulk job, the keys that were not done) and
// returns the exit status for it.
func (a *app) report(cmd *cobra.Command, err error) int {
	var ran ranError
	if !errors.As(err, &ran) {
		// Refused by cobra before running: a flag, an argument, an unknown command.
		where := "workerskv"
		if cmd != nil {
			where = cmd.CommandPath()
		}
		fmt.Fprintf(a.stderr, "workerskv: %s (see %s --help)\n", oneLine(err.Error()), where)
		return exitUsage
	}
	err = ran.err
	fmt.Fprintf(a.stderr, "workerskv: %s\n", oneLine(err.Error()))
	var pe *partialError
	if errors.As(err, &pe) {
		if !pe.listed {
			listKeys(a.stderr, "unsuccessful", pe.sum.Unsuccessful)
			listKeys(a.stderr, "unconfirmed", pe.sum.Unconfirmed)
		}
		if pe.sum.Interrupted {
			return exitInterrupted
		}
		return exitPartial
	}
	var ue usageError
	var nf *notFoundError
	switch {
	case errors.As(err, &ue):
		return exitUsage
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.As(err, &nf), errors.Is(err, workerskv.ErrNotFound):
		return exitNotFound
	}
	return exitError
}

func listKeys(w interface{ Write([]byte) (int, error) }, kind string, keys []string) {
	for i, k := range keys {
		if i == maxListedKeys {
			fmt.Fprintf(w, "... and %d more %s keys (--json lists them all)\n", len(keys)-i, kind)
			return
		}
		fmt.Fprintf(w, "%s: %s\n", kind, displayKey(k))
	}
}

// describe says what went wrong, for a person: an API error's messages, codes, HTTP status and
// cf-ray ID; a validation error's field and reason; any other error's text without the library's
// "workerskv: " prefix.
func describe(err error) string {
	var ae *workerskv.APIError
	if errors.As(err, &ae) {
		return describeAPIError(ae)
	}
	var ve *workerskv.ValidationError
	if errors.As(err, &ve) {
		return "invalid " + ve.Field + ": " + ve.Reason
	}
	return strings.TrimPrefix(err.Error(), "workerskv: ")
}

func describeAPIError(e *workerskv.APIError) string {
	var msgs, codes []string
	for _, re := range e.Errors {
		if m := printable(re.Message, 200); m != "" {
			msgs = append(msgs, m)
		}
		if re.Code != 0 {
			codes = append(codes, fmt.Sprint(re.Code))
		}
	}
	if len(msgs) == 0 {
		msgs = append(msgs, strings.ToLower(http.StatusText(e.StatusCode)))
	}
	details := []string{fmt.Sprintf("HTTP %d", e.StatusCode)}
	if len(codes) > 0 {
		details = append(details, "code "+strings.Join(codes, ", "))
	}
	if e.RetryAfter > 0 {
		details = append(details, "retry after "+e.RetryAfter.String())
	}
	if e.Attempts > 1 {
		details = append(details, fmt.Sprintf("%d attempts", e.Attempts))
	}
	if e.RayID != "" {
		details = append(details, "cf-ray "+e.RayID)
	}
	return strings.Join(msgs, "; ") + " (" + strings.Join(details, ", ") + ")"
}

// printable returns s as printable text of at most n bytes: control characters and line breaks
// become spaces, so that a server's message cannot break the one-line error or forge another.
func printable(s string, n int) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }), " ")
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "") + "…"
	}
	return s
}

// oneLine keeps an error message on one line.
func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}

// codeNotText is Cloudflare's code for a bulk read of a value that is not text.
const codeNotText = 10029

// hasCode reports whether err is an API error carrying Cloudflare's error code.
func hasCode(err error, code int) bool {
	var ae *workerskv.APIError
	return errors.As(err, &ae) && ae.HasCode(code)
}
