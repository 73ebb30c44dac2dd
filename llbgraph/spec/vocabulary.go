package spec

import "slices"

// The language's closed vocabularies, for tools built on the spec (the
// JSON Schema generator, editors). Each returns a copy.

// The patterns of names, as regular expressions that Go's regexp and
// JavaScript's RegExp read alike; Load checks names with them.
const (
	// StageNamePattern is a stage's name (stages.NAME).
	StageNamePattern = `^[a-z0-9][a-z0-9._-]*$`
	// ArgNamePattern is an arg's name (args.NAME).
	ArgNamePattern = `^[A-Za-z_][A-Za-z0-9_]*$`
	// OwnerPartPattern is one side of user[:group], unanchored: a number
	// or a name of letters, digits, '_', '.' and '-', with an optional
	// trailing '$'.
	OwnerPartPattern = `[A-Za-z0-9_][A-Za-z0-9_.-]*\$?`
)

// StepKinds returns the step kinds, in the order the docs list them.
func StepKinds() []StepKind { return slices.Clone(stepKinds) }

// NewStep returns an empty step of kind k, or nil for no kind.
func NewStep(k StepKind) Step { return newStep(k) }

// MountKinds returns the mount types.
func MountKinds() []MountKind { return slices.Clone(mountKinds) }

// MountKeys returns the keys a mount of type k takes besides type.
func MountKeys(k MountKind) []string { return slices.Clone(mountKeys[k]) }

// PlatformArgs returns the args a build sets from its platforms.
func PlatformArgs() []string { return slices.Clone(platformArgs) }
