package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph"
)

// twinTargets are the targets figures a and h build.
var twinTargets = []string{"runtime", "development", "production", "test"}

// secretEnv is the test target's api_key secret, for the bakes and builds.
var secretEnv = []string{"OHLCV_API_KEY=bench-key"}

// coldRounds are cold builds of every target of the twin, each on an
// empty cache: one bake of the spec, the spec's targets one at a time,
// and one bake of the Dockerfile twin. Figures a and h both read them.
type coldRounds struct {
	bake, seq, peer *side
}

// cold measures the cold rounds once, in an order that rotates with the
// round.
func (b *bench) cold() (*coldRounds, error) {
	if b.coldRounds != nil {
		return b.coldRounds, nil
	}
	dir, err := b.bakeContext()
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	c := &coldRounds{bake: &side{name: "bake all"}, seq: &side{name: "one target at a time"}, peer: &side{name: "Dockerfile, bake all"}}
	steps := []struct {
		s *side
		r run
	}{
		{c.bake, b.builds(dir, secretEnv, []string{"bake", "-f", "spec.hcl", "all"})},
		{c.seq, b.builds(dir, secretEnv, specTargets()...)},
		{c.peer, b.builds(dir, secretEnv, []string{"bake", "-f", "dockerfile.hcl", "all"})},
	}
	for i := 0; i < *coldRuns; i++ {
		for j := range steps {
			st := steps[(i+j)%len(steps)]
			if err := record(st.s, then(b.prune, st.r)); err != nil {
				return nil, err
			}
		}
	}
	b.coldRounds = c
	return c, nil
}

// a1Target is figure a1's target ratio.
const a1Target = 0.6

// (a) a cold build of every target: one bake of the spec vs one target at
// a time (a1), and vs one bake of the Dockerfile twin, the peer (a2).
func (b *bench) coldAll() ([]*figure, error) {
	c, err := b.cold()
	if err != nil {
		return nil, err
	}
	what := "cold build of all four targets (" + strings.Join(twinTargets, ", ") + ")"
	bw, sw, pw := c.bake.work(), c.seq.work(), c.peer.work()
	need := time.Duration(a1Target * float64(c.seq.median()))
	perCore := bw.cpu / time.Duration(runtime.NumCPU())
	a1 := timed(&figure{
		id: "a1", what: what, compared: "one `docker buildx bake all` vs one target at a time (this frontend)",
		target:  "≤ " + strconv.FormatFloat(a1Target, 'f', -1, 64),
		command: "buildctl prune --all before each build, then docker buildx bake -f spec.hcl all vs four docker buildx build -f offline.build.yaml --target ..., " + rounds(*coldRuns) + "; the three builds of a round rotate",
		values: map[string]string{"bake": secs(c.bake.median()), "chain": secs(bw.chain), "cores": strconv.Itoa(runtime.NumCPU()),
			"exec": secs(bw.exec), "seqExec": secs(sw.exec), "cpu": secs(bw.cpu), "seqCPU": secs(sw.cpu),
			"cpuPerCore": secs(perCore),
			"seq":        secs(c.seq.median()), "need": secs(need), "bound": cpuBound(perCore, need),
			"targetRatio": strconv.FormatFloat(a1Target, 'f', -1, 64)},
	}, c.bake, c.seq, a1Target)
	a2 := timed(&figure{
		id: "a2", what: what + ", one bake each", compared: "offline.build.yaml vs the equivalent Dockerfile (the peer), both with `docker buildx bake all`",
		target:  "≤ 0.8, fewer apt-get update runs and less apt time",
		command: "buildctl prune --all before each build, then docker buildx bake -f spec.hcl all vs docker buildx bake -f dockerfile.hcl all, " + rounds(*coldRuns) + "; the same rounds as a1",
		values: map[string]string{"apt": secs(bw.apt), "aptPeer": secs(pw.apt), "updates": strconv.Itoa(bw.updates), "updatesPeer": strconv.Itoa(pw.updates),
			"chain": secs(bw.chain), "chainPeer": secs(pw.chain), "cpu": secs(bw.cpu), "cpuPeer": secs(pw.cpu), "cores": strconv.Itoa(runtime.NumCPU())},
	}, c.bake, c.peer, 0.8)
	a2.met = a2.met && bw.updates < pw.updates && bw.apt < pw.apt
	return []*figure{a1, a2}, nil
}

// cpuBound says whether the CPU time a build took, spread over every core
// (perCore), leaves it room to finish within need.
func cpuBound(perCore, need time.Duration) string {
	if perCore > need {
		return "less than the " + secs(perCore) + " a core the bake's CPU time alone takes on this machine, so no schedule of the same work reaches it here."
	}
	return "more than the " + secs(perCore) + " a core the bake's CPU time takes, so the CPU alone does not rule it out."
}

// specTargets are the spec's builds of every target, one at a time, to
// the cache only.
func specTargets() [][]string {
	var out [][]string
	for _, target := range twinTargets {
		args := specBuild(target)
		if target == "test" {
			args = append(args[:len(args)-1], "--secret", "id=api_key,env=OHLCV_API_KEY", ".")
		}
		out = append(out, args)
	}
	return out
}

// bakeContext is a copy of the twin's context with a bake file for every
// target of the spec (spec.hcl) and of the Dockerfile (dockerfile.hcl).
func (b *bench) bakeContext() (string, error) {
	dir, err := b.context()
	if err != nil {
		return "", err
	}
	for name, file := range map[string]string{"spec.hcl": "offline.build.yaml", "dockerfile.hcl": "Dockerfile"} {
		if err := os.WriteFile(filepath.Join(dir, name), bakeFile(file), 0o644); err != nil {
			os.RemoveAll(dir)
			return "", err
		}
	}
	return dir, nil
}

// bakeFile is a bake file for every target of file (the spec or the
// Dockerfile) in the context, building to the cache only; the spec's
// tests are skipped ([llbgraph.SkipTestsArg]).
func bakeFile(file string) []byte {
	args := ""
	if file != "Dockerfile" {
		args = fmt.Sprintf("\n  args       = { %s = \"1\" }", llbgraph.SkipTestsArg)
	}
	return []byte(fmt.Sprintf(`group "all" {
  targets = ["runtime", "development", "production", "test"]
}
target "_common" {
  context    = "."
  dockerfile = %q
  output     = ["type=cacheonly"]%s
}
target "runtime" {
  inherits = ["_common"]
  target   = "runtime"
}
target "development" {
  inherits = ["_common"]
  target   = "development"
}
target "production" {
  inherits = ["_common"]
  target   = "production"
}
target "test" {
  inherits = ["_common"]
  target   = "test"
  secret   = ["id=api_key,env=OHLCV_API_KEY"]
}
`, file, args))
}
