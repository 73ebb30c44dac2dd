package check

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/client/llb/sourceresolver"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph"
	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

func load(t *testing.T, file string) *spec.Spec {
	t.Helper()
	dt, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	s, err := spec.Load(filepath.Base(file), dt)
	if err != nil {
		t.Fatalf("load %s: %v", file, err)
	}
	return s
}

// evaluate evaluates s as `frontend check` does, with no image; every
// fixture evaluates.
func evaluate(t *testing.T, s *spec.Spec) *llbgraph.Model {
	t.Helper()
	m, err := llbgraph.Evaluate(context.Background(), s, llbgraph.Opt{BuildPlatform: ocispecs.Platform{OS: "linux", Architecture: "amd64"}})
	if err == nil {
		err = m.Err("")
	}
	if err != nil {
		t.Fatalf("evaluate %s: %v", s.Filename, err)
	}
	return m
}

var wantRe = regexp.MustCompile(`#\s*want:\s*(\w+)`)

// wanted returns the lines of file marked `# want: rule`.
func wanted(t *testing.T, file, rule string) []int {
	dt, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var lines []int
	for i, l := range strings.Split(string(dt), "\n") {
		if m := wantRe.FindStringSubmatch(l); m != nil && m[1] == rule {
			lines = append(lines, i+1)
		}
	}
	return lines
}

// Each rule has a fixture it finds exactly where its `# want:` comments
// say, and one it finds nothing in.
func TestRulesOnTheirFixtures(t *testing.T) {
	if len(Rules()) < 15 {
		t.Fatalf("%d rules, want at least 15", len(Rules()))
	}
	for _, rule := range Rules() {
		t.Run(rule.Name, func(t *testing.T) {
			only := Config{Skip: others(rule), Experimental: []string{rule.Name}}
			bad := filepath.Join("testdata", rule.Name+".bad.yaml")
			want := wanted(t, bad, rule.Name)
			if len(want) == 0 {
				t.Fatalf("%s marks no line with # want: %s", bad, rule.Name)
			}
			var got []int
			for _, f := range Run(evaluate(t, load(t, bad)), only, Input{}) {
				if f.Rule != rule {
					t.Errorf("a finding of another rule: %s", f.Rule.Name)
				}
				got = append(got, f.Range.Start.Line)
				if f.Message == "" || f.Path == "" {
					t.Errorf("a finding without message or path: %+v", f)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s: found on lines %v, want %v", bad, got, want)
			}
			good := filepath.Join("testdata", rule.Name+".good.yaml")
			for _, f := range Run(evaluate(t, load(t, good)), only, Input{}) {
				t.Errorf("%s:%d: %s", good, f.Range.Start.Line, f.Message)
			}
		})
	}
}

// others returns the names of every rule but r.
func others(r *Rule) []string {
	var names []string
	for _, o := range Rules() {
		if o != r {
			names = append(names, o.Name)
		}
	}
	return names
}

// The flagship and its offline twin pass every check, with their own
// configuration: every experimental rule too, but those the spec skips
// (experimental rules asked for by name run even when skipped, as in
// BuildKit's linter, so the test names the others).
func TestFlagshipPassesEveryCheck(t *testing.T) {
	for _, f := range []string{"../../ohlcv.build.yaml", "../../examples/ohlcv-rag/offline.build.yaml"} {
		s := load(t, f)
		cfg := SpecConfig(s)
		for _, r := range Rules() {
			if r.Experimental && !slices.Contains(cfg.Skip, r.Name) {
				cfg.Experimental = append(cfg.Experimental, r.Name)
			}
		}
		for _, x := range Run(evaluate(t, s), cfg, Input{}) {
			t.Errorf("%s:%d:%d: %s: %s", f, x.Range.Start.Line, x.Range.Start.Column, x.Rule.Name, x.Message)
		}
		if err := ValidateConfig(s); err != nil {
			t.Error(err)
		}
	}
}

// The check: block configures the rules, and names in it are checked.
func TestConfig(t *testing.T) {
	s, err := spec.Load("f.yaml", []byte("version: 1\ncheck:\n  skip: [RunsAsRot, all]\n  experimental: [UndescribedTarget]\n  error: true\nstages: {a: {from: scratch}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	err = ValidateConfig(s)
	if want := `f.yaml:3:10: check.skip[0]: unknown check "RunsAsRot" (did you mean "RunsAsRoot"?): see ` + DocsURL + ` for the rules, or use all`; err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	c := SpecConfig(s)
	if !c.SkipAll || !c.Error || !slices.Equal(c.Experimental, []string{"UndescribedTarget"}) {
		t.Errorf("config %+v", c)
	}
	findings := Run(evaluate(t, s), c, Input{})
	if len(findings) != 1 || findings[0].Rule.Name != "UndescribedTarget" {
		t.Errorf("skip all runs only the experimental rule asked for: %v", findings)
	}
	if err := Error(s, c, findings); err == nil || !strings.Contains(err.Error(), "f.yaml:6:10: stages.a: 1 check finding (UndescribedTarget), and check: {error: true} makes them errors") {
		t.Errorf("error: %v", err)
	}
	if err := Error(s, Config{}, findings); err != nil {
		t.Errorf("without error: true: %v", err)
	}
}

// With a target, only the stages it reaches are checked.
func TestTargetLimitsFindings(t *testing.T) {
	s := load(t, "testdata/RunsAsRoot.bad.yaml")
	only := Config{Skip: others(rules[0])}
	all := Run(evaluate(t, s), only, Input{})
	app := Run(evaluate(t, s), only, Input{Target: "app"})
	if len(all) != 2 || len(app) != 1 || app[0].Path != "stages.app" {
		t.Errorf("all %v, app %v", all, app)
	}
}

// .dockerignore counts as an exclude for SecretFileCopied.
func TestDockerignoreCountsForSecretFiles(t *testing.T) {
	s, err := spec.Load("f.yaml", []byte("version: 1\nstages:\n  app:\n    description: x\n    from: python:3.11-slim\n    steps: [{copy: {src: ., dst: /app/}}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	only := Config{Skip: others(ruleNamed("SecretFileCopied"))}
	if f := Run(evaluate(t, s), only, Input{}); len(f) != 1 || !strings.Contains(f[0].Message, ".env, *.pem, *.key, id_rsa*, .npmrc, .netrc, .pypirc") {
		t.Errorf("without .dockerignore: %v", f)
	}
	if f := Run(evaluate(t, s), only, Input{Ignore: []string{".env", "*.pem", "*.key"}}); len(f) != 1 || !strings.Contains(f[0].Message, "id_rsa*, .npmrc, .netrc, .pypirc") {
		t.Errorf("with part of them ignored: %v", f)
	}
	if f := Run(evaluate(t, s), only, Input{Ignore: secretPatterns}); len(f) != 0 {
		t.Errorf("with all of them ignored: %v", f)
	}
}

func ruleNamed(name string) *Rule {
	for _, r := range rules {
		if r.Name == name {
			return r
		}
	}
	panic(fmt.Sprintf("no rule %s", name))
}

// Every rule's name is its URL's anchor, and docs/checks.md has a section
// for it.
func TestEveryRuleIsDocumented(t *testing.T) {
	dt, err := os.ReadFile("../../docs/checks.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Rules() {
		if !strings.Contains(string(dt), "\n## "+r.Name+"\n") {
			t.Errorf("docs/checks.md has no section ## %s", r.Name)
		}
		if !strings.HasSuffix(r.URL(), "#"+strings.ToLower(r.Name)) {
			t.Errorf("URL %s", r.URL())
		}
	}
}

var sectionRe = regexp.MustCompile(`(?m)^## (\w+)\n`)
var yamlRe = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// Each rule's section of docs/checks.md shows a spec the rule finds, then
// one it does not find.
func TestDocsExamples(t *testing.T) {
	dt, err := os.ReadFile("../../docs/checks.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(dt)
	locs := sectionRe.FindAllStringSubmatchIndex(doc, -1)
	seen := 0
	for i, l := range locs {
		name := doc[l[2]:l[3]]
		end := len(doc)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		var rule *Rule
		for _, r := range rules {
			if r.Name == name {
				rule = r
			}
		}
		if rule == nil {
			continue
		}
		seen++
		blocks := yamlRe.FindAllStringSubmatch(doc[l[1]:end], -1)
		if len(blocks) != 2 {
			t.Errorf("%s: %d yaml examples, want before and after", name, len(blocks))
			continue
		}
		only := Config{Skip: others(rule), Experimental: []string{rule.Name}}
		for j, b := range blocks {
			s, err := spec.Load(name+".yaml", []byte(b[1]))
			if err != nil {
				t.Errorf("%s example %d: %v", name, j+1, err)
				continue
			}
			found := len(Run(evaluate(t, s), only, Input{})) > 0
			if found != (j == 0) {
				t.Errorf("%s: the %s example is found: %v", name, map[int]string{0: "before", 1: "after"}[j], found)
			}
		}
	}
	if seen != len(rules) {
		t.Errorf("%d rules have sections, want %d", seen, len(rules))
	}
}

// ShellFormEntrypoint suggests the list the shell would have run: quoted
// words stay one entry, each entry is a YAML string.
func TestExecFormSuggestion(t *testing.T) {
	for in, want := range map[string]string{
		`python -m app`:                 `["python", "-m", "app"]`,
		`python -c "import x; x.run()"`: `["python", "-c", "import x; x.run()"]`,
		`serve --port $PORT 'a b'`:      `["serve", "--port", "$PORT", "a b"]`,
	} {
		if got := execForm(in); got != want {
			t.Errorf("execForm(%q) = %s, want %s", in, got, want)
		}
	}
}

// The rules judge the model: without images, a stage with no user of its
// own may run as root (its base image's user is unknown); when the base
// image's config is known, the rule reads the user it sets. A ${NAME} only
// the base image could set is unknown, not undeclared, and not root.
func TestRulesReadWhatTheBaseImageSets(t *testing.T) {
	s, err := spec.Load("f.yaml", []byte(`version: 1
stages:
  app:
    description: An app
    from: example.com/app:1
    image: {entrypoint: [app]}
  other:
    description: Another app
    from: example.com/app:1
    user: ${APP_USER}
    image: {entrypoint: [app]}
`))
	if err != nil {
		t.Fatal(err)
	}
	only := Config{Skip: others(ruleNamed("RunsAsRoot"))}
	lines := func(findings []Finding) []int {
		var out []int
		for _, f := range findings {
			out = append(out, f.Range.Start.Line)
		}
		return out
	}
	if got := lines(Run(evaluate(t, s), only, Input{})); !slices.Equal(got, []int{3}) {
		t.Errorf("without images, findings on lines %v, want [3]", got)
	}
	withUser := func(_ context.Context, ref string, _ sourceresolver.Opt) (string, digest.Digest, []byte, error) {
		var img dockerspec.DockerOCIImage
		img.OS, img.Architecture = "linux", "amd64"
		img.Config.User = "app"
		img.Config.Env = []string{"APP_USER=root"}
		dt, err := json.Marshal(img)
		return ref, digest.FromBytes(dt), dt, err
	}
	m, err := llbgraph.Evaluate(context.Background(), s, llbgraph.Opt{BuildPlatform: ocispecs.Platform{OS: "linux", Architecture: "amd64"}, ResolveImageConfig: withUser})
	if err != nil {
		t.Fatal(err)
	}
	if got := lines(Run(m, only, Input{})); !slices.Equal(got, []int{10}) {
		t.Errorf("with the image's config, findings on lines %v, want [10] (user: ${APP_USER} is root there)", got)
	}
}

// A stage that cannot be evaluated is not judged, nor are the stages that
// need it; the others are, and the model says why.
func TestStagesThatDoNotEvaluate(t *testing.T) {
	s, err := spec.Load("f.yaml", []byte(`version: 1
stages:
  broken:
    description: Reads an undeclared arg
    from: python:${PY}
    image: {entrypoint: [app]}
  child:
    description: Builds on it
    from: broken
  app:
    description: An app
    from: python:3.12-slim
    image: {entrypoint: [app]}
`))
	if err != nil {
		t.Fatal(err)
	}
	m, err := llbgraph.Evaluate(context.Background(), s, llbgraph.Opt{BuildPlatform: ocispecs.Platform{OS: "linux", Architecture: "amd64"}})
	if err != nil {
		t.Fatal(err)
	}
	only := Config{Skip: others(ruleNamed("RunsAsRoot"))}
	if f := Run(m, only, Input{}); len(f) != 1 || f[0].Path != "stages.app" {
		t.Errorf("findings %v, want one about app", f)
	}
	want := "f.yaml:5:11: stages.broken.from: ${PY} is not declared: declare it under args (with an empty default if it may be unset)"
	for _, target := range []string{"", "broken", "child"} {
		if err := m.Err(target); err == nil || err.Error() != want {
			t.Errorf("target %q: error %v, want %s", target, err, want)
		}
	}
	if err := m.Err("app"); err != nil {
		t.Errorf("app evaluates, but: %v", err)
	}
}
