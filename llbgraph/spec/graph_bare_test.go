package spec

import (
	"testing"

	"github.com/distribution/reference"
)

// isBareName says yes only to names that distribution/reference reads as
// docker.io/library/name: every string of up to five characters over an
// alphabet of every kind of character the grammar treats differently.
func TestIsBareNameAgreesWithReference(t *testing.T) {
	alphabet := []byte("a0._-A/:@")
	var walk func(prefix []byte)
	walk = func(prefix []byte) {
		if len(prefix) > 0 {
			name := string(prefix)
			named, err := reference.ParseNormalizedNamed(name)
			lib := err == nil && reference.FamiliarString(named) == name
			if got := isBareName(name); got && !lib {
				t.Errorf("isBareName(%q) = true, but reference reads it as %v, %v", name, named, err)
			} else if !got && lib && !containsAny(name, "/:@") {
				t.Errorf("isBareName(%q) = false for a valid bare name", name)
			}
		}
		if len(prefix) == 5 {
			return
		}
		for _, c := range alphabet {
			walk(append(prefix, c))
		}
	}
	walk(nil)
}

func containsAny(s, chars string) bool {
	for i := 0; i < len(s); i++ {
		for j := 0; j < len(chars); j++ {
			if s[i] == chars[j] {
				return true
			}
		}
	}
	return false
}
