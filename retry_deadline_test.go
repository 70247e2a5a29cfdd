package workerskv_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/workerskv/workerskv"
)

// checkDeadlineError checks what a call that ran out of time returns: it matches
// context.DeadlineExceeded, and it still carries the last real cause (the dial error) and the number
// of attempts.
func checkDeadlineError(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v: does not match context.DeadlineExceeded", err)
	}
	var opErr *net.OpError
	if !errors.As(err, &opErr) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("err = %v: lost the dial error", err)
	}
	if err != nil && !strings.Contains(err.Error(), "attempt") {
		t.Errorf("err = %v: does not say how many attempts were made", err)
	}
}

// TestRetryDeadlineKeepsCause is the case seen in the field: 40 calls to a port nobody listens on, with
// WithBackoff(1s, 1s) and a 750 ms deadline. The retry policy draws a wait of 0.5–1 s; when it fits
// the deadline the request is retried after exactly that wait, and when it does not the call ends at
// once. Either way the error keeps the dial error and the attempt count, and matches
// context.DeadlineExceeded.
func TestRetryDeadlineKeepsCause(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nobody listens there now: every dial is refused at once
	c, err := workerskv.NewClient(workerskv.WithAPIToken(canaryToken), workerskv.WithAccountID(testAccount),
		workerskv.WithBaseURL("http://"+addr+"/client/v4"), workerskv.WithBackoff(time.Second, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 40)
	for i := range errs {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(t.Context(), 750*time.Millisecond)
			defer cancel()
			_, errs[i] = c.Namespaces.Get(ctx, testNS)
		})
	}
	wg.Wait()
	for i, err := range errs {
		t.Run(fmt.Sprintf("call %02d", i), func(t *testing.T) { checkDeadlineError(t, err) })
	}
}

// TestRetryWaitIsTheCheckedWait: the wait the retry policy checked against the deadline is the wait
// taken, for connection errors too (no response to carry it), on the fake clock.
func TestRetryWaitIsTheCheckedWait(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c, m := setup(t, workerskv.WithBackoff(time.Second, time.Second), workerskv.WithMaxRetries(10))
		var (
			mu   sync.Mutex
			sent []time.Time
		)
		m.on("GET", nsURL+"/"+testNS, func(*http.Request) (*http.Response, error) {
			mu.Lock()
			sent = append(sent, time.Now())
			mu.Unlock()
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
		})
		for range 40 {
			mu.Lock()
			sent = sent[:0]
			mu.Unlock()
			start := time.Now()
			ctx, cancel := context.WithTimeout(t.Context(), 750*time.Millisecond)
			_, err := c.Namespaces.Get(ctx, testNS)
			cancel()
			checkDeadlineError(t, err)
			mu.Lock()
			for i := 1; i < len(sent); i++ {
				if gap := sent[i].Sub(sent[i-1]); gap < 500*time.Millisecond || gap > time.Second {
					t.Errorf("attempt %d came %v after the one before, want 0.5–1s", i+1, gap)
				}
			}
			if len(sent) == 0 || sent[len(sent)-1].Sub(start) >= 750*time.Millisecond {
				t.Errorf("attempts at %v: want every attempt before the deadline", sent)
			}
			mu.Unlock()
		}
	})
}
