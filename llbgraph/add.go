package llbgraph

import (
	"cmp"
	"net/url"
	"path"
	"strings"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerfile/dfgitutil"
	digest "github.com/opencontainers/go-digest"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// add evaluates an add step as dockerfile2llb evaluates ADD: a copy's
// values, then the checksum, keep-git-dir and unpack, checked against the
// kind of each source.
func (e *stageEval) add(s *spec.AddStep) (*AddStep, string, error) {
	a := &s.Add
	n := &a.Node
	out := &AddStep{Spec: s}
	e.begin(&out.stepBase)
	defer e.end(&out.stepBase)
	if err := e.files(&a.Files, nil, "ADD", &out.Files); err != nil {
		return nil, "", err
	}
	if a.Unpack != nil {
		out.Unpack = &a.Unpack.Value
	}
	if a.KeepGitDir != nil {
		out.KeepGitDir = a.KeepGitDir.Value
	}
	for i, src := range out.Src {
		ref, err := gitSource(src)
		if err != nil {
			at := a.Src[min(i, len(a.Src)-1)].Range
			return nil, "", e.c.errorf(n, "src", at, "%s is not a git repository ADD can read: %s", spec.Quote(src), spec.Escape(err.Error()))
		}
		if ref != nil && ref.KeepGitDir != nil && a.KeepGitDir != nil && *ref.KeepGitDir != out.KeepGitDir {
			return nil, "", e.c.errorf(n, "keep-git-dir", a.KeepGitDir.Range, "keep-git-dir is %t, and the src %s says otherwise", out.KeepGitDir, spec.Quote(src))
		}
	}
	if a.Checksum.Value == "" {
		return out, out.History, nil
	}
	sum, err := e.scope().expand(n, "checksum", a.Checksum.Range, a.Checksum.Value)
	if err != nil {
		return nil, "", err
	}
	out.Checksum = sum
	ref, _ := gitSource(out.Src[0])
	switch {
	case ref != nil:
		if ref.Checksum != "" && ref.Checksum != sum {
			return nil, "", e.c.errorf(n, "checksum", a.Checksum.Range, "checksum %s differs from the src's %s", spec.Quote(sum), spec.Quote(ref.Checksum))
		}
	case IsURL(out.Src[0]):
		if _, err := digest.Parse(sum); err != nil {
			return nil, "", e.c.errorf(n, "checksum", a.Checksum.Range, "checksum %s: %s; write sha256:<64 hex digits>", spec.Quote(sum), spec.Escape(err.Error()))
		}
	default:
		return nil, "", e.c.errorf(n, "checksum", a.Checksum.Range, "a checksum needs an http(s) URL or a git repository as src, not %s", spec.Quote(out.Src[0]))
	}
	return out, out.History, nil
}

// add builds an add step on base as dockerfile2llb builds ADD: a git
// source is cloned, a URL downloaded (unpacked only when unpack is true),
// and a local source copied as copy does, its archives unpacked unless
// unpack is false.
func (b *stageBuild) add(base llb.State, s *AddStep, name string) (llb.State, error) {
	a := &s.Spec.Add
	at := s.Spec.Node.Range
	from := b.fromState(&a.Files, &s.Files)
	return b.files(base, at, &a.Files, &s.Files, name, func(src string, info *llb.CopyInfo) (llb.State, string) {
		if ref, _ := gitSource(src); ref != nil {
			*info = llb.CopyInfo{Mode: info.Mode, CreateDestPath: true}
			return b.gitState(ref, s, name, at), "/"
		}
		if IsURL(src) {
			// as in dockerfile2llb: the file is named after the URL's path
			f := "__unnamed__"
			if u, err := url.Parse(src); err == nil {
				if base := path.Base(u.Path); base != "." && base != "/" {
					f = base
				}
			}
			*info = llb.CopyInfo{Mode: info.Mode, CreateDestPath: true, AttemptUnpack: s.Unpack != nil && *s.Unpack}
			return llb.HTTP(src, llb.Filename(f), llb.Checksum(digest.Digest(s.Checksum)), llb.WithCustomName(name), b.c.location(at)), f
		}
		info.AttemptUnpack = s.Unpack == nil || *s.Unpack
		return from, path.Join("/", src)
	})
}

// gitState clones ref with the options ADD gives it.
func (b *stageBuild) gitState(ref *dfgitutil.GitRef, s *AddStep, name string, at spec.Range) llb.State {
	opts := []llb.GitOption{llb.WithCustomName(name), llb.GitRef(ref.Ref), b.c.location(at)}
	if s.KeepGitDir || ref.KeepGitDir != nil && *ref.KeepGitDir {
		opts = append(opts, llb.KeepGitDir())
	}
	if sum := cmp.Or(s.Checksum, ref.Checksum); sum != "" {
		opts = append(opts, llb.GitChecksum(sum))
	}
	if ref.SubDir != "" {
		opts = append(opts, llb.GitSubDir(ref.SubDir))
	}
	if ref.Submodules != nil && !*ref.Submodules {
		opts = append(opts, llb.GitSkipSubmodules())
	}
	if ref.FetchByCommit {
		opts = append(opts, llb.GitFetchByCommit())
	}
	return llb.Git(ref.Remote, "", opts...)
}

// gitSource returns src as a git repository, or nil when it is not one,
// as dockerfile2llb tells: https://host/repo.git, git@host:repo and
// git://host/repo are, host/repo is a path. The error is a git source's
// that does not parse.
func gitSource(src string) (*dfgitutil.GitRef, error) {
	ref, isGit, err := dfgitutil.ParseGitRef(src)
	switch {
	case err != nil && isGit:
		return nil, err
	case err != nil || ref.IndistinguishableFromLocal:
		return nil, nil
	}
	return ref, nil
}

// IsURL reports whether an add's src is a URL to download: http(s), not a
// git repository.
func IsURL(src string) bool {
	if !strings.HasPrefix(src, "http://") && !strings.HasPrefix(src, "https://") {
		return false
	}
	ref, _ := gitSource(src)
	return ref == nil
}

// isRemote reports whether an add's src is read from the network, not
// from a context.
func isRemote(src string) bool {
	ref, _ := gitSource(src)
	return ref != nil || IsURL(src)
}
