// Command fileproxy writes a Go module proxy, as a directory tree that
// GOPROXY=file://DIR serves, holding modules of this repository's working
// tree at chosen versions, so that a release can be installed before it is
// tagged. .ci/release-check uses it.
//
//	go run ./internal/rigs/fileproxy -o DIR MODULEDIR@VERSION...
//
// For each MODULEDIR@VERSION it reads the module path from MODULEDIR/go.mod
// and writes DIR/<module>/@v/VERSION.info, .mod and .zip, and adds VERSION
// to DIR/<module>/@v/list. The zip holds the files a commit of the working
// tree would hold: in a git work tree, the files git tracks or would track
// (not those it ignores), as they are on disk; elsewhere, every file. As in
// a release, files of nested modules (directories with a go.mod) are left
// out.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"
)

func main() {
	out := flag.String("o", "", "the proxy directory to write (created if needed)")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: fileproxy -o DIR MODULEDIR@VERSION...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *out == "" || flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	for _, arg := range flag.Args() {
		i := strings.LastIndex(arg, "@")
		if i <= 0 {
			fmt.Fprintf(os.Stderr, "fileproxy: %q is not MODULEDIR@VERSION\n", arg)
			os.Exit(2)
		}
		m, err := add(*out, arg[:i], arg[i+1:])
		if err != nil {
			fmt.Fprintf(os.Stderr, "fileproxy: %s: %v\n", arg, err)
			os.Exit(1)
		}
		fmt.Printf("%s@%s\n", m.Path, m.Version)
	}
}

// add writes the module in dir to the proxy at out as version v.
func add(out, dir, v string) (module.Version, error) {
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return module.Version{}, err
	}
	path := modfile.ModulePath(gomod)
	if path == "" {
		return module.Version{}, errors.New("go.mod names no module")
	}
	m := module.Version{Path: path, Version: v}
	if err := module.Check(m.Path, m.Version); err != nil {
		return m, err
	}
	if module.CanonicalVersion(v) != v {
		return m, fmt.Errorf("version %q is not canonical", v)
	}
	files, err := moduleFiles(dir)
	if err != nil {
		return m, err
	}
	escaped, err := module.EscapePath(m.Path)
	if err != nil {
		return m, err
	}
	ev, err := module.EscapeVersion(m.Version)
	if err != nil {
		return m, err
	}
	vdir := filepath.Join(out, filepath.FromSlash(escaped), "@v")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		return m, err
	}
	var z bytes.Buffer
	if err := zip.Create(&z, m, files); err != nil {
		return m, err
	}
	info := fmt.Sprintf("{\"Version\":%q,\"Time\":%q}\n", m.Version, time.Now().UTC().Format(time.RFC3339))
	for name, data := range map[string][]byte{ev + ".zip": z.Bytes(), ev + ".mod": gomod, ev + ".info": []byte(info)} {
		if err := os.WriteFile(filepath.Join(vdir, name), data, 0o644); err != nil {
			return m, err
		}
	}
	return m, addToList(filepath.Join(vdir, "list"), m.Version)
}

// addToList adds v to the proxy's version list, once.
func addToList(list, v string) error {
	b, err := os.ReadFile(list)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	versions := strings.Fields(string(b))
	if !slices.Contains(versions, v) {
		versions = append(versions, v)
	}
	return os.WriteFile(list, []byte(strings.Join(versions, "\n")+"\n"), 0o644)
}

// moduleFiles lists the files of the module in dir: in a git work tree,
// those git tracks or would track, that exist on disk; elsewhere, all.
// zip.Create leaves out those of nested modules and others no module zip
// holds.
func moduleFiles(dir string) ([]zip.File, error) {
	if out, err := exec.Command("git", "-C", dir, "rev-parse", "--is-inside-work-tree").Output(); err != nil || strings.TrimSpace(string(out)) != "true" {
		return walk(dir) // no git, or not a work tree
	}
	cmd := exec.Command("git", "-C", dir, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", ".")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	listed, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git ls-files: %v: %s", err, stderr.Bytes())
	}
	var files []zip.File
	for _, rel := range strings.Split(string(listed), "\x00") {
		if rel == "" {
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(rel))
		info, err := os.Lstat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted in the working tree
		}
		if err != nil {
			return nil, err
		}
		if !info.Mode().IsRegular() {
			continue
		}
		files = append(files, diskFile{path: p, slash: rel, info: info})
	}
	return files, nil
}

// walk lists every regular file under dir, outside VCS directories.
func walk(dir string) ([]zip.File, error) {
	var files []zip.File
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if info.IsDir() {
			switch info.Name() {
			case ".git", ".hg", ".svn", ".bzr":
				return filepath.SkipDir
			}
			return nil
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		files = append(files, diskFile{path: p, slash: filepath.ToSlash(rel), info: info})
		return nil
	})
	return files, err
}

// diskFile is a zip.File on disk.
type diskFile struct {
	path  string
	slash string
	info  os.FileInfo
}

func (f diskFile) Path() string                 { return f.slash }
func (f diskFile) Lstat() (os.FileInfo, error)  { return f.info, nil }
func (f diskFile) Open() (io.ReadCloser, error) { return os.Open(f.path) }
