package llbgraph

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// FuzzLoadCompile feeds arbitrary bytes to Load and, when they load, to
// Compile for every stage, and marshals the result. Nothing may panic, and
// every error about the spec must name the file.
func FuzzLoadCompile(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/ohlcv.build.yaml")
	seeds = append(seeds, "../ohlcv.build.yaml", "../examples/ohlcv-rag/offline.build.yaml")
	for _, s := range seeds {
		if dt, err := os.ReadFile(s); err == nil {
			f.Add(dt)
		}
	}
	f.Add([]byte("version: 1\nx: &a [*a]\nstages: {a: {from: scratch}}\n"))
	f.Add([]byte("version: 1\nstages:\n  a:\n    from: a\n"))
	f.Add([]byte("version: 1\nargs: {A: ${A}}\nstages:\n  a:\n    from: ${A:-scratch}\n    steps: [{copy: {src: '${A}', dst: /}}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-done:
			case <-time.After(3 * time.Second):
				panic(fmt.Sprintf("HANG on %q", data))
			}
		}()
		s, err := spec.Load("fuzz.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("an error without the file name: %v", err)
			}
			return
		}
		for _, st := range s.Stages {
			res, err := Compile(context.Background(), s, testOpt(st.Name))
			if err != nil {
				continue
			}
			if _, err := res.State.Marshal(context.Background(), marshalOpts...); err != nil {
				t.Fatalf("marshal %s: %v", st.Name, err)
			}
		}
	})
}
