package spec

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// String is a text value of the spec and where it is written. The empty
// String is "not set": a key written with an empty value is refused where
// emptiness means nothing. Most strings may hold ${NAME} references, which
// the compiler expands.
type String struct {
	// Value is the text as written.
	Value string
	// Range is where the value is.
	Range Range
}

// Str returns a String with value v, for specs built in Go.
func Str(v string) String { return String{Value: v} }

// Strs returns Strings with values v, for specs built in Go.
func Strs(v ...string) []String {
	out := make([]String, len(v))
	for i, s := range v {
		out[i] = String{Value: s}
	}
	return out
}

// Values returns the texts of a list of Strings.
func Values(list []String) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = s.Value
	}
	return out
}

// ValueSchema returns a scalar that is not empty, unless the key says an
// empty string means something.
func (String) ValueSchema() *ValueSchema {
	s := scalarSchema()
	s.MinLength = 1
	return s
}

func (s *String) decodeYAML(d *decoder, l loc, n *yaml.Node, _ int) {
	v, ok := d.scalar(l, n, "a string")
	if !ok {
		return
	}
	if v == "" && !l.empty {
		d.errorf(l, n, "%s must not be empty; leave the key out instead", l.lastKey())
		return
	}
	*s = String{Value: v, Range: nodeRange(n)}
}

// Strings is a list of strings; one string is a list of one. Its items may
// be empty: the validator says where that is wrong.
type Strings []String

// ValueSchema returns a scalar or a list of scalars.
func (Strings) ValueSchema() *ValueSchema { return listOf(scalarSchema) }

func (s *Strings) decodeYAML(d *decoder, l loc, n *yaml.Node, _ int) {
	if n.Kind != yaml.SequenceNode {
		*s = nil
		if v, ok := d.scalar(l, n, "a string or a list of strings"); ok {
			*s = Strings{{Value: v, Range: nodeRange(n)}}
		}
		return
	}
	*s = make(Strings, 0, len(n.Content))
	for i, e := range n.Content {
		el := l.at(i)
		if e = d.visit(el, e); e == nil {
			return
		}
		if v, ok := d.scalar(el, e, "a string"); ok {
			*s = append(*s, String{Value: v, Range: nodeRange(e)})
		}
	}
}

// Bool is a true or false value; false is also "not set".
type Bool struct {
	// Value is the value.
	Value bool
	// Range is where the value is.
	Range Range
}

// ValueSchema returns a boolean.
func (Bool) ValueSchema() *ValueSchema { return &ValueSchema{Types: []string{"boolean"}} }

func (b *Bool) decodeYAML(d *decoder, l loc, n *yaml.Node, _ int) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		d.errorf(l, n, "want true or false, got %s", describe(n))
		return
	}
	v, _ := strconv.ParseBool(strings.ToLower(n.Value))
	*b = Bool{Value: v, Range: nodeRange(n)}
}

// Int is a whole number. Fields of this type are pointers; nil is "not
// set".
type Int struct {
	// Value is the number.
	Value int
	// Range is where the value is.
	Range Range
}

// ValueSchema returns a whole number that is not negative, in 32 bits: a
// uid, a gid, a count of retries. (The version is one too; the generator
// makes it the constant 1.)
func (Int) ValueSchema() *ValueSchema {
	return &ValueSchema{Types: []string{"integer"}, Minimum: "0", Maximum: "2147483647"}
}

func (i *Int) decodeYAML(d *decoder, l loc, n *yaml.Node, _ int) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		d.errorf(l, n, "want a whole number, got %s", describe(n))
		return
	}
	v, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 32)
	if err != nil {
		d.errorf(l, n, "want a whole number that fits in 32 bits, got %s", Shorten(n.Value))
		return
	}
	*i = Int{Value: int(v), Range: nodeRange(n)}
}
