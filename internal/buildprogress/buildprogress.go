// Package buildprogress collects what a BuildKit build shows: its vertices,
// in the order they first appear, each vertex's logs, and the build's
// warnings. It reads them from a client's status channel (client.Solve) or
// from the rawjson progress that `docker buildx build --progress=rawjson`
// prints. The benchmarks (hack/benchmark) and the engine tests
// (test/integration, test/reliability) read builds through it.
package buildprogress

import (
	"bufio"
	"bytes"
	"encoding/json"
	"sync"

	"github.com/moby/buildkit/client"
	digest "github.com/opencontainers/go-digest"
)

// maxLine is the longest rawjson line ParseRawJSON reads: one status
// update, which carries the logs of many vertices at once.
const maxLine = 64 << 20

// Progress is what a build showed. Its methods may be called while Add
// or Collect runs.
type Progress struct {
	mu       sync.Mutex
	order    []digest.Digest
	vertices map[digest.Digest]*client.Vertex
	logs     map[digest.Digest]*bytes.Buffer
	warnings []string
}

// New returns an empty Progress.
func New() *Progress {
	return &Progress{vertices: map[digest.Digest]*client.Vertex{}, logs: map[digest.Digest]*bytes.Buffer{}}
}

// Add records one status update: a vertex's later state replaces its
// earlier one, logs are appended to their vertex's, warnings kept in order.
func (p *Progress) Add(st *client.SolveStatus) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, v := range st.Vertexes {
		if _, ok := p.vertices[v.Digest]; !ok {
			p.order = append(p.order, v.Digest)
		}
		p.vertices[v.Digest] = v
	}
	for _, l := range st.Logs {
		if p.logs[l.Vertex] == nil {
			p.logs[l.Vertex] = &bytes.Buffer{}
		}
		p.logs[l.Vertex].Write(l.Data)
	}
	for _, w := range st.Warnings {
		p.warnings = append(p.warnings, string(w.Short))
	}
}

// Collect adds every status update of ch until it is closed.
func (p *Progress) Collect(ch <-chan *client.SolveStatus) {
	for st := range ch {
		p.Add(st)
	}
}

// ParseRawJSON reads rawjson progress: one JSON status update per line.
// Lines that are not one (buildx's own messages) are skipped.
func ParseRawJSON(dt []byte) *Progress {
	p := New()
	sc := bufio.NewScanner(bytes.NewReader(dt))
	sc.Buffer(make([]byte, 64<<10), maxLine)
	for sc.Scan() {
		var st client.SolveStatus
		if json.Unmarshal(sc.Bytes(), &st) != nil {
			continue
		}
		p.Add(&st)
	}
	return p
}

// Vertices returns the latest state of every vertex, in the order the
// vertices first appeared.
func (p *Progress) Vertices() []*client.Vertex {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*client.Vertex, len(p.order))
	for i, d := range p.order {
		out[i] = p.vertices[d]
	}
	return out
}

// Log returns the logs of vertex d, nil when it wrote none.
func (p *Progress) Log(d digest.Digest) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	if l := p.logs[d]; l != nil {
		return bytes.Clone(l.Bytes())
	}
	return nil
}

// Warnings returns the short texts of the build's warnings, in order.
func (p *Progress) Warnings() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.warnings...)
}
