// Package graph draws the stage graph of a spec, for `frontend graph`:
// stages and the images they start from or copy from as nodes, the
// references between them (from, copy, mount) as labelled edges, and each
// parallel group as a fan inside its stage. It works on a loaded
// [spec.Spec] alone, with no builder: names holding ${...} are shown as
// written, since only a build knows their values.
package graph

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph"
	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// Kind says what a node stands for.
type Kind int

// The kinds of node.
const (
	// Stage is a stage of the spec.
	Stage Kind = iota
	// Source is an image, a named context or scratch: a name a stage reads
	// that is no stage of the spec, as written.
	Source
	// Step is the step before a parallel group, where the group fans out.
	Step
	// Branch is one branch of a parallel group.
	Branch
	// Join is where a parallel group's branches are merged.
	Join
)

// The edge labels: how a stage reads the node an edge comes from.
const (
	// LabelFrom is a stage's from.
	LabelFrom = "from"
	// LabelCopy is a copy's from.
	LabelCopy = "copy"
	// LabelMount is a bind or cache mount's from.
	LabelMount = "mount"
)

// Node is a node of the graph.
type Node struct {
	// ID names the node in the output: s3 for the fourth stage, i0 for the
	// first source, s3_b1_0 for a branch of a fan.
	ID string
	// Kind says what the node stands for.
	Kind Kind
	// Label is the text shown: a stage's name, a source's name as written,
	// or a step's kind and the start of what it runs or copies.
	Label string
	// Stage is the ID of the stage a Step, Branch or Join node belongs to;
	// a stage with such nodes is drawn as a cluster holding them.
	Stage string
}

// Edge is an edge of the graph, from the node read to the node reading it,
// or along a fan.
type Edge struct {
	// From and To are node IDs.
	From, To string
	// Label is LabelFrom, LabelCopy or LabelMount, or empty for an edge of
	// a fan.
	Label string
}

// Graph is the stage graph of a spec.
type Graph struct {
	// Name is the spec's file name, the graph's title.
	Name string
	// Nodes are the stages in file order, each followed by its fan nodes,
	// then the sources in the order they are first read.
	Nodes []Node
	// Edges are the edges of the fans, then the references in file order,
	// each once.
	Edges []Edge
}

// Build returns the graph of s. With a target, it holds only the stages
// the target reaches through from, copy.from and mount.from; without one,
// every stage.
func Build(s *spec.Spec, target string) (*Graph, error) {
	index := make(map[string]int, len(s.Stages))
	for i, st := range s.Stages {
		if _, dup := index[st.Name]; !dup {
			index[st.Name] = i
		}
	}
	included := make([]bool, len(s.Stages))
	if target == "" {
		for i := range included {
			included[i] = true
		}
	} else {
		name, err := llbgraph.TargetName(s, target)
		if err != nil {
			return nil, err
		}
		reached := spec.Reached(s, name)
		for i, st := range s.Stages {
			included[i] = reached[st]
		}
	}

	b := &builder{g: &Graph{Name: s.Filename}, sources: map[string]string{}, edges: map[Edge]bool{}}
	var fanEdges []Edge
	stageID := make([]string, len(s.Stages))
	for i, st := range s.Stages {
		if !included[i] {
			continue
		}
		stageID[i] = "s" + strconv.Itoa(i)
		b.g.Nodes = append(b.g.Nodes, Node{ID: stageID[i], Kind: Stage, Label: spec.Shorten(st.Name)})
		fanEdges = append(fanEdges, b.fans(stageID[i], st)...)
	}
	var refEdges []Edge
	for i, st := range s.Stages {
		if !included[i] {
			continue
		}
		// Where each reference is drawn: the stage, or the node of the
		// step it is in when that step is drawn.
		at := map[*spec.Node]Edge{}
		spec.WalkSteps(st.Steps, func(step spec.Step) {
			to := b.drawn[step]
			if to == "" {
				to = stageID[i]
			}
			switch step := step.(type) {
			case *spec.CopyStep:
				at[&step.Copy.Node] = Edge{To: to, Label: LabelCopy}
			case *spec.AddStep:
				at[&step.Add.Node] = Edge{To: to, Label: LabelCopy}
			case spec.RunLike:
				for k := range step.Options().Mounts {
					at[&step.Options().Mounts[k].Node] = Edge{To: to, Label: LabelMount}
				}
			}
		})
		at[&st.Node] = Edge{To: stageID[i], Label: LabelFrom}
		spec.Refs(st, func(n *spec.Node, _ string, from spec.String) {
			e, ok := at[n]
			if !ok {
				return // a reference of a kind this package does not know: not drawn
			}
			if j, isStage := index[from.Value]; isStage {
				e.From = stageID[j]
			} else {
				e.From = b.source(from.Value)
			}
			if !b.edges[e] {
				b.edges[e] = true
				refEdges = append(refEdges, e)
			}
		})
	}
	b.g.Nodes = append(b.g.Nodes, b.sourceNodes...)
	b.g.Edges = append(fanEdges, refEdges...)
	return b.g, nil
}

// builder holds what Build has made so far.
type builder struct {
	g           *Graph
	sourceNodes []Node
	sources     map[string]string    // source name -> node ID
	drawn       map[spec.Step]string // step -> its node, for the steps of fans
	edges       map[Edge]bool
}

// source returns the node of an image, named context or scratch, adding it
// the first time.
func (b *builder) source(name string) string {
	if id, ok := b.sources[name]; ok {
		return id
	}
	id := "i" + strconv.Itoa(len(b.sources))
	b.sources[name] = id
	b.sourceNodes = append(b.sourceNodes, Node{ID: id, Kind: Source, Label: spec.Shorten(name)})
	return id
}

// fans adds the nodes of a stage's parallel groups and returns their
// edges: from the stage, or the step before a group (or the join of the
// group before), to each branch, and from each branch to the group's join.
func (b *builder) fans(stage string, st *spec.Stage) []Edge {
	var edges []Edge
	prev := stage
	for i, step := range st.Steps {
		group, ok := step.(*spec.ParallelStep)
		if !ok {
			continue
		}
		if b.drawn == nil {
			b.drawn = map[spec.Step]string{}
		}
		anchor := prev
		if i > 0 {
			if before := st.Steps[i-1]; b.drawn[before] == "" && before.Kind() != spec.KindParallel {
				anchor = fmt.Sprintf("%s_a%d", stage, i-1)
				b.drawn[before] = anchor
				b.g.Nodes = append(b.g.Nodes, Node{ID: anchor, Kind: Step, Label: Summary(before), Stage: stage})
				edges = append(edges, Edge{From: prev, To: anchor})
			}
		}
		join := fmt.Sprintf("%s_j%d", stage, i)
		for j, br := range group.Parallel {
			id := fmt.Sprintf("%s_b%d_%d", stage, i, j)
			b.drawn[br] = id
			b.g.Nodes = append(b.g.Nodes, Node{ID: id, Kind: Branch, Label: Summary(br), Stage: stage})
			edges = append(edges, Edge{From: anchor, To: id}, Edge{From: id, To: join})
		}
		b.g.Nodes = append(b.g.Nodes, Node{ID: join, Kind: Join, Label: "merge", Stage: stage})
		prev = join
	}
	return edges
}

// maxSummary bounds a step's label, in characters.
const maxSummary = 48

// Summary is a short label for a step: spec.Summary cut to about 48
// characters, and escaped.
func Summary(s spec.Step) string {
	what := spec.Summary(s)
	if utf8.RuneCountInString(what) > maxSummary+len(s.Kind())+2 {
		what = string([]rune(what)[:maxSummary+len(s.Kind())-1]) + "..."
	}
	return spec.Escape(what)
}
