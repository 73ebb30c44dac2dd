package llbgraph

import (
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
)

const runFlagsSpec = `version: 1
stages:
  app:
    from: python:3.11-slim
    steps:
      - run: echo plain
      - apt: [curl]
      - pip: install --no-index /wheels/app.whl
      - apk: [git]
      - uv: sync --frozen
      - go: build ./...
      - parallel:
          - run: echo branch
      - run: echo offline
        network: none
      - run: echo default
        network: default
      - copy: {src: app.py, dst: /app/}
`

// The build's run flags reach the ExecOp of every run-like step, run and
// every preset and parallel branches alike, as the Dockerfile frontend applies them to every RUN: the
// extra hosts, the ulimits, the cgroup parent, the host name, a /dev/shm
// tmpfs of the size asked, the resource limits, and the network for steps
// that choose none of their own. A step's own network wins. Copies get
// none of it.
func TestRunFlagsOnEveryRun(t *testing.T) {
	opt := testOpt("app")
	opt.Run = RunFlags{
		ExtraHosts:   []llb.HostIP{{Host: "myhost", IP: net.ParseIP("10.1.2.3")}, {Host: "other", IP: net.ParseIP("::1")}},
		ShmSize:      128 << 20,
		Ulimits:      []*pb.Ulimit{{Name: "nofile", Soft: 1024, Hard: 2048}},
		CgroupParent: "/ohlcv-test",
		Hostname:     "builder-7",
		Network:      pb.NetMode_HOST,
		Resources:    &pb.LinuxResources{Memory: 1 << 30, CpuShares: 512},
	}
	g := marshal(t, compile(t, loadSpec(t, runFlagsSpec), opt).State)
	steps := map[string]pb.NetMode{
		"run: echo plain":   pb.NetMode_HOST,
		"apt: curl":         pb.NetMode_HOST,
		"pip: install":      pb.NetMode_HOST,
		"apk: git":          pb.NetMode_HOST,
		"uv: sync":          pb.NetMode_HOST,
		"go: build":         pb.NetMode_HOST,
		"run: echo branch":  pb.NetMode_HOST,
		"run: echo offline": pb.NetMode_NONE,
		"run: echo default": pb.NetMode_HOST,
	}
	for name, network := range steps {
		t.Run(name, func(t *testing.T) {
			d, op := g.one(t, name)
			exec := op.GetExec()
			if exec == nil {
				t.Fatalf("%s is not an exec op", name)
			}
			m := exec.Meta
			var hosts []string
			for _, h := range m.ExtraHosts {
				hosts = append(hosts, h.Host+"="+h.IP)
			}
			if want := []string{"myhost=10.1.2.3", "other=::1"}; !slices.Equal(hosts, want) {
				t.Errorf("extra hosts %v, want %v", hosts, want)
			}
			if len(m.Ulimit) != 1 || m.Ulimit[0].Name != "nofile" || m.Ulimit[0].Soft != 1024 || m.Ulimit[0].Hard != 2048 {
				t.Errorf("ulimits %v, want nofile=1024:2048", m.Ulimit)
			}
			if m.CgroupParent != "/ohlcv-test" || m.Hostname != "builder-7" {
				t.Errorf("cgroup parent %q, hostname %q", m.CgroupParent, m.Hostname)
			}
			if exec.Network != network {
				t.Errorf("network %v, want %v", exec.Network, network)
			}
			var shm *pb.Mount
			for _, mnt := range exec.Mounts {
				if mnt.Dest == "/dev/shm" {
					shm = mnt
				}
			}
			if shm == nil || shm.MountType != pb.MountType_TMPFS || shm.TmpfsOpt.GetSize() != 128<<20 {
				t.Errorf("/dev/shm mount %v, want a 128 MiB tmpfs", shm)
			}
			if r := g.def.Metadata[d].LinuxResources; r == nil || r.Memory != 1<<30 || r.CpuShares != 512 {
				t.Errorf("resources %v, want memory 1 GiB and 512 cpu shares", r)
			}
		})
	}
	if _, op := g.one(t, "copy: app.py"); op.GetFile() == nil {
		t.Errorf("the copy is not a file op: %v", op)
	}
}

// Without flags, a run's ExecOp is what it was before run flags existed:
// no hosts, no ulimits, no /dev/shm mount, the sandbox's network.
func TestRunFlagsZeroChangesNothing(t *testing.T) {
	g := marshal(t, compile(t, loadSpec(t, runFlagsSpec), testOpt("app")).State)
	for _, d := range g.list {
		exec := g.ops[d].GetExec()
		if exec == nil {
			continue
		}
		m := exec.Meta
		if len(m.ExtraHosts) > 0 || len(m.Ulimit) > 0 || m.CgroupParent != "" || m.Hostname != "" || g.def.Metadata[d].LinuxResources != nil {
			t.Errorf("%s: flags set with none given: %v", g.name(d), m)
		}
		for _, mnt := range exec.Mounts {
			if mnt.Dest == "/dev/shm" {
				t.Errorf("%s: a /dev/shm mount with no --shm-size", g.name(d))
			}
		}
		want := pb.NetMode_UNSET
		if strings.Contains(g.name(d), "echo offline") {
			want = pb.NetMode_NONE
		}
		if exec.Network != want {
			t.Errorf("%s: network %v, want %v", g.name(d), exec.Network, want)
		}
	}
}
