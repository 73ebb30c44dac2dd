package spec

import (
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"
)

const fullSpec = `# syntax=example.com/ohlcv-build:1
version: 1
args:
  PYTHON_VERSION: 3.10
  CACHE_DATE:
exclude: ["**/__pycache__", .git/]
default: runtime
x-uv-cache: &uvcache {type: cache, target: /root/.cache/uv, sharing: locked}
stages:
  base:
    description: Common system dependencies
    from: python:${PYTHON_VERSION}-slim
    platform: ${BUILDPLATFORM}
    env: {PYTHONDONTWRITEBYTECODE: 1, B: two}
    workdir: /app
    user: root
    steps:
      - apt: [curl, git]
      - run: uv sync --frozen --no-dev
        mounts:
          - *uvcache
          - {type: secret, id: api_key, env: API_KEY, required: true}
        env: {UV_LINK_MODE: copy}
        network: none
      - run: |
          set -e
          useradd -m -u 1000 ohlcv
      - run: [python, -c, "print(1)"]
      - copy: {src: [pyproject.toml, uv.lock], dst: ./}
      - parallel:
          - uv: tool install ipython
          - pip: [install, ruff]
      - env: {PATH: "/opt/venv/bin:${PATH}"}
      - workdir: /app
      - user: ohlcv
  runtime:
    from: base
    steps:
      - copy: {from: base, src: /tmp/.venv, dst: /opt/venv, chown: "1000:1000", chmod: "0755", link: true, exclude: ["**/*.pyc"], parents: false}
    image:
      entrypoint: [python, -m, src.main]
      cmd: []
      expose: ["8000/tcp"]
      labels: {org.opencontainers.image.title: ohlcv-rag}
      volumes: [/data]
      healthcheck: {test: [CMD, python, -c, "import src"], interval: 30s, timeout: 3s, retries: 3, start_period: 5s}
      stopsignal: SIGTERM
`

func TestLoadFullSpec(t *testing.T) {
	s, err := Load("", []byte(fullSpec))
	if err != nil {
		t.Fatal(err)
	}
	if s.Filename != DefaultFilename || s.Version != 1 || s.Default != "runtime" || len(s.Stages) != 2 {
		t.Fatalf("spec: %+v", s)
	}
	if v, _ := s.Args.Get("PYTHON_VERSION"); v != "3.10" {
		t.Errorf("a number keeps its text: PYTHON_VERSION = %q, want 3.10", v)
	}
	if v, ok := s.Args.Get("CACHE_DATE"); !ok || v != "" {
		t.Errorf("a null arg is declared and empty: %q %v", v, ok)
	}
	base := s.Stages.Get("base")
	if got := base.Env.Names(); strings.Join(got, ",") != "PYTHONDONTWRITEBYTECODE,B" {
		t.Errorf("env keeps YAML order: %v", got)
	}
	kinds := []string{}
	for _, st := range base.Steps {
		kinds = append(kinds, st.Kind())
	}
	if got := strings.Join(kinds, ","); got != "apt,run,run,run,copy,parallel,env,workdir,user" {
		t.Errorf("step kinds: %s", got)
	}
	run := base.Steps[1]
	if run.Mounts[0].Target != "/root/.cache/uv" || run.Mounts[0].Sharing != "locked" || run.Network != "none" {
		t.Errorf("alias-expanded mount: %+v", run.Mounts[0])
	}
	if run.Node.Range.Start != (Pos{19, 9}) || run.Node.Range.End.Line != 24 {
		t.Errorf("step range: %+v", run.Node.Range)
	}
	if r := run.Mounts[1].Node.Field("env"); r.Start != (Pos{22, 46}) {
		t.Errorf("a key's value position: %+v", r)
	}
	script := base.Steps[2].Run
	if script.IsExec || script.Shell != "set -e\nuseradd -m -u 1000 ohlcv\n" {
		t.Errorf("multi-line run: %+v", script)
	}
	if exec := base.Steps[3].Run; !exec.IsExec || strings.Join(exec.Exec, "|") != "python|-c|print(1)" {
		t.Errorf("exec run: %+v", exec)
	}
	if p := base.Steps[5].Parallel; len(p) != 2 || p[0].Kind() != "uv" || !p[1].Pip.IsExec {
		t.Errorf("parallel: %+v", p)
	}
	rt := s.Stages.Get("runtime")
	cp := rt.Steps[0].Copy
	if cp.From != "base" || cp.Chown != "1000:1000" || !cp.Link || cp.Exclude[0] != "**/*.pyc" {
		t.Errorf("copy: %+v", cp)
	}
	im := rt.Image
	if im.Cmd == nil || !im.Cmd.IsExec || len(im.Cmd.Exec) != 0 {
		t.Errorf("an empty cmd list is set and empty: %+v", im.Cmd)
	}
	if im.Healthcheck.Retries != 3 || im.Healthcheck.StartPeriod != "5s" {
		t.Errorf("healthcheck: %+v", im.Healthcheck)
	}
}

// Each bad input gets a clear error that names the file, line and column
// and the YAML path, and all the problems of a file come together.
func TestLoadErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		src  string
		want []string
	}{
		{"unknown key suggests", "version: 1\nstages:\n  a:\n    from: scratch\n    wrokdir: /app\n",
			[]string{`f.yaml:5:5: stages.a.wrokdir: unknown key "wrokdir" (did you mean "workdir"?); valid keys here: description, from,`}},
		{"wrong type", "version: 1\nstages:\n  a:\n    from: [python]\n",
			[]string{`f.yaml:4:11: stages.a.from: want a string, got a list`}},
		{"wrong type bool", "version: 1\nstages:\n  a:\n    from: scratch\n    steps:\n      - copy: {src: a, dst: b, link: yes please}\n",
			[]string{`f.yaml:6:38: stages.a.steps[0].copy.link: want true or false, got the string "yes please"`}},
		{"duplicate key", "version: 1\nstages:\n  a:\n    from: scratch\n    from: busybox\n",
			[]string{`f.yaml:5:5: invalid YAML: mapping key "from" already defined at [4:5]`}},
		{"missing version", "stages:\n  a:\n    from: scratch\n",
			[]string{`f.yaml:1:1: version: version is required: start the spec with ` + "`version: 1`"}},
		{"unknown version", "version: 3\nstages:\n  a:\n    from: scratch\n",
			[]string{`f.yaml:1:10: version: unknown version 3: this frontend reads version 1`}},
		{"missing default", "version: 1\ndefault: runtme\nstages:\n  runtime:\n    from: scratch\n",
			[]string{`f.yaml:2:10: default: default names no stage "runtme" (did you mean "runtime"?); stages: runtime`}},
		{"no stages", "version: 1\n", []string{`f.yaml:1:1: stages: stages is required`}},
		{"missing from", "version: 1\nstages:\n  a:\n    description: x\n",
			[]string{`f.yaml:4:5: stages.a.from: from is required`}},
		{"bad mount type", "version: 1\nstages:\n  a:\n    from: scratch\n    steps:\n      - run: x\n        mounts: [{type: cahce, target: /c}]\n",
			[]string{`f.yaml:7:25: stages.a.steps[0].mounts[0].type: unknown mount type "cahce" (did you mean "cache"?): want cache, secret, ssh, tmpfs or bind`}},
		{"mount without target", "version: 1\nstages:\n  a:\n    from: scratch\n    steps:\n      - run: x\n        mounts: [{type: cache, id: c}]\n",
			[]string{`f.yaml:7:19: stages.a.steps[0].mounts[0].target: a cache mount needs a target`}},
		{"secret with target and env", "version: 1\nstages:\n  a:\n    from: scratch\n    steps:\n      - run: x\n        mounts: [{type: secret, id: k, target: /k, env: K}]\n",
			[]string{`f.yaml:7:57: stages.a.steps[0].mounts[0].env: a secret goes to a file (target) or to an environment variable (env), not both`}},
		{"key for another mount type", "version: 1\nstages:\n  a:\n    from: scratch\n    steps:\n      - run: x\n        mounts: [{type: secret, id: k, sharing: locked}]\n",
			[]string{`f.yaml:7:49: stages.a.steps[0].mounts[0].sharing: sharing does not apply to a secret mount; it takes id, target, env, required, mode, uid or gid`}},
		{"bad sharing", "version: 1\nstages:\n  a:\n    from: scratch\n    steps:\n      - run: x\n        mounts: [{type: cache, target: /c, sharing: lockd}]\n",
			[]string{`f.yaml:7:53: stages.a.steps[0].mounts[0].sharing: unknown sharing "lockd" (did you mean "locked"?)`}},
		{"invalid chmod", "version: 1\nstages:\n  a:\n    from: scratch\n    steps:\n      - copy: {src: a, dst: /b, chmod: \"0999\"}\n",
			[]string{`f.yaml:6:40: stages.a.steps[0].copy.chmod: invalid chmod "0999": want an octal mode (0755) or a symbolic one (u=rwX,go=rX)`}},
		{"invalid mode", "version: 1\nstages:\n  a:\n    from: scratch\n    steps:\n      - run: x\n        mounts: [{type: cache, target: /c, mode: rwx}]\n",
			[]string{`f.yaml:7:50: stages.a.steps[0].mounts[0].mode: invalid mode "rwx": want an octal number up to 07777`}},
		{"two kinds in a step", "version: 1\nstages:\n  a:\n    from: scratch\n    steps:\n      - {run: x, copy: {src: a, dst: b}}\n",
			[]string{`f.yaml:6:10: stages.a.steps[0]: a step does one thing, this one has run and copy: split it into one step each`}},
		{"nested parallel", "version: 1\nstages:\n  a:\n    from: scratch\n    steps:\n      - parallel:\n          - parallel: [{run: x}]\n",
			[]string{`f.yaml:7:23: stages.a.steps[0].parallel[0].parallel: parallel groups do not nest`}},
		{"env in a parallel group", "version: 1\nstages:\n  a:\n    from: scratch\n    steps:\n      - parallel:\n          - env: {A: b}\n",
			[]string{`f.yaml:7:19: stages.a.steps[0].parallel[0].env: a parallel branch must change files (run, a preset or copy); env sets state for the steps after it, so put it before the group`}},
		{"mounts on a copy", "version: 1\nstages:\n  a:\n    from: scratch\n    steps:\n      - copy: {src: a, dst: b}\n        mounts: [{type: tmpfs, target: /t}]\n",
			[]string{`f.yaml:7:17: stages.a.steps[0].mounts: mounts applies to run, apt, apk, pip, uv or go steps only, not to copy`}},
		{"several sources need a dir", "version: 1\nstages:\n  a:\n    from: scratch\n    steps:\n      - copy: {src: [a, b], dst: /app}\n",
			[]string{`f.yaml:6:34: stages.a.steps[0].copy.dst: with more than one src, dst must be a directory ending in /: "/app/"`}},
		{"chown by name with link", "version: 1\nstages:\n  a:\n    from: scratch\n    steps:\n      - copy: {src: a, dst: /b, link: true, chown: app}\n",
			[]string{`f.yaml:6:52: stages.a.steps[0].copy.chown: with link, chown needs numeric ids`}},
		{"bad healthcheck", "version: 1\nstages:\n  a:\n    from: scratch\n    image:\n      healthcheck: {test: [CURL, x], interval: 30}\n",
			[]string{`f.yaml:6:27: stages.a.image.healthcheck.test: test starts with "CURL": want CMD, CMD-SHELL or NONE first`,
				`f.yaml:6:48: stages.a.image.healthcheck.interval: invalid duration "30": want a number with a unit`}},
		{"bad network", "version: 1\nstages:\n  a:\n    from: scratch\n    steps:\n      - run: x\n        network: bridge\n",
			[]string{`f.yaml:7:18: stages.a.steps[0].network: unknown network "bridge": want default, none or host`}},
		{"declared platform arg", "version: 1\nargs: {TARGETARCH: x}\nstages:\n  a:\n    from: scratch\n",
			[]string{`f.yaml:2:20: args.TARGETARCH: TARGETARCH is set by the build from --platform; it cannot be declared`}},
		{"bad stage name", "version: 1\nstages:\n  Base:\n    from: scratch\n",
			[]string{`f.yaml:4:5: stages.Base: "Base" is not a valid stage name`}},
		{"syntax error", "version: 1\nstages: [a\n  b: c\n",
			[]string{`f.yaml:3:6: invalid YAML:`}},
		{"two documents", "version: 1\n---\nstages: {}\n",
			[]string{`f.yaml:1:1: the file holds 2 YAML documents`}},
		{"empty", "", []string{`f.yaml:1:1: the spec is empty`}},
		{"unknown alias", "version: 1\nstages:\n  a:\n    from: *nope\n",
			[]string{`f.yaml:4:11: stages.a.from: unknown alias *nope`}},
		{"several problems at once", "version: 2\nstages:\n  a:\n    form: scratch\n",
			[]string{`f.yaml:1:10: version: unknown version 2`, `f.yaml:4:5: stages.a.form: unknown key "form" (did you mean "from"?)`, `f.yaml:4:5: stages.a.from: from is required`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := Load("f.yaml", []byte(c.src))
			if err == nil {
				t.Fatalf("no error; spec %+v", s)
			}
			errs := Errors(err)
			if len(errs) != len(c.want) {
				t.Errorf("want %d errors, got %d:\n%v", len(c.want), len(errs), err)
			}
			for i, w := range c.want {
				if i < len(errs) && !strings.HasPrefix(errs[i].Error(), w) {
					t.Errorf("error %d:\n got %s\nwant %s...", i, errs[i], w)
				}
			}
		})
	}
}

// A billion-laughs spec is refused quickly and with bounded memory. Here
// the types stop it (a list of lists is no step); TestAliasExpansionBudget
// builds one the types allow, which the node budget stops.
func TestAliasBombIsRefused(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\nx-0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i < 10; i++ {
		b.WriteString("x-" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	b.WriteString("stages:\n  a:\n    from: scratch\n    steps:\n      - parallel: *a9\n")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, err := Load("bomb.yaml", []byte(b.String()))
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("the alias bomb loaded")
	}
	if !strings.Contains(err.Error(), "bomb.yaml:") {
		t.Errorf("error without position: %v", err)
	}
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 512<<20 {
		t.Errorf("loading the bomb allocated %d MiB", grown>>20)
	}
	if elapsed > 10*time.Second {
		t.Errorf("loading the bomb took %s", elapsed)
	}
}

func TestAliasExpansionBudget(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\nx-0: &a0 {run: x}\n")
	for i := 1; i < 8; i++ {
		b.WriteString("x-" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			if i == 1 {
				b.WriteString("*a0")
			} else {
				b.WriteString("{parallel: *a" + string(rune('0'+i-1)) + "}")
			}
		}
		b.WriteString("]\n")
	}
	b.WriteString("stages:\n  a:\n    from: scratch\n    steps: *a7\n")
	_, err := Load("deep.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "more than 200000 YAML nodes") && !strings.Contains(err.Error(), "nested more than") {
		t.Fatalf("want the node budget or depth error, got %v", err)
	}
}

func TestSizeLimit(t *testing.T) {
	big := "version: 1\n# " + strings.Repeat("x", 10<<20) + "\n"
	_, err := Load("big.yaml", []byte(big))
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(err.Error(), "big.yaml: the spec is 10.0 MiB, more than the 1.0 MiB a spec may be") {
		t.Fatalf("got %v", err)
	}
}
