package main

import (
	"archive/zip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeTree writes files (slash path -> content) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// zipNames returns the names in the proxy's zip of example.com/m@v.
func zipNames(t *testing.T, proxy, v string) []string {
	t.Helper()
	zr, err := zip.OpenReader(filepath.Join(proxy, "example.com", "m", "@v", v+".zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		names = append(names, strings.TrimPrefix(f.Name, "example.com/m@"+v+"/"))
	}
	slices.Sort(names)
	return names
}

var tree = map[string]string{
	"go.mod":         "module example.com/m\n\ngo 1.26.0\n",
	"m.go":           "package m\n",
	"notes.log":      "ignored by git\n",
	".gitignore":     "*.log\n",
	"sub/go.mod":     "module example.com/m/sub\n\ngo 1.26.0\n",
	"sub/sub.go":     "package sub\n",
	"inner/inner.go": "package inner\n",
}

// TestProxyLayout writes a module outside git: every file but the nested
// module's is in the zip, and the .mod, .info and list files are there.
func TestProxyLayout(t *testing.T) {
	dir, proxy := t.TempDir(), t.TempDir()
	writeTree(t, dir, tree)
	for _, v := range []string{"v0.1.0", "v0.2.0", "v0.1.0"} {
		if _, err := add(proxy, dir, v); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{".gitignore", "go.mod", "inner/inner.go", "m.go", "notes.log"}
	if got := zipNames(t, proxy, "v0.1.0"); !slices.Equal(got, want) {
		t.Fatalf("zip holds %q, want %q", got, want)
	}
	vdir := filepath.Join(proxy, "example.com", "m", "@v")
	if b, err := os.ReadFile(filepath.Join(vdir, "list")); err != nil || string(b) != "v0.1.0\nv0.2.0\n" {
		t.Fatalf("list: %q %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(vdir, "v0.1.0.mod")); err != nil || string(b) != tree["go.mod"] {
		t.Fatalf(".mod: %q %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(vdir, "v0.1.0.info")); err != nil || !strings.Contains(string(b), `"Version":"v0.1.0"`) {
		t.Fatalf(".info: %q %v", b, err)
	}
}

// TestGitWorkTree leaves out what git ignores and what was deleted from the
// working tree, and keeps files git does not track yet.
func TestGitWorkTree(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("no git")
	}
	dir, proxy := t.TempDir(), t.TempDir()
	writeTree(t, dir, tree)
	for _, args := range [][]string{
		{"init", "-q"},
		{"add", "go.mod", "m.go", ".gitignore", "inner/inner.go"},
		{"-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "x"},
	} {
		cmd := exec.Command(git, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	if err := os.Remove(filepath.Join(dir, "inner", "inner.go")); err != nil {
		t.Fatal(err)
	}
	writeTree(t, dir, map[string]string{"new.go": "package m\n"})
	if _, err := add(proxy, dir, "v1.0.0"); err != nil {
		t.Fatal(err)
	}
	want := []string{".gitignore", "go.mod", "m.go", "new.go"}
	if got := zipNames(t, proxy, "v1.0.0"); !slices.Equal(got, want) {
		t.Fatalf("zip holds %q, want %q", got, want)
	}
}

// TestRefusals: a version that is not canonical, or a directory without a
// go.mod, is refused.
func TestRefusals(t *testing.T) {
	dir, proxy := t.TempDir(), t.TempDir()
	writeTree(t, dir, tree)
	for _, v := range []string{"v1", "1.0.0", "v2.0.0"} {
		if _, err := add(proxy, dir, v); err == nil {
			t.Errorf("version %q accepted", v)
		}
	}
	if _, err := add(proxy, t.TempDir(), "v1.0.0"); err == nil {
		t.Error("a directory without go.mod accepted")
	}
}
