package frontend

import (
	"context"

	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerui"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/frontend/subrequests/lint"
	"github.com/moby/buildkit/solver/pb"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph"
	"github.com/ohlcv-rag/ohlcv-build/llbgraph/check"
	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// checkConfig is the spec's check: block, or, when the build sets it, the
// BUILDKIT_DOCKERFILE_CHECK build arg (which dockerui has parsed), as the
// Dockerfile frontend lets the build arg override the file's # check=.
func checkConfig(s *spec.Spec, bc *dockerui.Client) check.Config {
	lc := bc.LinterConfig
	if lc == nil {
		return check.SpecConfig(s)
	}
	return fromLinterConfig(lc)
}

func fromLinterConfig(lc *linter.Config) check.Config {
	return check.Config{
		SkipAll:         lc.SkipAll,
		Skip:            lc.SkipRules,
		ExperimentalAll: lc.ExperimentalAll,
		Experimental:    lc.ExperimentalRules,
		Error:           lc.ReturnAsError,
	}
}

// runChecks runs the checks of a build on the spec as the build evaluates
// it, with its args and platform but no image: the main context's
// .dockerignore counts for the rules that look at copies. It returns the
// findings, and the error that keeps the stages target reaches (every
// stage when target is empty) from being evaluated, which a build of them
// fails with; the checks judge the others.
func runChecks(ctx context.Context, s *spec.Spec, bc *dockerui.Client, cfg check.Config, target string) (findings []check.Finding, evalErr, err error) {
	ignore, err := bc.DockerIgnorePatterns(ctx)
	if err != nil {
		return nil, nil, err
	}
	opt := llbgraph.Opt{BuildPlatform: bc.BuildPlatforms[0], BuildArgs: bc.BuildArgs}
	if len(bc.TargetPlatforms) > 0 {
		opt.TargetPlatform = &bc.TargetPlatforms[0]
	}
	m, err := llbgraph.Evaluate(ctx, s, opt)
	if err != nil {
		return nil, err, nil
	}
	return check.Run(m, cfg, check.Input{Ignore: ignore, Target: target}), m.Err(target), nil
}

// warnChecks sends each finding as a build warning, so buildx prints "N
// warnings found" with the spec's lines and each rule's link, and fails the
// build when the configuration makes findings errors.
func warnChecks(ctx context.Context, s *spec.Spec, bc *dockerui.Client, src *dockerui.Source) error {
	cfg := checkConfig(s, bc)
	target, err := llbgraph.TargetName(s, bc.Target)
	if err != nil {
		return err
	}
	// what cannot be evaluated, the compilation reports
	findings, _, err := runChecks(ctx, s, bc, cfg, target)
	if err != nil {
		return err
	}
	for _, f := range findings {
		src.Warn(ctx, linter.LintFormatShort(f.Rule.Name, f.Message, f.Range.Start.Line), gwclient.WarnOpts{
			Level:  1,
			Detail: [][]byte{[]byte(f.Rule.Description)},
			URL:    f.Rule.URL(),
			Range:  []*pb.Range{llbgraph.PBRange(f.Range)},
		})
	}
	return check.Error(s, cfg, findings)
}

// lintResults answers --call=check: every finding of every stage (or of
// the stages the target reaches), with the spec as its source, and, as the
// Dockerfile frontend does, the error a build fails with when a stage
// cannot be evaluated.
func lintResults(ctx context.Context, s *spec.Spec, bc *dockerui.Client, src *dockerui.Source) (*lint.LintResults, error) {
	findings, evalErr, err := runChecks(ctx, s, bc, checkConfig(s, bc), bc.Target)
	if err != nil {
		return nil, err
	}
	res := &lint.LintResults{}
	idx := res.AddSource(src.SourceMap)
	res.Warnings = LintWarnings(findings, idx)
	res.Error = LintError(evalErr, idx)
	return res, nil
}

// LintError is an error about the spec as --call=check reports it, located
// at its first range in the source at sourceIndex of the results; nil for
// no error. `frontend check --format json` prints the same.
func LintError(err error, sourceIndex int) *lint.BuildError {
	if err == nil {
		return nil
	}
	be := &lint.BuildError{Message: err.Error()}
	if errs := spec.Errors(err); len(errs) > 0 && !errs[0].Range.IsZero() {
		be.Location = pb.Location{SourceIndex: int32(sourceIndex), Ranges: []*pb.Range{llbgraph.PBRange(errs[0].Range)}}
	}
	return be
}

// LintWarnings are findings as --call=check reports them, located in the
// source at sourceIndex of the results. `frontend check --format json`
// prints the same.
func LintWarnings(findings []check.Finding, sourceIndex int) []lint.Warning {
	var out []lint.Warning
	for _, f := range findings {
		out = append(out, lint.Warning{
			RuleName:    f.Rule.Name,
			Description: f.Rule.Description,
			URL:         f.Rule.URL(),
			Detail:      f.Message,
			Location:    &pb.Location{SourceIndex: int32(sourceIndex), Ranges: []*pb.Range{llbgraph.PBRange(f.Range)}},
		})
	}
	return out
}
