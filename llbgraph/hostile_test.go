package llbgraph

import (
	"context"
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/moby/buildkit/client/llb/sourceresolver"
	digest "github.com/opencontainers/go-digest"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/internal/hostile"
	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// MaxMemory is the memory bound docs/spec.md promises for Load plus
// Compile of any spec of at most 1 MiB.
const MaxMemory = 256 << 20

// anyImage resolves every reference to a small Debian-like config, as a
// registry that has every image would.
func anyImage(_ context.Context, ref string, _ sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	img := stubImage([]string{"PATH=/usr/bin:/bin"}, "", []string{"sh"})
	dt, err := json.Marshal(img)
	return ref, digest.FromBytes(dt), dt, err
}

// loadCompile loads a spec and compiles and marshals its target, as the
// frontend does for one platform.
func loadCompile(data []byte, target string) error {
	s, err := spec.Load("hostile.yaml", data)
	if err != nil {
		return err
	}
	opt := testOpt(target)
	opt.ResolveImageConfig = anyImage
	res, err := Compile(context.Background(), s, opt)
	if err != nil {
		return err
	}
	_, err = res.State.Marshal(context.Background(), marshalOpts...)
	return err
}

// allocated returns the bytes f allocates: an upper bound of how much its
// heap can grow.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// Every hostile spec gets its error (or compiles), and allocates less than
// the memory bound while doing so. Time is measured by BenchmarkHostile,
// not asserted here.
func TestHostileSpecsStayWithinMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("the hostile corpus is not short")
	}
	for _, c := range hostile.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			var err error
			n := allocated(func() { err = loadCompile(c.Spec, c.Target) })
			switch {
			case c.Want == "" && err != nil:
				t.Errorf("want it to compile, got %v", err)
			case c.Want != "" && (err == nil || !strings.Contains(err.Error(), c.Want)):
				t.Errorf("want an error with %q, got %v", c.Want, err)
			}
			if err != nil {
				if !strings.HasPrefix(err.Error(), "hostile.yaml") {
					t.Errorf("the error does not name the file: %.200s", err)
				}
				if len(err.Error()) > 64<<10 {
					t.Errorf("the error is %d bytes", len(err.Error()))
				}
			}
			if n > MaxMemory {
				t.Errorf("allocated %d MiB, more than %d MiB", n>>20, MaxMemory>>20)
			}
			t.Logf("%d KiB allocated", n>>10)
		})
	}
}

// BenchmarkHostile reports, for each hostile spec of at most 1 MiB, the
// time and the bytes allocated to load it and compile and marshal its
// target (or to refuse it). docs/spec.md quotes it.
func BenchmarkHostile(b *testing.B) {
	for _, c := range hostile.Cases() {
		b.Run(c.Name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = loadCompile(c.Spec, c.Target)
			}
		})
	}
}

// Every hostile spec is evaluated, every stage of it, with no image, as
// `frontend check` evaluates it, within the memory bound, and a stage that
// cannot be evaluated has an error that names the file.
func TestHostileSpecsEvaluateWithinMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("the hostile corpus is not short")
	}
	for _, c := range hostile.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			var err error
			n := allocated(func() {
				var s *spec.Spec
				if s, err = spec.Load("hostile.yaml", c.Spec); err != nil {
					return
				}
				opt := testOpt("")
				opt.ResolveImageConfig = nil
				var m *Model
				if m, err = Evaluate(context.Background(), s, opt); err == nil {
					err = m.Err("")
				}
			})
			if err != nil && !strings.HasPrefix(err.Error(), "hostile.yaml") {
				t.Errorf("the error does not name the file: %.200s", err)
			}
			if n > MaxMemory {
				t.Errorf("allocated %d MiB, more than %d MiB", n>>20, MaxMemory>>20)
			}
			t.Logf("%d KiB allocated: %.200v", n>>10, err)
		})
	}
}
