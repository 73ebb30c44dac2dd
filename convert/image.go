package convert

import (
	"strconv"
	"strings"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"go.yaml.in/yaml/v3"
)

// imageBlock collects a stage's image instructions into its image: block.
// A Dockerfile applies each where it stands; the spec applies the block
// after the steps, which is the same but for values that read a variable
// an ENV after them changes (gapLateRead).
type imageBlock struct {
	entrypoint, cmd, healthcheck, stopsignal *item
	expose, volumes                          []*item
	labels                                   []*item // one per name, at its first place, with its last value
	labelIndex                               map[string]*item
	// reads are the names each expanded value read, to check against the
	// ENVs after it.
	reads []lateRead
}

// item is one value of the block and the instruction it came from.
type item struct {
	key   string // a label's name
	value *yaml.Node
	line  int
}

// lateRead is what an image value read, and where.
type lateRead struct {
	index int
	line  int
	names []string
}

// imageCmd converts an image instruction, the instruction at index i.
func (sc *stageConv) imageCmd(i int, cmd instructions.Command, line int) {
	c, b := sc.c, &sc.img
	switch cmd := cmd.(type) {
	case *instructions.EntrypointCommand:
		b.entrypoint = &item{value: commandNode(cmd.ShellDependantCmdLine), line: line}
	case *instructions.CmdCommand:
		b.cmd = &item{value: commandNode(cmd.ShellDependantCmdLine), line: line}
	case *instructions.HealthCheckCommand:
		b.healthcheck = &item{value: healthcheckNode(cmd), line: line}
	case *instructions.StopSignalCommand:
		if w, ok := sc.imageWord(i, cmd.Signal, line); ok {
			b.stopsignal = &item{value: str(w), line: line}
		}
	case *instructions.ExposeCommand:
		for _, p := range cmd.Ports {
			if w, ok := sc.imageWord(i, p, line); ok {
				b.expose = append(b.expose, &item{value: str(w), line: line})
			}
		}
	case *instructions.VolumeCommand:
		for _, v := range cmd.Volumes {
			if w, ok := sc.imageWord(i, v, line); ok {
				b.volumes = append(b.volumes, &item{value: str(w), line: line})
			}
		}
	case *instructions.LabelCommand:
		for _, kv := range cmd.Labels {
			if strings.ContainsAny(kv.Key, "$'\"\\`") {
				c.errorf(line, gapKeyExpansion, "LABEL %s", kv.Key)
				continue
			}
			w, ok := sc.imageWord(i, kv.Value, line)
			if !ok {
				continue
			}
			b.setLabel(kv.Key, str(w), line)
		}
	default:
		c.errorf(line, nil, "%s is not an instruction this converter knows", strings.ToUpper(cmd.Name()))
	}
}

// imageWord converts an expanded image value, and remembers what it read.
func (sc *stageConv) imageWord(i int, raw string, line int) (string, bool) {
	w, ok := sc.c.word(sc.scope, raw, line)
	if ok && len(w.names) > 0 {
		sc.img.reads = append(sc.img.reads, lateRead{index: i, line: line, names: w.names})
	}
	return w.text, ok
}

// setLabel sets a label; a name set again keeps its place and takes the
// new value, as the image's labels do.
func (b *imageBlock) setLabel(key string, v *yaml.Node, line int) {
	if l := b.labelIndex[key]; l != nil {
		l.value, l.line = v, line
		return
	}
	if b.labelIndex == nil {
		b.labelIndex = map[string]*item{}
	}
	b.labelIndex[key] = &item{key: key, value: v, line: line}
	b.labels = append(b.labels, b.labelIndex[key])
}

// checkLateReads reports image values that read a variable an ENV after
// them changes: the spec would read the new value.
func (sc *stageConv) checkLateReads() {
	for _, r := range sc.img.reads {
		for _, n := range r.names {
			if i, ok := sc.envSet[n]; ok && i > r.index {
				sc.c.errorf(r.line, gapLateRead, "$%s is set again by the ENV at line %d", n, startLine(sc.st.df.Commands[i].Location()))
			}
		}
	}
}

// node is the image: block, or nil when the stage sets nothing.
func (b *imageBlock) node(c *converter) *yaml.Node {
	m := mapping(false)
	one := func(key string, it *item) {
		if it != nil {
			c.attach([]*yaml.Node{put(m, key, it.value)}, it.line)
		}
	}
	list := func(key string, items []*item) {
		if len(items) == 0 {
			return
		}
		seq := sequence(true)
		for _, it := range items {
			seq.Content = append(seq.Content, it.value)
		}
		lines := make([]int, len(items))
		for i, it := range items {
			lines[i] = it.line
		}
		c.attach([]*yaml.Node{put(m, key, seq)}, lines...)
	}
	one("entrypoint", b.entrypoint)
	one("cmd", b.cmd)
	list("expose", b.expose)
	if len(b.labels) > 0 {
		labels := mapping(false)
		for _, l := range b.labels {
			c.attach([]*yaml.Node{put(labels, l.key, l.value)}, l.line)
		}
		put(m, "labels", labels)
	}
	list("volumes", b.volumes)
	one("healthcheck", b.healthcheck)
	one("stopsignal", b.stopsignal)
	if len(m.Content) == 0 {
		return nil
	}
	return m
}

// commandNode is a CMD or ENTRYPOINT: a string for the shell form, which
// the spec runs with the base image's shell as the Dockerfile does, or the
// exec form's list.
func commandNode(cl instructions.ShellDependantCmdLine) *yaml.Node {
	if cl.PrependShell {
		return str(strings.Join(cl.CmdLine, " "))
	}
	return strs(cl.CmdLine)
}

// healthcheckNode is a HEALTHCHECK; durations the Dockerfile leaves at
// zero (Docker's default) are left out.
func healthcheckNode(cmd *instructions.HealthCheckCommand) *yaml.Node {
	h := cmd.Health
	m := mapping(false)
	put(m, "test", strs(h.Test))
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"interval", h.Interval}, {"timeout", h.Timeout}, {"start_period", h.StartPeriod}, {"start_interval", h.StartInterval}} {
		if d.v != 0 {
			put(m, d.key, str(d.v.String()))
		}
	}
	if h.Retries != 0 {
		put(m, "retries", integer(strconv.Itoa(h.Retries)))
	}
	return m
}
