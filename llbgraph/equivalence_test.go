package llbgraph

import (
	"context"
	"strings"
	"testing"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// Equivalence tests, after HLB's: each compiles a spec and builds the same
// graph by hand with client/llb, and the two must marshal to the same head
// op. They pin the subtle semantics (parallel, link, mounts) in terms a
// reader of the llb package can check.

var amd64 = ocispecs.Platform{OS: "linux", Architecture: "amd64"}

// busybox is the stub busybox image as the compiler starts a stage from it.
func busybox(t *testing.T) llb.State {
	t.Helper()
	r := &stubResolve{}
	ref, dgst, _, err := r.resolve(context.Background(), "docker.io/library/busybox:latest", sourceresolver.Opt{ImageOpt: &sourceresolver.ResolveImageOpt{Platform: &amd64}})
	if err != nil {
		t.Fatal(err)
	}
	return llb.Image(ref+"@"+dgst.String(), llb.Platform(amd64)).Platform(amd64).AddEnv("PATH", "/bin")
}

func sh(script string) llb.RunOption {
	return llb.Args([]string{"/bin/sh", "-c", script})
}

func assertSameHead(t *testing.T, src string, target string, want llb.State) {
	t.Helper()
	got := marshal(t, compile(t, loadSpec(t, src), testOpt(target)).State)
	exp := marshal(t, want)
	if got.head != exp.head {
		var b strings.Builder
		for _, g := range []*graph{got, exp} {
			b.WriteString("---\n")
			for _, d := range g.list {
				b.WriteString(d.String()[:19] + " " + g.name(d) + "\n")
			}
		}
		t.Fatalf("the compiled graph differs from the hand-built one:\n%s", b.String())
	}
}

func TestEquivalentParallel(t *testing.T) {
	base := busybox(t)
	a := base.Run(sh("echo a > /a")).Root()
	b := base.Run(sh("echo b > /b")).Root()
	merged := llb.Merge([]llb.State{base, llb.Diff(base, a), llb.Diff(base, b)})
	want := base.WithOutput(merged.Output()).Run(sh("cat /a /b")).Root()
	assertSameHead(t, `version: 1
stages:
  s:
    from: busybox:latest
    steps:
      - parallel:
          - run: echo a > /a
          - run: echo b > /b
      - run: cat /a /b
`, "s", want)
}

func TestEquivalentLinkedCopy(t *testing.T) {
	base := busybox(t)
	builder := base.Run(sh("echo built > /out")).Root()
	layer := llb.Scratch().File(llb.Copy(builder, "/out", "/app/out", &llb.CopyInfo{
		FollowSymlinks: true, CopyDirContentsOnly: true, CreateDestPath: true, AllowWildcard: true, AllowEmptyWildcard: true,
	}, llb.WithUser("1000:1000")), llb.Platform(amd64))
	want := base.WithOutput(llb.Merge([]llb.State{base, layer}).Output())
	assertSameHead(t, `version: 1
stages:
  builder:
    from: busybox:latest
    steps:
      - run: echo built > /out
  app:
    from: busybox:latest
    steps:
      - copy: {from: builder, src: /out, dst: /app/out, chown: "1000:1000", link: true}
`, "app", want)
}

func TestEquivalentMounts(t *testing.T) {
	base := busybox(t)
	want := base.Run(sh("make"),
		llb.AddMount("/root/.cache/uv", llb.Scratch(), llb.AsPersistentCacheDir("//root/.cache/uv", llb.CacheMountLocked)),
		llb.AddMount("/tmp", llb.Scratch(), llb.Tmpfs(llb.TmpfsSize(1<<20))),
		llb.AddSecret("/run/secrets/api_key", llb.SecretID("api_key")),
		llb.AddSecretWithDest("api_key", nil, llb.SecretID("api_key"), llb.SecretAsEnvName("API_KEY"), llb.SecretOptional),
	).Root()
	assertSameHead(t, `version: 1
stages:
  s:
    from: busybox:latest
    steps:
      - run: make
        mounts:
          - {type: cache, target: /root/.cache/uv, sharing: locked}
          - {type: tmpfs, target: /tmp, size: 1m}
          - {type: secret, id: api_key, required: true}
          - {type: secret, id: api_key, env: API_KEY}
`, "s", want)
}
