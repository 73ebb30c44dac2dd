//go:build integration

// Package editor tests the JSON Schema of ohlcv.build.yaml in a real
// editor's language server: yaml-language-server, at the version pinned in
// hack/node, installed into .bin/node by hack/editor-deps.sh (make editor).
// The tests speak the Language Server Protocol to it over stdio, as VS Code
// and Neovim do. Without the server they fail; they never skip.
package editor

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ohlcv-rag/ohlcv-build/schema"
)

// repoRoot is the repository's top directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no go.mod two directories up from test/editor: %v", err)
	}
	return root
}

// serverPath is the pinned yaml-language-server's entry point.
func serverPath(t *testing.T) string {
	t.Helper()
	p := filepath.Join(repoRoot(t), ".bin", "node", "node_modules", "yaml-language-server", "bin", "yaml-language-server")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("yaml-language-server is not installed at %s: run hack/editor-deps.sh (make editor does): %v", p, err)
	}
	return p
}

// fileURI is the file:// URL of a local path.
func fileURI(path string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(path)}).String()
}

// schemaURI is the committed schema as a file:// URL.
func schemaURI(t *testing.T) string {
	return fileURI(filepath.Join(repoRoot(t), "schema", "ohlcv.build.schema.json"))
}

// docsPatterns are the file name patterns that docs/editors.md maps to the
// schema in VS Code's settings.json (and, the same, in Neovim's).
func docsPatterns(t *testing.T) []string {
	t.Helper()
	dt, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "editors.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range jsonBlock.FindAllSubmatch(dt, -1) {
		var settings struct {
			Schemas map[string][]string `json:"yaml.schemas"`
		}
		if err := json.Unmarshal(b[1], &settings); err != nil {
			t.Fatalf("docs/editors.md: a json block does not parse: %v", err)
		}
		if p := settings.Schemas[schema.URL]; len(p) > 0 {
			return p
		}
	}
	t.Fatalf("docs/editors.md has no json block mapping %s in yaml.schemas", schema.URL)
	return nil
}

var jsonBlock = regexp.MustCompile("(?s)```json\n(.*?)```")

// mapped is the `yaml` settings section docs/editors.md gives VS Code and
// Neovim, with schema (the committed file, by default) in place of the URL.
func mapped(t *testing.T, schema ...string) map[string]any {
	uri := schemaURI(t)
	if len(schema) > 0 {
		uri = schema[0]
	}
	return map[string]any{
		"validate":    true,
		"completion":  true,
		"hover":       true,
		"schemas":     map[string]any{uri: docsPatterns(t)},
		"schemaStore": map[string]any{"enable": false}, // no network here, and none needed
	}
}

// unmapped is the same with no schema mapping: only a modeline names one.
func unmapped() map[string]any {
	return map[string]any{
		"validate": true, "completion": true, "hover": true,
		"schemaStore": map[string]any{"enable": false},
	}
}

// badSpec has an unknown key in a stage, on line unknownLine (0-based).
const badSpec = `version: 1
stages:
  app:
    from: python:3.12-slim
    wrokdir: /app
    steps:
      - run: echo hello
`

const unknownLine = 4

// unknownKey reports whether the diagnostics have the unknown key's, on
// its line.
func unknownKey(ds []diagnostic) bool {
	return slices.ContainsFunc(ds, func(d diagnostic) bool {
		return d.Range.Start.Line == unknownLine && strings.Contains(d.Message, "wrokdir")
	})
}

// A spec mapped to the schema by file name (yaml.schemas, as in VS Code's
// settings.json and nvim-lspconfig's settings) gets a diagnostic on the
// line of its unknown key.
func TestUnknownKeyDiagnostic(t *testing.T) {
	c := startServer(t, "", mapped(t))
	dir := t.TempDir()
	for _, name := range []string{"ohlcv.build.yaml", "offline.build.yaml"} {
		uri := fileURI(filepath.Join(dir, name))
		c.open(uri, badSpec)
		ds := c.diagnostics(uri, 0, name+" with an unknown key", unknownKey)
		t.Logf("%s: %v", name, ds)
	}
	// A file the mapping does not name is not checked against the schema.
	other := fileURI(filepath.Join(dir, "values.yaml"))
	c.open(other, badSpec)
	c.diagnostics(other, 0, "values.yaml", func([]diagnostic) bool { return true })
	n := c.published(other)
	c.change(other, 2, badSpec)
	if ds := c.diagnostics(other, n, "values.yaml after a change", func([]diagnostic) bool { return true }); unknownKey(ds) {
		t.Errorf("values.yaml is checked against the schema: %v", ds)
	}
}

// The modeline under the # syntax= line names the schema for any file
// name, as a file:// URL or a path relative to the spec.
func TestModeline(t *testing.T) {
	c := startServer(t, "", unmapped())
	dir := t.TempDir()
	rel, err := filepath.Rel(dir, filepath.Join(repoRoot(t), "schema", "ohlcv.build.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	for i, ref := range []string{schemaURI(t), filepath.ToSlash(rel)} {
		uri := fileURI(filepath.Join(dir, fmt.Sprintf("spec%d.yaml", i)))
		text := "# syntax=registry.example/ohlcv-build:v1\n# yaml-language-server: $schema=" + ref + "\n" + badSpec
		c.open(uri, text)
		const line = unknownLine + 2
		ds := c.diagnostics(uri, 0, "a spec with the modeline $schema="+ref, func(ds []diagnostic) bool {
			return slices.ContainsFunc(ds, func(d diagnostic) bool { return d.Range.Start.Line == line && strings.Contains(d.Message, "wrokdir") })
		})
		t.Logf("$schema=%s: %v", ref, ds)
	}
}

// In a checkout, VS Code's settings may name the schema by a path relative
// to the workspace: "./schema/ohlcv.build.schema.json".
func TestWorkspaceRelativeSchema(t *testing.T) {
	c := startServer(t, repoRoot(t), mapped(t, "./schema/ohlcv.build.schema.json"))
	uri := fileURI(filepath.Join(t.TempDir(), "ohlcv.build.yaml"))
	c.open(uri, badSpec)
	c.diagnostics(uri, 0, "a spec mapped to ./schema/ohlcv.build.schema.json", unknownKey)
}

// Completion at a new step offers the step kinds.
func TestStepKindCompletion(t *testing.T) {
	c := startServer(t, "", mapped(t))
	uri := fileURI(filepath.Join(t.TempDir(), "ohlcv.build.yaml"))
	text := "version: 1\nstages:\n  app:\n    from: python:3.12-slim\n    steps:\n      - run: echo hello\n      - \n"
	c.open(uri, text)
	got := c.completeWhen(uri, 6, len("      - "), "run")
	t.Logf("completion in a step: %q", got)
	for _, kind := range []string{"run", "apt", "apk", "pip", "uv", "go", "copy", "parallel", "env", "workdir", "user"} {
		if !slices.Contains(got, kind) {
			t.Errorf("completion in a step offers %q, not %q", got, kind)
		}
	}
	if slices.Contains(got, "from") || slices.Contains(got, "stages") {
		t.Errorf("completion in a step offers keys of a stage or the document: %q", got)
	}
	// In a mount, the mount types.
	text = "version: 1\nstages:\n  app:\n    from: python:3.12-slim\n    steps:\n      - run: echo hello\n        mounts:\n          - type: \n"
	c.change(uri, 2, text)
	got = c.completeWhen(uri, 7, len("          - type: "), "cache")
	for _, typ := range []string{"cache", "secret", "ssh", "tmpfs", "bind"} {
		if !slices.Contains(got, typ) {
			t.Errorf("completion of a mount's type offers %q, not %q", got, typ)
		}
	}
}

// Hovering a key shows its description: the Go doc comment of its field.
func TestHoverShowsDescription(t *testing.T) {
	c := startServer(t, "", mapped(t))
	uri := fileURI(filepath.Join(t.TempDir(), "ohlcv.build.yaml"))
	c.open(uri, badSpec)
	const want = "From is the base: an image reference, the name of another stage"
	if got := c.hoverWhen(uri, 3, len("    fr"), want); !strings.Contains(got, want) {
		t.Fatalf("hover on from shows %s, want %q", got, want)
	}
}

var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// The repository's specs (the flagship, its offline twin, the fixtures and
// the docs' examples, anchors and merge keys included) get no diagnostics
// in the editor.
func TestExamplesHaveNoDiagnostics(t *testing.T) {
	root := repoRoot(t)
	specs := map[string]string{}
	files := []string{"ohlcv.build.yaml", "examples/ohlcv-rag/offline.build.yaml", "llbgraph/graph/testdata/ohlcv.build.yaml"}
	fixtures, err := filepath.Glob(filepath.Join(root, "llbgraph", "testdata", "*", "ohlcv.build.yaml"))
	if err != nil || len(fixtures) == 0 {
		t.Fatalf("no fixtures in llbgraph/testdata (%v)", err)
	}
	for _, f := range fixtures {
		rel, _ := filepath.Rel(root, f)
		files = append(files, rel)
	}
	for _, f := range files {
		dt, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		specs[f] = string(dt)
	}
	for _, doc := range []string{"README.md", "docs/spec.md", "docs/editors.md"} {
		dt, err := os.ReadFile(filepath.Join(root, doc))
		if err != nil {
			t.Fatal(err)
		}
		for i, b := range yamlBlock.FindAllSubmatch(dt, -1) {
			specs[fmt.Sprintf("%s, yaml block %d", doc, i+1)] = string(b[1])
		}
	}

	c := startServer(t, "", mapped(t))
	dir := t.TempDir()
	// The bad spec first: its diagnostic shows that the schema is loaded.
	bad := fileURI(filepath.Join(dir, "bad", "ohlcv.build.yaml"))
	c.open(bad, badSpec)
	c.diagnostics(bad, 0, "the unknown key", unknownKey)

	uris := map[string]string{}
	i := 0
	for name, text := range specs {
		// A modeline naming the published schema names the committed one
		// instead: the test reaches no network.
		text = strings.ReplaceAll(text, "$schema="+schema.URL, "$schema="+schemaURI(t))
		specs[name] = text
		i++
		uri := fileURI(filepath.Join(dir, fmt.Sprint(i), "ohlcv.build.yaml"))
		uris[name] = uri
		c.open(uri, text)
	}
	for name, uri := range uris {
		// The first diagnostics of a document may come before its schema
		// is resolved; a change makes the server check it again.
		c.diagnostics(uri, 0, name, func([]diagnostic) bool { return true })
		n := c.published(uri)
		c.change(uri, 2, specs[name])
		ds := c.diagnostics(uri, n, name+" after a change", func([]diagnostic) bool { return true })
		if len(ds) > 0 {
			t.Errorf("%s: %d diagnostics in the editor, want none:\n%v", name, len(ds), ds)
		}
	}
	t.Logf("%d specs, no diagnostics", len(specs))
}
