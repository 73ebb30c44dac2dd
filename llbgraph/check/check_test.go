package check

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

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
			for _, f := range Run(load(t, bad), only, Input{}) {
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
			for _, f := range Run(load(t, good), only, Input{}) {
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
// configuration.
func TestFlagshipPassesEveryCheck(t *testing.T) {
	for _, f := range []string{"../../ohlcv.build.yaml", "../../examples/ohlcv-rag/offline.build.yaml"} {
		s := load(t, f)
		cfg := SpecConfig(s)
		cfg.ExperimentalAll = true
		for _, x := range Run(s, cfg, Input{}) {
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
	findings := Run(s, c, Input{})
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
	all := Run(s, only, Input{})
	app := Run(s, only, Input{Target: "app"})
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
	if f := Run(s, only, Input{}); len(f) != 1 || !strings.Contains(f[0].Message, ".env, *.pem, *.key, id_rsa*, .npmrc, .netrc, .pypirc") {
		t.Errorf("without .dockerignore: %v", f)
	}
	if f := Run(s, only, Input{Ignore: []string{".env", "*.pem", "*.key"}}); len(f) != 1 || !strings.Contains(f[0].Message, "id_rsa*, .npmrc, .netrc, .pypirc") {
		t.Errorf("with part of them ignored: %v", f)
	}
	if f := Run(s, only, Input{Ignore: secretPatterns}); len(f) != 0 {
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
			found := len(Run(s, only, Input{})) > 0
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
