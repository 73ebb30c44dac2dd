package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/containerd/platforms"

	"github.com/moby/buildkit/frontend/subrequests/lint"
	"github.com/moby/buildkit/solver/pb"
	"github.com/moby/patternmatcher/ignorefile"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ohlcv-rag/ohlcv-build/frontend"
	"github.com/ohlcv-rag/ohlcv-build/llbgraph"
	"github.com/ohlcv-rag/ohlcv-build/llbgraph/check"
	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// Exit codes of `frontend check`.
const (
	checkClean    = 0 // no findings
	checkFindings = 1 // findings
	checkBadSpec  = 2 // the spec did not load, a stage checked does not evaluate, or bad usage
)

// runCheck is `frontend check [-f FILE] [--format text|json|sarif]
// [--target T] [DIR]`: the build checks with no daemon, for pre-commit
// hooks and CI. DIR is the build context (default .), whose .dockerignore
// counts; FILE is read in DIR (an absolute FILE where it is) and defaults
// to ohlcv.build.yaml. It prints the findings and returns 1 when there are
// any, or the load errors (or the error of a stage that does not evaluate,
// as a build would fail with it) and 2.
func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("frontend check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "", "the spec, read in DIR unless absolute (default: "+spec.DefaultFilename+")")
	format := fs.String("format", "text", "output format: text, json or sarif")
	target := fs.String("target", "", "check only the stages this target reaches")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: frontend check [-f FILE] [--format text|json|sarif] [--target T] [DIR]")
		fs.PrintDefaults()
	}
	// Flags may come after the directory, as with docker build.
	dirs, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return checkClean
	}
	if err != nil {
		return checkBadSpec
	}
	if len(dirs) > 1 {
		fs.Usage()
		return checkBadSpec
	}
	if *format != "text" && *format != "json" && *format != "sarif" {
		fmt.Fprintf(stderr, "unknown format %q: want text, json or sarif\n", *format)
		return checkBadSpec
	}
	name, dir := specPath(*file, dirs)

	data, findings, err := checkFile(name, *file, dir, *target)
	out, ferr := formatCheck(*format, name, data, findings, err)
	if ferr != nil {
		fmt.Fprintln(stderr, "error:", ferr)
		return checkBadSpec
	}
	if *format == "text" && err != nil {
		stdout = stderr
	}
	if _, werr := stdout.Write(out); werr != nil {
		return checkBadSpec
	}
	switch {
	case err != nil:
		return checkBadSpec
	case len(findings) > 0:
		return checkFindings
	}
	return checkClean
}

// checkFile loads the spec (name, for -f file), evaluates it as a build for
// this machine's architecture would with the args' defaults, and runs the
// checks its configuration enables, with the context's .dockerignore. It
// returns the spec's bytes as read, for the JSON output's source, also when
// they fail to load. When a stage (of the target) cannot be evaluated, it
// returns the findings about the others and the error a build fails with.
func checkFile(name, file, dir, target string) ([]byte, []check.Finding, error) {
	dt, err := readSpec(name, file, dir)
	if err != nil {
		return nil, nil, err
	}
	s, err := spec.Load(name, dt)
	if err != nil {
		return dt, nil, err
	}
	if err := check.ValidateConfig(s); err != nil {
		return dt, nil, err
	}
	if target != "" {
		if _, err := llbgraph.TargetName(s, target); err != nil {
			return dt, nil, err
		}
	}
	ignore, err := readIgnore(filepath.Join(dir, ".dockerignore"))
	if err != nil {
		return dt, nil, err
	}
	m, err := llbgraph.Evaluate(context.Background(), s, llbgraph.Opt{BuildPlatform: checkPlatform()})
	if err != nil {
		return dt, nil, err
	}
	return dt, check.Run(m, check.SpecConfig(s), check.Input{Ignore: ignore, Target: target}), m.Err(target)
}

// checkPlatform is the platform `frontend check` evaluates for, with no
// builder to ask: Linux on this machine's architecture, what a build here
// would build for.
func checkPlatform() ocispecs.Platform {
	return platforms.Normalize(ocispecs.Platform{OS: "linux", Architecture: runtime.GOARCH})
}

// readIgnore reads a .dockerignore; a missing one is empty.
func readIgnore(path string) ([]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ignorefile.ReadAll(f)
}

// formatCheck renders findings and the load or evaluation error in format;
// text shows only the error when there is one.
func formatCheck(format, file string, data []byte, findings []check.Finding, loadErr error) ([]byte, error) {
	switch format {
	case "sarif":
		out, err := check.SARIF(file, findings, loadErr, version)
		return append(out, '\n'), err
	case "json":
		out, err := json.MarshalIndent(lintResults(file, data, findings, loadErr), "", "  ")
		return append(out, '\n'), err
	}
	var b strings.Builder
	if loadErr != nil {
		fmt.Fprintln(&b, loadErr)
		return []byte(b.String()), nil
	}
	for _, f := range findings {
		fmt.Fprintf(&b, "%s:%d:%d: %s: %s (%s)\n", spec.Escape(file), f.Range.Start.Line, f.Range.Start.Column, f.Rule.Name, f.Message, f.Rule.URL())
	}
	if len(findings) > 0 {
		fmt.Fprintf(&b, "%s in %s\n", spec.Count(len(findings), "finding"), spec.Escape(file))
	}
	return []byte(b.String()), nil
}

// lintResults is the JSON `docker buildx build --call=check,format=json`
// prints, so tools that read one read the other.
func lintResults(file string, data []byte, findings []check.Finding, loadErr error) *lint.LintResults {
	if len(data) > spec.MaxSize {
		data = nil
	}
	res := &lint.LintResults{Warnings: []lint.Warning{}}
	res.Sources = []*pb.SourceInfo{{Filename: file, Language: llbgraph.Language, Data: data}}
	const idx = 0
	res.Warnings = append(res.Warnings, frontend.LintWarnings(findings, idx)...)
	res.Error = frontend.LintError(loadErr, idx)
	return res
}
