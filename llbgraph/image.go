package llbgraph

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

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

// cloneImage deep-copies the parts of a config that stages change, so a
// stage never changes the config of the stage it builds on.
func cloneImage(src imageConfig) imageConfig {
	img := src
	img.Config.Env = slices.Clone(src.Config.Env)
	img.Config.Cmd = slices.Clone(src.Config.Cmd)
	img.Config.Entrypoint = slices.Clone(src.Config.Entrypoint)
	img.Config.OnBuild = slices.Clone(src.Config.OnBuild)
	img.Config.Shell = slices.Clone(src.Config.Shell)
	img.Config.ExposedPorts = maps.Clone(src.Config.ExposedPorts)
	img.Config.Volumes = maps.Clone(src.Config.Volumes)
	img.Config.Labels = maps.Clone(src.Config.Labels)
	if src.Config.Healthcheck != nil {
		hc := *src.Config.Healthcheck
		hc.Test = slices.Clone(hc.Test)
		img.Config.Healthcheck = &hc
	}
	img.History = slices.Clone(src.History)
	img.RootFS.DiffIDs = slices.Clone(src.RootFS.DiffIDs)
	return img
}

// addEnv sets NAME=value in an env list, replacing an earlier value.
func addEnv(env []string, name, value string) []string {
	for i, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == name {
			env[i] = name + "=" + value
			return env
		}
	}
	return append(env, name+"="+value)
}

// history records a step in the image's history, the way `docker history`
// shows it; withLayer says whether the step made a layer.
func (b *stageBuild) history(createdBy string, withLayer bool) {
	if withLayer {
		createdBy += " # buildkit"
	}
	b.image.History = append(b.image.History, ocispecs.History{
		CreatedBy:  createdBy,
		Comment:    historyComment,
		EmptyLayer: !withLayer,
	})
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

// applyImage applies a stage's image block to its configuration, after its
// steps, with the stage's final environment in scope.
func (b *stageBuild) applyImage(im *spec.Image) error {
	cfg := &b.image.Config
	sc := b.scope()
	n := im.Node
	if im.Entrypoint != nil {
		cfg.Entrypoint = commandArgs(&b.image, im.Entrypoint)
		if im.Cmd == nil {
			cfg.Cmd = nil // as in a Dockerfile: a new entrypoint drops an inherited cmd
		}
		b.history(fmt.Sprintf("ENTRYPOINT %q", cfg.Entrypoint), false)
	}
	if im.Cmd != nil {
		cfg.Cmd = commandArgs(&b.image, im.Cmd)
		b.history(fmt.Sprintf("CMD %q", cfg.Cmd), false)
	}
	if len(im.Expose) > 0 {
		ports, err := sc.expandAll(n, "expose", im.Expose)
		if err != nil {
			return err
		}
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = map[string]struct{}{}
		}
		for _, p := range ports {
			exposed, err := expandPorts(p)
			if err != nil {
				return n.Errorf(b.c.spec.Filename, "expose", "%v", err)
			}
			for _, e := range exposed {
				cfg.ExposedPorts[e] = struct{}{}
			}
		}
		b.history("EXPOSE "+strings.Join(ports, " "), false)
	}
	if len(im.Labels) > 0 {
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		var kvs []string
		for _, l := range im.Labels {
			v, err := sc.expand(n, "labels", l.Value)
			if err != nil {
				return err
			}
			cfg.Labels[l.Name] = v
			kvs = append(kvs, l.Name+"="+v)
		}
		b.history("LABEL "+strings.Join(kvs, " "), false)
	}
	if len(im.Volumes) > 0 {
		vols, err := sc.expandAll(n, "volumes", im.Volumes)
		if err != nil {
			return err
		}
		if cfg.Volumes == nil {
			cfg.Volumes = map[string]struct{}{}
		}
		for _, v := range vols {
			cfg.Volumes[v] = struct{}{}
		}
		b.history(fmt.Sprintf("VOLUME %v", vols), false)
	}
	if hc := im.Healthcheck; hc != nil {
		if err := b.applyHealthcheck(hc); err != nil {
			return err
		}
	}
	if n.Has("stopsignal") {
		sig, err := sc.expand(n, "stopsignal", im.Stopsignal)
		if err != nil {
			return err
		}
		cfg.StopSignal = sig
		b.history("STOPSIGNAL "+sig, false)
	}
	return nil
}

func (b *stageBuild) applyHealthcheck(hc *spec.Healthcheck) error {
	test, err := spec.HealthcheckTest(hc.Test)
	if err != nil {
		return hc.Node.Errorf(b.c.spec.Filename, "test", "%v", err)
	}
	h := &dockerspec.HealthcheckConfig{Test: test, Retries: hc.Retries}
	durations := []struct {
		key string
		val string
		dst *time.Duration
	}{
		{"interval", hc.Interval, &h.Interval},
		{"timeout", hc.Timeout, &h.Timeout},
		{"start_period", hc.StartPeriod, &h.StartPeriod},
		{"start_interval", hc.StartInterval, &h.StartInterval},
	}
	for _, d := range durations {
		if !hc.Node.Has(d.key) {
			continue
		}
		v, err := spec.ParseDuration(d.val)
		if err != nil {
			return hc.Node.Errorf(b.c.spec.Filename, d.key, "%v", err)
		}
		*d.dst = v
	}
	if len(test) == 1 && test[0] == "NONE" {
		h = &dockerspec.HealthcheckConfig{Test: test}
	}
	b.image.Config.Healthcheck = h
	b.history(fmt.Sprintf("HEALTHCHECK %q", test), false)
	return nil
}

// commandArgs returns a command as image config arguments: the list form as
// written, the string form through the image's shell.
func commandArgs(img *imageConfig, c *spec.Command) []string {
	if c.IsExec {
		return slices.Clone(c.Exec)
	}
	return shellCommand(img, c.Shell)
}

// maxPortRange bounds how many ports one expose range may name.
const maxPortRange = 1024

// expandPorts turns port[-port][/proto] into one port/proto per port, as
// Docker does with EXPOSE 8000-8010.
func expandPorts(p string) ([]string, error) {
	ports, proto, ok := strings.Cut(p, "/")
	if !ok {
		proto = "tcp"
	}
	lo, hi, isRange := strings.Cut(ports, "-")
	if !isRange {
		hi = lo
	}
	start, err1 := strconv.Atoi(lo)
	end, err2 := strconv.Atoi(hi)
	if err1 != nil || err2 != nil || start < 1 || end > 65535 || start > end || end-start >= maxPortRange {
		return nil, fmt.Errorf("%q is not a port or a port range of up to %d ports between 1 and 65535", p, maxPortRange)
	}
	out := make([]string, 0, end-start+1)
	for port := start; port <= end; port++ {
		out = append(out, strconv.Itoa(port)+"/"+proto)
	}
	return out, nil
}
