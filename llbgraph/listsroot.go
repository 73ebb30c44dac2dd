package llbgraph

import (
	"maps"
	"slices"
	"sort"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// Package lists shared by related images. An apt or apk step updates the
// package lists on the image its stage's lineage starts from
// (presets_packages.go). When another image that a stage with package
// steps starts from is that image's first layers (its layers, by diff ID,
// are a prefix of the other's), the lists are updated on that smaller
// image instead: python:3.11-slim is debian:bookworm-slim and more layers,
// so a build from both updates once, as one vertex. What the upper layers
// change is not lost: each install step compares the sources it sees with
// the fingerprint of those the lists were updated from, and updates its
// own copy when they differ.
//
// Every stage of the spec counts, not only the target's, as for the main
// context's paths (mainContextPaths): a stage then compiles to the same
// LLB whatever the target, and the targets of one bake share the update.
// An image that cannot be looked up is no candidate, and at most
// MaxConcurrentLookups images are looked up for this, all of them from
// registries the plan's own images come from: a registry the target does
// not read from, one that is down or never answers, must not hold up or
// fail the build (TestListsRootOtherRegistry).

// planListsRoots adds to the plan the images that stages with apt or apk
// steps start their lineage from (p.roots), at the platforms of the plan's
// images, when a planned stage has such steps: the images the lists may
// be updated on, from the registries of the plan's images. The plan's own
// sources are reused.
func (c *compiler) planListsRoots(p *plan) {
	if c.opt.ResolveImageConfig == nil || !slices.ContainsFunc(p.order, func(sp *stagePlan) bool { return hasPackageSteps(sp.stage) }) {
		return
	}
	pls := map[string]ocispecs.Platform{} // the plan's images' platforms, by imageID's form
	registries := map[string]bool{}
	for _, s := range p.sources {
		if s.kind != SourceImage {
			continue
		}
		pls[platforms.FormatAll(s.platform)] = s.platform
		if named, err := reference.ParseNormalizedNamed(s.ref); err == nil {
			registries[reference.Domain(named)] = true
		}
	}
	keys := slices.Sorted(maps.Keys(pls))
	for _, rt := range c.packageRoots() {
		name, st := rt.name, rt.stage
		named, err := reference.ParseNormalizedNamed(name)
		if err != nil || !registries[reference.Domain(named)] {
			continue
		}
		ref := reference.TagNameOnly(named).String()
		for _, k := range keys {
			pl := pls[k]
			if c.namedContext(name, pl) {
				continue
			}
			s := p.sources[imageID(ref, pl)]
			if s == nil {
				if len(p.roots) >= MaxConcurrentLookups {
					return
				}
				s = &source{kind: SourceImage, name: name, platform: pl, ref: ref, rootOnly: true, node: &st.Node, key: "from", at: st.From.Range}
			}
			p.roots = append(p.roots, s)
		}
	}
}

// namedContext reports whether name at platform pl is a named context,
// which overrides an image of that name.
func (c *compiler) namedContext(name string, pl ocispecs.Platform) bool {
	if c.opt.NamedContext == nil {
		return false
	}
	load, err := c.opt.NamedContext(name, pl)
	return err != nil || load != nil
}

// packageRoot is an image a lineage starts from, and the first stage of
// the spec whose from names it.
type packageRoot struct {
	name  string
	stage *spec.Stage
}

// packageRoots returns the images, sorted by name and expanded with the
// spec's args, that the stages with apt or apk steps start their lineage
// from: each such stage's from, followed through the stages it names.
// Each stage's from is expanded once.
func (c *compiler) packageRoots() []packageRoot {
	root := map[*spec.Stage]packageRoot{} // where a lineage starts; no name for none, or while walked
	seen := map[string]bool{}
	var out []packageRoot
	for _, st := range c.spec.Stages {
		if c.stages[st.Name] != st || !hasPackageSteps(st) {
			continue
		}
		var chain []*spec.Stage
		var rt packageRoot
		for cur := st; ; {
			if r, ok := root[cur]; ok {
				rt = r
				break
			}
			root[cur] = packageRoot{}
			chain = append(chain, cur)
			from, err := c.scope(nil).expand(&cur.Node, "from", cur.From.Range, cur.From.Value)
			if err != nil {
				break
			}
			if next := c.stages[from]; next != nil {
				cur = next
				continue
			}
			rt = packageRoot{from, cur}
			break
		}
		for _, s := range chain {
			root[s] = rt
		}
		if rt.name != "" && rt.name != "scratch" && validRef(rt.name) && !seen[rt.name] {
			seen[rt.name] = true
			out = append(out, rt)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// hasPackageSteps reports whether a stage has apt or apk steps.
func hasPackageSteps(st *spec.Stage) bool {
	found := false
	spec.WalkSteps(st.Steps, func(s spec.Step) {
		switch s.(type) {
		case *spec.AptStep, *spec.ApkStep:
			found = true
		}
	})
	return found
}

// listsRoot returns the image to update the package lists of an image
// base on: of base and the plan's roots on its platform whose layers are
// a prefix of base's, the one with the fewest layers (then the first
// reference), or nil for base itself. Every image of such a family of
// images chooses the same one.
func (p *plan) listsRoot(base *source) *source {
	ids := base.image.RootFS.DiffIDs
	f := platforms.FormatAll(base.platform)
	best, bestRef := (*source)(nil), base.ref
	n := len(ids)
	for _, r := range p.roots {
		if r.image == nil || r.err != nil || platforms.FormatAll(r.platform) != f {
			continue
		}
		rids := r.image.RootFS.DiffIDs
		if len(rids) == 0 || len(rids) > len(ids) || !slices.Equal(rids, ids[:len(rids)]) {
			continue
		}
		if len(rids) < n || len(rids) == n && r.ref < bestRef {
			best, bestRef, n = r, r.ref, len(rids)
		}
	}
	return best
}

// listsImageOf is where a stage starting from the image base updates its
// package lists (see listsRoot).
func (b *stageBuild) listsImageOf(base *source) listsImage {
	var r *source
	if base.image != nil {
		r = b.p.listsRoot(base)
	}
	if r == nil {
		return listsImage{b.state, base.name}
	}
	st := b.c.sourceState(r, b.inputName("from "+r.name+" (package lists)"), b.sp.stage.From.Range)
	return listsImage{st, r.name}
}
