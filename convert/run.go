package convert

import (
	"fmt"
	"path"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"go.yaml.in/yaml/v3"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// run converts a RUN into a run step: the command as the Dockerfile runs
// it, its mounts, network, security and devices, and the args in scope as its env. notes are
// the converter's comments for the step.
func (sc *stageConv) run(cmd *instructions.RunCommand, line int) (step *yaml.Node, notes []string) {
	script, ok := sc.script(cmd, line)
	if !ok {
		return nil, nil
	}
	step = mapping(false)
	switch {
	case !cmd.PrependShell:
		put(step, "run", strs(cmd.CmdLine))
	case sc.passesOutOfScope(script):
		// The spec would give this script the args it names, and some
		// are not in scope here; in exec form it gets none.
		put(step, "run", strs([]string{"/bin/sh", "-c", script}))
		notes = append(notes, "# convert: exec form, because the script names args that are not in scope here, which a Dockerfile RUN does not see")
	default:
		put(step, "run", str(script))
	}
	if preset := presetFor(script, cmd.PrependShell); preset != "" {
		notes = append(notes, "# "+preset)
	}
	if env := sc.scope.runEnv(); len(env) > 0 {
		vars := mapping(true)
		for _, kv := range env {
			sc.c.spend(2*len(kv[0]) + 8)
			put(vars, kv[0], str(kv[1]))
		}
		put(step, "env", vars)
	}
	if mounts := sc.mounts(cmd, line); len(mounts.Content) > 0 {
		put(step, "mounts", mounts)
	}
	switch n := instructions.GetNetwork(cmd); n {
	case instructions.NetworkNone, instructions.NetworkHost:
		put(step, "network", str(n))
	}
	if instructions.GetSecurity(cmd) == instructions.SecurityInsecure {
		put(step, "security", str(instructions.SecurityInsecure))
	}
	if devices := instructions.GetDevices(cmd); len(devices) > 0 {
		list := sequence(false)
		for _, d := range devices {
			// RUN --device does not expand the name.
			dev := mapping(true)
			put(dev, "name", str(literalWord(d.Name)))
			if d.Required {
				put(dev, "required", boolean())
			}
			sc.c.spend(len(d.Name) + 16)
			list.Content = append(list.Content, dev)
		}
		put(step, "devices", list)
	}
	return step, notes
}

// script is the text a shell-form RUN hands its shell, as dockerfile2llb
// builds it: the command line; or for RUN <<EOF alone, the heredoc's
// content (tabs stripped for <<-); or for heredocs within a command, the
// command followed by each heredoc and its terminator, for the shell to
// read. An exec-form RUN has no script.
func (sc *stageConv) script(cmd *instructions.RunCommand, line int) (string, bool) {
	if !cmd.PrependShell {
		return "", true
	}
	args := cmd.CmdLine
	if len(cmd.Files) == 0 {
		return strings.Join(args, " "), true
	}
	if len(args) != 1 {
		sc.c.errorf(line, nil, "the parser produced an invalid RUN with heredocs")
		return "", false
	}
	if parser.MustParseHeredoc(args[0]) != nil {
		data := cmd.Files[0].Data
		if cmd.Files[0].Chomp {
			data = parser.ChompHeredocContent(data)
		}
		if strings.HasPrefix(data, "#!") {
			sc.c.errorf(line, gapShebang, "")
			return "", false
		}
		return data, true
	}
	var b strings.Builder
	b.WriteString(args[0])
	for _, f := range cmd.Files {
		b.WriteByte('\n')
		b.WriteString(f.Data)
		b.WriteString(f.Name)
	}
	return b.String(), true
}

// passesOutOfScope reports whether the spec would pass a shell-form run
// an arg, because its script names it, that a Dockerfile RUN here does not
// have: one out of scope (another stage's, or before FROM only).
func (sc *stageConv) passesOutOfScope(script string) bool {
	for _, n := range spec.ScriptNames(script) {
		if sc.scope.vars[n] == 0 && sc.c.isSpecArg(n) {
			return true
		}
	}
	return false
}

// mounts converts RUN --mount flags. The instruction is expanded with an
// expander that changes nothing, which gives each field as written, to be
// converted as a word.
func (sc *stageConv) mounts(cmd *instructions.RunCommand, line int) *yaml.Node {
	c := sc.c
	out := sequence(false)
	if err := cmd.Expand(func(w string) (string, error) { return w, nil }); err != nil {
		c.errorf(line, nil, "%v", err)
		return out
	}
	for _, m := range instructions.GetMounts(cmd) {
		for _, n := range sc.mount(m, line) {
			n.Style = yaml.FlowStyle
			out.Content = append(out.Content, n)
		}
	}
	return out
}

// mount converts one mount; a secret that goes both to a file and to a
// variable becomes two, as the spec has them.
func (sc *stageConv) mount(m *instructions.Mount, line int) []*yaml.Node {
	c := sc.c
	n := mapping(true)
	put(n, "type", str(string(m.Type)))
	field := func(key, raw string) {
		if raw == "" {
			return
		}
		if w, ok := c.word(sc.scope, raw, line); ok {
			put(n, key, str(w.text))
		}
	}
	switch m.Type {
	case instructions.MountTypeCache:
		field("target", m.Target)
		field("id", m.CacheID)
		if m.CacheSharing != "" {
			put(n, "sharing", str(string(m.CacheSharing)))
		}
		sc.mountFrom(n, m.From, line)
		field("source", m.Source)
		fileOpts(n, m)
		if m.ReadOnly {
			put(n, "readonly", boolean())
		}
	case instructions.MountTypeBind:
		field("target", m.Target)
		sc.mountFrom(n, m.From, line)
		field("source", m.Source)
		if !m.ReadOnly {
			put(n, "readwrite", boolean())
		}
	case instructions.MountTypeTmpfs:
		field("target", m.Target)
		if m.SizeLimit > 0 {
			put(n, "size", integer(fmt.Sprint(m.SizeLimit)))
		}
	case instructions.MountTypeSSH:
		field("id", m.CacheID)
		field("target", m.Target)
		if m.Required {
			put(n, "required", boolean())
		}
		fileOpts(n, m)
	case instructions.MountTypeSecret:
		return sc.secret(m, line)
	}
	return []*yaml.Node{n}
}

// secret converts a secret mount. Its id is id= or source=, else the
// target's base name; without env it goes to a file, by default
// /run/secrets/<id>.
func (sc *stageConv) secret(m *instructions.Mount, line int) []*yaml.Node {
	c := sc.c
	id := m.CacheID
	if m.Source != "" {
		id = m.Source
	}
	if id == "" {
		id = path.Base(m.Target)
	}
	idw, ok := c.word(sc.scope, id, line)
	if !ok {
		return nil
	}
	base := func() *yaml.Node {
		n := mapping(true)
		put(n, "type", str("secret"))
		put(n, "id", str(idw.text))
		if m.Required {
			put(n, "required", boolean())
		}
		return n
	}
	var out []*yaml.Node
	if m.Env != nil {
		n := base()
		if w, ok := c.word(sc.scope, *m.Env, line); ok {
			put(n, "env", str(w.text))
		}
		out = append(out, n)
	}
	if m.Env == nil || m.Target != "" {
		n := base()
		if m.Target != "" {
			if w, ok := c.word(sc.scope, m.Target, line); ok {
				put(n, "target", str(w.text))
			}
		}
		fileOpts(n, m)
		out = append(out, n)
	}
	return out
}

// fileOpts writes the mode and owner of a cache directory, a secret file
// or an ssh socket.
func fileOpts(n *yaml.Node, m *instructions.Mount) {
	if m.Mode != nil {
		put(n, "mode", str(fmt.Sprintf("0%o", *m.Mode)))
	}
	if m.UID != nil {
		put(n, "uid", integer(fmt.Sprint(*m.UID)))
	}
	if m.GID != nil {
		put(n, "gid", integer(fmt.Sprint(*m.GID)))
	}
}

// mountFrom writes a mount's from: a stage (by index or name, as the
// Dockerfile resolves it) or an image, taken literally.
func (sc *stageConv) mountFrom(n *yaml.Node, from string, line int) {
	if from == "" {
		return
	}
	if v, ok := sc.c.fromValue(from, sc.st.index, line); ok {
		put(n, "from", str(v))
	}
}

// fromValue is the spec's from for a Dockerfile --from of the stage at
// index: the stage's name, or the image reference, which the Dockerfile
// does not expand.
func (c *converter) fromValue(from string, index, line int) (string, bool) {
	st, later := c.stageRef(from, index)
	switch {
	case later:
		c.errorf(line, gapLaterStage, "--from=%s", from)
		return "", false
	case st != nil:
		return st.name, true
	}
	return literalWord(from), true
}
