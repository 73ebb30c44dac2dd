package spec

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	mode "github.com/tonistiigi/dchapes-mode"
	"go.yaml.in/yaml/v3"
)

// Mode is an octal permission, such as a mount's mode: 0755.
type Mode struct {
	// Value is the permission.
	Value os.FileMode
	// Range is where the value is.
	Range Range
}

// ParseMode parses an octal permission such as 0755.
func ParseMode(s string) (os.FileMode, error) {
	p, err := strconv.ParseUint(s, 8, 32)
	if err != nil || p > 0o7777 {
		return 0, fmt.Errorf("invalid mode %s: want an octal number up to 07777, such as 0755", Quote(s))
	}
	return os.FileMode(p), nil
}

func (m *Mode) check() error {
	if m.Value > 0o7777 {
		return fmt.Errorf("invalid mode %#o: want an octal number up to 07777", uint32(m.Value))
	}
	return nil
}

// ValueSchema returns an octal mode. 0755 is read as octal; a YAML parser
// may make it the number 493 (YAML 1.1) or 755 (YAML 1.2).
func (Mode) ValueSchema() *ValueSchema {
	return &ValueSchema{AnyOf: []*ValueSchema{
		{Types: []string{"integer"}, Minimum: "0", Maximum: "7777"},
		{Types: []string{"string"}, Pattern: `^0*[0-7]{1,4}$`},
	}}
}

func (m *Mode) decodeYAML(d *decoder, l loc, n *yaml.Node, _ int) {
	d.parse(l, n, "an octal mode such as 0755", func(text string, r Range) (err error) {
		*m = Mode{Range: r}
		m.Value, err = ParseMode(text)
		return err
	})
}

// Chmod is a copy's chmod: an octal mode (0755) or a symbolic one
// (u=rwX,go=rX), as COPY --chmod takes.
type Chmod struct {
	// Raw is the text as written.
	Raw string
	// Mode is an octal mode, when Symbolic is empty.
	Mode os.FileMode
	// Symbolic is a symbolic mode, applied by BuildKit per file.
	Symbolic string
	// Range is where the value is.
	Range Range
}

// IsTemplate reports whether the value must be expanded, then parsed.
func (c *Chmod) IsTemplate() bool { return NeedsExpansion(c.Raw) }

// ParseChmod parses a copy's chmod.
func ParseChmod(s string) (Chmod, error) {
	if p, err := strconv.ParseUint(s, 8, 32); err == nil {
		if p > 0o7777 {
			return Chmod{}, fmt.Errorf("invalid chmod %s: an octal mode goes up to 07777", Quote(s))
		}
		return Chmod{Raw: s, Mode: os.FileMode(p)}, nil
	}
	if _, err := mode.Parse(s); err != nil || s == "" || strings.Trim(s, "0123456789") == "" {
		return Chmod{}, fmt.Errorf("invalid chmod %s: want an octal mode (0755) or a symbolic one (u=rwX,go=rX)", Quote(s))
	}
	return Chmod{Raw: s, Symbolic: s}, nil
}

func (c *Chmod) check() error {
	if c.IsTemplate() {
		return nil
	}
	if c.Symbolic != "" {
		_, err := ParseChmod(c.Symbolic)
		return err
	}
	if c.Mode > 0o7777 {
		return fmt.Errorf("invalid chmod %#o: an octal mode goes up to 07777", uint32(c.Mode))
	}
	return nil
}

// String returns the chmod as COPY --chmod would say it.
func (c *Chmod) String() string {
	switch {
	case c.Raw != "":
		return c.Raw
	case c.Symbolic != "":
		return c.Symbolic
	}
	return fmt.Sprintf("%04o", uint32(c.Mode))
}

// ValueSchema returns a scalar: an octal or symbolic mode, or a template.
func (Chmod) ValueSchema() *ValueSchema { return scalarSchema() }

func (c *Chmod) decodeYAML(d *decoder, l loc, n *yaml.Node, _ int) {
	d.parse(l, n, "a string", func(text string, r Range) (err error) {
		*c = Chmod{Raw: text}
		if !NeedsExpansion(text) {
			*c, err = ParseChmod(text)
		}
		c.Range = r
		return err
	})
}
