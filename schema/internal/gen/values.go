package gen

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/invopop/jsonschema"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// mapType is the reflector's Mapper: the schema of each of the spec's value
// types, which says itself what its YAML looks like ([spec.Value]), or nil
// for the structs, which the reflector reflects. A value type whose schema
// is a definition is defined once, under $defs, and referred to.
func (g *generator) mapType(t reflect.Type) *jsonschema.Schema {
	v, ok := reflect.New(t).Interface().(spec.Value)
	if !ok {
		return nil
	}
	vs := v.ValueSchema()
	if vs.Name == "" {
		return convert(vs)
	}
	def := convert(vs)
	def.Description = strings.TrimSpace(g.comment(t, "") + " " + vs.Description)
	g.defs[vs.Name] = def
	return ref(vs.Name)
}

// convert turns a value type's schema into the reflector's. Each call
// makes new schemas, since the reflector sets descriptions on them.
func convert(vs *spec.ValueSchema) *jsonschema.Schema {
	if vs == nil {
		return nil
	}
	s := &jsonschema.Schema{
		AnyOf:                convertAll(vs.AnyOf),
		OneOf:                convertAll(vs.OneOf),
		Not:                  convert(vs.Not),
		PrefixItems:          convertAll(vs.PrefixItems),
		Items:                convert(vs.Items),
		AdditionalProperties: convert(vs.AdditionalProperties),
		PropertyNames:        convert(vs.PropertyNames),
		Const:                vs.Const,
		Minimum:              json.Number(vs.Minimum),
		Maximum:              json.Number(vs.Maximum),
		MinLength:            bound(vs.MinLength),
		Pattern:              vs.Pattern,
		MinItems:             bound(vs.MinItems),
		MinProperties:        bound(vs.MinProperties),
	}
	if vs.Ref != "" {
		s.Ref = "#/$defs/" + vs.Ref
	}
	switch len(vs.Types) {
	case 0:
	case 1:
		s.Type = vs.Types[0]
	default:
		s.Extras = map[string]any{"type": vs.Types}
	}
	if vs.Enum != nil {
		s.Enum = anys(vs.Enum)
	}
	if vs.Properties != nil {
		s.Properties = jsonschema.NewProperties()
		for _, k := range slices.Sorted(maps.Keys(vs.Properties)) {
			s.Properties.Set(k, convert(vs.Properties[k]))
		}
	}
	return s
}

func convertAll(list []*spec.ValueSchema) []*jsonschema.Schema {
	if list == nil {
		return nil
	}
	out := make([]*jsonschema.Schema, len(list))
	for i, vs := range list {
		out[i] = convert(vs)
	}
	return out
}

// bound is a schema's lower bound; 0 is none.
func bound(n uint64) *uint64 {
	if n == 0 {
		return nil
	}
	return &n
}

func uint64p(n uint64) *uint64 { return &n }
