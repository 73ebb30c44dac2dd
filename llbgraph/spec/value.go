package spec

import "go.yaml.in/yaml/v3"

// Value is a value type of the spec (String, Command, Vars, Mode, Port,
// MountType, ...): a type that says what it means in one place, the file of
// the type or of its small family, where it decodes its YAML and describes
// that YAML as JSON Schema; adding a value type touches that file only.
// The decoder and the schema generator (schema/internal/gen) find the value
// types by this interface, so that neither lists them; the structs between
// them (a stage, a step, a mount) are read through their yaml tags
// ([Keys]).
type Value interface {
	// ValueSchema returns the JSON Schema of the YAML the type reads.
	ValueSchema() *ValueSchema
	// decodeYAML decodes n, resolved and not null, into the value at l;
	// depth is how deep n is nested.
	decodeYAML(d *decoder, l loc, n *yaml.Node, depth int)
}

// ValueSchema is a value type's JSON Schema, in the few keywords the value
// types need; the schema generator turns it into invopop/jsonschema's
// Schema. It is not that type, nor do the value types have the JSONSchema
// method invopop would call, because spec is compiled into the frontend
// image and the daemonless CLI: importing invopop/jsonschema here adds 13
// packages to each (go/parser, go/doc and a second YAML library among
// them) and 426 KB to each stripped binary (measured with v0.14.0), for a
// document neither builds. The schema is generated in the repository and
// embedded.
type ValueSchema struct {
	// Name, when set, makes the schema a definition under $defs of this
	// name, which each value of the type refers to ($ref); its
	// description is the type's doc comment, then Description.
	Name string
	// Description is said of the value, after any doc comment.
	Description string
	// Ref names a definition under $defs that the value is.
	Ref string
	// Types are the JSON types the value may have; several make a union.
	Types []string
	// AnyOf and OneOf are alternatives: any, or exactly one, must match.
	AnyOf, OneOf []*ValueSchema
	// Not is a schema the value must not match.
	Not *ValueSchema
	// Enum lists the values allowed.
	Enum []string
	// Const is the one value allowed.
	Const any
	// Minimum and Maximum bound a number, as JSON numbers.
	Minimum, Maximum string
	// MinLength bounds a string's length; 0 sets no bound.
	MinLength uint64
	// Pattern is a regular expression a string matches, in the subset
	// that Go's regexp and JavaScript's RegExp read alike.
	Pattern string
	// PrefixItems are the schemas of a list's first items.
	PrefixItems []*ValueSchema
	// Items is the schema of a list's items (after PrefixItems).
	Items *ValueSchema
	// MinItems bounds a list's length; 0 sets no bound.
	MinItems uint64
	// Properties are the schemas of a mapping's known keys.
	Properties map[string]*ValueSchema
	// PropertyNames is the schema of a mapping's keys.
	PropertyNames *ValueSchema
	// AdditionalProperties is the schema of a mapping's values.
	AdditionalProperties *ValueSchema
	// MinProperties bounds a mapping's size; 0 sets no bound.
	MinProperties uint64
}

// templatePattern matches a value the compiler expands before it parses it
// (one holding ${...} or a \ escape), which the patterns of values that may
// be templates let through.
const templatePattern = `[\s\S]*[$\\][\s\S]*`

// scalarSchema is what the decoder reads as text: a string, or a number or
// a boolean, which keep the text they were written with (3.10 is "3.10").
func scalarSchema() *ValueSchema {
	return &ValueSchema{Types: []string{"string", "number", "boolean"}}
}

// listOf is a list of item, or one item for a list of one.
func listOf(item func() *ValueSchema) *ValueSchema {
	return &ValueSchema{AnyOf: []*ValueSchema{item(), {Types: []string{"array"}, Items: item()}}}
}
