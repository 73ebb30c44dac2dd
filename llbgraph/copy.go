package llbgraph

import (
	"path"
	"strings"

	"github.com/moby/buildkit/client/llb"
	digest "github.com/opencontainers/go-digest"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// copy evaluates a copy step with COPY's semantics: the directory rules of
// dst, chown, chmod and exclude.
func (e *stageEval) copy(s *spec.CopyStep) (*CopyStep, string, error) {
	out := &CopyStep{Spec: s}
	e.begin(&out.stepBase)
	defer e.end(&out.stepBase)
	if err := e.files(&s.Copy.Files, &s.Copy, "COPY", &out.Files); err != nil {
		return nil, "", err
	}
	return out, out.History, nil
}

// files evaluates what a copy and an add share into out, with verb
// starting the history line; c is the copy (its parents and content), nil
// for an add.
func (e *stageEval) files(cp *spec.Files, c *spec.Copy, verb string, out *Files) error {
	n := &cp.Node
	var content *spec.String
	parents, expand := false, false
	if c != nil {
		content, parents, expand = c.Content, c.Parents.Value, c.Expand.Value
	}
	sc := e.scope()
	srcs, err := sc.expandList(n, "src", cp.Src)
	if err != nil {
		return err
	}
	dst, err := sc.expand(n, "dst", cp.Dst.Range, cp.Dst.Value)
	if err != nil {
		return err
	}
	if len(srcs) > 1 && !strings.HasSuffix(dst, "/") {
		return e.c.errorf(n, "dst", cp.Dst.Range, "with more than one src, dst must be a directory ending in /: %s", spec.Quote(dst+"/"))
	}
	if content != nil && (dst == "" || dst == "." || strings.HasSuffix(dst, "/")) {
		return e.c.errorf(n, "dst", cp.Dst.Range, "with content, dst is the file's path, not a directory: %s expands to %s", spec.Quote(cp.Dst.Value), spec.Quote(dst))
	}
	written := dst // for the history line, as the user wrote it
	out.Src, out.Dst = srcs, e.destination(dst)
	if out.Exclude, err = sc.expandList(n, "exclude", cp.Exclude); err != nil {
		return err
	}
	if r := e.p.refs[cp]; r != nil {
		out.From = r
		*e.reads = append(*e.reads, r.Reads...)
	}
	history := []string{verb}
	if cp.Chown.IsSet() {
		owner := cp.Chown
		if owner.IsTemplate() {
			v, err := sc.expandValue(n, "chown", owner.Range, owner.Raw)
			if err != nil {
				return err
			}
			if owner, err = spec.ParseChown(v.Text); err != nil && !v.Unknown {
				return e.c.errorf(n, "chown", cp.Chown.Range, "%v", err)
			}
			if cp.Link.Value && owner.ByName() && !v.Unknown {
				return e.c.errorf(n, "chown", cp.Chown.Range, "with link, chown needs numeric ids (1000:1000), not %s: names are looked up in the destination, which a linked copy does not see", spec.Quote(v.Text))
			}
		}
		out.Chown = owner.String()
		history = append(history, "--chown="+out.Chown)
	}
	for _, x := range out.Exclude {
		history = append(history, "--exclude="+x)
	}
	if c := cp.Chmod; c != nil {
		parsed := *c
		if c.IsTemplate() {
			v, err := sc.expandValue(n, "chmod", c.Range, c.Raw)
			if err != nil {
				return err
			}
			if parsed, err = spec.ParseChmod(v.Text); err != nil && !v.Unknown {
				return e.c.errorf(n, "chmod", c.Range, "%v", err)
			}
		}
		out.Chmod = &parsed
		history = append(history, "--chmod="+parsed.String())
	}
	if parents {
		history = append(history, "--parents")
	}
	if cp.Link.Value {
		history = append(history, "--link")
	}
	if r := out.From; r != nil {
		history = append(history, "--from="+r.src.name)
	}
	if content != nil {
		text := content.Value
		if expand {
			if text, err = sc.expand(n, "content", content.Range, text); err != nil {
				return err
			}
		}
		out.Content = &text
		srcs = []string{"<<" + inlineName}
	}
	history = append(history, srcs...)
	out.History = strings.Join(append(history, written), " ")
	return nil
}

// copy builds a copy step on base: sources from the main context or
// another source, globs, parents, and link.
func (b *stageBuild) copy(base llb.State, s *CopyStep, name string) (llb.State, error) {
	cp := &s.Spec.Copy
	from := b.fromState(&cp.Files, &s.Files)
	return b.files(base, s.Spec.Node.Range, &cp.Files, &s.Files, name, func(src string, info *llb.CopyInfo) (llb.State, string) {
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
		return from, path.Join("/", src)
	})
}

// fromState is what a copy or an add reads local sources from: the main
// context, or its from.
func (b *stageBuild) fromState(cp *spec.Files, f *Files) llb.State {
	if r := f.From; r != nil {
		return b.c.sourceState(r.src, b.inputName("from "+r.src.name), cp.From.Range)
	}
	return b.p.main
}

// files builds a copy or an add on base, its ops located at the step's
// range at: one file action copying each source, which source returns as a
// state and a path in it, given the options of a local copy to change,
// with chown, chmod, exclude and link.
func (b *stageBuild) files(base llb.State, at spec.Range, cp *spec.Files, s *Files, name string, source func(src string, info *llb.CopyInfo) (llb.State, string)) (llb.State, error) {
	n := &cp.Node
	dst := s.Dst
	var opts []llb.CopyOption
	if s.Chown != "" {
		opts = append(opts, llb.WithUser(s.Chown))
	}
	if len(s.Exclude) > 0 {
		opts = append(opts, llb.WithExcludePatterns(s.Exclude))
	}
	var chmod *llb.ChmodOpt
	if c := s.Chmod; c != nil {
		chmod = &llb.ChmodOpt{Mode: c.Mode, ModeStr: c.Symbolic}
	}
	var action *llb.FileAction
	cost := opCost + len(name) + len(dst)
	if s.Content != nil {
		action = b.inlineFile(*s.Content, dst, chmod, opts)
		cost += opCost + len(*s.Content)
	}
	for _, src := range s.Src {
		info := &llb.CopyInfo{
			Mode:                chmod,
			FollowSymlinks:      true,
			CopyDirContentsOnly: true,
			CreateDestPath:      true,
			AllowWildcard:       true,
			AllowEmptyWildcard:  true,
		}
		from, src := source(src, info)
		cost += len(src) + 64
		all := append([]llb.CopyOption{info}, opts...)
		if action == nil {
			action = llb.Copy(from, src, dst, all...)
		} else {
			action = action.Copy(from, src, dst, all...)
		}
	}
	if err := b.c.budget.spend(cost); err != nil {
		return llb.State{}, b.c.errorf(n, "", n.Range, "%v", err)
	}

	fileOpts := []llb.ConstraintsOpt{llb.WithCustomName(name), b.c.location(at), llb.Platform(b.platform)}
	if b.noCache {
		fileOpts = append(fileOpts, llb.IgnoreCache)
	}
	if !cp.Link.Value {
		return base.File(action, fileOpts...), nil
	}
	// A linked copy lands on an empty layer that is merged onto base: its
	// cache key does not depend on base, so a change below it does not
	// invalidate it, and the layer is reused as-is. The copy and the merge
	// are one progress group, one line in buildx, as in dockerfile2llb: the
	// copy is a weak member, shown only with the merge. The group's id is
	// the step's name, unique in a build, so the LLB stays deterministic.
	group := digest.FromString(name).String()
	layer := llb.Scratch().File(action, append(fileOpts, llb.ProgressGroup(group, name, true))...)
	merged := llb.Merge([]llb.State{base, layer}, llb.WithCustomName(name+" (link)"), llb.ProgressGroup(group, name, false), b.c.location(at))
	return base.WithOutput(merged.Output()), nil
}

// inlineName is the name of the file a copy with content writes before
// copying it to its dst, and what its history line shows as its source,
// as COPY <<EOF shows the heredoc's delimiter.
const inlineName = "EOF"

// inlineFile writes the content of a copy into a file of its own and copies
// it to dst, as dockerfile2llb does for COPY <<EOF: the file's mode is 0644
// unless chmod sets it.
func (b *stageBuild) inlineFile(content, dst string, chmod *llb.ChmodOpt, opts []llb.CopyOption) *llb.FileAction {
	doc := llb.Scratch().File(
		llb.Mkfile("/"+inlineName, 0o644, []byte(content)),
		llb.WithCustomName(b.inputName("preparing inline document")),
		llb.Platform(b.platform),
	)
	info := &llb.CopyInfo{Mode: chmod, CreateDestPath: true}
	return llb.Copy(doc, "/"+inlineName, dst, append([]llb.CopyOption{info}, opts...)...)
}

// destination makes a copy's dst absolute, as COPY does: relative to the
// working directory, and a directory (ending in /) when it ends in /, is
// `.`, or is empty (a value that expanded to nothing). The slash matters
// most for a linked copy, whose empty layer has no directory there to
// copy into.
func (e *stageEval) destination(dst string) string {
	if dst == "." || dst == "" {
		dst = "./"
	}
	if path.IsAbs(dst) {
		return dst
	}
	slash := strings.HasSuffix(dst, "/")
	dst = path.Join("/", e.cfg.Image.Config.WorkingDir, dst)
	if slash && dst != "/" {
		dst += "/"
	}
	return dst
}
