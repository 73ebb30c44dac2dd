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

// config is a stage's image configuration so far. Its slices and maps are
// shared with the stage it builds on until the stage first changes them
// (copy on write), so an unchanged environment costs nothing per stage.
type config struct {
	img   imageConfig // History is kept in hist instead
	owned struct{ env, labels, ports, volumes bool }
}

// inherit returns a configuration that shares parent's values.
func inherit(parent imageConfig) config {
	parent.History = nil
	return config{img: parent}
}

// setEnvVar sets NAME=value in the image's environment, replacing an
// earlier value.
func (b *stageBuild) setEnvVar(name, value string) {
	cfg := &b.cfg
	if b.c.budget.spend(len(cfg.img.Config.Env)*16) != nil {
		return // reported after the step
	}
	if !cfg.owned.env {
		cfg.img.Config.Env = slices.Clone(cfg.img.Config.Env)
		cfg.owned.env = true
	}
	env := cfg.img.Config.Env
	for i, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == name {
			env[i] = name + "=" + value
			return
		}
	}
	cfg.img.Config.Env = append(env, name+"="+value)
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
func (b *stageBuild) history(createdBy string, withLayer bool) {
	if withLayer {
		createdBy += " # buildkit"
	}
	b.c.budget.spend(len(createdBy))
	b.hist.entries = append(b.hist.entries, ocispecs.History{
		CreatedBy:  createdBy,
		Comment:    historyComment,
		EmptyLayer: !withLayer,
		Created:    b.c.opt.Epoch,
	})
}

// finalImage returns the stage's image configuration with its whole
// history, for the image built from it.
func (b *stageBuild) finalImage() (*imageConfig, error) {
	img := b.cfg.img
	img.History = b.hist.flatten()
	if e := b.c.opt.Epoch; e != nil {
		img.Created = e
	}
	if err := b.c.budget.spend(len(img.History) * 64); err != nil {
		return nil, b.c.errorf(&b.sp.stage.Node, "", b.sp.stage.NameRange, "%v", err)
	}
	return &img, nil
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
func (b *stageBuild) applyImage(im *spec.Image) error {
	cfg := &b.cfg.img.Config
	sc := b.scope()
	n := &im.Node
	if im.Entrypoint != nil {
		cfg.Entrypoint = commandArgs(&b.cfg.img, im.Entrypoint)
		if im.Cmd == nil {
			cfg.Cmd = nil // as in a Dockerfile: a new entrypoint drops an inherited cmd
		}
		b.history(fmt.Sprintf("ENTRYPOINT %q", cfg.Entrypoint), false)
	}
	if im.Cmd != nil {
		cfg.Cmd = commandArgs(&b.cfg.img, im.Cmd)
		b.history(fmt.Sprintf("CMD %q", cfg.Cmd), false)
	}
	if len(im.Expose) > 0 {
		var written []string
		for i := range im.Expose {
			p := im.Expose[i]
			key := fmt.Sprintf("expose[%d]", i)
			if p.IsTemplate() {
				raw, err := sc.expand(n, key, p.Range, p.Raw)
				if err != nil {
					return err
				}
				if p, err = spec.ParsePort(raw); err != nil {
					return b.c.errorf(n, key, im.Expose[i].Range, "%v", err)
				}
			}
			if err := b.c.budget.spend(16 * (p.Last - p.First + 1 + len(cfg.ExposedPorts)*boolInt(!b.cfg.owned.ports))); err != nil {
				return b.c.errorf(n, key, p.Range, "%v", err)
			}
			ownMap(&cfg.ExposedPorts, &b.cfg.owned.ports)
			for _, e := range p.Each() {
				cfg.ExposedPorts[e] = struct{}{}
			}
			written = append(written, p.String())
		}
		b.history("EXPOSE "+strings.Join(written, " "), false)
	}
	if len(im.Labels) > 0 {
		if err := b.c.budget.spend(32 * (len(im.Labels) + len(cfg.Labels)*boolInt(!b.cfg.owned.labels))); err != nil {
			return b.c.errorf(n, "labels", n.Range, "%v", err)
		}
		ownMap(&cfg.Labels, &b.cfg.owned.labels)
		kvs := make([]string, 0, len(im.Labels))
		for _, l := range im.Labels {
			v, err := sc.expand(spec.Field(n, "labels."+l.Name), "", l.Range, l.Value)
			if err != nil {
				return err
			}
			cfg.Labels[l.Name] = v
			kvs = append(kvs, l.Name+"="+v)
		}
		b.history("LABEL "+strings.Join(kvs, " "), false)
	}
	if len(im.Volumes) > 0 {
		vols, err := sc.expandList(n, "volumes", im.Volumes)
		if err != nil {
			return err
		}
		if err := b.c.budget.spend(32 * (len(vols) + len(cfg.Volumes)*boolInt(!b.cfg.owned.volumes))); err != nil {
			return b.c.errorf(n, "volumes", n.Range, "%v", err)
		}
		ownMap(&cfg.Volumes, &b.cfg.owned.volumes)
		for _, v := range vols {
			cfg.Volumes[v] = struct{}{}
		}
		b.history(fmt.Sprintf("VOLUME %v", vols), false)
	}
	if hc := im.Healthcheck; hc != nil {
		b.applyHealthcheck(hc)
	}
	if sig := im.Stopsignal; sig != nil {
		v := sig.Raw
		if sig.IsTemplate() {
			var err error
			if v, err = sc.expand(n, "stopsignal", sig.Range, sig.Raw); err != nil {
				return err
			}
			if err := spec.ParseSignal(v); err != nil {
				return b.c.errorf(n, "stopsignal", sig.Range, "%v", err)
			}
		}
		cfg.StopSignal = v
		b.history("STOPSIGNAL "+v, false)
	}
	return nil
}

func (b *stageBuild) applyHealthcheck(hc *spec.Healthcheck) {
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
	b.cfg.img.Config.Healthcheck = h
	b.history(fmt.Sprintf("HEALTHCHECK %q", test), false)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
