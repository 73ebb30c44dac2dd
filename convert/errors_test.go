package convert

import (
	"strings"
	"testing"
)

// TestErrors: what does not convert is an error naming the Dockerfile's
// line, and Convert returns no spec.
func TestErrors(t *testing.T) {
	for _, c := range []struct {
		name, dockerfile string
		want             []string
	}{
		{"unknown instruction", "FROM busybox\nFOO bar\n", []string{"Dockerfile:2: unknown instruction: FOO (did you mean FROM?)"}},
		{"unknown flag", "FROM busybox\nRUN --foo=bar echo\n", []string{"Dockerfile:2: unknown flag: --foo"}},
		{"bad mount type", "FROM busybox\nRUN --mount=type=cahce,target=/x echo\n", []string{`Dockerfile:2: unsupported mount type "cahce" (did you mean cache?)`}},
		{"parse error", "FROM busybox\nCOPY a\n", []string{"Dockerfile:2: COPY requires at least two arguments"}},
		{"unterminated heredoc", "FROM busybox\nRUN <<EOF\nunterminated\n", []string{"Dockerfile:2: unterminated heredoc"}},
		{"no FROM", "ARG A=1\n", []string{"Dockerfile: the Dockerfile has no FROM"}},
		{"empty", "", []string{"Dockerfile: file with no instructions"}},
		{"this frontend", "# syntax=ghcr.io/ohlcv-rag/ohlcv-build:1\nFROM busybox\n", []string{"Dockerfile:1: # syntax=ghcr.io/ohlcv-rag/ohlcv-build:1 names this frontend"}},
		{"other frontend", "# syntax=example.com/x/y:1\nFROM busybox\n", []string{"Dockerfile:1: # syntax=example.com/x/y:1: cannot convert a # syntax= line naming another frontend"}},
		{"onbuild", "FROM busybox\nONBUILD RUN x\n", []string{"Dockerfile:2: cannot convert ONBUILD"}},
		{"inline add", "FROM busybox\nADD <<EOF /f\nx\nEOF\n", []string{"Dockerfile:2: cannot convert ADD <<EOF"}},
		{"two inline files", "FROM busybox\nCOPY <<A <<B /d/\nx\nA\ny\nB\n", []string{"Dockerfile:2: cannot convert ADD <<EOF, or a COPY with several heredocs"}},
		{"an inline file beside a file", "FROM busybox\nCOPY a <<EOF /d/\nx\nEOF\n", []string{"Dockerfile:2: cannot convert ADD <<EOF, or a COPY with several heredocs, or a heredoc beside files"}},
		{"shebang heredoc", "FROM busybox\nRUN <<EOF\n#!/bin/sh\necho\nEOF\n", []string{"Dockerfile:2: cannot convert RUN <<EOF whose script starts with #!"}},
		{"maintainer", "FROM busybox\nMAINTAINER me\n", []string{"Dockerfile:2: cannot convert MAINTAINER"}},
		{"every problem at once", "FROM busybox\nMAINTAINER me\nCOPY --from=busybox <<EOF /f\nx\nEOF\nONBUILD RUN x\n", []string{"Dockerfile:2:", "Dockerfile:3:", "Dockerfile:6:"}},
		{"arg defaults", "FROM busybox AS a\nARG V=1\nFROM busybox\nARG V=2\n", []string{`Dockerfile:4: ARG V defaults to "2" here and to "1" at line 2`}},
		{"arg unset here, default there", "FROM busybox AS a\nARG V=1\nFROM busybox\nARG V\n", []string{`Dockerfile:4: ARG V defaults to "" here`}},
		{"meta arg defaults", "ARG V=1\nARG V=2\nFROM busybox\n", []string{`Dockerfile:2: ARG V defaults to "2" here and to "1" at line 1`}},
		{"arg after env", "FROM busybox\nENV V=1\nARG V=2\n", []string{"Dockerfile:3: ARG V follows ENV V: cannot convert an ARG after an ENV of the same name"}},
		{"arg default reads env", "FROM busybox\nENV E=1\nARG V=$E\n", []string{"Dockerfile:3: the default of ARG V reads $E"}},
		{"out of scope", "ARG V=1\nFROM busybox\nWORKDIR /$V\n", []string{"Dockerfile:3: reads $V, which this stage does not declare"}},
		{"out of scope in FROM", "FROM busybox AS a\nARG V=1\nFROM busybox:$V\n", []string{"Dockerfile:3: reads $V, which no ARG before the first FROM declares"}},
		{"platform arg default", "FROM busybox\nARG TARGETARCH=arm64\n", []string{"Dockerfile:2: ARG TARGETARCH: cannot convert the platform args"}},
		{"targetstage", "FROM busybox\nARG TARGETSTAGE\n", []string{"Dockerfile:2: ARG TARGETSTAGE"}},
		{"env self reference", "FROM busybox\nENV A=1 B=$A\n", []string{"Dockerfile:2: ENV B reads $A"}},
		{"label read before env", "FROM busybox\nENV C=1\nLABEL x=$C\nENV C=2\n", []string{"Dockerfile:3: $C is set again by the ENV at line 4"}},
		{"env name expansion", "FROM busybox\nENV ${X}=1\n", []string{"Dockerfile:2: ENV ${X}: cannot convert a $ in the name"}},
		{"quotes in expansion", "FROM busybox\nENV A=\"${B:-\"q\"}\"\n", []string{"Dockerfile:2:", "quoting has no spec equivalent"}},
		{"later stage", "FROM busybox AS a\nFROM b AS c\nFROM busybox AS b\n", []string{"Dockerfile:2: FROM b: cannot convert FROM or --from naming a stage defined later"}},
		{"stage index out of range", "FROM busybox\nCOPY --from=3 /x /y\n", []string{"Dockerfile:2: --from=3"}},
		{"later stage in --from", "FROM busybox AS a\nCOPY --from=b /x /y\nFROM busybox AS b\n", []string{"Dockerfile:2: --from=b"}},
		{"spec refuses a value", "FROM busybox\nCOPY --chmod=999 a /b\n", []string{`Dockerfile:2: the spec would not load: stages.stage-0.steps[0].copy.chmod`}},
		{"unknown target", "FROM busybox AS base\n", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			opt := Options{}
			want := c.want
			if c.name == "unknown target" {
				opt.Target, want = "bse", []string{`Dockerfile: target "bse" is not a stage (did you mean "base"?)`}
			}
			res, err := Convert([]byte(c.dockerfile), opt)
			if err == nil {
				t.Fatalf("converted:\n%s", res.Spec)
			}
			if res != nil {
				t.Errorf("a failed conversion returned a spec")
			}
			for _, w := range want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestErrorsAreCappedAndEscaped: a Dockerfile with a thousand problems gets
// fifty and a count, and control characters in its text are escaped.
func TestErrorsAreCappedAndEscaped(t *testing.T) {
	df := "FROM busybox\n" + strings.Repeat("MAINTAINER me\n", 1000)
	_, err := Convert([]byte(df), Options{})
	if n := strings.Count(err.Error(), "cannot convert MAINTAINER"); n != maxErrors {
		t.Errorf("%d errors, want %d", n, maxErrors)
	}
	if !strings.Contains(err.Error(), "and 950 more problems") {
		t.Errorf("no count of the rest: %.200s", err)
	}
	_, err = Convert([]byte("FROM busybox\nFOO\x1b[2J\n"), Options{Filename: "a\nb"})
	if err == nil || strings.ContainsAny(err.Error(), "\x1b\n") {
		t.Errorf("control characters reach the message: %q", err)
	}
}
