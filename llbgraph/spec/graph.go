package spec

import (
	"slices"
	"strings"

	"github.com/distribution/reference"
)

// ref is one place a stage names another source: its from, a copy's from
// or a bind or cache mount's from.
type ref struct {
	node *Node
	key  string
	val  String
}

// Refs calls fn for each place stage st names a source (a stage, an image
// or a named context): its from, each copy's from and each bind or cache
// mount's from, parallel branches included.
func Refs(st *Stage, fn func(n *Node, key string, from String)) {
	if st.From.Value != "" {
		fn(&st.Node, "from", st.From)
	}
	WalkSteps(st.Steps, func(s Step) {
		switch s := s.(type) {
		case *CopyStep:
			if s.Copy.From.Value != "" {
				fn(&s.Copy.Node, "from", s.Copy.From)
			}
		case *AddStep:
			if s.Add.From.Value != "" {
				fn(&s.Add.Node, "from", s.Add.From)
			}
		case RunLike:
			for i := range s.Options().Mounts {
				m := &s.Options().Mounts[i]
				if m.From.Value != "" && (m.Type.Value == MountBind || m.Type.Value == MountCache) {
					fn(&m.Node, "from", m.From)
				}
			}
		}
	})
}

// Reached returns the stages target reaches through from, copy.from and
// mount.from as written, target included, each visited once; a name that
// is no stage (an image, a named context, a name with ${...}) is not
// followed. The stages a build reaches, with ${...} expanded, are
// llbgraph's Model.Reached.
func Reached(s *Spec, target string) map[*Stage]bool {
	byName := make(map[string]*Stage, len(s.Stages))
	for _, st := range s.Stages {
		if _, dup := byName[st.Name]; !dup {
			byName[st.Name] = st
		}
	}
	reached := map[*Stage]bool{}
	stack := []string{target}
	for len(stack) > 0 {
		st := byName[stack[len(stack)-1]]
		stack = stack[:len(stack)-1]
		if st == nil || reached[st] {
			continue
		}
		reached[st] = true
		Refs(st, func(_ *Node, _ string, from String) {
			stack = append(stack, from.Value)
		})
	}
	return reached
}

// graph checks the references between stages that are written literally:
// a name that is neither a stage nor a valid image reference, a bare name
// that is a typo of a stage's ([StageTypos]), and cycles.
// The compiler checks again after expanding ${NAME}, but Load already
// reports what it can, so that --call=targets and editors see it.
func (v *validator) graph(s *Spec, names map[string]*Stage) {
	index := make(map[*Stage]int, len(s.Stages))
	for i, st := range s.Stages {
		index[st] = i
	}
	edges := make([][]ref, len(s.Stages))
	typos := NewStageTypos(s.Stages)
	for i, st := range s.Stages {
		Refs(st, func(n *Node, key string, from String) {
			name := from.Value
			if NeedsExpansion(name) || name == "scratch" {
				return
			}
			if names[name] != nil {
				edges[i] = append(edges[i], ref{node: n, key: key, val: from})
				return
			}
			if !isBareName(name) {
				if _, err := reference.ParseNormalizedNamed(name); err != nil {
					v.at(n, key, from.Range, "%s", UnknownSource(name, s.Stages.Names()))
					return
				}
			}
			if msg := typos.Of(name); msg != "" {
				v.at(n, key, from.Range, "%s", msg)
			}
		})
	}
	// Depth-first search with an explicit stack, so that a chain of ten
	// thousand stages needs no deep recursion; each edge is followed once.
	const (
		white = iota
		grey
		black
	)
	color := make([]uint8, len(s.Stages))
	type frame struct{ stage, next int }
	for root := range s.Stages {
		if color[root] != white {
			continue
		}
		stack := []frame{{root, 0}}
		color[root] = grey
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.next == len(edges[top.stage]) {
				color[top.stage] = black
				stack = stack[:len(stack)-1]
				continue
			}
			e := edges[top.stage][top.next]
			top.next++
			to := index[names[e.val.Value]]
			switch color[to] {
			case white:
				color[to] = grey
				stack = append(stack, frame{to, 0})
			case grey:
				if v.errs.full() {
					v.errs.dropped++
					continue
				}
				if to == top.stage && e.node == &s.Stages[to].Node {
					v.at(e.node, e.key, e.val.Range, "stage %s cannot build from itself", Quote(s.Stages[to].Name))
					continue
				}
				var cycle []string
				for i := len(stack) - 1; i >= 0; i-- {
					cycle = append(cycle, s.Stages[stack[i].stage].Name)
					if stack[i].stage == to {
						break
					}
				}
				slices.Reverse(cycle)
				cycle = append(cycle, s.Stages[to].Name)
				v.at(e.node, e.key, e.val.Range, "stages form a cycle: %s", CycleText(cycle))
			}
		}
	}
}

// CycleText formats a cycle of stage names as a -> b -> a: each name
// shortened, and a long cycle cut to its first and last names.
func CycleText(cycle []string) string {
	if len(cycle) > 2*maxListed {
		head := cycle[:maxListed]
		tail := cycle[len(cycle)-maxListed:]
		return arrows(head) + " -> ... -> " + arrows(tail)
	}
	return arrows(cycle)
}

// UnknownSource is the message for a from that names neither a stage nor
// a valid image reference, suggesting the stage it may mean.
func UnknownSource(name string, stages []string) string {
	return Quote(name) + " names no stage and is not a valid image reference" + DidYouMean(name, stages)
}

func arrows(names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = Shorten(n)
	}
	return strings.Join(out, " -> ")
}

// isBareName reports whether name is one lowercase path component, such as
// busybox or my-app_2: by distribution/reference's grammar, a valid image
// name (docker.io/library/name), checked here without its regular
// expressions, which otherwise dominate the cost of a spec that names
// thousands of sources. Any other name goes to the library.
func isBareName(name string) bool {
	if name == "" || len(name) > 255 {
		return false
	}
	sep := 0 // length of the run of separators before i
	dashes := true
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			// a separator is ".", "_", "__" or one or more "-"
			if sep > 0 && !dashes && sep > 2 || sep == 2 && name[i-1] != name[i-2] || sep == 2 && name[i-1] == '.' {
				return false
			}
			sep, dashes = 0, true
		case c == '.' || c == '_' || c == '-':
			if i == 0 {
				return false
			}
			sep++
			dashes = dashes && c == '-'
		default:
			return false
		}
	}
	return sep == 0
}
