package spec

import "testing"

// A multi-line script is named by its first command, as a heredoc RUN is,
// past the lines that do nothing.
func TestScriptSummary(t *testing.T) {
	for _, c := range []struct{ script, want string }{
		{"uv sync --frozen", "uv sync --frozen"},
		{"  pip install .  \n", "pip install ."},
		{"set -e\npip install .\npytest", "pip install . ..."},
		{"set -euo pipefail\n\n# build it\nmake all\n", "make all"},
		{"#!/bin/sh\nset -eux\nset -o pipefail\nset +x\nmake\nmake test", "make ..."},
		{"apt-get update && \\\n    apt-get install -y \\\n    curl\n", "apt-get update && apt-get install -y curl"},
		{"set -e\r\necho one\r\necho two\r\n", "echo one ..."},
		{"set -e; make", "set -e; make"},
		{"set x y\nmake", "set x y ..."},
		{"set -e\n# nothing else", "set -e"},
	} {
		if got := scriptSummary(c.script); got != c.want {
			t.Errorf("scriptSummary(%q) = %q, want %q", c.script, got, c.want)
		}
	}
}
