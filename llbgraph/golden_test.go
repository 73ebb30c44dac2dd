package llbgraph

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/*")

// TestGolden compiles each testdata/<case>/ohlcv.build.yaml for each of its
// stages and compares the canonical LLB (every op by digest, with its
// progress name and content) and the image config with the golden files.
// Run `go test ./llbgraph -run Golden -update` to regenerate them, and
// review the diff like code.
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*/ohlcv.build.yaml")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, file := range dirs {
		dir := filepath.Dir(file)
		s := loadFile(t, file)
		for _, st := range s.Stages {
			t.Run(filepath.Base(dir)+"/"+st.Name, func(t *testing.T) {
				res := compile(t, s, testOpt(st.Name))
				checkGolden(t, filepath.Join(dir, st.Name+".llb.golden"), renderLLB(t, res))
				img, err := json.MarshalIndent(res.Image, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				checkGolden(t, filepath.Join(dir, st.Name+".image.golden.json"), append(img, '\n'))
			})
		}
	}
}

// renderLLB prints a definition in order, one op per block: its digest,
// its progress name and source line, and its content as JSON.
func renderLLB(t *testing.T, res *Result) []byte {
	g := marshal(t, res.State)
	var b bytes.Buffer
	for _, d := range g.list {
		op, err := json.MarshalIndent(g.ops[d], "  ", "  ")
		if err != nil {
			t.Fatal(err)
		}
		line := ""
		if locs := g.def.Source; locs != nil {
			if l, ok := locs.Locations[d.String()]; ok && len(l.Locations) > 0 && len(l.Locations[0].Ranges) > 0 {
				line = fmt.Sprintf(" (line %d)", l.Locations[0].Ranges[0].Start.Line)
			}
		}
		fmt.Fprintf(&b, "%s %q%s\n  %s\n", d, g.name(d), line, op)
	}
	return b.Bytes()
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the compiler's output; run `go test ./llbgraph -run Golden -update` and review the diff.\n%s", path, firstDiff(want, got))
	}
}

func firstDiff(a, b []byte) string {
	al, bl := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := 0; i < len(al) && i < len(bl); i++ {
		if !bytes.Equal(al[i], bl[i]) {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("lengths differ: %d vs %d lines", len(al), len(bl))
}
