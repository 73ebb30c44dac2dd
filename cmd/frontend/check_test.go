package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// writeDir writes files into a new directory.
func writeDir(t *testing.T, files map[string]string) string {
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const checkedSpec = `version: 1
args: {API_TOKEN: ""}
stages:
  app:
    description: An app
    from: python:3.11-slim
    steps:
      - copy: {src: ., dst: /app/}
    image: {entrypoint: [python, -m, app]}
`

// brokenSpec has a stage that does not evaluate, and one that does.
const brokenSpec = `version: 1
stages:
  broken:
    description: Reads an undeclared arg
    from: python:${PY}
    image: {entrypoint: [app]}
  app:
    description: An app
    from: python:3.12-slim
    image: {entrypoint: [app]}
`

// frontend check exits 0 on a clean spec, 1 with findings and 2 when the
// spec does not load or a stage it checks does not evaluate, in every format, and reads the context's
// .dockerignore.
func TestCheckCommand(t *testing.T) {
	clean := "version: 1\nstages:\n  app:\n    description: A tool\n    from: python:3.11-slim\n"
	for _, c := range []struct {
		name   string
		files  map[string]string
		args   []string
		code   int
		output []string
	}{
		{"clean", map[string]string{"ohlcv.build.yaml": clean}, nil, 0, nil},
		{"findings", map[string]string{"ohlcv.build.yaml": checkedSpec}, nil, 1, []string{
			"ohlcv.build.yaml:2:8: SecretInArgOrEnv:", "ohlcv.build.yaml:4:3: MissingHealthcheck:", "ohlcv.build.yaml:4:3: RunsAsRoot:",
			"ohlcv.build.yaml:8:21: SecretFileCopied: this copies the whole context, and neither .dockerignore nor exclude leaves out .env, *.pem, *.key, id_rsa*, .npmrc, .netrc, .pypirc",
			"\n5 findings in "}},
		{"one finding", map[string]string{"ohlcv.build.yaml": "version: 1\nstages:\n  app:\n    description: A tool\n    from: python\n"}, nil, 1, []string{
			"ohlcv.build.yaml:5:11: UnpinnedBaseImage:", "\n1 finding in "}},
		{"dockerignore counts", map[string]string{"ohlcv.build.yaml": checkedSpec, ".dockerignore": ".env\n*.pem\n*.key\nid_rsa*\n"}, nil, 1, []string{
			"SecretFileCopied: this copies the whole context, and neither .dockerignore nor exclude leaves out .npmrc, .netrc, .pypirc"}},
		{"json", map[string]string{"ohlcv.build.yaml": checkedSpec}, []string{"--format", "json"}, 1, []string{`"ruleName": "RunsAsRoot"`, `"url": "https://github.com/ohlcv-rag/ohlcv-build/blob/main/docs/checks.md#runsasroot"`}},
		{"load error", map[string]string{"ohlcv.build.yaml": "version: 1\nstages: {a: {form: x}}\n"}, nil, 2, []string{`stages.a.form: unknown key "form" (did you mean "from"?)`}},
		{"load error as json", map[string]string{"ohlcv.build.yaml": "version: 1\nstages: {a: {form: x}}\n"}, []string{"--format", "json"}, 2, []string{`"buildError"`, `unknown key \"form\"`}},
		{"unknown check", map[string]string{"ohlcv.build.yaml": "version: 1\ncheck: {skip: [RunAsRoot]}\nstages: {a: {from: scratch}}\n"}, nil, 2, []string{`check.skip[0]: unknown check "RunAsRoot" (did you mean "RunsAsRoot"?)`}},
		{"other file, flags after the directory", map[string]string{"app.yaml": checkedSpec}, []string{"-f", "DIR/app.yaml", "DIR", "--format", "text", "--target", "app"}, 1, []string{"app.yaml:4:3: RunsAsRoot:"}},
		{"missing file", map[string]string{}, nil, 2, []string{"no such file"}},
		{"a stage that does not evaluate", map[string]string{"ohlcv.build.yaml": brokenSpec}, nil, 2, []string{"ohlcv.build.yaml:5:11: stages.broken.from: ${PY} is not declared"}},
		{"a stage that does not evaluate, as json", map[string]string{"ohlcv.build.yaml": brokenSpec}, []string{"--format", "json"}, 2, []string{`"buildError"`, `${PY} is not declared`, `"ruleName": "RunsAsRoot"`}},
		{"a stage the target does not reach does not evaluate", map[string]string{"ohlcv.build.yaml": brokenSpec}, []string{"--target", "app"}, 1, []string{"ohlcv.build.yaml:7:3: RunsAsRoot:"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := writeDir(t, c.files)
			args := []string{dir}
			if c.args != nil {
				args = nil
				for _, a := range c.args {
					args = append(args, strings.ReplaceAll(a, "DIR", dir))
				}
				if !strings.Contains(strings.Join(c.args, " "), "DIR") {
					args = append(args, dir)
				}
			}
			expectCheck(t, args, c.code, c.output)
		})
	}
}

// The SARIF output, with findings and with load or evaluation errors, is valid SARIF
// 2.1.0 (the OASIS schema, from the npm package @microsoft/jest-sarif).
func TestCheckSARIFIsValid(t *testing.T) {
	c := jsonschema.NewCompiler()
	schema, err := c.Compile("../../llbgraph/check/testdata/sarif-2.1.0-rtm.5.json")
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		"findings":                      checkedSpec,
		"clean":                         "version: 1\nstages:\n  app:\n    description: A tool\n    from: python:3.11-slim\n",
		"load error":                    "version: 1\nstages: {a: {form: x}}\n",
		"evaluation error and findings": brokenSpec,
	} {
		t.Run(name, func(t *testing.T) {
			dir := writeDir(t, map[string]string{"ohlcv.build.yaml": content})
			var stdout, stderr bytes.Buffer
			runCheck([]string{"--format", "sarif", dir}, &stdout, &stderr)
			var doc any
			if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
				t.Fatalf("%v\n%s%s", err, stdout.String(), stderr.String())
			}
			if err := schema.Validate(doc); err != nil {
				t.Errorf("invalid SARIF: %v", err)
			}
			if strings.Contains(name, "error") && !strings.Contains(stdout.String(), `"executionSuccessful": false`) {
				t.Errorf("a load error is not a failed execution:\n%s", stdout.String())
			}
		})
	}
}

// -f is read in DIR: `check -f ohlcv.build.yaml /other/dir` checks
// /other/dir's spec, not the current directory's; an absolute -f is read
// where it is, with DIR's .dockerignore; and a -f that names a file only
// from the current directory fails, saying how -f is read.
func TestCheckFileIsReadInDir(t *testing.T) {
	clean := "version: 1\nstages:\n  app:\n    description: A tool\n    from: python:3.11-slim\n"
	cwd := writeDir(t, map[string]string{"ohlcv.build.yaml": clean, "app.yaml": clean, "only-here.yaml": clean})
	t.Chdir(cwd)
	other := writeDir(t, map[string]string{"ohlcv.build.yaml": checkedSpec, "app.yaml": checkedSpec})
	ignoring := writeDir(t, map[string]string{".dockerignore": ".env\n*.pem\n*.key\nid_rsa*\n.npmrc\n.netrc\n.pypirc\n"})
	for _, c := range []struct {
		name   string
		args   []string
		code   int
		output []string
	}{
		{"default file in DIR", []string{other}, 1, []string{filepath.Join(other, "ohlcv.build.yaml") + ":4:3: RunsAsRoot:"}},
		{"-f in DIR", []string{"-f", "ohlcv.build.yaml", other}, 1, []string{filepath.Join(other, "ohlcv.build.yaml") + ":4:3: RunsAsRoot:"}},
		{"-f after DIR", []string{other, "-f", "app.yaml"}, 1, []string{filepath.Join(other, "app.yaml") + ":4:3: RunsAsRoot:"}},
		{"-f without DIR", []string{"-f", "app.yaml"}, 0, nil},
		{"absolute -f, DIR's .dockerignore", []string{"-f", filepath.Join(other, "app.yaml"), ignoring}, 1, []string{filepath.Join(other, "app.yaml") + ":4:3: RunsAsRoot:", "\n4 findings in "}},
		{"-f from the current directory", []string{"-f", "only-here.yaml", other}, 2, []string{
			"no such file or directory (-f is read in DIR, " + other + "; for ./only-here.yaml, pass -f " + filepath.Join(cwd, "only-here.yaml") + ")"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			expectCheck(t, c.args, c.code, c.output)
		})
	}
}

// expectCheck runs frontend check ARGS, which must exit with code and
// print each of output.
func expectCheck(t *testing.T, args []string, code int, output []string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	got := runCheck(args, &stdout, &stderr)
	out := stdout.String() + stderr.String()
	if got != code {
		t.Errorf("exit %d, want %d\n%s", got, code, out)
	}
	for _, w := range output {
		if !strings.Contains(out, w) {
			t.Errorf("no %q in\n%s", w, out)
		}
	}
}
