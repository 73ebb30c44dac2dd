package llbgraph

import (
	"context"
	"os"
	"regexp"
	"testing"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// Every YAML example of the README and the spec reference loads, and every
// stage of it compiles, so the docs stay true.
func TestDocExamplesCompile(t *testing.T) {
	for _, file := range []string{"../README.md", "../docs/spec.md"} {
		dt, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		blocks := yamlBlock.FindAllSubmatch(dt, -1)
		if len(blocks) == 0 {
			t.Fatalf("%s has no yaml examples", file)
		}
		for i, b := range blocks {
			s, err := spec.Load("example.yaml", b[1])
			if err != nil {
				t.Errorf("%s, example %d: %v\n%s", file, i+1, err, b[1])
				continue
			}
			for _, st := range s.Stages {
				opt := testOpt(st.Name)
				opt.ResolveImageConfig = anyImage
				if _, err := Compile(context.Background(), s, opt); err != nil {
					t.Errorf("%s, example %d, stage %s: %v", file, i+1, st.Name, err)
				}
			}
		}
	}
}
