package soak_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/workerskv/workerskv"
)

// absent is the state of a key that holds no value; state n > 0 is the key's n-th written version.
const absent = 0

// version is one value the workload asked to write to a key.
type version struct {
	value string
	meta  bool // written with metadata {"v": n}
}

// keyModel is what one key may hold after the calls made so far: a set of states. An acknowledged put
// or delete narrows it to one state; a failed call leaves the key unknown, so the state it asked for
// joins the set (the old states stay possible too).
type keyModel struct {
	name     string
	versions []version      // versions[n-1] is version n
	byValue  map[string]int // value -> version
	ok       map[int]bool   // the acceptable states
}

func newKeyModel(name string) *keyModel {
	return &keyModel{name: name, byValue: map[string]int{}, ok: map[int]bool{absent: true}}
}

// newVersion makes a value no other key or version ever has: the key name and version number, padded
// to a length between 1 and ~300 bytes.
func (k *keyModel) newVersion(meta bool, pad int) (int, string) {
	n := len(k.versions) + 1
	v := fmt.Sprintf("%s#v%d|%s", k.name, n, strings.Repeat("é.", pad))
	k.versions = append(k.versions, version{value: v, meta: meta})
	k.byValue[v] = n
	return n, v
}

// metadata is what version n is written with, if anything.
func (k *keyModel) metadata(n int) any {
	if !k.versions[n-1].meta {
		return nil
	}
	return map[string]any{"v": n, "key": k.name}
}

func (k *keyModel) acked(state int)   { k.ok = map[int]bool{state: true} }
func (k *keyModel) unknown(state int) { k.ok[state] = true }

// states lists the acceptable states, for messages.
func (k *keyModel) states() []int { return slices.Sorted(maps.Keys(k.ok)) }

// metaVersion reads the version recorded in a listing's metadata: 0 (and true) when there is none.
func metaVersion(raw json.RawMessage) (int, bool) {
	if len(raw) == 0 {
		return 0, true
	}
	var m struct {
		V int `json:"v"`
	}
	if json.Unmarshal(raw, &m) != nil || m.V <= 0 {
		return 0, false
	}
	return m.V, true
}

// listedOK reports whether a listing of the key that shows metadata raw agrees with the model: the
// metadata names an acceptable version written with metadata, or there is none and some acceptable
// version was written without.
func (k *keyModel) listedOK(raw json.RawMessage) bool {
	n, ok := metaVersion(raw)
	switch {
	case !ok:
		return false
	case n > 0:
		return n <= len(k.versions) && k.versions[n-1].meta && k.ok[n]
	}
	for s := range k.ok {
		if s != absent && !k.versions[s-1].meta {
			return true
		}
	}
	return false
}

// metaMatches reports whether raw is the metadata version n was written with.
func (k *keyModel) metaMatches(n int, raw json.RawMessage) bool {
	mv, ok := metaVersion(raw)
	if !ok {
		return false
	}
	if k.versions[n-1].meta {
		return mv == n
	}
	return mv == 0
}

// tally counts operations, errors by kind and violations; it is shared by the workers.
type tally struct {
	mu         sync.Mutex
	ops        map[string]int
	errs       map[string]int
	lost       int
	unexpected int
	untyped    int
	notes      []string
}

func newTally() *tally { return &tally{ops: map[string]int{}, errs: map[string]int{}} }

func (t *tally) op(kind string) {
	t.mu.Lock()
	t.ops[kind]++
	t.mu.Unlock()
}

// violation records a lost acknowledged write ("lost"), a state nobody asked for ("unexpected") or an
// untyped error ("untyped"), keeping the first messages for the report.
func (t *tally) violation(kind, format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch kind {
	case "lost":
		t.lost++
	case "unexpected":
		t.unexpected++
	default:
		t.untyped++
	}
	if len(t.notes) < 30 {
		t.notes = append(t.notes, kind+": "+fmt.Sprintf(format, args...))
	}
}

// transportErr is how the client reports a transport failure: method and path, then the cause.
var transportErr = regexp.MustCompile(`^workerskv: (GET|PUT|POST|DELETE) /\S+ `)

// classify names the kind of a failed call's error, or returns "" when the error is untyped: not an
// *APIError with method and path, not a context error, not a wrapped transport error naming method
// and path.
func classify(err error) string {
	var ae *workerskv.APIError
	switch {
	case errors.As(err, &ae):
		if ae.Method == "" || ae.Path == "" || ae.StatusCode == 0 {
			return ""
		}
		return fmt.Sprintf("api-%d", ae.StatusCode)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return "context"
	case transportErr.MatchString(err.Error()) && errors.Unwrap(err) != nil:
		return "transport"
	}
	return ""
}

// failed records a failed call's error by kind, and an untyped one as a violation.
func (t *tally) failed(tb testing.TB, what string, err error) {
	kind := classify(err)
	if kind == "" {
		t.violation("untyped", "%s: %T %v", what, err, err)
		return
	}
	t.mu.Lock()
	t.errs[kind]++
	t.mu.Unlock()
	if strings.Contains(err.Error(), "kvemulator-token") {
		tb.Errorf("%s: the error shows the token: %v", what, err)
	}
}

func (t *tally) sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
