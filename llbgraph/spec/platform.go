package spec

import (
	"fmt"

	"github.com/containerd/platforms"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"go.yaml.in/yaml/v3"
)

// Platform is a platform such as linux/arm64, or ${BUILDPLATFORM}.
type Platform struct {
	// Raw is the text as written.
	Raw string
	// Value is the parsed, normalized platform, when Raw is not a template.
	Value ocispecs.Platform
	// Range is where the value is.
	Range Range
}

// IsSet reports whether a platform is given.
func (p *Platform) IsSet() bool { return p.Raw != "" || p.Value.OS != "" }

// IsTemplate reports whether the value must be expanded, then parsed.
func (p *Platform) IsTemplate() bool { return NeedsExpansion(p.Raw) }

// ParsePlatform parses and normalizes a platform, os/arch[/variant].
func ParsePlatform(s string) (ocispecs.Platform, error) {
	p, err := platforms.Parse(s)
	if err != nil {
		return ocispecs.Platform{}, fmt.Errorf("invalid platform %s: want os/arch[/variant], such as linux/arm64", Quote(s))
	}
	return platforms.Normalize(p), nil
}

// ValueSchema returns a string that is not empty: containerd's platforms
// read more forms than a pattern could say.
func (Platform) ValueSchema() *ValueSchema {
	return &ValueSchema{Types: []string{"string"}, MinLength: 1}
}

func (p *Platform) decodeYAML(d *decoder, l loc, n *yaml.Node, _ int) {
	d.parse(l, n, "a string", func(text string, r Range) (err error) {
		*p = Platform{Raw: text, Range: r}
		if !NeedsExpansion(text) {
			p.Value, err = ParsePlatform(text)
		}
		return err
	})
}
