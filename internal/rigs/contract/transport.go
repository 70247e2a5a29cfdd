package contract

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// Transport returns an http.RoundTripper that sends through base (nil = http.DefaultTransport) and validates
// every request and its response against the spec. Violations are reported with t.Errorf (t is a testing.TB)
// naming method, path, and what was wrong; the response is still returned unchanged to the caller.
//
// Request and response bodies are read fully into memory (values go up to 25 MiB) and handed on as
// fresh readers. The request passed to base is a clone of the caller's, as http.RoundTripper requires
// that the caller's request not be modified. Transport errors are returned as they are, not reported.
func (s *Spec) Transport(t testing.TB, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{spec: s, t: t, base: base}
}

// transport is the RoundTripper returned by Spec.Transport.
type transport struct {
	spec *Spec
	t    testing.TB
	base http.RoundTripper
}

// RoundTrip validates req, sends it through the base transport and validates the response.
func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	out := req.Clone(req.Context())
	if req.Body != nil && req.Body != http.NoBody {
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		out.ContentLength = int64(len(body))
	}

	routed, err := tr.spec.validateRequest(out, body)
	if err != nil {
		tr.t.Errorf("%v", err)
	}

	resp, err := tr.base.RoundTrip(out)
	if err != nil || resp == nil {
		return resp, err
	}
	respBody, readErr := io.ReadAll(resp.Body)
	resp.Body.Close()
	if readErr != nil {
		// Not a contract matter: hand the caller what arrived, then the read error.
		resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(respBody), errReader{readErr}))
		return resp, nil
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))

	// A request that matched no operation was reported above; its response cannot be checked.
	if routed {
		if err := tr.spec.ValidateResponse(out, body, resp.StatusCode, resp.Header, respBody); err != nil {
			tr.t.Errorf("%v", err)
		}
	}
	return resp, nil
}

// errReader is an io.Reader that always fails with err.
type errReader struct{ err error }

// Read returns the stored error.
func (r errReader) Read([]byte) (int, error) { return 0, r.err }
