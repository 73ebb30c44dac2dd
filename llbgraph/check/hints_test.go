package check

import (
	"testing"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// The finding says what runs, what YAML took away, and the command quoted
// so that it keeps the text; the quotes suit the command.
func TestCommentInCommandMessage(t *testing.T) {
	for src, want := range map[string]string{
		"      - go: test ./... # $BUST\n": `f.yaml:6:13: stages.app.steps[0].go: the text after " #" is a YAML comment, not part of the command: the step runs "test ./..." without "# $BUST"; to keep it, quote the whole command (go: "test ./... # $BUST"), or move the comment to a line of its own`,
		"      - run: echo \"a\" # ${X}\n": `f.yaml:6:14: stages.app.steps[0].run: the text after " #" is a YAML comment, not part of the command: the step runs "echo \"a\"" without "# ${X}"; to keep it, quote the whole command (run: 'echo "a" # ${X}'), or move the comment to a line of its own`,
	} {
		s, err := spec.Load("f.yaml", []byte("version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n"+src))
		if err != nil {
			t.Fatal(err)
		}
		only := Config{Skip: others(ruleNamed("CommentInCommand"))}
		findings := Run(evaluate(t, s), only, Input{})
		if len(findings) != 1 {
			t.Fatalf("%q: %d findings", src, len(findings))
		}
		f := findings[0]
		if got := spec.Errorf("f.yaml", f.Path, f.Range, "%s", f.Message).Error(); got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
}

// UnpinnedBaseImage's example tag is the image's own name, never another
// image's.
func TestUnpinnedSuggestsTheImagesOwnName(t *testing.T) {
	for from, want := range map[string]string{
		"busybox":              `"busybox" has no tag, so it means latest, whatever that is on the day of the build: pin a version tag (busybox:<version>), or a digest`,
		"ghcr.io/astral-sh/uv": `"ghcr.io/astral-sh/uv" has no tag, so it means latest, whatever that is on the day of the build: pin a version tag (ghcr.io/astral-sh/uv:<version>), or a digest`,
	} {
		s, err := spec.Load("f.yaml", []byte("version: 1\nstages:\n  app:\n    from: "+from+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		findings := Run(evaluate(t, s), Config{Skip: others(ruleNamed("UnpinnedBaseImage"))}, Input{})
		if len(findings) != 1 || findings[0].Message != want {
			t.Errorf("got %+v\nwant %s", findings, want)
		}
	}
}
