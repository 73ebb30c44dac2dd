package spec

import (
	"errors"
	"os"
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
      expose: ["8000/tcp", 9000-9001/udp]
      labels: {org.opencontainers.image.title: ohlcv-rag}
      volumes: [/data]
      healthcheck: {test: [CMD, python, -c, "import src"], interval: 30s, timeout: 3s, retries: 3, start_period: 5s}
      stopsignal: SIGTERM
`

// Load decodes every key into the typed model, with values parsed and
// positions kept beside them.
func TestLoadFullSpec(t *testing.T) {
	s, err := Load("", []byte(fullSpec))
	if err != nil {
		t.Fatal(err)
	}
	if s.Filename != DefaultFilename || s.Version.Value != 1 || s.Default.Value != "runtime" || len(s.Stages) != 2 {
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
	if base.NameRange.Start != (Pos{10, 3}) || base.Node.Path() != "stages.base" {
		t.Errorf("stage key at %+v, path %q", base.NameRange, base.Node.Path())
	}
	if base.User.User != "root" || base.Platform.Raw != "${BUILDPLATFORM}" || !base.Platform.IsTemplate() {
		t.Errorf("user %+v platform %+v", base.User, base.Platform)
	}
	var kinds []string
	for _, st := range base.Steps {
		kinds = append(kinds, string(st.Kind()))
	}
	if got := strings.Join(kinds, ","); got != "apt,run,run,run,copy,parallel,env,workdir,user" {
		t.Errorf("step kinds: %s", got)
	}
	run := base.Steps[1].(*RunStep)
	if m := run.Mounts[0]; m.Target.Value != "/root/.cache/uv" || m.Sharing.Value != SharingLocked || m.Type.Value != MountCache || run.Network.Value != NetworkNone {
		t.Errorf("alias-expanded mount: %+v", run.Mounts[0])
	}
	if run.Node.Range.Start != (Pos{19, 9}) || run.Node.Range.End.Line != 24 || run.Node.Path() != "stages.base.steps[1]" {
		t.Errorf("step range %+v path %q", run.Node.Range, run.Node.Path())
	}
	if r := run.Mounts[1].Env.Range; r.Start != (Pos{22, 46}) {
		t.Errorf("a value's position: %+v", r)
	}
	if p := run.Mounts[1].Node.Path(); p != "stages.base.steps[1].mounts[1]" {
		t.Errorf("mount path %q", p)
	}
	script := base.Steps[2].(*RunStep).Run
	if script.IsExec || script.Shell != "set -e\nuseradd -m -u 1000 ohlcv\n" || script.Range.End.Line != 27 {
		t.Errorf("multi-line run: %+v", script)
	}
	if exec := base.Steps[3].(*RunStep).Run; !exec.IsExec || strings.Join(exec.Exec, "|") != "python|-c|print(1)" {
		t.Errorf("exec run: %+v", exec)
	}
	if p := base.Steps[5].(*ParallelStep).Parallel; len(p) != 2 || p[0].Kind() != KindUv || !p[1].(*PipStep).Pip.IsExec {
		t.Errorf("parallel: %+v", p)
	}
	rt := s.Stages.Get("runtime")
	cp := rt.Steps[0].(*CopyStep).Copy
	if cp.From.Value != "base" || cp.Chown.User != "1000" || cp.Chown.Group != "1000" || !cp.Link.Value || cp.Exclude[0].Value != "**/*.pyc" || cp.Chmod.Mode != 0o755 {
		t.Errorf("copy: %+v", cp)
	}
	im := rt.Image
	if im.Cmd == nil || !im.Cmd.IsExec || len(im.Cmd.Exec) != 0 {
		t.Errorf("an empty cmd list is set and empty: %+v", im.Cmd)
	}
	if p := im.Expose[1]; p.First != 9000 || p.Last != 9001 || p.Proto != "udp" {
		t.Errorf("port range parsed: %+v", p)
	}
	hc := im.Healthcheck
	if hc.Retries.Value != 3 || hc.StartPeriod.Value != 5*time.Second || hc.Interval.Value != 30*time.Second || strings.Join(hc.Test.Args, " ") != "CMD python -c import src" {
		t.Errorf("healthcheck: %+v", hc)
	}
	if im.Stopsignal.Raw != "SIGTERM" {
		t.Errorf("stopsignal %+v", im.Stopsignal)
	}
}

// The YAML is YAML: anchors resolve to the nearest earlier definition, a
// byte order mark and a %YAML 1.2 directive are accepted, tagged and
// merged values decode.
func TestYAMLFeatures(t *testing.T) {
	s, err := Load("f.yaml", []byte("version: 1\nx-a: &v first\nx-b: &v second\nargs: {A: *v}\nx-c: &v third\nstages: {a: {from: scratch}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Args.Get("A"); v != "second" {
		t.Errorf("an alias takes the nearest earlier anchor: got %q, want second", v)
	}
	for name, src := range map[string]string{
		"bom":          "\xef\xbb\xbfversion: 1\nstages: {a: {from: scratch}}\n",
		"yaml 1.2":     "%YAML 1.2\n---\nversion: 1\nstages: {a: {from: scratch}}\n",
		"comment then": "# a spec\n%YAML 1.2\n---\nversion: 1\nstages: {a: {from: scratch}}\n",
		"merge key":    "version: 1\nx-m: &m {from: scratch, workdir: /w}\nstages: {a: {<<: *m, workdir: /x}}\n",
		"tagged str":   "version: 1\nstages: {a: {from: !!str scratch}}\n",
		"crlf":         "version: 1\r\nstages:\r\n  a:\r\n    from: scratch\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			s, err := Load("f.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			if st := s.Stages[0]; st.From.Value != "scratch" {
				t.Errorf("from %q", st.From.Value)
			}
		})
	}
	s, err = Load("f.yaml", []byte("version: 1\nx-m: &m {from: scratch, workdir: /w}\nstages: {a: {<<: *m, workdir: /x}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if wd := s.Stages[0].Workdir.Value; wd != "/x" {
		t.Errorf("a mapping's own key wins over a merged one: workdir %q", wd)
	}
	if line := s.Stages[0].Workdir.Range.Start.Line; line != 3 {
		t.Errorf("bom: positions count lines as an editor does: %d", line)
	}
	s, err = Load("f.yaml", []byte("\xef\xbb\xbfversion: 1\nstages: {a: {from: scratch}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p := s.Version.Range.Start; p != (Pos{1, 10}) {
		t.Errorf("after a BOM, version is at %+v, want 1:10", p)
	}
}

// A spec built in Go is checked by Validate, which names YAML paths, and
// compiles only once valid.
func TestValidateSpecBuiltInGo(t *testing.T) {
	s := &Spec{
		Version: &Int{Value: 1},
		Stages: Stages{
			{Name: "app", From: Str("busybox"), Steps: []Step{
				&RunStep{Run: *Shell("echo hi"), RunOptions: RunOptions{Mounts: []Mount{{Type: MountType{Value: MountSecret}, ID: Str("tok"), Target: Str("/")}}}},
				&CopyStep{Copy: Copy{Files: Files{Src: Strs("a", "b"), Dst: Str("/app")}}},
				&ParallelStep{Parallel: []Step{&EnvStep{Env: Vars{{Name: "A", Value: "1"}}}}},
				nil,
			}, Image: &Image{Expose: []Port{{First: 0, Last: 0, Proto: "tcp"}}, Stopsignal: &Signal{Raw: "SIGNOPE"}}},
			{Name: "app", From: Str("scratch")},
		},
	}
	err := Validate(s)
	want := []string{
		`ohlcv.build.yaml: stages.app: stage "app" is defined twice`,
		`ohlcv.build.yaml: stages.app.steps[0].mounts[0].target: a mount cannot cover / (the step's root); name a directory such as /run/secret`,
		`ohlcv.build.yaml: stages.app.steps[1].copy.dst: with more than one src, dst must be a directory ending in /: "/app/"`,
		`ohlcv.build.yaml: stages.app.steps[2].parallel[0].env: a parallel branch must change files (run, a preset, copy or add); env sets state for the steps after it, so put it before the group`,
		`ohlcv.build.yaml: stages.app.steps: step 3 is nil`,
		`ohlcv.build.yaml: stages.app.image.expose[0]: "0/tcp" is not a port or a port range between 1 and 65535`,
		`ohlcv.build.yaml: stages.app.image.stopsignal: "SIGNOPE" is not a signal: want a name such as SIGTERM or a number`,
	}
	var got []string
	for _, e := range Errors(err) {
		got = append(got, e.Error())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	ok := &Spec{Version: &Int{Value: 1}, Stages: Stages{{Name: "app", From: Str("scratch"), Steps: []Step{&RunStep{Run: *Exec("true")}}}}}
	if err := Validate(ok); err != nil {
		t.Errorf("a valid spec: %v", err)
	}
	if err := Validate(nil); err == nil {
		t.Error("a nil spec validates")
	}
}

// Text that reaches output has its control characters, separators and
// bidi overrides escaped, and a long value is shortened.
func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                "plain",
		"a\nb":                 `a\nb`,
		"\x1b[31mred\r":        `\x1b[31mred\r`,
		"tab\there":            `tab\there`,
		"nul\x00":              `nul\x00`,
		"sep\u2028par\u2029":   `sep\u2028par\u2029`,
		"bidi\u202egnp.exe":    `bidi\u202egnp.exe`,
		"isolate\u2066x\u2069": `isolate\u2066x\u2069`,
		"c1\u0085":             `c1\x85`,
		"café ✓":               "café ✓",
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
		if got := Escape(Escape(in)); got != Escape(in) {
			t.Errorf("escaping twice changes %q", in)
		}
	}
	long := strings.Repeat("x", 200_000)
	if q := Quote(long); len(q) > 120 || !strings.HasSuffix(q, "... (200000 bytes)") {
		t.Errorf("Quote of a long value: %d bytes, %q", len(q), q[len(q)-30:])
	}
	if s := Shorten("\n" + long); len(s) > 90 || !strings.HasPrefix(s, `\n`) {
		t.Errorf("Shorten: %q", s)
	}
	if l := NameList(strings.Split(strings.Repeat("n,", 100), ",")); !strings.HasSuffix(l, " and 89 more") {
		t.Errorf("NameList: %q", l)
	}
}

// The size limit is checked first, before any parsing.
func TestSizeLimit(t *testing.T) {
	big := "version: 1\n# " + strings.Repeat("x", 10<<20) + "\n"
	_, err := Load("big.yaml", []byte(big))
	var e *Error
	if !errors.As(err, &e) || err.Error() != "big.yaml: the spec is 10MiB, more than the 1MiB a spec may be; is this the right file?" {
		t.Fatalf("got %v", err)
	}
}

// The flagship and the offline twin load.
func TestFlagshipLoads(t *testing.T) {
	for _, f := range []string{"../../ohlcv.build.yaml", "../../examples/ohlcv-rag/offline.build.yaml"} {
		dt, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Load(f, dt); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// One port may be written without a list, as one string may elsewhere.
func TestOnePortWithoutAList(t *testing.T) {
	s, err := Load("f.yaml", []byte("version: 1\nstages:\n  a:\n    from: scratch\n    image: {expose: 8000/udp}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p := s.Stages[0].Image.Expose; len(p) != 1 || p[0].First != 8000 || p[0].Proto != "udp" {
		t.Errorf("expose %+v", p)
	}
}
