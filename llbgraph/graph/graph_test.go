package graph

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

func load(t *testing.T, name string) *spec.Spec {
	t.Helper()
	dt, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := spec.Load(name, dt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The fixture's edges, as "from -label-> to" with nodes by label, joins
// numbered in the order they are drawn.
var fixtureFans = []string{
	"tools --> go: install example.com/a@v1",
	"tools --> go: install example.com/b@v1",
	"go: install example.com/a@v1 --> merge 1",
	"go: install example.com/b@v1 --> merge 1",
	"app --> run: useradd app",
	"run: useradd app --> copy: from tools: /go/bin/a -> /usr/local/bin/",
	"run: useradd app --> copy: from tools: /go/bin/b -> /usr/local/bin/",
	"run: useradd app --> run: pip install --no-index /wheels/*.whl",
	"copy: from tools: /go/bin/a -> /usr/local/bin/ --> merge 2",
	"copy: from tools: /go/bin/b -> /usr/local/bin/ --> merge 2",
	"run: pip install --no-index /wheels/*.whl --> merge 2",
	"merge 2 --> copy: from busybox:${TAG}: /bin/busybox -> /bin/",
	"merge 2 --> copy: src/ -> /app/",
	"copy: from busybox:${TAG}: /bin/busybox -> /bin/ --> merge 3",
	"copy: src/ -> /app/ --> merge 3",
}

var fixtureRefs = []string{
	"python:${TAG}-slim -from-> base",
	"golang:1.26 -from-> tools",
	"base -from-> wheels",
	"tools -mount-> wheels",
	"base -from-> app",
	"tools -copy-> copy: from tools: /go/bin/a -> /usr/local/bin/",
	"tools -copy-> copy: from tools: /go/bin/b -> /usr/local/bin/",
	"wheels -mount-> run: pip install --no-index /wheels/*.whl",
	"busybox:${TAG} -copy-> copy: from busybox:${TAG}: /bin/busybox -> /bin/",
	"wheels -copy-> app",
}

var lintRefs = []string{
	"scratch -from-> lint",
	"tools -copy-> lint",
}

// The fixture's graph has exactly the expected edges, in both formats and
// in the model they are written from; with --target app, lint's are gone.
func TestFixtureEdges(t *testing.T) {
	s := load(t, "testdata/ohlcv.build.yaml")
	for _, c := range []struct {
		target string
		want   []string
	}{
		{"", slices.Concat(fixtureFans, fixtureRefs, lintRefs)},
		{"app", slices.Concat(fixtureFans, fixtureRefs)},
	} {
		g, err := Build(s, c.target)
		if err != nil {
			t.Fatal(err)
		}
		for format, parse := range map[string]func(string) []string{"mermaid": mermaidEdges, "dot": dotEdges, "model": nil} {
			var got []string
			if parse == nil {
				got = modelEdges(g)
			} else {
				out, err := g.Render(format)
				if err != nil {
					t.Fatal(err)
				}
				got = parse(out)
			}
			if missing, extra := diff(c.want, got); len(missing)+len(extra) > 0 {
				t.Errorf("target %q, %s: missing edges %q, unexpected edges %q", c.target, format, missing, extra)
			}
		}
		if hasLint := slices.ContainsFunc(g.Nodes, func(n Node) bool { return n.Label == "lint" || n.Label == "scratch" }); hasLint != (c.target == "") {
			t.Errorf("target %q: lint and scratch drawn: %v", c.target, hasLint)
		}
	}
}

// modelEdges names the graph's edges as the parsers do.
func modelEdges(g *Graph) []string {
	labels := nodeNames(func(yield func(id, label string)) {
		for _, n := range g.Nodes {
			yield(n.ID, n.Label)
		}
	})
	var out []string
	for _, e := range g.Edges {
		out = append(out, edgeName(labels[e.From], e.Label, labels[e.To]))
	}
	return out
}

// nodeNames maps node IDs to labels, numbering the joins (all "merge").
func nodeNames(nodes func(yield func(id, label string))) map[string]string {
	names := map[string]string{}
	joins := 0
	nodes(func(id, label string) {
		if label == "merge" {
			joins++
			label = "merge " + string(rune('0'+joins))
		}
		names[id] = label
	})
	return names
}

func edgeName(from, label, to string) string {
	if label == "" {
		return from + " --> " + to
	}
	return from + " -" + label + "-> " + to
}

var (
	mermaidNode = regexp.MustCompile(`(?m)^\s*(\w+)(?:\["|\(\["|\(\("|\(")(.*?)(?:"\]|"\]\)|"\)\)|"\)):::\w+$`)
	mermaidEdge = regexp.MustCompile(`(?m)^\s*(\w+) -->(?:\|(\w+)\|)? (\w+)$`)
	dotNode     = regexp.MustCompile(`(?m)^\s*"([^"]+)" \[label="((?:[^"\\]|\\.)*)",`)
	dotEdge     = regexp.MustCompile(`(?m)^\s*"([^"]+)" -> "([^"]+)" \[(?:label="(\w+)"|color="[^"]*")\];$`)
)

// mermaidEdges reads the edges of a Mermaid flowchart.
func mermaidEdges(out string) []string {
	unescape := strings.NewReplacer("#quot;", `"`, "#lt;", "<", "#gt;", ">", "#35;", "#")
	labels := nodeNames(func(yield func(id, label string)) {
		for _, m := range mermaidNode.FindAllStringSubmatch(out, -1) {
			yield(m[1], unescape.Replace(m[2]))
		}
	})
	var edges []string
	for _, m := range mermaidEdge.FindAllStringSubmatch(out, -1) {
		edges = append(edges, edgeName(labels[m[1]], m[2], labels[m[3]]))
	}
	return edges
}

// dotEdges reads the edges of a dot graph.
func dotEdges(out string) []string {
	unescape := strings.NewReplacer(`\\`, `\`, `\"`, `"`)
	labels := nodeNames(func(yield func(id, label string)) {
		for _, m := range dotNode.FindAllStringSubmatch(out, -1) {
			yield(m[1], unescape.Replace(m[2]))
		}
	})
	var edges []string
	for _, m := range dotEdge.FindAllStringSubmatch(out, -1) {
		edges = append(edges, edgeName(labels[m[1]], m[3], labels[m[2]]))
	}
	return edges
}

// diff returns what want has and got lacks, and what got has beyond want;
// an edge drawn twice counts as extra.
func diff(want, got []string) (missing, extra []string) {
	count := map[string]int{}
	for _, e := range got {
		count[e]++
	}
	for _, e := range want {
		if count[e] == 0 {
			missing = append(missing, e)
			continue
		}
		count[e]--
	}
	for _, e := range got {
		if count[e] > 0 {
			extra = append(extra, e)
			count[e]--
		}
	}
	return missing, extra
}

// A target that is no stage is an error that suggests the nearest one.
func TestUnknownTarget(t *testing.T) {
	s := load(t, "testdata/ohlcv.build.yaml")
	_, err := Build(s, "ap")
	if err == nil || !strings.Contains(err.Error(), `target "ap" is not a stage (did you mean "app"?)`) {
		t.Fatalf("got %v, want an error suggesting app", err)
	}
}

// Labels are escaped for each format, so that a quote, a # or an angle
// bracket in a step or an image name cannot break the output, and control
// characters cannot reach a terminal.
func TestLabelsAreEscaped(t *testing.T) {
	src := `version: 1
stages:
  a:
    from: "busybox:${X:-#1}"
    steps:
      - run: echo start
      - parallel:
          - run: "echo \"<b>\x1b[2J\" \\ done"
          - run: "true"
`
	s, err := spec.Load("q.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	g, err := Build(s, "")
	if err != nil {
		t.Fatal(err)
	}
	mermaid, dot := g.Mermaid(), g.Dot()
	for _, want := range []string{`("run: echo #quot;#lt;b#gt;\x1b[2J#quot; \ done")`, `(["busybox:${X:-#35;1}"])`} {
		if !strings.Contains(mermaid, want) {
			t.Errorf("mermaid: no %s in\n%s", want, mermaid)
		}
	}
	for _, want := range []string{`[label="run: echo \"<b>\\x1b[2J\" \\ done",`, `[label="busybox:${X:-#1}",`} {
		if !strings.Contains(dot, want) {
			t.Errorf("dot: no %s in\n%s", want, dot)
		}
	}
	if strings.ContainsRune(mermaid+dot, 0x1b) {
		t.Error("an escape character reached the output")
	}
	got := mermaidEdges(mermaid)
	if want := `a --> run: echo start`; !slices.Contains(got, want) {
		t.Errorf("mermaid edges %q lack %q", got, want)
	}
}

func TestSummary(t *testing.T) {
	for _, c := range []struct {
		step spec.Step
		want string
	}{
		{&spec.RunStep{Run: *spec.Shell("set -e\n  make all\n")}, "run: make all"},
		{&spec.RunStep{Run: *spec.Shell("set -e\n  make all\n  make test\n")}, "run: make all ..."},
		{&spec.RunStep{Run: *spec.Exec("python", "-m", "pytest")}, "run: python -m pytest"},
		{&spec.AptStep{Apt: spec.Strs("curl", "git")}, "apt: curl git"},
		{&spec.UvStep{Uv: *spec.Shell("tool install ruff")}, "uv: tool install ruff"},
		{&spec.CopyStep{Copy: spec.Copy{Files: spec.Files{Src: spec.Strs("a", "b"), Dst: spec.Str("/x/")}}}, "copy: a b -> /x/"},
		{&spec.RunStep{Run: *spec.Shell(strings.Repeat("é", 60))}, "run: " + strings.Repeat("é", 45) + "..."},
	} {
		if got := Summary(c.step); got != c.want {
			t.Errorf("Summary = %q, want %q", got, c.want)
		}
	}
}
