package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// twinTargets are the targets figure a builds cold.
var twinTargets = []string{"runtime", "development", "production", "test"}

// (a) a cold build of every target: one bake of the spec vs one target at
// a time (a1), and vs one bake of the Dockerfile twin, the peer (a2).
func (b *bench) coldAll() ([]*figure, error) {
	dir, err := b.context()
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	for name, file := range map[string]string{"spec.hcl": "offline.build.yaml", "dockerfile.hcl": "Dockerfile"} {
		if err := os.WriteFile(filepath.Join(dir, name), bakeFile(file), 0o644); err != nil {
			return nil, err
		}
	}
	secretEnv := []string{"OHLCV_API_KEY=bench-key"}
	var bake, seq, peer []time.Duration
	var aptBusy, aptBusyPeer []time.Duration
	// Each round runs the three in an order that rotates, on an empty cache.
	for i := 0; i < *cold; i++ {
		steps := []func() error{
			func() error {
				d, p, err := b.buildx(dir, secretEnv, "bake", "-f", "spec.hcl", "all")
				bake, aptBusy = append(bake, d), append(aptBusy, p.busy("apt: "))
				return err
			},
			func() error {
				var total time.Duration
				for _, target := range twinTargets {
					args := specBuild(target)
					if target == "test" {
						args = append(args[:len(args)-1], "--secret", "id=api_key,env=OHLCV_API_KEY", ".")
					}
					d, _, err := b.buildx(dir, secretEnv, args...)
					if err != nil {
						return err
					}
					total += d
				}
				seq = append(seq, total)
				return nil
			},
			func() error {
				d, p, err := b.buildx(dir, secretEnv, "bake", "-f", "dockerfile.hcl", "all")
				peer, aptBusyPeer = append(peer, d), append(aptBusyPeer, p.busy("apt-get install"))
				return err
			},
		}
		for j := range steps {
			if err := b.prune(); err != nil {
				return nil, err
			}
			if err := steps[(i+j)%len(steps)](); err != nil {
				return nil, err
			}
		}
	}
	what := "cold build of all four targets (" + strings.Join(twinTargets, ", ") + ")"
	med := func(ds []time.Duration) string { return secs(median(ds)) }
	a1 := timed(&figure{
		id: "a1", what: what, compared: "one `docker buildx bake all` vs one target at a time (this frontend)",
		target:  "≤ 0.5",
		command: "buildctl prune --all, then docker buildx bake -f spec.hcl all vs four docker buildx build -f offline.build.yaml --target ..., median of " + strconv.Itoa(*cold),
		values:  map[string]string{"apt": med(aptBusy), "bake": med(bake), "cores": strconv.Itoa(runtime.NumCPU())},
	}, bake, seq, 0.5)
	a2 := timed(&figure{
		id: "a2", what: what + ", one bake each", compared: "offline.build.yaml vs the equivalent Dockerfile (the peer), both with `docker buildx bake all`",
		target:  "≤ 1.0",
		command: "buildctl prune --all, then docker buildx bake -f spec.hcl all vs docker buildx bake -f dockerfile.hcl all, median of " + strconv.Itoa(*cold),
		values:  map[string]string{"apt": med(aptBusy), "aptPeer": med(aptBusyPeer)},
	}, bake, peer, 1.0)
	a1.notes = []string{fmt.Sprintf("run time of the apt steps, summed, in the spec's bake: %s, of a bake of %s (medians)", med(aptBusy), med(bake))}
	a2.notes = []string{fmt.Sprintf("run time of the apt steps, summed: %s in the spec's bake, %s in the Dockerfile's (medians)", med(aptBusy), med(aptBusyPeer))}
	return []*figure{a1, a2}, nil
}

// bakeFile is a bake file for every target of file (the spec or the
// Dockerfile) in the context, building to the cache only.
func bakeFile(file string) []byte {
	return []byte(fmt.Sprintf(`group "all" {
  targets = ["runtime", "development", "production", "test"]
}
target "_common" {
  context    = "."
  dockerfile = %q
  output     = ["type=cacheonly"]
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
`, file))
}
