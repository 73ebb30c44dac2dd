package convert

import (
	"strconv"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"go.yaml.in/yaml/v3"
)

// copyCmd converts a COPY into a copy step, flag for flag. Sources,
// destination, --chown and --chmod are expanded by both; --from and
// --exclude by neither.
func (sc *stageConv) copyCmd(cmd *instructions.CopyCommand, line int) *yaml.Node {
	cp := sc.files(cmd.SourcesAndDest, cmd.From, cmd.Chown, cmd.Chmod, cmd.Link, cmd.ExcludePatterns, line)
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
	a := sc.files(cmd.SourcesAndDest, "", cmd.Chown, cmd.Chmod, cmd.Link, cmd.ExcludePatterns, line)
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

// files converts what COPY and ADD share: sources, destination, --from
// (COPY only), --chown, --chmod, --link and --exclude.
func (sc *stageConv) files(sd instructions.SourcesAndDest, from, chown, chmod string, link bool, exclude []string, line int) *yaml.Node {
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
	return cp
}
