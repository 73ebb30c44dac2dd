package schema_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
	"github.com/ohlcv-rag/ohlcv-build/schema"
	"github.com/ohlcv-rag/ohlcv-build/schema/internal/gen"
)

var update = flag.Bool("update", false, "rewrite ohlcv.build.schema.json from the spec types")

const regenerate = "go test ./schema -run TestSchemaIsUpToDate -update"

// The committed schema is what the generator makes of the spec types now.
func TestSchemaIsUpToDate(t *testing.T) {
	want, err := gen.Generate("../llbgraph/spec")
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(schema.Filename, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(schema.Filename)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("schema/%s is stale: the spec types changed since it was generated; regenerate it with\n\t%s", schema.Filename, regenerate)
	}
	if !bytes.Equal(schema.JSON(), want) {
		t.Fatalf("the embedded schema differs from schema/%s", schema.Filename)
	}
}

// The schema is a draft 2020-12 document with the $id editors fetch.
func TestSchemaHeader(t *testing.T) {
	var doc struct {
		Schema string `json:"$schema"`
		ID     string `json:"$id"`
	}
	if err := json.Unmarshal(schema.JSON(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Schema != "https://json-schema.org/draft/2020-12/schema" || doc.ID != schema.URL {
		t.Fatalf("$schema %q, $id %q: want draft 2020-12 and %s", doc.Schema, doc.ID, schema.URL)
	}
}

// compiled is the committed schema, compiled by a validator that also checks
// it against the draft 2020-12 meta-schema.
func compiled(t testing.TB) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema.JSON()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(schema.URL, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(schema.URL)
	if err != nil {
		t.Fatalf("the schema does not compile: %v", err)
	}
	return sch
}

// instance turns a YAML spec into the JSON value a validator checks, as an
// editor sees it: anchors and merge keys resolved, numbers as numbers.
func instance(t testing.TB, name string, src []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(src, &v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	dt, err := json.Marshal(jsonable(v))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(dt))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return inst
}

// jsonable gives mappings with non-string keys string keys, as a YAML
// language server does.
func jsonable(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = jsonable(e)
		}
		return v
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[fmt.Sprint(k)] = jsonable(e)
		}
		return out
	case []any:
		for i, e := range v {
			v[i] = jsonable(e)
		}
	}
	return v
}

var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// corpus returns every spec the repository holds as an example or a
// fixture, by name.
func corpus(t *testing.T) map[string][]byte {
	t.Helper()
	files := []string{"../ohlcv.build.yaml", "../examples/ohlcv-rag/offline.build.yaml"}
	fixtures, err := filepath.Glob("../llbgraph/testdata/*/ohlcv.build.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(fixtures) < 5 {
		t.Fatalf("found %d fixtures in llbgraph/testdata/*/ohlcv.build.yaml, want the 6 or more that the compiler tests use", len(fixtures))
	}
	// The graph's fixture too.
	files = append(files, fixtures...)
	files = append(files, "../llbgraph/graph/testdata/ohlcv.build.yaml")
	out := map[string][]byte{}
	for _, f := range files {
		dt, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimPrefix(f, "../")] = dt
	}
	for _, doc := range []string{"../README.md", "../docs/spec.md", "../docs/editors.md"} {
		dt, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		blocks := yamlBlock.FindAllSubmatch(dt, -1)
		if len(blocks) == 0 {
			t.Fatalf("%s has no ```yaml blocks", doc)
		}
		for i, b := range blocks {
			out[fmt.Sprintf("%s, yaml block %d", strings.TrimPrefix(doc, "../"), i+1)] = b[1]
		}
	}
	return out
}

// Every example and fixture spec in the repository validates.
func TestExamplesValidate(t *testing.T) {
	sch := compiled(t)
	specs := corpus(t)
	for name, src := range specs {
		if _, err := spec.Load(name, src); err != nil {
			t.Errorf("%s does not load, so it is no example to check the schema with: %v", name, err)
			continue
		}
		if err := sch.Validate(instance(t, name, src)); err != nil {
			t.Errorf("%s loads, but the schema refuses it:\n%v", name, err)
		}
	}
	t.Logf("%d specs validate", len(specs))
}

// docs/editors.md gives the schema's URL in the modeline, under the
// # syntax= line, and maps the same file names to it for VS Code and Neovim.
func TestEditorDocs(t *testing.T) {
	dt, err := os.ReadFile("../docs/editors.md")
	if err != nil {
		t.Fatal(err)
	}
	page := string(dt)
	modeline := "# syntax=ghcr.io/ohlcv-rag/ohlcv-build:1\n# yaml-language-server: $schema=" + schema.URL + "\n"
	if !strings.Contains(page, "```yaml\n"+modeline) {
		t.Errorf("docs/editors.md has no yaml example starting with\n%s", modeline)
	}
	var vscode struct {
		Schemas map[string][]string `json:"yaml.schemas"`
	}
	block := regexp.MustCompile("(?s)```json\n(.*?)```").FindStringSubmatch(page)
	if block == nil {
		t.Fatal("docs/editors.md has no json block for VS Code")
	}
	if err := json.Unmarshal([]byte(block[1]), &vscode); err != nil {
		t.Fatalf("VS Code's settings in docs/editors.md: %v", err)
	}
	patterns := vscode.Schemas[schema.URL]
	if !slices.Equal(patterns, []string{"ohlcv.build.yaml", "*.build.yaml"}) {
		t.Errorf("VS Code's yaml.schemas maps %q to %q", schema.URL, patterns)
	}
	lua := regexp.MustCompile("(?s)```lua\n(.*?)```").FindStringSubmatch(page)
	if lua == nil {
		t.Fatal("docs/editors.md has no lua block for Neovim")
	}
	want := "['" + schema.URL + "'] = {\n          '" + strings.Join(patterns, "',\n          '") + "',\n        }"
	if !strings.Contains(lua[1], want) {
		t.Errorf("Neovim's settings in docs/editors.md do not map the same names:\n%s\nwant\n%s", lua[1], want)
	}
}
