package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/graph"
	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// runGraph prints the stage graph of a spec (docs/graph.md), with no
// daemon: frontend graph [-f FILE] [--target T] [--format mermaid|dot] [dir].
func runGraph(w io.Writer, args []string) error {
	fs := flag.NewFlagSet("frontend graph", flag.ContinueOnError)
	file := fs.String("f", "", "the spec, read in DIR unless absolute (default: "+spec.DefaultFilename+")")
	target := fs.String("target", "", "draw only the stages this stage reaches (default: every stage)")
	format := fs.String("format", "mermaid", "output format: "+strings.Join(graph.Formats, " or "))
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: frontend graph [-f FILE] [--target T] [--format %s] [DIR]\n\nPrints the stages of a spec, the images they read and the parallel groups in them as a graph.\n\n", strings.Join(graph.Formats, "|"))
		fs.PrintDefaults()
	}
	dirs, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(dirs) > 1 {
		fs.Usage()
		return fmt.Errorf("frontend graph takes one directory, got %d: %s", len(dirs), strings.Join(dirs, " "))
	}
	if err := graph.CheckFormat(*format); err != nil {
		return err
	}
	name, dir := specPath(*file, dirs)
	data, err := readSpec(name, *file, dir)
	if err != nil {
		return err
	}
	s, err := spec.Load(name, data)
	if err != nil {
		return err
	}
	g, err := graph.Build(s, *target)
	if err != nil {
		return err
	}
	out, err := g.Render(*format)
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, out)
	return err
}
