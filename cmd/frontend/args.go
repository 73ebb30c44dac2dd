package main

import (
	"flag"
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
// DIR/ohlcv.build.yaml. dirs holds at most one directory.
func specPath(file string, dirs []string) (name, dir string) {
	dir = "."
	if len(dirs) == 1 {
		dir = dirs[0]
	}
	if file == "" {
		file = filepath.Join(dir, spec.DefaultFilename)
	}
	return file, dir
}
