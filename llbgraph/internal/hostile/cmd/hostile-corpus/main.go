// Command hostile-corpus writes cases of the hostile corpus
// (llbgraph/internal/hostile) to a directory, for tests outside llbgraph
// that send them through the real frontend (test/reliability): each case
// as NAME.yaml, exactly as the corpus makes it, and cases.json with each
// case's name, file, target and expected error.
//
//	go run ./llbgraph/internal/hostile/cmd/hostile-corpus -out DIR [-cases a,b]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/internal/hostile"
)

// written is one entry of cases.json.
type written struct {
	Name   string `json:"name"`
	File   string `json:"file"`
	Bytes  int    `json:"bytes"`
	Target string `json:"target,omitempty"`
	Want   string `json:"want,omitempty"`
}

func main() {
	out := flag.String("out", "", "directory to write the cases to")
	only := flag.String("cases", "", "comma-separated case names (default: all)")
	flag.Parse()
	if err := run(*out, *only); err != nil {
		fmt.Fprintln(os.Stderr, "hostile-corpus:", err)
		os.Exit(1)
	}
}

func run(out, only string) error {
	if out == "" {
		return fmt.Errorf("-out is required")
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	want := map[string]bool{}
	for _, n := range strings.Split(only, ",") {
		if n != "" {
			want[n] = true
		}
	}
	filter := len(want) > 0
	var list []written
	for _, c := range hostile.Cases() {
		if filter && !want[c.Name] {
			continue
		}
		delete(want, c.Name)
		file := c.Name + ".yaml"
		if err := os.WriteFile(filepath.Join(out, file), c.Spec, 0o644); err != nil {
			return err
		}
		list = append(list, written{Name: c.Name, File: file, Bytes: len(c.Spec), Target: c.Target, Want: c.Want})
	}
	for n := range want {
		return fmt.Errorf("no hostile case named %q", n)
	}
	dt, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "cases.json"), dt, 0o644)
}
