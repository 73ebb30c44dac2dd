package spec

import (
	"fmt"
	"time"

	"github.com/docker/go-units"
	"go.yaml.in/yaml/v3"
)

// Size is a size in bytes, written as bytes or with a unit (64m, 1g).
type Size struct {
	// Value is the size in bytes.
	Value int64
	// Range is where the value is.
	Range Range
}

// ParseSize parses a size: bytes, or a number with a unit (64m, 1g).
func ParseSize(s string) (int64, error) {
	n, err := units.RAMInBytes(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid size %s: want bytes or a number with a unit, such as 64m", Quote(s))
	}
	return n, nil
}

// ValueSchema returns a number of bytes, or a number with a unit.
func (Size) ValueSchema() *ValueSchema {
	return &ValueSchema{AnyOf: []*ValueSchema{
		{Types: []string{"number"}, Minimum: "0"},
		{Types: []string{"string"}, Pattern: `^[0-9]+(?:\.[0-9]+)* ?[kKmMgGtTpP]?[iI]?[bB]?$`},
	}}
}

func (s *Size) decodeYAML(d *decoder, l loc, n *yaml.Node, _ int) {
	d.parse(l, n, "a string", func(text string, r Range) (err error) {
		*s = Size{Range: r}
		s.Value, err = ParseSize(text)
		return err
	})
}

// Duration is a health check duration: a Go duration such as 30s or 1m30s.
type Duration struct {
	// Value is the duration.
	Value time.Duration
	// Range is where the value is.
	Range Range
}

// ParseDuration parses a health check duration. As in Docker, 0 means
// "the default" and anything else must be at least a millisecond.
func ParseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %s: want a number with a unit, such as 30s or 1m30s", Quote(s))
	}
	return d, checkDuration(d)
}

func checkDuration(d time.Duration) error {
	if d < 0 || (d > 0 && d < time.Millisecond) {
		return fmt.Errorf("invalid duration %s: want 0 or at least 1ms", d)
	}
	return nil
}

// ValueSchema returns a Go duration, or 0.
func (Duration) ValueSchema() *ValueSchema {
	return &ValueSchema{AnyOf: []*ValueSchema{
		{Types: []string{"string"}, Pattern: `^(?:0|(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|µs|μs|ms|s|m|h))+)$`},
		{Const: 0},
	}}
}

func (du *Duration) decodeYAML(d *decoder, l loc, n *yaml.Node, _ int) {
	d.parse(l, n, "a string", func(text string, r Range) (err error) {
		*du = Duration{Range: r}
		du.Value, err = ParseDuration(text)
		return err
	})
}
