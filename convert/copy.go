package convert

import (
	"path"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"go.yaml.in/yaml/v3"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// copyCmd converts a COPY into a copy step, flag for flag. Sources,
// destination, --chown and --chmod are expanded by both; --from and
// --exclude by neither.
func (sc *stageConv) copyCmd(cmd *instructions.CopyCommand, line int) *yaml.Node {
	var cp *yaml.Node
	if len(cmd.SourceContents) == 1 {
		cp = sc.inlineFile(cmd, line)
	} else {
		cp = sc.files(cmd.SourcesAndDest, line)
	}
	sc.fileFlags(cp, cmd.From, cmd.Chown, cmd.Chmod, cmd.Link, cmd.ExcludePatterns, line)
	if cmd.Parents {
		put(cp, "parents", boolean())
	}
	step := mapping(false)
	put(step, "copy", cp)
	return step
}

// addCmd converts an ADD into an add step, flag for flag, as copyCmd does
// a COPY; --checksum is expanded by both.
func (sc *stageConv) addCmd(cmd *instructions.AddCommand, line int) *yaml.Node {
	a := sc.files(cmd.SourcesAndDest, line)
	sc.fileFlags(a, "", cmd.Chown, cmd.Chmod, cmd.Link, cmd.ExcludePatterns, line)
	if cmd.Checksum != "" {
		if w, ok := sc.c.word(sc.scope, cmd.Checksum, line); ok {
			put(a, "checksum", str(w.text))
		}
	}
	for _, f := range []struct {
		key string
		v   *bool
	}{{"keep-git-dir", cmd.KeepGitDir}, {"unpack", cmd.Unpack}} {
		if f.v != nil {
			put(a, f.key, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(*f.v)})
		}
	}
	step := mapping(false)
	put(step, "add", a)
	return step
}

// files converts the sources and destination of a COPY or an ADD.
func (sc *stageConv) files(sd instructions.SourcesAndDest, line int) *yaml.Node {
	c := sc.c
	cp := mapping(true)
	var src []string
	for _, p := range sd.SourcePaths {
		if w, ok := c.word(sc.scope, p, line); ok {
			src = append(src, w.text)
		}
	}
	if len(src) == 1 {
		put(cp, "src", str(src[0]))
	} else {
		put(cp, "src", strs(src))
	}
	if w, ok := c.word(sc.scope, sd.DestPath, line); ok {
		put(cp, "dst", str(w.text))
	}
	return cp
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
	return cp
}

// fileFlags adds what COPY and ADD share to the copy or add cp: --from
// (COPY only), --chown, --chmod, --link and --exclude.
func (sc *stageConv) fileFlags(cp *yaml.Node, from, chown, chmod string, link bool, exclude []string, line int) {
	c := sc.c
	if from != "" {
		if v, ok := c.fromValue(from, sc.st.index, line); ok {
			put(cp, "from", str(v))
		}
	}
	for _, f := range []struct{ key, raw string }{{"chown", chown}, {"chmod", chmod}} {
		if f.raw == "" {
			continue
		}
		if w, ok := c.word(sc.scope, f.raw, line); ok {
			put(cp, f.key, str(w.text))
		}
	}
	if link {
		put(cp, "link", boolean())
	}
	if len(exclude) > 0 {
		ex := make([]string, len(exclude))
		for i, p := range exclude {
			ex[i] = literalWord(p)
		}
		put(cp, "exclude", strs(ex))
	}
}
