package check

import (
	"fmt"
	"strings"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph"
	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// run is one pass of the rules over an evaluated spec, with the stages
// whose findings are wanted.
type run struct {
	m        *llbgraph.Model
	s        *spec.Spec
	in       Input
	rule     *Rule
	findings []Finding

	reached map[*spec.Stage]bool // nil: every stage counts
	failed  bool                 // a stage could not be evaluated
}

func newRun(m *llbgraph.Model, in Input) *run {
	r := &run{m: m, s: m.Spec(), in: in}
	if in.Target != "" {
		r.reached = map[*spec.Stage]bool{}
		for _, st := range m.Reached(in.Target) {
			r.reached[st.Spec] = true
		}
	}
	for _, st := range r.s.Stages {
		if ev := m.Stage(st); ev == nil || ev.Err != nil {
			r.failed = true
		}
	}
	return r
}

// stage returns the evaluation of stage st when findings about it are
// wanted, or nil: a stage the target does not reach, or one that could not
// be evaluated (the build reports why), is not judged.
func (r *run) stage(st *spec.Stage) *llbgraph.Stage {
	ev := r.m.Stage(st)
	if ev == nil || ev.Err != nil || r.reached != nil && !r.reached[st] {
		return nil
	}
	return ev
}

// counts reports whether findings about stage st are wanted.
func (r *run) counts(st *spec.Stage) bool { return r.stage(st) != nil }

// report adds a finding of the current rule about key of node n, whose
// value is at at.
func (r *run) report(n *spec.Node, key string, at spec.Range, format string, args ...any) {
	path := n.Path()
	if key != "" {
		path = n.Field(key)
	}
	r.findings = append(r.findings, Finding{Rule: r.rule, Message: spec.Escape(fmt.Sprintf(format, args...)), Path: path, Range: at.Or(n.Range)})
}

// runsCommand reports whether the spec gives an image with configuration
// cfg an entrypoint or a cmd (one inherited from a base image does not
// count: the rules judge what the spec makes).
func runsCommand(cfg *llbgraph.Config) bool {
	for _, v := range []*llbgraph.Value{cfg.Set.Entrypoint, cfg.Set.Cmd} {
		if v != nil && strings.TrimSpace(v.Text) != "" {
			return true
		}
	}
	return false
}
