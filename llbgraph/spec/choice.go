package spec

import (
	"fmt"
	"slices"

	"go.yaml.in/yaml/v3"
)

// Choice is a word of a closed vocabulary (a mount type, a sharing mode, a
// network) and where it is written. The vocabulary is its type parameter,
// which names its words: one decoder, check and schema serve every
// vocabulary.
type Choice[W word[W]] struct {
	// Value is the word; empty when it is not given.
	Value W
	// Range is where the value is.
	Range Range
}

// word is the type of a vocabulary's words.
type word[W any] interface {
	~string
	// vocabulary returns what a word is called in messages, and every
	// word, in the order messages list them.
	vocabulary() (what string, all []W)
}

// check reports a word that is not in the vocabulary, suggesting the word
// it may mean.
func (c *Choice[W]) check() error {
	what, all := c.Value.vocabulary()
	if slices.Contains(all, c.Value) {
		return nil
	}
	words := make([]string, len(all))
	for i, w := range all {
		words[i] = string(w)
	}
	return fmt.Errorf("unknown %s %s%s: want %s", what, Quote(string(c.Value)), DidYouMean(string(c.Value), words), oneOf(all))
}

// ValueSchema returns a string, one of the words.
func (Choice[W]) ValueSchema() *ValueSchema {
	_, all := W("").vocabulary()
	words := make([]string, len(all))
	for i, w := range all {
		words[i] = string(w)
	}
	return &ValueSchema{Types: []string{"string"}, Enum: words}
}

func (c *Choice[W]) decodeYAML(d *decoder, l loc, n *yaml.Node, _ int) {
	d.parse(l, n, "a string", func(text string, r Range) error {
		*c = Choice[W]{Value: W(text), Range: r}
		return c.check()
	})
}

// MountKind is a mount's type.
type MountKind string

// The mount types, as RUN --mount names them.
const (
	MountCache  MountKind = "cache"
	MountSecret MountKind = "secret"
	MountSSH    MountKind = "ssh"
	MountTmpfs  MountKind = "tmpfs"
	MountBind   MountKind = "bind"
)

var mountKinds = []MountKind{MountCache, MountSecret, MountSSH, MountTmpfs, MountBind}

func (MountKind) vocabulary() (string, []MountKind) { return "mount type", mountKinds }

// MountType is a mount's type and where it is written.
type MountType = Choice[MountKind]

// SharingMode is how concurrent builds share a cache mount.
type SharingMode string

// The sharing modes of a cache mount.
const (
	SharingShared  SharingMode = "shared"
	SharingPrivate SharingMode = "private"
	SharingLocked  SharingMode = "locked"
)

var sharingModes = []SharingMode{SharingShared, SharingPrivate, SharingLocked}

func (SharingMode) vocabulary() (string, []SharingMode) { return "sharing", sharingModes }

// Sharing is a cache mount's sharing mode and where it is written; empty
// means shared.
type Sharing = Choice[SharingMode]

// NetworkMode is the network a run-like step sees.
type NetworkMode string

// The networks a run-like step may ask for.
const (
	NetworkDefault NetworkMode = "default"
	NetworkNone    NetworkMode = "none"
	NetworkHost    NetworkMode = "host"
)

var networkModes = []NetworkMode{NetworkDefault, NetworkNone, NetworkHost}

func (NetworkMode) vocabulary() (string, []NetworkMode) { return "network", networkModes }

// Network is a step's network and where it is written; empty means the
// default.
type Network = Choice[NetworkMode]

// SecurityMode is the sandbox a run-like step runs in.
type SecurityMode string

// The security modes, as RUN --security names them.
const (
	SecuritySandbox  SecurityMode = "sandbox"
	SecurityInsecure SecurityMode = "insecure"
)

var securityModes = []SecurityMode{SecuritySandbox, SecurityInsecure}

func (SecurityMode) vocabulary() (string, []SecurityMode) { return "security mode", securityModes }

// Security is a step's security mode and where it is written; empty means
// sandbox.
type Security = Choice[SecurityMode]
