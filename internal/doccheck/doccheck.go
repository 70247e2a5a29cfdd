// Package doccheck finds the Go code in the module's documentation (the ```go blocks of a Markdown
// file, the code blocks of a package's doc comments) and type-checks it, so that an example that
// would not compile fails the tests. Its test checks README.md and the doc comments of the root
// package.
//
// Snippets are fragments, not files, so [Checker.Check] wraps each one in a file of its own (see
// [Wrap]): a snippet whose first word is package is checked as it is; one that starts with func or
// type goes at file level; anything else goes in a block inside a function that returns an error,
// so that a snippet may "return err". The file imports the packages snippets use (context, errors,
// fmt, io, log, net/http, net/http/httptest, os, strings, testing, time, and this module's
// workerskv, emulator and kvtest) and declares the few names a snippet may use without defining
// them ([Givens]). A //line directive makes errors point into the documentation file. The code is
// type-checked with go/types, so every compile error counts, including "declared and not used".
package doccheck

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/doc/comment"
	"go/importer"
	"go/parser"
	"go/scanner"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// A Snippet is one block of Go code from the documentation.
type Snippet struct {
	// Name tells a reader where the snippet is, e.g. "the ```go block at README.md line 37" or
	// "the doc comment of KV (namespace.go)".
	Name string
	// File and Line locate the snippet's first line of code; compile errors are reported at
	// positions in File. Column is the column of the code's first character, or 0 when the code
	// is indented inside a comment and columns would not match the file.
	File         string
	Line, Column int
	// Code is the snippet's text.
	Code string
}

// imports are the packages a snippet may use without importing them, each with a name it exports
// so that the wrapper can keep the import used.
var imports = []struct{ path, name string }{
	{"context", "Background"},
	{"errors", "Is"},
	{"fmt", "Println"},
	{"io", "EOF"},
	{"log", "Fatal"},
	{"net/http", "NewRequest"},
	{"net/http/httptest", "NewServer"},
	{"os", "Getenv"},
	{"strings", "NewReader"},
	{"testing", "Short"},
	{"time", "Hour"},
	{"github.com/workerskv/workerskv", "NewClient"},
	{"github.com/workerskv/workerskv/emulator", "New"},
	{"github.com/workerskv/workerskv/kvtest", "NewServer"},
}

// Givens declares the names a snippet may use without defining them, as if code before it had set
// them up: README.md's later examples use the client c, the handle kv and a namespace ID from the
// example above them.
const Givens = `var (
	ctx               context.Context
	c, client         *workerskv.Client
	kv                *workerskv.KV
	nsID, namespaceID string
)
`

// MarkdownSnippets returns the ```go blocks of a Markdown file; name is the file's name as errors
// should show it. A fence that is never closed is an error.
func MarkdownSnippets(name string, src []byte) ([]Snippet, error) {
	var (
		snippets []Snippet
		fence    string // the open fence ("```", "~~~~", ...), or "" outside a block
		isGo     bool
		start    int // line of the open fence
		code     strings.Builder
	)
	sc := bufio.NewScanner(bytes.NewReader(src))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if fence == "" {
			if f := fenceOf(trimmed); f != "" {
				fence, start = f, n
				info := strings.Fields(trimmed[len(f):])
				isGo = len(info) > 0 && info[0] == "go"
				code.Reset()
			}
			continue
		}
		if strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, fence[:1]) == "" { // the closing fence
			if isGo {
				snippets = append(snippets, Snippet{
					Name:   fmt.Sprintf("the ```go block at %s line %d", name, start),
					File:   name,
					Line:   start + 1,
					Column: 1,
					Code:   code.String(),
				})
			}
			fence = ""
			continue
		}
		code.WriteString(line)
		code.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if fence != "" {
		return nil, fmt.Errorf("%s line %d: code block is never closed", name, start)
	}
	return snippets, nil
}

// fenceOf returns the run of ` or ~ that opens a fenced code block at the start of line, or "".
func fenceOf(line string) string {
	for _, ch := range "`~" {
		n := len(line) - len(strings.TrimLeft(line, string(ch)))
		if n >= 3 {
			return line[:n]
		}
	}
	return ""
}

// DocSnippets returns the code blocks in the doc comments of the package in dir (its non-test
// files): the package doc and the docs of exported declarations, struct fields and interface
// methods. Every code block in them must be Go. Errors name the files relative to dir.
func DocSnippets(dir string) ([]Snippet, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	fset := token.NewFileSet()
	var snippets []Snippet
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		file := filepath.Base(path)
		add := func(what string, doc *ast.CommentGroup) {
			snippets = append(snippets, commentSnippets(fset, file, what, doc)...)
		}
		add("the package doc", f.Doc)
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if name := funcName(d); name != "" {
					add("the doc comment of "+name, d.Doc)
				}
			case *ast.GenDecl:
				name := ""
				for _, spec := range d.Specs {
					specName := exportedName(spec)
					if specName == "" {
						continue
					}
					if name == "" {
						name = specName // names the declaration's doc, for a group too
					}
					add("the doc comment of "+specName, specDoc(spec))
					if ts, ok := spec.(*ast.TypeSpec); ok {
						addFieldDocs(ts, add)
					}
				}
				if name != "" {
					add("the doc comment of "+name, d.Doc)
				}
			}
		}
	}
	return snippets, nil
}

// funcName is how a reader refers to an exported function or method ("NewClient", "KV.Put"), or ""
// if it is not exported.
func funcName(d *ast.FuncDecl) string {
	if !d.Name.IsExported() {
		return ""
	}
	if d.Recv == nil || len(d.Recv.List) == 0 {
		return d.Name.Name
	}
	t := d.Recv.List[0].Type
	if star, ok := t.(*ast.StarExpr); ok {
		t = star.X
	}
	switch x := t.(type) {
	case *ast.IndexExpr: // generic receiver
		t = x.X
	case *ast.IndexListExpr:
		t = x.X
	}
	recv, ok := t.(*ast.Ident)
	if !ok || !recv.IsExported() {
		return ""
	}
	return recv.Name + "." + d.Name.Name
}

// exportedName returns the first exported name a spec declares, or "".
func exportedName(spec ast.Spec) string {
	switch s := spec.(type) {
	case *ast.TypeSpec:
		if s.Name.IsExported() {
			return s.Name.Name
		}
	case *ast.ValueSpec:
		for _, n := range s.Names {
			if n.IsExported() {
				return n.Name
			}
		}
	}
	return ""
}

func specDoc(spec ast.Spec) *ast.CommentGroup {
	switch s := spec.(type) {
	case *ast.TypeSpec:
		return s.Doc
	case *ast.ValueSpec:
		return s.Doc
	}
	return nil
}

// addFieldDocs adds the docs of the exported fields of a struct type, or the methods of an
// interface type.
func addFieldDocs(ts *ast.TypeSpec, add func(string, *ast.CommentGroup)) {
	var fields *ast.FieldList
	switch t := ts.Type.(type) {
	case *ast.StructType:
		fields = t.Fields
	case *ast.InterfaceType:
		fields = t.Methods
	default:
		return
	}
	for _, f := range fields.List {
		for _, n := range f.Names {
			if n.IsExported() {
				add("the doc comment of "+ts.Name.Name+"."+n.Name, f.Doc)
				break
			}
		}
	}
}

// commentSnippets returns the code blocks of a doc comment, as go doc finds them.
func commentSnippets(fset *token.FileSet, file, what string, doc *ast.CommentGroup) []Snippet {
	if doc == nil {
		return nil
	}
	var p comment.Parser
	var snippets []Snippet
	next := 0 // the first comment line not yet matched to a code block
	for _, block := range p.Parse(doc.Text()).Content {
		code, ok := block.(*comment.Code)
		if !ok {
			continue
		}
		// The parser does not keep positions: find the block's first line among the comment's.
		line := fset.Position(doc.Pos()).Line
		first, _, _ := strings.Cut(code.Text, "\n")
		for i := next; i < len(doc.List); i++ {
			text := strings.TrimPrefix(doc.List[i].Text, "//")
			if strings.TrimSpace(text) == strings.TrimSpace(first) {
				line, next = fset.Position(doc.List[i].Pos()).Line, i+1
				break
			}
		}
		snippets = append(snippets, Snippet{
			Name: fmt.Sprintf("%s (%s)", what, file),
			File: file,
			Line: line,
			Code: code.Text,
		})
	}
	return snippets
}

// A Checker type-checks snippets. It is not safe for concurrent use.
type Checker struct {
	fset *token.FileSet
	imp  types.Importer
}

// NewChecker returns a Checker that imports packages from their compiled export data, which it gets
// from "go list -export" run in dir (a directory of the module): the go command builds the packages
// snippets may import, or finds them in its build cache.
func NewChecker(dir string) (*Checker, error) {
	args := []string{"list", "-export", "-f", "{{.ImportPath}}\t{{.Export}}"}
	for _, imp := range imports {
		args = append(args, imp.path)
	}
	cmd := exec.Command("go", args...) // go test puts its own go command first in PATH
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list -export: %v\n%s", err, stderr.Bytes())
	}
	exports := make(map[string]string) // import path -> export data file
	for line := range strings.Lines(string(out)) {
		path, file, _ := strings.Cut(strings.TrimSuffix(line, "\n"), "\t")
		exports[path] = file
	}
	lookup := func(path string) (io.ReadCloser, error) {
		file, ok := exports[path]
		if !ok || file == "" {
			return nil, fmt.Errorf("no export data for %q", path)
		}
		return os.Open(file)
	}
	fset := token.NewFileSet()
	return &Checker{fset: fset, imp: importer.ForCompiler(fset, "gc", lookup)}, nil
}

// maxErrors is how many compile errors of one snippet are reported.
const maxErrors = 10

// Check type-checks s. The error names the snippet and lists the compile errors, at their
// positions in s.File.
func (ch *Checker) Check(s Snippet) error {
	src := Wrap(s)
	var errs []string
	report := func(err error) {
		if len(errs) < maxErrors {
			errs = append(errs, err.Error())
		}
	}
	// Files are named after the snippet; the //line directive in src makes positions in the
	// snippet's code refer to s.File.
	f, err := parser.ParseFile(ch.fset, s.File+" (wrapped)", src, parser.SkipObjectResolution)
	if err != nil {
		var list scanner.ErrorList
		if errors.As(err, &list) {
			for _, e := range list {
				report(e)
			}
		} else {
			report(err)
		}
	} else {
		conf := types.Config{Importer: ch.imp, Error: report}
		_, _ = conf.Check("snippet", ch.fset, []*ast.File{f}, nil) // errors go to report
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%s does not compile:\n\t%s", s.Name, strings.Join(errs, "\n\t"))
}

// Wrap returns the Go file that [Checker.Check] type-checks for s.
func Wrap(s Snippet) string {
	var b strings.Builder
	directive := fmt.Sprintf("//line %s:%d", s.File, s.Line)
	if s.Column > 0 {
		directive += fmt.Sprintf(":%d", s.Column)
	}
	code := strings.TrimRight(s.Code, "\n")
	switch firstWord(code) {
	case "package":
		// A whole file: check it as it is.
		b.WriteString(directive + "\n" + code + "\n")
		return b.String()
	case "func", "type":
		b.WriteString(header())
		b.WriteString(directive + "\n" + code + "\n")
	default:
		b.WriteString(header())
		b.WriteString("func _() error {\n{\n" + directive + "\n" + code + "\n}\nreturn nil\n}\n")
	}
	return b.String()
}

// header is the start of a wrapped snippet's file: its imports, kept used, and the Givens.
func header() string {
	var b strings.Builder
	b.WriteString("package snippet\n\nimport (\n")
	for _, imp := range imports {
		fmt.Fprintf(&b, "\t%q\n", imp.path)
	}
	b.WriteString(")\n\nvar (\n")
	for _, imp := range imports {
		fmt.Fprintf(&b, "\t_ = %s.%s\n", path.Base(imp.path), imp.name)
	}
	b.WriteString(")\n\n" + Givens + "\n")
	return b.String()
}

// firstWord returns the first token of code after comments, or "" if there is none.
func firstWord(code string) string {
	fset := token.NewFileSet()
	var s scanner.Scanner
	s.Init(fset.AddFile("", -1, len(code)), []byte(code), nil, 0)
	_, tok, lit := s.Scan()
	if tok.IsKeyword() {
		return tok.String()
	}
	return lit
}
