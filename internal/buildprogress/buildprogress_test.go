package buildprogress

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	digest "github.com/opencontainers/go-digest"
)

func TestParseRawJSON(t *testing.T) {
	a, b := digest.FromString("a"), digest.FromString("b")
	now := time.Unix(1, 0)
	updates := []client.SolveStatus{
		{Vertexes: []*client.Vertex{{Digest: a, Name: "[s 1/2] run: a"}}},
		{Vertexes: []*client.Vertex{{Digest: b, Name: "[s 2/2] run: b", Inputs: []digest.Digest{a}}}, Logs: []*client.VertexLog{{Vertex: a, Data: []byte("one ")}}},
		{Vertexes: []*client.Vertex{{Digest: a, Name: "[s 1/2] run: a", Completed: &now}}, Logs: []*client.VertexLog{{Vertex: a, Data: []byte("two")}}, Warnings: []*client.VertexWarning{{Vertex: b, Short: []byte("careful")}}},
	}
	var lines []string
	lines = append(lines, "#1 not json")
	for _, u := range updates {
		dt, err := json.Marshal(u)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(dt))
	}
	p := ParseRawJSON([]byte(strings.Join(lines, "\n")))
	vs := p.Vertices()
	if len(vs) != 2 || vs[0].Digest != a || vs[1].Digest != b {
		t.Fatalf("vertices %v, want a then b", vs)
	}
	if vs[0].Completed == nil {
		t.Error("a's later state (completed) did not replace its first")
	}
	if got := string(p.Log(a)); got != "one two" {
		t.Errorf("a's log %q, want %q", got, "one two")
	}
	if p.Log(b) != nil {
		t.Errorf("b's log %q, want none", p.Log(b))
	}
	if got := p.Warnings(); !slices.Equal(got, []string{"careful"}) {
		t.Errorf("warnings %q", got)
	}
}

func TestCollect(t *testing.T) {
	ch := make(chan *client.SolveStatus, 2)
	d := digest.FromString("x")
	ch <- &client.SolveStatus{Vertexes: []*client.Vertex{{Digest: d, Name: "x"}}}
	ch <- &client.SolveStatus{Logs: []*client.VertexLog{{Vertex: d, Data: []byte("log")}}}
	close(ch)
	p := New()
	p.Collect(ch)
	if vs := p.Vertices(); len(vs) != 1 || vs[0].Name != "x" || string(p.Log(d)) != "log" {
		t.Errorf("collected %v, log %q", vs, p.Log(d))
	}
}
