package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/workerskv/workerskv/internal/limits"
)

// exportedLine is a line of an export (JSON Lines), as the library's Bulk.Import reads it.
type exportedLine struct {
	Key        *string         `json:"key"`
	Value      *string         `json:"value"`
	Base64     bool            `json:"base64"`
	Expiration int64           `json:"expiration"`
	Metadata   json.RawMessage `json:"metadata"`
}

// checkJSONLines reads an export through and returns how many keys it holds, or the first
// malformed line, so that nothing is sent from a file that would stop half-way.
func checkJSONLines(ctx context.Context, in *input) (int, error) {
	f, err := in.open()
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	// A line holds one value of up to 25 MiB, base64-encoded or escaped: as the library allows.
	sc.Buffer(make([]byte, 0, 64<<10), 2*limits.MaxValueBytes)
	count := 0
	for n := 1; sc.Scan(); n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return 0, fmt.Errorf("interrupted while checking %s; nothing was sent: %w", in.name, ctx.Err())
		}
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if err := checkLine(line); err != nil {
			return 0, &inputError{file: in.name, item: -1, line: n, msg: err.Error()}
		}
		count++
	}
	if err := sc.Err(); err != nil {
		return 0, &inputError{file: in.name, item: -1, line: count + 1, msg: err.Error()}
	}
	return count, nil
}

func checkLine(line []byte) error {
	var l exportedLine
	if line[0] != '{' {
		return fmt.Errorf(`want a JSON object with "key" and "value"`)
	}
	if err := json.Unmarshal(line, &l); err != nil {
		return fmt.Errorf("not valid: %v", err)
	}
	switch {
	case l.Key == nil:
		return fmt.Errorf(`"key" is missing`)
	case l.Value == nil:
		return fmt.Errorf(`"value" is missing`)
	}
	if err := checkKey(*l.Key); err != nil {
		return err
	}
	size := len(*l.Value)
	if l.Base64 {
		v, err := base64.StdEncoding.DecodeString(*l.Value)
		if err != nil {
			return fmt.Errorf(`"value" is not valid base64 ("base64" is true): %v`, err)
		}
		size = len(v)
	}
	if size > limits.MaxValueBytes {
		return fmt.Errorf("the value is %d bytes; the limit is %d", size, limits.MaxValueBytes)
	}
	if len(l.Metadata) > 0 && string(l.Metadata) != "null" {
		var buf bytes.Buffer
		if err := json.Compact(&buf, l.Metadata); err != nil || buf.Len() > limits.MaxMetadataBytes {
			return fmt.Errorf(`"metadata" is %d bytes as JSON; the limit is %d`, buf.Len(), limits.MaxMetadataBytes)
		}
	}
	return nil
}
