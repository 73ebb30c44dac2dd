//go:build !gatewayonly

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ohlcv-rag/ohlcv-build/convert"
	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// runConvert is `frontend convert [-f Dockerfile] [--target T] [-o FILE]
// [DIR]` (docs/convert.md): it writes the spec that builds what the
// Dockerfile builds. -f and -o are read against DIR (default .); -o
// defaults to DIR/ohlcv.build.yaml, which it does not overwrite unless
// named, and "-o -" writes to stdout. On any problem it writes nothing.
func runConvert(stdout, stderr io.Writer, args []string) error {
	fs := flag.NewFlagSet("frontend convert", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "Dockerfile", "the Dockerfile, in DIR")
	target := fs.String("target", "", "convert only the stages this stage reaches (default: every stage)")
	out := fs.String("o", "", "the spec to write, in DIR, or - for stdout (default: DIR/"+spec.DefaultFilename+", never overwritten)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: frontend convert [-f Dockerfile] [--target T] [-o FILE] [DIR]\n\nWrites the ohlcv.build.yaml that builds the same images as a Dockerfile (docs/convert.md).\n\n")
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
		return fmt.Errorf("frontend convert takes one directory, got %d: %s", len(dirs), strings.Join(dirs, " "))
	}
	dir := "."
	if len(dirs) == 1 {
		dir = dirs[0]
	}
	in := inDir(dir, *file)
	dt, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	res, err := convert.Convert(dt, convert.Options{Filename: in, Target: *target})
	if err != nil {
		return err
	}
	if *out == "-" {
		_, err := stdout.Write(res.Spec)
		return err
	}
	dest := inDir(dir, *out)
	if *out == "" {
		dest = filepath.Join(dir, spec.DefaultFilename)
		if _, err := os.Lstat(dest); err == nil {
			return fmt.Errorf("%s exists: name the output with -o (- for stdout) to replace it", dest)
		}
	}
	if err := writeAtomic(dest, res.Spec); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %s: %d stages from %s; build it with: docker buildx build -f %s %s\n", dest, len(res.Stages), in, dest, dir)
	return nil
}

// inDir is name read against dir, unless it is absolute.
func inDir(dir, name string) string {
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(dir, name)
}

// writeAtomic writes data to a file beside path and renames it there, so
// a reader never sees half a spec.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".convert-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
