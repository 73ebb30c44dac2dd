package llbgraph

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerui"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// The strategy's nine stages, in its order.
var strategyStages = []string{"base", "uv-installer", "dependencies", "builder", "runtime-base", "runtime", "development", "production", "test"}

// The flagship spec and its offline twin have the strategy's nine stages,
// each described, and every one of them compiles.
func TestFlagshipAndTwinCompileEveryTarget(t *testing.T) {
	for _, file := range []string{"../ohlcv.build.yaml", "../examples/ohlcv-rag/offline.build.yaml"} {
		s := loadFile(t, file)
		var names []string
		for _, target := range Targets(s) {
			names = append(names, target.Name)
			if target.Description == "" {
				t.Errorf("%s: stage %s has no description", file, target.Name)
			}
			if target.Default != (target.Name == "runtime") {
				t.Errorf("%s: %s default=%v", file, target.Name, target.Default)
			}
		}
		if !slices.Equal(names, strategyStages) {
			t.Errorf("%s: stages %v, want the strategy's %v", file, names, strategyStages)
		}
		for _, name := range names {
			res := compile(t, s, testOpt(name))
			marshal(t, res.State)
			if name == "runtime" || name == "production" {
				cfg := res.Image.Config
				if cfg.User != "ohlcv" || cfg.Healthcheck == nil || len(cfg.Entrypoint) == 0 {
					t.Errorf("%s %s: user %q healthcheck %v entrypoint %v", file, name, cfg.User, cfg.Healthcheck, cfg.Entrypoint)
				}
			}
		}
	}
}

// The flagship carries each technique of the strategy.
func TestFlagshipUsesTheStrategy(t *testing.T) {
	s := loadFile(t, "../ohlcv.build.yaml")
	o, err := BuildOutline(context.Background(), s, testOpt("test"))
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Secrets) != 1 || o.Secrets[0].ID != "api_key" || !o.Secrets[0].Required {
		t.Errorf("test target secrets: %+v", o.Secrets)
	}
	g := marshal(t, compile(t, s, testOpt("development")).State)
	if _, merge := g.one(t, "parallel: merge 5 branches"); merge.GetMerge() == nil {
		t.Errorf("the tools are not a parallel group")
	}
	deps := marshal(t, compile(t, s, testOpt("dependencies")).State)
	copyDeps, _ := deps.one(t, "copy: pyproject.toml uv.lock")
	syncD, sync := deps.one(t, "uv: sync --frozen --no-install-project --no-dev")
	if !deps.dependsOn(syncD, copyDeps) || len(deps.find("src/")) != 0 {
		t.Errorf("dependencies must install from the dependency files alone")
	}
	var caches []string
	for _, m := range sync.GetExec().Mounts {
		if m.CacheOpt != nil {
			caches = append(caches, m.Dest)
		}
	}
	if !slices.Contains(caches, "/root/.cache/uv") || !slices.Contains(caches, "/tmp/.uv") {
		t.Errorf("uv sync cache mounts: %v", caches)
	}
	prod := compile(t, s, testOpt("production"))
	if _, apk := marshal(t, prod.State).one(t, "apk: libstdc++ libgomp"); !strings.Contains(strings.Join(apk.GetExec().Meta.Args, " "), "apk add") {
		t.Errorf("production does not use apk")
	}
}

var benchSpecs = []struct{ name, file string }{
	{"flagship", "../ohlcv.build.yaml"},
	{"offline", "../examples/ohlcv-rag/offline.build.yaml"},
}

// BenchmarkLoad measures parsing, decoding and validating a spec.
func BenchmarkLoad(b *testing.B) {
	for _, c := range benchSpecs {
		dt, err := os.ReadFile(c.file)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := spec.Load(spec.DefaultFilename, dt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCompile measures the work a build does per platform once the
// spec is loaded: compile and marshal, with a stub image resolver. The
// frontend loads a spec once per build and compiles it once per platform.
func BenchmarkCompile(b *testing.B) {
	for _, c := range benchSpecs {
		s := loadFile(b, c.file)
		for _, target := range []string{"runtime", "test"} {
			b.Run(c.name+"/"+target, func(b *testing.B) {
				opt := testOpt(target)
				b.ReportAllocs()
				for b.Loop() {
					compileAndMarshal(b, s, opt)
				}
			})
		}
	}
}

// BenchmarkLoadCompile is a whole single-platform build's frontend work:
// load, compile and marshal. hack/bench compares it with
// BenchmarkDockerfile2LLB on the twin's equivalent Dockerfile.
func BenchmarkLoadCompile(b *testing.B) {
	for _, c := range benchSpecs {
		dt, err := os.ReadFile(c.file)
		if err != nil {
			b.Fatal(err)
		}
		for _, target := range []string{"runtime", "test"} {
			b.Run(c.name+"/"+target, func(b *testing.B) {
				opt := testOpt(target)
				b.ReportAllocs()
				for b.Loop() {
					s, err := spec.Load(spec.DefaultFilename, dt)
					if err != nil {
						b.Fatal(err)
					}
					compileAndMarshal(b, s, opt)
				}
			})
		}
	}
}

func compileAndMarshal(b *testing.B, s *spec.Spec, opt Opt) {
	res, err := Compile(context.Background(), s, opt)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := res.State.Marshal(context.Background(), marshalOpts...); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkDockerfile2LLB is the peer of BenchmarkCompile: BuildKit's
// Dockerfile frontend converting the twin's equivalent Dockerfile, with the
// same stub resolver, then marshalling.
func BenchmarkDockerfile2LLB(b *testing.B) {
	dt, err := os.ReadFile("../examples/ohlcv-rag/Dockerfile")
	if err != nil {
		b.Fatal(err)
	}
	for _, target := range []string{"runtime", "test"} {
		b.Run("offline/"+target, func(b *testing.B) {
			r := &stubResolve{}
			main := llb.Local("context")
			b.ReportAllocs()
			for b.Loop() {
				res, err := dockerfile2llb.Dockerfile2LLB(context.Background(), dt, dockerfile2llb.ConvertOpt{
					Config:       dockerui.Config{Target: target},
					MainContext:  &main,
					MetaResolver: resolverFunc(r.resolve),
				})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := res.State.Marshal(context.Background(), marshalOpts...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A stage compiles to the same ops whatever the target, so a bake of every
// target shares them: runtime's ops are the same in the runtime, the
// development and the test target.
func TestSharedStagesAreIdenticalAcrossTargets(t *testing.T) {
	s := loadFile(t, "../examples/ohlcv-rag/offline.build.yaml")
	runtime := marshal(t, compile(t, s, testOpt("runtime")).State)
	for _, target := range []string{"development", "test"} {
		g := marshal(t, compile(t, s, testOpt(target)).State)
		if _, ok := g.ops[runtime.head]; !ok {
			t.Errorf("the %s target does not build on the runtime target's ops", target)
		}
	}
}
