// The shell recipe of docs/ci.md (docs/ci/emulator.sh and docs/ci/example.sh)
// is tested here, with the command it runs.

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// need finds a program the recipe uses; without it the test is skipped,
// except under CI (the CI environment variable set), where it fails.
func need(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found: the CI recipe test needs it", name)
		}
		t.Skipf("%s not found: the CI recipe test needs it", name)
	}
	return p
}

// TestShellRecipe runs docs/ci/example.sh, as docs/ci.md shows it, against
// a freshly built kvemulator (this package): it starts the emulator with emulator.sh, waits
// until it answers, creates and lists a namespace with curl, and stops it
// with SIGTERM; the emulator must exit with status 0.
func TestShellRecipe(t *testing.T) {
	bash := need(t, "bash")
	need(t, "curl")
	goTool := need(t, "go")

	tmp := t.TempDir()
	bin := filepath.Join(tmp, "kvemulator")
	build := exec.CommandContext(t.Context(), goTool, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building kvemulator: %v\n%s", err, out)
	}

	script, err := filepath.Abs(filepath.Join("..", "..", "docs", "ci", "example.sh"))
	if err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(tmp, "job")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), bash, script)
	cmd.Dir = work
	cmd.Env = append(os.Environ(),
		"KVEMULATOR="+bin,
		"KVEMULATOR_ADDR=127.0.0.1:0",
		"KVEMULATOR_WAIT=20",
		"GITHUB_ENV="+filepath.Join(tmp, "github_env"),
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		t.Fatalf("example.sh: %v\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
	}
	t.Logf("stdout:\n%s\nstderr:\n%s", &stdout, &stderr)

	if !regexp.MustCompile(`"result":\[\{"id":"[0-9a-f]{32}","title":"ci"`).Match(stdout.Bytes()) {
		t.Errorf("the namespace list does not show the namespace created:\n%s", &stdout)
	}
	for _, want := range []string{"kvemulator is up at http://127.0.0.1:", "kvemulator stopped cleanly"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
	state := filepath.Join(work, ".kvemulator")
	if status, err := os.ReadFile(filepath.Join(state, "status")); err != nil || strings.TrimSpace(string(status)) != "0" {
		t.Errorf("emulator exit status %q (%v), want 0", status, err)
	}
	if log, err := os.ReadFile(filepath.Join(state, "log")); err != nil || !strings.Contains(string(log), "shutting down") {
		t.Errorf("emulator log does not show a graceful shutdown (%v):\n%s", err, log)
	}
	pidText, err := os.ReadFile(filepath.Join(state, "pid"))
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	if _, err := fmt.Sscan(strings.TrimSpace(string(pidText)), &pid); err == nil && pid > 0 {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("the emulator (pid %d) still runs after stop", pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	env, err := os.ReadFile(filepath.Join(tmp, "github_env"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CLOUDFLARE_API_BASE_URL=http://127.0.0.1:", "CLOUDFLARE_BASE_URL=http://127.0.0.1:", "CLOUDFLARE_API_TOKEN=kvemulator-token", "CLOUDFLARE_ACCOUNT_ID=0123456789abcdef0123456789abcdef"} {
		if !strings.Contains(string(env), want) {
			t.Errorf("$GITHUB_ENV lacks %q:\n%s", want, env)
		}
	}
}
