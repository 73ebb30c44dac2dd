package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version and commit are set at link time (-X main.version=... -X
// main.commit=...) by Dockerfile.frontend; `make release` passes the
// release's vX.Y.Z and git commit.
var (
	version = "dev"
	commit  = ""
)

// printVersion writes what `frontend -version` shows, one line with the
// version, the git commit and the Go toolchain:
//
//	ohlcv-build frontend v0.1.0 (commit 9f18f81..., go1.26.8)
//
// Without a link-time commit it falls back to the VCS stamp that `go build`
// records in a git checkout; without a link-time version, to the module
// version that `go install ...@v1.2.3` records.
func printVersion(w io.Writer) {
	ver, rev, goVersion := version, commit, runtime.Version()
	if info, ok := debug.ReadBuildInfo(); ok {
		goVersion = info.GoVersion
		if v := info.Main.Version; ver == "dev" && v != "" && v != "(devel)" {
			ver = v
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && rev == "" {
				rev = s.Value
			}
		}
	}
	if rev == "" {
		rev = "unknown"
	}
	fmt.Fprintf(w, "ohlcv-build frontend %s (commit %s, %s)\n", ver, rev, goVersion)
}
