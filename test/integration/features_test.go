//go:build integration

package integration

import (
	"slices"
	"strings"
	"testing"
)

// featuresSpec exercises most of the language in one build: a multi-stage
// copy with chown, chmod and link, exclude, the main context through
// .dockerignore and the spec's exclude, secrets as a file and as an env var,
// tmpfs, a bind mount from a stage, a parallel group, build args and the
// image config.
const featuresSpec = `version: 1
args:
  GREETING: hello
exclude: [ignored-by-spec.txt]
stages:
  builder:
    description: Makes an artifact
    from: busybox:latest
    steps:
      - run: mkdir -p /out && echo built > /out/artifact && echo "$GREETING" > /out/greeting
  app:
    description: Everything at once
    from: busybox:latest
    workdir: /app
    steps:
      - copy: {src: ., dst: /ctx/}
      - copy: {from: builder, src: /out/artifact, dst: /app/artifact, chown: "1000:1000", chmod: "0750", link: true}
      - copy: {src: data/, dst: /app/data/, exclude: ["*.tmp"]}
      - run: test "$API_KEY" = "$(cat /run/secrets/api_key)" && echo secret-ok > /app/secret-check
        mounts:
          - {type: secret, id: api_key, required: true}
          - {type: secret, id: api_key, env: API_KEY, required: true}
      - run: grep -q ' /scratch tmpfs ' /proc/mounts && echo x > /scratch/x && echo tmpfs-ok > /app/tmpfs-check
        mounts: [{type: tmpfs, target: /scratch}]
      - run: cp /from-builder/greeting /app/greeting
        mounts: [{type: bind, from: builder, source: /out, target: /from-builder}]
      - parallel:
          - run: echo one > /app/one
          - run: echo two > /app/two
      - user: "1000"
    image:
      entrypoint: [cat]
      cmd: [/app/greeting]
      labels: {org.example.test: "yes"}
      expose: ["8000/tcp"]
      healthcheck: {test: [CMD, "true"], interval: 30s, timeout: 3s, retries: 3}
`

var featuresFiles = map[string]string{
	".dockerignore":               "ignored-by-dockerignore.txt\n",
	"ignored-by-dockerignore.txt": "no",
	"ignored-by-spec.txt":         "no",
	"kept.txt":                    "yes",
	"data/keep.csv":               "a,b\n",
	"data/drop.tmp":               "tmp\n",
}

func TestFeaturesInEveryMode(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			secret := "s3cr3t-" + randomToken(t)
			dir := writeContext(t, featuresSpec, featuresFiles)
			o := run(t, m, build{
				dir:     dir,
				attrs:   map[string]string{"target": "app", "build-arg:GREETING": "bonjour"},
				secrets: map[string][]byte{"api_key": []byte(secret)},
			}).must(t)
			img := singleImage(t, o)

			for path, want := range map[string]string{
				"/app/secret-check":  "secret-ok\n",
				"/app/tmpfs-check":   "tmpfs-ok\n",
				"/app/greeting":      "bonjour\n",
				"/app/one":           "one\n",
				"/app/two":           "two\n",
				"/app/artifact":      "built\n",
				"/app/data/keep.csv": "a,b\n",
				"/ctx/kept.txt":      "yes",
			} {
				if got := img.read(t, path); got != want {
					t.Errorf("%s = %q, want %q", path, got, want)
				}
			}
			for _, gone := range []string{"/ctx/ignored-by-dockerignore.txt", "/ctx/ignored-by-spec.txt", "/app/data/drop.tmp", "/scratch/x", "/run/secrets/api_key"} {
				if _, ok := img.files[gone]; ok {
					t.Errorf("%s is in the image", gone)
				}
			}
			if f := img.files["/app/artifact"]; f.uid != 1000 || f.gid != 1000 || f.mode != 0o750 {
				t.Errorf("artifact owner %d:%d mode %o, want 1000:1000 0750", f.uid, f.gid, f.mode)
			}

			cfg := img.config.Config
			if cfg.User != "1000" || cfg.WorkingDir != "/app" || !slices.Equal(cfg.Entrypoint, []string{"cat"}) || !slices.Equal(cfg.Cmd, []string{"/app/greeting"}) {
				t.Errorf("config user %q workdir %q entrypoint %v cmd %v", cfg.User, cfg.WorkingDir, cfg.Entrypoint, cfg.Cmd)
			}
			if cfg.Labels["org.example.test"] != "yes" {
				t.Errorf("labels %v", cfg.Labels)
			}
			if _, ok := cfg.ExposedPorts["8000/tcp"]; !ok {
				t.Errorf("exposed ports %v", cfg.ExposedPorts)
			}
			if hc := cfg.Healthcheck; hc == nil || !slices.Equal(hc.Test, []string{"CMD", "true"}) || hc.Retries != 3 || hc.Interval.String() != "30s" {
				t.Errorf("healthcheck %+v", hc)
			}
			if n := len(img.config.History); n == 0 || !strings.Contains(img.config.History[n-1].CreatedBy, "HEALTHCHECK") {
				t.Errorf("history does not end with the image config steps: %+v", img.config.History)
			}

			if img.contains(secret) {
				t.Errorf("the secret's value is in the exported image or its config")
			}
			if strings.Contains(o.progress.text(), secret) {
				t.Errorf("the secret's value is in the progress log")
			}
			if !strings.Contains(o.progress.text(), "[app 9/9] parallel 2/2 run: echo two > /app/two") {
				t.Errorf("progress names are not readable:\n%s", o.progress.text())
			}
		})
	}
}

// A cache mount keeps what one build wrote for the next build.
func TestCacheMountPersists(t *testing.T) {
	id := "it-cache-" + randomToken(t)
	dir := writeContext(t, `version: 1
args:
  TOKEN: ""
stages:
  s:
    from: busybox:latest
    steps:
      - run: echo "$TOKEN" >> /cache/log && cp /cache/log /log
        mounts: [{type: cache, id: `+id+`, target: /cache, sharing: locked}]
`, nil)
	run(t, inProcess, build{dir: dir, attrs: map[string]string{"build-arg:TOKEN": "first"}, exporter: "none"}).must(t)
	img := singleImage(t, run(t, inProcess, build{dir: dir, attrs: map[string]string{"build-arg:TOKEN": "second"}}).must(t))
	if got := img.read(t, "/log"); got != "first\nsecond\n" {
		t.Errorf("cache content %q, want the first build's line then the second's", got)
	}
}

// Changing one branch of a parallel group re-runs that branch only.
func TestParallelBranchRerunsAlone(t *testing.T) {
	token := randomToken(t)
	spec := func(tool string) string {
		return `version: 1
stages:
  dev:
    from: busybox:latest
    steps:
      - run: echo ` + token + ` > /base
      - parallel:
          - run: echo ipython > /tools-ipython
          - run: echo ` + tool + ` > /tools-second
          - run: echo pytest > /tools-pytest
      - run: cat /tools-* > /all
`
	}
	first := run(t, inProcess, build{dir: writeContext(t, spec("ruff"), nil)}).must(t)
	if got := first.progress.ran("parallel"); len(got) < 3 {
		t.Fatalf("a cold build ran %d branches: %v", len(got), got)
	}
	second := run(t, inProcess, build{dir: writeContext(t, spec("black"), nil)}).must(t)
	var execs []string
	for _, name := range second.progress.ran("parallel") {
		if strings.Contains(name, " run: ") {
			execs = append(execs, name)
		}
	}
	if len(execs) != 1 || !strings.Contains(execs[0], "black") {
		t.Fatalf("after changing one branch, re-ran %v; want only the black branch\n%s", execs, second.progress.text())
	}
	img := singleImage(t, second)
	if got := img.read(t, "/all"); got != "ipython\npytest\nblack\n" {
		t.Errorf("/all = %q", got)
	}
}

// A failing step's error carries the spec's file and the step's lines, so
// buildx shows the user's YAML.
func TestFailingStepPointsAtSpecLine(t *testing.T) {
	dir := writeContext(t, `version: 1
stages:
  s:
    from: busybox:latest
    steps:
      - run: echo fine
      - run: echo about to fail; exit 3
`, nil)
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			o := run(t, m, build{dir: dir})
			if o.err == nil {
				t.Fatal("the build passed")
			}
			// line 8 of the file: the syntax line is line 1
			assertSource(t, o.err, "ohlcv.build.yaml", 8, "exit 3")
		})
	}
}

// A spec error names the file, line and column in every mode.
func TestSpecErrorPointsAtSpecLine(t *testing.T) {
	dir := writeContext(t, `version: 1
stages:
  s:
    from: busybox:latest
    steps:
      - run: echo
        mounts: [{type: cahce, target: /c}]
`, nil)
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			o := run(t, m, build{dir: dir})
			if o.err == nil || !strings.Contains(o.err.Error(), `ohlcv.build.yaml:8:25: stages.s.steps[0].mounts[0].type: unknown mount type "cahce" (did you mean "cache"?)`) {
				t.Fatalf("got %v", o.err)
			}
			assertSource(t, o.err, "ohlcv.build.yaml", 8, "cahce")
		})
	}
}
