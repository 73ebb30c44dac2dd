// Package gen generates the JSON Schema of ohlcv.build.yaml from the Go
// types of llbgraph/spec, with invopop/jsonschema's reflector: the yaml tags
// name the keys, the Go doc comments become the descriptions, and a Mapper
// takes from each of the spec's value types (String, Command, Vars, Stages,
// Steps, ...) what it looks like in YAML, which its Go shape does not say
// (spec.Value).
//
// The schema is as strict as [spec.Load] wherever a schema can say it:
// unknown keys, wrong types, enums, a step with exactly one kind, the keys
// each mount type takes. It refuses no spec that Load accepts, but for a
// key written with no value (null), which Load reads as not set. What it
// cannot say (cycles between stages, ${...} references, what a name
// resolves to) is left to Load.
package gen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/invopop/jsonschema"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
	"github.com/ohlcv-rag/ohlcv-build/schema"
)

// Generate returns the schema document, indented, ending in a newline.
// specDir is the directory of the llbgraph/spec sources, whose doc comments
// become the descriptions.
func Generate(specDir string) ([]byte, error) {
	s, err := Schema(specDir)
	if err != nil {
		return nil, err
	}
	out, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(unescapeHTML(out), '\n'), nil
}

// unescapeHTML turns the \u0026, \u003c and \u003e escapes that
// encoding/json writes for &, < and > back into the characters, so the
// descriptions read as written. The reflector's schemas marshal themselves
// with json.Marshal, which an Encoder's SetEscapeHTML does not reach.
func unescapeHTML(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 == len(b) {
			out = append(out, b[i])
			continue
		}
		if b[i+1] == 'u' && i+6 <= len(b) {
			switch string(b[i+2 : i+6]) {
			case "0026":
				out, i = append(out, '&'), i+5
				continue
			case "003c":
				out, i = append(out, '<'), i+5
				continue
			case "003e":
				out, i = append(out, '>'), i+5
				continue
			}
		}
		out, i = append(out, b[i], b[i+1]), i+1 // an escape pair, as it is
	}
	return out
}

// Schema returns the schema: the spec's mapping at the root, every other
// mapping under $defs.
func Schema(specDir string) (*jsonschema.Schema, error) {
	g := &generator{types: map[string]reflect.Type{}, defs: jsonschema.Definitions{}}
	comments, err := goComments(specDir)
	if err != nil {
		return nil, err
	}
	g.r = &jsonschema.Reflector{
		FieldNameTag: "yaml",
		// Keys are optional unless a rule below requires them: Load says
		// which are required, not the Go types.
		RequiredFromJSONSchemaTags: true,
		ExpandedStruct:             true,
		Mapper:                     g.mapType,
		Namer:                      g.name,
		CommentMap:                 comments,
	}
	root := g.r.Reflect(&spec.Spec{})
	defs := root.Definitions
	// Stages and steps sit behind mapped types (an ordered mapping, an
	// interface), so the reflector does not reach them from the root:
	// reflect each, and keep their definitions.
	g.r.ExpandedStruct = false
	for _, t := range append([]reflect.Type{reflect.TypeFor[spec.Stage]()}, stepTypes()...) {
		if err := merge(defs, g.r.ReflectFromType(t).Definitions); err != nil {
			return nil, err
		}
	}
	for name, d := range g.synthetic() {
		defs[name] = d
	}
	for name, d := range g.defs {
		defs[name] = d
	}
	root.ID = jsonschema.ID(schema.URL)
	root.Title = "ohlcv.build.yaml"
	root.Description = "A build spec for the ohlcv-build BuildKit frontend: named stages of steps, compiled to LLB. Reference: docs/spec.md."
	if err := g.refine(root, defs); err != nil {
		return nil, err
	}
	return root, nil
}

// generator holds the reflector, the struct types it named and the
// definitions of value types.
type generator struct {
	r     *jsonschema.Reflector
	types map[string]reflect.Type // definition name -> the struct it is
	defs  jsonschema.Definitions  // the value types' definitions
}

// name records each struct the reflector defines, so that the rules can
// find a definition's Go fields; it keeps the reflector's own names.
func (g *generator) name(t reflect.Type) string {
	if t.Kind() == reflect.Struct && t.Name() != "" {
		g.types[t.Name()] = t
	}
	return ""
}

// comment returns the doc comment of a spec type, or of one of its fields.
func (g *generator) comment(t reflect.Type, field string) string {
	key := t.PkgPath() + "." + t.Name()
	if field != "" {
		key += "." + field
	}
	return g.r.CommentMap[key]
}

// merge adds the definitions of one reflection to defs. The reflector
// defines a type the same way each time; a difference means two types of
// one name, which would make one of them wrong.
func merge(defs, more jsonschema.Definitions) error {
	for name, d := range more {
		if prev, ok := defs[name]; ok {
			a, _ := json.Marshal(prev)
			b, _ := json.Marshal(d)
			if !bytes.Equal(a, b) {
				return fmt.Errorf("two types are named %s in the schema", name)
			}
			continue
		}
		defs[name] = d
	}
	return nil
}

// goComments reads the doc comments of the spec package's types and fields
// with the reflector's AddGoComments, keyed by the package's import path.
// AddGoComments keys them by the directory it is given, so they are moved
// to the import path, whatever directory the generator runs in.
func goComments(dir string) (map[string]string, error) {
	if _, err := os.Stat(filepath.Join(dir, "spec.go")); err != nil {
		return nil, fmt.Errorf("the descriptions come from the llbgraph/spec sources, not found in %s: %w", dir, err)
	}
	var raw jsonschema.Reflector
	if err := raw.AddGoComments("", dir); err != nil {
		return nil, fmt.Errorf("reading the doc comments in %s: %w", dir, err)
	}
	prefix := path.Clean(filepath.ToSlash(dir)) + "."
	pkg := reflect.TypeFor[spec.Spec]().PkgPath() + "."
	out := make(map[string]string, len(raw.CommentMap))
	for k, v := range raw.CommentMap {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			out[pkg+rest] = plainText(v)
		}
	}
	if out[pkg+"Spec.Version"] == "" {
		return nil, fmt.Errorf("no doc comment for Spec.Version in %s: is it the llbgraph/spec directory?", dir)
	}
	return out, nil
}

// docLink is a Go doc link: [Load], [Node.Path], [*Error]. A name with no
// lower-case letter ([NONE]) is text.
var docLink = regexp.MustCompile(`\[(\*?[A-Z][A-Za-z0-9_]*[a-z][A-Za-z0-9_.]*)\]`)

// plainText makes a doc comment a one-paragraph description: lines joined,
// and Go doc links ([Load]) written as plain names.
func plainText(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return docLink.ReplaceAllString(s, "$1")
}

// stepTypes are the step kinds' types, in the docs' order.
func stepTypes() []reflect.Type {
	steps := stepKinds()
	out := make([]reflect.Type, len(steps))
	for i, s := range steps {
		out[i] = reflect.TypeOf(s).Elem()
	}
	return out
}

// stepKinds returns one empty step of each kind, in the docs' order. The
// test checks the list against the kinds Load names.
func stepKinds() []spec.Step {
	var steps []spec.Step
	for _, k := range spec.StepKinds() {
		steps = append(steps, spec.NewStep(k))
	}
	return steps
}

// ref is a reference to a definition.
func ref(name string) *jsonschema.Schema {
	return &jsonschema.Schema{Ref: "#/$defs/" + name}
}

// sortedKeys returns a map's keys in order, for stable output.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
