package llbgraph

import (
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// RunFlags are the build's settings for the container of every run-like
// step (run, apt, apk, pip, uv, go), which the Dockerfile frontend applies
// to every RUN: docker buildx build's --add-host, --shm-size, --ulimit,
// --cgroup-parent, --network and --resource, and the hostname option. The
// zero value changes nothing.
type RunFlags struct {
	// ExtraHosts are added to /etc/hosts (--add-host NAME=IP).
	ExtraHosts []llb.HostIP
	// ShmSize is the size of /dev/shm in bytes (--shm-size); 0 keeps the
	// runtime's 64 MiB.
	ShmSize int64
	// Ulimits are the process's resource limits (--ulimit nofile=1024:2048).
	Ulimits []*pb.Ulimit
	// CgroupParent is the cgroup the containers are put under
	// (--cgroup-parent).
	CgroupParent string
	// Hostname is the containers' host name (--opt hostname=NAME, or the
	// BUILDKIT_SANDBOX_HOSTNAME build arg); empty keeps BuildKit's.
	Hostname string
	// Network is the network of a step that chooses none itself, or says
	// `network: default` (--network none|host), as RUN --network=default
	// takes the build's. pb.NetMode_UNSET is the sandbox's network.
	Network pb.NetMode
	// Resources limit the memory and CPU of each step (--resource, the
	// legacy --memory and --cpu-* flags); nil sets no limit.
	Resources *pb.LinuxResources
}

// options are the flags as options of a run whose own network setting is
// network, in the order dockerfile2llb adds them.
func (f *RunFlags) options(network spec.NetworkMode) []llb.RunOption {
	var opts []llb.RunOption
	switch network {
	case spec.NetworkNone:
		opts = append(opts, llb.Network(pb.NetMode_NONE))
	case spec.NetworkHost:
		opts = append(opts, llb.Network(pb.NetMode_HOST))
	default:
		if f.Network != pb.NetMode_UNSET {
			opts = append(opts, llb.Network(f.Network))
		}
	}
	if f.Hostname != "" {
		opts = append(opts, llb.Hostname(f.Hostname))
	}
	for _, u := range f.Ulimits {
		opts = append(opts, llb.AddUlimit(llb.UlimitName(u.Name), u.Soft, u.Hard))
	}
	for _, h := range f.ExtraHosts {
		opts = append(opts, llb.AddExtraHost(h.Host, h.IP))
	}
	if f.ShmSize > 0 {
		opts = append(opts, llb.AddMount("/dev/shm", llb.Scratch(), llb.Tmpfs(llb.TmpfsSize(f.ShmSize))))
	}
	if f.CgroupParent != "" {
		opts = append(opts, llb.WithCgroupParent(f.CgroupParent))
	}
	if r := f.Resources; r != nil {
		opts = append(opts, llb.WithLinuxResources(llb.LinuxResources{
			Memory:     r.Memory,
			MemorySwap: r.MemorySwap,
			CPUShares:  r.CpuShares,
			CPUPeriod:  r.CpuPeriod,
			CPUQuota:   r.CpuQuota,
			CpusetCpus: r.CpusetCpus,
			CpusetMems: r.CpusetMems,
		}))
	}
	return opts
}

// cost is what the flags add to each run's LLB, for the budget.
func (f *RunFlags) cost() int {
	n := len(f.Hostname) + len(f.CgroupParent) + 32*len(f.Ulimits)
	for _, h := range f.ExtraHosts {
		n += len(h.Host) + 16
	}
	if f.Resources != nil {
		n += 64 + len(f.Resources.CpusetCpus) + len(f.Resources.CpusetMems)
	}
	return n
}
