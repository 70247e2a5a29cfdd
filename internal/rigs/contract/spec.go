// Package contract checks HTTP traffic against Cloudflare's OpenAPI schema for Workers KV.
//
// It is test support: integration tests wrap their HTTP client's transport with [Spec.Transport] so that
// every request the client sends and every response the server returns is validated against
// testdata/kv-openapi.json, and any mismatch fails the test.
//
// Validation is as strict as the schema allows, with a few documented relaxations where the schema is
// narrower than the real API (or than what kin-openapi can express); each is commented where it is made
// and listed here:
//
//   - workers-kv_any's self-reference is cut (it accepts any value either way), which keeps validation
//     time linear in the depth of nested arrays.
//   - servers: routes are matched by path relative to /client/v4, whatever the scheme and host.
//   - DELETE namespace and DELETE value declare a required JSON body without a schema; no body is accepted.
//   - Schemas that only carry annotations (no type, no constraint) accept null, as in JSON Schema.
//   - Path parameters are percent-decoded before their schemas are applied.
//   - Multipart value writes: the "value" part may have any content type; the "metadata" part may be sent
//     without a content type (or as text/plain) but must still be JSON.
//   - Raw octet-stream value writes: the body is any bytes (possibly empty); only its content type is checked.
//   - Error responses (status >= 400) are checked against the common failure envelope, also for the bulk
//     operations whose declared 4XX schema would demand success=true; undeclared error statuses with
//     a non-JSON body are accepted.
//   - Bulk get: the result is checked against the plain or the with-metadata form depending on the
//     request's withMetadata flag, and a missing key may be null in either form.
//
// Checks added to kin-openapi's: credentials are present (Bearer token, or X-Auth-Key with
// X-Auth-Email); no undeclared or repeated query parameter; a request matches an operation (a key
// name with an unescaped "/" does not); a failure body lists at least one error; a status below 400
// must be declared by the operation.
package contract

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// basePath is where the spec's server (https://api.cloudflare.com/client/v4) puts every operation.
const basePath = "/client/v4"

// Component and operation names this package looks up in the schema.
const (
	anySchema         = "workers-kv_any"
	failureSchema     = "workers-kv_api-response-common-failure"
	noResultSchema    = "workers-kv_api-response-common-no-result"
	bulkGetPlain      = "workers-kv_bulk-get-result"
	bulkGetWithMeta   = "workers-kv_bulk-get-result-with-metadata"
	bulkGetOperation  = "workers-kv-namespace-get-multiple-key-value-pairs"
	mediaJSON         = "application/json"
	mediaOctetStream  = "application/octet-stream"
	mediaMultipart    = "multipart/form-data"
	headerContentType = "Content-Type"
)

// Spec is a loaded, validated OpenAPI document with a router over its operations. It is safe for
// concurrent use.
type Spec struct {
	router routers.Router
	// failure is the common failure envelope, or nil if the document has none.
	failure *openapi3.Schema
	// bulkGet holds the bulk-get response envelopes: [0] plain, [1] with metadata, [2] either.
	// Nil when the document lacks the components.
	bulkGet []*openapi3.Schema
}

// Load reads and validates the OpenAPI document at path and builds a router.
func Load(path string) (*Spec, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("contract: load %s: %w", path, err)
	}
	// workers-kv_any refers to itself (an array of any). kin-openapi resolves the cycle to one shared
	// *Schema and tracks visited schemas, so loading and validating the document terminate.
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("contract: invalid document %s: %w", path, err)
	}
	cutAnyCycle(doc.Components.Schemas[anySchema])

	// Relaxation: servers is https://api.cloudflare.com/client/v4, but tests talk to
	// http://127.0.0.1:PORT/client/v4. A relative server makes the router match on the path only.
	doc.Servers = openapi3.Servers{{URL: basePath}}

	relaxBodylessDeletes(doc)
	nullableAnnotations(doc)

	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("contract: router for %s: %w", path, err)
	}
	s := &Spec{router: router}
	if ref := doc.Components.Schemas[failureSchema]; ref != nil {
		s.failure = ref.Value
	}
	s.bulkGet = bulkGetEnvelopes(doc.Components.Schemas)
	return s, nil
}

// cutAnyCycle replaces the self-reference of workers-kv_any (the items of its array branch) by a schema
// that accepts every value.
//
// This changes nothing in what is accepted: the branches of workers-kv_any (string, number, integer,
// boolean, object or null, array of workers-kv_any) cover every JSON value, so its array items accept
// every value too. But kin-openapi validates the matching anyOf branch twice at each level, which makes
// validating nested arrays exponential in their depth (a metadata value of 30 nested arrays would take
// hours); without the cycle each value is visited a bounded number of times.
func cutAnyCycle(ref *openapi3.SchemaRef) {
	if ref == nil || ref.Value == nil {
		return
	}
	for _, branch := range ref.Value.AnyOf {
		if b := branch.Value; b != nil && b.Items != nil && b.Items.Value == ref.Value {
			b.Items = openapi3.NewSchemaRef("", &openapi3.Schema{Nullable: true})
		}
	}
}

// relaxBodylessDeletes makes optional the request bodies that are declared required but are JSON
// without a schema (DELETE namespace, DELETE value).
//
// Relaxation: the spec marks those bodies required, yet gives them no schema; real clients
// (cloudflare-go, wrangler) send none and the API accepts that. If a body is sent it must still be
// declared JSON (see checkBody).
func relaxBodylessDeletes(doc *openapi3.T) {
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			rb := op.RequestBody
			if rb == nil || rb.Value == nil || !rb.Value.Required || len(rb.Value.Content) != 1 {
				continue
			}
			if mt := rb.Value.Content[mediaJSON]; mt != nil && mt.Schema == nil {
				rb.Value.Required = false
			}
		}
	}
}

// nullableAnnotations marks as nullable every schema that only carries annotations (description,
// example) and no type or constraint.
//
// Relaxation (validator quirk): kin-openapi rejects null for any schema without nullable:true, even one
// with no type. In JSON Schema such a schema accepts every value. The spec's "any JSON" schemas are
// allOf[workers-kv_any, {description, example}]; workers-kv_any itself accepts null (its object branch is
// nullable), so without this metadata:null (a key without metadata) would be refused.
func nullableAnnotations(doc *openapi3.T) {
	seen := map[*openapi3.Schema]bool{}
	var walk func(ref *openapi3.SchemaRef)
	walkAll := func(refs openapi3.SchemaRefs) {
		for _, r := range refs {
			walk(r)
		}
	}
	walk = func(ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		s := ref.Value
		seen[s] = true
		if isAnnotationOnly(s) {
			s.Nullable = true
		}
		walkAll(s.AllOf)
		walkAll(s.AnyOf)
		walkAll(s.OneOf)
		walk(s.Not)
		walk(s.Items)
		walk(s.AdditionalProperties.Schema)
		for _, p := range s.Properties {
			walk(p)
		}
	}
	for _, ref := range doc.Components.Schemas {
		walk(ref)
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				for _, mt := range op.RequestBody.Value.Content {
					walk(mt.Schema)
				}
			}
			for _, resp := range op.Responses.Map() {
				if resp.Value != nil {
					for _, mt := range resp.Value.Content {
						walk(mt.Schema)
					}
				}
			}
			for _, p := range op.Parameters {
				if p.Value != nil {
					walk(p.Value.Schema)
				}
			}
		}
	}
}

// isAnnotationOnly reports whether s constrains nothing.
func isAnnotationOnly(s *openapi3.Schema) bool {
	return (s.Type == nil || len(*s.Type) == 0) &&
		len(s.AllOf) == 0 && len(s.AnyOf) == 0 && len(s.OneOf) == 0 && s.Not == nil &&
		len(s.Properties) == 0 && s.Items == nil && len(s.Required) == 0 && len(s.Enum) == 0 &&
		s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil &&
		s.MinLength == 0 && s.MaxLength == nil && s.Pattern == "" && s.Format == "" &&
		s.Min == nil && s.Max == nil && s.MinItems == 0 && s.MaxItems == nil &&
		s.MinProps == 0 && s.MaxProps == nil && !s.UniqueItems
}

// bulkGetEnvelopes builds the bulk-get 200 envelopes: plain, with metadata, and either.
//
// Relaxation: the spec declares result as oneOf[plain, with-metadata]. A with-metadata body (objects
// with value and metadata) also matches the plain form, whose entries may be any object, so oneOf
// refuses every valid with-metadata response. The request's withMetadata flag tells which form the
// server must use, so the response is checked against that form alone (see ValidateResponse).
// Also, a key that does not exist comes back as null; the with-metadata form declares its entries
// nullable, the plain form does not, so plain entries are made nullable too.
func bulkGetEnvelopes(schemas openapi3.Schemas) []*openapi3.Schema {
	noResult, plain, meta := schemas[noResultSchema], schemas[bulkGetPlain], schemas[bulkGetWithMeta]
	if noResult == nil || plain == nil || meta == nil {
		return nil
	}
	plainCopy := *plain.Value
	if values := plainCopy.Properties["values"]; values != nil && values.Value.AdditionalProperties.Schema != nil {
		valuesCopy := *values.Value
		entry := *valuesCopy.AdditionalProperties.Schema.Value
		entry.Nullable = true
		valuesCopy.AdditionalProperties = openapi3.AdditionalProperties{Schema: openapi3.NewSchemaRef("", &entry)}
		plainCopy.Properties = openapi3.Schemas{"values": openapi3.NewSchemaRef("", &valuesCopy)}
	}
	envelope := func(result *openapi3.Schema) *openapi3.Schema {
		withResult := openapi3.NewObjectSchema().WithProperty("result", result)
		return openapi3.NewAllOfSchema(noResult.Value, withResult)
	}
	plainRef := &plainCopy
	return []*openapi3.Schema{
		envelope(plainRef),
		envelope(meta.Value),
		envelope(openapi3.NewAnyOfSchema(plainRef, meta.Value)),
	}
}

// find routes req to an operation of the spec. The returned path parameters are percent-decoded.
func (s *Spec) find(req *http.Request) (*routers.Route, map[string]string, error) {
	// Route on a copy holding only method and path: the host and scheme are the test server's.
	probe := &http.Request{Method: req.Method, URL: &url.URL{Path: req.URL.Path, RawPath: req.URL.RawPath}}
	route, params, err := s.router.FindRoute(probe)
	if err != nil {
		return nil, nil, fmt.Errorf("no operation in the spec for %s %s: %v", req.Method, req.URL.EscapedPath(), err)
	}
	// The router matches on the escaped path, so a key such as a%2Fb stays one segment, and returns
	// the parameters still escaped. Relaxation/fix: decode them before their schemas apply, so that
	// maxLength counts the key's characters rather than its escaped form.
	for name, raw := range params {
		v, err := url.PathUnescape(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("path parameter %q: bad percent-encoding %q", name, raw)
		}
		params[name] = v
	}
	return route, params, nil
}
