package convert

import (
	"path"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"go.yaml.in/yaml/v3"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// copyCmd converts a COPY into a copy step, flag for flag. Sources,
// destination, --chown and --chmod are expanded by both; --from and
// --exclude by neither.
func (sc *stageConv) copyCmd(cmd *instructions.CopyCommand, line int) *yaml.Node {
	c := sc.c
	cp := mapping(true)
	if len(cmd.SourceContents) == 1 {
		return sc.inlineFile(cmd, line)
	}
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
	return sc.copyFlags(cmd, cp, line)
}

// inlineFile converts a COPY of one heredoc into a copy with content: its
// text as the parser read it, expanded (expand: true) when the delimiter
// is unquoted, with the same lexer, so only the names it reads are
// checked. A dst that is a directory gets the file under the heredoc's
// name, as in a Dockerfile.
func (sc *stageConv) inlineFile(cmd *instructions.CopyCommand, line int) *yaml.Node {
	c := sc.c
	doc := cmd.SourceContents[0]
	c.spend(len(doc.Data) + 16)
	cp := mapping(false)
	if w, ok := c.word(sc.scope, cmd.DestPath, line); ok {
		dst := w.text
		if dst == "." || strings.HasSuffix(dst, "/") {
			dst = path.Join(dst, doc.Path)
		}
		put(cp, "dst", str(dst))
	}
	put(cp, "content", str(doc.Data))
	if doc.Expand {
		for _, n := range spec.ScriptNames(doc.Data) {
			c.checkRead(sc.scope, n, line)
		}
		put(cp, "expand", boolean())
	}
	return sc.copyFlags(cmd, cp, line)
}

// copyFlags adds a COPY's flags to the copy cp, and returns its step.
func (sc *stageConv) copyFlags(cmd *instructions.CopyCommand, cp *yaml.Node, line int) *yaml.Node {
	c := sc.c
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
