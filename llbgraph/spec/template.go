package spec

import "strings"

// NeedsExpansion reports whether a value holds ${NAME} references or
// escapes, which the compiler expands before it parses the value.
func NeedsExpansion(s string) bool {
	return strings.ContainsAny(s, `$\`)
}
