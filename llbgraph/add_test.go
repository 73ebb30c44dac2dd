package llbgraph

import (
	"context"
	"strings"
	"testing"

	"github.com/moby/buildkit/solver/pb"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

const addSpec = `version: 1
stages:
  app:
    from: scratch
    steps:
      - add: {src: "https://example.com/a/tool.tar.gz", dst: /dl/, checksum: "sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d", chmod: "0600"}
      - add: {src: "https://example.com/x.tar.gz", dst: /x/, unpack: true}
      - add: {src: "https://github.com/moby/buildkit.git#v0.34.2:docs", dst: /src, keep-git-dir: true}
      - add: {src: vendor.tar.gz, dst: /v/}
      - add: {src: vendor.tar.gz, dst: /raw/, unpack: false, chown: "1000:1000"}
`

// An add builds what dockerfile2llb builds for ADD: an HTTP source with
// its checksum and the URL's file name, a git source with its ref, subdir
// and keep-git-dir, and copies that unpack local archives by default and
// downloads only when asked.
func TestAddBuildsWhatADDBuilds(t *testing.T) {
	g := marshal(t, compile(t, loadSpec(t, addSpec), testOpt("app")).State)
	sources := map[string]*pb.SourceOp{}
	unpack := map[string]bool{} // by destination
	for _, d := range g.list {
		switch op := g.ops[d].Op.(type) {
		case *pb.Op_Source:
			sources[op.Source.Identifier] = op.Source
			if op.Source.Identifier != "local://context" && !strings.Contains(g.name(d), "add: ") {
				t.Errorf("source %s is named %q, want the add step's name", op.Source.Identifier, g.name(d))
			}
		case *pb.Op_File:
			for _, a := range op.File.Actions {
				if c := a.GetCopy(); c != nil {
					unpack[c.Dest] = c.AttemptUnpackDockerCompatibility
				}
			}
		}
	}
	http := sources["https://example.com/a/tool.tar.gz"]
	if http == nil || http.Attrs[pb.AttrHTTPChecksum] != "sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d" || http.Attrs[pb.AttrHTTPFilename] != "tool.tar.gz" {
		t.Errorf("the download: %+v", http)
	}
	git := sources["git://github.com/moby/buildkit.git#v0.34.2:docs"]
	if git == nil || git.Attrs[pb.AttrKeepGitDir] != "true" {
		t.Errorf("the clone: %+v (sources %v)", git, sources)
	}
	for dst, want := range map[string]bool{"/dl/": false, "/x/": true, "/src": false, "/v/": true, "/raw/": false} {
		if got, ok := unpack[dst]; !ok || got != want {
			t.Errorf("copy to %s: unpack %t (found %t), want %t", dst, got, ok, want)
		}
	}
}

// Bad adds are refused with the spec's position: a checksum that is no
// digest, a checksum for a local file, parents, a checksum for two srcs.
func TestAddErrors(t *testing.T) {
	for _, c := range []struct{ step, want string }{
		{`{src: "https://example.com/a", dst: /a, checksum: "md5:x"}`, "f.yaml:6:64: stages.app.steps[0].add.checksum: checksum \"md5:x\": "},
		{`{src: a.txt, dst: /a, checksum: "sha256:0000000000000000000000000000000000000000000000000000000000000000"}`, "add.checksum: a checksum needs an http(s) URL or a git repository as src, not \"a.txt\""},
		{`{src: a, dst: /a/, parents: true}`, "add.parents: unknown key \"parents\""},
		{`{src: [a, b], dst: /a/, checksum: "sha256:00"}`, "add.checksum: a checksum applies to one src, and there are 2"},
		{`{src: [a, "https://h/r.git?keep-git-dir=maybe"], dst: /a/}`, "add.src: \"https://h/r.git?keep-git-dir=maybe\" is not a git repository ADD can read: invalid keep-git-dir value: \"maybe\""},
	} {
		s, err := spec.Load("f.yaml", []byte("version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - add: "+c.step+"\n"))
		if err == nil {
			_, err = Compile(context.Background(), s, testOpt("app"))
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.step, err, c.want)
		}
	}
}
