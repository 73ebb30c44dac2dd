package llbgraph

import (
	"strings"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// command is what a run-like step executes: its arguments, the script the
// shell sees (to find the args it mentions), the mounts and environment a
// preset adds, and its line in the image history.
type command struct {
	args    []string
	script  string
	mounts  []llb.RunOption
	env     []string
	history string
}

// run compiles a run or a preset on base.
func (b *stageBuild) run(base llb.State, s spec.RunLike, name string) (llb.State, string, error) {
	n := s.StepNode()
	o := s.Options()
	sc := b.scope()
	// What the step itself adds besides its command: a preset's package
	// lists are updated with the same (presets_packages.go).
	var own []llb.RunOption
	cost := opCost + len(name)
	for _, e := range o.Env {
		v, err := sc.expand(spec.Field(n, "env."+e.Name), "", e.Range, e.Value)
		if err != nil {
			return llb.State{}, "", err
		}
		own = append(own, llb.AddEnv(e.Name, v))
		cost += len(e.Name) + len(v)
	}
	switch o.Network.Value {
	case spec.NetworkNone:
		own = append(own, llb.Network(pb.NetMode_NONE))
	case spec.NetworkHost:
		own = append(own, llb.Network(pb.NetMode_HOST))
	}
	mounts, err := b.mounts(o.Mounts)
	if err != nil {
		return llb.State{}, "", err
	}
	own = append(own, mounts...)
	if b.noCache {
		own = append(own, llb.IgnoreCache)
	}
	if b.c.proxy != nil {
		own = append(own, llb.WithProxy(*b.c.proxy))
	}
	var cmd command
	if r, ok := s.(*spec.RunStep); ok {
		cmd = b.runCommand(&r.Run)
	} else if cmd, err = b.preset(s, base, own); err != nil {
		return llb.State{}, "", err
	}
	opts := []llb.RunOption{
		llb.Args(cmd.args),
		llb.WithCustomName(name),
		b.c.location(n.Range),
	}
	cost += len(strings.Join(cmd.args, " "))
	argEnv := sc.referencedArgs(cmd.script)
	for _, kv := range argEnv {
		k, v, _ := strings.Cut(kv, "=")
		opts = append(opts, llb.AddEnv(k, v))
		cost += len(kv)
	}
	for _, kv := range cmd.env {
		// a preset's env is a default: the stage's own env wins
		k, v, _ := strings.Cut(kv, "=")
		if _, set := lookupEnv(b.cfg.img.Config.Env, k); !set {
			opts = append(opts, llb.AddEnv(k, v))
			cost += len(kv)
		}
	}
	opts = append(opts, cmd.mounts...)
	opts = append(opts, own...)
	for _, kv := range b.cfg.img.Config.Env {
		cost += len(kv) + 16
	}
	if err := b.c.budget.spend(cost + 64*len(o.Mounts)); err != nil {
		return llb.State{}, "", b.c.errorf(n, "", n.Range, "%v", err)
	}
	history := "RUN " + cmd.history
	if len(argEnv) > 0 {
		history = "RUN |" + strings.Join(argEnv, " ") + " " + cmd.history
	}
	return b.execState(base).Run(opts...).Root(), history, nil
}

// runCommand is a run step's command: a string through the shell, a list
// as-is. Neither is interpolated by the frontend; the shell expands $NAME
// from the environment, which holds the args the script mentions.
func (b *stageBuild) runCommand(c *spec.Command) command {
	if c.IsExec {
		return command{args: c.Exec, history: strings.Join(c.Exec, " ")}
	}
	args := shellCommand(&b.cfg.img, c.Shell)
	return command{args: args, script: c.Script(), history: strings.Join(args, " ")}
}

// toolCommand runs tool with a preset's arguments: a string through the
// shell (so it may use $NAME), a list as-is.
func (b *stageBuild) toolCommand(tool string, c *spec.Command) command {
	if c.IsExec {
		return b.runCommand(&spec.Command{IsExec: true, Exec: append([]string{tool}, c.Exec...)})
	}
	return b.runCommand(&spec.Command{Shell: tool + " " + c.Shell})
}
