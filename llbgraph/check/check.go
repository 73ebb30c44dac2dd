// Package check holds the build checks: rules that tell a user when a spec
// breaks the Docker optimization strategy the language exists to carry (a
// runtime image left as root, apt without cache mounts, sources copied
// before the dependency install, ...), and the language's own rules. Each
// rule is defined once, here, and serves every place checks run: `docker
// buildx build --call=check`, the warnings of every build, `check: {error:
// true}`, and `frontend check` with no daemon. docs/checks.md explains each
// rule with an example.
//
// The checks read the spec as [llbgraph.Evaluate] evaluates it, the pass
// the compiler builds the LLB from, so a check judges the stage a build
// makes: ${NAME} is expanded where and as the compiler expands it, and
// each step's user and working directory are the compiler's. They look up
// no image: what a base image sets (its user, its health check, its env)
// is unknown to them, and the model says so. A stage that cannot be
// evaluated (an undeclared ${NAME}, say), and every stage that needs it,
// is not judged; the error is the build's, and the callers report it
// ([llbgraph.Model.Err]).
package check

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph"
	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// DocsURL is where the rules are documented; each rule's URL is this page
// with the rule's anchor.
const DocsURL = "https://github.com/ohlcv-rag/ohlcv-build/blob/main/docs/checks.md"

// Rule is one check.
type Rule struct {
	// Name names the rule in findings, in `check: {skip: [...]}` and in
	// BUILDKIT_DOCKERFILE_CHECK.
	Name string
	// Description says in one line what the rule looks for.
	Description string
	// Experimental rules run only when asked for by name or with "all".
	Experimental bool

	run func(*run)
}

// URL returns the rule's section of docs/checks.md.
func (r *Rule) URL() string {
	return DocsURL + "#" + strings.ToLower(r.Name)
}

// Finding is one place a rule found.
type Finding struct {
	// Rule is the rule that found it.
	Rule *Rule
	// Message says what is wrong here and how to fix it.
	Message string
	// Path is the YAML path of the offending key.
	Path string
	// Range is where the offending key's value is.
	Range spec.Range
}

// Config selects the rules that run and what findings do.
type Config struct {
	// SkipAll skips every rule.
	SkipAll bool
	// Skip lists rules that do not run.
	Skip []string
	// ExperimentalAll runs every experimental rule.
	ExperimentalAll bool
	// Experimental lists experimental rules to run.
	Experimental []string
	// Error makes findings fail a build.
	Error bool
}

// SpecConfig returns the configuration the spec's check: block sets.
func SpecConfig(s *spec.Spec) Config {
	var c Config
	if s.Check == nil {
		return c
	}
	for _, n := range s.Check.Skip {
		if n.Value == "all" {
			c.SkipAll = true
		} else {
			c.Skip = append(c.Skip, n.Value)
		}
	}
	for _, n := range s.Check.Experimental {
		if n.Value == "all" {
			c.ExperimentalAll = true
		} else {
			c.Experimental = append(c.Experimental, n.Value)
		}
	}
	c.Error = s.Check.Error.Value
	return c
}

// enabled reports whether rule r runs under c.
func (c Config) enabled(r *Rule) bool {
	if r.Experimental {
		return c.ExperimentalAll || slices.Contains(c.Experimental, r.Name)
	}
	return !c.SkipAll && !slices.Contains(c.Skip, r.Name)
}

// Input is what the checks know beside the spec.
type Input struct {
	// Ignore holds the main context's .dockerignore patterns.
	Ignore []string
	// Target limits the findings about stages to the stages the target
	// reaches; empty means every stage.
	Target string
}

// Rules returns every rule, in the order docs/checks.md lists them.
func Rules() []*Rule { return rules }

// ruleNames returns the names of the rules.
func ruleNames() []string {
	names := make([]string, len(rules))
	for i, r := range rules {
		names[i] = r.Name
	}
	return names
}

// ValidateConfig checks the rule names of the spec's check: block, as part
// of loading the spec: an unknown name is an error with "did you mean".
func ValidateConfig(s *spec.Spec) error {
	if s.Check == nil {
		return nil
	}
	var errs []error
	names := append(ruleNames(), "all")
	for _, list := range []struct {
		key   string
		names []spec.String
	}{{"skip", s.Check.Skip}, {"experimental", s.Check.Experimental}} {
		for i, n := range list.names {
			if !slices.Contains(names, n.Value) {
				errs = append(errs, spec.Errorf(s.Filename, fmt.Sprintf("%s[%d]", s.Check.Node.Field(list.key), i), n.Range.Or(s.Check.Node.Range),
					"unknown check %s%s: see %s for the rules, or use all", spec.Quote(n.Value), spec.DidYouMean(n.Value, names), DocsURL))
			}
		}
	}
	return joinErrors(errs)
}

// joinErrors is errors.Join, except that a single error comes back as
// itself, a *spec.Error that callers can read as one.
func joinErrors(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return errors.Join(errs...)
}

// Run runs the rules c enables on the model of a spec that
// [llbgraph.Evaluate] made, and returns their findings in file order.
func Run(m *llbgraph.Model, c Config, in Input) []Finding {
	r := newRun(m, in)
	for _, rule := range rules {
		if c.enabled(rule) {
			r.rule = rule
			rule.run(r)
		}
	}
	slices.SortStableFunc(r.findings, func(a, b Finding) int {
		if a.Range.Start.Line != b.Range.Start.Line {
			return cmp.Compare(a.Range.Start.Line, b.Range.Start.Line)
		}
		if a.Range.Start.Column != b.Range.Start.Column {
			return cmp.Compare(a.Range.Start.Column, b.Range.Start.Column)
		}
		return cmp.Compare(a.Rule.Name, b.Rule.Name)
	})
	return r.findings
}

// Error returns the error a build fails with when c says findings are
// errors: it names the rules and points at the first finding.
func Error(s *spec.Spec, c Config, findings []Finding) error {
	if !c.Error || len(findings) == 0 {
		return nil
	}
	var names []string
	for _, f := range findings {
		if !slices.Contains(names, f.Rule.Name) {
			names = append(names, f.Rule.Name)
		}
	}
	f := findings[0]
	return spec.Errorf(s.Filename, f.Path, f.Range, "%s (%s), and check: {error: true} makes them errors; the first: %s", spec.Count(len(findings), "check finding"), strings.Join(names, ", "), f.Message)
}
