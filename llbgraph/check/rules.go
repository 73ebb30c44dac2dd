package check

import (
	"encoding/json"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/moby/patternmatcher"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// rules are every rule, in docs/checks.md's order: the strategy's first,
// then the language's.
var rules = []*Rule{
	{Name: "RunsAsRoot", Description: "An image with an entrypoint or cmd runs as root", run: runsAsRoot},
	{Name: "MissingHealthcheck", Description: "An image with an entrypoint or cmd has no health check", run: missingHealthcheck},
	{Name: "SecretInArgOrEnv", Description: "A credential is passed as a build arg or an environment variable", run: secretInArgOrEnv},
	{Name: "PackageInstallWithoutCache", Description: "A run installs packages without a cache mount on the package manager's cache", run: packageInstallWithoutCache},
	{Name: "AptWithoutNoInstallRecommends", Description: "A run installs Debian packages with their recommended packages", run: aptWithoutNoInstallRecommends},
	{Name: "DependenciesAfterSources", Description: "Sources are copied before the dependencies are installed, so every code change reinstalls them", run: dependenciesAfterSources},
	{Name: "ParallelCandidate", Description: "Independent installs run one after another, or in the background by hand", run: parallelCandidate},
	{Name: "CacheMountNotWritable", Description: "A step running as a non-root user mounts a cache it cannot write", run: cacheMountNotWritable},
	{Name: "SecretFileCopied", Description: "A copy from the context can take a credential file into the image", run: secretFileCopied},
	{Name: "UnpinnedBaseImage", Description: "An image is used with no tag, or with latest", run: unpinnedBaseImage},
	{Name: "UnusedArg", Description: "A declared arg is read nowhere", run: unusedArg},
	{Name: "UnusedSecretMount", Description: "A secret mounted as an environment variable is not read by the script", run: unusedSecretMount},
	{Name: "WorkdirRelativePath", Description: "A relative workdir depends on a working directory the spec never sets", run: workdirRelativePath},
	{Name: "ArgInvalidatesDependencies", Description: "An arg is read before the dependency install, so changing it reinstalls the dependencies", run: argInvalidatesDependencies},
	{Name: "CleanupInLaterStep", Description: "Package lists or caches are removed in a later step than the install, which does not shrink the image", run: cleanupInLaterStep},
	{Name: "ShellFormEntrypoint", Description: "An entrypoint or cmd in shell form runs under a shell that does not pass signals on", run: shellFormEntrypoint},
	{Name: "CommentInCommand", Description: "Text after ` #` on a command's line is a YAML comment, not part of the command", run: commentInCommand},
	{Name: "UndescribedTarget", Description: "A stage has no description for --call=targets to show", Experimental: true, run: undescribedTarget},
}

// --- the strategy's rules ---

// runsAsRoot: "Non-root user: the runtime image runs as ohlcv (uid 1000)".
func runsAsRoot(r *run) {
	for _, st := range r.s.Stages {
		img := r.imageOf(st)
		if !r.counts(st) || img.entrypoint == nil {
			continue
		}
		user := r.expand(img.user.String())
		switch {
		case !img.user.IsSet():
			r.report(&st.Node, "", st.NameRange, "stage %s has an entrypoint or cmd but sets no user, so it runs as root (unless its base image sets one): create a user and add `- user: app` as the last step", spec.Quote(st.Name))
		case spec.IsRootUser(user):
			r.report(img.userNode, "user", img.user.Range, "stage %s has an entrypoint or cmd and ends as %s: make a non-root user the last one", spec.Quote(st.Name), spec.Quote(user))
		}
	}
}

// missingHealthcheck: "HEALTHCHECK in the runtime and production images".
func missingHealthcheck(r *run) {
	for _, st := range r.s.Stages {
		img := r.imageOf(st)
		if !r.counts(st) || img.entrypoint == nil || img.healthcheck {
			continue
		}
		r.report(&st.Node, "", st.NameRange, "stage %s has an entrypoint or cmd but no health check of its own or from the stages it builds on: add image: {healthcheck: {test: [CMD, ...], interval: 30s}}", spec.Quote(st.Name))
	}
}

var (
	secretNameRe  = regexp.MustCompile(`(?i)(?:_|^)(?:apikey|auth|credential|credentials|key|password|pword|passwd|secret|token)(?:_|$)`)
	secretAllowRe = regexp.MustCompile(`(?i)(?:_|^)(?:public|file|version)(?:_|$)`)
	flagValueRe   = regexp.MustCompile(`(?i)^(?:[0-9]{1,3}|true|false|yes|no|on|off)$`)
)

// looksSecret reports whether a name looks like a credential's (the
// Dockerfile frontend's word list), unless its value is a flag such as 1.
func looksSecret(name, value string) bool {
	return secretNameRe.MatchString(name) && !secretAllowRe.MatchString(name) && !flagValueRe.MatchString(value)
}

// secretInArgOrEnv: "Build secrets: the API key reaches the test stage as a
// secret mount, never as a build arg".
func secretInArgOrEnv(r *run) {
	for _, a := range r.s.Args {
		if looksSecret(a.Name, a.Value) {
			r.report(spec.Field(&r.s.Node, "args."+a.Name), "", a.NameRange, "arg %s looks like a credential: build args are kept in the image's history and provenance; mount it with {type: secret, id: %s, env: %s} in the steps that need it and pass --secret id=%s", a.Name, strings.ToLower(a.Name), a.Name, strings.ToLower(a.Name))
		}
	}
	envs := func(n *spec.Node, vars spec.Vars) {
		for _, v := range vars {
			if looksSecret(v.Name, v.Value) {
				r.report(spec.Field(n, "env."+v.Name), "", v.NameRange, "env %s looks like a credential: env is kept in the image's config and history; mount it with {type: secret, id: %s, env: %s} instead", v.Name, strings.ToLower(v.Name), v.Name)
			}
		}
	}
	for _, st := range r.s.Stages {
		if !r.counts(st) {
			continue
		}
		envs(&st.Node, st.Env)
		spec.WalkSteps(st.Steps, func(s spec.Step) {
			switch s := s.(type) {
			case *spec.EnvStep:
				envs(&s.Node, s.Env)
			case spec.RunLike:
				envs(s.StepNode(), s.Options().Env)
			}
		})
	}
}

// runLikes calls fn for each run-like step of the counted stages,
// parallel branches included, with the user it runs as.
func (r *run) runLikes(fn func(st *spec.Stage, s spec.RunLike, user string)) {
	for _, st := range r.s.Stages {
		if !r.counts(st) {
			continue
		}
		users := r.usersOf(st)
		for i, s := range st.Steps {
			spec.WalkSteps([]spec.Step{s}, func(s spec.Step) {
				if rl, ok := s.(spec.RunLike); ok {
					fn(st, rl, users[i])
				}
			})
		}
	}
}

// plainRuns calls fn for each plain run step, as runLikes does.
func (r *run) plainRuns(fn func(st *spec.Stage, s *spec.RunStep, user string)) {
	r.runLikes(func(st *spec.Stage, s spec.RunLike, user string) {
		if run, ok := s.(*spec.RunStep); ok {
			fn(st, run, user)
		}
	})
}

// packageInstallWithoutCache: "BuildKit cache mounts for apt and uv".
func packageInstallWithoutCache(r *run) {
	r.plainRuns(func(_ *spec.Stage, s *spec.RunStep, _ string) {
		for _, t := range installers(s.Run.String()) {
			if cached(t, s.Mounts) {
				continue
			}
			fix := "add a cache mount on " + strings.Join(t.caches, " and ")
			if t.preset != "" {
				fix = "use the " + t.preset + " preset (`- " + t.preset + ": ...`), which mounts its cache"
			}
			r.report(&s.Node, "run", s.Run.Range, "%s downloads packages again on every rebuild of this step: %s", t.name, fix)
		}
	})
}

// aptWithoutNoInstallRecommends: the strategy's slim images.
func aptWithoutNoInstallRecommends(r *run) {
	r.plainRuns(func(_ *spec.Stage, s *spec.RunStep, _ string) {
		text := s.Run.String()
		if tools[0].install.MatchString(text) && !noInstallRecommendsRe.MatchString(text) {
			r.report(&s.Node, "run", s.Run.Range, "apt-get install without --no-install-recommends also installs every recommended package: add --no-install-recommends, or use the apt preset, which does")
		}
	})
}

// manifestRe matches dependency manifests: pyproject.toml, uv.lock,
// requirements.txt, go.mod, package.json and their kin.
var manifestRe = regexp.MustCompile(`(?i)(?:^|/)(?:pyproject\.toml|uv\.lock|poetry\.lock|pdm\.lock|setup\.(?:py|cfg)|requirements[^/]*\.(?:txt|in)|constraints[^/]*\.txt|pipfile(?:\.lock)?|go\.(?:mod|sum|work)|package(?:-lock)?\.json|yarn\.lock|pnpm-lock\.yaml|npm-shrinkwrap\.json|gemfile(?:\.lock)?|cargo\.(?:toml|lock))$`)

// copiesSources reports whether a copy from the main context copies the
// whole context or a source directory, rather than dependency manifests.
func (r *run) copiesSources(c *spec.Copy) (string, bool) {
	if c.From.Value != "" {
		return "", false
	}
	for _, s := range c.Src {
		src := r.expand(s.Value)
		clean := path.Clean("/" + src)
		if clean == "/" || strings.HasSuffix(src, "/") || path.Ext(clean) == "" && !manifestRe.MatchString(clean) {
			return src, true
		}
	}
	return "", false
}

// dependenciesAfterSources: "Dependency files copied before code".
func dependenciesAfterSources(r *run) {
	for _, st := range r.s.Stages {
		if !r.counts(st) {
			continue
		}
		var copied *spec.CopyStep
		var src string
		for _, s := range st.Steps {
			if c, ok := s.(*spec.CopyStep); ok && copied == nil {
				if what, ok := r.copiesSources(&c.Copy); ok {
					copied, src = c, what
				}
				continue
			}
			if copied != nil && installsDependencies(s) {
				r.report(&copied.Copy.Node, "src", copied.Copy.Src[0].Range, "%s is copied before the dependency install at line %d, so every change to it reinstalls the dependencies: copy the manifests (pyproject.toml, uv.lock, ...) first, install, then copy the sources", spec.Quote(src), s.StepNode().Range.Start.Line)
				break
			}
		}
	}
}

// parallelCandidate: "Tools installed in parallel".
func parallelCandidate(r *run) {
	r.plainRuns(func(_ *spec.Stage, s *spec.RunStep, _ string) {
		if backgrounds(s.Run.String()) {
			r.report(&s.Node, "run", s.Run.Range, "this run starts commands in the background and waits for them: write them as branches of a parallel group, which BuildKit runs concurrently and caches one by one")
		}
	})
	for _, st := range r.s.Stages {
		if !r.counts(st) {
			continue
		}
		for i := 0; i < len(st.Steps); {
			j := i
			for j < len(st.Steps) && toolInstall(st.Steps[j]) != "" {
				j++
			}
			if j-i >= 2 {
				first := st.Steps[i].StepNode()
				r.report(first, "", first.Range, "steps %d to %d install %d tools one after another (%s, ...): put them in one parallel group, so they install concurrently and a change to one re-runs only that one", i+1, j, j-i, toolInstall(st.Steps[i]))
			}
			i = max(j, i+1)
		}
	}
}

// cacheMountNotWritable: the strategy's non-root user and cache mounts
// together.
func cacheMountNotWritable(r *run) {
	r.runLikes(func(_ *spec.Stage, rl spec.RunLike, user string) {
		if spec.IsRootUser(user) {
			return
		}
		for j := range rl.Options().Mounts {
			m := &rl.Options().Mounts[j]
			if m.Type.Value != spec.MountCache || m.UID != nil || m.GID != nil || (m.Mode != nil && m.Mode.Value&0o002 != 0) || m.Readonly.Value {
				continue
			}
			r.report(&m.Node, "target", m.Target.Range, "this step runs as %s, but the cache at %s is created owned by root with mode 0755, so writing to it fails with \"permission denied\": give the mount uid (and gid) of that user, or a mode such as \"0777\"", spec.Quote(user), spec.Quote(m.Target.Value))
		}
	})
}

// secretPatterns are files that hold credentials.
var secretPatterns = []string{".env", "*.pem", "*.key", "id_rsa*", ".npmrc", ".netrc", ".pypirc"}

// secretFileCopied: "Build secrets ... never in an image layer".
func secretFileCopied(r *run) {
	base := append(append([]string{}, r.in.Ignore...), spec.Values(r.s.Exclude)...)
	for _, st := range r.s.Stages {
		if !r.counts(st) {
			continue
		}
		spec.WalkSteps(st.Steps, func(s spec.Step) {
			c, ok := s.(*spec.CopyStep)
			if !ok || c.Copy.From.Value != "" {
				return
			}
			excludes := append(append([]string{}, base...), spec.Values(c.Copy.Exclude)...)
			pm, err := patternmatcher.New(excludes)
			if err != nil {
				return
			}
			for i, src := range c.Copy.Src {
				p := strings.TrimPrefix(path.Clean("/"+r.expand(src.Value)), "/")
				if p == "" || p == "." {
					var open []string
					for _, pat := range secretPatterns {
						probe := strings.ReplaceAll(pat, "*", "x")
						if ok, _ := pm.MatchesOrParentMatches(probe); !ok {
							open = append(open, pat)
						}
					}
					if len(open) > 0 {
						r.report(&c.Copy.Node, "src", c.Copy.Src[i].Range, "this copies the whole context, and neither .dockerignore nor exclude leaves out %s: add them to exclude (or .dockerignore) so no credential file reaches a layer", strings.Join(open, ", "))
					}
					continue
				}
				for _, pat := range secretPatterns {
					if m, _ := path.Match(pat, path.Base(p)); m {
						if ok, _ := pm.MatchesOrParentMatches(p); !ok {
							r.report(&c.Copy.Node, "src", c.Copy.Src[i].Range, "%s looks like a credential file (%s): it stays in the image's layers even if a later step deletes it; mount it as a secret instead", spec.Quote(src.Value), pat)
						}
						break
					}
				}
			}
		})
	}
}

// unpinnedBaseImage: the strategy's pinned python:3.11-slim and uv images.
func unpinnedBaseImage(r *run) {
	for _, st := range r.s.Stages {
		if !r.counts(st) {
			continue
		}
		spec.Refs(st, func(n *spec.Node, key string, from spec.String) {
			name := r.expand(from.Value)
			if name == "scratch" || r.stages[name] != nil || spec.NeedsExpansion(name) {
				return
			}
			ref, err := reference.ParseNormalizedNamed(name)
			if err != nil {
				return
			}
			if _, digested := ref.(reference.Digested); digested {
				return
			}
			tagged, ok := ref.(reference.Tagged)
			switch {
			case !ok:
				r.report(n, key, from.Range, "%s has no tag, so it means latest, whatever that is on the day of the build: pin a version tag (%s:<version>), or a digest", spec.Quote(name), reference.FamiliarName(ref))
			case tagged.Tag() == "latest":
				r.report(n, key, from.Range, "%s moves whenever a new version is pushed, and every build may get another image: pin a version tag, or a digest", spec.Quote(name))
			}
		})
	}
}

// --- the language's rules ---

// reads calls fn with every name the spec reads: in the values expanded
// with ${...}, and in the scripts that get the args they mention.
func (r *run) reads(fn func(name string)) {
	for _, a := range r.s.Args {
		valueReads(a.Value, fn)
	}
	for _, st := range r.s.Stages {
		for _, v := range []string{st.From.Value, st.Platform.Raw, st.Workdir.Value, st.User.Raw} {
			valueReads(v, fn)
		}
		for _, v := range st.Env {
			valueReads(v.Value, fn)
		}
		spec.WalkSteps(st.Steps, func(s spec.Step) { stepReads(s, fn) })
		if im := st.Image; im != nil {
			for _, p := range im.Expose {
				valueReads(p.Raw, fn)
			}
			for _, l := range im.Labels {
				valueReads(l.Value, fn)
			}
			for _, v := range im.Volumes {
				valueReads(v.Value, fn)
			}
			if im.Stopsignal != nil {
				valueReads(im.Stopsignal.Raw, fn)
			}
		}
	}
}

// stepReads calls fn with every name one step reads (not the steps of a
// parallel group: spec.WalkSteps visits those).
func stepReads(s spec.Step, fn func(name string)) {
	switch s := s.(type) {
	case *spec.EnvStep:
		for _, v := range s.Env {
			valueReads(v.Value, fn)
		}
	case *spec.WorkdirStep:
		valueReads(s.Workdir.Value, fn)
	case *spec.UserStep:
		valueReads(s.User.Raw, fn)
	case *spec.CopyStep:
		c := &s.Copy
		for _, v := range append(append(append([]spec.String{}, c.Src...), c.Exclude...), c.Dst, c.From) {
			valueReads(v.Value, fn)
		}
		valueReads(c.Chown.Raw, fn)
		if c.Chmod != nil {
			valueReads(c.Chmod.Raw, fn)
		}
	case spec.RunLike:
		for _, n := range spec.ScriptNames(argScript(s)) {
			fn(n)
		}
		var pkgs []spec.String
		switch p := s.(type) {
		case *spec.AptStep:
			pkgs = p.Apt
		case *spec.ApkStep:
			pkgs = p.Apk
		}
		for _, v := range pkgs {
			valueReads(v.Value, fn)
		}
		for _, v := range s.Options().Env {
			valueReads(v.Value, fn)
		}
		for _, m := range s.Options().Mounts {
			for _, v := range []spec.String{m.Target, m.ID, m.Source, m.Env, m.From} {
				valueReads(v.Value, fn)
			}
		}
	}
}

// valueReads calls fn with the names a value expanded with ${...} reads.
func valueReads(text string, fn func(name string)) {
	for _, n := range referenced(text) {
		fn(n)
	}
}

// unusedArg finds declared args that nothing reads.
func unusedArg(r *run) {
	used := map[string]bool{}
	r.reads(func(name string) { used[name] = true })
	for _, a := range r.s.Args {
		if !used[a.Name] {
			r.report(spec.Field(&r.s.Node, "args."+a.Name), "", a.NameRange, "arg %s is declared but no value or script reads it: remove it, or use ${%s}", a.Name, a.Name)
		}
	}
}

// unusedSecretMount finds a secret mounted as env that the script never
// names.
func unusedSecretMount(r *run) {
	r.plainRuns(func(_ *spec.Stage, s *spec.RunStep, _ string) {
		text := s.Run.String()
		for i := range s.Mounts {
			m := &s.Mounts[i]
			if m.Type.Value != spec.MountSecret || m.Env.Value == "" || slices.Contains(spec.ScriptNames(text), m.Env.Value) {
				continue
			}
			r.report(&m.Node, "env", m.Env.Range, "the secret is mounted as $%s, but the script never mentions it: a typo in either name leaves the script without it; if a program reads it from the environment, skip this rule with a comment saying so", m.Env.Value)
		}
	})
}

// workdirRelativePath finds a relative workdir with no absolute one before
// it in the stage's chain.
func workdirRelativePath(r *run) {
	for _, st := range r.s.Stages {
		if !r.counts(st) {
			continue
		}
		abs := false
		if parent := r.parent(st); parent != nil {
			abs = r.imageOf(parent).absWorkdir
		}
		check := func(n *spec.Node, key string, wd spec.String) {
			if wd.Value == "" {
				return
			}
			if r.absolute(wd.Value) {
				abs = true
				return
			}
			if !abs {
				r.report(n, key, wd.Range, "workdir %s is relative, and nothing before it sets an absolute one, so where it lands depends on the base image: write it as an absolute path", spec.Quote(wd.Value))
			}
		}
		check(&st.Node, "workdir", st.Workdir)
		for _, s := range st.Steps {
			if w, ok := s.(*spec.WorkdirStep); ok {
				check(&w.Node, "workdir", w.Workdir)
			}
		}
	}
}

// argInvalidatesDependencies: "Cache busting ... re-runs only the step that
// reads it, not the dependency layers".
func argInvalidatesDependencies(r *run) {
	for _, st := range r.s.Stages {
		if !r.counts(st) {
			continue
		}
		last := -1
		for i, s := range st.Steps {
			if installsDependencies(s) {
				last = i
			}
		}
		if last < 0 {
			continue
		}
		for i := 0; i < last; i++ {
			s := st.Steps[i]
			var read []string
			spec.WalkSteps([]spec.Step{s}, func(s spec.Step) {
				stepReads(s, func(n string) {
					if _, isArg := r.args[n]; isArg && !slices.Contains(read, n) {
						read = append(read, n)
					}
				})
			})
			if len(read) > 0 {
				n := s.StepNode()
				r.report(n, "", n.Range, "this step reads %s before the dependency install at line %d, so changing it reinstalls the dependencies: move the step after the install, or into a later stage", strings.Join(read, ", "), st.Steps[last].StepNode().Range.Start.Line)
			}
		}
	}
}

// cleanupInLaterStep finds package lists and caches removed in a step of
// their own.
func cleanupInLaterStep(r *run) {
	r.plainRuns(func(_ *spec.Stage, s *spec.RunStep, _ string) {
		text := s.Run.String()
		m := cleanupRe.FindStringSubmatch(text)
		if m == nil || len(installers(text)) > 0 {
			return
		}
		r.report(&s.Node, "run", s.Run.Range, "removing %s in a step of its own does not shrink the image: the files stay in the earlier layer; with the presets' cache mounts they never reach a layer, so drop this step", m[1])
	})
}

// shellFormEntrypoint is the Dockerfile frontend's JSONArgsRecommended.
func shellFormEntrypoint(r *run) {
	for _, st := range r.s.Stages {
		if !r.counts(st) || st.Image == nil {
			continue
		}
		for _, c := range []struct {
			key string
			cmd *spec.Command
		}{{"entrypoint", st.Image.Entrypoint}, {"cmd", st.Image.Cmd}} {
			if c.cmd != nil && !c.cmd.IsExec && strings.TrimSpace(c.cmd.Shell) != "" {
				r.report(&st.Image.Node, c.key, c.cmd.Range, "%s in shell form runs under /bin/sh -c, which does not pass SIGTERM on, so the container is killed rather than stopped: write it as a list, %s", c.key, execForm(c.cmd.Shell))
			}
		}
	}
}

// undescribedTarget finds stages that --call=targets lists without a word.
func undescribedTarget(r *run) {
	for _, st := range r.s.Stages {
		if r.counts(st) && strings.TrimSpace(st.Description.Value) == "" {
			r.report(&st.Node, "", st.NameRange, "stage %s has no description: --call=targets lists it without one", spec.Quote(st.Name))
		}
	}
}

// execForm suggests the list form of a shell-form command: its words as
// the shell would split them (quotes kept together, $NAME left as
// written), each as a quoted YAML string.
func execForm(command string) string {
	words, err := shell.NewLex('\\').ProcessWords(command, keepEnv{})
	if err != nil {
		words = strings.Fields(command)
	}
	quoted := make([]string, len(words))
	for i, w := range words {
		dt, _ := json.Marshal(w)
		quoted[i] = string(dt)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// keepEnv leaves every $NAME as it is written.
type keepEnv struct{}

// Get returns $key, so that the variable stays in the word.
func (keepEnv) Get(key string) (string, bool) { return "$" + key, true }

// Keys returns no names.
func (keepEnv) Keys() []string { return nil }
