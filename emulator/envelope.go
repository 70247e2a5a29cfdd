package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// Cloudflare error codes the emulator answers with. The package doc lists
// them with their HTTP statuses and says which ones are the emulator's choice.
const (
	codeAPIRateLimited    = 971
	codeMethodNotAllowed  = 7001
	codeNoRoute           = 7003
	codeMissingAuth       = 9106
	codeAuthError         = 10000
	codeInternal          = 10001
	codeKeyNotFound       = 10009
	codeNamespaceNotFound = 10013
	codeTitleExists       = 10014
	codeInvalidTitle      = 10019
	codeInvalidKey        = 10020
	codeTooManyItems      = 10022
	codePayloadTooLarge   = 10024
	codeInvalidMetadata   = 10025
	codeInvalidBody       = 10027
	codeValueNotJSON      = 10028
	codeInvalidCursor     = 10029
	codeInvalidParam      = 10031
	codeInvalidExpiration = 10033
	codeRateLimited       = 10429
)

// apiError is a failure answered with the v4 envelope.
type apiError struct {
	status  int
	code    int
	message string
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
	errNoRoute           = newError(http.StatusNotFound, codeNoRoute, "No route for that URI")
	errMethodNotAllowed  = newError(http.StatusMethodNotAllowed, codeMethodNotAllowed, "Method not allowed")
	errMissingAuth       = badRequest(codeMissingAuth, "Missing X-Auth-Key, X-Auth-Email or Authorization headers")
	errAuthentication    = newError(http.StatusForbidden, codeAuthError, "Authentication error")
	errBadCredentials    = newError(http.StatusUnauthorized, codeAuthError, "Authentication error")
	errKeyNotFound       = newError(http.StatusNotFound, codeKeyNotFound, "key not found")
	errNamespaceNotFound = newError(http.StatusNotFound, codeNamespaceNotFound, "namespace not found")
	errTitleExists       = badRequest(codeTitleExists, "a namespace with this account ID and title already exists")
	errInternal          = newError(http.StatusInternalServerError, codeInternal, "Internal server error")
)

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
	writeEnvelope(w, ae.status, envelope{
		Success:  false,
		Errors:   []message{{Code: ae.code, Message: ae.message}},
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
