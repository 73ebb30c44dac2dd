package main

import (
	"archive/tar"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// naiveDockerfile is the twin's app built the naive way, in one stage: the
// python image, the build tools from apt with their lists left in place,
// the whole context copied, and the app installed into it.
const naiveDockerfile = `FROM python:3.11-slim
WORKDIR /app
RUN apt-get update && apt-get install -y python3-setuptools python3-wheel
COPY . .
RUN python3 -m pip install --no-index --no-build-isolation --break-system-packages .
ENTRYPOINT ["python3", "-m", "src.main"]
`

// (h) the strategy's table (docs: STRATEGY.md, "Performance Benchmarks")
// on the offline twin: every target built one at a time (sequential) or
// in one bake (parallel), with no cache or with the cache of a build
// before a one-line change of the app; and the production image's size
// against the naive single-stage build of the same app.
func (b *bench) strategy() ([]*figure, error) {
	c, err := b.cold()
	if err != nil {
		return nil, err
	}
	dir, err := b.bakeContext()
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	change, err := lineChanger(dir)
	if err != nil {
		return nil, err
	}
	bakeAll := []string{"bake", "-f", "spec.hcl", "all"}
	if err := b.warm(dir, bakeAll); err != nil {
		return nil, err
	}
	seq, par := &side{name: "one target at a time"}, &side{name: "bake all"}
	for i := 0; i < *runs; i++ {
		if err := paired(i, seq, par, then(change, b.builds(dir, secretEnv, specTargets()...)), then(change, b.builds(dir, secretEnv, bakeAll))); err != nil {
			return nil, err
		}
	}
	cached := "cache of the build before a one-line change of src/features.py"
	row := func(id, what string, ours *side, claim float64, command string) *figure {
		f := timed(&figure{
			id: id, what: what, compared: "vs sequential with no cache (the strategy's baseline): every target built one at a time on an empty cache",
			target: fmt.Sprintf("%s faster (ratio ≤ %.3g)", percent(claim), 1-claim), command: command,
		}, ours, c.seq, 1-claim)
		f.ours += ", " + percent(1-f.ratio) + " faster"
		f.values = map[string]string{"ours": secs(ours.median()), "base": secs(c.seq.median()), "improvement": percent(1 - f.ratio), "claim": percent(claim),
			"execs": strconv.Itoa(ours.work().execs), "chain": secs(ours.work().chain), "chainBase": secs(c.seq.work().chain),
			"exec": secs(ours.work().exec), "execBase": secs(c.seq.work().exec), "builds": strconv.Itoa(len(twinTargets))}
		return f
	}
	coldCommand := "the builds of figure a: buildctl prune --all, then " + "docker buildx bake -f spec.hcl all against the four targets one at a time, " + rounds(*coldRuns)
	figs := []*figure{
		row("h1", "sequential, with cache: every target built one at a time, on the "+cached, seq, 0.75,
			"append a line to src/features.py, then the four targets one at a time (vs the baseline of figure a), "+rounds(*runs)+" against h3"),
		row("h2", "parallel, no cache: one `docker buildx bake all` on an empty cache", c.bake, 0.33, coldCommand),
		row("h3", "parallel, with cache: one `docker buildx bake all` on the "+cached, par, 0.83,
			"append a line to src/features.py, then docker buildx bake -f spec.hcl all, "+rounds(*runs)+" against h1"),
		row("h4", "the parallel build of all images (the strategy's `make benchmark-builds`): on the twin, the bake of h2", c.bake, 0.625, coldCommand),
	}
	size, err := b.imageSizes(dir)
	if err != nil {
		return nil, err
	}
	return append(figs, size), nil
}

// imageSizes is h5: the production image against the naive single-stage
// build of the same app, compressed (pushed to the registry) and unpacked.
func (b *bench) imageSizes(dir string) (*figure, error) {
	if err := os.WriteFile(filepath.Join(dir, "naive.Dockerfile"), []byte(naiveDockerfile), 0o644); err != nil {
		return nil, err
	}
	tag := strconv.FormatInt(time.Now().Unix(), 10)
	images := map[string][]string{
		"production": {"-f", "offline.build.yaml", "--target", "production", "--build-arg", skipTests},
		"naive":      {"-f", "naive.Dockerfile"},
	}
	// The images are exported outside the build context (inside it, the
	// image built second would copy the first one's with the naive build's
	// COPY . .), as one tar stream each: a type=local export of the naive
	// image stalled mid-transfer in two runs here.
	outDir, err := os.MkdirTemp("", "ohlcv-bench-out-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(outDir)
	pushed, unpacked := map[string]int64{}, map[string]int64{}
	for _, name := range []string{"production", "naive"} {
		args := images[name]
		ref := b.env["REGISTRY"] + "/bench/" + name + ":" + tag
		local := filepath.Join(outDir, name+".tar")
		for _, out := range []string{"type=image,name=" + ref + ",push=true", "type=tar,dest=" + local} {
			cmd := append(append([]string{"build"}, args...), "--output", out, ".")
			if _, _, err := b.buildx(dir, nil, cmd...); err != nil {
				return nil, err
			}
		}
		n, err := imageBytes(ref)
		if err != nil {
			return nil, err
		}
		pushed[name] = n
		if unpacked[name], err = tarBytes(local); err != nil {
			return nil, err
		}
	}
	r := float64(pushed["production"]) / float64(pushed["naive"])
	ru := float64(unpacked["production"]) / float64(unpacked["naive"])
	return &figure{
		id: "h5", what: "production image size, compressed as pulled (unpacked in the notes)", compared: "the twin's production target vs a naive single-stage build of the same app (below)",
		ours: mib(pushed["production"]) + ", " + percent(1-r) + " smaller", peer: mib(pushed["naive"]), ratio: r,
		target: "50–60% smaller (ratio ≤ 0.5)", met: r <= 0.5,
		command: "docker buildx build --target production (offline.build.yaml) and -f naive.Dockerfile, each pushed to the local registry (sizes from the manifests) and exported as a tar of its files",
		notes: []string{
			fmt.Sprintf("unpacked: production %s, naive %s, %s smaller", mib(unpacked["production"]), mib(unpacked["naive"]), percent(1-ru)),
			"naive.Dockerfile: " + strings.ReplaceAll(strings.TrimSpace(naiveDockerfile), "\n", " / "),
		},
		values: map[string]string{"smaller": percent(1 - r), "smallerUnpacked": percent(1 - ru), "prod": mib(pushed["production"]), "naive": mib(pushed["naive"])},
	}, nil
}

// tarBytes sums the sizes of the regular files in the tar file at p.
func tarBytes(p string) (int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var n int64
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
		if h.Typeflag == tar.TypeReg {
			n += h.Size
		}
	}
}

// percent is a fraction as a percentage, to a tenth (62.5%, 75%).
func percent(f float64) string {
	return strconv.FormatFloat(math.Round(f*1000)/10, 'f', -1, 64) + "%"
}
