package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/workerskv/workerskv/emulator"
)

// TestEmulatorCommand runs "workerskv emulator" and the commands against it, as the README shows:
// the emulator in one process, the commands in others, pointed at it by CLOUDFLARE_API_BASE_URL.
func TestEmulatorCommand(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	emu := exec.CommandContext(ctx, "workerskv", "emulator", "-addr", "127.0.0.1:0", "-data", t.TempDir())
	stdout, err := emu.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var emuErr bytes.Buffer
	emu.Stderr = &emuErr
	if err := emu.Start(); err != nil {
		t.Fatal(err)
	}
	var banner strings.Builder
	base := ""
	sc := bufio.NewScanner(stdout)
	for base == "" && sc.Scan() {
		banner.WriteString(sc.Text() + "\n")
		if u, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "base URL:"); ok {
			base = strings.TrimSpace(u)
		}
	}
	if base == "" {
		t.Fatalf("no base URL in the banner:\n%s%s", banner.String(), emuErr.String())
	}
	rest := make(chan string)
	go func() {
		b, _ := io.ReadAll(stdout)
		rest <- string(b)
	}()

	env := []string{
		"CLOUDFLARE_API_BASE_URL=" + base,
		"CLOUDFLARE_API_TOKEN=" + emulator.DefaultAPIToken,
		"CLOUDFLARE_ACCOUNT_ID=" + emulator.DefaultAccountID,
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CLOUDFLARE_") {
			env = append(env, kv)
		}
	}
	cli := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, "workerskv", args...)
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("workerskv %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		return string(out)
	}
	cli("namespace", "create", "local")
	cli("key", "put", "greeting", "hello", "--namespace-title", "local")
	if got := cli("key", "get", "greeting", "--namespace-title", "local"); got != "hello" {
		t.Errorf("key get = %q, want %q", got, "hello")
	}

	if err := emu.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	tail := <-rest
	if err := emu.Wait(); err != nil {
		t.Fatalf("emulator exit: %v\n%s", err, emuErr.String())
	}
	if !strings.Contains(tail, "shutting down") {
		t.Errorf("emulator output after Ctrl-C: %q", tail)
	}
}
