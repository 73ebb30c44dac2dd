package convert

import (
	"fmt"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"go.yaml.in/yaml/v3"
)

// stageConv converts one stage's instructions.
type stageConv struct {
	c     *converter
	st    *stage
	scope *scope
	// node is the stage's mapping; steps its steps, when it has any.
	node  *yaml.Node
	steps *yaml.Node
	img   imageBlock
	// hoisted are the ENV, WORKDIR and USER instructions that open the
	// stage in the order the spec applies its keys (env, workdir, user):
	// they become those keys instead of steps.
	hoisted map[instructions.Command]bool
	env     *yaml.Node // the stage's env: mapping, when hoisted
	// envSet is the index of the last ENV that set a name, to find image
	// values that a later ENV would change.
	envSet map[string]int
}

// stage converts one stage, whose FROM and platform see meta.
func (c *converter) stage(st *stage, meta *scope) (key, value *yaml.Node) {
	line := startLine(st.df.Location)
	c.spend(len(st.df.SourceCode) + 16)
	key = str(st.name)
	c.attach([]*yaml.Node{key}, line)
	sc := &stageConv{c: c, st: st, node: mapping(false), envSet: map[string]int{}}
	if st.df.DocComment != "" {
		put(sc.node, "description", str(st.df.DocComment))
	}
	sc.from(meta, line)
	sc.scope = newScope()
	if st.base != nil && !c.over() {
		c.spend(len(st.base.scope.vars))
		sc.scope = st.base.scope.clone()
	}
	sc.hoist()
	for i, cmd := range st.df.Commands {
		sc.command(i, cmd)
	}
	if sc.steps != nil {
		put(sc.node, "steps", sc.steps)
	}
	sc.checkLateReads()
	if img := sc.img.node(c); img != nil {
		put(sc.node, "image", img)
	}
	st.scope = sc.scope
	return key, sc.node
}

// from converts the FROM line: the base and the platform.
func (sc *stageConv) from(meta *scope, line int) {
	c, df := sc.c, sc.st.df
	if b := c.byName[df.BaseName]; b != nil && b.index >= sc.st.index {
		c.errorf(line, gapLaterStage, "FROM %s", df.BaseName)
	} else if w, ok := c.word(meta, df.BaseName, line); ok {
		put(sc.node, "from", str(w.text))
	}
	if df.Platform == "" {
		return
	}
	if sc.st.base != nil {
		// A Dockerfile ignores --platform on a stage built from another
		// stage, which keeps that stage's platform; so does the spec.
		k := get(sc.node, "from")
		if k != nil {
			k.LineComment = "# FROM --platform=" + commentText(df.Platform) + " dropped: a stage built on a stage has that stage's platform"
		}
		return
	}
	if w, ok := c.word(meta, df.Platform, line); ok {
		put(sc.node, "platform", str(w.text))
	}
}

// hoist finds the ENV, WORKDIR and USER instructions that open the stage
// in the order env, workdir, user (ARGs and image instructions between
// them change nothing of that order): the spec applies its stage keys in
// that order before the steps, so they say the same as steps would.
func (sc *stageConv) hoist() {
	sc.hoisted = map[instructions.Command]bool{}
	phase := 0 // 0 env, 1 workdir, 2 user
	keys := map[string]bool{}
	for _, cmd := range sc.st.df.Commands {
		switch cmd := cmd.(type) {
		case *instructions.ArgCommand, *instructions.LabelCommand, *instructions.ExposeCommand,
			*instructions.EntrypointCommand, *instructions.CmdCommand, *instructions.HealthCheckCommand,
			*instructions.VolumeCommand, *instructions.StopSignalCommand:
			continue
		case *instructions.EnvCommand:
			if phase > 0 {
				return
			}
			for _, kv := range cmd.Env {
				if keys[kv.Key] {
					return
				}
			}
			for _, kv := range cmd.Env {
				keys[kv.Key] = true
			}
		case *instructions.WorkdirCommand:
			if phase > 0 {
				return
			}
			phase = 1
		case *instructions.UserCommand:
			if phase > 1 {
				return
			}
			phase = 2
		default:
			return
		}
		sc.hoisted[cmd] = true
	}
}

// command converts the instruction at index i of the stage.
func (sc *stageConv) command(i int, cmd instructions.Command) {
	c := sc.c
	line := startLine(cmd.Location())
	if c.over() {
		return
	}
	if s, ok := cmd.(fmt.Stringer); ok {
		c.spend(len(s.String()) + 16)
	}
	if g := commandGap(cmd); g != nil {
		c.errorf(line, g, "")
		return
	}
	switch cmd := cmd.(type) {
	case *instructions.ArgCommand:
		c.attach(c.argCmd(sc.scope, cmd), line)
	case *instructions.EnvCommand:
		sc.envCmd(i, cmd, line)
	case *instructions.WorkdirCommand:
		if w, ok := c.word(sc.scope, cmd.Path, line); ok {
			sc.stateKey(cmd, "workdir", str(w.text), line)
		}
	case *instructions.UserCommand:
		if w, ok := c.word(sc.scope, cmd.User, line); ok {
			sc.stateKey(cmd, "user", str(w.text), line)
		}
	case *instructions.RunCommand:
		if step, notes := sc.run(cmd, line); step != nil {
			sc.addStep(step, line)
			addHead(step, notes)
		}
	case *instructions.CopyCommand:
		if step := sc.copyCmd(cmd, line); step != nil {
			sc.addStep(step, line)
		}
	case *instructions.AddCommand:
		sc.addStep(sc.addCmd(cmd, line), line)
	case *instructions.ShellCommand:
		step := mapping(false)
		put(step, "shell", strs(cmd.Shell))
		sc.addStep(step, line)
	default:
		sc.imageCmd(i, cmd, line)
	}
}

// addStep appends a step, with the comments above its instruction.
func (sc *stageConv) addStep(step *yaml.Node, line int) {
	if sc.steps == nil {
		sc.steps = sequence(false)
	}
	sc.steps.Content = append(sc.steps.Content, step)
	sc.c.attach([]*yaml.Node{step}, line)
}

// stateKey writes a WORKDIR or USER as the stage's key of that name when
// it is hoisted, else as a step.
func (sc *stageConv) stateKey(cmd instructions.Command, key string, v *yaml.Node, line int) {
	if sc.hoisted[cmd] {
		sc.c.attach([]*yaml.Node{put(sc.node, key, v)}, line)
		return
	}
	step := mapping(false)
	put(step, key, v)
	sc.addStep(step, line)
}

// envCmd converts an ENV. Its values read the variables as they were
// before it: a value reading a name the same ENV set earlier is a gap,
// since in the spec the entries of one env see the ones before them.
func (sc *stageConv) envCmd(i int, cmd *instructions.EnvCommand, line int) {
	c := sc.c
	vars := mapping(false)
	set := map[string]*yaml.Node{}
	for _, kv := range cmd.Env {
		if strings.ContainsAny(kv.Key, "$'\"\\`") {
			c.errorf(line, gapKeyExpansion, "ENV %s", kv.Key)
			continue
		}
		w, ok := c.word(sc.scope, kv.Value, line)
		if !ok {
			continue
		}
		for _, n := range w.names {
			if set[n] != nil {
				c.errorf(line, gapEnvSelfRef, "ENV %s reads $%s", kv.Key, n)
			}
		}
		if v := set[kv.Key]; v != nil {
			*v = *str(w.text)
		} else {
			v = str(w.text)
			put(vars, kv.Key, v)
			set[kv.Key] = v
		}
	}
	for n := range set {
		sc.scope.setEnv(n)
		sc.envSet[n] = i
	}
	if sc.hoisted[cmd] {
		if sc.env == nil {
			sc.env = mapping(false)
			put(sc.node, "env", sc.env)
		}
		if len(vars.Content) > 0 {
			c.attach([]*yaml.Node{vars.Content[0]}, line)
		}
		sc.env.Content = append(sc.env.Content, vars.Content...)
		return
	}
	if len(vars.Content) <= 6 {
		vars.Style = yaml.FlowStyle
	}
	step := mapping(false)
	put(step, "env", vars)
	sc.addStep(step, line)
}
