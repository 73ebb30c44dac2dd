package main

import (
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	digest "github.com/opencontainers/go-digest"

	"github.com/ohlcv-rag/ohlcv-build/internal/buildprogress"
)

// vertex is a vertex of a test stream that ran for secs from start (or
// came from the cache when secs is 0), after its inputs.
func vertex(name string, start, secs int, inputs ...string) *client.Vertex {
	t0 := time.Unix(1000+int64(start), 0)
	t1 := t0.Add(time.Duration(secs) * time.Second)
	v := &client.Vertex{Digest: digest.FromString(name), Name: name, Started: &t0, Completed: &t1, Cached: secs == 0}
	for _, in := range inputs {
		v.Inputs = append(v.Inputs, digest.FromString(in))
	}
	return v
}

func stream(vs []*client.Vertex, logs map[string]string) *progress {
	p := buildprogress.New()
	st := &client.SolveStatus{Vertexes: vs}
	for name, l := range logs {
		st.Logs = append(st.Logs, &client.VertexLog{Vertex: digest.FromString(name), Data: []byte(l)})
	}
	p.Add(st)
	return &progress{Progress: p}
}

// Work counts the execs that ran, the ones whose logs show an update, and
// the longest chain through the vertices that ran, following their inputs
// across builds run one after another.
func TestWorkOf(t *testing.T) {
	first := stream([]*client.Vertex{
		vertex("[python:3.11-slim] apt-get update", 0, 10),
		vertex("[base 2/2] apt: curl", 10, 5, "[python:3.11-slim] apt-get update"),
		vertex("[base 3/3] copy: src", 15, 1, "[base 2/2] apt: curl"),
		vertex("[other 2/2] run: make", 0, 3),
	}, map[string]string{"[python:3.11-slim] apt-get update": "Get:1 http://deb.debian.org/debian bookworm InRelease [151 kB]\n"})
	second := stream([]*client.Vertex{
		vertex("[base 2/2] apt: curl", 0, 0), // cached in the second build
		vertex("[base 3/3] copy: src", 0, 0),
		vertex("[dev 2/2] parallel 1/2 apt: black", 20, 4, "[base 3/3] copy: src"),
	}, nil)
	w := workOf(first, second)
	if w.execs != 4 || w.updates != 1 {
		t.Errorf("execs %d, updates %d; want 4 and 1", w.execs, w.updates)
	}
	if w.exec != 22*time.Second || w.apt != 19*time.Second {
		t.Errorf("exec time %s, apt time %s; want 22s and 19s", w.exec, w.apt)
	}
	if w.chain != 20*time.Second || w.chainSteps != 4 {
		t.Errorf("longest chain %s over %d steps; want 20s over 4 (update, curl, copy, black)", w.chain, w.chainSteps)
	}
}

// The median round's time and work, with the least and the most.
func TestSide(t *testing.T) {
	s := &side{}
	for _, secs := range []int{5, 3, 9} {
		s.add(time.Duration(secs)*time.Second, stream([]*client.Vertex{vertex("[a 1/1] run: x", 0, secs)}, nil))
	}
	if s.median() != 5*time.Second || s.work().exec != 5*time.Second {
		t.Errorf("median %s, its work %s; want 5s", s.median(), s.work().exec)
	}
	if got := s.String(); got != "5.00 s (3.00 s–9.00 s)" {
		t.Errorf("String() = %q", got)
	}
}
