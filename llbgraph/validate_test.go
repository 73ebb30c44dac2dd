package llbgraph

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// A spec loaded, then changed in Go, is validated again by Compile: the
// change gets the error Load would give, naming its YAML path (and the
// position, where the changed node has one), instead of reaching the
// compiler unchecked.
func TestCompileValidatesASpecChangedAfterLoad(t *testing.T) {
	const src = `version: 1
stages:
  app:
    from: scratch
    steps:
      - run: [x]
        mounts: [{type: cache, target: /c}]
`
	for _, c := range []struct {
		name   string
		change func(s *spec.Spec)
		want   string
	}{
		{"a mount's type emptied", func(s *spec.Spec) {
			s.Stages[0].Steps[0].(*spec.RunStep).Mounts[0].Type = spec.MountType{}
		}, "ohlcv.build.yaml:7:18: stages.app.steps[0].mounts[0].type: a mount needs a type: cache, secret, ssh, tmpfs or bind"},
		{"a mount added with no type", func(s *spec.Spec) {
			r := s.Stages[0].Steps[0].(*spec.RunStep)
			r.Mounts = append(r.Mounts, spec.Mount{Target: spec.Str("/t")})
		}, "ohlcv.build.yaml: stages.app.steps[0].mounts[1].type: a mount needs a type: cache, secret, ssh, tmpfs or bind"},
		{"a stage defined twice", func(s *spec.Spec) {
			s.Stages = append(s.Stages, &spec.Stage{Name: "app", From: spec.Str("scratch")})
		}, `ohlcv.build.yaml: stages.app: stage "app" is defined twice; the first is at line 3`},
		{"a step added", func(s *spec.Spec) {
			s.Stages[0].Steps = append(s.Stages[0].Steps, &spec.CopyStep{Copy: spec.Copy{Files: spec.Files{Src: spec.Strs("a", "b"), Dst: spec.Str("/app")}}})
		}, `ohlcv.build.yaml: stages.app.steps[1].copy.dst: with more than one src, dst must be a directory ending in /: "/app/"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := loadSpec(t, src)
			if _, err := Compile(context.Background(), s, testOpt("")); err != nil {
				t.Fatalf("before the change: %v", err)
			}
			c.change(s)
			_, err := Compile(context.Background(), s, testOpt(""))
			var got []string
			for _, e := range spec.Errors(err) {
				got = append(got, e.Error())
			}
			if strings.Join(got, "\n") != c.want {
				t.Errorf("got %v\nwant %s", err, c.want)
			}
		})
	}
}

// Compiling one spec built in Go from several goroutines at once is safe
// (the race detector watches it), and its errors name paths.
func TestCompileASpecBuiltInGoConcurrently(t *testing.T) {
	good := &spec.Spec{Version: &spec.Int{Value: 1}, Stages: spec.Stages{{Name: "app", From: spec.Str("scratch"), Steps: []spec.Step{&spec.RunStep{Run: *spec.Exec("true")}}}}}
	bad := &spec.Spec{Version: &spec.Int{Value: 1}, Stages: spec.Stages{{Name: "app", From: spec.Str("scratch"), Steps: []spec.Step{
		&spec.RunStep{Run: *spec.Exec("true"), RunOptions: spec.RunOptions{Mounts: []spec.Mount{{Type: spec.MountType{Value: "cahce"}, Target: spec.Str("/c")}}}},
	}}}}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			s := good
			if i%2 == 1 {
				s = bad
			}
			_, errs[i] = Compile(context.Background(), s, testOpt(""))
		})
	}
	wg.Wait()
	const want = `ohlcv.build.yaml: stages.app.steps[0].mounts[0].type: unknown mount type "cahce" (did you mean "cache"?): want cache, secret, ssh, tmpfs or bind`
	for i, err := range errs {
		switch {
		case i%2 == 0 && err != nil:
			t.Errorf("the valid spec: %v", err)
		case i%2 == 1 && (err == nil || err.Error() != want):
			t.Errorf("got %v, want %s", err, want)
		}
	}
}
