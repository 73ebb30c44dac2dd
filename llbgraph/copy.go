package llbgraph

import (
	"path"
	"strings"

	"github.com/moby/buildkit/client/llb"
	digest "github.com/opencontainers/go-digest"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// copy compiles a copy step on base with COPY's semantics: sources from the
// main context or another source, globs, the directory rules of dst, chown,
// chmod, exclude, parents, and link.
func (b *stageBuild) copy(base llb.State, s *spec.CopyStep, name string) (llb.State, string, error) {
	cp := &s.Copy
	n := &cp.Node
	sc := b.scope()
	srcs, err := sc.expandList(n, "src", cp.Src)
	if err != nil {
		return llb.State{}, "", err
	}
	dst, err := sc.expand(n, "dst", cp.Dst.Range, cp.Dst.Value)
	if err != nil {
		return llb.State{}, "", err
	}
	if len(srcs) > 1 && !strings.HasSuffix(dst, "/") {
		return llb.State{}, "", b.c.errorf(n, "dst", cp.Dst.Range, "with more than one src, dst must be a directory ending in /: %s", spec.Quote(dst+"/"))
	}
	written := dst // for the history line, as the user wrote it
	dst = b.destination(dst)
	exclude, err := sc.expandList(n, "exclude", cp.Exclude)
	if err != nil {
		return llb.State{}, "", err
	}
	history := []string{"COPY"}
	var opts []llb.CopyOption
	if cp.Chown.IsSet() {
		owner := cp.Chown
		if owner.IsTemplate() {
			raw, err := sc.expand(n, "chown", owner.Range, owner.Raw)
			if err != nil {
				return llb.State{}, "", err
			}
			if owner, err = spec.ParseOwner(raw); err != nil {
				return llb.State{}, "", b.c.errorf(n, "chown", cp.Chown.Range, "%v", err)
			}
			if cp.Link.Value && owner.ByName() {
				return llb.State{}, "", b.c.errorf(n, "chown", cp.Chown.Range, "with link, chown needs numeric ids (1000:1000), not %s: names are looked up in the destination, which a linked copy does not see", spec.Quote(raw))
			}
		}
		opts = append(opts, llb.WithUser(owner.String()))
		history = append(history, "--chown="+owner.String())
	}
	if len(exclude) > 0 {
		opts = append(opts, llb.WithExcludePatterns(exclude))
		for _, e := range exclude {
			history = append(history, "--exclude="+e)
		}
	}
	var chmod *llb.ChmodOpt
	if c := cp.Chmod; c != nil {
		parsed := *c
		if c.IsTemplate() {
			raw, err := sc.expand(n, "chmod", c.Range, c.Raw)
			if err != nil {
				return llb.State{}, "", err
			}
			if parsed, err = spec.ParseChmod(raw); err != nil {
				return llb.State{}, "", b.c.errorf(n, "chmod", c.Range, "%v", err)
			}
		}
		chmod = &llb.ChmodOpt{Mode: parsed.Mode, ModeStr: parsed.Symbolic}
		history = append(history, "--chmod="+parsed.String())
	}
	if cp.Parents.Value {
		history = append(history, "--parents")
	}
	if cp.Link.Value {
		history = append(history, "--link")
	}

	from := b.p.main
	if src, ok := b.p.refs[cp]; ok {
		from = b.c.sourceState(src, b.inputName("from "+src.name), cp.From.Range)
		history = append(history, "--from="+src.name)
	}
	var action *llb.FileAction
	cost := opCost + len(name) + len(dst)
	for _, src := range srcs {
		info := &llb.CopyInfo{
			Mode:                chmod,
			FollowSymlinks:      true,
			CopyDirContentsOnly: true,
			CreateDestPath:      true,
			AllowWildcard:       true,
			AllowEmptyWildcard:  true,
		}
		if cp.Parents.Value {
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
		cost += len(src) + 64
		all := append([]llb.CopyOption{info}, opts...)
		if action == nil {
			action = llb.Copy(from, src, dst, all...)
		} else {
			action = action.Copy(from, src, dst, all...)
		}
	}
	if err := b.c.budget.spend(cost); err != nil {
		return llb.State{}, "", b.c.errorf(n, "", n.Range, "%v", err)
	}
	history = append(history, srcs...)
	history = append(history, written)

	fileOpts := []llb.ConstraintsOpt{llb.WithCustomName(name), b.c.location(s.Node.Range), llb.Platform(b.platform)}
	if b.noCache {
		fileOpts = append(fileOpts, llb.IgnoreCache)
	}
	if !cp.Link.Value {
		return base.File(action, fileOpts...), strings.Join(history, " "), nil
	}
	// A linked copy lands on an empty layer that is merged onto base: its
	// cache key does not depend on base, so a change below it does not
	// invalidate it, and the layer is reused as-is. The copy and the merge
	// are one progress group, one line in buildx, as in dockerfile2llb: the
	// copy is a weak member, shown only with the merge. The group's id is
	// the step's name, unique in a build, so the LLB stays deterministic.
	group := digest.FromString(name).String()
	layer := llb.Scratch().File(action, append(fileOpts, llb.ProgressGroup(group, name, true))...)
	merged := llb.Merge([]llb.State{base, layer}, llb.WithCustomName(name+" (link)"), llb.ProgressGroup(group, name, false), b.c.location(s.Node.Range))
	return base.WithOutput(merged.Output()), strings.Join(history, " "), nil
}

// destination makes a copy's dst absolute, as COPY does: relative to the
// working directory, and a directory (ending in /) when it ends in /, is
// `.`, or is empty (a value that expanded to nothing). The slash matters
// most for a linked copy, whose empty layer has no directory there to
// copy into.
func (b *stageBuild) destination(dst string) string {
	if dst == "." || dst == "" {
		dst = "./"
	}
	if path.IsAbs(dst) {
		return dst
	}
	slash := strings.HasSuffix(dst, "/")
	dst = path.Join("/", b.cfg.img.Config.WorkingDir, dst)
	if slash && dst != "/" {
		dst += "/"
	}
	return dst
}
