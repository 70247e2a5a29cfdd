package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// ValidateResponse checks a response (status, header, respBody) to req against the spec. body is the
// request's body, used where the expected response shape depends on it (bulk get's withMetadata);
// req.Body is not read. It returns nil if the response conforms, otherwise an error naming the method,
// the path and every problem found.
//
// Statuses the operation declares (exactly, as a range such as 4XX, or as default) are validated
// against that response. Error statuses (>= 400) must carry the common failure envelope when their body
// is JSON; an undeclared error status (typically 5xx) with a non-JSON body is accepted. An undeclared
// status below 400 is a violation, and so is a request that matches no operation.
func (s *Spec) ValidateResponse(req *http.Request, body []byte, status int, header http.Header, respBody []byte) error {
	route, params, err := s.find(req)
	if err != nil {
		return violation(req, fmt.Sprintf("response %d", status), []string{err.Error()})
	}
	op := route.Operation
	declared := op.Responses.Status(status)
	if declared == nil {
		declared = op.Responses.Default()
	}
	var problems []string
	switch {
	case status >= 400:
		problems = s.checkFailure(status, declared, header, respBody)
	case declared == nil || declared.Value == nil:
		problems = []string{fmt.Sprintf("status %d is not declared by the operation", status)}
	case op.OperationID == bulkGetOperation && s.bulkGet != nil && status/100 == 2:
		problems = s.checkBulkGet(declared.Value, body, header, respBody)
	default:
		problems = s.checkResponse(req, route, params, status, header, respBody)
	}
	return violation(req, fmt.Sprintf("response %d (%s)", status, op.OperationID), problems)
}

// checkResponse runs kin-openapi's response validation (content type, headers, body schema).
func (s *Spec) checkResponse(req *http.Request, route *routers.Route, params map[string]string,
	status int, header http.Header, respBody []byte) []string {
	vr := req.Clone(context.Background())
	vr.Body, vr.ContentLength, vr.GetBody = http.NoBody, 0, nil
	opts := s.options()
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: vr, PathParams: params, Route: route, Options: opts,
		},
		Status:  status,
		Header:  header,
		Body:    io.NopCloser(bytes.NewReader(respBody)),
		Options: opts,
	}
	return flatten(openapi3filter.ValidateResponse(context.Background(), input))
}

// checkFailure validates an error response (status >= 400).
//
// An error body that is JSON must be the v4 failure envelope: the schema's
// workers-kv_api-response-common-failure (success false, errors and messages lists of {code >= 1000,
// message}, result null or an object), plus at least one error (the schema's "minLength: 1" on the
// errors array has no effect on arrays).
//
// Relaxation: the bulk write/delete operations declare for 4XX the success envelope with a bulk result,
// which demands success=true; that contradicts every other failure and the API's behaviour, so all
// error bodies are checked against the failure envelope instead (its result, "object or null", still
// admits a bulk result).
//
// Decision on non-JSON error bodies: every KV operation declares its 4XX responses as
// application/json, so an HTML (or plain text, or empty) 4xx body is a contract violation; an emulator
// must answer 404, 405, 413, 429... with the envelope. Statuses the operation does not declare (5xx) are
// outside the contract: Cloudflare's edge does serve HTML 5xx pages, so such a body is accepted, but a
// JSON one must still be the failure envelope.
func (s *Spec) checkFailure(status int, declared *openapi3.ResponseRef, header http.Header, respBody []byte) []string {
	ct := header.Get(headerContentType)
	mt := mediaType(ct)
	if declared != nil && declared.Value != nil && len(declared.Value.Content) > 0 && declared.Value.Content.Get(ct) == nil {
		return []string{fmt.Sprintf("Content-Type %q for status %d, the spec declares %v", ct, status, slices.Sorted(maps.Keys(declared.Value.Content)))}
	}
	if !isJSON(mt) {
		return nil
	}
	v, err := decodeJSON(respBody)
	if err != nil {
		return []string{fmt.Sprintf("error body is not valid JSON: %v", err)}
	}
	var problems []string
	if s.failure != nil {
		if err := s.failure.VisitJSON(v, openapi3.VisitAsResponse(), openapi3.MultiErrors(), openapi3.DisableSchemaErrorDetails()); err != nil {
			problems = append(problems, fmt.Sprintf("error body doesn't match schema %s: %v", failureSchema, err))
		}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return append(problems, "error body is not a JSON object")
	}
	if m["success"] != false {
		problems = append(problems, "error body: success must be false")
	}
	errs, _ := m["errors"].([]any)
	if len(errs) == 0 {
		problems = append(problems, "error body: errors must list at least one error")
	}
	if s.failure == nil { // No schema to lean on: check the error items by hand.
		for i, e := range errs {
			item, _ := e.(map[string]any)
			code, isNum := item["code"].(float64)
			if _, isStr := item["message"].(string); !isNum || code != float64(int64(code)) || !isStr {
				problems = append(problems, fmt.Sprintf("error body: errors[%d] needs an integer code and a string message", i))
			}
		}
	}
	return problems
}

// checkBulkGet validates a successful bulk-get response against the form the request asked for (see
// bulkGetEnvelopes for why the spec's oneOf is not used as is).
func (s *Spec) checkBulkGet(declared *openapi3.Response, reqBody []byte, header http.Header, respBody []byte) []string {
	ct := header.Get(headerContentType)
	if declared.Content.Get(ct) == nil {
		return []string{fmt.Sprintf("Content-Type %q, the spec declares %v", ct, slices.Sorted(maps.Keys(declared.Content)))}
	}
	v, err := decodeJSON(respBody)
	if err != nil {
		return []string{fmt.Sprintf("response body is not valid JSON: %v", err)}
	}
	schema, form := s.bulkGet[2], "either form (request body unreadable)"
	var flags struct {
		WithMetadata bool `json:"withMetadata"`
	}
	if json.Unmarshal(reqBody, &flags) == nil {
		schema, form = s.bulkGet[0], bulkGetPlain
		if flags.WithMetadata {
			schema, form = s.bulkGet[1], bulkGetWithMeta
		}
	}
	if err := schema.VisitJSON(v, openapi3.VisitAsResponse(), openapi3.MultiErrors(), openapi3.DisableSchemaErrorDetails()); err != nil {
		return []string{fmt.Sprintf("response body doesn't match the envelope with %s: %v", form, err)}
	}
	return nil
}
