package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain makes the test binary also the workerskv command (and kvlib, the library's export and
// import as a command, for the benchmark): testscript runs it as a separate process, as a user does.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"workerskv": func() { os.Exit(withPeakHeap(runMain)) },
		"kvlib":     func() { os.Exit(withPeakHeap(kvlibMain)) },
	})
}

// TestScripts runs testdata/script/*.txtar, each against an emulator of its own on loopback.
func TestScripts(t *testing.T) {
	t.Parallel()
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			s := startServer(serverConfig{})
			env.Defer(s.Close)
			for _, kv := range s.env() {
				k, v, _ := strings.Cut(kv, "=")
				env.Setenv(k, v)
			}
			env.Setenv("KV_URL", s.URL)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"status":    cmdStatus,
			"capture":   cmdCapture,
			"kvserver":  cmdKVServer,
			"gen-bulk":  cmdGenBulk,
			"b64decode": cmdB64Decode,
		},
	})
}

// cmdStatus runs a command and checks its exit status: status N program [args...]. Its stdout and
// stderr are then checked with the stdout and stderr commands, as after exec.
func cmdStatus(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: status N program [args...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("%v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("exit status %d, want %d", got, want)
	}
}

// cmdCapture sets an environment variable from the last command's stdout: capture NAME REGEXP sets
// NAME to REGEXP's first group.
func cmdCapture(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: capture NAME REGEXP")
	}
	m := regexp.MustCompile(args[1]).FindStringSubmatch(ts.ReadFile("stdout"))
	if len(m) < 2 {
		ts.Fatalf("stdout does not match %q", args[1])
	}
	ts.Setenv(args[0], m[1])
}

// cmdKVServer points the script at a new emulator: kvserver [-unsuccessful PREFIX] makes its bulk
// writes and deletes report keys with PREFIX as unsuccessful.
func cmdKVServer(ts *testscript.TestScript, neg bool, args []string) {
	var cfg serverConfig
	switch {
	case neg:
		ts.Fatalf("unsupported: ! kvserver")
	case len(args) == 2 && args[0] == "-unsuccessful":
		cfg.unsuccessful = args[1]
	case len(args) != 0:
		ts.Fatalf("usage: kvserver [-unsuccessful PREFIX]")
	}
	s := startServer(cfg)
	ts.Defer(s.Close)
	ts.Setenv("CLOUDFLARE_API_BASE_URL", s.URL)
	ts.Setenv("KV_URL", s.URL)
}

// cmdGenBulk writes a wrangler bulk put file: gen-bulk N FILE. See writeBulkFile.
func cmdGenBulk(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: gen-bulk N FILE")
	}
	n, err := strconv.Atoi(args[0])
	ts.Check(err)
	ts.Check(writeBulkFile(ts.MkAbs(args[1]), n))
}

// writeBulkFile writes a wrangler bulk put file of n items, "k000000" up, of every kind: text with
// characters JSON escapes, metadata, a TTL, an absolute expiration, and (one in 500) binary values
// in base64.
func writeBulkFile(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	rng := rand.New(rand.NewPCG(1, 2))
	exp := time.Now().Add(2 * time.Hour).Unix()
	w.WriteString("[\n")
	for i := range n {
		item := map[string]any{"key": fmt.Sprintf("k%06d", i)}
		switch {
		case i%500 == 7:
			b := make([]byte, 16+i%64)
			for j := range b {
				b[j] = byte(rng.UintN(256))
			}
			b[0] = 0xff // never valid UTF-8
			item["value"], item["base64"] = base64.StdEncoding.EncodeToString(b), true
		case i%4 == 0:
			item["value"] = fmt.Sprintf("text %d: \"quoted\", line\nbreak, tab\t, ü, 😀, <&>", i)
		case i%4 == 1:
			item["value"] = strconv.Itoa(i)
			item["metadata"] = map[string]any{"i": i, "tag": "t"}
		case i%4 == 2:
			item["value"] = "ttl"
			item["expiration_ttl"] = 3600
		default:
			item["value"] = "exp"
			item["expiration"] = exp
		}
		b, err := json.Marshal(item)
		if err != nil {
			return err
		}
		if i > 0 {
			w.WriteString(",\n")
		}
		w.Write(b)
	}
	w.WriteString("\n]\n")
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// cmdB64Decode writes the bytes a file holds in base64: b64decode IN OUT. Scripts keep binary
// values in base64, which a txtar archive carries intact.
func cmdB64Decode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: b64decode IN OUT")
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(ts.ReadFile(args[0])))
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), b, 0o644))
}
