package convert

import (
	"regexp"
)

// A run that a preset would express stays as written: a preset is a
// different command (its own cache mounts, its own apt-get flags), so the
// image could differ. presetFor says which preset fits, for a comment
// beside the run.

// presetHints are the presets, with a pattern for the command each fits.
var presetHints = []struct {
	preset string
	match  *regexp.Regexp
}{
	{"apt", regexp.MustCompile(`\bapt(?:-get)?\s+(?:-\S+\s+)*install\b`)},
	{"apk", regexp.MustCompile(`\bapk\s+(?:-\S+\s+)*add\b`)},
	{"pip", regexp.MustCompile(`\b(?:pip3?|python3?\s+-m\s+pip)\s+(?:-\S+\s+)*install\b`)},
	{"uv", regexp.MustCompile(`\buv\s+(?:-\S+\s+)*(?:sync|pip\s+install|tool\s+install)\b`)},
	{"go", regexp.MustCompile(`\bgo\s+(?:build|install|mod\s+download)\b`)},
}

// presetFor returns the comment naming the preset that fits a run's
// script, or "".
func presetFor(script string, shell bool) string {
	if !shell || len(script) > 1<<16 {
		return ""
	}
	for _, h := range presetHints {
		if h.match.MatchString(script) {
			return "convert: the " + h.preset + " preset fits this run (docs/convert.md#presets)"
		}
	}
	return ""
}
