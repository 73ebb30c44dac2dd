package llbgraph

import (
	"strings"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// command is what a run-like step executes: its arguments, the script the
// shell sees (to find the args it mentions), the caches and environment a
// preset adds, and its line in the image history.
type command struct {
	args    []string
	script  string
	caches  []CacheMount
	scratch []string
	lists   *PackageLists
	env     []string
	history string
}

// run evaluates a run or a preset.
func (e *stageEval) run(s spec.RunLike) (*RunStep, string, error) {
	n := s.StepNode()
	out := &RunStep{Spec: s}
	e.begin(&out.stepBase)
	defer e.end(&out.stepBase)
	var cmd command
	if r, ok := s.(*spec.RunStep); ok {
		cmd = e.runCommand(&r.Run)
	} else {
		var err error
		if cmd, err = e.preset(s); err != nil {
			return nil, "", err
		}
	}
	o := s.Options()
	sc := e.scope()
	out.Args, out.Caches, out.Scratch, out.Lists = cmd.args, cmd.caches, cmd.scratch, cmd.lists
	out.ArgEnv = sc.runArgs(cmd.script)
	for _, kv := range cmd.env {
		// a preset's env is a default: the stage's own env wins
		k, _, _ := strings.Cut(kv, "=")
		if _, set := lookupEnv(e.cfg.Image.Config.Env, k); !set {
			out.Env = append(out.Env, kv)
		}
	}
	out.presetEnv = len(out.Env)
	for _, v := range o.Env {
		val, err := sc.expand(spec.Field(n, "env."+v.Name), "", v.Range, v.Value)
		if err != nil {
			return nil, "", err
		}
		out.Env = append(out.Env, v.Name+"="+val)
	}
	mounts, err := e.mounts(o.Mounts)
	if err != nil {
		return nil, "", err
	}
	out.Mounts = mounts
	out.Insecure = o.Security.Value == spec.SecurityInsecure
	for i := range o.Devices {
		d := &o.Devices[i]
		name, err := sc.expand(&d.Node, "name", d.Name.Range, d.Name.Value)
		if err != nil {
			return nil, "", err
		}
		out.Devices = append(out.Devices, Device{Name: name, Required: d.Required.Value})
	}
	out.History = "RUN " + cmd.history
	if len(out.ArgEnv) > 0 {
		out.History = "RUN |" + strings.Join(out.ArgEnv, " ") + " " + cmd.history
	}
	return out, out.History, nil
}

// runCommand is a run step's command: a string through the shell, a list
// as-is. Neither is interpolated by the frontend; the shell expands $NAME
// from the environment, which holds the args the script mentions.
func (e *stageEval) runCommand(c *spec.Command) command {
	if c.IsExec {
		return command{args: c.Exec, history: strings.Join(c.Exec, " ")}
	}
	args := shellCommand(&e.cfg.Image, c.Shell)
	return command{args: args, script: c.Script(), history: strings.Join(args, " ")}
}

// scriptCommand runs a script the frontend writes (a package preset's)
// with /bin/sh -c, whatever shell the stage sets: the script is POSIX sh.
func scriptCommand(script string) command {
	args := []string{"/bin/sh", "-c", script}
	return command{args: args, script: script, history: strings.Join(args, " ")}
}

// toolCommand runs tool with a preset's arguments: a string through the
// shell (so it may use $NAME), a list as-is.
func (e *stageEval) toolCommand(tool string, c *spec.Command) command {
	if c.IsExec {
		return e.runCommand(&spec.Command{IsExec: true, Exec: append([]string{tool}, c.Exec...)})
	}
	return e.runCommand(&spec.Command{Shell: tool + " " + c.Shell})
}

// run builds a run or a preset on base.
func (b *stageBuild) run(base llb.State, s *RunStep, name string) (llb.State, error) {
	n := s.Spec.StepNode()
	loc := b.c.location(n.Range)
	opts := []llb.RunOption{
		llb.Args(s.Args),
		llb.WithCustomName(name),
		loc,
	}
	cost := opCost + len(name) + len(strings.Join(s.Args, " "))
	for _, kv := range s.ArgEnv {
		k, v, _ := strings.Cut(kv, "=")
		opts = append(opts, llb.AddEnv(k, v))
		cost += len(kv)
	}
	// What the step itself adds besides its command, the args it reads and
	// its preset's env: a preset's package lists are updated with the same.
	var own []llb.RunOption
	for i, kv := range s.Env {
		k, v, _ := strings.Cut(kv, "=")
		if i < s.presetEnv {
			opts = append(opts, llb.AddEnv(k, v))
		} else {
			own = append(own, llb.AddEnv(k, v))
		}
		cost += len(kv)
	}
	if s.Insecure {
		own = append(own, llb.Security(pb.SecurityMode_INSECURE))
	}
	own = append(own, b.c.opt.Run.options(s.Spec.Options().Network.Value)...)
	cost += b.c.opt.Run.cost()
	for _, d := range s.Devices {
		own = append(own, cdiDevice(d))
		cost += len(d.Name) + 16
	}
	for _, m := range s.Mounts {
		opt, err := b.mount(m)
		if err != nil {
			return llb.State{}, err
		}
		own = append(own, opt)
	}
	if b.noCache {
		own = append(own, llb.IgnoreCache)
	}
	if b.c.proxy != nil {
		own = append(own, llb.WithProxy(*b.c.proxy))
	}
	for _, m := range s.Caches {
		opts = append(opts, b.cacheMount(m))
	}
	for _, dir := range s.Scratch {
		opts = append(opts, llb.AddMount(dir, llb.Scratch(), llb.ForceNoOutput))
	}
	if s.Lists != nil {
		lists := b.packageLists(base, s, own, loc)
		// Not content-cached: the solver would hash the lists (tens of
		// megabytes) for the step's cache key, when the lists' own key
		// says it all.
		opts = append(opts, llb.AddMount(s.Lists.Dir, lists, llb.ForceNoOutput, llb.ContentCache(llb.MountContentCacheOff)))
	}
	opts = append(opts, own...)
	cfg := s.Before()
	for _, kv := range cfg.Image.Config.Env {
		cost += len(kv) + 16
	}
	if err := b.c.budget.spend(cost + 64*len(s.Mounts)); err != nil {
		return llb.State{}, b.c.errorf(n, "", n.Range, "%v", err)
	}
	return execState(base, cfg, b.platform).Run(opts...).Root(), nil
}

// cdiDevice asks for a CDI device as dockerfile2llb does for RUN --device:
// optional unless required.
func cdiDevice(d Device) llb.RunOption {
	opts := []llb.CDIDeviceOption{llb.CDIDeviceName(d.Name)}
	if !d.Required {
		opts = append(opts, llb.CDIDeviceOptional)
	}
	return llb.AddCDIDevice(opts...)
}
