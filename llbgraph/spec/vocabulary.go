package spec

import "slices"

// The language's closed vocabularies, for tools built on the spec (the
// JSON Schema generator, editors). Each returns a copy.

// StepKinds returns the step kinds, in the order the docs list them.
func StepKinds() []StepKind { return slices.Clone(stepKinds) }

// NewStep returns an empty step of kind k, or nil for no kind.
func NewStep(k StepKind) Step { return newStep(k) }

// MountKinds returns the mount types.
func MountKinds() []MountKind { return slices.Clone(mountKinds) }

// MountKeys returns the keys a mount of type k takes besides type.
func MountKeys(k MountKind) []string { return slices.Clone(mountKeys[k]) }

// SharingModes returns the sharing modes of a cache mount.
func SharingModes() []SharingMode { return slices.Clone(sharingModes) }

// NetworkModes returns the networks a run-like step may ask for.
func NetworkModes() []NetworkMode { return slices.Clone(networkModes) }

// PlatformArgs returns the args a build sets from its platforms.
func PlatformArgs() []string { return slices.Clone(platformArgs) }
