package gen

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/invopop/jsonschema"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/check"
	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// mountKeys are the keys each mount type takes besides type.
var mountKeys = func() []struct {
	kind string
	keys []string
} {
	var out []struct {
		kind string
		keys []string
	}
	for _, k := range spec.MountKinds() {
		out = append(out, struct {
			kind string
			keys []string
		}{string(k), spec.MountKeys(k)})
	}
	return out
}()

// synthetic returns the definitions that stand for no Go type: a step (one
// of the kinds) and a parallel branch.
func (g *generator) synthetic() jsonschema.Definitions {
	var steps, branches []*jsonschema.Schema
	var kinds, branchKinds []string
	for _, s := range stepKinds() {
		r := ref(reflect.TypeOf(s).Elem().Name())
		steps = append(steps, r)
		kinds = append(kinds, string(s.Kind()))
		if _, runLike := s.(spec.RunLike); runLike || s.Kind() == spec.KindCopy {
			branches = append(branches, ref(reflect.TypeOf(s).Elem().Name()))
			branchKinds = append(branchKinds, string(s.Kind()))
		}
	}
	return jsonschema.Definitions{
		"Step": {
			Description: "A step does one thing: it has exactly one of the keys " + orList(kinds) + ". run and the presets (apt, apk, pip, uv, go) also take env, mounts, network, security and devices.",
			OneOf:       steps,
		},
		"Branch": {
			Description: "A parallel branch: a step that changes files, " + orList(branchKinds) + ". It runs on the state before the group; the branches' changes are merged in list order.",
			OneOf:       branches,
		},
	}
}

// refine adds what the Go types do not say: required keys, the keys each
// step kind and mount type takes, names that must match a pattern.
func (g *generator) refine(root *jsonschema.Schema, defs jsonschema.Definitions) error {
	// A definition or key renamed in the spec types is an error here, not
	// a rule that silently stops applying.
	var missing []string
	def := func(name string) *jsonschema.Schema {
		if d := defs[name]; d != nil && d.Properties != nil {
			return d
		}
		missing = append(missing, "$defs."+name)
		return &jsonschema.Schema{Properties: jsonschema.NewProperties()}
	}
	prop := func(d *jsonschema.Schema, key string) *jsonschema.Schema {
		if p, ok := d.Properties.Get(key); ok {
			return p
		}
		missing = append(missing, "property "+key)
		return &jsonschema.Schema{}
	}

	// The document: version 1, stages, and x-* keys that hold anchors.
	root.Required = []string{"version", "stages"}
	version := prop(root, "version")
	*version = jsonschema.Schema{Type: "integer", Const: spec.Version, Description: version.Description}
	argNames := func() *jsonschema.Schema {
		return &jsonschema.Schema{
			Pattern: spec.ArgNamePattern,
			Not:     &jsonschema.Schema{Enum: anys(platformArgs)},
		}
	}
	prop(root, "args").PropertyNames = argNames()
	root.PatternProperties = map[string]*jsonschema.Schema{
		"^x-": {Description: "Ignored by the frontend: a place for anchors (&name) that stages and steps reuse with aliases (*name) and merge keys (<<: *name)."},
	}

	stage := def("Stage")
	stage.Required = []string{"from"}
	prop(stage, "env").PropertyNames = envNames()
	prop(stage, "args").PropertyNames = argNames()
	prop(def("Image"), "labels").PropertyNames = &jsonschema.Schema{Pattern: `\S`}
	def("Healthcheck").Required = []string{"test"}
	// A check: block names rules, or all.
	checkNames := []string{"all"}
	for _, r := range check.Rules() {
		checkNames = append(checkNames, r.Name)
	}
	for _, key := range []string{"skip", "experimental"} {
		names := &jsonschema.Schema{Type: "string", Enum: anys(checkNames)}
		*prop(def("CheckConfig"), key) = jsonschema.Schema{
			Description: prop(def("CheckConfig"), key).Description,
			AnyOf:       []*jsonschema.Schema{names, {Type: "array", Items: names}},
		}
	}
	// A copy copies its src, or writes its content.
	cp := def("Copy")
	cp.Required = []string{"dst"}
	cp.OneOf = []*jsonschema.Schema{{Required: []string{"src"}}, {Required: []string{"content"}}}

	// Each step kind requires its own key and allows only its keys (and
	// env, mounts and network for the run-like ones).
	for _, s := range stepKinds() {
		d := def(reflect.TypeOf(s).Elem().Name())
		kind := string(s.Kind())
		d.Title = kind
		d.Required = []string{kind}
		if _, runLike := s.(spec.RunLike); runLike {
			prop(d, "env").PropertyNames = envNames()
		}
	}
	envStep := prop(def("EnvStep"), "env")
	envStep.PropertyNames = envNames()
	envStep.MinProperties = uint64p(1)
	for _, name := range []string{"AptStep", "ApkStep"} {
		p := prop(def(name), strings.ToLower(strings.TrimSuffix(name, "Step")))
		if len(p.AnyOf) != 2 {
			missing = append(missing, name+" as a list of strings")
			continue
		}
		p.AnyOf[0].MinLength = uint64p(1)
		p.AnyOf[1].MinItems = uint64p(1)
	}
	branches := prop(def("ParallelStep"), "parallel")
	branches.Items = ref("Branch")
	branches.MinItems = uint64p(1)

	g.mounts(def("Mount"))
	g.allowEmpty(defs)
	if len(missing) > 0 {
		return fmt.Errorf("the schema's rules name what the spec types no longer have: %s", strings.Join(missing, ", "))
	}
	return nil
}

// mounts makes a mount require its type, and a target where its type needs
// one, and allow only the keys of its type.
func (g *generator) mounts(m *jsonschema.Schema) {
	m.Required = []string{"type"}
	for _, mk := range mountKeys {
		then := &jsonschema.Schema{PropertyNames: &jsonschema.Schema{Enum: anys(append([]string{"type"}, mk.keys...))}}
		switch spec.MountKind(mk.kind) {
		case spec.MountCache, spec.MountTmpfs, spec.MountBind:
			then.Required = []string{"target"}
		}
		is := &jsonschema.Schema{Properties: jsonschema.NewProperties(), Required: []string{"type"}}
		is.Properties.Set("type", &jsonschema.Schema{Const: mk.kind})
		m.AllOf = append(m.AllOf, &jsonschema.Schema{If: is, Then: then})
	}
}

// allowEmpty lets an empty string through where the key says that it
// means something (`yaml:"description,empty"`).
func (g *generator) allowEmpty(defs jsonschema.Definitions) {
	for _, name := range sortedKeys(g.types) {
		d := defs[name]
		if d == nil || d.Properties == nil {
			continue
		}
		for _, k := range spec.Keys(g.types[name]) {
			if !k.Empty {
				continue
			}
			if p, ok := d.Properties.Get(k.Name); ok {
				p.MinLength = nil
			}
		}
	}
}

// envNamePattern is an environment variable's name: no '=', no spaces.
const envNamePattern = `^[^=\s]+$`

// platformArgs are the args a build sets from its platforms, which a spec
// cannot declare.
var platformArgs = spec.PlatformArgs()

func envNames() *jsonschema.Schema { return &jsonschema.Schema{Pattern: envNamePattern} }

func anys(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// orList joins names as "a, b or c".
func orList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
