// Package envelope decodes Cloudflare's v4 response envelope.
package envelope

import (
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
