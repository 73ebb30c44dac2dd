package llbgraph

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// imageConfig is an image configuration: OCI's, with Docker's healthcheck.
type imageConfig = dockerspec.DockerOCIImage

// historyComment marks history entries this frontend wrote.
const historyComment = "ohlcv-build"

// defaultPath is the PATH of an image with none, as in the Dockerfile
// frontend.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// emptyImage is the configuration of scratch on platform p.
func emptyImage(p ocispecs.Platform) imageConfig {
	var img imageConfig
	img.Architecture = p.Architecture
	img.OS = p.OS
	img.Variant = p.Variant
	img.RootFS.Type = "layers"
	img.Config.WorkingDir = "/"
	img.Config.Env = []string{"PATH=" + defaultPath}
	return img
}

// isEmptyImage reports whether an image has no layers, like scratch.
func isEmptyImage(img *imageConfig) bool {
	if len(img.RootFS.DiffIDs) > 0 {
		return false
	}
	for _, h := range img.History {
		if !h.EmptyLayer {
			return false
		}
	}
	return true
}

// history is an image history as a chain: a stage's own entries after its
// base's, which it shares rather than copies, so a chain of stages costs
// one entry per step, not one copy of the whole history per stage.
type history struct {
	base    *history
	entries []ocispecs.History
}

// flatten returns the whole history, oldest first.
func (h *history) flatten() []ocispecs.History {
	var chain []*history
	n := 0
	for p := h; p != nil; p = p.base {
		chain = append(chain, p)
		n += len(p.entries)
	}
	out := make([]ocispecs.History, 0, n)
	for i := len(chain) - 1; i >= 0; i-- {
		out = append(out, chain[i].entries...)
	}
	return out
}

// config is a stage's image configuration while it is evaluated. Its
// slices and maps are shared with the stage it builds on, and with the
// steps that saw it, until the stage first changes them (copy on write),
// so an unchanged environment costs nothing per stage or step.
type config struct {
	Config // Image.History is kept in the stage's history instead
	owned  owned
}

// owned says which of a config's slices and maps it may change in place.
type owned struct{ env, unknown, labels, ports, volumes bool }

// inherit returns a configuration that shares parent's values.
func inherit(parent *Config) config {
	c := config{Config: *parent}
	c.Image.History = nil
	return c
}

// setEnvVar sets NAME=value in the image's environment, replacing an
// earlier value; known says whether the value is known.
func (e *stageEval) setEnvVar(name, value string, known bool) {
	cfg := &e.cfg
	if e.c.budget.spend(len(cfg.Image.Config.Env)*16) != nil {
		return // reported after the step
	}
	e.changed()
	if known == cfg.unknown[name] { // it becomes known, or unknown
		ownMap(&cfg.unknown, &cfg.owned.unknown)
		if known {
			delete(cfg.unknown, name)
		} else {
			cfg.unknown[name] = true
		}
	}
	if !cfg.owned.env {
		cfg.Image.Config.Env = slices.Clone(cfg.Image.Config.Env)
		cfg.owned.env = true
	}
	env := cfg.Image.Config.Env
	for i, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == name {
			env[i] = name + "=" + value
			return
		}
	}
	cfg.Image.Config.Env = append(env, name+"="+value)
}

// ownMap makes a map of the image config writable by this stage: a copy of
// the inherited one the first time (owned records that), and an empty map
// for none.
func ownMap[M ~map[K]V, K comparable, V any](m *M, owned *bool) {
	if !*owned {
		*m = maps.Clone(*m)
		*owned = true
	}
	if *m == nil {
		*m = M{}
	}
}

// history records a step in the image's history, the way `docker history`
// shows it; withLayer says whether the step made a layer.
func (e *stageEval) history(createdBy string, withLayer bool) {
	if withLayer {
		createdBy += " # buildkit"
	}
	e.c.budget.spend(len(createdBy))
	hist := e.out.hist
	hist.entries = append(hist.entries, ocispecs.History{
		CreatedBy:  createdBy,
		Comment:    historyComment,
		EmptyLayer: !withLayer,
		Created:    e.c.opt.Epoch,
	})
}

// finalImage returns the stage's image configuration with its whole
// history, for the image built from it.
func (c *compiler) finalImage(st *Stage) (*imageConfig, error) {
	img := st.Image()
	if err := c.budget.spend(len(img.History) * 64); err != nil {
		return nil, c.errorf(&st.Spec.Node, "", st.Spec.NameRange, "%v", err)
	}
	return img, nil
}

// setTargetPlatform gives the target's image the platform the build asked
// for, as dockerfile2llb does when --platform is set: a target stage pinned
// to ${BUILDPLATFORM} (or built from one that is) still makes the image of
// the requested platform.
func setTargetPlatform(img *imageConfig, p ocispecs.Platform) {
	sameOSArch := p.OS == img.OS && p.Architecture == img.Architecture
	img.OS, img.Architecture = p.OS, p.Architecture
	if p.Variant != "" || !sameOSArch {
		img.Variant = p.Variant
	}
	if p.OSVersion != "" || !sameOSArch {
		img.OSVersion = p.OSVersion
	}
	if p.OSFeatures != nil {
		img.OSFeatures = slices.Clone(p.OSFeatures)
	}
}

// shellCommand returns a string-form command as arguments: the image's
// shell (SHELL in a Dockerfile), or /bin/sh -c.
func shellCommand(img *imageConfig, script string) []string {
	sh := []string{"/bin/sh", "-c"}
	if len(img.Config.Shell) > 0 {
		sh = slices.Clone(img.Config.Shell)
	}
	return append(sh, script)
}

// commandArgs returns a command as image config arguments: the list form as
// written, the string form through the image's shell.
func commandArgs(img *imageConfig, c *spec.Command) []string {
	if c.IsExec {
		return slices.Clone(c.Exec)
	}
	return shellCommand(img, c.Shell)
}

// applyImage applies a stage's image block to its configuration, after its
// steps, with the stage's final environment in scope.
func (e *stageEval) applyImage(im *spec.Image) error {
	e.changed()
	cfg := &e.cfg.Image.Config
	set := &e.cfg.Set
	sc := e.scope()
	n := &im.Node
	if im.Entrypoint != nil {
		cfg.Entrypoint = commandArgs(&e.cfg.Image, im.Entrypoint)
		set.Entrypoint = commandValue(n, "entrypoint", im.Entrypoint)
		if im.Cmd == nil {
			cfg.Cmd = nil // as in a Dockerfile: a new entrypoint drops an inherited cmd
			set.Cmd = &Value{Node: n, Key: "entrypoint", Range: im.Entrypoint.Range}
		}
		e.history(fmt.Sprintf("ENTRYPOINT %q", cfg.Entrypoint), false)
	}
	if im.Cmd != nil {
		cfg.Cmd = commandArgs(&e.cfg.Image, im.Cmd)
		set.Cmd = commandValue(n, "cmd", im.Cmd)
		e.history(fmt.Sprintf("CMD %q", cfg.Cmd), false)
	}
	if len(im.Expose) > 0 {
		var written []string
		for i := range im.Expose {
			p := im.Expose[i]
			key := fmt.Sprintf("expose[%d]", i)
			if p.IsTemplate() {
				v, err := sc.expandValue(n, key, p.Range, p.Raw)
				if err != nil {
					return err
				}
				if v.Unknown {
					continue
				}
				if p, err = spec.ParsePort(v.Text); err != nil {
					return e.c.errorf(n, key, im.Expose[i].Range, "%v", err)
				}
			}
			if err := e.c.budget.spend(16 * (p.Last - p.First + 1 + len(cfg.ExposedPorts)*boolInt(!e.cfg.owned.ports))); err != nil {
				return e.c.errorf(n, key, p.Range, "%v", err)
			}
			ownMap(&cfg.ExposedPorts, &e.cfg.owned.ports)
			for _, each := range p.Each() {
				cfg.ExposedPorts[each] = struct{}{}
			}
			written = append(written, p.String())
		}
		e.history("EXPOSE "+strings.Join(written, " "), false)
	}
	if len(im.Labels) > 0 {
		if err := e.c.budget.spend(32 * (len(im.Labels) + len(cfg.Labels)*boolInt(!e.cfg.owned.labels))); err != nil {
			return e.c.errorf(n, "labels", n.Range, "%v", err)
		}
		ownMap(&cfg.Labels, &e.cfg.owned.labels)
		kvs := make([]string, 0, len(im.Labels))
		for _, l := range im.Labels {
			v, err := sc.expand(spec.Field(n, "labels."+l.Name), "", l.Range, l.Value)
			if err != nil {
				return err
			}
			cfg.Labels[l.Name] = v
			kvs = append(kvs, l.Name+"="+v)
		}
		e.history("LABEL "+strings.Join(kvs, " "), false)
	}
	if len(im.Volumes) > 0 {
		vols, err := sc.expandList(n, "volumes", im.Volumes)
		if err != nil {
			return err
		}
		if err := e.c.budget.spend(32 * (len(vols) + len(cfg.Volumes)*boolInt(!e.cfg.owned.volumes))); err != nil {
			return e.c.errorf(n, "volumes", n.Range, "%v", err)
		}
		ownMap(&cfg.Volumes, &e.cfg.owned.volumes)
		for _, v := range vols {
			cfg.Volumes[v] = struct{}{}
		}
		e.history(fmt.Sprintf("VOLUME %v", vols), false)
	}
	if hc := im.Healthcheck; hc != nil {
		e.applyHealthcheck(n, hc)
	}
	if sig := im.Stopsignal; sig != nil {
		v := sig.Raw
		if sig.IsTemplate() {
			val, err := sc.expandValue(n, "stopsignal", sig.Range, sig.Raw)
			if err != nil {
				return err
			}
			if v = val.Text; !val.Unknown {
				if err := spec.ParseSignal(v); err != nil {
					return e.c.errorf(n, "stopsignal", sig.Range, "%v", err)
				}
			}
		}
		cfg.StopSignal = v
		e.history("STOPSIGNAL "+v, false)
	}
	return nil
}

// commandValue is where the image block at n sets a command.
func commandValue(n *spec.Node, key string, c *spec.Command) *Value {
	return &Value{Raw: c.String(), Text: c.String(), Node: n, Key: key, Range: c.Range}
}

func (e *stageEval) applyHealthcheck(n *spec.Node, hc *spec.Healthcheck) {
	test := slices.Clone(hc.Test.Args)
	h := &dockerspec.HealthcheckConfig{Test: test}
	if !(len(test) == 1 && test[0] == "NONE") {
		if hc.Retries != nil {
			h.Retries = hc.Retries.Value
		}
		if hc.Interval != nil {
			h.Interval = hc.Interval.Value
		}
		if hc.Timeout != nil {
			h.Timeout = hc.Timeout.Value
		}
		if hc.StartPeriod != nil {
			h.StartPeriod = hc.StartPeriod.Value
		}
		if hc.StartInterval != nil {
			h.StartInterval = hc.StartInterval.Value
		}
	}
	e.cfg.Image.Config.Healthcheck = h
	text := strings.Join(test, " ")
	e.cfg.Set.Healthcheck = &Value{Raw: text, Text: text, Node: n, Key: "healthcheck", Range: hc.Node.Range}
	e.history(fmt.Sprintf("HEALTHCHECK %q", test), false)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
