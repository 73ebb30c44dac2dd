//go:build integration

package integration

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// fiveRules breaks five of the checks' rules, each on a line the test
// knows: SecretInArgOrEnv (2), RunsAsRoot and MissingHealthcheck (4),
// UnpinnedBaseImage (6), PackageInstallWithoutCache (8).
const fiveRules = `version: 1
args: {API_TOKEN: "${TARGETARCH}"}
stages:
  app:
    description: Breaks five rules
    from: busybox:latest
    steps:
      - run: echo "$API_TOKEN" > /t; apk add --no-network curl 2>/dev/null || true
    image: {entrypoint: [cat, /t]}
`

// The build's lines that are the syntax line's (writeContext adds it):
// every spec line is one further down in the file.
const syntaxLines = 1

// runBuildx runs docker buildx with the harness's builder and returns its
// output and exit error.
func runBuildx(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := buildxCommand(t, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BUILDX_BUILDER="+engineEnv(t, "BUILDX_BUILDER"))
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	err := cmd.Run()
	return b.String(), err
}

// docker buildx build --call=check, through the frontend image: the five
// findings, each with its rule, link and line, and a non-zero exit.
func TestCallCheckThroughBuildx(t *testing.T) {
	dir := writeContext(t, fiveRules, nil)
	out, err := runBuildx(t, dir, "build", "--call=check", "-f", filepath.Join(dir, "ohlcv.build.yaml"), dir)
	if err == nil {
		t.Fatalf("--call=check exited 0 on five findings:\n%s", out)
	}
	for rule, line := range map[string]int{"SecretInArgOrEnv": 2, "RunsAsRoot": 4, "MissingHealthcheck": 4, "UnpinnedBaseImage": 6, "PackageInstallWithoutCache": 8} {
		want := regexp.MustCompile(`(?s)WARNING: ` + rule + ` - https://github.com/ohlcv-rag/ohlcv-build/blob/main/docs/checks.md#` + strings.ToLower(rule) + `\n[^\n]*\n[^\n]*ohlcv.build.yaml:` + itoa(line+syntaxLines) + `\n`)
		if !want.MatchString(out) {
			t.Errorf("no %s at line %d in:\n%s", rule, line+syntaxLines, out)
		}
	}
	if n := strings.Count(out, "WARNING: "); n != 5 {
		t.Errorf("%d warnings, want 5:\n%s", n, out)
	}

	// format=json is the lint subrequest's result.
	jsonOut, _ := runBuildx(t, dir, "build", "--call=check,format=json", "-f", filepath.Join(dir, "ohlcv.build.yaml"), dir)
	var res struct {
		Warnings []struct {
			RuleName string `json:"ruleName"`
		} `json:"warnings"`
	}
	if err := json.Unmarshal([]byte(jsonOut[strings.Index(jsonOut, "{"):]), &res); err != nil {
		t.Fatalf("json: %v\n%s", err, jsonOut)
	}
	var names []string
	for _, w := range res.Warnings {
		names = append(names, w.RuleName)
	}
	slices.Sort(names)
	if want := []string{"MissingHealthcheck", "PackageInstallWithoutCache", "RunsAsRoot", "SecretInArgOrEnv", "UnpinnedBaseImage"}; !slices.Equal(names, want) {
		t.Errorf("json rules %v, want %v", names, want)
	}

	// BUILDKIT_DOCKERFILE_CHECK overrides the spec's configuration.
	skipped, err := runBuildx(t, dir, "build", "--call=check", "--build-arg", "BUILDKIT_DOCKERFILE_CHECK=skip=RunsAsRoot,MissingHealthcheck,SecretInArgOrEnv,UnpinnedBaseImage,PackageInstallWithoutCache", "-f", filepath.Join(dir, "ohlcv.build.yaml"), dir)
	if err != nil || strings.Contains(skipped, "WARNING") {
		t.Errorf("with every finding's rule skipped: %v\n%s", err, skipped)
	}
	bad, err := runBuildx(t, dir, "build", "--call=check", "--build-arg", "BUILDKIT_DOCKERFILE_CHECK=skip", "-f", filepath.Join(dir, "ohlcv.build.yaml"), dir)
	if err == nil || !strings.Contains(bad, "BUILDKIT_DOCKERFILE_CHECK") {
		t.Errorf("a malformed BUILDKIT_DOCKERFILE_CHECK: %v\n%s", err, bad)
	}
}

// A normal build warns about every finding, and buildx says how many; with
// check: {error: true} the build fails at the first finding's line.
func TestChecksInBuilds(t *testing.T) {
	dir := writeContext(t, fiveRules, nil)
	out, err := runBuildx(t, dir, "build", "--progress=plain", "-f", filepath.Join(dir, "ohlcv.build.yaml"), "--output", "type=cacheonly", dir)
	if err != nil {
		t.Fatalf("the build failed: %v\n%s", err, out)
	}
	if !strings.Contains(out, "5 warnings found") || !strings.Contains(out, "RunsAsRoot: stage \"app\" has an entrypoint or cmd but sets no user") {
		t.Errorf("no warnings in the build's output:\n%s", out)
	}

	strict := writeContext(t, strings.Replace(fiveRules, "version: 1\n", "version: 1\ncheck: {error: true}\n", 1), nil)
	out, err = runBuildx(t, strict, "build", "--progress=plain", "-f", filepath.Join(strict, "ohlcv.build.yaml"), "--output", "type=cacheonly", strict)
	if err == nil {
		t.Fatalf("check: {error: true} did not fail the build:\n%s", out)
	}
	if !strings.Contains(out, "5 check findings (") || !strings.Contains(out, "check: {error: true} makes them errors") || !strings.Contains(out, "ohlcv.build.yaml:"+itoa(3+syntaxLines)) {
		t.Errorf("the failure does not say why or where:\n%s", out)
	}

	unknown := writeContext(t, strings.Replace(fiveRules, "version: 1\n", "version: 1\ncheck: {skip: [RunAsRoot]}\n", 1), nil)
	out, err = runBuildx(t, unknown, "build", "--call=check", "-f", filepath.Join(unknown, "ohlcv.build.yaml"), unknown)
	if err == nil || !strings.Contains(out, `unknown check "RunAsRoot" (did you mean "RunsAsRoot"?)`) {
		t.Errorf("an unknown rule name: %v\n%s", err, out)
	}
}

// frontend check, the binary, with no daemon: SARIF that validates against
// the SARIF 2.1.0 schema, exit 1 on findings and 2 on a spec that does not
// load.
func TestCheckCommandSARIF(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "frontend")
	build := exec.Command("go", "build", "-o", bin, "./cmd/frontend")
	build.Dir = repoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	schema, err := jsonschema.NewCompiler().Compile(filepath.Join(repoRoot(), "llbgraph/check/testdata/sarif-2.1.0-rtm.5.json"))
	if err != nil {
		t.Fatal(err)
	}
	for spec, code := range map[string]int{fiveRules: 1, "version: 1\nstages: {a: {form: x}}\n": 2} {
		dir := writeContext(t, spec, nil)
		cmd := exec.Command(bin, "check", "--format", "sarif", dir)
		var stdout bytes.Buffer
		cmd.Stdout = &stdout
		err := cmd.Run()
		var exit *exec.ExitError
		if !asExit(err, &exit) || exit.ExitCode() != code {
			t.Errorf("exit %v, want %d", err, code)
		}
		var doc any
		if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
			t.Fatalf("%v\n%s", err, stdout.String())
		}
		if err := schema.Validate(doc); err != nil {
			t.Errorf("invalid SARIF: %v\n%s", err, stdout.String())
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func asExit(err error, target **exec.ExitError) bool { return errors.As(err, target) }
