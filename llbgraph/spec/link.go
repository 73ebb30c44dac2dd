package spec

import "sync"

// linkMu makes linking one spec from several goroutines safe: a node that
// is not in place is written under it, and one that is, only read.
var linkMu sync.Mutex

// link puts each node in its place in the document, where it is not
// already: in a spec built in Go, or changed in Go after Load (which links
// what it decodes). A spec already linked is only read, so that Validate
// may run beside a compiler reading the paths of the same spec.
func link(s *Spec) {
	linkMu.Lock()
	defer linkMu.Unlock()
	s.Node.place(nil, "", -1)
	if s.Check != nil {
		s.Check.Node.place(&s.Node, "check", -1)
	}
	for _, st := range s.Stages {
		if st == nil {
			continue
		}
		st.Node.place(&s.Node, "stages."+keySegment(st.Name), -1)
		linkSteps(&st.Node, "steps", st.Steps)
		for i, t := range st.Tests {
			if t != nil {
				t.Node.place(&st.Node, "tests", i)
			}
		}
		if im := st.Image; im != nil {
			im.Node.place(&st.Node, "image", -1)
			if hc := im.Healthcheck; hc != nil {
				hc.Node.place(&im.Node, "healthcheck", -1)
			}
		}
	}
}

func linkSteps(parent *Node, key string, steps []Step) {
	for i, s := range steps {
		if s == nil {
			continue
		}
		n := s.StepNode()
		n.place(parent, key, i)
		switch s := s.(type) {
		case *CopyStep:
			s.Copy.Node.place(n, "copy", -1)
		case *AddStep:
			s.Add.Node.place(n, "add", -1)
		case *ParallelStep:
			if key == "steps" { // branches do not nest; Validate says so
				linkSteps(n, "parallel", s.Parallel)
			}
		}
		if r, ok := s.(RunLike); ok {
			for j := range r.Options().Mounts {
				r.Options().Mounts[j].Node.place(n, "mounts", j)
			}
		}
	}
}

// place links n under parent as link does, unless it is there already.
func (n *Node) place(parent *Node, key string, idx int) {
	if n.up != parent || n.idx != idx || n.key != key {
		n.link(parent, key, idx)
	}
}
