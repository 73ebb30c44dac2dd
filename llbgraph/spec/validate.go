package spec

import (
	"regexp"
	"slices"
	"strings"

	"github.com/moby/patternmatcher"
)

// PlatformArgs are the args every build sets from its platforms; a spec may
// read them but not declare them.
var PlatformArgs = []string{
	"BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT",
	"TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT",
}

// StepKinds are the keys that make a step, in the order the docs list them.
var StepKinds = []string{"run", "apt", "apk", "pip", "uv", "go", "copy", "parallel", "env", "workdir", "user"}

// RunLikeKinds are the step kinds that run a command and so take mounts,
// env and network.
var RunLikeKinds = []string{"run", "apt", "apk", "pip", "uv", "go"}

// MountTypes are the mount types, as RUN --mount names them.
var MountTypes = []string{"cache", "secret", "ssh", "tmpfs", "bind"}

// mountKeys are the keys each mount type takes besides type.
var mountKeys = map[string][]string{
	"cache":  {"target", "id", "sharing", "from", "source", "mode", "uid", "gid", "readonly"},
	"secret": {"id", "target", "env", "required", "mode", "uid", "gid"},
	"ssh":    {"id", "target", "required", "mode", "uid", "gid"},
	"tmpfs":  {"target", "size"},
	"bind":   {"target", "from", "source", "readwrite"},
}

// CacheSharings are the sharing modes of a cache mount.
var CacheSharings = []string{"shared", "private", "locked"}

// NetworkModes are the networks a run-like step may ask for.
var NetworkModes = []string{"default", "none", "host"}

var (
	stageNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
	argNameRe   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	portRe      = regexp.MustCompile(`^[0-9]+(-[0-9]+)?(/(tcp|udp|sctp))?$`)
)

// validator checks what the types cannot say. It reports about the keys a
// user wrote, so a key that failed to decode is not also called missing.
type validator struct {
	filename string
	errs     *errorList
}

func (v *validator) errorf(n Node, key, format string, args ...any) {
	if n.bad[key] {
		return // the decoder said what is wrong with it
	}
	v.errs.add(n.Errorf(v.filename, key, format, args...))
}

func validate(s *Spec, errs *errorList) {
	v := &validator{filename: s.Filename, errs: errs}
	switch {
	case !s.Node.Has("version"):
		v.errorf(s.Node, "version", "version is required: start the spec with `version: %d`", Version)
	case s.Version != Version:
		v.errorf(s.Node, "version", "unknown version %d: this frontend reads version %d", s.Version, Version)
	}
	v.args(s)
	if err := validPatterns(s.Exclude); err != nil {
		v.errorf(s.Node, "exclude", "%v", err)
	}
	if len(s.Stages) == 0 {
		if !s.Node.Has("stages") || s.Stages != nil {
			v.errorf(s.Node, "stages", "stages is required: define at least one stage")
		}
		return
	}
	if s.Node.Has("default") && s.Stages.Get(s.Default) == nil {
		v.errorf(s.Node, "default", "default names no stage %q%s; stages: %s", s.Default, didYouMean(s.Default, s.Stages.Names()), strings.Join(s.Stages.Names(), ", "))
	}
	for _, st := range s.Stages {
		v.stage(st)
	}
}

func (v *validator) args(s *Spec) {
	for _, a := range s.Args {
		path := s.Node.FieldPath("args") + "." + a.Name
		switch {
		case !argNameRe.MatchString(a.Name):
			v.errs.add(newError(v.filename, path, a.Range, "%q is not a valid arg name: use letters, digits and _, not starting with a digit", a.Name))
		case slices.Contains(PlatformArgs, a.Name):
			v.errs.add(newError(v.filename, path, a.Range, "%s is set by the build from --platform; it cannot be declared", a.Name))
		}
	}
}

func (v *validator) stage(st *Stage) {
	n := st.Node
	if n.invalid {
		return // the decoder reported it
	}
	if !stageNameRe.MatchString(st.Name) || st.Name == "scratch" {
		v.errs.add(newError(v.filename, n.Path, n.Range, "%q is not a valid stage name: use lowercase letters, digits, '.', '_' and '-', and not \"scratch\"", st.Name))
	}
	switch {
	case !n.Has("from"):
		v.errorf(n, "from", "from is required: an image (python:3.11-slim), another stage, or scratch")
	case strings.TrimSpace(st.From) == "":
		v.errorf(n, "from", "from must not be empty")
	case st.From == st.Name:
		v.errorf(n, "from", "stage %q cannot build from itself", st.Name)
	}
	v.vars(n, "env", st.Env)
	v.nonEmpty(n, "workdir", st.Workdir)
	v.nonEmpty(n, "user", st.User)
	for i := range st.Steps {
		v.step(&st.Steps[i], false)
	}
	if st.Image != nil {
		v.image(st.Image)
	}
}

func (v *validator) nonEmpty(n Node, key, val string) {
	if n.Has(key) && strings.TrimSpace(val) == "" {
		v.errorf(n, key, "%s must not be empty", key)
	}
}

func (v *validator) vars(n Node, key string, vars Vars) {
	for _, e := range vars {
		if e.Name == "" || strings.ContainsAny(e.Name, "= \t\n") {
			v.errs.add(newError(v.filename, n.FieldPath(key), e.Range, "%q is not a valid variable name", e.Name))
		}
	}
}

// Kind returns the step's kind: one of [StepKinds], or "" when it has none
// or several (which [Load] reports).
func (s *Step) Kind() string {
	kinds := s.kinds()
	if len(kinds) == 1 {
		return kinds[0]
	}
	return ""
}

// RunLike reports whether the step runs a command.
func (s *Step) RunLike() bool {
	k := s.Kind()
	return slices.Contains(RunLikeKinds, k)
}

func (s *Step) kinds() []string {
	var kinds []string
	for _, k := range StepKinds {
		if k != "env" && s.Node.Has(k) {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) == 0 && s.Node.Has("env") {
		kinds = append(kinds, "env")
	}
	return kinds
}

func (v *validator) step(s *Step, inParallel bool) {
	n := s.Node
	if n.invalid {
		return // the decoder reported it
	}
	kinds := s.kinds()
	switch {
	case len(kinds) == 0:
		v.errs.add(newError(v.filename, n.Path, n.Range, "a step needs one of %s", oneOf(StepKinds)))
		return
	case len(kinds) > 1:
		v.errs.add(newError(v.filename, n.Path, n.Range, "a step does one thing, this one has %s: split it into one step each", strings.Join(kinds, " and ")))
		return
	}
	kind := kinds[0]
	if !s.RunLike() {
		for _, k := range []string{"mounts", "network"} {
			if n.Has(k) {
				v.errorf(n, k, "%s applies to %s steps only, not to %s", k, oneOf(RunLikeKinds), kind)
			}
		}
		if kind != "env" && n.Has("env") {
			v.errorf(n, "env", "env beside %s is not allowed: env goes beside run or a preset, or in a step of its own", kind)
		}
	}
	if inParallel && kind == "parallel" {
		v.errorf(n, "parallel", "parallel groups do not nest: list the inner group's branches in the outer group")
		return
	}
	if inParallel && !s.RunLike() && kind != "copy" {
		v.errorf(n, kind, "a parallel branch must change files (run, a preset or copy); %s sets state for the steps after it, so put it before the group", kind)
		return
	}
	switch kind {
	case "run", "pip", "uv", "go":
		cmd := map[string]*Command{"run": s.Run, "pip": s.Pip, "uv": s.Uv, "go": s.Go}[kind]
		if cmd == nil || strings.TrimSpace(cmd.String()) == "" {
			v.errorf(n, kind, "%s needs a command", kind)
		}
	case "apt", "apk":
		pkgs := s.Apt
		if kind == "apk" {
			pkgs = s.Apk
		}
		if len(pkgs) == 0 {
			v.errorf(n, kind, "%s needs at least one package", kind)
		}
		for _, p := range pkgs {
			if strings.TrimSpace(p) == "" || strings.HasPrefix(p, "-") || strings.ContainsAny(p, " \t\n;&|") {
				v.errorf(n, kind, "%q is not a package name", p)
			}
		}
	case "copy":
		if s.Copy == nil {
			v.errorf(n, "copy", "copy needs src and dst")
		} else {
			v.copy(s.Copy)
		}
	case "parallel":
		if len(s.Parallel) == 0 {
			v.errorf(n, "parallel", "parallel needs at least one branch")
		}
		for i := range s.Parallel {
			v.step(&s.Parallel[i], true)
		}
	case "env":
		if len(s.Env) == 0 {
			v.errorf(n, "env", "env needs at least one variable")
		}
	case "workdir", "user":
		v.nonEmpty(n, kind, map[string]string{"workdir": s.Workdir, "user": s.User}[kind])
	}
	v.vars(n, "env", s.Env)
	if n.Has("network") && !slices.Contains(NetworkModes, s.Network) {
		v.errorf(n, "network", "unknown network %q%s: want %s", s.Network, didYouMean(s.Network, NetworkModes), oneOf(NetworkModes))
	}
	for i := range s.Mounts {
		v.mount(&s.Mounts[i])
	}
}

func (v *validator) mount(m *Mount) {
	n := m.Node
	if n.invalid {
		return // the decoder reported it
	}
	if !n.Has("type") {
		v.errorf(n, "type", "a mount needs a type: %s", oneOf(MountTypes))
		return
	}
	keys, ok := mountKeys[m.Type]
	if !ok {
		v.errorf(n, "type", "unknown mount type %q%s: want %s", m.Type, didYouMean(m.Type, MountTypes), oneOf(MountTypes))
		return
	}
	for _, k := range n.Keys() {
		if k != "type" && !slices.Contains(keys, k) {
			v.errorf(n, k, "%s does not apply to a %s mount; it takes %s", k, m.Type, oneOf(keys))
		}
	}
	switch m.Type {
	case "cache", "tmpfs", "bind":
		if strings.TrimSpace(m.Target) == "" {
			v.errorf(n, "target", "a %s mount needs a target", m.Type)
		}
	case "secret":
		switch {
		case n.Has("target") && n.Has("env"):
			v.errorf(n, "env", "a secret goes to a file (target) or to an environment variable (env), not both: use two mounts of the same id")
		case m.ID == "" && m.Target == "":
			v.errorf(n, "id", "a secret mount needs an id (the --secret id=... the build passes)")
		}
	}
	if n.Has("sharing") && !slices.Contains(CacheSharings, m.Sharing) {
		v.errorf(n, "sharing", "unknown sharing %q%s: want %s", m.Sharing, didYouMean(m.Sharing, CacheSharings), oneOf(CacheSharings))
	}
	if n.Has("mode") {
		if _, err := ParseMode(m.Mode); err != nil {
			v.errorf(n, "mode", "%v", err)
		}
	}
	if m.UID != nil && *m.UID < 0 {
		v.errorf(n, "uid", "uid must not be negative")
	}
	if m.GID != nil && *m.GID < 0 {
		v.errorf(n, "gid", "gid must not be negative")
	}
	if n.Has("size") {
		if _, err := ParseSize(m.Size); err != nil {
			v.errorf(n, "size", "%v", err)
		}
	}
	if m.Readonly && m.Type == "cache" && n.Has("sharing") && m.Sharing == "locked" {
		v.errorf(n, "readonly", "a read-only cache cannot be locked")
	}
}

func (v *validator) copy(c *Copy) {
	n := c.Node
	if n.invalid {
		return // the decoder reported it
	}
	switch {
	case !n.Has("src"):
		v.errorf(n, "src", "copy needs src: a path or a list of paths")
	case len(c.Src) == 0:
		v.errorf(n, "src", "copy needs at least one src")
	}
	for _, s := range c.Src {
		if strings.TrimSpace(s) == "" {
			v.errorf(n, "src", "a src must not be empty")
		}
	}
	switch {
	case !n.Has("dst"):
		v.errorf(n, "dst", "copy needs dst: where the files go")
	case strings.TrimSpace(c.Dst) == "":
		v.errorf(n, "dst", "dst must not be empty")
	case len(c.Src) > 1 && !strings.HasSuffix(c.Dst, "/") && !strings.Contains(c.Dst, "$"):
		v.errorf(n, "dst", "with more than one src, dst must be a directory ending in /: %q", c.Dst+"/")
	}
	if n.Has("chmod") && !strings.Contains(c.Chmod, "$") {
		if _, _, err := ParseChmod(c.Chmod); err != nil {
			v.errorf(n, "chmod", "%v", err)
		}
	}
	if c.Link && n.Has("chown") && !strings.Contains(c.Chown, "$") && ChownByName(c.Chown) {
		v.errorf(n, "chown", "with link, chown needs numeric ids (1000:1000): names are looked up in the destination, which a linked copy does not see")
	}
	if err := validPatterns(c.Exclude); err != nil {
		v.errorf(n, "exclude", "%v", err)
	}
}

func (v *validator) image(im *Image) {
	n := im.Node
	if n.invalid {
		return // the decoder reported it
	}
	for _, p := range im.Expose {
		if !strings.Contains(p, "$") && !portRe.MatchString(p) {
			v.errorf(n, "expose", "%q is not a port: want port[/tcp|/udp|/sctp], such as 8000/tcp", p)
		}
	}
	for _, vol := range im.Volumes {
		if strings.TrimSpace(vol) == "" {
			v.errorf(n, "volumes", "a volume must not be empty")
		}
	}
	v.nonEmpty(n, "stopsignal", im.Stopsignal)
	if hc := im.Healthcheck; hc != nil && !hc.Node.invalid {
		if _, err := HealthcheckTest(hc.Test); err != nil {
			v.errorf(hc.Node, "test", "%v", err)
		}
		for _, k := range []string{"interval", "timeout", "start_period", "start_interval"} {
			val := map[string]string{"interval": hc.Interval, "timeout": hc.Timeout, "start_period": hc.StartPeriod, "start_interval": hc.StartInterval}[k]
			if hc.Node.Has(k) {
				if _, err := ParseDuration(val); err != nil {
					v.errorf(hc.Node, k, "%v", err)
				}
			}
		}
		if hc.Retries < 0 {
			v.errorf(hc.Node, "retries", "retries must not be negative")
		}
	}
}

func validPatterns(patterns []string) error {
	if len(patterns) == 0 {
		return nil
	}
	_, err := patternmatcher.New(patterns)
	return err
}
