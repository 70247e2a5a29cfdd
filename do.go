package workerskv

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Do calls an endpoint of the Cloudflare API that the library does not wrap, with the same
// credentials, rate-limit pacing, retries and error handling as every other call, and decodes the
// result of the v4 envelope into result.
//
// path is relative to the base URL, starts with "/", and is sent as given, so escape the segments
// you put in it with [url.PathEscape]; it may end with a query ("?a=1"). body, when not nil, is sent
// as JSON; result, when not nil, must be a pointer for the envelope's result. A response that is not a
// success gives an [*APIError], matched by the sentinel errors as for any call. POST is taken as not
// idempotent: it is retried only when it never reached the server, or on 429. A path that is not
// relative (a full URL, "//host", or without the leading "/") gives a [*ValidationError] and nothing
// is sent.
func (c *Client) Do(ctx context.Context, method, path string, body, result any) error {
	u, err := c.endpointURL(path)
	if err != nil {
		return err
	}
	r := &request{method: method, url: u, unsentOnly: method == http.MethodPost}
	if body != nil {
		b, err := jsonBody(body)
		if err != nil {
			return err
		}
		r.body, r.contentType = b, "application/json"
	}
	if result == nil {
		return callNoResult(ctx, c, r)
	}
	raw, _, err := call[json.RawMessage](ctx, c, r)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, result); err != nil {
		return fmt.Errorf("workerskv: %s %s: decoding the result: %w", method, strings.SplitN(path, "?", 2)[0], err)
	}
	return nil
}

// endpointURL resolves path, relative to the base URL, as Do sends it.
func (c *Client) endpointURL(path string) (*url.URL, error) {
	if !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "//") {
		return nil, &ValidationError{Field: "path", Reason: `must be relative to the base URL and start with "/"`}
	}
	rel, err := url.Parse(path)
	if err != nil || rel.Scheme != "" || rel.Host != "" || rel.Fragment != "" {
		return nil, &ValidationError{Field: "path", Reason: "not a path with an optional query"}
	}
	u := *c.core.base
	u.Path = strings.TrimSuffix(u.Path, "/") + rel.Path
	u.RawPath = strings.TrimSuffix(c.core.base.EscapedPath(), "/") + rel.EscapedPath()
	u.RawQuery = rel.RawQuery
	return &u, nil
}
