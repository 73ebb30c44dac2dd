// Package spec defines the ohlcv.build.yaml language: its typed model, and
// [Load], which parses a spec with the position of every value kept,
// decodes it strictly into that model and validates it, so that every
// mistake is reported at once with the file, line and column it sits at.
//
// Values are parsed once, here: modes, sizes, durations, ports, signals,
// users and platforms arrive in the compiler as typed fields, each with its
// range in the file. Each value type says in its own file how its YAML
// decodes and what its JSON Schema is ([Value]); the mappings between them
// (a stage, a step, a mount) are read through their yaml tags ([Keys]). A
// [Spec] built in Go, without YAML, is checked by [Validate], which Load
// also runs.
//
// The compiler in the parent package, llbgraph, turns a loaded [Spec] into
// LLB; this package knows nothing about BuildKit.
package spec

import (
	"reflect"

	"go.yaml.in/yaml/v3"
)

// Version is the only spec version this package reads. A spec says it with
// `version: 1` on its first lines.
const Version = 1

// DefaultFilename is the name a spec has in a build context when the user
// names no other file.
const DefaultFilename = "ohlcv.build.yaml"

// Spec is one parsed ohlcv.build.yaml.
type Spec struct {
	// Version is the language version; it must be the number 1.
	Version *Int `yaml:"version"`
	// Args are the build args with their defaults, in file order. A build
	// overrides them with --build-arg NAME=VALUE; ${NAME} reads them, and a
	// default may read the args declared before it.
	Args Args `yaml:"args"`
	// Exclude lists patterns, in .dockerignore syntax, that are left out of
	// the main build context on top of the context's own .dockerignore.
	Exclude Strings `yaml:"exclude"`
	// Default names the stage built when the build names no target. When it
	// is empty, the last stage of the file is the default.
	Default String `yaml:"default"`
	// Stages are the build stages in file order. Every stage is a target.
	Stages Stages `yaml:"stages"`
	// Check configures the build checks (docs/checks.md): which rules to
	// skip, which experimental ones to run, and whether findings fail the
	// build. The BUILDKIT_DOCKERFILE_CHECK build arg overrides it.
	Check *CheckConfig `yaml:"check"`

	// Filename is the name the spec was loaded under, used in every error.
	Filename string `yaml:"-"`
	// Source is the spec's text, kept for source maps and error snippets.
	Source []byte `yaml:"-"`
	// Node is where the document sits in the file.
	Node Node `yaml:"-"`
}

// Stage is one named build stage: a base, steps run on it, and the image
// configuration it hands to the stages and the image built from it.
type Stage struct {
	// Name is the stage's key under `stages:`; a target names it.
	Name string `yaml:"-"`
	// NameRange is where the key is.
	NameRange Range `yaml:"-"`
	// Description is a one-line summary shown by --call=targets.
	Description String `yaml:"description,empty"`
	// From is the base: an image reference, the name of another stage, or
	// `scratch`. A named build context of the same name replaces either.
	From String `yaml:"from"`
	// Platform pins the stage's platform (for example ${BUILDPLATFORM});
	// otherwise the stage builds for the target platform.
	Platform Platform `yaml:"platform"`
	// Args declares args in the stage's scope, as ARG inside a Dockerfile
	// stage: ${NAME} in the stage's values reads them, and every run-like
	// step of the stage gets them all as environment. A build arg of the
	// same name sets one; an arg with no default takes the top-level arg's
	// value.
	Args Args `yaml:"args"`
	// Env sets environment variables, in order, for the steps and the image.
	Env Vars `yaml:"env"`
	// Workdir sets the working directory, creating it, before the steps.
	Workdir String `yaml:"workdir"`
	// User sets the user (user[:group]) the steps run as and the image's
	// user.
	User Owner `yaml:"user"`
	// Shell is the shell the string commands of the steps and the image run
	// with, instead of /bin/sh -c, as SHELL sets it; stages built on this
	// one inherit it.
	Shell *ShellArgs `yaml:"shell"`
	// Steps are run in order on the base.
	Steps Steps `yaml:"steps"`
	// Image sets image configuration, inherited by stages built on this one.
	Image *Image `yaml:"image"`
	// Tests are assertions on the stage's finished filesystem and image,
	// run when it is built as the target (docs/spec.md, "Tests"). They do
	// not change the image.
	Tests Tests `yaml:"tests"`

	// Node is where the stage's mapping sits in the file.
	Node Node `yaml:"-"`
}

// Stages is the ordered `stages:` mapping.
type Stages []*Stage

// Get returns the stage called name, or nil. It scans the list; the
// compiler indexes the stages once instead.
func (s Stages) Get(name string) *Stage {
	for _, st := range s {
		if st.Name == name {
			return st
		}
	}
	return nil
}

// Names returns the stage names in file order.
func (s Stages) Names() []string {
	names := make([]string, len(s))
	for i, st := range s {
		names[i] = st.Name
	}
	return names
}

// ValueSchema returns a mapping of stage names to stages.
func (Stages) ValueSchema() *ValueSchema {
	return &ValueSchema{
		Types:                []string{"object"},
		MinProperties:        1,
		PropertyNames:        &ValueSchema{Pattern: StageNamePattern, Not: &ValueSchema{Const: "scratch"}},
		AdditionalProperties: &ValueSchema{Ref: "Stage"},
	}
}

// decodeYAML decodes the stages mapping, keeping each stage's key
// position.
func (s *Stages) decodeYAML(d *decoder, l loc, n *yaml.Node, depth int) {
	entries, ok := d.mapping(l, n, depth)
	if !ok {
		*s = nil
		return
	}
	if len(entries) == 0 {
		d.errorf(l, n, noStages) // here, where the mapping is; validation would say it at the top
		return
	}
	out := make(Stages, 0, len(entries))
	for _, e := range entries {
		st := &Stage{Name: e.key, NameRange: nodeRange(e.keyN)}
		sl := loc{up: l.up, key: joinKey(l, keySegment(e.key)), idx: -1}
		sl.link(&st.Node)
		st.Node.Range = st.NameRange
		if v := d.visit(sl, e.value); v != nil && !isNull(v) {
			d.decodeStruct(sl, v, reflect.ValueOf(st).Elem(), depth+1)
			if st.Node.Range.IsZero() || v.Kind != yaml.MappingNode {
				st.Node.Range = st.NameRange
			}
		}
		out = append(out, st)
	}
	*s = out
}

// Image is the image configuration a stage sets. A stage starts from its
// base's configuration and changes only what it names.
type Image struct {
	// Entrypoint is the image's entrypoint: a list (exec form) or a string
	// (run with the shell). An empty list clears it.
	Entrypoint *Command `yaml:"entrypoint"`
	// Cmd is the image's default arguments, in the same forms. An empty
	// list clears it.
	Cmd *Command `yaml:"cmd"`
	// Expose lists ports and port ranges: port[-port][/tcp|/udp|/sctp].
	Expose Ports `yaml:"expose"`
	// Labels are added to the image's labels.
	Labels Vars `yaml:"labels"`
	// Volumes are declared as volumes of the image.
	Volumes Strings `yaml:"volumes"`
	// Healthcheck sets the image's health check.
	Healthcheck *Healthcheck `yaml:"healthcheck"`
	// Stopsignal is the signal that stops a container of the image.
	Stopsignal *Signal `yaml:"stopsignal"`

	// Node is where the image block sits in the file.
	Node Node `yaml:"-"`
}

// Healthcheck is a container health check, as the Dockerfile's HEALTHCHECK.
type Healthcheck struct {
	// Test is the check: [CMD, arg...], [CMD-SHELL, script], [NONE] to turn
	// off an inherited check, or a string run with the shell.
	Test HealthTest `yaml:"test"`
	// Interval between checks, a Go duration (30s).
	Interval *Duration `yaml:"interval"`
	// Timeout of one check.
	Timeout *Duration `yaml:"timeout"`
	// StartPeriod during which failures do not count.
	StartPeriod *Duration `yaml:"start_period"`
	// StartInterval between checks during the start period.
	StartInterval *Duration `yaml:"start_interval"`
	// Retries is how many failures in a row make the container unhealthy.
	Retries *Int `yaml:"retries"`

	// Node is where the health check sits in the file.
	Node Node `yaml:"-"`
}

// CheckConfig configures the build checks. Rule names are checked against
// the rules by the llbgraph/check package, which defines them.
type CheckConfig struct {
	// Skip lists rules that do not run; "all" skips every rule.
	Skip Strings `yaml:"skip"`
	// Error makes a build fail when a check finds anything.
	Error Bool `yaml:"error"`
	// Experimental lists experimental rules to run; "all" runs every one.
	Experimental Strings `yaml:"experimental"`

	// Node is where the check block sits in the file.
	Node Node `yaml:"-"`
}
