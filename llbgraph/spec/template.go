package spec

import (
	"errors"
	"strings"
)

// NeedsExpansion reports whether a value holds ${NAME} references or
// escapes, which the compiler expands before it parses the value.
func NeedsExpansion(s string) bool {
	return strings.ContainsAny(s, `$\`)
}

// errUnterminated is what [CheckBraces] finds.
var errUnterminated = errors.New("unterminated ${...}: missing }")

// CheckBraces reports a ${ that word opens and does not close, reading word
// as the compiler's lexer does, where a backslash escapes the character
// after it. The lexer says only `unsupported modifier (\ufffd)` of
// `${NAME` at the end of a value; the compiler asks this when it fails.
func CheckBraces(word string) error {
	open := 0
	for i := 0; i < len(word); i++ {
		switch {
		case word[i] == '\\':
			i++
		case word[i] == '$' && i+1 < len(word) && word[i+1] == '{':
			open++
			i++
		case word[i] == '}' && open > 0:
			open--
		}
	}
	if open > 0 {
		return errUnterminated
	}
	return nil
}
