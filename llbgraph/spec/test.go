package spec

import (
	"regexp"
	"slices"
	"strings"
)

// TestKind names what a test checks; it is the test's kind key.
type TestKind string

// The test kinds.
const (
	// TestFile checks a path of the finished filesystem.
	TestFile TestKind = "file"
	// TestRun runs a command on the finished filesystem.
	TestRun TestKind = "run"
	// TestHealthcheck runs the image's own health check once.
	TestHealthcheck TestKind = "healthcheck"
)

// testKinds lists the kinds in the docs' order.
var testKinds = []TestKind{TestFile, TestRun, TestHealthcheck}

// fileTestKeys and runTestKeys are the keys each kind takes besides name.
var (
	fileTestKeys = []string{"absent", "dir", "mode", "owner", "link", "contains", "equals", "matches"}
	runTestKeys  = []string{"exit", "stdout", "stderr", "network", "user"}
)

// Match compares a text (a file's content, a command's output) with what a
// test expects. Every key given must hold.
type Match struct {
	// Contains is text the content must contain.
	Contains String `yaml:"contains"`
	// Equals is the whole content; an empty string asks for none.
	Equals *String `yaml:"equals,empty"`
	// Matches is a regular expression (Go's RE2 syntax) the content must
	// match somewhere; anchor it with ^ and $ (and (?m) for lines).
	Matches String `yaml:"matches"`
}

// IsSet reports whether the match asks for anything.
func (m *Match) IsSet() bool {
	return m != nil && (m.Contains.Value != "" || m.Equals != nil || m.Matches.Value != "")
}

// Test is one assertion on a stage's finished image: a path of its
// filesystem, a command run on it, or its health check (docs/spec.md,
// "Tests"). It runs when the stage is built as the target, unless the
// OHLCV_SKIP_TESTS build arg is set, and a failing test fails the build.
type Test struct {
	// Name names the test in progress and errors; it is unique in the
	// stage.
	Name String `yaml:"name"`

	// File is the absolute path a file test checks. With no other key it
	// must exist.
	File String `yaml:"file"`
	// Absent asks that the path does not exist.
	Absent Bool `yaml:"absent"`
	// Dir asks that the path is a directory.
	Dir Bool `yaml:"dir"`
	// Mode is the path's permission bits, octal (0755).
	Mode *Mode `yaml:"mode"`
	// Owner is the path's owner, user[:group], each a number or a name
	// looked up in the image's /etc/passwd and /etc/group.
	Owner Owner `yaml:"owner"`
	// Link is the target the path, a symbolic link, points to.
	Link String `yaml:"link"`
	// Match compares the file's content.
	Match

	// Run is a command run with the stage's shell on its root filesystem,
	// mounted read-only, as the image's user, in its working directory
	// and with its environment.
	Run String `yaml:"run"`
	// Exit is the exit code the command must end with; 0 by default.
	Exit *Int `yaml:"exit"`
	// Stdout compares the command's standard output.
	Stdout *Match `yaml:"stdout"`
	// Stderr compares the command's standard error.
	Stderr *Match `yaml:"stderr"`
	// Network is "none" (the default) or "default", for a command that
	// needs the network.
	Network String `yaml:"network"`
	// User runs the command as this user[:group] rather than the image's.
	User Owner `yaml:"user"`

	// Healthcheck runs the image's health check once; it must pass.
	Healthcheck Bool `yaml:"healthcheck"`

	// Node is where the test sits in the file.
	Node Node `yaml:"-"`
}

// Kind returns the test's kind, or "" when it has none.
func (t *Test) Kind() TestKind {
	switch {
	case t.File.Value != "":
		return TestFile
	case t.Run.Value != "":
		return TestRun
	case t.Healthcheck.Value:
		return TestHealthcheck
	}
	return ""
}

// Tests is a stage's list of tests.
type Tests []*Test

// validate checks a stage's tests: a name, unique; exactly one kind; the
// keys the kind takes; regular expressions that compile.
func (v *validator) tests(st *Stage) {
	seen := map[string]*Test{}
	for _, t := range st.Tests {
		if t == nil {
			continue
		}
		n := &t.Node
		switch name := t.Name.Value; {
		case name == "":
			v.at(n, "name", Range{}, "a test needs a name")
		case seen[name] != nil:
			prev := seen[name].Name.Range.Start
			v.at(n, "name", t.Name.Range, "test name %s is used twice in stage %s: first at line %d, column %d", Quote(name), Quote(st.Name), prev.Line, prev.Column)
		default:
			seen[name] = t
		}
		if set, r := fieldSet(t, "healthcheck"); set && !t.Healthcheck.Value {
			v.at(n, "healthcheck", r, "healthcheck: false checks nothing: write true, or leave the test out")
			continue
		}
		var kinds []string
		for _, k := range testKinds {
			if ok, _ := fieldSet(t, string(k)); ok {
				kinds = append(kinds, string(k))
			}
		}
		switch len(kinds) {
		case 0:
			v.at(n, "", Range{}, "a test needs one of %s", oneOf(testKinds))
			continue
		case 1:
		default:
			v.at(n, "", Range{}, "a test checks one thing, this one has %s and %s: split it into one test each", kinds[0], kinds[1])
			continue
		}
		kind := TestKind(kinds[0])
		if kind == TestFile && !strings.HasPrefix(t.File.Value, "/") {
			v.at(n, "file", t.File.Range, "a test's file is an absolute path, got %s", Quote(t.File.Value))
		}
		for _, key := range append(append([]string{}, fileTestKeys...), runTestKeys...) {
			set, r := fieldSet(t, key)
			if !set {
				continue
			}
			takes := (kind == TestFile && slices.Contains(fileTestKeys, key)) || (kind == TestRun && slices.Contains(runTestKeys, key))
			if !takes {
				v.at(n, key, r, "%s applies to %s tests only, not to %s", key, ownerKind(key), kind)
			}
		}
		if kind == TestFile && t.Absent.Value {
			for _, key := range fileTestKeys[1:] {
				if set, r := fieldSet(t, key); set {
					v.at(n, key, r, "%s asks about a path that absent says is not there: leave one out", key)
				}
			}
		}
		if t.Mode != nil {
			if err := t.Mode.check(); err != nil {
				v.at(n, "mode", t.Mode.Range, "%v", err)
			}
		}
		if t.Owner.IsSet() && t.Owner.IsTemplate() {
			v.at(n, "owner", t.Owner.Range, "a test's owner is not expanded: write the user[:group] itself, got %s", Quote(t.Owner.Raw))
		}
		v.owner(n, "user", &t.User)
		if nw := t.Network.Value; nw != "" && nw != "none" && nw != "default" {
			v.at(n, "network", t.Network.Range, "network is none or default, got %s%s", Quote(nw), DidYouMean(nw, []string{"none", "default"}))
		}
		v.match(n, "", &t.Match)
		v.match(n, "stdout.", t.Stdout)
		v.match(n, "stderr.", t.Stderr)
	}
}

// match checks that a Match's regular expression compiles.
func (v *validator) match(n *Node, prefix string, m *Match) {
	if m == nil || m.Matches.Value == "" {
		return
	}
	if _, err := regexp.Compile(m.Matches.Value); err != nil {
		v.at(n, prefix+"matches", m.Matches.Range, "invalid regular expression: %v", err)
	}
}

// ownerKind is the test kind a key belongs to.
func ownerKind(key string) TestKind {
	if slices.Contains(runTestKeys, key) {
		return TestRun
	}
	return TestFile
}
