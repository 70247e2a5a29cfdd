package envelope

import (
	"encoding/json"
	"testing"
)

// TestPlainSuccess: the bodies PlainSuccess accepts are successes without errors to encoding/json too,
// and anything else, however close, is left to the decoder.
func TestPlainSuccess(t *testing.T) {
	t.Parallel()
	for _, s := range plainSuccesses {
		for _, body := range []string{s, s + "\n", s + "\r\n", s + " "} {
			if !PlainSuccess([]byte(body)) {
				t.Errorf("PlainSuccess(%q) = false", body)
			}
			e, err := Decode[json.RawMessage]([]byte(body))
			if err != nil || !e.Success || len(e.Errors) != 0 {
				t.Errorf("%q decodes as %+v, %v", body, e, err)
			}
		}
	}
	for _, body := range []string{
		``, `{}`, `null`,
		`{"success":false,"errors":[],"messages":[],"result":null}`,
		`{"success":true,"errors":[{"code":1,"message":"x"}],"messages":[],"result":null}`,
		`{"success":true,"errors":[],"messages":[],"result":null}x`,
		`{"success":true,"errors":[],"messages":[],"result":null}{}`,
		` {"success":true,"errors":[],"messages":[],"result":null}`,
		`{"success":true, "errors":[],"messages":[],"result":null}`,
		`{"success":true,"errors":[],"messages":[],"result":1}`,
		`{"success":true,"errors":[],"messages":[],"result":null`,
		`{"Success":true,"errors":[],"messages":[],"result":null}`,
	} {
		if PlainSuccess([]byte(body)) {
			t.Errorf("PlainSuccess(%q) = true", body)
		}
	}
}
