package spec

import (
	"strings"
	"testing"
)

func TestTestsDecode(t *testing.T) {
	src := `version: 1
stages:
  app:
    from: busybox
    tests:
      - name: passwd
        file: /etc/passwd
        mode: "0644"
        owner: "0:0"
        contains: root
      - name: id
        run: id -u
        exit: 0
        stdout: {equals: "1000\n"}
        network: default
      - name: health
        healthcheck: true
`
	s, err := Load("f.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	tests := s.Stages.Get("app").Tests
	if len(tests) != 3 {
		t.Fatalf("got %d tests, want 3", len(tests))
	}
	want := []TestKind{TestFile, TestRun, TestHealthcheck}
	for i, tt := range tests {
		if tt.Kind() != want[i] {
			t.Errorf("test %d: kind %q, want %q", i, tt.Kind(), want[i])
		}
	}
	f := tests[0]
	if f.Mode == nil || f.Mode.Value != 0o644 || f.Owner.User != "0" || f.Contains.Value != "root" {
		t.Errorf("file test decoded as %+v", f)
	}
	if r := tests[1]; r.Stdout == nil || r.Stdout.Equals == nil || r.Stdout.Equals.Value != "1000\n" || r.Network.Value != "default" {
		t.Errorf("run test decoded as %+v", r)
	}
	if p := tests[1].Node.Path(); p != "stages.app.tests[1]" {
		t.Errorf("path %q", p)
	}
	if l := tests[2].Node.Range.Start.Line; l != 16 {
		t.Errorf("health test at line %d, want 16", l)
	}
}

func TestTestsErrors(t *testing.T) {
	cases := []struct{ name, tests, want string }{
		{"typo", "- name: a\n  file: /x\n  contians: b\n", `f.yaml:7:9: stages.app.tests[0].contians: unknown key "contians" (did you mean "contains"?)`},
		{"two kinds", "- name: a\n  file: /x\n  run: id\n", `f.yaml:5:9: stages.app.tests[0]: a test checks one thing, this one has file and run`},
		{"no kind", "- name: a\n", `f.yaml:5:9: stages.app.tests[0]: a test needs one of file, run or healthcheck`},
		{"no name", "- file: /x\n", `f.yaml:5:9: stages.app.tests[0].name: a test needs a name`},
		{"duplicate", "- name: a\n  file: /x\n- name: a\n  file: /y\n", `f.yaml:7:15: stages.app.tests[1].name: test name "a" is used twice in stage "app": first at line 5, column 15`},
		{"bad regexp", "- name: a\n  run: id\n  stdout: {matches: \"(\"}\n", `f.yaml:7:27: stages.app.tests[0].stdout.matches: invalid regular expression`},
		{"key of another kind", "- name: a\n  file: /x\n  exit: 1\n", `f.yaml:7:15: stages.app.tests[0].exit: exit applies to run tests only, not to file`},
		{"bad network", "- name: a\n  run: id\n  network: host\n", `f.yaml:7:18: stages.app.tests[0].network: network is none or default, got "host"`},
		{"healthcheck false", "- name: a\n  healthcheck: false\n", `f.yaml:6:22: stages.app.tests[0].healthcheck: healthcheck: false checks nothing`},
		{"owner with a variable", "- name: a\n  file: /x\n  owner: ${UID}\n", `stages.app.tests[0].owner: a test's owner is not expanded`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := "version: 1\nstages:\n  app:\n    tests:\n" + indent(c.tests, "      ") + "    from: busybox\n"
			_, err := Load("f.yaml", []byte(src))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v\nwant an error containing %s", err, c.want)
			}
		})
	}
}

func indent(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "")
}
