package spec

import "testing"

// CheckBraces finds a ${ left open, as the compiler's lexer reads a value:
// nesting counts, and a backslash escapes the character after it.
func TestCheckBraces(t *testing.T) {
	for word, open := range map[string]bool{
		"${A":             true,
		"python:${A":      true,
		"${A:-${B}":       true,
		"${A:-x":          true,
		"${":              true,
		"${A}":            false,
		"${A:-${B}}":      false,
		`\${A`:            false,
		`\\${A`:           true,
		"$A}":             false,
		"${A}}":           false,
		"a ${A} and ${B}": false,
		"":                false,
	} {
		if got := CheckBraces(word) != nil; got != open {
			t.Errorf("CheckBraces(%q) reports an open ${: %v, want %v", word, got, open)
		}
	}
}
