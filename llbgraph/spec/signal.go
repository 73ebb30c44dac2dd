package spec

import (
	"fmt"

	"github.com/moby/sys/signal"
	"go.yaml.in/yaml/v3"
)

// Signal is a signal name or number (SIGTERM, TERM, 15, SIGRTMIN+3), as
// STOPSIGNAL takes.
type Signal struct {
	// Raw is the text as written, which the image config keeps.
	Raw string
	// Range is where the value is.
	Range Range
}

// IsTemplate reports whether the value must be expanded, then parsed.
func (s *Signal) IsTemplate() bool { return NeedsExpansion(s.Raw) }

// ParseSignal checks a signal name or number.
func ParseSignal(s string) error {
	if _, err := signal.ParseSignal(s); err != nil {
		return fmt.Errorf("%s is not a signal: want a name such as SIGTERM or a number", Quote(s))
	}
	return nil
}

func (s *Signal) check() error {
	if s.IsTemplate() {
		return nil
	}
	return ParseSignal(s.Raw)
}

// ValueSchema returns a scalar: a signal's name or number, or a template.
func (Signal) ValueSchema() *ValueSchema { return scalarSchema() }

func (s *Signal) decodeYAML(d *decoder, l loc, n *yaml.Node, _ int) {
	d.parse(l, n, "a string", func(text string, r Range) (err error) {
		if !NeedsExpansion(text) {
			err = ParseSignal(text)
		}
		*s = Signal{Raw: text, Range: r}
		return err
	})
}
