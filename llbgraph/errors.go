package llbgraph

import (
	"fmt"

	"github.com/moby/buildkit/util/suggest"
)

// suggestName returns ` (did you mean "x"?)` when name is close to one of
// options, or "".
func suggestName(name string, options []string) string {
	if m, ok := suggest.Search(name, options, true); ok {
		return fmt.Sprintf(" (did you mean %q?)", m)
	}
	return ""
}
