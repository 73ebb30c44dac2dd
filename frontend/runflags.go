package frontend

import (
	"context"
	"fmt"

	"github.com/moby/buildkit/frontend/dockerui"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/pb"
	"github.com/moby/buildkit/util/apicaps"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph"
)

// What this frontend does with each field of dockerui.Config, the options
// dockerui parses for it (docs/spec.md, "Build options"):
//
//   - BuildArgs, Target, TargetPlatforms, BuildPlatforms,
//     MultiPlatformRequested, Labels, ImageResolveMode, CacheIDNamespace,
//     CacheImports, LinterConfig: read by Build, compileOpt and the checks.
//   - GitAdvice: applied by dockerui itself to git contexts (MainContext,
//     NamedContext).
//   - SBOM: the daemon scans the result (--sbom, --attest type=sbom), as it
//     does for any frontend that returns no SBOM of its own.
//   - ExtraHosts, ShmSize, Ulimits, CgroupParent, Hostname, NetworkMode,
//     LinuxResources: every run-like step's container (runFlags), as
//     dockerfile2llb applies them to every RUN.
//   - Devices: not honoured; ignoredOptions warns when it is set.
//
// Besides dockerui's, dockerfile2llb reads the BUILDKIT_SBOM_SCAN_CONTEXT
// and BUILDKIT_SBOM_SCAN_STAGE build args, to scan the context and the
// intermediate stages too. This frontend does not, and says so.

// runFlags are the build's options for the containers of run-like steps,
// as dockerui parsed them. Like dockerfile2llb, it leaves out an option the
// daemon has no LLB capability for; unlike it, it returns a warning naming
// each such option, so none is dropped in silence.
func runFlags(bc *dockerui.Client) (llbgraph.RunFlags, []string) {
	caps := bc.BuildOpts().LLBCaps
	var warnings []string
	supported := func(set bool, option string, cap apicaps.CapID) bool {
		if !set {
			return false
		}
		if err := caps.Supports(cap); err != nil {
			warnings = append(warnings, fmt.Sprintf("%s is ignored: this BuildKit cannot apply it to run steps (%v)", option, err))
			return false
		}
		return true
	}
	f := llbgraph.RunFlags{ExtraHosts: bc.ExtraHosts, Hostname: bc.Hostname}
	if supported(bc.NetworkMode != pb.NetMode_UNSET, "--network", pb.CapExecMetaNetwork) {
		f.Network = bc.NetworkMode
	}
	if supported(bc.ShmSize > 0, "--shm-size", pb.CapExecMountTmpfsSize) {
		f.ShmSize = bc.ShmSize
	}
	if supported(len(bc.Ulimits) > 0, "--ulimit", pb.CapExecMetaUlimit) {
		f.Ulimits = bc.Ulimits
	}
	if supported(bc.CgroupParent != "", "--cgroup-parent", pb.CapExecMetaCgroupParent) {
		f.CgroupParent = bc.CgroupParent
	}
	if supported(bc.LinuxResources != nil, "--resource", pb.CapExecMetaLinuxResources) {
		f.Resources = bc.LinuxResources
	}
	return f, warnings
}

// sbomScanArgs are the Dockerfile frontend's build args that widen the
// SBOM scan to the build context and the intermediate stages.
var sbomScanArgs = []string{"BUILDKIT_SBOM_SCAN_CONTEXT", "BUILDKIT_SBOM_SCAN_STAGE"}

// ignoredOptions names the options a build sets that this frontend does
// not honour: those runFlags leaves out, CDI devices, and the SBOM scan
// build args.
func ignoredOptions(bc *dockerui.Client) []string {
	_, out := runFlags(bc)
	if len(bc.Devices) > 0 {
		out = append(out, fmt.Sprintf("%d CDI device(s) are ignored: run steps get no devices from the build's options", len(bc.Devices)))
	}
	for _, name := range sbomScanArgs {
		if _, set := bc.BuildArgs[name]; set {
			out = append(out, fmt.Sprintf("build arg %s is ignored: the SBOM covers the final image only, not the build context or the intermediate stages", name))
		}
	}
	return out
}

// warnIgnoredOptions sends a build warning for each option the build sets
// that this frontend does not honour.
func warnIgnoredOptions(ctx context.Context, bc *dockerui.Client, src *dockerui.Source) {
	for _, msg := range ignoredOptions(bc) {
		src.Warn(ctx, msg, gwclient.WarnOpts{})
	}
}
