package llbgraph

import (
	"context"
	"slices"
	"testing"
)

const stageArgsSpec = `version: 1
args:
  RELEASE:
    default: "1.0"
    description: the release the image is built for
  CACHE_DATE: ""
stages:
  app:
    from: scratch
    args:
      RELEASE:
      FLAVOR: {default: "slim-${RELEASE}", description: which variant}
      PLAIN: plain
      LOCAL: local
    env:
      PLAIN: from-env
      LABEL: ${LOCAL}
    steps:
      - run: make
      - run: echo "${CACHE_DATE}"
  next:
    from: app
    steps:
      - run: make
`

// A stage's args reach every run of the stage as environment, as ARG in a
// Dockerfile stage does: an arg with no default takes the top-level arg's
// value, a default reads the args before it, a build arg sets one, the
// stage's env wins over an arg of the same name, and the top-level args
// still reach only the runs that mention them. A stage built on it does
// not inherit them.
func TestStageArgsReachEveryRun(t *testing.T) {
	s := loadSpec(t, stageArgsSpec)
	for _, c := range []struct {
		buildArgs map[string]string
		want      []string
	}{
		{nil, []string{"RELEASE=1.0", "FLAVOR=slim-1.0", "LOCAL=local"}},
		{map[string]string{"RELEASE": "1.4"}, []string{"RELEASE=1.4", "FLAVOR=slim-1.4", "LOCAL=local"}},
		{map[string]string{"FLAVOR": "full", "LOCAL": "x"}, []string{"RELEASE=1.0", "FLAVOR=full", "LOCAL=x"}},
	} {
		opt := testOpt("")
		opt.BuildArgs = c.buildArgs
		m, err := Evaluate(context.Background(), s, opt)
		if err != nil || m.Err("") != nil {
			t.Fatalf("%v %v", err, m.Err(""))
		}
		app := m.Stage(s.Stages.Get("app"))
		if got := app.Steps[0].(*RunStep).ArgEnv; !slices.Equal(got, c.want) {
			t.Errorf("%v: the first run gets %v, want %v", c.buildArgs, got, c.want)
		}
		if got, want := app.Steps[1].(*RunStep).ArgEnv, append(slices.Clone(c.want), "CACHE_DATE="); !slices.Equal(got, want) {
			t.Errorf("%v: the run that mentions $CACHE_DATE gets %v, want %v", c.buildArgs, got, want)
		}
		if v, _, _ := app.Config.Env("LABEL"); v != c.want[2][len("LOCAL="):] {
			t.Errorf("%v: env reads the stage's arg: LABEL=%q", c.buildArgs, v)
		}
		if got := m.Stage(s.Stages.Get("next")).Steps[0].(*RunStep).ArgEnv; len(got) != 0 {
			t.Errorf("a stage built on app inherits its args: %v", got)
		}
	}
	// RELEASE is read (by the stage's arg), CACHE_DATE too (by a run).
	opt := testOpt("")
	m, _ := Evaluate(context.Background(), s, opt)
	if r := m.Reads(); !r["RELEASE"] || !r["CACHE_DATE"] {
		t.Errorf("reads %v", r)
	}
}

// The outline lists the args a target uses with their descriptions: the
// top-level ones it reads, then those its stages declare.
func TestOutlineListsStageArgs(t *testing.T) {
	s := loadSpec(t, stageArgsSpec)
	o, err := BuildOutline(context.Background(), s, testOpt("app"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range o.Args {
		got = append(got, a.Name+"="+a.Value+" ("+a.Description+")")
	}
	want := []string{"RELEASE=1.0 (the release the image is built for)", "CACHE_DATE= ()", "FLAVOR=slim-1.0 (which variant)", "PLAIN=plain ()", "LOCAL=local ()"}
	if !slices.Equal(got, want) {
		t.Errorf("outline args %q, want %q", got, want)
	}
}
