package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Cloudflare error codes the emulator answers with. The package doc lists
// them with their HTTP statuses and how sure it is that Cloudflare answers
// the same; the codes it marks "no evidence" are the emulator's choice.
const (
	codeAPIRateLimited    = 971
	codeNoRouteURI        = 7000
	codeMethodNotAllowed  = 7001
	codeNoRoute           = 7003
	codeMissingAuth       = 9106
	codeAuthError         = 10000
	codeInternal          = 10001
	codeKeyNotFound       = 10009
	codeTooManyPairs      = 10012
	codeNamespaceNotFound = 10013
	codeTitleExists       = 10014
	codeInvalidTitle      = 10019
	codeInvalidKey        = 10020
	codeTooManyKeys       = 10022
	codePayloadTooLarge   = 10024
	codeInvalidMetadata   = 10025
	codeInvalidBody       = 10027
	codeInvalidLimit      = 10028
	codeNonTextValue      = 10029
	codeInvalidParam      = 10031
	codeInvalidCursor     = 10032
	codeInvalidExpiration = 10033
	codeValueNotJSON      = 10034
	codeMetadataNotJSON   = 10147
	codeRateLimited       = 10429
)

// scopedCodes are the codes whose messages name the operation that failed,
// as Cloudflare's storage errors do ("get: 'key not found'"); see withOp.
var scopedCodes = map[int]bool{
	codeKeyNotFound:       true,
	codeTooManyPairs:      true,
	codeNamespaceNotFound: true,
	codeTooManyKeys:       true,
	codeNonTextValue:      true,
	codeInvalidExpiration: true,
	codeValueNotJSON:      true,
}

// apiError is a failure answered with the v4 envelope.
type apiError struct {
	status  int
	code    int
	message string
	more    []message // errors listed after the first, rarely any
}

// withOp returns err with its message prefixed by the operation op, as
// "op: 'message'", when err is an *apiError whose code is one of
// scopedCodes; any other err is returned as it is. The shared error values
// are never changed.
func withOp(op string, err error) error {
	var ae *apiError
	if !errors.As(err, &ae) || ae == nil || op == "" || !scopedCodes[ae.code] {
		return err
	}
	scoped := *ae
	scoped.message = op + ": '" + ae.message + "'"
	return &scoped
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%d %d: %s", e.status, e.code, e.message)
}

func newError(status, code int, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func badRequest(code int, format string, args ...any) *apiError {
	return newError(http.StatusBadRequest, code, format, args...)
}

var (
	errMethodNotAllowed  = newError(http.StatusMethodNotAllowed, codeMethodNotAllowed, "Method not allowed")
	errMissingAuth       = badRequest(codeMissingAuth, "Missing X-Auth-Key, X-Auth-Email or Authorization headers")
	errAuthentication    = newError(http.StatusForbidden, codeAuthError, "Authentication error")
	errBadCredentials    = newError(http.StatusUnauthorized, codeAuthError, "Authentication error")
	errKeyNotFound       = newError(http.StatusNotFound, codeKeyNotFound, "key not found")
	errNamespaceNotFound = newError(http.StatusNotFound, codeNamespaceNotFound, "namespace not found")
	errTitleExists       = badRequest(codeTitleExists, "a namespace with this account ID and title already exists")
	errInternal          = newError(http.StatusInternalServerError, codeInternal, "Internal server error")
)

// maxRoutePathBytes is how much of an unroutable path errNoRoute quotes.
const maxRoutePathBytes = 256

// errNoRoute is the answer for a path the API does not serve, as Cloudflare
// gives it: 400 with two errors, 7003 naming the path (relative to
// /client/v4) and 7000.
func errNoRoute(path string) *apiError {
	if strings.HasPrefix(path, "/client/v4/") {
		path = strings.TrimPrefix(path, "/client/v4")
	}
	if len(path) > maxRoutePathBytes {
		path = strings.ToValidUTF8(path[:maxRoutePathBytes], "") + "..."
	}
	e := badRequest(codeNoRoute, "Could not route to %s, perhaps your object identifier is invalid?", path)
	e.more = []message{{Code: codeNoRouteURI, Message: "No route for that URI"}}
	return e
}

// message is one item of the envelope's errors or messages arrays.
type message struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// envelope is the Cloudflare v4 response body.
type envelope struct {
	Success    bool      `json:"success"`
	Errors     []message `json:"errors"`
	Messages   []message `json:"messages"`
	Result     any       `json:"result"`
	ResultInfo any       `json:"result_info,omitempty"`
}

// okNoResult is the body of every successful call whose result is null.
var okNoResult = []byte(`{"success":true,"errors":[],"messages":[],"result":null}`)

// writeResult answers 200 with result (and result_info when not nil).
func writeResult(w http.ResponseWriter, result, resultInfo any) {
	if result == nil && resultInfo == nil {
		writeBody(w, http.StatusOK, okNoResult)
		return
	}
	writeEnvelope(w, http.StatusOK, envelope{
		Success: true, Errors: []message{}, Messages: []message{},
		Result: result, ResultInfo: resultInfo,
	})
}

// writeError answers err with the failure envelope. Errors that are not an
// *apiError become a 500 whose message does not reveal their text.
func writeError(w http.ResponseWriter, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = errInternal
	}
	noteErrors(w, ae)
	writeEnvelope(w, ae.status, envelope{
		Success:  false,
		Errors:   append([]message{{Code: ae.code, Message: ae.message}}, ae.more...),
		Messages: []message{},
	})
}

func writeEnvelope(w http.ResponseWriter, status int, env envelope) {
	body, err := json.Marshal(env)
	if err != nil {
		// Only values the emulator built itself are marshalled; this is a bug.
		body = []byte(`{"success":false,"errors":[{"code":10001,"message":"Internal server error"}],"messages":[],"result":null}`)
		status = http.StatusInternalServerError
	}
	writeBody(w, status, body)
}

func writeBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
