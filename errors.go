package workerskv

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Sentinel errors for the categories callers branch on. Match them with [errors.Is]; use [errors.As]
// with [*APIError] or [*ValidationError] for the details.
//
// An [*APIError] belongs to at most one category. Cloudflare's error code decides it when the code is
// one listed below, and the HTTP status otherwise, as the live API answers: a duplicate namespace title
// is HTTP 400 with code 10014 (ErrConflict, not ErrInvalidInput), and code 10000 is an unknown token
// with HTTP 401 (ErrUnauthorized) but a token that lacks the permission with HTTP 403 (ErrForbidden).
var (
	// ErrNotFound matches a missing namespace or key: code 10009 (key) or 10013 (namespace), or any
	// HTTP 404.
	ErrNotFound = errors.New("workerskv: not found")
	// ErrUnauthorized matches missing or rejected credentials: an unknown or invalid token (HTTP 401,
	// code 10000), no credentials (HTTP 400, code 9106), or any other HTTP 401.
	ErrUnauthorized = errors.New("workerskv: unauthorized")
	// ErrForbidden matches valid credentials that may not make the request: a token that lacks the
	// permission or cannot see the resource (HTTP 403 with code 10000, code 9109 "Unauthorized to
	// access requested resource", or code 10037), or any other HTTP 403.
	ErrForbidden = errors.New("workerskv: forbidden")
	// ErrRateLimited matches a request refused for exceeding a rate limit: code 971 (the account's
	// 1,200 requests per 5 minutes), or any HTTP 429.
	ErrRateLimited = errors.New("workerskv: rate limited")
	// ErrConflict matches a namespace title already in use: code 10014, which Cloudflare answers with
	// HTTP 400. Any HTTP 409 matches it too.
	ErrConflict = errors.New("workerskv: conflict")
	// ErrInvalidInput matches input refused before sending ([*ValidationError]), or by the server: a
	// request for a path the API does not serve (codes 7003 and 7000, as for a malformed account or
	// namespace ID), a key list limit outside 10–1000 (code 10028), a bulk write over 10,000 pairs
	// (code 10012), a bulk get of a value that is not text (code 10029), an expiration in the past
	// (code 10033), metadata that is not JSON (code 10147), whatever their HTTP status; or any other
	// HTTP 400 or 413 with no code of another category.
	ErrInvalidInput = errors.New("workerskv: invalid input")

	// ErrKeyNotFound matches a key that does not exist (code 10009): a cache miss, not a mistake. It
	// also matches [ErrNotFound]. A 404 without a Cloudflare code matches it when the request named a
	// key (a value or metadata read).
	ErrKeyNotFound error = &notFoundError{"workerskv: key not found"}
	// ErrNamespaceNotFound matches a namespace that does not exist or that the account cannot see
	// (code 10013): usually a wrong namespace ID. It also matches [ErrNotFound]. A 404 without a
	// Cloudflare code matches it when the request named no key.
	ErrNamespaceNotFound error = &notFoundError{"workerskv: namespace not found"}
)

// notFoundError is the type of ErrKeyNotFound and ErrNamespaceNotFound: finer kinds of ErrNotFound.
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string { return e.msg }

// Is reports whether target is [ErrNotFound], the category both kinds belong to.
func (e *notFoundError) Is(target error) bool { return target == ErrNotFound }

// codeCategory maps Cloudflare error codes to sentinel categories. Code 10000 is ErrForbidden when the
// status is 403 (see category).
var codeCategory = map[int]error{
	10009: ErrNotFound,     // key not found
	10013: ErrNotFound,     // namespace not found
	10014: ErrConflict,     // namespace title already exists (HTTP 400)
	10000: ErrUnauthorized, // authentication error (HTTP 401; with 403, a token lacking the permission)
	9106:  ErrUnauthorized, // missing authentication headers (HTTP 400)
	9109:  ErrForbidden,    // unauthorized to access requested resource: a valid token lacking a permission
	10037: ErrForbidden,    // token lacks the permission
	971:   ErrRateLimited,  // please wait and consider throttling (HTTP 429)
	// Codes of requests the API refuses as malformed. Matched by code, not only by their HTTP 400, so
	// that an unroutable path is never taken for a missing key (a cache miss) whatever its status.
	7003:  ErrInvalidInput, // could not route to the path: an invalid object identifier (HTTP 400)
	7000:  ErrInvalidInput, // no route for that URI (HTTP 400, with 7003)
	10012: ErrInvalidInput, // bulk write over 10,000 key/value pairs
	10028: ErrInvalidInput, // key list limit outside 10–1000 (HTTP 400)
	10029: ErrInvalidInput, // bulk get of a value that is not text
	10033: ErrInvalidInput, // invalid expiration (HTTP 400)
	10147: ErrInvalidInput, // metadata must be valid json
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

// Is reports whether the error belongs to the category target, one of the Err* sentinels. An
// APIError belongs to at most one category: see [ErrNotFound] and the others for how it is chosen.
// One in [ErrNotFound] also matches exactly one of its kinds, [ErrKeyNotFound] or
// [ErrNamespaceNotFound].
func (e *APIError) Is(target error) bool {
	if target == nil {
		return false
	}
	c := e.category()
	if c == ErrNotFound && (target == ErrKeyNotFound || target == ErrNamespaceNotFound) {
		return e.notFoundKind() == target
	}
	return c == target
}

// HasCode reports whether Cloudflare's answer carries the error code code in [APIError.Errors]: for
// the codes that the Err* categories do not single out, such as 10029, a bulk read of a value that
// is not text.
func (e *APIError) HasCode(code int) bool {
	return slices.ContainsFunc(e.Errors, func(re ResponseError) bool { return re.Code == code })
}

// hasCode reports whether err is an [*APIError] carrying Cloudflare code code.
func hasCode(err error, code int) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.HasCode(code)
}

// notFoundKind tells a missing key from a missing namespace: by code (10009, 10013), and without one
// by whether the request named a key.
func (e *APIError) notFoundKind() error {
	for _, re := range e.Errors {
		switch re.Code {
		case 10009:
			return ErrKeyNotFound
		case 10013:
			return ErrNamespaceNotFound
		}
	}
	// Path is .../storage/kv/namespaces/{namespace_id}/{values|metadata}/{key_name} for a key.
	if _, rest, ok := strings.Cut(e.Path, "/storage/kv/namespaces/"); ok {
		if _, rest, ok := strings.Cut(rest, "/"); ok && (strings.HasPrefix(rest, "values/") || strings.HasPrefix(rest, "metadata/")) {
			return ErrKeyNotFound
		}
	}
	return ErrNamespaceNotFound
}

// category is the one sentinel the error belongs to, or nil: by the first Cloudflare code that has a
// category, otherwise by the HTTP status.
func (e *APIError) category() error {
	for _, re := range e.Errors {
		c, ok := codeCategory[re.Code]
		if !ok {
			continue
		}
		if re.Code == 10000 && e.StatusCode == http.StatusForbidden {
			return ErrForbidden
		}
		return c
	}
	switch e.StatusCode {
	case http.StatusNotFound:
		return ErrNotFound
	case http.StatusUnauthorized:
		return ErrUnauthorized
	case http.StatusForbidden:
		return ErrForbidden
	case http.StatusTooManyRequests:
		return ErrRateLimited
	case http.StatusConflict:
		return ErrConflict
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		return ErrInvalidInput
	}
	return nil
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
