package check

import (
	"strings"
	"unicode"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph"
	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// argNotInRun finds a run whose command names a top-level arg as a word
// but does not get it. A run gets the top-level args its script reads as
// $NAME or ${NAME}, and every arg its stage declares, while a Dockerfile
// RUN gets every ARG in scope: `printenv RELEASE`, a list-form run, or a
// translated Dockerfile's `make` that reads RELEASE from the environment
// sees it unset. A name the step's or the stage's env sets is the env's.
// One pass over each command's words.
func argNotInRun(r *run) {
	if len(r.s.Args) == 0 {
		return
	}
	declared := make(map[string]bool, len(r.s.Args))
	for _, a := range r.s.Args {
		declared[a.Name] = true
	}
	r.runLikes(func(ev *llbgraph.RunStep) {
		key, c := commandOf(ev.Spec)
		if c == nil {
			return
		}
		text := c.Shell
		if c.IsExec {
			text = strings.Join(c.Exec, " ")
		}
		got := make(map[string]bool, len(ev.ArgEnv)+len(ev.Env))
		for _, kvs := range [][]string{ev.ArgEnv, ev.Env} {
			for _, kv := range kvs {
				k, _, _ := strings.Cut(kv, "=")
				got[k] = true
			}
		}
		env := ev.Before().Image.Config.Env
		seen := map[string]bool{}
		for _, w := range strings.FieldsFunc(text, func(r rune) bool { return r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			if !declared[w] || got[w] || seen[w] || envSets(env, w) {
				continue
			}
			seen[w] = true
			r.report(ev.Spec.StepNode(), key, c.Range, "the command names the arg %s but the step does not get it: a step gets a top-level arg only when its shell command reads it as $%s; to give it to every run of the stage, as ARG in a Dockerfile stage does, declare it in the stage's args (args: {%s: })", w, w, w)
		}
	})
}

// commandOf returns a run-like step's command and its key; nil for the
// presets that take packages.
func commandOf(s spec.RunLike) (string, *spec.Command) {
	switch s := s.(type) {
	case *spec.RunStep:
		return "run", &s.Run
	case spec.Tool:
		return s.Command()
	}
	return "", nil
}

// envSets reports whether env (NAME=value entries) sets name.
func envSets(env []string, name string) bool {
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == name {
			return true
		}
	}
	return false
}
