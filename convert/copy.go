package convert

import (
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"go.yaml.in/yaml/v3"
)

// copyCmd converts a COPY into a copy step, flag for flag. Sources,
// destination, --chown and --chmod are expanded by both; --from and
// --exclude by neither.
func (sc *stageConv) copyCmd(cmd *instructions.CopyCommand, line int) *yaml.Node {
	c := sc.c
	cp := mapping(true)
	var src []string
	for _, p := range cmd.SourcePaths {
		if w, ok := c.word(sc.scope, p, line); ok {
			src = append(src, w.text)
		}
	}
	if len(src) == 1 {
		put(cp, "src", str(src[0]))
	} else {
		put(cp, "src", strs(src))
	}
	if w, ok := c.word(sc.scope, cmd.DestPath, line); ok {
		put(cp, "dst", str(w.text))
	}
	if cmd.From != "" {
		if v, ok := c.fromValue(cmd.From, sc.st.index, line); ok {
			put(cp, "from", str(v))
		}
	}
	for _, f := range []struct{ key, raw string }{{"chown", cmd.Chown}, {"chmod", cmd.Chmod}} {
		if f.raw == "" {
			continue
		}
		if w, ok := c.word(sc.scope, f.raw, line); ok {
			put(cp, f.key, str(w.text))
		}
	}
	if cmd.Link {
		put(cp, "link", boolean())
	}
	if len(cmd.ExcludePatterns) > 0 {
		ex := make([]string, len(cmd.ExcludePatterns))
		for i, p := range cmd.ExcludePatterns {
			ex[i] = literalWord(p)
		}
		put(cp, "exclude", strs(ex))
	}
	if cmd.Parents {
		put(cp, "parents", boolean())
	}
	step := mapping(false)
	put(step, "copy", cp)
	return step
}
