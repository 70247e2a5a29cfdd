package workerskv

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Sentinel errors for the categories callers branch on. Match them with [errors.Is]; use [errors.As]
// with [*APIError] or [*ValidationError] for the details.
var (
	// ErrNotFound matches a missing namespace or key (HTTP 404, codes 10009 and 10013).
	ErrNotFound = errors.New("workerskv: not found")
	// ErrUnauthorized matches missing or rejected credentials (HTTP 401, codes 9106, 9109 and 10000).
	ErrUnauthorized = errors.New("workerskv: unauthorized")
	// ErrForbidden matches a request the credentials may not make (HTTP 403, code 10037).
	ErrForbidden = errors.New("workerskv: forbidden")
	// ErrRateLimited matches a request refused for exceeding a rate limit (HTTP 429, code 971).
	ErrRateLimited = errors.New("workerskv: rate limited")
	// ErrConflict matches a conflict such as a namespace title already in use (HTTP 409, code 10014).
	ErrConflict = errors.New("workerskv: conflict")
	// ErrInvalidInput matches input refused before sending ([*ValidationError]) or by the server (HTTP 400
	// or 413 with no more specific category).
	ErrInvalidInput = errors.New("workerskv: invalid input")
)

// codeCategory maps Cloudflare error codes to sentinel categories.
var codeCategory = map[int]error{
	10009: ErrNotFound,     // key not found
	10013: ErrNotFound,     // namespace not found
	10014: ErrConflict,     // namespace title already exists
	10000: ErrUnauthorized, // authentication error
	9106:  ErrUnauthorized, // missing authentication headers
	9109:  ErrUnauthorized, // invalid access token
	10037: ErrForbidden,    // token lacks the permission
	971:   ErrRateLimited,  // please wait and consider throttling
}

// ResponseError is one entry of the errors list of a Cloudflare v4 response.
type ResponseError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// APIError is returned for every response that is not a success: a non-2xx status, or a 2xx whose
// envelope says success is false.
type APIError struct {
	// StatusCode is the HTTP status of the last attempt.
	StatusCode int
	// Errors lists Cloudflare's error codes and messages. When the body was not a v4 envelope (an HTML
	// page from a proxy, truncated or empty JSON) it holds one entry with code 0 and a short excerpt.
	Errors []ResponseError
	// RayID is the cf-ray header of the response, for Cloudflare support.
	RayID string
	// Method and Path identify the request; Path is relative to the base URL and escaped.
	Method, Path string
	// Attempts is how many times the request was sent.
	Attempts int
	// RetryAfter is how long the server asked to wait before trying again (from Retry-After), when it
	// did; set when retries ended because that wait was longer than allowed.
	RetryAfter time.Duration
}

// Error describes the failure: method, path, status, and Cloudflare's codes and messages.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "workerskv: %s %s: %d %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode))
	// A server's messages are printed tamed: a few of them, each cut short, as one line of printable
	// text, so that a hostile or broken server cannot flood or forge log lines.
	for i, re := range e.Errors {
		if i == maxPrintedErrors {
			fmt.Fprintf(&b, "; and %d more", len(e.Errors)-i)
			break
		}
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		if re.Code != 0 {
			fmt.Fprintf(&b, "%d ", re.Code)
		}
		b.WriteString(printable(re.Message, maxPrintedMessage))
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	if e.RayID != "" {
		fmt.Fprintf(&b, " [cf-ray %s]", e.RayID)
	}
	return b.String()
}

// Is reports whether the error belongs to the category target (one of the Err* sentinels), by
// Cloudflare error code and by HTTP status.
func (e *APIError) Is(target error) bool {
	byCode := false
	for _, re := range e.Errors {
		if c, ok := codeCategory[re.Code]; ok {
			byCode = true
			if c == target {
				return true
			}
		}
	}
	switch e.StatusCode {
	case http.StatusNotFound:
		return target == ErrNotFound
	case http.StatusUnauthorized:
		return target == ErrUnauthorized
	case http.StatusForbidden:
		return target == ErrForbidden
	case http.StatusTooManyRequests:
		return target == ErrRateLimited
	case http.StatusConflict:
		return target == ErrConflict
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		return target == ErrInvalidInput && !byCode
	}
	return false
}

// How much of the server's errors APIError.Error prints.
const (
	maxPrintedErrors  = 8
	maxPrintedMessage = 256 // bytes
)

// printable returns s as one line of printable text of at most maxBytes bytes (plus "…" when cut):
// invalid UTF-8 and control characters are dropped, and runs of white space become one space.
func printable(s string, maxBytes int) string {
	var b strings.Builder
	space, cut := false, false
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) || unicode.IsSpace(r) {
			space = true
			continue
		}
		n := utf8.RuneLen(r)
		if space && b.Len() > 0 {
			n++
		}
		if b.Len()+n > maxBytes {
			cut = true
			break
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	if cut {
		b.WriteString("…")
	}
	return b.String()
}

// ValidationError reports input refused before any request was sent.
type ValidationError struct {
	// Field names the input: "key", "value", "metadata", "expiration", "expiration_ttl", "title", ...
	Field string
	// Reason says what is wrong with it.
	Reason string
}

// Error describes the refused input.
func (e *ValidationError) Error() string {
	return "workerskv: invalid " + e.Field + ": " + e.Reason
}

// Is reports whether target is [ErrInvalidInput].
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidInput }

func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}
