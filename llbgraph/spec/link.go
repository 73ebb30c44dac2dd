package spec

// link records each node's place in the document, for a spec built in Go
// (Load links what it decodes).
func link(s *Spec) {
	s.Node.link(nil, "", -1)
	if s.Check != nil {
		s.Check.Node.link(&s.Node, "check", -1)
	}
	for _, st := range s.Stages {
		if st == nil {
			continue
		}
		st.Node.link(&s.Node, "stages."+keySegment(st.Name), -1)
		linkSteps(&st.Node, "steps", st.Steps)
		if im := st.Image; im != nil {
			im.Node.link(&st.Node, "image", -1)
			if hc := im.Healthcheck; hc != nil {
				hc.Node.link(&im.Node, "healthcheck", -1)
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
		n.link(parent, key, i)
		switch s := s.(type) {
		case *CopyStep:
			s.Copy.Node.link(n, "copy", -1)
		case *ParallelStep:
			if key == "steps" { // branches do not nest; Validate says so
				linkSteps(n, "parallel", s.Parallel)
			}
		}
		if r, ok := s.(RunLike); ok {
			for j := range r.Options().Mounts {
				r.Options().Mounts[j].Node.link(n, "mounts", j)
			}
		}
	}
}
