package frontend

import (
	"os"
	"strings"
	"testing"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// compare says what was expected and what was found, for each kind of
// match, and nothing when the text passes.
func TestCompare(t *testing.T) {
	eq := spec.Str("hello\n")
	for _, c := range []struct {
		m    spec.Match
		text string
		want string
	}{
		{spec.Match{Equals: &eq}, "hello\n", ""},
		{spec.Match{Equals: &eq}, "bye\n", `expected the output to equal "hello\n", found "bye\n"`},
		{spec.Match{Contains: spec.Str("ell")}, "hello", ""},
		{spec.Match{Contains: spec.Str("bye")}, "hello", `expected the output to contain "bye", found "hello"`},
		{spec.Match{Matches: spec.Str(`^\d+$`)}, "1000", ""},
		{spec.Match{Matches: spec.Str(`^\d+$`)}, "root", `expected the output to match "^\\d+$", found "root"`},
	} {
		if got := compare("the output", &c.m, c.text); got != c.want {
			t.Errorf("compare(%+v, %q) = %q, want %q", c.m, c.text, got, c.want)
		}
	}
	if got := compare("x", &spec.Match{Contains: spec.Str("z")}, strings.Repeat("a", 1000)); !strings.Contains(got, "...") || len(got) > 400 {
		t.Errorf("a long text is not shortened: %d bytes", len(got))
	}
}

// permBits writes Go's setuid, setgid and sticky bits as chmod does.
func TestPermBits(t *testing.T) {
	if got := permBits(0o755 | os.ModeSetuid | os.ModeSticky | os.ModeDir); got != 0o5755 {
		t.Errorf("permBits = %04o, want 5755", uint32(got))
	}
}
