package main

import (
	"bytes"
	"context"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// newNamespace creates a namespace on s and returns its ID.
func newNamespace(t *testing.T, s *testServer, title string) string {
	t.Helper()
	ns, err := s.client(t).Namespaces.Create(t.Context(), title)
	if err != nil {
		t.Fatal(err)
	}
	return ns.ID
}

// runOnTerminal runs workerskv with stderr on a pseudo-terminal and returns what the terminal
// showed and what went to stdout.
func runOnTerminal(t *testing.T, s *testServer, args ...string) (tty, stdout string) {
	t.Helper()
	ptmx, term, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 24, Cols: 120}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.Command("workerskv", args...)
	cmd.Env = s.processEnv()
	cmd.Stdout = &out
	cmd.Stderr = term
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var shown bytes.Buffer
	read := make(chan struct{})
	go func() {
		io.Copy(&shown, ptmx) // ends with EIO once the terminal is closed
		close(read)
	}()
	err = cmd.Wait()
	term.Close()
	<-read
	if err != nil {
		t.Fatalf("workerskv %s: %v\n%s", strings.Join(args, " "), err, shown.String())
	}
	return shown.String(), out.String()
}

// runPlain runs workerskv with stdout and stderr on pipes.
func runPlain(t *testing.T, s *testServer, args ...string) (stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := exec.Command("workerskv", args...)
	cmd.Env = s.processEnv()
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("workerskv %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), errOut.String()
}

// TestProgressOnTerminal checks that long jobs show a progress bar on stderr when it is a terminal
// (items done, total, rate, time left), and print nothing extra when it is not or with --quiet.
func TestProgressOnTerminal(t *testing.T) {
	t.Parallel()
	s := startServer(serverConfig{})
	defer s.Close()
	id := newNamespace(t, s, "progress")
	dir := t.TempDir()
	file := filepath.Join(dir, "bulk.json")
	if err := writeBulkFile(file, 12_000); err != nil {
		t.Fatal(err)
	}

	shown, out := runOnTerminal(t, s, "bulk", "put", file, "--namespace-id", id)
	for _, want := range []string{"bulk put", "12000/12000", "keys/s", "100%"} {
		if !strings.Contains(shown, want) {
			t.Errorf("bulk put on a terminal: %q not shown in\n%q", want, shown)
		}
	}
	if !regexp.MustCompile(`\[\d+s:\d+s\]`).MatchString(shown) {
		t.Errorf("bulk put on a terminal: no elapsed and time left in\n%q", shown)
	}
	t.Logf("terminal:\n%q", shown)
	if out != "Wrote 12000 keys\n" {
		t.Errorf("stdout = %q", out)
	}

	backup := filepath.Join(dir, "backup.jsonl")
	shown, _ = runOnTerminal(t, s, "export", "--namespace-id", id, "-o", backup)
	if !strings.Contains(shown, "export") || !strings.Contains(shown, "12000") || !strings.Contains(shown, "keys/s") {
		t.Errorf("export on a terminal: no progress in\n%q", shown)
	}
	id2 := newNamespace(t, s, "progress-import")
	shown, _ = runOnTerminal(t, s, "import", backup, "--namespace-id", id2)
	if !strings.Contains(shown, "import") || !strings.Contains(shown, "12000/12000") {
		t.Errorf("import on a terminal: no progress in\n%q", shown)
	}
	shown, _ = runOnTerminal(t, s, "bulk", "delete", file, "--namespace-id", id2)
	if !strings.Contains(shown, "bulk delete") || !strings.Contains(shown, "12000/12000") {
		t.Errorf("bulk delete on a terminal: no progress in\n%q", shown)
	}

	// --quiet on a terminal: nothing at all.
	shown, out = runOnTerminal(t, s, "bulk", "put", file, "--namespace-id", id, "--quiet")
	if shown != "" || out != "" {
		t.Errorf("bulk put --quiet on a terminal showed %q, stdout %q", shown, out)
	}

	// Not a terminal: stderr stays empty.
	for _, args := range [][]string{
		{"bulk", "put", file, "--namespace-id", id},
		{"export", "--namespace-id", id, "-o", backup},
		{"import", backup, "--namespace-id", id2},
		{"bulk", "delete", file, "--namespace-id", id2},
	} {
		if _, stderr := runPlain(t, s, args...); stderr != "" {
			t.Errorf("workerskv %s with stderr on a pipe wrote %q", strings.Join(args, " "), stderr)
		}
	}
}

// TestInterrupt checks that Ctrl-C during a bulk job stops it, reports what was and was not
// confirmed, and exits with status 130.
func TestInterrupt(t *testing.T) {
	t.Parallel()
	s := startServer(serverConfig{holdBulk: true})
	defer s.Close()
	id := newNamespace(t, s, "interrupt")
	file := filepath.Join(t.TempDir(), "bulk.json")
	const total = 50_000 // 5 requests: the first is answered, the others held
	if err := writeBulkFile(file, total); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, "workerskv", "bulk", "put", file, "--namespace-id", id)
	cmd.Env = s.processEnv()
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// At most 4 bulk writes are in flight at once, so the fifth arrives only
	// once the client has taken in the answer to the first.
	for s.bulks.Load() < 5 {
		select {
		case <-ctx.Done():
			t.Fatalf("%d bulk writes arrived, want 5", s.bulks.Load())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != exitInterrupted {
		t.Fatalf("exit: %v, want status %d; stderr:\n%s", err, exitInterrupted, errOut.String())
	}
	m := regexp.MustCompile(`(?m)^workerskv: bulk put: interrupted: (\d+) of 50000 succeeded, (\d+) unsuccessful, (\d+) unconfirmed, (\d+) not sent$`).
		FindStringSubmatch(errOut.String())
	if m == nil {
		t.Fatalf("stderr:\n%s", errOut.String())
	}
	var n [4]int
	for i := range n {
		n[i], _ = strconv.Atoi(m[i+1])
	}
	if n[0] != 10_000 || n[0]+n[1]+n[2]+n[3] != total || n[2] == 0 {
		t.Errorf("counts %v: want 10000 succeeded and every key accounted for", n)
	}
	if !strings.Contains(errOut.String(), "\nunconfirmed: k0") || !strings.Contains(errOut.String(), "more unconfirmed keys (--json lists them all)") {
		t.Errorf("unconfirmed keys not listed:\n%.2000s", errOut.String())
	}
	if out.Len() != 0 {
		t.Errorf("stdout: %q", out.String())
	}
	t.Logf("stderr:\n%.600s", errOut.String())
	// The keys reported done are there.
	c := s.client(t)
	listed := 0
	for _, err := range c.Keys.All(t.Context(), id, nil) {
		if err != nil {
			t.Fatal(err)
		}
		listed++
	}
	if listed < n[0] {
		t.Errorf("%d keys listed, fewer than the %d reported written", listed, n[0])
	}
}
