package graph

import (
	"flag"
	"html"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the Mermaid block of docs/graph.md")

const (
	docsPage = "../../docs/graph.md"
	docsSVG  = "../../docs/ohlcv.build.graph.svg"
)

var svgText = regexp.MustCompile(`<text [^>]*>([^<]*)</text>`)

var svgTitle = regexp.MustCompile(`<g id="[a-z]+[0-9]+" class="(node|edge|cluster)">\s*<title>([^<]*)</title>`)

// docs/graph.md shows the flagship's graph as it is now: its Mermaid block
// is the output of `frontend graph`, and the SVG beside it (drawn by
// graphviz, which the tests do not need) has the same nodes, edges and
// clusters.
func TestDocsGraph(t *testing.T) {
	s := load(t, "../../ohlcv.build.yaml")
	s.Filename = "ohlcv.build.yaml" // as `frontend graph -f ohlcv.build.yaml` names it, from the top directory
	g, err := Build(s, "")
	if err != nil {
		t.Fatal(err)
	}

	page, err := os.ReadFile(docsPage)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- graph:begin -->\n", "<!-- graph:end -->"
	i, j := strings.Index(string(page), begin), strings.Index(string(page), end)
	if i < 0 || j < i {
		t.Fatalf("%s has no %q ... %q markers", docsPage, strings.TrimSpace(begin), end)
	}
	block := "```mermaid\n" + g.Mermaid() + "```\n"
	if *update {
		out := string(page[:i+len(begin)]) + block + string(page[j:])
		if err := os.WriteFile(docsPage, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	} else if string(page[i+len(begin):j]) != block {
		t.Errorf("the Mermaid block of docs/graph.md is stale: rewrite it with `go test ./llbgraph/graph -run TestDocsGraph -update` (hack/graph-docs.sh does, and redraws the SVG)")
	}

	svg, err := os.ReadFile(docsSVG)
	if err != nil {
		t.Fatal(err)
	}
	var wantNodes, wantEdges, wantClusters, gotNodes, gotEdges, gotClusters []string
	for _, n := range g.Nodes {
		wantNodes = append(wantNodes, n.ID)
		if n.Stage != "" && !slices.Contains(wantClusters, "cluster_"+n.Stage) {
			wantClusters = append(wantClusters, "cluster_"+n.Stage)
		}
	}
	for _, e := range g.Edges {
		wantEdges = append(wantEdges, e.From+"->"+e.To)
	}
	for _, m := range svgTitle.FindAllStringSubmatch(string(svg), -1) {
		title := html.UnescapeString(m[2])
		switch m[1] {
		case "node":
			gotNodes = append(gotNodes, title)
		case "edge":
			gotEdges = append(gotEdges, title)
		case "cluster":
			gotClusters = append(gotClusters, title)
		}
	}
	for _, l := range []*[]string{&wantNodes, &wantEdges, &wantClusters, &gotNodes, &gotEdges, &gotClusters} {
		slices.Sort(*l)
	}
	if !slices.Equal(gotNodes, wantNodes) || !slices.Equal(gotEdges, wantEdges) || !slices.Equal(gotClusters, wantClusters) {
		t.Errorf("docs/ohlcv.build.graph.svg is stale (nodes %v, edges %v, clusters %v; want %v, %v, %v): redraw it with hack/graph-docs.sh",
			gotNodes, gotEdges, gotClusters, wantNodes, wantEdges, wantClusters)
	}
	// The labels are the graph's: a renamed stage is stale too.
	var texts []string
	for _, m := range svgText.FindAllStringSubmatch(string(svg), -1) {
		texts = append(texts, html.UnescapeString(m[1]))
	}
	for _, n := range g.Nodes {
		if n.Kind != Join && !slices.Contains(texts, n.Label) {
			t.Errorf("docs/ohlcv.build.graph.svg has no label %q: redraw it with hack/graph-docs.sh", n.Label)
		}
	}
}
