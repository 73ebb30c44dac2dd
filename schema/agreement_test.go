package schema_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
	"github.com/ohlcv-rag/ohlcv-build/schema"
)

// stage wraps YAML lines of one stage's mapping (indented by four) in a
// spec with version 1.
func stage(lines string) string {
	return "version: 1\nstages:\n  app:\n" + lines
}

// Specs the schema refuses, each at a YAML path (a JSON pointer), that Load
// refuses too, with the message it gives.
var badSpecs = []struct {
	name, src, at, load string
}{
	{"unknown key", stage("    from: scratch\n    wrokdir: /app\n"), "/stages/app", `unknown key "wrokdir" (did you mean "workdir"?)`},
	{"unknown top-level key", "version: 1\nstages:\n  app: {from: scratch}\ndefualt: app\n", "", `unknown key "defualt"`},
	{"x- key below the top level", stage("    from: scratch\n    x-foo: 1\n"), "/stages/app", `unknown key "x-foo"`},
	{"wrong type: a list for a string", stage("    from: [scratch]\n"), "/stages/app/from", "want a string, got a list"},
	{"wrong type: a string for a boolean", stage("    from: scratch\n    steps:\n      - copy: {src: a, dst: /b, link: yes please}\n"), "/stages/app/steps/0/copy/link", "want true or false"},
	{"wrong type: a string for a number", stage("    from: scratch\n    steps:\n      - run: x\n        mounts: [{type: cache, target: /c, uid: app}]\n"), "/stages/app/steps/0/mounts/0/uid", "want a whole number"},
	{"wrong type: a mapping for a list of steps", stage("    from: scratch\n    steps: {run: x}\n"), "/stages/app/steps", "want a list of steps"},
	{"missing version", "stages:\n  app: {from: scratch}\n", "", "version is required"},
	{"version as a string", "version: \"1\"\nstages:\n  app: {from: scratch}\n", "/version", "want a whole number"},
	{"unknown version", "version: 2\nstages:\n  app: {from: scratch}\n", "/version", "unknown version 2"},
	{"no stages", "version: 1\n", "", "stages is required"},
	{"empty stages", "version: 1\nstages: {}\n", "/stages", "stages is required"},
	{"missing from", stage("    workdir: /app\n"), "/stages/app", "from is required"},
	{"bad stage name", "version: 1\nstages:\n  App: {from: scratch}\n", "/stages/App", "is not a valid stage name"},
	{"a stage called scratch", "version: 1\nstages:\n  scratch: {from: busybox}\n", "/stages/scratch", "is not a valid stage name"},
	{"bad arg name", "version: 1\nargs: {1X: a}\nstages:\n  app: {from: scratch}\n", "/args/1X", "is not a valid arg name"},
	{"declaring a platform arg", "version: 1\nargs: {TARGETARCH: amd64}\nstages:\n  app: {from: scratch}\n", "/args/TARGETARCH", "it cannot be declared"},
	{"empty workdir", stage("    from: scratch\n    workdir: \"\"\n"), "/stages/app/workdir", "must not be empty"},
	{"bad env name", stage("    from: scratch\n    env: {\"MY VAR\": x}\n"), "/stages/app/env/MY VAR", "is not a valid variable name"},
	{"bad user", stage("    from: scratch\n    user: \"a:b:c\"\n"), "/stages/app/user", `invalid user "a:b:c"`},
	{"two kinds in one step", stage("    from: scratch\n    steps:\n      - run: make\n        copy: {src: a, dst: /b}\n"), "/stages/app/steps/0", "a step does one thing, this one has run and copy"},
	{"a step with no kind", stage("    from: scratch\n    steps:\n      - network: none\n"), "/stages/app/steps/0", "a step needs one of"},
	{"a step written as a string", stage("    from: scratch\n    steps:\n      - make all\n"), "/stages/app/steps/0", "want a step (a mapping)"},
	{"mounts on a copy", stage("    from: scratch\n    steps:\n      - copy: {src: a, dst: /b}\n        mounts: [{type: tmpfs, target: /t}]\n"), "/stages/app/steps/0", "mounts applies to run"},
	{"env beside copy", stage("    from: scratch\n    steps:\n      - copy: {src: a, dst: /b}\n        env: {A: b}\n"), "/stages/app/steps/0", "env beside copy is not allowed"},
	{"unknown network", stage("    from: scratch\n    steps:\n      - run: x\n        network: bridge\n"), "/stages/app/steps/0/network", `unknown network "bridge"`},
	{"empty apt", stage("    from: scratch\n    steps:\n      - apt: []\n"), "/stages/app/steps/0/apt", "apt needs at least one package"},
	{"empty env step", stage("    from: scratch\n    steps:\n      - env: {}\n"), "/stages/app/steps/0/env", "env needs at least one variable"},
	{"unknown mount type", stage("    from: scratch\n    steps:\n      - run: x\n        mounts: [{type: cahce, target: /c}]\n"), "/stages/app/steps/0/mounts/0/type", `unknown mount type "cahce" (did you mean "cache"?)`},
	{"mount without type", stage("    from: scratch\n    steps:\n      - run: x\n        mounts: [{target: /c}]\n"), "/stages/app/steps/0/mounts/0", "a mount needs a type"},
	{"key not valid for the mount type", stage("    from: scratch\n    steps:\n      - run: x\n        mounts: [{type: secret, id: s, sharing: locked}]\n"), "/stages/app/steps/0/mounts/0/sharing", "sharing does not apply to a secret mount"},
	{"cache mount without target", stage("    from: scratch\n    steps:\n      - run: x\n        mounts: [{type: cache, id: c}]\n"), "/stages/app/steps/0/mounts/0", "a cache mount needs a target"},
	{"unknown sharing", stage("    from: scratch\n    steps:\n      - run: x\n        mounts: [{type: cache, target: /c, sharing: lockd}]\n"), "/stages/app/steps/0/mounts/0/sharing", `unknown sharing "lockd"`},
	{"bad mode", stage("    from: scratch\n    steps:\n      - run: x\n        mounts: [{type: cache, target: /c, mode: rwx}]\n"), "/stages/app/steps/0/mounts/0/mode", `invalid mode "rwx"`},
	{"bad size", stage("    from: scratch\n    steps:\n      - run: x\n        mounts: [{type: tmpfs, target: /t, size: lots}]\n"), "/stages/app/steps/0/mounts/0/size", `invalid size "lots"`},
	{"negative uid", stage("    from: scratch\n    steps:\n      - run: x\n        mounts: [{type: cache, target: /c, uid: -1}]\n"), "/stages/app/steps/0/mounts/0/uid", "uid must not be negative"},
	{"copy without dst", stage("    from: scratch\n    steps:\n      - copy: {src: a}\n"), "/stages/app/steps/0/copy", "copy needs dst"},
	{"bad chown", stage("    from: scratch\n    steps:\n      - copy: {src: a, dst: /b, chown: \":::\"}\n"), "/stages/app/steps/0/copy/chown", `invalid user ":::"`},
	{"nested parallel", stage("    from: scratch\n    steps:\n      - parallel:\n          - parallel: [{run: x}]\n"), "/stages/app/steps/0/parallel/0", "parallel groups do not nest"},
	{"a branch that changes no files", stage("    from: scratch\n    steps:\n      - parallel:\n          - run: x\n          - workdir: /w\n"), "/stages/app/steps/0/parallel/1", "a parallel branch must change files"},
	{"an empty parallel group", stage("    from: scratch\n    steps:\n      - parallel: []\n"), "/stages/app/steps/0/parallel", "parallel needs at least one branch"},
	{"bad port", stage("    from: scratch\n    image: {expose: [\"8000\", http]}\n"), "/stages/app/image/expose/1", `"http" is not a port`},
	{"empty label name", stage("    from: scratch\n    image: {labels: {\"\": x}}\n"), "/stages/app/image/labels/", "a label needs a name"},
	{"duration without a unit", stage("    from: scratch\n    image:\n      healthcheck: {test: [CMD, x], interval: 30}\n"), "/stages/app/image/healthcheck/interval", `invalid duration "30"`},
	{"bad healthcheck test", stage("    from: scratch\n    image:\n      healthcheck: {test: [curl, -f, http://localhost/]}\n"), "/stages/app/image/healthcheck/test", `test starts with "curl"`},
	{"healthcheck without test", stage("    from: scratch\n    image:\n      healthcheck: {interval: 30s}\n"), "/stages/app/image/healthcheck", "a healthcheck needs test"},
	{"check with a bad key", "version: 1\ncheck: {skp: [RunsAsRoot]}\nstages:\n  app: {from: scratch}\n", "/check", `unknown key "skp"`},
}

// Each bad spec fails the schema at its path, and fails Load: the schema
// says no more than the loader does.
func TestBadSpecsFail(t *testing.T) {
	sch := compiled(t)
	for _, c := range badSpecs {
		t.Run(c.name, func(t *testing.T) {
			_, err := spec.Load(spec.DefaultFilename, []byte(c.src))
			if err == nil || !strings.Contains(err.Error(), c.load) {
				t.Errorf("Load: got %v, want an error with %q\n%s", err, c.load, c.src)
			}
			err = sch.Validate(instance(t, c.name, []byte(c.src)))
			var verr *jsonschema.ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("the schema accepts it (%v), want an error at %q\n%s", err, c.at, c.src)
			}
			if !errorAt(verr, c.at) {
				t.Errorf("the schema refuses it, but at none of the places %q:\n%v", c.at, err)
			}
		})
	}
}

// errorAt reports whether err or one of its causes is at the instance
// location at (a JSON pointer). An invalid property name counts as an error
// at that property: the validator gives such errors the location of the
// mapping, and shares that slice with later errors, so it cannot be read.
func errorAt(err *jsonschema.ValidationError, at string) bool {
	if k, ok := err.ErrorKind.(*kind.PropertyNames); ok && strings.HasSuffix(at, "/"+k.Property) {
		return true
	}
	if pointer(err.InstanceLocation) == at {
		return true
	}
	for _, c := range err.Causes {
		if errorAt(c, at) {
			return true
		}
	}
	return false
}

// pointer writes a location as a JSON pointer.
func pointer(tokens []string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(t))
	}
	return b.String()
}

// Specs at the edges of what the loader reads, which the schema must take:
// numbers and booleans that are text, templates, anchors and merge keys,
// the empty strings that mean something.
var goodSpecs = []struct{ name, src string }{
	{"numbers and booleans as text", `version: 1
args: {PYTHON_VERSION: 3.10, FLAG: true, EMPTY: , NONE: null, QUOTED: ""}
stages:
  "1":
    from: scratch
    description: ""
    user: 1000
    env: {N: 1, B: false, Z: }
  app:
    from: 1
    workdir: 2024
    steps:
      - run: [echo, 1, true, 2.5]
      - apt: curl
      - copy: {src: 1, dst: ., chmod: 755, chown: 1000}
      - copy: {src: [a, b], dst: /x/, chmod: u=rwX, chown: "app:app", exclude: "*.pyc"}
    image:
      expose: [80, "8000/tcp", "9000-9010/udp"]
      stopsignal: 9
      healthcheck: {test: curl -f localhost, interval: 0, timeout: 1m30s, start_period: 500ms, retries: 0}
      cmd: []
      labels: {a.b: 1}
`},
	{"mount values in each form", `version: 1
stages:
  app:
    from: scratch
    steps:
      - run: x
        network: none
        env: {A: ""}
        mounts:
          - {type: cache, target: /c, mode: 0755, uid: 1000, gid: 0, sharing: locked, source: "", from: app2}
          - {type: cache, target: /d, mode: "0700", readonly: true}
          - {type: tmpfs, target: /t, size: 64m}
          - {type: tmpfs, target: /u, size: 1048576}
          - {type: secret, id: tok, env: TOKEN, required: true}
          - {type: secret, id: file, mode: 0400}
          - {type: ssh}
          - {type: bind, target: /src, source: ., readwrite: true}
  app2:
    from: scratch
`},
	{"templates where values are parsed later", `version: 1
args: {PORT: "8000", APP_USER: app, SIG: SIGTERM, PLAT: linux/amd64, MODE: "0755"}
stages:
  app:
    from: busybox:${TAG:-latest}
    platform: ${PLAT}
    user: ${APP_USER}:${APP_USER}
    steps:
      - copy: {src: a, dst: /b, chown: "${APP_USER}", chmod: "${MODE}"}
      - user: $APP_USER
    image:
      expose: ["${PORT}", "${PORT}/udp"]
      stopsignal: ${SIG}
`},
	{"anchors, aliases and merge keys", `version: 1
x-base: &base
  from: python:3.12-slim
  env: {PYTHONDONTWRITEBYTECODE: "1"}
x-cache: &cache {type: cache, target: /root/.cache/pip}
x-anything: [1, {a: b}]
stages:
  api:
    <<: *base
    steps:
      - pip: install uv
        mounts: [*cache]
  worker:
    <<: *base
    workdir: /worker
`},
	{"check configuration", `version: 1
check: {skip: RunsAsRoot, error: true, experimental: [all]}
stages:
  app: {from: scratch}
`},
}

// The schema takes every spec Load takes at the edges of the value types.
func TestEdgeSpecsValidate(t *testing.T) {
	sch := compiled(t)
	for _, c := range goodSpecs {
		if _, err := spec.Load(c.name, []byte(c.src)); err != nil {
			t.Errorf("%s: Load refuses it: %v", c.name, err)
			continue
		}
		if err := sch.Validate(instance(t, c.name, []byte(c.src))); err != nil {
			t.Errorf("%s: Load takes it, but the schema refuses it:\n%v", c.name, err)
		}
	}
}

// For each mount type and each key of a mount, the schema allows the key
// exactly when Load does.
func TestMountKeysAgreeWithLoad(t *testing.T) {
	sch := compiled(t)
	base := map[string]string{
		"cache":  "type: cache, target: /c",
		"secret": "type: secret, id: s",
		"ssh":    "type: ssh",
		"tmpfs":  "type: tmpfs, target: /t",
		"bind":   "type: bind, target: /b",
	}
	values := map[string]string{
		"target": "/x", "id": "i", "sharing": "private", "from": "busybox", "source": "/s",
		"mode": "0644", "uid": "1", "gid": "1", "readonly": "true", "readwrite": "true",
		"required": "true", "env": "TOKEN", "size": "1m",
	}
	var keys []string
	mt := reflect.TypeFor[spec.Mount]()
	for i := range mt.NumField() {
		key, _, _ := strings.Cut(mt.Field(i).Tag.Get("yaml"), ",")
		if key != "" && key != "-" && key != "type" {
			keys = append(keys, key)
		}
	}
	if len(keys) != len(values) {
		t.Fatalf("spec.Mount has keys %v; give each a value in this test", keys)
	}
	for kind, fields := range base {
		for _, key := range keys {
			if strings.Contains(fields, key+":") || (kind == "secret" && key == "env") {
				continue // set already, or a secret's env beside a target: tested on its own below
			}
			src := stage(fmt.Sprintf("    from: scratch\n    steps:\n      - run: x\n        mounts: [{%s, %s: %s}]\n", fields, key, values[key]))
			_, loadErr := spec.Load("m.yaml", []byte(src))
			schemaErr := sch.Validate(instance(t, kind+"/"+key, []byte(src)))
			if (loadErr == nil) != (schemaErr == nil) {
				t.Errorf("a %s mount with %s: Load says %v, the schema says %v", kind, key, loadErr, schemaErr)
			}
		}
	}
	src := stage("    from: scratch\n    steps:\n      - run: x\n        mounts: [{type: secret, id: s, env: TOKEN}]\n")
	if err := sch.Validate(instance(t, "secret env", []byte(src))); err != nil {
		t.Errorf("a secret mount with env: %v", err)
	}
}

// listed finds the "a, b or c" list at the end of a Load error.
var listed = regexp.MustCompile(`(?:one of|a type:|want) ([a-z-]+(?:, [a-z-]+)* or [a-z-]+)`)

// loadNames returns the names Load lists in its error for src.
func loadNames(t *testing.T, src string) []string {
	t.Helper()
	_, err := spec.Load("n.yaml", []byte(src))
	if err == nil {
		t.Fatalf("Load takes %q", src)
	}
	m := listed.FindStringSubmatch(err.Error())
	if m == nil {
		t.Fatalf("no list of names in %v", err)
	}
	return strings.Split(strings.Replace(m[1], " or ", ", ", 1), ", ")
}

// The step kinds and the enums of the schema are the ones Load names.
func TestNamesAgreeWithLoad(t *testing.T) {
	var doc struct {
		Defs map[string]struct {
			OneOf []struct {
				Ref string `json:"$ref"`
			} `json:"oneOf"`
			Title      string `json:"title"`
			Properties map[string]struct {
				Enum []string `json:"enum"`
			} `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(schema.JSON(), &doc); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, r := range doc.Defs["Step"].OneOf {
		kinds = append(kinds, doc.Defs[strings.TrimPrefix(r.Ref, "#/$defs/")].Title)
	}
	run := doc.Defs["RunStep"].Properties
	mount := doc.Defs["Mount"].Properties
	for _, c := range []struct {
		what string
		got  []string
		src  string
	}{
		{"step kinds", kinds, stage("    from: scratch\n    steps: [{}]\n")},
		{"mount types", mount["type"].Enum, stage("    from: scratch\n    steps:\n      - run: x\n        mounts: [{target: /x}]\n")},
		{"sharing modes", mount["sharing"].Enum, stage("    from: scratch\n    steps:\n      - run: x\n        mounts: [{type: cache, target: /x, sharing: x}]\n")},
		{"networks", run["network"].Enum, stage("    from: scratch\n    steps:\n      - run: x\n        network: x\n")},
		{"security modes", run["security"].Enum, stage("    from: scratch\n    steps:\n      - run: x\n        security: x\n")},
	} {
		if want := loadNames(t, c.src); !slices.Equal(c.got, want) {
			t.Errorf("%s: the schema has %v, Load names %v", c.what, c.got, want)
		}
	}
}
