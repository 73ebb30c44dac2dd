package spec

import (
	"fmt"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/moby/patternmatcher"
)

// platformArgs are the args every build sets from its platforms; a spec may
// read them but not declare them.
var platformArgs = []string{
	"BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT",
	"TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT",
}

// IsPlatformArg reports whether name is one of the args a build sets from
// its platforms (BUILDPLATFORM, TARGETARCH, ...).
func IsPlatformArg(name string) bool { return slices.Contains(platformArgs, name) }

var (
	stageNameRe = regexp.MustCompile(StageNamePattern)
	argNameRe   = regexp.MustCompile(ArgNamePattern)
	packageRe   = regexp.MustCompile(`^[A-Za-z0-9${}._+:=/@~<>*-]+$`)
)

// Validate checks a spec as Load checks what it decodes: every problem at
// once, each an [*Error] naming its YAML path. It first puts each node of a
// spec built or changed in Go in its place in the document (its parent,
// key and index), so that errors, its own and the compiler's, name paths
// such as stages.app.steps[2].mounts[0].type. On a spec that nobody changes
// meanwhile it is safe to call from several goroutines: a node already in
// place is only read. The compiler calls it on every spec it is given; it
// reads each value once, with no YAML to parse.
func Validate(s *Spec) error {
	if s == nil {
		return &Error{Filename: DefaultFilename, Msg: "no spec"}
	}
	link(s)
	filename := s.Filename
	if filename == "" {
		filename = DefaultFilename
	}
	errs := &errorList{filename: filename, skip: map[string]bool{}}
	validate(s, errs)
	return errs.err()
}

// noStages says that a spec has no stages.
const noStages = "stages is required: define at least one stage"

// validator checks what the types cannot say.
type validator struct {
	errs *errorList
}

// at reports a problem with key of the mapping at n, whose value is at r.
func (v *validator) at(n *Node, key string, r Range, format string, args ...any) {
	if v.errs.full() {
		v.errs.dropped++
		return
	}
	p := n.Path()
	if key != "" {
		p = n.Field(key)
	}
	v.errs.at(p, r.Or(n.Range), format, args...)
}

func validate(s *Spec, errs *errorList) {
	v := &validator{errs: errs}
	n := &s.Node
	switch {
	case s.Version == nil:
		v.at(n, "version", Range{Start: Pos{1, 1}, End: Pos{1, 1}}, "version is required: start the spec with `version: %d`", Version)
	case s.Version.Value != Version:
		v.at(n, "version", s.Version.Range, "unknown version %d: this frontend reads version %d", s.Version.Value, Version)
	}
	v.args(n, s.Args)
	v.patterns(n, "exclude", s.Exclude)
	if len(s.Stages) == 0 {
		v.at(n, "stages", Range{}, noStages)
		return
	}
	names := make(map[string]*Stage, len(s.Stages))
	for _, st := range s.Stages {
		if prev, dup := names[st.Name]; dup {
			where := ""
			if !prev.NameRange.IsZero() {
				where = fmt.Sprintf("; the first is at line %d", prev.NameRange.Start.Line)
			}
			v.at(&st.Node, "", st.NameRange, "stage %s is defined twice%s", Quote(st.Name), where)
			continue
		}
		names[st.Name] = st
	}
	if d := s.Default.Value; d != "" && names[d] == nil {
		v.at(n, "default", s.Default.Range, "default names no stage %s%s; stages: %s", Quote(d), DidYouMean(d, s.Stages.Names()), NameList(s.Stages.Names()))
	}
	for _, st := range s.Stages {
		if v.errs.full() {
			v.errs.dropped++
			return
		}
		v.stage(st)
	}
	v.graph(s, names)
}

// args checks the names of the args declared under n's args key.
func (v *validator) args(n *Node, args Args) {
	for _, a := range args {
		at := Field(n, "args."+keySegment(a.Name))
		switch {
		case !argNameRe.MatchString(a.Name):
			v.at(at, "", a.NameRange, "%s is not a valid arg name: use letters, digits and _, not starting with a digit", Quote(a.Name))
		case IsPlatformArg(a.Name):
			v.at(at, "", a.Range, "%s is set by the build from --platform; it cannot be declared", a.Name)
		}
	}
}

// Field returns a node standing for key under n, for errors about a value
// that has no Node of its own (an arg, an env entry).
func Field(n *Node, key string) *Node {
	return &Node{Range: n.Range, up: n, key: key, idx: -1}
}

// item returns a node standing for entry i of the list at key under n, for
// errors about an entry that has no Node of its own.
func item(n *Node, key string, i int) *Node {
	return &Node{Range: n.Range, up: n, key: key, idx: i}
}

func (v *validator) patterns(n *Node, key string, patterns []String) {
	for i, p := range patterns {
		if strings.TrimSpace(p.Value) == "" {
			v.at(Field(n, key), "", p.Range, "a pattern must not be empty")
			continue
		}
		if _, err := patternmatcher.New([]string{p.Value}); err != nil {
			v.at(item(n, key, i), "", p.Range, "invalid pattern %s: %v", Quote(p.Value), err)
		}
	}
}

func (v *validator) stage(st *Stage) {
	n := &st.Node
	if !stageNameRe.MatchString(st.Name) || st.Name == "scratch" {
		v.at(n, "", st.NameRange, "%s is not a valid stage name: use lowercase letters, digits, '.', '_' and '-', and not \"scratch\"", Quote(st.Name))
	}
	switch {
	case st.From.Value == "":
		v.at(n, "from", st.From.Range, "from is required: an image (python:3.11-slim), another stage, or scratch")
	case strings.TrimSpace(st.From.Value) == "":
		v.at(n, "from", st.From.Range, "from must not be blank")
	}
	if p := &st.Platform; p.IsSet() && !p.IsTemplate() && p.Value.OS == "" {
		if _, err := ParsePlatform(p.Raw); err != nil {
			v.at(n, "platform", p.Range, "%v", err)
		}
	}
	v.args(n, st.Args)
	v.vars(n, "env", st.Env)
	v.owner(n, "user", &st.User)
	for i, s := range st.Steps {
		v.step(n, "steps", i, s, false)
	}
	if st.Image != nil {
		v.image(st.Image)
	}
	v.tests(st)
}

// vars checks the names of environment variables.
func (v *validator) vars(n *Node, key string, vars Vars) {
	for _, e := range vars {
		if !validEnvName(e.Name) {
			v.at(Field(n, key+"."+keySegment(e.Name)), "", e.NameRange, "%s is not a valid variable name: no '=', spaces or control characters, and not empty", Quote(e.Name))
		}
	}
}

// validEnvName reports whether name can be an environment variable's name.
func validEnvName(name string) bool {
	return name != "" && !strings.ContainsFunc(name, func(r rune) bool {
		return r == '=' || r == ' ' || unsafeRune(r)
	})
}

func (v *validator) owner(n *Node, key string, o *Owner) {
	if !o.IsSet() {
		return
	}
	if err := o.check(); err != nil {
		v.at(n, key, o.Range, "%v", err)
	}
}

func (v *validator) step(parent *Node, key string, i int, s Step, inParallel bool) {
	if s == nil {
		v.at(parent, key, Range{}, "step %d is nil", i)
		return
	}
	n := s.StepNode()
	kind := s.Kind()
	if inParallel {
		if kind == KindParallel {
			v.at(n, "parallel", n.Range, "parallel groups do not nest: list the inner group's branches in the outer group")
			return
		}
		if !kind.RunLike() && kind != KindCopy && kind != KindAdd {
			v.at(n, string(kind), n.Range, "a parallel branch must change files (run, a preset, copy or add); %s sets state for the steps after it, so put it before the group", kind)
			return
		}
	}
	switch s := s.(type) {
	case *RunStep:
		v.command(n, "run", &s.Run)
	case *PipStep:
		v.command(n, "pip", &s.Pip)
	case *UvStep:
		v.command(n, "uv", &s.Uv)
	case *GoStep:
		v.command(n, "go", &s.Go)
	case *AptStep:
		v.packages(n, "apt", s.Apt)
	case *ApkStep:
		v.packages(n, "apk", s.Apk)
	case *CopyStep:
		if c := &s.Copy; c.Content != nil || c.Expand.Value {
			v.inlineFile(c)
		} else {
			v.sources(&c.Files, "copy")
		}
		v.files(&s.Copy.Files, "copy")
	case *AddStep:
		v.add(&s.Add)
	case *ParallelStep:
		if len(s.Parallel) == 0 {
			v.at(n, "parallel", n.Range, "parallel needs at least one branch")
		}
		for j, br := range s.Parallel {
			v.step(n, "parallel", j, br, true)
		}
	case *EnvStep:
		if len(s.Env) == 0 {
			v.at(n, "env", n.Range, "env needs at least one variable")
		}
		v.vars(n, "env", s.Env)
	case *WorkdirStep:
		if strings.TrimSpace(s.Workdir.Value) == "" {
			v.at(n, "workdir", s.Workdir.Range, "workdir needs a directory")
		}
	case *UserStep:
		if !s.User.IsSet() {
			v.at(n, "user", s.User.Range, "user needs a user[:group]")
		}
		v.owner(n, "user", &s.User)
	case *ShellStep:
		if len(s.Shell.Args) == 0 {
			v.at(n, "shell", s.Shell.Range, "shell needs a list: the shell and its arguments, as in [/bin/bash, -c]")
		}
	}
	if r, ok := s.(RunLike); ok {
		o := r.Options()
		v.vars(n, "env", o.Env)
		if o.Network.Value != "" {
			if err := o.Network.check(); err != nil {
				v.at(n, "network", o.Network.Range, "%v", err)
			}
		}
		if o.Security.Value != "" {
			if err := o.Security.check(); err != nil {
				v.at(n, "security", o.Security.Range, "%v", err)
			}
		}
		for j := range o.Mounts {
			v.mount(&o.Mounts[j])
		}
		for j := range o.Devices {
			if d := &o.Devices[j]; strings.TrimSpace(d.Name.Value) == "" {
				v.at(&d.Node, "name", d.Node.Range, "a device needs a name (vendor.com/class=name)")
			}
		}
	}
}

func (v *validator) command(n *Node, key string, c *Command) {
	if c.empty() {
		v.at(n, key, c.Range, "%s needs a command", key)
	}
}

func (v *validator) packages(n *Node, key string, pkgs []String) {
	if len(pkgs) == 0 {
		v.at(n, key, n.Range, "%s needs at least one package", key)
	}
	for i, p := range pkgs {
		if !packageRe.MatchString(p.Value) || strings.HasPrefix(p.Value, "-") {
			v.at(item(n, key, i), "", p.Range, "%s is not a package name", Quote(p.Value))
		}
	}
}

func (v *validator) mount(m *Mount) {
	n := &m.Node
	kind := m.Type.Value
	if kind == "" {
		v.at(n, "type", m.Type.Range, "a mount needs a type: %s", oneOf(mountKinds))
		return
	}
	keys, ok := mountKeys[kind]
	if !ok {
		v.at(n, "type", m.Type.Range, "%v", m.Type.check())
		return
	}
	for _, k := range fieldsOf(reflect.TypeFor[Mount]()).keys {
		if k == "type" || slices.Contains(keys, k) {
			continue
		}
		if set, r := fieldSet(m, k); set {
			v.at(n, k, r, "%s does not apply to a %s mount; it takes %s", k, kind, oneOf(keys))
		}
	}
	target := m.Target.Value
	switch kind {
	case MountCache, MountTmpfs, MountBind:
		if strings.TrimSpace(target) == "" {
			v.at(n, "target", m.Target.Range, "a %s mount needs a target", kind)
		}
	case MountSecret:
		switch {
		case target != "" && m.Env.Value != "":
			v.at(n, "env", m.Env.Range, "a secret goes to a file (target) or to an environment variable (env), not both: use two mounts of the same id")
		case m.ID.Value == "" && target == "":
			v.at(n, "id", m.ID.Range, "a secret mount needs an id (the --secret id=... the build passes)")
		}
		if m.Env.Value != "" && !validEnvName(m.Env.Value) {
			v.at(n, "env", m.Env.Range, "%s is not a valid variable name: no '=', spaces or control characters", Quote(m.Env.Value))
		}
	}
	if target != "" && !NeedsExpansion(target) && path.Clean("/"+target) == "/" {
		v.at(n, "target", m.Target.Range, "a mount cannot cover / (the step's root); name a directory such as /run/%s", kind)
	}
	if m.Sharing.Value != "" {
		if err := m.Sharing.check(); err != nil {
			v.at(n, "sharing", m.Sharing.Range, "%v", err)
		}
	}
	if m.Mode != nil {
		if err := m.Mode.check(); err != nil {
			v.at(n, "mode", m.Mode.Range, "%v", err)
		}
	}
	if m.UID != nil && m.UID.Value < 0 {
		v.at(n, "uid", m.UID.Range, "uid must not be negative")
	}
	if m.GID != nil && m.GID.Value < 0 {
		v.at(n, "gid", m.GID.Range, "gid must not be negative")
	}
	if m.Size != nil && m.Size.Value < 0 {
		v.at(n, "size", m.Size.Range, "size must not be negative")
	}
	if m.Readonly.Value && kind == MountCache && m.Sharing.Value == SharingLocked {
		v.at(n, "readonly", m.Readonly.Range, "a read-only cache cannot be locked")
	}
}

// files validates the options a copy and an add share; kind names the
// step.
func (v *validator) files(c *Files, kind string) {
	n := &c.Node
	if c.Chmod != nil {
		if err := c.Chmod.check(); err != nil {
			v.at(n, "chmod", c.Chmod.Range, "%v", err)
		}
	}
	v.owner(n, "chown", &c.Chown.Owner)
	if c.Link.Value && c.Chown.IsSet() && !c.Chown.IsTemplate() && c.Chown.ByName() {
		v.at(n, "chown", c.Chown.Range, "with link, chown needs numeric ids (1000:1000): names are looked up in the destination, which a linked copy does not see")
	}
	v.patterns(n, "exclude", c.Exclude)
}

// sources validates the sources and dst of a copy or an add of files;
// kind names the step.
func (v *validator) sources(c *Files, kind string) {
	n := &c.Node
	if len(c.Src) == 0 {
		v.at(n, "src", n.Range, "%s needs src: a path or a list of paths", kind)
	}
	for i, s := range c.Src {
		if strings.TrimSpace(s.Value) == "" {
			v.at(item(n, "src", i), "", s.Range, "a src must not be empty")
		}
	}
	switch dst := c.Dst.Value; {
	case dst == "":
		v.at(n, "dst", c.Dst.Range, "%s needs dst: where the files go", kind)
	case strings.TrimSpace(dst) == "":
		v.at(n, "dst", c.Dst.Range, "dst must not be blank")
	case len(c.Src) > 1 && !strings.HasSuffix(dst, "/") && !NeedsExpansion(dst):
		v.at(n, "dst", c.Dst.Range, "with more than one src, dst must be a directory ending in /: %s", Quote(dst+"/"))
	}
}

// inlineFile validates a copy that writes its content, whose keys are
// those of a copy but src, from, exclude and parents.
func (v *validator) inlineFile(c *Copy) {
	n := &c.Node
	if c.Content == nil {
		v.at(n, "expand", c.Expand.Range, "expand applies to content, and this copy has none")
		return
	}
	first := func(list Strings) (bool, Range) {
		if len(list) == 0 {
			return false, Range{}
		}
		return true, list[0].Range
	}
	hasSrc, srcAt := first(c.Src)
	hasExclude, excludeAt := first(c.Exclude)
	for _, other := range []struct {
		key string
		set bool
		r   Range
	}{
		{"src", hasSrc, srcAt},
		{"from", c.From.Value != "", c.From.Range},
		{"exclude", hasExclude, excludeAt},
		{"parents", c.Parents.Value, c.Parents.Range},
	} {
		if other.set {
			v.at(n, other.key, other.r, "a copy with content writes one file: %s does not apply; copy the sources in a step of their own", other.key)
		}
	}
	switch dst := c.Dst.Value; {
	case strings.TrimSpace(dst) == "":
		v.at(n, "dst", c.Dst.Range, "copy needs dst: the path of the file content makes")
	case strings.HasSuffix(dst, "/") || dst == ".":
		v.at(n, "dst", c.Dst.Range, "with content, dst is the file's path, not a directory: %s", Quote(path.Join(dst, "file")))
	}
}

// add validates an add step: a copy's rules, and one src for a
// checksum, as ADD requires.
func (v *validator) add(a *Add) {
	v.sources(&a.Files, "add")
	v.files(&a.Files, "add")
	n := &a.Node
	if a.Checksum.Value != "" && len(a.Src) > 1 {
		v.at(n, "checksum", a.Checksum.Range, "a checksum applies to one src, and there are %d: add them in separate steps", len(a.Src))
	}
}

func (v *validator) image(im *Image) {
	n := &im.Node
	for i := range im.Expose {
		p := &im.Expose[i]
		if err := p.check(); err != nil {
			v.at(item(n, "expose", i), "", p.Range, "%v", err)
		}
	}
	for i, vol := range im.Volumes {
		if strings.TrimSpace(vol.Value) == "" {
			v.at(item(n, "volumes", i), "", vol.Range, "a volume must not be empty")
		}
	}
	for _, l := range im.Labels {
		if strings.TrimSpace(l.Name) == "" {
			v.at(Field(n, "labels"), "", l.NameRange, "a label needs a name: the key is empty")
		}
	}
	if im.Stopsignal != nil {
		if err := im.Stopsignal.check(); err != nil {
			v.at(n, "stopsignal", im.Stopsignal.Range, "%v", err)
		}
	}
	if hc := im.Healthcheck; hc != nil {
		hn := &hc.Node
		if err := checkHealthTest(hc.Test.Args); err != nil {
			v.at(hn, "test", hc.Test.Range, "%v", err)
		}
		for _, d := range []struct {
			key string
			d   *Duration
		}{{"interval", hc.Interval}, {"timeout", hc.Timeout}, {"start_period", hc.StartPeriod}, {"start_interval", hc.StartInterval}} {
			if d.d != nil {
				if err := checkDuration(d.d.Value); err != nil {
					v.at(hn, d.key, d.d.Range, "%v", err)
				}
			}
		}
		if hc.Retries != nil && hc.Retries.Value < 0 {
			v.at(hn, "retries", hc.Retries.Range, "retries must not be negative")
		}
	}
}
