package contract

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// ValidateRequest checks req against the spec: credentials, route, path and query parameters (unknown
// query parameters included) and the request body, which is body (req.Body is not read). It returns nil
// if the request conforms, otherwise an error naming the method, the path and every problem found.
func (s *Spec) ValidateRequest(req *http.Request, body []byte) error {
	_, err := s.validateRequest(req, body)
	return err
}

// validateRequest is ValidateRequest; routed reports whether the request matched an operation.
func (s *Spec) validateRequest(req *http.Request, body []byte) (routed bool, err error) {
	var problems []string
	if p := checkCredentials(req.Header); p != "" {
		problems = append(problems, p)
	}
	route, params, err := s.find(req)
	if err != nil {
		return false, violation(req, "request", append(problems, err.Error()))
	}
	problems = append(problems, checkQuery(route, req.URL.RawQuery)...)
	problems = append(problems, s.checkRequest(req, body, route, params)...)
	return true, violation(req, "request ("+route.Operation.OperationID+")", problems)
}

// checkCredentials reports a problem unless h carries "Authorization: Bearer <token>" or both
// X-Auth-Key and X-Auth-Email, the two security requirements every KV operation declares. Only their
// presence is checked: authentication itself is the server's business (kin-openapi gets a no-op
// AuthenticationFunc).
func checkCredentials(h http.Header) string {
	if h.Get("X-Auth-Key") != "" && h.Get("X-Auth-Email") != "" {
		return ""
	}
	if auth := h.Get("Authorization"); auth != "" {
		scheme, token, _ := strings.Cut(auth, " ")
		if strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(token) != "" {
			return ""
		}
		return `credentials: Authorization header is not "Bearer <token>"`
	}
	if h.Get("X-Auth-Key") != "" || h.Get("X-Auth-Email") != "" {
		return "credentials: X-Auth-Key and X-Auth-Email must be sent together"
	}
	return "credentials: none sent (want Authorization: Bearer <token>, or X-Auth-Key with X-Auth-Email)"
}

// checkQuery reports query parameters the operation does not declare, repeated scalar parameters, and
// a malformed query string. kin-openapi ignores undeclared parameters, so this is done here.
func checkQuery(route *routers.Route, rawQuery string) []string {
	if rawQuery == "" {
		return nil
	}
	declared := map[string]*openapi3.Parameter{}
	for _, params := range []openapi3.Parameters{route.PathItem.Parameters, route.Operation.Parameters} {
		for _, p := range params {
			if p.Value != nil && p.Value.In == openapi3.ParameterInQuery {
				declared[p.Value.Name] = p.Value
			}
		}
	}
	values, err := url.ParseQuery(rawQuery)
	if err != nil {
		return []string{fmt.Sprintf("malformed query string: %v", err)}
	}
	var problems []string
	for _, name := range slices.Sorted(maps.Keys(values)) {
		p := declared[name]
		switch {
		case p == nil:
			problems = append(problems, fmt.Sprintf("unknown query parameter %q", name))
		case len(values[name]) > 1 && (p.Schema == nil || p.Schema.Value == nil || !p.Schema.Value.Type.Is("array")):
			problems = append(problems, fmt.Sprintf("query parameter %q sent %d times", name, len(values[name])))
		}
	}
	return problems
}

// checkRequest runs kin-openapi's request validation (path, query, body), handling the media types the
// spec describes too narrowly itself.
func (s *Spec) checkRequest(req *http.Request, body []byte, route *routers.Route, params map[string]string) []string {
	opts := s.options()
	var problems []string
	ct := req.Header.Get(headerContentType)
	mt := mediaType(ct)
	rb := route.Operation.RequestBody
	switch {
	case rb == nil || rb.Value == nil:
		opts.ExcludeRequestBody = true
		if len(body) > 0 {
			problems = append(problems, "the operation declares no request body, but one was sent")
		}
	case mt == mediaMultipart && rb.Value.Content[mediaMultipart] != nil:
		opts.ExcludeRequestBody = true
		problems = append(problems, checkMultipart(ct, body, rb.Value.Content[mediaMultipart])...)
	case mt == mediaOctetStream && rb.Value.Content[mediaOctetStream] != nil:
		// Relaxation: a raw value write carries any bytes, and an empty value is a valid KV value, so
		// the body is not decoded (its schema, string or binary string, holds for every byte sequence)
		// and may be empty although the body is "required". Its content type was checked above.
		opts.ExcludeRequestBody = true
	case len(body) > 0 && isJSON(mt):
		// A JSON body declared without a schema (DELETE namespace/value) must at least be JSON.
		if media := rb.Value.Content.Get(ct); media != nil && media.Schema == nil {
			if _, err := decodeJSON(body); err != nil {
				problems = append(problems, fmt.Sprintf("request body is not valid JSON: %v", err))
			}
		}
	}

	vr := req.Clone(context.Background())
	vr.Body, vr.ContentLength, vr.GetBody = http.NoBody, 0, nil
	if len(body) > 0 {
		vr.Body, vr.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	}
	input := &openapi3filter.RequestValidationInput{Request: vr, PathParams: params, Route: route, Options: opts}
	return append(problems, flatten(openapi3filter.ValidateRequest(context.Background(), input))...)
}

// checkMultipart validates a multipart/form-data value write against the schema of media.
//
// Relaxation: kin-openapi decodes each part by its own Content-Type and refuses the ones it has no
// decoder for, and it requires the "metadata" part to carry the declared application/json. The real
// API stores the "value" part as raw bytes whatever its content type (image/png, text/html, none...), and
// Cloudflare's own curl examples send metadata as `--form 'metadata={...}'`, i.e. without a content
// type. So the value part is taken as raw bytes, and a part with a declared encoding may also come
// without a Content-Type or as text/plain, but its content must still parse as JSON. Unknown parts,
// repeated parts, a missing value part and metadata that is not JSON are still reported.
func checkMultipart(contentType string, body []byte, media *openapi3.MediaType) []string {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil || params["boundary"] == "" {
		return []string{fmt.Sprintf("multipart Content-Type %q has no boundary", contentType)}
	}
	if media.Schema == nil || media.Schema.Value == nil {
		return nil
	}
	schema := media.Schema.Value
	var problems []string
	obj := map[string]any{}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("malformed multipart body: %v", err))
			break
		}
		name := part.FormName()
		data, err := io.ReadAll(part)
		if err != nil {
			problems = append(problems, fmt.Sprintf("malformed multipart part %q: %v", name, err))
			break
		}
		if schema.Properties[name] == nil {
			problems = append(problems, fmt.Sprintf("multipart part %q is not in the schema", name))
			continue
		}
		if _, dup := obj[name]; dup {
			problems = append(problems, fmt.Sprintf("multipart part %q sent more than once", name))
			continue
		}
		enc := media.Encoding[name]
		if enc == nil || enc.ContentType == "" {
			obj[name] = string(data)
			continue
		}
		if pmt := mediaType(part.Header.Get(headerContentType)); pmt != "" && pmt != "text/plain" && !enc.AllowsContentType(pmt) {
			problems = append(problems, fmt.Sprintf("multipart part %q has Content-Type %q, the spec wants %q", name, pmt, enc.ContentType))
		}
		if !isJSON(mediaType(enc.ContentType)) {
			obj[name] = string(data)
			continue
		}
		v, err := decodeJSON(data)
		if err != nil {
			problems = append(problems, fmt.Sprintf("multipart part %q is not valid JSON: %v", name, err))
			continue
		}
		obj[name] = v
	}
	if err := schema.VisitJSON(obj, openapi3.VisitAsRequest(), openapi3.MultiErrors(), openapi3.DisableSchemaErrorDetails()); err != nil {
		problems = append(problems, "multipart body doesn't match schema: "+err.Error())
	}
	return problems
}

// options returns fresh kin-openapi options for one validation.
func (s *Spec) options() *openapi3filter.Options {
	return &openapi3filter.Options{
		// Authentication is not this package's concern; checkCredentials checks presence.
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		// Never write defaults into the request that is being validated.
		SkipSettingDefaults:   true,
		MultiError:            true,
		IncludeResponseStatus: true,
		// The schema is recursive (workers-kv_any): keep schema dumps out of messages.
		SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()},
	}
}

// violation formats problems about req as one error, or returns nil if there are none.
func violation(req *http.Request, what string, problems []string) error {
	if len(problems) == 0 {
		return nil
	}
	target := req.URL.EscapedPath()
	if req.URL.RawQuery != "" {
		target += "?" + req.URL.RawQuery
	}
	return fmt.Errorf("contract: %s %s: %s violates the spec:\n\t- %s",
		req.Method, target, what, strings.Join(problems, "\n\t- "))
}

// flatten splits kin-openapi's multi-errors into one message each.
func flatten(err error) []string {
	if err == nil {
		return nil
	}
	// Only the top level: a RequestError wrapping schema errors keeps its "parameter ..." prefix.
	if me, ok := err.(openapi3.MultiError); ok {
		var out []string
		for _, e := range me {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []string{err.Error()}
}

// mediaType returns the lower-case media type of a Content-Type value, without parameters.
func mediaType(ct string) string {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// isJSON reports whether mt is JSON (application/json or a +json type).
func isJSON(mt string) bool {
	return mt == mediaJSON || strings.HasSuffix(mt, "+json")
}

// decodeJSON decodes data the way kin-openapi decodes JSON bodies, so schemas see the same values.
func decodeJSON(data []byte) (any, error) {
	return openapi3filter.JSONBodyDecoder(bytes.NewReader(data), nil, nil, nil)
}
