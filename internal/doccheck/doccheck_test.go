package doccheck

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// root is the module root, where README.md and the root package are.
const root = "../.."

// TestREADME type-checks every ```go block of README.md.
func TestREADME(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	snippets, err := MarkdownSnippets("README.md", src)
	if err != nil {
		t.Fatal(err)
	}
	if len(snippets) == 0 {
		t.Fatal("README.md has no ```go blocks: is the extraction broken?")
	}
	checkAll(t, snippets)
}

// TestDocComments type-checks every code block in the doc comments of the root package.
func TestDocComments(t *testing.T) {
	snippets, err := DocSnippets(root)
	if err != nil {
		t.Fatal(err)
	}
	var sawPackageDoc bool
	for _, s := range snippets {
		sawPackageDoc = sawPackageDoc || strings.HasPrefix(s.Name, "the package doc")
	}
	if !sawPackageDoc {
		t.Fatal("no code block found in the package doc (doc.go): is the extraction broken?")
	}
	checkAll(t, snippets)
}

// checker is shared by the tests, so that the packages snippets import are loaded once.
var checker = sync.OnceValues(func() (*Checker, error) { return NewChecker(root) })

func newChecker(t *testing.T) *Checker {
	t.Helper()
	ch, err := checker()
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func checkAll(t *testing.T, snippets []Snippet) {
	t.Helper()
	ch := newChecker(t)
	for _, s := range snippets {
		if err := ch.Check(s); err != nil {
			t.Error(err)
		}
	}
}

// TestCheckFails makes sure the check can fail: broken snippets are reported, by name and with
// the compiler's error at the snippet's position in its file.
func TestCheckFails(t *testing.T) {
	readme := "# Title\n\n" +
		"```go\n" + // line 3
		"v, err := workerskv.NewClientFromEnv()\n" +
		"if err != nil {\n" +
		"\tlog.Fatal(err)\n" +
		"}\n" +
		"```\n"
	snippets, err := MarkdownSnippets("README.md", []byte(readme))
	if err != nil {
		t.Fatal(err)
	}
	if len(snippets) != 1 {
		t.Fatalf("found %d snippets, want 1", len(snippets))
	}
	tests := []struct {
		name string
		s    Snippet
		want []string // substrings of the error
	}{{
		name: "unused variable in README",
		s:    snippets[0],
		want: []string{"the ```go block at README.md line 3 does not compile", "README.md:4:1: declared and not used: v"},
	}, {
		name: "unchecked error in a doc comment",
		s: Snippet{Name: "the doc comment of X (x.go)", File: "x.go", Line: 10, Code: "" +
			"kv := c.KV(nsID)\n" +
			"err := kv.Put(ctx, \"k\", []byte(\"v\"), nil)\n"},
		want: []string{"the doc comment of X (x.go) does not compile", "x.go:11", "declared and not used: err"},
	}, {
		name: "wrong type in a test function",
		s: Snippet{Name: "a test", File: "README.md", Line: 20, Column: 1, Code: "" +
			"func TestX(t *testing.T) {\n" +
			"\tsrv := kvtest.NewServer(t)\n" +
			"\tsrv.Clock.Advance(\"2h\")\n" +
			"}\n"},
		want: []string{"README.md:22:20: cannot use \"2h\""},
	}, {
		name: "syntax error",
		s:    Snippet{Name: "a fragment", File: "README.md", Line: 5, Column: 1, Code: "x := \n"},
		want: []string{"a fragment does not compile", "README.md:6:1: expected operand"},
	}, {
		name: "undefined name",
		s:    Snippet{Name: "a fragment", File: "README.md", Line: 5, Column: 1, Code: "fmt.Println(undefinedThing)\n"},
		want: []string{"README.md:5:13: undefined: undefinedThing"},
	}}
	ch := newChecker(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ch.Check(tt.s)
			if err == nil {
				t.Fatalf("Check passed; want an error. The wrapped file:\n%s", Wrap(tt.s))
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestCheckPasses makes sure the wrapping accepts the kinds of snippet the documentation has.
func TestCheckPasses(t *testing.T) {
	tests := map[string]string{
		"statements returning an error": "" +
			"kv := c.KV(nsID)\n" +
			"if err := kv.Put(ctx, \"k\", []byte(\"v\"), nil); err != nil {\n" +
			"\treturn err\n" +
			"}\n",
		"a given redeclared": "" +
			"c, err := workerskv.NewClientFromEnv()\n" +
			"if err != nil {\n" +
			"\tlog.Fatal(err)\n" +
			"}\n" +
			"fmt.Println(c)\n",
		"a test function": "" +
			"// TestX tests.\n" +
			"func TestX(t *testing.T) {\n" +
			"\tsrv := kvtest.NewServer(t)\n" +
			"\tsrv.Clock.Advance(2 * time.Hour)\n" +
			"}\n",
		"a whole file": "" +
			"package main\n\n" +
			"import \"fmt\"\n\n" +
			"func main() { fmt.Println(\"hi\") }\n",
	}
	ch := newChecker(t)
	for name, code := range tests {
		t.Run(name, func(t *testing.T) {
			if err := ch.Check(Snippet{Name: name, File: "x.md", Line: 1, Column: 1, Code: code}); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestMarkdownSnippets(t *testing.T) {
	md := "" +
		"```sh\n" + // 1
		"go test ./...\n" +
		"```\n" +
		"\n" +
		"```go\n" + // 5
		"a := 1\n" +
		"```\n" +
		"````go title\n" + // 8
		"```\n" + // a shorter fence does not close the block
		"b := 2\n" +
		"````\n" +
		"~~~go\n" + // 12
		"c := 3\n" +
		"~~~\n" +
		"```golang\n" + // not go
		"```\n"
	snippets, err := MarkdownSnippets("x.md", []byte(md))
	if err != nil {
		t.Fatal(err)
	}
	want := []Snippet{
		{Name: "the ```go block at x.md line 5", File: "x.md", Line: 6, Column: 1, Code: "a := 1\n"},
		{Name: "the ```go block at x.md line 8", File: "x.md", Line: 9, Column: 1, Code: "```\nb := 2\n"},
		{Name: "the ```go block at x.md line 12", File: "x.md", Line: 13, Column: 1, Code: "c := 3\n"},
	}
	if len(snippets) != len(want) {
		t.Fatalf("got %d snippets %+v, want %d", len(snippets), snippets, len(want))
	}
	for i := range want {
		if snippets[i] != want[i] {
			t.Errorf("snippet %d = %+v, want %+v", i, snippets[i], want[i])
		}
	}

	if _, err := MarkdownSnippets("x.md", []byte("text\n```go\nx := 1\n")); err == nil ||
		!strings.Contains(err.Error(), "x.md line 2: code block is never closed") {
		t.Errorf("unclosed block: err = %v", err)
	}
}

func TestDocSnippets(t *testing.T) {
	src := `// Package p is documented.
//
//	p.Do()
package p

// Do does.
//
//	Do()
//	Do()
//
// And again:
//
//	Do() // second block
func Do() {}

// do is unexported: its example is not checked.
//
//	do()
func do() {}

// T is a type.
type T struct {
	// F is a field.
	//
	//	var t T
	//	t.F = 1
	F int
}

// M is a method.
//
//	var t T
//	t.M()
func (T) M() {}

// Limits.
//
//	fmt.Println(A, B)
const (
	a = 0
	// A is a constant.
	//
	//	fmt.Println(A)
	A = 1
	B = 2
)
`
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "p.go"), []byte(src), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "p_test.go"), []byte("package p\n\n// X.\n//\n//\tx()\nfunc X() {}\n"), 0o666); err != nil {
		t.Fatal(err)
	}
	snippets, err := DocSnippets(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []Snippet{
		{Name: "the package doc (p.go)", File: "p.go", Line: 3, Code: "p.Do()\n"},
		{Name: "the doc comment of Do (p.go)", File: "p.go", Line: 8, Code: "Do()\nDo()\n"},
		{Name: "the doc comment of Do (p.go)", File: "p.go", Line: 13, Code: "Do() // second block\n"},
		{Name: "the doc comment of T.F (p.go)", File: "p.go", Line: 25, Code: "var t T\nt.F = 1\n"},
		{Name: "the doc comment of T.M (p.go)", File: "p.go", Line: 32, Code: "var t T\nt.M()\n"},
		{Name: "the doc comment of A (p.go)", File: "p.go", Line: 43, Code: "fmt.Println(A)\n"},
		{Name: "the doc comment of A (p.go)", File: "p.go", Line: 38, Code: "fmt.Println(A, B)\n"},
	}
	if len(snippets) != len(want) {
		t.Fatalf("got %d snippets, want %d:\n%+v", len(snippets), len(want), snippets)
	}
	for i := range want {
		if snippets[i] != want[i] {
			t.Errorf("snippet %d = %+v, want %+v", i, snippets[i], want[i])
		}
	}
}
