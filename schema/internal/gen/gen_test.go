package gen

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// The platform args the schema refuses to see declared are the ones the
// spec package sets from the platforms.
func TestPlatformArgs(t *testing.T) {
	for _, a := range platformArgs {
		if !spec.IsPlatformArg(a) {
			t.Errorf("%s is not a platform arg for the spec package", a)
		}
	}
	if spec.IsPlatformArg("PYTHON_VERSION") {
		t.Fatal("spec.IsPlatformArg says yes to anything")
	}
}

// Two runs make the same bytes: map order does not leak into the file.
func TestGenerateIsStable(t *testing.T) {
	a, err := Generate("../../../llbgraph/spec")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		b, err := Generate("../../../llbgraph/spec")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Fatal("two runs of Generate differ")
		}
	}
	// Descriptions come from the doc comments, Go links made plain.
	for _, want := range []string{
		`"description": "Version is the language version; it must be the number 1."`,
		`"description": "Sharing is how a cache is shared by concurrent builds: shared (the default), private or locked."`,
	} {
		if !bytes.Contains(a, []byte(want)) {
			t.Errorf("no %s in the schema", want)
		}
	}
}

func TestPlainText(t *testing.T) {
	got := plainText("Every error [Load] returns,\n\tand [Node.Path] and [*Error]; [not a link], [NONE].")
	if want := "Every error Load returns, and Node.Path and *Error; [not a link], [NONE]."; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// Without the spec sources there are no descriptions: an error says so.
func TestGenerateNeedsTheSpecSources(t *testing.T) {
	_, err := Generate(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "llbgraph/spec sources") {
		t.Fatalf("got %v, want an error naming the llbgraph/spec sources", err)
	}
}

func TestOrList(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want string
	}{{nil, ""}, {[]string{"a"}, "a"}, {[]string{"a", "b"}, "a or b"}, {[]string{"a", "b", "c"}, "a, b or c"}} {
		if got := orList(c.in); got != c.want {
			t.Errorf("orList(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestUnescapeHTML(t *testing.T) {
	in := `{"a": "x \u0026 \u003cid\u003e \\u0026 \"q\" \u00e9"}`
	want := `{"a": "x & <id> \\u0026 \"q\" \u00e9"}`
	if got := string(unescapeHTML([]byte(in))); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}
