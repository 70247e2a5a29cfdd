package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/workerskv/workerskv"
)

// BenchmarkExportImport backs up a namespace of 10,000 or 100,000 keys and restores it into another,
// through the command (workerskv export, workerskv import) and through the library called directly
// (Bulk.Export, Bulk.Import, in a program of the same shape), each run as its own process against an
// emulator on loopback in the benchmark's process. It reports keys per second for each half and the
// command's peak memory: the heap of export and of import (sampled every 2ms by the process itself)
// and the largest resident set (VmHWM).
//
//	go test ./cmd/workerskv -run '^$' -bench ExportImport -benchtime 3x
//
// Measured on 2 shared vCPUs (Go 1.26, emulator in memory), per export + import:
//
//	keys     impl     time    export keys/s  import keys/s  export heap  import heap  peak RSS
//	10,000   cli      0.30s   63,393         70,320         3.5 MB       5.2 MB       20.9 MB
//	10,000   library  0.26s   66,595         90,843         3.7 MB       5.0 MB       19.7 MB
//	100,000  cli      1.76s   98,570         133,735        4.3 MB       13.0 MB      28.8 MB
//	100,000  library  1.58s   97,255         180,536        4.0 MB       13.3 MB      29.0 MB
//
// The command takes 1.1–1.15 times the library's time. Export's heap does not grow with the keys (a
// page of values at a time). Import's is bounded by the requests in flight (4 of up to 10,000 pairs):
// 10,000 keys make one request, 100,000 reach the bound, and 300,000 keys peak at the same 14.7 MB.
func BenchmarkExportImport(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			s := startServer(serverConfig{})
			defer s.Close()
			c := s.client(b)
			src := seedNamespace(b, c, n)
			for _, impl := range []string{"cli", "library"} {
				b.Run(impl, func(b *testing.B) {
					dir := b.TempDir()
					file := filepath.Join(dir, "backup.jsonl")
					heapFile := filepath.Join(dir, "heap")
					var exportTime, importTime time.Duration
					var exportHeap, importHeap, peakRSS int64
					runs := 0
					for b.Loop() {
						dst, err := c.Namespaces.Create(b.Context(), fmt.Sprintf("dst-%s-%d", impl, runs))
						if err != nil {
							b.Fatal(err)
						}
						export := []string{"workerskv", "export", "--namespace-id", src, "-o", file, "--quiet"}
						imp := []string{"workerskv", "import", file, "--namespace-id", dst.ID, "--quiet"}
						if impl == "library" {
							export = []string{"kvlib", "export", src, file}
							imp = []string{"kvlib", "import", file, dst.ID}
						}
						for i, args := range [][]string{export, imp} {
							d, heap, rss := runMeasured(b, s, heapFile, args)
							if i == 0 {
								exportTime += d
								exportHeap = max(exportHeap, heap)
							} else {
								importTime += d
								importHeap = max(importHeap, heap)
							}
							peakRSS = max(peakRSS, rss)
						}
						runs++
						b.StopTimer()
						if err := c.Namespaces.Delete(b.Context(), dst.ID); err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
					}
					keys := float64(n * runs)
					b.ReportMetric(keys/exportTime.Seconds(), "export-keys/s")
					b.ReportMetric(keys/importTime.Seconds(), "import-keys/s")
					b.ReportMetric(float64(exportHeap), "export-peak-heap-bytes")
					b.ReportMetric(float64(importHeap), "import-peak-heap-bytes")
					b.ReportMetric(float64(peakRSS), "peak-rss-bytes")
				})
			}
		})
	}
}

// seedNamespace creates a namespace of n keys: 100-byte values, one in four with metadata and one
// in four with an expiration.
func seedNamespace(b *testing.B, c *workerskv.Client, n int) string {
	b.Helper()
	ns, err := c.Namespaces.Create(b.Context(), "src")
	if err != nil {
		b.Fatal(err)
	}
	pairs := make([]workerskv.BulkPair, n)
	value := strings.Repeat("v", 100)
	for i := range pairs {
		pairs[i] = workerskv.BulkPair{Key: fmt.Sprintf("user/%07d", i), Value: []byte(value)}
		switch i % 4 {
		case 1:
			pairs[i].Metadata = map[string]int{"i": i}
		case 2:
			pairs[i].ExpirationTTL = 24 * time.Hour
		}
	}
	res, err := c.Bulk.Put(b.Context(), ns.ID, pairs, nil)
	if err != nil || res.Succeeded != n {
		b.Fatalf("seeding: %v (%d written)", err, res.Succeeded)
	}
	return ns.ID
}

// runMeasured runs args as a process against s and returns its wall time, peak heap and peak
// resident set.
func runMeasured(b *testing.B, s *testServer, heapFile string, args []string) (time.Duration, int64, int64) {
	b.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(s.processEnv(), envPeakHeap+"="+heapFile)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	d := time.Since(start)
	raw, err := os.ReadFile(heapFile)
	if err != nil {
		b.Fatal(err)
	}
	var heap, rss int64
	if _, err := fmt.Sscan(string(raw), &heap, &rss); err != nil {
		b.Fatalf("%s: %q: %v", heapFile, raw, err)
	}
	return d, heap, rss
}
