package spec

import (
	"strings"
	"testing"
)

// An arg is NAME: default, or the long form with a description; the long
// form's mistakes get the file, line and column.
func TestArgDeclarations(t *testing.T) {
	s, err := Load("f.yaml", []byte("version: 1\nargs:\n  A: \"1\"\n  B:\n  C: {default: x, description: what C is}\n  D: {description: no default}\nstages:\n  s:\n    from: scratch\n    args: {E: e, A: }\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := []Arg{s.Args[0], s.Args[1], s.Args[2], s.Args[3], s.Stages[0].Args[0], s.Stages[0].Args[1]}
	for i, want := range []struct {
		name, value, desc string
		noDefault         bool
	}{{"A", "1", "", false}, {"B", "", "", true}, {"C", "x", "what C is", false}, {"D", "", "no default", true}, {"E", "e", "", false}, {"A", "", "", true}} {
		if a := got[i]; a.Name != want.name || a.Value != want.value || a.Description != want.desc || a.NoDefault != want.noDefault {
			t.Errorf("arg %d: %+v, want %+v", i, a, want)
		}
	}
	if !s.DeclaresArg("E") || s.DeclaresArg("F") {
		t.Errorf("DeclaresArg: a stage's arg is declared, another name is not")
	}
	for src, want := range map[string]string{
		"version: 1\nargs:\n  C: {defualt: x}\nstages: {s: {from: scratch}}\n":      `f.yaml:3:7: args.C.defualt: unknown key "defualt" (did you mean "default"?): an arg takes default and description`,
		"version: 1\nargs:\n  C: [x]\nstages: {s: {from: scratch}}\n":               `f.yaml:3:6: args.C: want a default (a string) or a mapping with default and description, got a list`,
		"version: 1\nstages: {s: {from: scratch, args: {TARGETOS: linux}}}\n":       `f.yaml:2:46: stages.s.args.TARGETOS: TARGETOS is set by the build from --platform; it cannot be declared`,
		"version: 1\nstages: {s: {from: scratch, args: {C: {description: [x]}}}}\n": `f.yaml:2:53: stages.s.args.C.description: want a string, got a list`,
	} {
		_, err := Load("f.yaml", []byte(src))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q:\n got  %v\n want %s", src, err, want)
		}
	}
}
