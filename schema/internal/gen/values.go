package gen

import (
	"reflect"

	"github.com/invopop/jsonschema"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// The patterns below are written in the subset that Go's regexp (RE2) and
// JavaScript's RegExp (yaml-language-server) read alike. A value holding
// ${...} or a \ escape is expanded by the compiler before it is parsed, so
// the patterns of values that may be templates let such values through.
const (
	// template matches a value the compiler expands first.
	template = `[\s\S]*[$\\][\s\S]*`
	// envNamePattern is an environment variable's name: no '=', no spaces.
	envNamePattern = `^[^=\s]+$`
)

// platformArgs are the args a build sets from its platforms, which a spec
// cannot declare.
var platformArgs = spec.PlatformArgs()

// The enums' values, from the spec's vocabularies.
var (
	mountTypes   = anyOf(spec.MountKinds())
	sharingModes = anyOf(spec.SharingModes())
	networkModes = anyOf(spec.NetworkModes())
)

// anyOf returns the values of a vocabulary as JSON values.
func anyOf[T ~string](vs []T) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// mapType is the reflector's Mapper: the schema of each of the spec's value
// types, or nil for the structs, which the reflector reflects. Each call
// returns a new schema, since the reflector sets descriptions on it.
func (g *generator) mapType(t reflect.Type) *jsonschema.Schema {
	switch t {
	case reflect.TypeFor[spec.String]():
		s := scalar()
		s.MinLength = uint64p(1) // an empty string is refused unless the key says it means something
		return s
	case reflect.TypeFor[[]spec.String]():
		return stringList()
	case reflect.TypeFor[spec.Bool]():
		return &jsonschema.Schema{Type: "boolean"}
	case reflect.TypeFor[spec.Int]():
		// uid, gid and retries: whole numbers, not negative, in 32 bits.
		return &jsonschema.Schema{Type: "integer", Minimum: "0", Maximum: "2147483647"}
	case reflect.TypeFor[spec.Command]():
		return ref("Command")
	case reflect.TypeFor[spec.Vars]():
		return vars()
	case reflect.TypeFor[spec.Stages]():
		return &jsonschema.Schema{
			Type:                 "object",
			MinProperties:        uint64p(1),
			PropertyNames:        &jsonschema.Schema{Pattern: spec.StageNamePattern, Not: &jsonschema.Schema{Const: "scratch"}},
			AdditionalProperties: ref("Stage"),
		}
	case reflect.TypeFor[spec.Step]():
		return ref("Step")
	case reflect.TypeFor[spec.Owner]():
		s := scalar()
		s.Pattern = `^(?:` + spec.OwnerPartPattern + `(?::` + spec.OwnerPartPattern + `)?|` + template + `)$`
		return s
	case reflect.TypeFor[[]spec.Port]():
		// a list of ports, or one port for a list of one
		return &jsonschema.Schema{AnyOf: []*jsonschema.Schema{g.mapType(reflect.TypeFor[spec.Port]()), {Type: "array", Items: g.mapType(reflect.TypeFor[spec.Port]())}}}
	case reflect.TypeFor[spec.Port]():
		return &jsonschema.Schema{AnyOf: []*jsonschema.Schema{
			{Type: "integer", Minimum: "1", Maximum: "65535"},
			{Type: "string", Pattern: `^(?:[0-9]+(?:-[0-9]+)?(?:/(?:tcp|udp|sctp))?|` + template + `)$`},
		}}
	case reflect.TypeFor[spec.Mode]():
		// 0755 is read as octal; a YAML parser may make it the number 493
		// (YAML 1.1) or 755 (YAML 1.2).
		return &jsonschema.Schema{AnyOf: []*jsonschema.Schema{
			{Type: "integer", Minimum: "0", Maximum: "7777"},
			{Type: "string", Pattern: `^0*[0-7]{1,4}$`},
		}}
	case reflect.TypeFor[spec.Size]():
		return &jsonschema.Schema{AnyOf: []*jsonschema.Schema{
			{Type: "number", Minimum: "0"},
			{Type: "string", Pattern: `^[0-9]+(?:\.[0-9]+)* ?[kKmMgGtTpP]?[iI]?[bB]?$`},
		}}
	case reflect.TypeFor[spec.Duration]():
		return &jsonschema.Schema{AnyOf: []*jsonschema.Schema{
			{Type: "string", Pattern: `^(?:0|(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|µs|μs|ms|s|m|h))+)$`},
			{Const: 0},
		}}
	case reflect.TypeFor[spec.Chmod](), reflect.TypeFor[spec.Signal]():
		return scalar()
	case reflect.TypeFor[spec.Platform]():
		return &jsonschema.Schema{Type: "string", MinLength: uint64p(1)}
	case reflect.TypeFor[spec.HealthTest]():
		return &jsonschema.Schema{OneOf: []*jsonschema.Schema{
			withMinLength(scalar()),
			{
				Type:        "array",
				MinItems:    uint64p(1),
				PrefixItems: []*jsonschema.Schema{{Enum: []any{"CMD", "CMD-SHELL", "NONE"}}},
				Items:       scalar(),
			},
		}}
	case reflect.TypeFor[spec.MountType]():
		return &jsonschema.Schema{Type: "string", Enum: mountTypes}
	case reflect.TypeFor[spec.Sharing]():
		return &jsonschema.Schema{Type: "string", Enum: sharingModes}
	case reflect.TypeFor[spec.Network]():
		return &jsonschema.Schema{Type: "string", Enum: networkModes}
	}
	return nil
}

// scalar is what the loader reads as text: a string, or a number or a
// boolean, which keep the text they were written with (3.10 is "3.10").
func scalar() *jsonschema.Schema {
	return &jsonschema.Schema{Extras: map[string]any{"type": []string{"string", "number", "boolean"}}}
}

func withMinLength(s *jsonschema.Schema) *jsonschema.Schema {
	s.MinLength = uint64p(1)
	return s
}

// stringList is a list of strings, or one string for a list of one.
func stringList() *jsonschema.Schema {
	return &jsonschema.Schema{AnyOf: []*jsonschema.Schema{
		scalar(),
		{Type: "array", Items: scalar()},
	}}
}

// vars is an ordered mapping of names to scalars; null is the empty string.
func vars() *jsonschema.Schema {
	return &jsonschema.Schema{
		Type:                 "object",
		AdditionalProperties: &jsonschema.Schema{Extras: map[string]any{"type": []string{"string", "number", "boolean", "null"}}},
	}
}

func uint64p(n uint64) *uint64 { return &n }
