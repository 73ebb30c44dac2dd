package llbgraph

import (
	"context"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/solver/pb"
	"google.golang.org/protobuf/proto"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// security: insecure and devices: make the ExecOp that RUN --security and
// RUN --device make in the Dockerfile frontend: the insecure security mode,
// and the CDI devices in order, optional unless required.
func TestRunSecurityAndDevicesAsDockerfile(t *testing.T) {
	const src = `version: 1
args:
  VENDOR: ohlcv-build.test
stages:
  app:
    from: busybox:latest
    steps:
      - run: mount -t tmpfs none /mnt
        security: insecure
        devices:
          - name: ${VENDOR}/null=one
            required: true
          - name: ohlcv-build.test/null=two
      - run: echo sandboxed
        security: sandbox
`
	const df = `FROM busybox:latest
RUN --security=insecure --device=ohlcv-build.test/null=one,required --device=ohlcv-build.test/null=two mount -t tmpfs none /mnt
RUN --security=sandbox echo sandboxed
`
	spec := execOps(t, marshal(t, compile(t, loadSpec(t, src), testOpt("app")).State))
	caps := pb.Caps.CapSet(pb.Caps.All())
	r := &stubResolve{}
	res, err := dockerfile2llb.Dockerfile2LLB(context.Background(), []byte(df), dockerfile2llb.ConvertOpt{
		Config:       dockerui.Config{},
		MetaResolver: resolverFunc(r.resolve),
		LLBCaps:      &caps,
	})
	if err != nil {
		t.Fatal(err)
	}
	dockerfile := execOps(t, marshal(t, res.State))
	if len(spec) != 2 || len(dockerfile) != 2 {
		t.Fatalf("%d exec ops from the spec, %d from the Dockerfile; want 2 each", len(spec), len(dockerfile))
	}
	for i := range spec {
		if !proto.Equal(dockerfile[i], spec[i]) {
			t.Errorf("run %d: security and devices %v, the Dockerfile's %v", i, spec[i], dockerfile[i])
		}
	}
	if spec[0].Security != pb.SecurityMode_INSECURE || len(spec[0].CdiDevices) != 2 || spec[0].CdiDevices[0].Optional || !spec[0].CdiDevices[1].Optional {
		t.Errorf("first run: %v", spec[0])
	}
}

// execOps returns the security mode and the devices of each exec op of g,
// in order.
func execOps(t *testing.T, g *graph) []*pb.ExecOp {
	t.Helper()
	var out []*pb.ExecOp
	for _, d := range g.list {
		if e := g.ops[d].GetExec(); e != nil {
			out = append(out, &pb.ExecOp{Security: e.Security, CdiDevices: e.CdiDevices})
		}
	}
	return out
}

// A preset's package lists are updated in the same sandbox as its install,
// with the same devices, as network is.
func TestPresetListsShareSecurity(t *testing.T) {
	const src = `version: 1
stages:
  app:
    from: debian:bookworm-slim
    steps:
      - apt: [curl]
        security: insecure
        devices: [{name: ohlcv-build.test/null=one}]
`
	g := marshal(t, compile(t, loadSpec(t, src), testOpt("app")).State)
	ops := execOps(t, g)
	if len(ops) != 2 {
		t.Fatalf("%d exec ops, want the lists' update and the install", len(ops))
	}
	for i, e := range ops {
		if e.Security != pb.SecurityMode_INSECURE || len(e.CdiDevices) != 1 {
			t.Errorf("exec op %d: %v", i, e)
		}
	}
}

// A security mode the vocabulary lacks and a device without a name are
// errors at their line, the mode with the word it may mean.
func TestRunSecurityErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"      - run: x\n        security: insecur\n", `ohlcv.build.yaml:7:19: stages.app.steps[0].security: unknown security mode "insecur" (did you mean "insecure"?)`},
		{"      - run: x\n        devices: [{required: true}]\n", `ohlcv.build.yaml:7:19: stages.app.steps[0].devices[0].name: a device needs a name`},
		{"      - run: x\n        devices: [{nam: a/b=c}]\n", `unknown key "nam" (did you mean "name"?)`},
	} {
		_, err := spec.Load(spec.DefaultFilename, []byte("version: 1\nstages:\n  app:\n    from: busybox:latest\n    steps:\n"+c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.src, err, c.want)
		}
	}
}

// security and devices beside a step that runs nothing are errors, as
// mounts and network are.
func TestRunSecurityOnlyOnRuns(t *testing.T) {
	for _, key := range []string{"security: insecure", "devices: [{name: a.b/c=d}]"} {
		_, err := spec.Load(spec.DefaultFilename, []byte("version: 1\nstages:\n  app:\n    from: busybox:latest\n    steps:\n      - workdir: /x\n        "+key+"\n"))
		want := "stages.app.steps[0]." + strings.Split(key, ":")[0] + ": " + strings.Split(key, ":")[0] + " applies to run, apt, apk, pip, uv or go steps only, not to workdir"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s beside workdir: error %v, want %q", key, err, want)
		}
	}
}
