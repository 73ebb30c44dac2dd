package spec

import (
	"go.yaml.in/yaml/v3"
)

// Arg is a declared build arg: its name, its default and what it is for.
type Arg struct {
	Var
	// Description says what the arg is for; --call=outline shows it.
	Description string
	// NoDefault says the declaration gives no default (`NAME:` or a
	// mapping without default). A stage's arg then takes the value of the
	// build arg of the same name, declared under the top-level args.
	NoDefault bool
}

// Args are arg declarations in file order. Each is `NAME: default`, or
// `NAME: {default: ..., description: ...}` to say what the arg is for.
type Args []Arg

// Get returns the default of name and whether it is declared.
func (a Args) Get(name string) (string, bool) {
	for i := len(a) - 1; i >= 0; i-- {
		if a[i].Name == name {
			return a[i].Value, true
		}
	}
	return "", false
}

// Names returns the names in order.
func (a Args) Names() []string {
	names := make([]string, len(a))
	for i, e := range a {
		names[i] = e.Name
	}
	return names
}

// argKeys are the keys of an arg's long form.
var argKeys = []string{"default", "description"}

// ValueSchema returns a mapping of names to a default (a scalar or null)
// or to the long form with a default and a description.
func (Args) ValueSchema() *ValueSchema {
	long := &ValueSchema{
		Description: "An arg with a description, which --call=outline shows.",
		Types:       []string{"object"},
		Properties: map[string]*ValueSchema{
			"default":     {Types: []string{"string", "number", "boolean", "null"}, Description: "The default value."},
			"description": {Types: []string{"string"}, Description: "What the arg is for."},
		},
		AdditionalProperties: &ValueSchema{Not: &ValueSchema{}},
	}
	return &ValueSchema{
		Types: []string{"object"},
		AdditionalProperties: &ValueSchema{AnyOf: []*ValueSchema{
			{Types: []string{"string", "number", "boolean", "null"}},
			long,
		}},
	}
}

func (a *Args) decodeYAML(d *decoder, l loc, n *yaml.Node, depth int) {
	entries, ok := d.mapping(l, n, depth)
	if !ok {
		*a = nil
		return
	}
	out := make(Args, 0, len(entries))
	for _, e := range entries {
		el := loc{up: l.up, key: joinKey(l, keySegment(e.key)), idx: -1}
		val := d.visit(el, e.value)
		if val == nil {
			continue
		}
		arg := Arg{Var: Var{Name: e.key, NameRange: nodeRange(e.keyN), Range: nodeRange(val).Or(nodeRange(e.keyN))}}
		switch {
		case isNull(val):
			arg.NoDefault = true
		case val.Kind == yaml.MappingNode:
			if !d.argLongForm(el, val, depth+1, &arg) {
				continue
			}
		default:
			s, ok := d.scalar(el, val, "a default (a string) or a mapping with default and description")
			if !ok {
				continue
			}
			arg.Value = s
		}
		out = append(out, arg)
	}
	*a = out
}

// argLongForm decodes `{default: ..., description: ...}` into arg.
func (d *decoder) argLongForm(l loc, n *yaml.Node, depth int, arg *Arg) bool {
	entries, ok := d.mapping(l, n, depth)
	if !ok {
		return false
	}
	arg.NoDefault = true
	for _, e := range entries {
		el := loc{up: l.up, key: joinKey(l, keySegment(e.key)), idx: -1}
		val := d.visit(el, e.value)
		if val == nil {
			return false
		}
		switch e.key {
		case "default":
			if isNull(val) {
				continue
			}
			s, ok := d.scalar(el, val, "a string")
			if !ok {
				return false
			}
			arg.Value, arg.NoDefault, arg.Range = s, false, nodeRange(val)
		case "description":
			s, ok := d.scalar(el, val, "a string")
			if !ok {
				return false
			}
			arg.Description = s
		default:
			d.errorf(el, e.keyN, "unknown key %s%s: an arg takes default and description", Quote(e.key), DidYouMean(e.key, argKeys))
			return false
		}
	}
	return true
}

// DeclaresArg reports whether the spec declares an arg called name, at the
// top level or in a stage: a build arg of that name reaches a step.
func (s *Spec) DeclaresArg(name string) bool {
	if _, ok := s.Args.Get(name); ok {
		return true
	}
	for _, st := range s.Stages {
		if _, ok := st.Args.Get(name); ok {
			return true
		}
	}
	return false
}
