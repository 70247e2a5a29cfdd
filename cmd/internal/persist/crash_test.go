package persist_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/workerskv/workerskv/cmd/internal/persist"
	"github.com/workerskv/workerskv/emulator"
)

// crashDirEnv, set in the environment of the test binary, makes
// TestCrashServerProcess serve an emulator persisted in that directory.
const crashDirEnv = "WORKERSKV_CRASH_TEST_DIR"

// crashAddrPrefix starts the line on which the helper process prints its
// base URL.
const crashAddrPrefix = "crash-test-server "

// TestCrashServerProcess is not a test: run by TestCrashKeepsAcknowledgedWrites
// in a child process, it serves persist.Open(dir) on 127.0.0.1 until it is killed or
// its standard input is closed.
func TestCrashServerProcess(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("helper process of TestCrashKeepsAcknowledgedWrites")
	}
	e, err := persist.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		// The parent closes stdin, or dies: stop without ceremony.
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	fmt.Printf("%shttp://%s\n", crashAddrPrefix, ln.Addr())
	err = http.Serve(ln, e)
	t.Fatal(err)
}

// crashServer is a child process serving a persistent emulator.
type crashServer struct {
	cmd *exec.Cmd
	url string
}

// startCrashServer runs TestCrashServerProcess on dir in a child process
// and waits for its address; the process is killed when the test ends.
func startCrashServer(t *testing.T, dir string) *crashServer {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashServerProcess$")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr := make(chan string, 1)
	var output bytes.Buffer // what the child printed before its address
	var outputMu sync.Mutex
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), crashAddrPrefix); ok {
				addr <- u
				break
			}
			outputMu.Lock()
			output.WriteString(sc.Text() + "\n")
			outputMu.Unlock()
		}
		close(addr)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	u, ok := <-addr
	if !ok {
		_ = cmd.Wait()
		outputMu.Lock()
		defer outputMu.Unlock()
		t.Fatalf("helper process exited without serving:\n%s", output.String())
	}
	return &crashServer{cmd: cmd, url: u}
}

// TestCrashKeepsAcknowledgedWrites kills a persistent emulator's process
// with SIGKILL while many clients write to it, restarts it on the same
// directory and checks that every write it acknowledged is there.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	const (
		writers   = 32
		killAfter = 2000 // acknowledged PUTs before the kill
	)
	dir := t.TempDir()
	srv := startCrashServer(t, dir)
	tr := &http.Transport{MaxIdleConnsPerHost: writers}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: time.Minute}

	do := func(base, method, path string, body io.Reader) (int, []byte, error) {
		req, err := http.NewRequest(method, base+path, body)
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Authorization", "Bearer "+emulator.DefaultAPIToken)
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, b, err
	}
	code, body, err := do(srv.url, http.MethodPost, nsBase, strings.NewReader(`{"title":"crash"}`))
	if err != nil || code != http.StatusOK {
		t.Fatalf("create namespace: %d %s %v", code, body, err)
	}
	var created struct {
		Result namespace `json:"result"`
	}
	if err := json.Unmarshal(body, &created); err != nil {
		t.Fatal(err)
	}
	values := nsBase + "/" + created.Result.ID + "/values/"

	// Each writer writes new keys and, every fifth time, overwrites its
	// "last" key with the number of its latest write, so that the restarted
	// emulator must hold the last acknowledged value of that key or the
	// value of the one write that was in flight.
	var (
		mu        sync.Mutex
		acked     = map[string]string{} // key -> value, for every 2xx
		lastAcked = make([]int, writers)
		count     atomic.Int64
		killed    atomic.Bool
		kill      sync.Once
		wg        sync.WaitGroup
	)
	for w := range writers {
		lastAcked[w] = -1
		wg.Go(func() {
			for i := 0; ; i++ {
				key, value := fmt.Sprintf("w%02d-%06d", w, i), fmt.Sprintf("%d:%d:%s", w, i, strings.Repeat("v", 100))
				if i%5 == 4 {
					key, value = fmt.Sprintf("w%02d-last", w), strconv.Itoa(i)
				}
				code, body, err := do(srv.url, http.MethodPut, values+key, strings.NewReader(value))
				if err != nil || code/100 != 2 {
					if !killed.Load() {
						t.Errorf("PUT %s before the kill: %d %s %v", key, code, body, err)
					}
					return
				}
				mu.Lock()
				acked[key] = value
				if i%5 == 4 {
					lastAcked[w] = i
				}
				mu.Unlock()
				if count.Add(1) == killAfter {
					kill.Do(func() {
						killed.Store(true)
						if err := srv.cmd.Process.Kill(); err != nil {
							t.Errorf("kill: %v", err)
						}
					})
				}
			}
		})
	}
	wg.Wait()
	if !killed.Load() {
		t.Fatal("the load ended before the kill")
	}
	_ = srv.cmd.Wait()
	tr.CloseIdleConnections()
	if t.Failed() {
		return
	}

	srv = startCrashServer(t, dir)
	keys := make(chan string)
	var lost atomic.Int64
	var check sync.WaitGroup
	for range 8 {
		check.Go(func() {
			for key := range keys {
				code, body, err := do(srv.url, http.MethodGet, values+key, nil)
				switch {
				case err != nil:
					t.Errorf("GET %s after the restart: %v", key, err)
				case code == http.StatusNotFound:
					if lost.Add(1) <= 10 {
						t.Errorf("acknowledged key %s lost", key)
					}
				case code != http.StatusOK:
					t.Errorf("GET %s after the restart: %d %s", key, code, body)
				case strings.HasSuffix(key, "-last"):
					w, _ := strconv.Atoi(key[1:3])
					if n, err := strconv.Atoi(string(body)); err != nil || n < lastAcked[w] || n > lastAcked[w]+5 {
						t.Errorf("%s after the restart: %q, last acknowledged %d", key, body, lastAcked[w])
					}
				case string(body) != acked[key]:
					t.Errorf("%s after the restart: %q, want %q", key, body, acked[key])
				}
			}
		})
	}
	for key := range acked {
		keys <- key
	}
	close(keys)
	check.Wait()
	t.Logf("%d acknowledged PUTs (%d distinct keys) before SIGKILL; %d lost after the restart", count.Load(), len(acked), lost.Load())
}
