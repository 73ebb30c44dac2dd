package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ohlcv-rag/ohlcv-build/schema"
)

func TestGraphCommand(t *testing.T) {
	var out bytes.Buffer
	// The directory first and the flags after it, as people type them.
	if err := runGraph(&out, []string{"../..", "--format", "dot", "--target", "builder"}); err != nil {
		t.Fatal(err)
	}
	dot := out.String()
	if !strings.HasPrefix(dot, "digraph ") || !strings.Contains(dot, `[label="builder",`) || !strings.Contains(dot, `[label="base",`) {
		t.Fatalf("no builder and base stages in\n%s", dot)
	}
	if strings.Contains(dot, `"runtime"`) {
		t.Fatalf("--target builder draws runtime, which builder does not reach:\n%s", dot)
	}

	out.Reset()
	if err := runGraph(&out, []string{"-f", "../../examples/ohlcv-rag/offline.build.yaml"}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "flowchart TB\n") {
		t.Fatalf("the default format is not mermaid:\n%s", out.String())
	}
}

func TestGraphCommandErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "ohlcv.build.yaml")
	if err := os.WriteFile(bad, []byte("version: 1\nstages:\n  app:\n    from: scratch\n    wrokdir: /app\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--format", "svg", dir}, `unknown format "svg": want mermaid or dot`},
		{[]string{dir}, bad + `:5:5: stages.app.wrokdir: unknown key "wrokdir"`},
		{[]string{filepath.Join(dir, "nowhere")}, "no such file or directory"},
		{[]string{"--target", "ap", "../.."}, `target "ap" is not a stage`},
		{[]string{"a", "b"}, "frontend graph takes one directory, got 2"},
		{[]string{"--colour"}, "flag provided but not defined: -colour"},
	} {
		err := runGraph(&bytes.Buffer{}, c.args)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("frontend graph %q: got %v, want an error with %q", c.args, err, c.want)
		}
	}
	if err := runGraph(&bytes.Buffer{}, []string{"-h"}); err != nil {
		t.Errorf("-h: %v", err)
	}
}

func TestSchemaCommand(t *testing.T) {
	var out bytes.Buffer
	if err := runSchema(&out, nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), schema.JSON()) || !bytes.Contains(out.Bytes(), []byte(`"$id": "`+schema.URL+`"`)) {
		t.Fatalf("frontend schema printed %d bytes, not the schema", out.Len())
	}
	if err := runSchema(&out, []string{"extra"}); err == nil || !strings.Contains(err.Error(), "takes no arguments") {
		t.Fatalf("frontend schema extra: got %v", err)
	}
}
