package persist_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/workerskv/workerskv/cmd/internal/persist"
	"github.com/workerskv/workerskv/emulator"
)

// BenchmarkPersistPut measures PUTs of 100-byte values per second over
// loopback HTTP, for an emulator made by persist.Open (disk) and one made by New
// (memory), with 1, 8 and 64 concurrent writers. Each writer writes its own
// keys, each PUT a new one; b.N PUTs are shared out among the writers. The
// puts/s metric is b.N over the wall-clock time of the run.
//
//	go test -run '^$' -bench BenchmarkPersistPut -count 3 ./internal/persist   # in cmd/
func BenchmarkPersistPut(b *testing.B) {
	for _, mode := range []string{"disk", "memory"} {
		for _, writers := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("%s/writers=%d", mode, writers), func(b *testing.B) {
				var e *emulator.Emulator
				if mode == "disk" {
					var err error
					if e, err = persist.Open(b.TempDir()); err != nil {
						b.Fatal(err)
					}
				} else {
					e = emulator.New()
				}
				defer func() {
					if err := e.Close(); err != nil {
						b.Error(err)
					}
				}()
				benchHTTPPuts(b, e, writers)
			})
		}
	}
}

// benchHTTPPuts runs b.N PUTs against e through an httptest.Server from
// writers goroutines and reports puts/s.
func benchHTTPPuts(b *testing.B, e *emulator.Emulator, writers int) {
	srv := httptest.NewServer(e)
	defer srv.Close()
	tr := &http.Transport{MaxIdleConns: writers, MaxIdleConnsPerHost: writers}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}

	do := func(method, url, ct string, body []byte) ([]byte, error) {
		req, err := http.NewRequest(method, url, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+emulator.DefaultAPIToken)
		req.Header.Set("Content-Type", ct)
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		rb, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, rb)
		}
		return rb, err
	}
	rb, err := do(http.MethodPost, srv.URL+nsBase, "application/json", []byte(`{"title":"bench"}`))
	if err != nil {
		b.Fatal(err)
	}
	var created struct {
		Result struct {
			ID string `json:"id"`
		} `json:"result"`
	}
	if err := json.Unmarshal(rb, &created); err != nil || created.Result.ID == "" {
		b.Fatalf("create namespace: %v: %s", err, rb)
	}
	base := srv.URL + nsBase + "/" + created.Result.ID + "/values/"
	value := bytes.Repeat([]byte("v"), 100)

	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	b.SetBytes(int64(len(value)))
	b.ResetTimer()
	start := time.Now()
	for w := range writers {
		wg.Go(func() {
			prefix := base + fmt.Sprintf("w%02d-", w)
			for !failed.Load() {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				if _, err := do(http.MethodPut, prefix+fmt.Sprint(i), "application/octet-stream", value); err != nil {
					failed.Store(true)
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "puts/s")
}
