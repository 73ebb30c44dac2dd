package llbgraph

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/moby/buildkit/client/llb/sourceresolver"
	digest "github.com/opencontainers/go-digest"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// docErrors are the bad inputs docs/spec.md lists, each with the error it
// gets: from Load, or from compiling target (the last stage when empty).
var docErrors = []struct {
	what, src, target string
}{
	{"Unknown key (typo)", "version: 1\nstages:\n  app:\n    from: scratch\n    wrokdir: /app\n", ""},
	{"`x-` key below the top level", "version: 1\nstages:\n  app:\n    from: scratch\n    x-foo: 1\n", ""},
	{"Wrong type", "version: 1\nstages:\n  app:\n    from: [python]\n", ""},
	{"Wrong type, boolean", "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - copy: {src: a, dst: b, link: yes please}\n", ""},
	{"Wrong type, number", "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - run: x\n        mounts: [{type: cache, target: /c, uid: app}]\n", ""},
	{"`version` written as a string", "version: !!str 1\nstages:\n  app:\n    from: scratch\n", ""},
	{"A step written as a plain string", "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - make all\n", ""},
	{"Key set twice", "version: 1\nstages:\n  app:\n    from: scratch\n    from: busybox\n", ""},
	{"Empty value where one is needed", "version: 1\nstages:\n  app:\n    from: scratch\n    workdir: \"\"\n", ""},
	{"YAML syntax error", "version: 1\nstages:\n  app:\n    from: [python\n", ""},
	{"A key aligned with its list item's `-`", "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - run: make\n      mounts: [{type: cache, target: /c}]\n", ""},
	{"A key between two levels", "version: 1\nstages:\n  app:\n    from: scratch\n   image: {cmd: [app]}\n", ""},
	{"A key indented further than the key above it", "version: 1\nstages:\n  app:\n    from: scratch\n      image: {cmd: [app]}\n", ""},
	{"A key under a key whose value is on its line", "version: 1\nstages:\n  app:\n    from: scratch\n    image:\n      cmd: [app]\n        expose: [80]\n", ""},
	{"A list item's `-` out of line with the others", "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - run: make\n     - run: make install\n", ""},
	{"A key of a step at the stage's level (a list not indented)", "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n    - run: make\n    mounts: [{type: cache, target: /c}]\n", ""},
	{"`: ` in an unquoted command", "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - run: echo building: now\n", ""},
	{"Alias before (or without) its anchor", "version: 1\nstages:\n  app:\n    from: *base\n", ""},
	{"Empty file (white space or comments only)", "\t\n# nothing yet\n", ""},
	{"Several YAML documents", "version: 1\n---\nstages: {}\n", ""},
	{"Text after the end-of-document marker `...`", "version: 1\nstages:\n  app:\n    from: scratch\n...\nmore: text\n", ""},
	{"Not UTF-8", "version: 1\nstages:\n  app:\n    from: \"caf\xe9\"\n", ""},
	{"UTF-16", "\xff\xfev\x00e\x00r\x00", ""},
	{"A control character in the text", "version: 1\nstages:\n  app:\n    from: sc\x1bratch\n", ""},
	{"Another `%YAML` version", "%YAML 2.0\n---\nversion: 1\n", ""},
	{"Missing `version`", "stages:\n  app:\n    from: scratch\n", ""},
	{"Unknown `version`", "version: 2\nstages:\n  app:\n    from: scratch\n", ""},
	{"No stages", "version: 1\n", ""},
	{"Empty `stages`", "version: 1\nstages: {}\n", ""},
	{"`default` names no stage", "version: 1\ndefault: runtme\nstages:\n  runtime:\n    from: scratch\n", ""},
	{"Bad arg name", "version: 1\nargs: {1X: a}\nstages:\n  app:\n    from: scratch\n", ""},
	{"Declaring a platform arg", "version: 1\nargs: {TARGETARCH: x}\nstages:\n  app:\n    from: scratch\n", ""},
	{"Bad `exclude` pattern", "version: 1\nexclude: [\"[\"]\nstages:\n  app:\n    from: scratch\n", ""},
	{"Bad stage name (at its key)", "version: 1\nstages:\n  App:\n    from: scratch\n", ""},
	{"Missing `from`", "version: 1\nstages:\n  app:\n    description: x\n", ""},
	{"`from` itself", "version: 1\nstages:\n  app:\n    from: app\n", ""},
	{"`from` names no stage and is no image reference", "version: 1\nstages:\n  base:\n    from: scratch\n  app:\n    from: Base\n", ""},
	{"Cycle between stages", "version: 1\nstages:\n  a:\n    from: b\n  b:\n    from: a\n", ""},
	{"Cycle made through `${...}`", "version: 1\nargs: {B: b}\nstages:\n  a:\n    from: scratch\n    steps:\n      - copy: {from: \"${B}\", src: /x, dst: /x}\n  b:\n    from: a\n", "b"},
	{"`from` names no stage but is a typo of one (a bare name)", "version: 1\nstages:\n  builder:\n    from: scratch\n  app:\n    from: buildr\n", ""},
	{"Image not found", "version: 1\nstages:\n  builder:\n    from: scratch\n  app:\n    from: nosuchimage:1.0\n", ""},
	{"Invalid platform", "version: 1\nstages:\n  app:\n    from: scratch\n    platform: linux/notanarch/x/y\n", ""},
	{"`platform` differs from the base stage's", "version: 1\nstages:\n  base:\n    from: scratch\n    platform: linux/arm64\n  app:\n    from: base\n    platform: linux/amd64\n", ""},
	{"Unknown target (`--target bse`)", "version: 1\nstages:\n  base:\n    from: scratch\n", "bse"},
	{"Undeclared `${VAR}`", "version: 1\nargs: {PYTHON_VERSION: \"3.12\"}\nstages:\n  app:\n    from: python:${PYTHON_VERSON}-slim\n", ""},
	{"Undeclared, with a default (`${PY:-3.12}`)", "version: 1\nstages:\n  app:\n    from: python:${PY:-3.12}-slim\n", ""},
	{"Undeclared where env is seen", "version: 1\nstages:\n  app:\n    from: scratch\n    workdir: /${APPDIR}\n", ""},
	{"A default naming a later arg", "version: 1\nargs:\n  a: \"${b}-x\"\n  b: y\nstages:\n  app:\n    from: scratch\n", ""},
	{"Unterminated `${...}`", "version: 1\nargs: {V: \"3.12\"}\nstages:\n  app:\n    from: python:${V\n", ""},
	{"`$$`", "version: 1\nstages:\n  app:\n    from: scratch\n    env: {PRICE: \"$$5\"}\n", ""},
	{"An expansion over 1 MiB", "version: 1\nargs:\n  A: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n  B: ${A//?/${A}}\n  C: ${B//?/${B}}\nstages:\n  app:\n    from: scratch\n", ""},
	{"Step with a mistyped kind", "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - rn: make\n", ""},
	{"Step with no kind", "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - {mounts: []}\n", ""},
	{"Two kinds in one step", "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - {run: x, copy: {src: a, dst: b}}\n", ""},
	{"Empty command", "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - run: \" \"\n", ""},
	{"Bad package name", "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - apt: [curl, \"curl; rm -rf /\"]\n", ""},
	{"`mounts`/`network` on a non-run step", "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - copy: {src: a, dst: b}\n        mounts: [{type: tmpfs, target: /t}]\n", ""},
	{"`env` beside copy/workdir/user/parallel", "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - copy: {src: a, dst: b}\n        env: {A: b}\n", ""},
	{"Invalid network", "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - run: x\n        network: bridge\n", ""},
	{"Invalid security mode", "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - run: x\n        security: insecur\n", ""},
	{"Device without a name", "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - run: x\n        devices: [{required: true}]\n", ""},
	{"Invalid variable name", "version: 1\nstages:\n  app:\n    from: scratch\n    env: {\"MY VAR\": x}\n", ""},
	{"Preset run as non-root", "version: 1\nstages:\n  app:\n    from: python:3.11-slim\n    user: app\n    steps:\n      - apt: [curl]\n", ""},
	{"Mount without type", "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - run: x\n        mounts: [{target: /c}]\n", ""},
	{"Bad mount type", "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - run: x\n        mounts: [{type: cahce, target: /c}]\n", ""},
	{"Mount without target", "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - run: x\n        mounts: [{type: cache, id: c}]\n", ""},
	{"Key not valid for the mount type", "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - run: x\n        mounts: [{type: secret, id: k, sharing: locked}]\n", ""},
	{"Secret with `target` and `env`", "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - run: x\n        mounts: [{type: secret, id: k, target: /k, env: K}]\n", ""},
	{"Secret with neither `id` nor `target`", "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - run: x\n        mounts: [{type: secret, env: K}]\n", ""},
	{"Secret `env` that is no variable name", "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - run: x\n        mounts: [{type: secret, id: k, env: \"A=B\"}]\n", ""},
	{"Invalid sharing", "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - run: x\n        mounts: [{type: cache, target: /c, sharing: lockd}]\n", ""},
	{"Read-only locked cache", "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - run: x\n        mounts: [{type: cache, target: /c, sharing: locked, readonly: true}]\n", ""},
	{"Mount on `/` (any type)", "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - run: x\n        mounts: [{type: secret, id: k, target: /}]\n", ""},
	{"Invalid mode", "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - run: x\n        mounts: [{type: cache, target: /c, mode: rwx}]\n", ""},
	{"Invalid size", "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - run: x\n        mounts: [{type: tmpfs, target: /t, size: lots}]\n", ""},
	{"copy without src / dst", "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - copy: {dst: /x}\n", ""},
	{"Several sources, dst without `/`", "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - copy: {src: [a, b], dst: /app}\n", ""},
	{"Invalid chmod", "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - copy: {src: a, dst: /b, chmod: \"0999\"}\n", ""},
	{"Invalid owner (`chown`, `user`)", "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - copy: {src: a, dst: /b, chown: \":::\"}\n", ""},
	{"`link` with chown by name", "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - copy: {src: a, dst: /b, link: true, chown: app}\n", ""},
	{"A copy with `content` and `src`", "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - copy: {content: x, src: a, dst: /b}\n", ""},
	{"A copy with `content` to a directory", "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - copy: {content: x, dst: /etc/}\n", ""},
	{"`shell` as a string", "version: 1\nstages:\n  app:\n    from: scratch\n    shell: /bin/bash -c\n", ""},
	{"Nested parallel", "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - parallel:\n          - parallel: [{run: x}]\n", ""},
	{"Branch that changes no files", "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - parallel:\n          - run: x\n          - workdir: /w\n", ""},
	{"Invalid port (the nth is named)", "version: 1\nstages:\n  app:\n    from: scratch\n    image:\n      expose: [80, http]\n", ""},
	{"Port out of range, or a range too wide", "version: 1\nstages:\n  app:\n    from: scratch\n    image:\n      expose: [70000, 1-2000]\n", ""},
	{"Unknown stop signal", "version: 1\nstages:\n  app:\n    from: scratch\n    image: {stopsignal: SIGFOO}\n", ""},
	{"Empty label name", "version: 1\nstages:\n  app:\n    from: scratch\n    image: {labels: {\"\": x}}\n", ""},
	{"Invalid duration", "version: 1\nstages:\n  app:\n    from: scratch\n    image:\n      healthcheck: {test: [CMD, \"true\"], interval: 30}\n", ""},
	{"Bad healthcheck test", "version: 1\nstages:\n  app:\n    from: scratch\n    image:\n      healthcheck: {test: [curl, x]}\n", ""},
	{"Healthcheck without test", "version: 1\nstages:\n  app:\n    from: scratch\n    image:\n      healthcheck: {interval: 30s}\n", ""},
}

// docsErrorTable renders the table of bad inputs and their errors.
func docsErrorTable(t *testing.T) string {
	notFound := func(_ context.Context, ref string, _ sourceresolver.Opt) (string, digest.Digest, []byte, error) {
		if strings.Contains(ref, "nosuchimage") {
			return "", "", nil, fmt.Errorf("%s: not found", ref)
		}
		return anyImage(context.Background(), ref, sourceresolver.Opt{})
	}
	var b strings.Builder
	b.WriteString("| Bad input | Error |\n|---|---|\n")
	for _, c := range docErrors {
		var err error
		s, err := spec.Load(spec.DefaultFilename, []byte(c.src))
		if err == nil {
			opt := testOpt(c.target)
			opt.ResolveImageConfig = notFound
			_, err = Compile(context.Background(), s, opt)
		}
		if err == nil {
			t.Errorf("%s: no error", c.what)
			continue
		}
		var msgs []string
		for _, e := range spec.Errors(err) {
			m := strings.ReplaceAll(e.Error(), "|", `\|`)
			if strings.Contains(m, "`") {
				msgs = append(msgs, "`` "+m+" ``")
			} else {
				msgs = append(msgs, "`"+m+"`")
			}
		}
		fmt.Fprintf(&b, "| %s | %s |\n", c.what, strings.Join(msgs, "<br>"))
	}
	return b.String()
}

var errorsBlock = regexp.MustCompile(`(?s)<!-- errors:begin -->\n.*<!-- errors:end -->`)

// The table of bad inputs in docs/spec.md is what the frontend says: this
// test makes it, and fails when the docs differ (run with -update).
func TestDocsErrorTable(t *testing.T) {
	const file = "../docs/spec.md"
	dt, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	block := "<!-- errors:begin -->\n" + docsErrorTable(t) + "<!-- errors:end -->"
	if !errorsBlock.Match(dt) {
		t.Fatalf("%s has no errors:begin/end block", file)
	}
	updated := errorsBlock.ReplaceAllLiteral(dt, []byte(block))
	if *update {
		if err := os.WriteFile(file, updated, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if string(updated) != string(dt) {
		t.Errorf("the error table of %s is stale; run `go test ./llbgraph -run TestDocsErrorTable -update`\n%s", file, firstDiff(dt, updated))
	}
}
