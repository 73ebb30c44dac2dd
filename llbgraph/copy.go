package llbgraph

import (
	"fmt"
	"path"
	"strings"

	"github.com/moby/buildkit/client/llb"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// copy compiles a copy step on base with COPY's semantics: sources from the
// main context or another source, globs, the trailing-slash rules of dst,
// chown, chmod, exclude, parents, and link.
func (b *stageBuild) copy(base llb.State, s *spec.Step, name string) (llb.State, string, error) {
	cp := s.Copy
	sc := b.scope()
	n := cp.Node
	srcs, err := sc.expandAll(n, "src", cp.Src)
	if err != nil {
		return llb.State{}, "", err
	}
	dst, err := sc.expand(n, "dst", cp.Dst)
	if err != nil {
		return llb.State{}, "", err
	}
	if len(srcs) > 1 && !strings.HasSuffix(dst, "/") {
		return llb.State{}, "", n.Errorf(b.c.spec.Filename, "dst", "with more than one src, dst must be a directory ending in /: %q", dst+"/")
	}
	written := dst // for the history line, as the user wrote it
	if dst == "." || dst == "" {
		dst = "./" // the working directory, as COPY treats them
	}
	if !path.IsAbs(dst) {
		slash := strings.HasSuffix(dst, "/")
		dst = path.Join("/", b.image.Config.WorkingDir, dst)
		if slash && dst != "/" {
			dst += "/"
		}
	}
	exclude, err := sc.expandAll(n, "exclude", cp.Exclude)
	if err != nil {
		return llb.State{}, "", err
	}
	history := []string{"COPY"}
	var opts []llb.CopyOption
	if n.Has("chown") {
		chown, err := sc.expand(n, "chown", cp.Chown)
		if err != nil {
			return llb.State{}, "", err
		}
		if cp.Link && spec.ChownByName(chown) {
			return llb.State{}, "", n.Errorf(b.c.spec.Filename, "chown", "with link, chown needs numeric ids (1000:1000), not %q: names are looked up in the destination, which a linked copy does not see", chown)
		}
		opts = append(opts, llb.WithUser(chown))
		history = append(history, "--chown="+chown)
	}
	if len(exclude) > 0 {
		opts = append(opts, llb.WithExcludePatterns(exclude))
		for _, e := range exclude {
			history = append(history, "--exclude="+e)
		}
	}
	var chmod *llb.ChmodOpt
	if n.Has("chmod") {
		v, err := sc.expand(n, "chmod", cp.Chmod)
		if err != nil {
			return llb.State{}, "", err
		}
		mode, str, err := spec.ParseChmod(v)
		if err != nil {
			return llb.State{}, "", n.Errorf(b.c.spec.Filename, "chmod", "%v", err)
		}
		chmod = &llb.ChmodOpt{Mode: mode, ModeStr: str}
		history = append(history, "--chmod="+v)
	}
	if cp.Parents {
		history = append(history, "--parents")
	}
	if cp.Link {
		history = append(history, "--link")
	}

	from := b.p.main
	if src, ok := b.p.refs[cp]; ok {
		from = b.c.sourceState(src, b.name("from "+src.name), n.Field("from"))
		history = append(history, "--from="+src.name)
	}
	var action *llb.FileAction
	for _, src := range srcs {
		info := &llb.CopyInfo{
			Mode:                chmod,
			FollowSymlinks:      true,
			CopyDirContentsOnly: true,
			CreateDestPath:      true,
			AllowWildcard:       true,
			AllowEmptyWildcard:  true,
		}
		if cp.Parents {
			parent, pattern, ok := strings.Cut(src, "/./")
			if !ok {
				parent, pattern = "/", src
			}
			src = parent
			info.IncludePatterns = []string{strings.TrimPrefix(path.Join("/", pattern), "/")}
			if !strings.ContainsAny(src+pattern, "*?[") {
				info.RequiredPaths = []string{path.Join("/", parent, pattern)}
			}
		}
		src = path.Join("/", src)
		all := append([]llb.CopyOption{info}, opts...)
		if action == nil {
			action = llb.Copy(from, src, dst, all...)
		} else {
			action = action.Copy(from, src, dst, all...)
		}
	}
	history = append(history, srcs...)
	history = append(history, written)

	fileOpts := []llb.ConstraintsOpt{llb.WithCustomName(name), b.c.location(s.Node.Range)}
	if b.noCache {
		fileOpts = append(fileOpts, llb.IgnoreCache)
	}
	if !cp.Link {
		return base.File(action, fileOpts...), strings.Join(history, " "), nil
	}
	// A linked copy lands on an empty layer that is merged onto base: its
	// cache key does not depend on base, so a change below it does not
	// invalidate it, and the layer is reused as-is.
	layer := llb.Scratch().File(action, append(fileOpts, llb.Platform(b.platform))...)
	merged := llb.Merge([]llb.State{base, layer}, llb.WithCustomName(fmt.Sprintf("%s (link)", name)), b.c.location(s.Node.Range))
	return base.WithOutput(merged.Output()), strings.Join(history, " "), nil
}
