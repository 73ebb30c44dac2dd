package spec

import "reflect"

var mountType = reflect.TypeFor[Mount]()

// fieldSet reports whether the field of *v with YAML key key is set (not
// its zero value), and where it is written.
func fieldSet(v any, key string) (bool, Range) {
	rv := reflect.ValueOf(v).Elem()
	idx, ok := fieldsOf(rv.Type()).byKey[key]
	if !ok {
		return false, Range{}
	}
	f := rv.FieldByIndex(idx)
	if f.IsZero() {
		return false, Range{}
	}
	if f.Kind() == reflect.Pointer {
		f = f.Elem()
	}
	if r := f.FieldByName("Range"); r.IsValid() {
		return true, r.Interface().(Range)
	}
	return true, Range{}
}

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
