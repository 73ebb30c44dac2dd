// Package spec defines the ohlcv.build.yaml language: its types, and [Load],
// which parses a spec with the position of every node kept, decodes it
// strictly and validates it, so that every mistake is reported at once with
// the file, line and column it sits at.
//
// The compiler in the parent package, llbgraph, turns a loaded [Spec] into
// LLB; this package knows nothing about BuildKit.
package spec

// Version is the only spec version this package reads. A spec says it with
// `version: 1` on its first lines.
const Version = 1

// DefaultFilename is the name a spec has in a build context when the user
// names no other file.
const DefaultFilename = "ohlcv.build.yaml"

// Spec is one parsed ohlcv.build.yaml.
type Spec struct {
	// Version is the language version; it must be 1.
	Version int `yaml:"version"`
	// Args are the build args with their defaults, in file order. A build
	// overrides them with --build-arg NAME=VALUE; ${NAME} reads them.
	Args Vars `yaml:"args"`
	// Exclude lists patterns, in .dockerignore syntax, that are left out of
	// the main build context on top of the context's own .dockerignore.
	Exclude []string `yaml:"exclude"`
	// Default names the stage built when the build names no target. When it
	// is empty, the last stage of the file is the default.
	Default string `yaml:"default"`
	// Stages are the build stages in file order. Every stage is a target.
	Stages Stages `yaml:"stages"`

	// Filename is the name the spec was loaded under, used in every error.
	Filename string `yaml:"-"`
	// Source is the spec's text, kept for source maps and error snippets.
	Source []byte `yaml:"-"`
	// Node is where the document sits in the file.
	Node Node `yaml:"-"`
}

// Stage is one named build stage: a base, steps run on it, and the image
// configuration it hands to the stages and the image built from it.
type Stage struct {
	// Name is the stage's key under `stages:`; a target names it.
	Name string `yaml:"-"`
	// Description is a one-line summary shown by --call=targets.
	Description string `yaml:"description"`
	// From is the base: an image reference, the name of another stage, or
	// `scratch`. A named build context of the same name replaces either.
	From string `yaml:"from"`
	// Platform pins the stage's platform (for example ${BUILDPLATFORM});
	// otherwise the stage builds for the target platform.
	Platform string `yaml:"platform"`
	// Env sets environment variables, in order, for the steps and the image.
	Env Vars `yaml:"env"`
	// Workdir sets the working directory, creating it, before the steps.
	Workdir string `yaml:"workdir"`
	// User sets the user the steps run as and the image's user.
	User string `yaml:"user"`
	// Steps are run in order on the base.
	Steps []Step `yaml:"steps"`
	// Image sets image configuration, inherited by stages built on this one.
	Image *Image `yaml:"image"`

	// Node is where the stage sits in the file.
	Node Node `yaml:"-"`
}

// Step is one entry of a stage's `steps:`. Exactly one of its kinds is set:
// run, apt, apk, pip, uv, go, copy, parallel, env, workdir or user. The
// run-like kinds (run and the presets) also take mounts, env and network.
type Step struct {
	// Run runs a command: a string runs with /bin/sh -c (a multi-line string
	// is a script), a list runs as-is (exec form).
	Run *Command `yaml:"run"`
	// Apt installs Debian packages with apt-get, with apt's caches mounted.
	Apt []string `yaml:"apt"`
	// Apk installs Alpine packages with apk, with apk's cache mounted.
	Apk []string `yaml:"apk"`
	// Pip runs `pip` with these arguments, with pip's cache mounted.
	Pip *Command `yaml:"pip"`
	// Uv runs `uv` with these arguments, with uv's cache mounted.
	Uv *Command `yaml:"uv"`
	// Go runs `go` with these arguments, with the module and build caches
	// mounted.
	Go *Command `yaml:"go"`
	// Copy copies files into the stage.
	Copy *Copy `yaml:"copy"`
	// Parallel runs each entry on the state before the group, concurrently,
	// and merges their changes in list order (later entries win).
	Parallel []Step `yaml:"parallel"`
	// Env sets environment variables. Beside a run-like kind it applies to
	// that command only; on its own it is a step that sets them for the rest
	// of the stage and the image.
	Env Vars `yaml:"env"`
	// Workdir changes the working directory for the following steps and the
	// image, creating it.
	Workdir string `yaml:"workdir"`
	// User changes the user for the following steps and the image.
	User string `yaml:"user"`
	// Mounts are mounted for a run-like step only.
	Mounts []Mount `yaml:"mounts"`
	// Network is the network a run-like step sees: default, none or host.
	Network string `yaml:"network"`

	// Node is where the step sits in the file.
	Node Node `yaml:"-"`
}

// Mount is a filesystem mounted into a run-like step, with the keys of the
// Dockerfile's RUN --mount.
type Mount struct {
	// Type is cache, secret, ssh, tmpfs or bind.
	Type string `yaml:"type"`
	// Target is where the mount appears; relative paths are under the
	// working directory. A secret with env needs none; ssh defaults to
	// /run/buildkit/ssh_agent.N; a secret without env or target goes to
	// /run/secrets/<id>.
	Target string `yaml:"target"`
	// ID names a cache (default: the target), a secret or an ssh agent
	// (default: "default").
	ID string `yaml:"id"`
	// Sharing is how a cache is shared by concurrent builds: shared (the
	// default), private or locked.
	Sharing string `yaml:"sharing"`
	// From is the stage, image or named context a bind or cache mount
	// starts from; a bind mount defaults to the main context.
	From string `yaml:"from"`
	// Source is the path inside From to mount.
	Source string `yaml:"source"`
	// Mode is the octal permission of a new cache directory, a secret file
	// or an ssh socket.
	Mode string `yaml:"mode"`
	// UID owns a new cache directory, a secret file or an ssh socket.
	UID *int `yaml:"uid"`
	// GID is the group of a new cache directory, a secret file or an ssh
	// socket.
	GID *int `yaml:"gid"`
	// Readonly mounts a cache read-only.
	Readonly bool `yaml:"readonly"`
	// Readwrite lets a bind mount be written; the writes are discarded.
	Readwrite bool `yaml:"readwrite"`
	// Required fails the build when a secret or ssh agent is not given.
	Required bool `yaml:"required"`
	// Env exposes a secret as this environment variable instead of a file.
	Env string `yaml:"env"`
	// Size limits a tmpfs, in bytes or with a unit (64m, 1g).
	Size string `yaml:"size"`

	// Node is where the mount sits in the file.
	Node Node `yaml:"-"`
}

// Copy copies files into a stage, with the options of the Dockerfile's COPY.
type Copy struct {
	// Src is one path or a list of paths; globs are allowed. They are read
	// from the main context unless From names another source.
	Src []string `yaml:"src"`
	// Dst is the destination. A trailing slash makes it a directory; with
	// more than one source it must end in a slash.
	Dst string `yaml:"dst"`
	// From names a stage, an image or a named context to copy from.
	From string `yaml:"from"`
	// Chown sets the owner of the copied files, user[:group].
	Chown string `yaml:"chown"`
	// Chmod sets the mode of the copied files, octal (0755) or symbolic
	// (u=rwX,go=rX).
	Chmod string `yaml:"chmod"`
	// Link copies onto an empty layer and merges it, so the copy does not
	// depend on, and is not invalidated by, the steps before it.
	Link bool `yaml:"link"`
	// Exclude lists patterns of source files to leave out.
	Exclude []string `yaml:"exclude"`
	// Parents keeps the source's parent directories under Dst, as COPY
	// --parents does; /./ in a source marks where they start.
	Parents bool `yaml:"parents"`

	// Node is where the copy sits in the file.
	Node Node `yaml:"-"`
}

// Image is the image configuration a stage sets. A stage starts from its
// base's configuration and changes only what it names.
type Image struct {
	// Entrypoint is the image's entrypoint: a list (exec form) or a string
	// (run with /bin/sh -c). An empty list clears it.
	Entrypoint *Command `yaml:"entrypoint"`
	// Cmd is the image's default arguments, in the same forms. An empty
	// list clears it.
	Cmd *Command `yaml:"cmd"`
	// Expose lists ports and port ranges: port[-port][/tcp|/udp|/sctp].
	Expose []string `yaml:"expose"`
	// Labels are added to the image's labels.
	Labels Vars `yaml:"labels"`
	// Volumes are declared as volumes of the image.
	Volumes []string `yaml:"volumes"`
	// Healthcheck sets the image's health check.
	Healthcheck *Healthcheck `yaml:"healthcheck"`
	// Stopsignal is the signal that stops a container of the image.
	Stopsignal string `yaml:"stopsignal"`

	// Node is where the image block sits in the file.
	Node Node `yaml:"-"`
}

// Healthcheck is a container health check, as the Dockerfile's HEALTHCHECK.
type Healthcheck struct {
	// Test is the check: [CMD, arg...], [CMD-SHELL, script], [NONE] to turn
	// off an inherited check, or a string run with the shell.
	Test *Command `yaml:"test"`
	// Interval between checks, a Go duration (30s).
	Interval string `yaml:"interval"`
	// Timeout of one check.
	Timeout string `yaml:"timeout"`
	// StartPeriod during which failures do not count.
	StartPeriod string `yaml:"start_period"`
	// StartInterval between checks during the start period.
	StartInterval string `yaml:"start_interval"`
	// Retries is how many failures in a row make the container unhealthy.
	Retries int `yaml:"retries"`

	// Node is where the health check sits in the file.
	Node Node `yaml:"-"`
}
