package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/workerskv/workerskv"
)

// envPeakHeap names a file: when set, a command run by the tests samples its heap while it runs and
// writes there the peak heap and the peak resident set, in bytes, separated by a space.
const envPeakHeap = "WORKERSKV_TEST_PEAK_HEAP"

// withPeakHeap runs f, sampling the heap as envPeakHeap asks.
func withPeakHeap(f func() int) int {
	path := os.Getenv(envPeakHeap)
	if path == "" {
		return f()
	}
	stop := sampleHeap(2 * time.Millisecond)
	code := f()
	peak := stop()
	out := strconv.FormatUint(peak, 10) + " " + strconv.FormatInt(peakRSS(), 10)
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return code
}

// sampleHeap reads the bytes of heap objects (live and not yet collected) every interval until the
// returned function is called, which returns the largest figure seen.
func sampleHeap(interval time.Duration) (stop func() uint64) {
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var (
		mu   sync.Mutex
		peak uint64
	)
	read := func() {
		metrics.Read(samples)
		mu.Lock()
		peak = max(peak, samples[0].Value.Uint64())
		mu.Unlock()
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				read()
			case <-done:
				return
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		read()
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

// peakRSS returns the process's peak resident set in bytes (VmHWM), or 0 where it cannot be read.
// The rusage a parent gets from wait does not serve: on Linux it can report the parent's own
// resident set, which the child had before it executed its program.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err == nil {
				return kb * 1024
			}
		}
	}
	return 0
}

// kvlibMain is the library's Bulk.Export and Bulk.Import as a command, for the benchmark to run as
// the CLI is run: kvlib export NAMESPACE_ID FILE, kvlib import FILE NAMESPACE_ID.
func kvlibMain() int {
	if err := kvlib(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "kvlib:", err)
		return 1
	}
	return 0
}

func kvlib(args []string) error {
	if len(args) != 3 {
		return errors.New("usage: kvlib export NAMESPACE_ID FILE | kvlib import FILE NAMESPACE_ID")
	}
	c, err := workerskv.NewClientFromEnv()
	if err != nil {
		return err
	}
	ctx := context.Background()
	switch args[0] {
	case "export":
		f, err := os.Create(args[2])
		if err != nil {
			return err
		}
		if err := c.Bulk.Export(ctx, args[1], f, nil); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	case "import":
		f, err := os.Open(args[1])
		if err != nil {
			return err
		}
		defer f.Close()
		res, err := c.Bulk.Import(ctx, args[2], f, nil)
		if err != nil {
			return err
		}
		if len(res.Unsuccessful)+len(res.Unconfirmed) > 0 {
			return fmt.Errorf("%d keys not written", len(res.Unsuccessful)+len(res.Unconfirmed))
		}
		return nil
	}
	return fmt.Errorf("unknown command %q", args[0])
}
