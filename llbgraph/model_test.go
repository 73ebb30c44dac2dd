package llbgraph

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/client/llb/sourceresolver"
	digest "github.com/opencontainers/go-digest"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// everySpec returns every spec of the repository that loads: the
// compiler's and the checks' fixtures, the examples, the flagship, and the
// YAML examples of the README and the docs.
func everySpec(t *testing.T) []*spec.Spec {
	t.Helper()
	var files []string
	for _, pattern := range []string{"testdata/*/*.yaml", "check/testdata/*.yaml", "../examples/*/*.yaml", "../ohlcv.build.yaml"} {
		m, err := filepath.Glob(pattern)
		if err != nil || len(m) == 0 {
			t.Fatalf("no spec matches %s: %v", pattern, err)
		}
		files = append(files, m...)
	}
	var specs []*spec.Spec
	for _, f := range files {
		specs = append(specs, loadFile(t, f))
	}
	docs, err := filepath.Glob("../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range append(docs, "../README.md") {
		dt, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range yamlBlock.FindAllSubmatch(dt, -1) {
			if s, err := spec.Load(filepath.Base(file), b[1]); err == nil {
				specs = append(specs, s)
			}
		}
	}
	// and the bad inputs of docs/spec.md that load, whose errors come from
	// the compiler
	for _, c := range docErrors {
		if s, err := spec.Load(spec.DefaultFilename, []byte(c.src)); err == nil {
			specs = append(specs, s)
		}
	}
	return specs
}

// stubOrAnyImage resolves the stub images as the golden tests do, and any
// other reference to the small config of anyImage.
func stubOrAnyImage(ctx context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	if _, ok := stubImages[ref]; ok {
		return (&stubResolve{}).resolve(ctx, ref, opt)
	}
	return anyImage(ctx, ref, opt)
}

func imageJSON(t *testing.T, img any) []byte {
	t.Helper()
	dt, err := json.Marshal(img)
	if err != nil {
		t.Fatal(err)
	}
	return dt
}

// For every spec of the repository and each of its stages, the image
// configuration the checks see (the model Evaluate makes) is the one the
// compiler emits, with the same image resolver, and a stage fails to
// evaluate exactly when it fails to compile, with the same error (but for
// which stage of a cycle it names first). Without
// a resolver, as `frontend check` evaluates, every stage that compiles
// evaluates, and a stage whose chain starts from no image ends with the
// compiler's configuration.
func TestModelIsWhatCompiles(t *testing.T) {
	specs := everySpec(t)
	if len(specs) < 80 {
		t.Fatalf("%d specs, want every fixture and example", len(specs))
	}
	stages, failed := 0, 0
	for _, s := range specs {
		opt := testOpt("")
		opt.ResolveImageConfig = stubOrAnyImage
		m, merr := Evaluate(context.Background(), s, opt)
		blindOpt := testOpt("")
		blindOpt.ResolveImageConfig = nil
		daemonless, blindErr := Evaluate(context.Background(), s, blindOpt)
		for _, st := range s.Stages {
			stages++
			opt := opt
			opt.Target = st.Name
			res, cerr := Compile(context.Background(), s, opt)
			if cerr != nil {
				failed++
				evalErr := merr
				if evalErr == nil {
					evalErr = m.Err(st.Name)
				}
				// a cycle is found from the first of its stages in the file
				// when every stage is evaluated, and from the target when one is
				cycle := strings.Contains(cerr.Error(), "stages form a cycle")
				if evalErr == nil || evalErr.Error() != cerr.Error() && !cycle {
					t.Errorf("%s, stage %s: compiles with\n%v\nbut evaluates with\n%v", s.Filename, st.Name, cerr, evalErr)
				}
				continue
			}
			if merr != nil || blindErr != nil {
				t.Errorf("%s, stage %s: compiles, but does not evaluate: %v, without images %v", s.Filename, st.Name, merr, blindErr)
				continue
			}
			ev, blind := m.Stage(st), daemonless.Stage(st)
			if ev.Err != nil || blind.Err != nil {
				t.Errorf("%s, stage %s: compiles, but evaluates with %v, without images %v", s.Filename, st.Name, ev.Err, blind.Err)
				continue
			}
			if got, want := imageJSON(t, ev.Image()), imageJSON(t, res.Image); !bytes.Equal(got, want) {
				t.Errorf("%s, stage %s: the model's image is\n%s\nthe compiled one\n%s", s.Filename, st.Name, got, want)
			}
			if blind.Config.BaseKnown && !bytes.Equal(imageJSON(t, blind.Image()), imageJSON(t, res.Image)) {
				t.Errorf("%s, stage %s: without images, a known chain evaluates to\n%s", s.Filename, st.Name, imageJSON(t, blind.Image()))
			}
		}
	}
	t.Logf("%d specs, %d stages, %d of them fail to compile", len(specs), stages, failed)
}

// Without images, what a base image's config sets is unknown, and the
// model says so: a name only the image could set reads as unknown (no
// error), what the spec sets is known and says where, and a chain from
// scratch is known all along.
func TestEvaluateWithoutImages(t *testing.T) {
	s := loadSpec(t, `version: 1
args: {APP: app}
stages:
  base:
    from: python:3.12-slim
    env: {PATH: "/venv/bin:${PATH}", HOME: "/home/${APP}"}
    steps:
      - run: echo $APP
      - user: ${APP_USER}
      - workdir: sub
  app:
    from: base
    user: ${APP}
    image: {entrypoint: [python]}
  tool:
    from: scratch
    workdir: /w
`)
	opt := testOpt("")
	opt.ResolveImageConfig = nil
	m, err := Evaluate(context.Background(), s, opt)
	if err != nil || m.Err("") != nil {
		t.Fatalf("%v %v", err, m.Err(""))
	}
	base := m.Stage(s.Stages.Get("base"))
	run := base.Steps[0].(*RunStep)
	cfg := run.Before()
	if _, set, known := cfg.Env("PATH"); !set || known {
		t.Errorf("PATH reads the image's: set %v, known %v", set, known)
	}
	if v, set, known := cfg.Env("HOME"); v != "/home/app" || !set || !known {
		t.Errorf("HOME = %q, set %v, known %v", v, set, known)
	}
	if _, set, known := cfg.Env("LANG"); set || known {
		t.Errorf("LANG, which the image may set: set %v, known %v", set, known)
	}
	if !slices.Equal(run.Reads(), []string{"APP"}) || !slices.Equal(run.ArgEnv, []string{"APP=app"}) {
		t.Errorf("the run reads %v and gets %v", run.Reads(), run.ArgEnv)
	}
	if u := base.Steps[1].(*UserStep).User; !u.Unknown || u.Raw != "${APP_USER}" {
		t.Errorf("user %+v, want unknown", u)
	}
	if w := base.Steps[2].(*WorkdirStep); !w.Before().WorkdirFromBase || base.Config.Set.Workdir == nil || !base.Config.Set.Workdir.Unknown {
		t.Errorf("a relative workdir on the image's is unknown: %+v", base.Config.Set.Workdir)
	}
	app := m.Stage(s.Stages.Get("app"))
	if u, known := app.Config.User(); u != "app" || !known || app.Config.Set.User.Node.Field(app.Config.Set.User.Key) != "stages.app.user" {
		t.Errorf("app's user %q (known %v), set at %+v", u, known, app.Config.Set.User)
	}
	if app.Config.BaseKnown || app.Config.Set.Entrypoint == nil || app.Config.Set.Cmd == nil || app.Config.Set.Cmd.Text != "" {
		t.Errorf("app's command: %+v %+v", app.Config.Set.Entrypoint, app.Config.Set.Cmd)
	}
	tool := m.Stage(s.Stages.Get("tool"))
	if !tool.Config.BaseKnown || tool.Config.WorkdirFromBase {
		t.Errorf("a scratch chain with an absolute workdir: %+v", tool.Config)
	}
	if _, set, known := tool.Config.Env("LANG"); set || !known {
		t.Errorf("LANG on scratch: set %v, known %v", set, known)
	}
}
