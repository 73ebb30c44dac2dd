package convert

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph"
	"github.com/ohlcv-rag/ohlcv-build/llbgraph/check"
	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// corpusDir holds the equivalence suite's Dockerfiles, which the engine
// builds both ways (test/integration/convert_test.go).
const corpusDir = "../test/integration/testdata/convert"

// corpus returns the Dockerfiles the golden test converts: the suite's,
// and the twin's.
func corpus(t *testing.T) map[string]string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(corpusDir, "*", "Dockerfile"))
	if err != nil || len(dirs) < 25 {
		t.Fatalf("the corpus has %d Dockerfiles (%v), want at least 25", len(dirs), err)
	}
	out := map[string]string{"ohlcv-rag-twin": "../examples/ohlcv-rag/Dockerfile"}
	for _, d := range dirs {
		out[filepath.Base(filepath.Dir(d))] = d
	}
	return out
}

// TestGolden converts every Dockerfile of the corpus and compares the spec
// with testdata/golden/NAME.build.yaml, or the errors with NAME.err (the
// entries the suite expects to be refused), and the findings of the build
// checks on the spec with NAME.check. Review the goldens like code;
// regenerate them with -update. Every spec must load, and every check
// finding must be one the Dockerfile also deserves: the goldens list them.
func TestGolden(t *testing.T) {
	for name, path := range corpus(t) {
		t.Run(name, func(t *testing.T) {
			dt, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			res, err := Convert(dt, Options{})
			golden := filepath.Join("testdata", "golden", name)
			wantErrs := caseErrors(t, filepath.Dir(path))
			if err != nil {
				if len(wantErrs) == 0 {
					t.Fatalf("conversion failed: %v", err)
				}
				for _, w := range wantErrs {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				compareGolden(t, golden+".err", []byte(err.Error()+"\n"))
				return
			}
			if len(wantErrs) > 0 {
				t.Fatalf("converted, but case.json expects %q", wantErrs)
			}
			compareGolden(t, golden+".build.yaml", res.Spec)
			s, err := spec.Load("ohlcv.build.yaml", res.Spec)
			if err != nil {
				t.Fatalf("the spec does not load: %v", err)
			}
			m, err := llbgraph.Evaluate(context.Background(), s, llbgraph.Opt{BuildPlatform: ocispecs.Platform{OS: "linux", Architecture: "amd64"}})
			if err != nil {
				t.Fatalf("the spec does not evaluate: %v", err)
			}
			var b strings.Builder
			for _, f := range check.Run(m, check.SpecConfig(s), check.Input{}) {
				fmt.Fprintf(&b, "%d: %s: %s\n", f.Range.Start.Line, f.Rule.Name, f.Message)
			}
			compareGolden(t, golden+".check", []byte(b.String()))
		})
	}
}

// caseErrors are the errors the corpus entry in dir must be refused with.
func caseErrors(t *testing.T, dir string) []string {
	dt, err := os.ReadFile(filepath.Join(dir, "case.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	var c struct {
		Errors []string `json:"errors"`
	}
	if err == nil {
		err = json.Unmarshal(dt, &c)
	}
	if err != nil {
		t.Fatal(err)
	}
	return c.Errors
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if len(got) == 0 {
			os.Remove(path)
			return
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && len(got) == 0 {
		return
	}
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs (run with -update and review):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
