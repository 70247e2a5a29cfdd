package kvtest

import (
	"fmt"
	"strings"
	"testing"
)

// TestRequestLogKeepsTheLast checks that the log keeps the last maxLogRecords records, oldest
// first, and says how many it dropped.
func TestRequestLogKeepsTheLast(t *testing.T) {
	var l requestLog
	if l.String() != "" {
		t.Fatalf("empty log: %q", l.String())
	}
	for i := range maxLogRecords + 5 {
		fmt.Fprintf(&l, "record %d\n", i)
	}
	lines := strings.Split(strings.TrimSuffix(l.String(), "\n"), "\n")
	if len(lines) != maxLogRecords+1 || lines[0] != "(5 earlier requests not shown)" ||
		lines[1] != "record 5" || lines[maxLogRecords] != fmt.Sprintf("record %d", maxLogRecords+4) {
		t.Fatalf("%d lines: %q ... %q", len(lines), lines[:3], lines[len(lines)-2:])
	}
}
