package graph

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// Formats are the output formats, by the name --format takes.
var Formats = []string{"mermaid", "dot"}

// CheckFormat returns an error unless format is one of [Formats].
func CheckFormat(format string) error {
	if !slices.Contains(Formats, format) {
		return fmt.Errorf("unknown format %s: want %s", spec.Quote(format), strings.Join(Formats, " or "))
	}
	return nil
}

// Render writes the graph in a format of [Formats].
func (g *Graph) Render(format string) (string, error) {
	if err := CheckFormat(format); err != nil {
		return "", err
	}
	if format == "dot" {
		return g.Dot(), nil
	}
	return g.Mermaid(), nil
}

// clusters returns, for each stage with a fan, the nodes it holds, in
// order.
func (g *Graph) clusters() map[string][]Node {
	out := map[string][]Node{}
	for _, n := range g.Nodes {
		if n.Stage != "" {
			out[n.Stage] = append(out[n.Stage], n)
		}
	}
	return out
}

// Mermaid returns the graph as a Mermaid flowchart, which GitHub renders in
// a ```mermaid block: stages as boxes, sources as stadiums, fans inside a
// subgraph of their stage.
func (g *Graph) Mermaid() string {
	var b strings.Builder
	b.WriteString("flowchart TB\n")
	clusters := g.clusters()
	node := func(indent string, n Node) {
		label := mermaidText(n.Label)
		switch n.Kind {
		case Stage:
			fmt.Fprintf(&b, "%s%s[\"%s\"]:::stage\n", indent, n.ID, label)
		case Source:
			fmt.Fprintf(&b, "%s%s([\"%s\"]):::source\n", indent, n.ID, label)
		case Join:
			fmt.Fprintf(&b, "%s%s((\"%s\")):::join\n", indent, n.ID, label)
		default:
			fmt.Fprintf(&b, "%s%s(\"%s\"):::step\n", indent, n.ID, label)
		}
	}
	for _, n := range g.Nodes {
		switch {
		case n.Stage != "":
			continue // drawn in its stage's subgraph
		case len(clusters[n.ID]) > 0:
			fmt.Fprintf(&b, "  subgraph %s_fan [\" \"]\n", n.ID)
			node("    ", n)
			for _, m := range clusters[n.ID] {
				node("    ", m)
			}
			b.WriteString("  end\n")
		default:
			node("  ", n)
		}
	}
	for _, e := range g.Edges {
		if e.Label == "" {
			fmt.Fprintf(&b, "  %s --> %s\n", e.From, e.To)
			continue
		}
		fmt.Fprintf(&b, "  %s -->|%s| %s\n", e.From, e.Label, e.To)
	}
	b.WriteString("  classDef stage fill:#e8f0fe,stroke:#1a73e8\n")
	b.WriteString("  classDef source fill:#f1f3f4,stroke:#5f6368,stroke-dasharray:4 3\n")
	b.WriteString("  classDef step fill:#fff,stroke:#9aa0a6,font-size:12px\n")
	b.WriteString("  classDef join fill:#9aa0a6,stroke:#9aa0a6,font-size:9px\n")
	return b.String()
}

// mermaidText escapes a label for a quoted Mermaid string: quotes, '#'
// (which starts an entity) and angle brackets (HTML) as entities.
func mermaidText(s string) string {
	return strings.NewReplacer(`#`, `#35;`, `"`, `#quot;`, `<`, `#lt;`, `>`, `#gt;`).Replace(s)
}

// Dot returns the graph in Graphviz's dot language: stages as boxes,
// sources as dashed ellipses, fans inside a cluster of their stage.
func (g *Graph) Dot() string {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %s {\n", dotText(g.Name))
	b.WriteString("  rankdir=TB;\n  newrank=true;\n")
	b.WriteString("  node [fontname=\"Helvetica\", fontsize=12];\n  edge [fontname=\"Helvetica\", fontsize=10];\n")
	clusters := g.clusters()
	node := func(indent string, n Node) {
		attrs := ""
		switch n.Kind {
		case Stage:
			attrs = `shape=box, style="rounded,filled", fillcolor="#e8f0fe", color="#1a73e8"`
		case Source:
			attrs = `shape=ellipse, style="dashed,filled", fillcolor="#f1f3f4", color="#5f6368"`
		case Join:
			attrs = `shape=point, width=0.12, color="#5f6368"`
		default:
			attrs = `shape=box, style=rounded, fontsize=10, height=0.3, color="#9aa0a6"`
		}
		fmt.Fprintf(&b, "%s%s [label=%s, %s];\n", indent, dotText(n.ID), dotText(n.Label), attrs)
	}
	for _, n := range g.Nodes {
		switch {
		case n.Stage != "":
			continue
		case len(clusters[n.ID]) > 0:
			fmt.Fprintf(&b, "  subgraph %s {\n    label=\"\";\n    style=\"rounded,dashed\";\n    color=\"#9aa0a6\";\n", dotText("cluster_"+n.ID))
			node("    ", n)
			for _, m := range clusters[n.ID] {
				node("    ", m)
			}
			b.WriteString("  }\n")
		default:
			node("  ", n)
		}
	}
	for _, e := range g.Edges {
		if e.Label == "" {
			fmt.Fprintf(&b, "  %s -> %s [color=\"#9aa0a6\"];\n", dotText(e.From), dotText(e.To))
			continue
		}
		fmt.Fprintf(&b, "  %s -> %s [label=%s];\n", dotText(e.From), dotText(e.To), dotText(e.Label))
	}
	b.WriteString("}\n")
	return b.String()
}

// dotText quotes a string for dot: backslashes and quotes escaped, so that
// dot shows the text as it is (a \n stays two characters).
func dotText(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
