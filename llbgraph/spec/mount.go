package spec

// Mount is a filesystem mounted into a run-like step, with the keys of the
// Dockerfile's RUN --mount. Which keys a mount takes depends on its type.
type Mount struct {
	// Type is cache, secret, ssh, tmpfs or bind.
	Type MountType `yaml:"type"`
	// Target is where the mount appears; relative paths are under the
	// working directory. A secret with env needs none; ssh defaults to
	// /run/buildkit/ssh_agent.N; a secret without env or target goes to
	// /run/secrets/<id>.
	Target String `yaml:"target"`
	// ID names a cache (default: the target), a secret or an ssh agent
	// (default: "default").
	ID String `yaml:"id"`
	// Sharing is how a cache is shared by concurrent builds: shared (the
	// default), private or locked.
	Sharing Sharing `yaml:"sharing"`
	// From is the stage, image or named context a bind or cache mount
	// starts from; a bind mount defaults to the main context.
	From String `yaml:"from"`
	// Source is the path inside From to mount; empty is its root.
	Source String `yaml:"source,empty"`
	// Mode is the octal permission of a new cache directory, a secret file
	// or an ssh socket.
	Mode *Mode `yaml:"mode"`
	// UID owns a new cache directory, a secret file or an ssh socket.
	UID *Int `yaml:"uid"`
	// GID is the group of a new cache directory, a secret file or an ssh
	// socket.
	GID *Int `yaml:"gid"`
	// Readonly mounts a cache read-only.
	Readonly Bool `yaml:"readonly"`
	// Readwrite lets a bind mount be written; the writes are discarded.
	Readwrite Bool `yaml:"readwrite"`
	// Required fails the build when a secret or ssh agent is not given.
	Required Bool `yaml:"required"`
	// Env exposes a secret as this environment variable instead of a file.
	Env String `yaml:"env"`
	// Size limits a tmpfs, in bytes or with a unit (64m, 1g).
	Size *Size `yaml:"size"`

	// Node is where the mount sits in the file.
	Node Node `yaml:"-"`
}

// mountKeys are the keys each mount type takes besides type.
var mountKeys = map[MountKind][]string{
	MountCache:  {"target", "id", "sharing", "from", "source", "mode", "uid", "gid", "readonly"},
	MountSecret: {"id", "target", "env", "required", "mode", "uid", "gid"},
	MountSSH:    {"id", "target", "required", "mode", "uid", "gid"},
	MountTmpfs:  {"target", "size"},
	MountBind:   {"target", "from", "source", "readwrite"},
}

// Files are the keys copy and add share: what to copy where, and how.
type Files struct {
	// Src is one path or a list of paths; globs are allowed. They are read
	// from the main context unless From names another source.
	Src Strings `yaml:"src"`
	// Dst is the destination. A trailing slash, `.`, or a value that
	// expands to nothing makes it a directory (the working directory for
	// the last two); with more than one source it must end in a slash.
	Dst String `yaml:"dst"`
	// From names a stage, an image or a named context to copy from.
	From String `yaml:"from"`
	// Chown sets the owner of the copied files: user[:group], or user:
	// for the user and its primary group.
	Chown Chown `yaml:"chown"`
	// Chmod sets the mode of the copied files, octal (0755) or symbolic
	// (u=rwX,go=rX).
	Chmod *Chmod `yaml:"chmod"`
	// Link copies onto an empty layer and merges it, so the copy does not
	// depend on, and is not invalidated by, the steps before it.
	Link Bool `yaml:"link"`
	// Exclude lists patterns of source files to leave out.
	Exclude Strings `yaml:"exclude"`

	// Node is where the copy or add sits in the file.
	Node Node `yaml:"-"`
}

// Copy copies files into a stage, with the options of the Dockerfile's COPY.
type Copy struct {
	Files
	// Parents keeps the source's parent directories under Dst, as COPY
	// --parents does; /./ in a source marks where they start.
	Parents Bool `yaml:"parents"`
	// Content is the text of a file that the copy writes at Dst instead of
	// copying sources, as COPY <<EOF does; Dst is then the file's path. The
	// file's mode is 0644 unless Chmod sets it.
	Content *String `yaml:"content,empty"`
	// Expand interpolates ${NAME} in Content with the stage's env and the
	// args, as an unquoted heredoc delimiter (<<EOF) does; without it the
	// text is written as it is, as with <<'EOF'.
	Expand Bool `yaml:"expand"`
}

// Add adds files with the options of the Dockerfile's ADD: those of copy
// but parents (ADD has no --parents), and a src may also be an http(s) URL (downloaded, not
// unpacked unless unpack is true) or a git repository (cloned, as
// https://host/repo.git#ref:subdir or git@host:repo.git#ref).
type Add struct {
	Files
	// Checksum is the digest a URL's content must have (sha256:...), or
	// the commit a git ref must resolve to; the build fails otherwise.
	Checksum String `yaml:"checksum"`
	// KeepGitDir keeps the .git directory of a git source.
	KeepGitDir *Bool `yaml:"keep-git-dir"`
	// Unpack unpacks archives (tar, gzip, bzip2, xz): the default for
	// local sources, not for URLs; false copies local archives as they are.
	Unpack *Bool `yaml:"unpack"`
}
