// Package envelope decodes Cloudflare's v4 response envelope.
package envelope

import (
	"bytes"
	"encoding/json"
)

// Message is one entry of the envelope's errors or messages list.
type Message struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// ResultInfo is the paging information of list responses.
type ResultInfo struct {
	Page       int    `json:"page"`
	PerPage    int    `json:"per_page"`
	Count      int    `json:"count"`
	TotalCount int    `json:"total_count"`
	Cursor     string `json:"cursor"`
}

// Envelope is the v4 response envelope with a typed result.
type Envelope[T any] struct {
	Success    bool        `json:"success"`
	Errors     []Message   `json:"errors"`
	Messages   ignored     `json:"messages"`
	Result     T           `json:"result"`
	ResultInfo *ResultInfo `json:"result_info"`
}

// ignored decodes any JSON value and keeps nothing.
type ignored struct{}

// UnmarshalJSON accepts any JSON value.
func (*ignored) UnmarshalJSON([]byte) error { return nil }

// Decode parses body as an envelope whose result is a T.
func Decode[T any](body []byte) (*Envelope[T], error) {
	var e Envelope[T]
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, err
	}
	return &e, nil
}

// Errors parses body as an envelope and returns its errors, or ok=false when body is not an envelope.
func Errors(body []byte) (errs []Message, ok bool) {
	var e struct {
		Success *bool     `json:"success"`
		Errors  []Message `json:"errors"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Success == nil {
		return nil, false
	}
	return e.Errors, true
}

// plainSuccesses are the usual bodies of a successful call without a result, in the member orders the
// API and the emulator use.
var plainSuccesses = [...]string{
	`{"success":true,"errors":[],"messages":[],"result":null}`,
	`{"result":null,"success":true,"errors":[],"messages":[]}`,
	`{"success":true,"errors":[],"messages":[],"result":{}}`,
	`{"result":{},"success":true,"errors":[],"messages":[]}`,
}

// PlainSuccess reports whether body is, byte for byte, one of the usual envelopes of a successful call
// without a result (success true, no errors or messages, a null or empty result), followed by nothing
// but white space. It spares such calls a decoding; false says nothing, and the body is then decoded
// as usual.
func PlainSuccess(body []byte) bool {
	body = bytes.TrimRight(body, " \t\r\n")
	for _, s := range plainSuccesses {
		if string(body) == s {
			return true
		}
	}
	return false
}
