package spec

import "go.yaml.in/yaml/v3"

// Var is one NAME: value entry of an ordered mapping (args, env, labels).
type Var struct {
	// Name is the key.
	Name string
	// NameRange is where the key is.
	NameRange Range
	// Value is the scalar value as written; null is the empty string.
	Value string
	// Range is where the value is.
	Range Range
}

// Vars is an ordered string-to-string mapping: YAML order is kept, so the
// LLB built from it does not depend on map iteration.
type Vars []Var

// Get returns the value of name and whether it is set.
func (v Vars) Get(name string) (string, bool) {
	for i := len(v) - 1; i >= 0; i-- {
		if v[i].Name == name {
			return v[i].Value, true
		}
	}
	return "", false
}

// Names returns the names in order.
func (v Vars) Names() []string {
	names := make([]string, len(v))
	for i, e := range v {
		names[i] = e.Name
	}
	return names
}

// ValueSchema returns a mapping of names to scalars or null. Which names
// are allowed depends on the key (args, env, labels): the generator says.
func (Vars) ValueSchema() *ValueSchema {
	return &ValueSchema{
		Types:                []string{"object"},
		AdditionalProperties: &ValueSchema{Types: []string{"string", "number", "boolean", "null"}},
	}
}

func (v *Vars) decodeYAML(d *decoder, l loc, n *yaml.Node, depth int) {
	entries, ok := d.mapping(l, n, depth)
	if !ok {
		*v = nil
		return
	}
	out := make(Vars, 0, len(entries))
	for _, e := range entries {
		el := loc{up: l.up, key: joinKey(l, keySegment(e.key)), idx: -1}
		val := d.visit(el, e.value)
		if val == nil {
			continue
		}
		s := ""
		if !isNull(val) {
			var ok bool
			if s, ok = d.scalar(el, val, "a string"); !ok {
				continue
			}
		}
		out = append(out, Var{Name: e.key, NameRange: nodeRange(e.keyN), Value: s, Range: nodeRange(val).Or(nodeRange(e.keyN))})
	}
	*v = out
}
