package spec

import (
	"strconv"
	"strings"
)

// Count is n and noun for a message, the noun in the plural unless n is 1:
// "1 finding", "3 findings", "2 branches".
func Count(n int, noun string) string {
	if n != 1 {
		switch {
		case strings.HasSuffix(noun, "s"), strings.HasSuffix(noun, "x"), strings.HasSuffix(noun, "ch"), strings.HasSuffix(noun, "sh"):
			noun += "es"
		default:
			noun += "s"
		}
	}
	return strconv.Itoa(n) + " " + noun
}
