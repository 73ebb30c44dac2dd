package spec

import (
	"fmt"
	"strings"
	"testing"
)

// loadErr loads src and returns its one error's text, or fails.
func loadErr(t *testing.T, src string) string {
	t.Helper()
	_, err := Load("f.yaml", []byte(src))
	if err == nil {
		t.Fatalf("no error for\n%s", src)
	}
	if errs := Errors(err); len(errs) != 1 {
		t.Fatalf("%d errors: %v", len(errs), err)
	}
	return err.Error()
}

// A bare name in from, copy.from or a mount's from that is a typo of a
// stage is an error at load, at the name, with "did you mean".
func TestStageTypoIsALoadError(t *testing.T) {
	const stages = "version: 1\nstages:\n  builder:\n    from: scratch\n  app:\n"
	for _, c := range []struct{ src, want string }{
		{"    from: buildr\n",
			`f.yaml:6:11: stages.app.from: "buildr" names no stage (did you mean "builder"?); for an image of that name, give its tag: buildr:<version>`},
		{"    from: scratch\n    steps:\n      - copy: {from: biulder, src: /a, dst: /a}\n",
			`f.yaml:8:22: stages.app.steps[0].copy.from: "biulder" names no stage (did you mean "builder"?); for an image of that name, give its tag: biulder:<version>`},
		{"    from: scratch\n    steps:\n      - run: x\n        mounts: [{type: bind, from: bilder, target: /b}]\n",
			`f.yaml:9:37: stages.app.steps[0].mounts[0].from: "bilder" names no stage (did you mean "builder"?); for an image of that name, give its tag: bilder:<version>`},
	} {
		if got := loadErr(t, stages+c.src); got != c.want {
			t.Errorf("got  %s\nwant %s", got, c.want)
		}
	}
}

// A name with a tag, a digest, a registry or a path is an image, however
// close to a stage's name; so is a bare name far from every stage's.
func TestImageNamesAreNotStageTypos(t *testing.T) {
	for _, from := range []string{
		"buildr:1.0",
		"buildr@sha256:1111111111111111111111111111111111111111111111111111111111111111",
		"ghcr.io/x/buildr",
		"library/buildr",
		"busybox",
		"builder", // the stage itself
	} {
		src := "version: 1\nstages:\n  builder:\n    from: scratch\n  app:\n    from: " + from + "\n"
		if _, err := Load("f.yaml", []byte(src)); err != nil {
			t.Errorf("from: %s: %v", from, err)
		}
	}
}

// Ten thousand stages and ten thousand bare names of the same length, each
// near every stage: the searches share a budget, so they stop after a few
// and loading stays linear; each distinct name is searched once.
// (BenchmarkScale and the hostile corpus time whole loads.)
func TestStageTyposStayWithinBudget(t *testing.T) {
	stages := make(Stages, 10_000)
	for i := range stages {
		stages[i] = &Stage{Name: fmt.Sprintf("s%05d", i)}
	}
	typos := NewStageTypos(stages)
	found := 0
	for i := range stages {
		if typos.Of(fmt.Sprintf("t%05d", i)) != "" {
			found++
		}
	}
	perSearch := (6*6 + typoCompareCost) * len(stages)
	if want := typoBudget / perSearch; found == 0 || found > want {
		t.Errorf("%d names searched to the end, want 1 to %d", found, want)
	}
	if typos.budget >= 0 {
		t.Errorf("the budget is not spent: %d left", typos.budget)
	}
	if typos.Of("t00000") == "" {
		t.Error("a name searched before the budget ran out lost its answer")
	}
}

// The common indentation mistakes and a ": " in a command get a hint that
// says what to change, at the key or colon to change.
func TestSyntaxHints(t *testing.T) {
	const head = "version: 1\nstages:\n  app:\n    from: scratch\n"
	for _, c := range []struct{ name, src, want string }{
		{"a key at its step's -", head + "    steps:\n      - run: make\n      mounts: [{type: cache, target: /c}]\n",
			`f.yaml:7:7: invalid YAML: "mounts" is indented like the step's "-"; indent it to align with "run" (column 9)`},
		{"at the -, after another key of the step", head + "    steps:\n      - run: make\n        network: none\n      mounts:\n        - {type: cache, target: /c}\n",
			`f.yaml:8:7: invalid YAML: "mounts" is indented like the step's "-"; indent it to align with "run" (column 9)`},
		{"at the -, after a block script", head + "    steps:\n      - run: |\n          echo a: b\n      mounts: []\n",
			`f.yaml:8:7: invalid YAML: "mounts" is indented like the step's "-"; indent it to align with "run" (column 9)`},
		{"a stage key at a step's -", head + "    steps:\n      - run: x\n      image:\n        cmd: [x]\n",
			`f.yaml:7:7: invalid YAML: "image" is indented like the step's "-"; move it back to align with "from" (column 5)`},
		{"a mount key at its mount's -", head + "    steps:\n      - run: x\n        mounts:\n          - type: cache\n          target: /c\n",
			`f.yaml:9:11: invalid YAML: "target" is indented like the mount's "-"; indent it to align with "type" (column 13)`},
		{"between levels", head + "   image:\n      cmd: [x]\n",
			`f.yaml:5:4: invalid YAML: "image" at column 4 lines up with no key above it; indent it to align with "from" (column 5)`},
		{"between levels, to the level that takes it", head + "    steps:\n      - run: x\n        mounts:\n          - type: cache\n            target: /c\n         id: x\n",
			`f.yaml:10:10: invalid YAML: "id" at column 10 lines up with no key above it; indent it to align with "type" (column 13)`},
		{"further than the key above", head + "      image:\n        cmd: [x]\n",
			`f.yaml:5:7: invalid YAML: "image" is indented more than "from" above it, so YAML reads it as more of the value of "from"; move it back to align with "from" (column 5)`},
		{"further than a step's key", head + "    steps:\n      - run: make\n          mounts: [{type: cache, target: /c}]\n",
			`f.yaml:7:11: invalid YAML: "mounts" is indented more than "run" above it, so YAML reads it as more of the value of "run"; move it back to align with "run" (column 9)`},
		{"under a key whose value is on its line", head + "    image:\n      cmd: [x]\n       expose: [80]\n",
			`f.yaml:7:8: invalid YAML: "expose" is indented more than "cmd" above it, whose value is on its line; move it back to align with "cmd" (column 7)`},
		{"under a quoted value", "version: 1\nstages:\n  app:\n    from: \"scratch\"\n      image: {}\n",
			`f.yaml:5:7: invalid YAML: "image" is indented more than "from" above it, whose value is on its line; move it back to align with "from" (column 5)`},
		{"a step's - short of the others", head + "    steps:\n      - run: a\n     - run: b\n",
			`f.yaml:7:6: invalid YAML: the "-" at column 6 lines up with no "-" above it; indent it to align with the step's "-" (column 7)`},
		{"a mount's - short of the others", head + "    steps:\n      - run: a\n        mounts:\n          - {type: cache, target: /c}\n         - {type: cache, target: /d}\n",
			`f.yaml:9:10: invalid YAML: the "-" at column 10 lines up with no "-" above it; indent it to align with the mount's "-" (column 11)`},
		{"a step's key at the stage's level", head + "    steps:\n    - run: make\n    mounts: [{type: cache, target: /c}]\n",
			`f.yaml:7:5: stages.app.mounts: unknown key "mounts"; valid keys here: description, from, platform, args, env, workdir, user, shell, steps, image, tests; "mounts" is a key of the step above it: indent it to align with "run" (column 7)`},
		{"an image key at the stage's level", head + "    image:\n      cmd: [x]\n    expose: [80]\n",
			`f.yaml:7:5: stages.app.expose: unknown key "expose"; valid keys here: description, from, platform, args, env, workdir, user, shell, steps, image, tests; "expose" is a key of "image" above it: indent it to align with "cmd" (column 7)`},
		{"a colon in a command", head + "    steps:\n      - run: echo building: now\n",
			`f.yaml:6:27: invalid YAML: ": " in the command of "run" makes YAML read a key there; quote the command (run: "echo building: now") or write it as a block (run: |, then the command on the next line, indented)`},
		{"a colon in a command with quotes", head + "    steps:\n      - uv: run \"a\": b\n        network: none\n",
			`f.yaml:6:20: invalid YAML: ": " in the command of "uv" makes YAML read a key there; quote the command (uv: 'run "a": b') or write it as a block (uv: |, then the command on the next line, indented)`},
		{"a colon in an image command", head + "    image:\n      cmd: echo a: b\n",
			`f.yaml:6:18: invalid YAML: ": " in the command of "cmd" makes YAML read a key there; quote the command (cmd: "echo a: b") or write it as a block (cmd: |, then the command on the next line, indented)`},
		{"a colon on a command's second line", head + "    steps:\n      - run: echo one\n          two three: four\n",
			`f.yaml:7:20: invalid YAML: ": " in the command of "run" makes YAML read a key there; quote the command or write it as a block (run: |, then the command on the next line, indented)`},
		{"a colon in another value", "version: 1\ndefault: a: b\nstages: {a: {from: scratch}}\n",
			`f.yaml:2:11: invalid YAML: ": " in the value of "default" makes YAML read a key there; quote the value (default: "a: b") or write it as a block (default: |, then the value on the next line, indented)`},
		{"other syntax errors keep the parser's words", head + "    steps: [{run: x}\n",
			`f.yaml:5:12: invalid YAML: sequence end token ']' not found`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := loadErr(t, c.src); got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

// copy's chown takes user: for the user's primary group, as COPY
// --chown=user: does; numeric too, which link allows. A user key still
// refuses it.
func TestChownWithEmptyGroup(t *testing.T) {
	for _, chown := range []string{"testuser:", "1000:"} {
		link := chown == "1000:"
		src := fmt.Sprintf("version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - copy: {src: a, dst: /b, chown: %q, link: %v}\n", chown, link)
		s, err := Load("f.yaml", []byte(src))
		if err != nil {
			t.Fatalf("chown %s: %v", chown, err)
		}
		c := s.Stages[0].Steps[0].(*CopyStep).Copy.Chown
		if c.String() != chown || c.Group != "" || c.User != strings.TrimSuffix(chown, ":") {
			t.Errorf("chown %s: %+v", chown, c)
		}
	}
	got := loadErr(t, "version: 1\nstages:\n  app:\n    from: scratch\n    user: \"app:\"\n")
	if want := `f.yaml:5:11: stages.app.user: invalid user "app:": the group after ':' is empty`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	got = loadErr(t, "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - copy: {src: a, dst: /b, chown: \":\"}\n")
	if want := `f.yaml:6:40: stages.app.steps[0].copy.chown: invalid user "": want a name or a number before any ':'`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
