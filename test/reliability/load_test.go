//go:build reliability

package reliability

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// sameTargetBuilds and twinTargets are the two load cases.
const sameTargetBuilds = 16

var twinTargets = []string{"uv-installer", "dependencies", "builder", "runtime-base", "runtime", "development", "production", "test"}

// loadSpec is a small target with a copy, a step that takes a while, a
// parallel group and a step after it.
func loadSpec(frontend string) string {
	return "# syntax=" + frontend + `
version: 1
args: {RUN_ID: ""}
stages:
  app:
    from: busybox:latest
    workdir: /app
    steps:
      - copy: {src: [hello.txt], dst: ./}
      - run: echo "load $RUN_ID" > /app/load && sleep 2
      - parallel:
          - run: seq 1 20000 > /app/a
          - run: seq 1 30000 > /app/b
      - run: cat /app/a /app/b | wc -l > /app/lines
`
}

// loadRun runs specs at once on daemon d and measures the wall time and
// the peaks of buildkitd's resident set and of everything under it.
type loadRun struct {
	results        []*built
	wall           time.Duration
	peakD, peakAll int64
}

func runLoad(ctx context.Context, s *suite, d *daemon, specs []buildSpec) (*loadRun, error) {
	if err := d.resetPeak(); err != nil {
		return nil, fmt.Errorf("resetting buildkitd's peak RSS: %w", err)
	}
	smp := d.sample()
	start := time.Now()
	pending := make([]*pendingBuild, len(specs))
	for i, sp := range specs {
		p, err := s.buildx.startBuild(ctx, sp)
		if err != nil {
			for _, q := range pending[:i] {
				q.r.kill()
				q.wait()
			}
			smp.end()
			return nil, err
		}
		pending[i] = p
	}
	lr := &loadRun{results: make([]*built, len(specs))}
	var wg sync.WaitGroup
	for i, p := range pending {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lr.results[i] = p.wait()
		}()
	}
	wg.Wait()
	lr.wall = time.Since(start)
	lr.peakD, lr.peakAll = smp.end()
	if _, hwm := memory(d.pid()); hwm > lr.peakD {
		lr.peakD = hwm
	}
	return lr, nil
}

func (lr *loadRun) failures() (n int, first string) {
	for _, r := range lr.results {
		if r.err != nil {
			if n == 0 {
				first = errorOf(r.outcome)
			}
			n++
		}
	}
	return n, first
}

func testLoad(t *testing.T) {
	fig := newFigure(t, "2")
	s := setup(t, fig)
	ctx := context.Background()
	runID := token()

	// One target, sameTargetBuilds times at once, on a fresh daemon.
	d, err := s.pool.get(ctx, "load", daemonOpts{})
	if err != nil {
		fig.fatalf(t, "%v", err)
	}
	dir := t.TempDir()
	writeSpec(t, dir, "ohlcv.build.yaml", loadSpec(s.frontend))
	writeSpec(t, dir, "hello.txt", "hello "+runID+"\n")
	out := t.TempDir()
	epochArg := strconv.FormatInt(epoch(t, fig), 10)
	var specs []buildSpec
	for i := range sameTargetBuilds {
		specs = append(specs, buildSpec{builder: d.name, dir: dir, file: "ohlcv.build.yaml",
			args:    map[string]string{"RUN_ID": runID, "SOURCE_DATE_EPOCH": epochArg},
			outputs: []string{"type=oci,dest=" + filepath.Join(out, fmt.Sprintf("image-%02d.tar", i))}, timeout: 15 * time.Minute})
	}
	lr, err := runLoad(ctx, s, d, specs)
	if err != nil {
		fig.fatalf(t, "%v", err)
	}
	fig.command(lr.results[0].command + "   # " + strconv.Itoa(sameTargetBuilds) + " at once, each to its own tar")
	n, first := lr.failures()
	fig.check(t, fmt.Sprintf("%d concurrent builds of one target through the gateway image: failures", sameTargetBuilds), "0", strings.TrimSpace(fmt.Sprintf("%d %s", n, first)), n == 0)
	digests := map[string]int{}
	for _, r := range lr.results {
		if r.err == nil {
			digests[r.metaString("containerimage.digest")]++
		}
	}
	var ds []string
	for dg, c := range digests {
		ds = append(ds, fmt.Sprintf("%s ×%d", dg, c))
	}
	slices.Sort(ds)
	fig.check(t, "distinct image digests among them (SOURCE_DATE_EPOCH set)", "1", fmt.Sprintf("%d: %s", len(digests), strings.Join(ds, ", ")), len(digests) == 1 && n == 0)
	fig.check(t, "wall time of the whole batch", "recorded", seconds(lr.wall), true)
	fig.check(t, "buildkitd's peak RSS during the batch; with every process under it", "recorded", megabytes(lr.peakD)+"; "+megabytes(lr.peakAll), true)
	// The daemon is fresh: every container its log shows for the step
	// that sleeps was created for this batch.
	execs := 0
	for _, l := range strings.Split(d.logText(), "\n") {
		if strings.Contains(l, "> creating") && strings.Contains(l, `load $RUN_ID`) {
			execs++
		}
	}
	fig.note("buildkitd's debug log shows %d container(s) created for the step that sleeps, for the %d builds: concurrent builds of one target share its vertices.", execs, sameTargetBuilds)

	// Different targets of the offline twin at once, on r1, which built
	// the twin's runtime for figure 5 (or builds it now if that figure did
	// not run first).
	r1, err := s.pool.get(ctx, "r1", daemonOpts{})
	if err != nil {
		fig.fatalf(t, "%v", err)
	}
	tag := runID[:12]
	specs = nil
	for _, target := range twinTargets {
		sp := buildSpec{builder: r1.name, dir: twinDir(), file: twinFile, target: target,
			args:    map[string]string{"CACHE_DATE": runID},
			outputs: []string{"type=image,name=" + s.reg.host + "/rel/twin-" + target + ":" + tag + ",push=true,registry.insecure=true"}, timeout: 20 * time.Minute}
		if target == "test" {
			sp.secrets = []string{"id=api_key,env=OHLCV_API_KEY"}
			sp.env = []string{"OHLCV_API_KEY=k-" + runID}
		}
		specs = append(specs, sp)
	}
	lr, err = runLoad(ctx, s, r1, specs)
	if err != nil {
		fig.fatalf(t, "%v", err)
	}
	for _, r := range lr.results {
		fig.command(r.command)
	}
	n, first = lr.failures()
	fig.check(t, fmt.Sprintf("%d concurrent builds of different targets of the offline twin (%s): failures", len(twinTargets), strings.Join(twinTargets, ", ")), "0", strings.TrimSpace(fmt.Sprintf("%d %s", n, first)), n == 0)
	fig.check(t, "wall time of the whole batch", "recorded", seconds(lr.wall), true)
	fig.check(t, "buildkitd's peak RSS during the batch; with every process under it", "recorded", megabytes(lr.peakD)+"; "+megabytes(lr.peakAll), true)
	ran, total := 0, 0
	for _, r := range lr.results {
		if r.progress != nil {
			ran += len(r.progress.ran())
			total += len(r.progress.steps())
		}
	}
	fig.note("The twin's batch had a new CACHE_DATE, which only the steps that read it (and what follows them) re-run: %d of the %d steps its builds showed ran, the others came from r1's cache.", ran, total)
}
