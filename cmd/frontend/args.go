package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// parseInterspersed parses flags that may come before or after the
// positional arguments, which it returns. After -h, which prints the
// usage, it returns flag.ErrHelp.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// specPath returns the spec file and context directory of a subcommand
// that takes [-f FILE] [DIR]: DIR defaults to ., FILE to
// ohlcv.build.yaml. A relative FILE is read in DIR, as docker build reads
// -f in the context; an absolute one is read where it is. dirs holds at
// most one directory.
func specPath(file string, dirs []string) (name, dir string) {
	dir = "."
	if len(dirs) == 1 {
		dir = dirs[0]
	}
	if file == "" {
		file = spec.DefaultFilename
	}
	if !filepath.IsAbs(file) {
		file = filepath.Join(dir, file)
	}
	return file, dir
}

// readSpec reads the spec specPath named for -f file. When it is missing
// but file names a spec from the current directory, the error says that
// -f is read in DIR.
func readSpec(name, file, dir string) ([]byte, error) {
	dt, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) && file != "" && !filepath.IsAbs(file) && filepath.Clean(dir) != "." {
		if _, serr := os.Stat(file); serr == nil {
			return nil, fmt.Errorf("%w (-f is read in DIR, %s; for ./%s, pass -f %s)", err, dir, filepath.Clean(file), suggestedFile(file, dir))
		}
	}
	return dt, err
}

// suggestedFile is -f for file, a path from the current directory, given
// DIR: relative to DIR when it is inside it, else absolute.
func suggestedFile(file, dir string) string {
	if rel, err := filepath.Rel(dir, file); err == nil && filepath.IsLocal(rel) {
		return rel
	}
	if abs, err := filepath.Abs(file); err == nil {
		return abs
	}
	return file
}
