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

	"github.com/ohlcv-rag/ohlcv-build/llbgraph"
	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// rules are every rule, in docs/checks.md's order: the strategy's first,
// then the language's.
var rules = []*Rule{
	{Name: "RunsAsRoot", Description: "An image with an entrypoint or cmd runs as root", run: runsAsRoot},
	{Name: "MissingHealthcheck", Description: "An image with an entrypoint or cmd has no health check", run: missingHealthcheck},
	{Name: "MissingTests", Description: "An image with an entrypoint or cmd declares no tests", Experimental: true, run: missingTests},
	{Name: "SecretInArgOrEnv", Description: "A credential is passed as a build arg or an environment variable", run: secretInArgOrEnv},
	{Name: "PackageInstallWithoutCache", Description: "A run installs packages without a cache mount on the package manager's cache", run: packageInstallWithoutCache},
	{Name: "AptWithoutNoInstallRecommends", Description: "A run installs Debian packages with their recommended packages", run: aptWithoutNoInstallRecommends},
	{Name: "DependenciesAfterSources", Description: "Sources are copied before the dependencies are installed, so every code change reinstalls them", run: dependenciesAfterSources},
	{Name: "ParallelCandidate", Description: "Independent installs run one after another, or in the background by hand", run: parallelCandidate},
	{Name: "CacheMountNotWritable", Description: "A step running as a non-root user mounts a cache it cannot write", run: cacheMountNotWritable},
	{Name: "SecretFileCopied", Description: "A copy from the context can take a credential file into the image", run: secretFileCopied},
	{Name: "UnpinnedBaseImage", Description: "An image is used with no tag, or with latest", run: unpinnedBaseImage},
	{Name: "UnusedArg", Description: "A declared arg is read nowhere", run: unusedArg},
	{Name: "ArgNotInRun", Description: "A run names a top-level arg that it does not get", run: argNotInRun},
	{Name: "UnusedSecretMount", Description: "A secret mounted as an environment variable is not read by the script", run: unusedSecretMount},
	{Name: "WorkdirRelativePath", Description: "A relative workdir depends on a working directory the spec never sets", run: workdirRelativePath},
	{Name: "ArgInvalidatesDependencies", Description: "An arg is read before the dependency install, so changing it reinstalls the dependencies", run: argInvalidatesDependencies},
	{Name: "CleanupInLaterStep", Description: "Package lists or caches are removed in a later step than the install, which does not shrink the image", run: cleanupInLaterStep},
	{Name: "ShellFormEntrypoint", Description: "An entrypoint or cmd in shell form runs under a shell that does not pass signals on", run: shellFormEntrypoint},
	{Name: "CommentInCommand", Description: "Text after ` #` on a command's line is a YAML comment, not part of the command", run: commentInCommand},
	{Name: "AddUrlWithoutChecksum", Description: "An add downloads a URL without a checksum", run: addURLWithoutChecksum},
	{Name: "UndescribedTarget", Description: "A stage has no description for --call=targets to show", Experimental: true, run: undescribedTarget},
}

// --- the strategy's rules ---

// runsAsRoot: "Non-root user: the runtime image runs as ohlcv (uid 1000)".
func runsAsRoot(r *run) {
	for _, st := range r.s.Stages {
		ev := r.stage(st)
		if ev == nil || !runsCommand(ev.Config) {
			continue
		}
		cfg := ev.Config
		switch u := cfg.Set.User; {
		case u == nil:
			if !cfg.BaseKnown || spec.IsRootUser(cfg.Image.Config.User) {
				r.report(&st.Node, "", st.NameRange, "stage %s has an entrypoint or cmd but sets no user, so it runs as root (unless its base image sets one): create a user and add `- user: app` as the last step", spec.Quote(st.Name))
			}
		case !u.Unknown && spec.IsRootUser(u.Text):
			r.report(u.Node, u.Key, u.Range, "stage %s has an entrypoint or cmd and ends as %s: make a non-root user the last one", spec.Quote(st.Name), spec.Quote(u.Text))
		}
	}
}

// missingHealthcheck: "HEALTHCHECK in the runtime and production images".
func missingHealthcheck(r *run) {
	for _, st := range r.s.Stages {
		ev := r.stage(st)
		if ev == nil || !runsCommand(ev.Config) {
			continue
		}
		// from an unknown base image, only the spec's health check is known
		if hc := ev.Config.Image.Config.Healthcheck; hc != nil && !(len(hc.Test) == 1 && hc.Test[0] == "NONE") {
			continue
		}
		r.report(&st.Node, "", st.NameRange, "stage %s has an entrypoint or cmd but no health check of its own or from the stages it builds on: add image: {healthcheck: {test: [CMD, ...], interval: 30s}}", spec.Quote(st.Name))
	}
}

// missingTests: a runtime image states none of what it must hold (the
// issue's "did my build do what I meant"): tests: on the stage say it.
func missingTests(r *run) {
	for _, st := range r.s.Stages {
		ev := r.stage(st)
		if ev == nil || !runsCommand(ev.Config) || len(st.Tests) > 0 {
			continue
		}
		r.report(&st.Node, "", st.NameRange, "stage %s has an entrypoint or cmd but no tests: say what its image must hold, such as tests: [{name: runs as non-root, run: test \"$(id -u)\" != 0}]", spec.Quote(st.Name))
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
// parallel branches included, evaluated.
func (r *run) runLikes(fn func(s *llbgraph.RunStep)) {
	for _, st := range r.s.Stages {
		if ev := r.stage(st); ev != nil {
			llbgraph.WalkSteps(ev.Steps, func(s llbgraph.Step) {
				if rl, ok := s.(*llbgraph.RunStep); ok {
					fn(rl)
				}
			})
		}
	}
}

// plainRuns calls fn for each plain run step, as runLikes does.
func (r *run) plainRuns(fn func(s *spec.RunStep, ev *llbgraph.RunStep)) {
	r.runLikes(func(ev *llbgraph.RunStep) {
		if run, ok := ev.Spec.(*spec.RunStep); ok {
			fn(run, ev)
		}
	})
}

// packageInstallWithoutCache: "BuildKit cache mounts for apt and uv".
func packageInstallWithoutCache(r *run) {
	r.plainRuns(func(s *spec.RunStep, _ *llbgraph.RunStep) {
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
	r.plainRuns(func(s *spec.RunStep, _ *llbgraph.RunStep) {
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
func copiesSources(c *llbgraph.CopyStep) (string, bool) {
	if c.From != nil {
		return "", false
	}
	for _, src := range c.Src {
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
		ev := r.stage(st)
		if ev == nil {
			continue
		}
		var copied *spec.CopyStep
		var src string
		for i, s := range st.Steps {
			if c, ok := ev.Steps[i].(*llbgraph.CopyStep); ok && copied == nil {
				if what, ok := copiesSources(c); ok {
					copied, src = c.Spec, what
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
	r.plainRuns(func(s *spec.RunStep, _ *llbgraph.RunStep) {
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
	r.runLikes(func(rl *llbgraph.RunStep) {
		user, known := rl.Before().User()
		if !known || spec.IsRootUser(user) {
			return
		}
		for j := range rl.Spec.Options().Mounts {
			m := &rl.Spec.Options().Mounts[j]
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
		ev := r.stage(st)
		if ev == nil {
			continue
		}
		llbgraph.WalkSteps(ev.Steps, func(s llbgraph.Step) {
			cs, ok := s.(*llbgraph.CopyStep)
			if !ok || cs.From != nil {
				return
			}
			c := cs.Spec
			excludes := append(append([]string{}, base...), cs.Exclude...)
			pm, err := patternmatcher.New(excludes)
			if err != nil {
				return
			}
			for i, src := range c.Copy.Src {
				p := strings.TrimPrefix(path.Clean("/"+cs.Src[i]), "/")
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
		ev := r.stage(st)
		if ev == nil {
			continue
		}
		for _, from := range ev.Refs {
			if from.Kind() != llbgraph.SourceImage {
				continue
			}
			ref, err := reference.ParseNormalizedNamed(from.Name)
			if err != nil {
				continue
			}
			if _, digested := ref.(reference.Digested); digested {
				continue
			}
			tagged, ok := ref.(reference.Tagged)
			switch {
			case !ok:
				r.report(from.Node, from.Key, from.Range, "%s has no tag, so it means latest, whatever that is on the day of the build: pin a version tag (%s:<version>), or a digest", spec.Quote(from.Name), reference.FamiliarName(ref))
			case tagged.Tag() == "latest":
				r.report(from.Node, from.Key, from.Range, "%s moves whenever a new version is pushed, and every build may get another image: pin a version tag, or a digest", spec.Quote(from.Name))
			}
		}
	}
}

// --- the language's rules ---

// unusedArg finds declared args that nothing reads. It needs every stage
// evaluated: when one is not, whether it reads an arg is unknown.
func unusedArg(r *run) {
	if r.failed {
		return
	}
	read := r.m.Reads()
	for _, a := range r.s.Args {
		if !read[a.Name] {
			r.report(spec.Field(&r.s.Node, "args."+a.Name), "", a.NameRange, "arg %s is declared but no value or script reads it: remove it, use ${%s}, or, for a program a run starts that reads it from the environment, declare it in that stage's args, which every run of the stage gets", a.Name, a.Name)
		}
	}
}

// unusedSecretMount finds a secret mounted as env that the script never
// names.
func unusedSecretMount(r *run) {
	r.plainRuns(func(s *spec.RunStep, ev *llbgraph.RunStep) {
		text := s.Run.String()
		for _, em := range ev.Mounts {
			m := em.Spec
			if m.Type.Value != spec.MountSecret || em.Env == "" || slices.Contains(spec.ScriptNames(text), em.Env) {
				continue
			}
			r.report(&m.Node, "env", m.Env.Range, "the secret is mounted as $%s, but the script never mentions it: a typo in either name leaves the script without it; if a program reads it from the environment, skip this rule with a comment saying so", em.Env)
		}
	})
}

// workdirRelativePath finds a relative workdir with no absolute one before
// it in the stage's chain.
func workdirRelativePath(r *run) {
	for _, st := range r.s.Stages {
		ev := r.stage(st)
		if ev == nil {
			continue
		}
		for _, s := range append(slices.Clip(ev.Settings), ev.Steps...) {
			w, ok := s.(*llbgraph.WorkdirStep)
			// an unknown one may be absolute
			if ok && !w.Dir.Unknown && !path.IsAbs(w.Dir.Text) && w.Before().WorkdirFromBase {
				r.report(w.Dir.Node, w.Dir.Key, w.Dir.Range, "workdir %s is relative, and nothing before it sets an absolute one, so where it lands depends on the base image: write it as an absolute path", spec.Quote(w.Dir.Raw))
			}
		}
	}
}

// argInvalidatesDependencies: "Cache busting ... re-runs only the step that
// reads it, not the dependency layers".
func argInvalidatesDependencies(r *run) {
	for _, st := range r.s.Stages {
		ev := r.stage(st)
		if ev == nil {
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
			for _, name := range ev.Steps[i].Reads() {
				if _, isArg := r.m.Arg(name); isArg {
					read = append(read, name)
				}
			}
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
	r.plainRuns(func(s *spec.RunStep, _ *llbgraph.RunStep) {
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
