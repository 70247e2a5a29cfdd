package emulator_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/workerskv/workerskv/emulator"
)

func TestCloseInMemory(t *testing.T) {
	e := emulator.New()
	if err := e.Close(); err != nil {
		t.Fatalf("Close of an in-memory emulator: %v", err)
	}
	var list json.RawMessage
	h := &harness{t: t, e: e}
	wantOK(t, h.do(http.MethodGet, nsBase, nil), &list)
}
