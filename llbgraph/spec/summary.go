package spec

import "strings"

// scriptSummary is what a progress name shows of a script: its first line
// that does something, as the Dockerfile frontend names a heredoc RUN by
// its first line. Blank lines, comments (#! too) and `set` lines that only
// set shell options (set -e, set -euo pipefail) are skipped; a line ending
// in a backslash is joined with the next; " ..." follows when more lines
// do something. A script of nothing but such lines shows its first one.
func scriptSummary(script string) string {
	lines := strings.Split(strings.ReplaceAll(strings.TrimSpace(script), "\r\n", "\n"), "\n")
	var first string
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		for strings.HasSuffix(line, `\`) && i+1 < len(lines) {
			i++
			line = strings.TrimSpace(strings.TrimSuffix(line, `\`)) + " " + strings.TrimSpace(lines[i])
		}
		if line == "" || strings.HasPrefix(line, "#") || setsOptionsOnly(line) {
			continue
		}
		if first != "" {
			return first + " ..."
		}
		first = line
	}
	if first == "" {
		first = strings.TrimSpace(lines[0])
	}
	return first
}

// setsOptionsOnly reports whether a line is the set builtin with nothing
// but options: set -e, set -eux, set -o pipefail, set -euo pipefail.
func setsOptionsOnly(line string) bool {
	words := strings.Fields(line)
	if len(words) < 2 || words[0] != "set" {
		return false
	}
	for i, w := range words[1:] {
		if strings.HasPrefix(w, "-") || strings.HasPrefix(w, "+") {
			continue
		}
		// the name after -o, or after a group ending in o (-euo pipefail)
		if prev := words[i]; (strings.HasPrefix(prev, "-") || strings.HasPrefix(prev, "+")) && strings.HasSuffix(prev, "o") {
			continue
		}
		return false
	}
	return true
}
