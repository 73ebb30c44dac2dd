package frontend

import (
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerui"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/pb"
	apicapspb "github.com/moby/buildkit/util/apicaps/pb"
)

// optsClient is a gateway client that only has build options: all
// dockerui.NewClient reads.
type optsClient struct {
	gwclient.Client
	opts gwclient.BuildOpts
}

func (c optsClient) BuildOpts() gwclient.BuildOpts { return c.opts }

// newDockerui parses opts as dockerui does for a build on a daemon with
// every LLB capability but those in missing.
func newDockerui(t *testing.T, opts map[string]string, missing ...string) *dockerui.Client {
	t.Helper()
	caps := slices.DeleteFunc(pb.Caps.All(), func(c *apicapspb.APICap) bool { return slices.Contains(missing, c.ID) })
	bc, err := dockerui.NewClient(optsClient{opts: gwclient.BuildOpts{Opts: opts, LLBCaps: pb.Caps.CapSet(caps)}})
	if err != nil {
		t.Fatal(err)
	}
	return bc
}

// buildxOpts are the options docker buildx build sends for --add-host
// myhost=10.1.2.3 --shm-size 128m --ulimit nofile=1024:2048 --cgroup-parent
// ohlcv --network none --resource memory=1g, and the hostname option.
var buildxOpts = map[string]string{
	"add-hosts":          "myhost=10.1.2.3",
	"shm-size":           "134217728",
	"ulimit":             "nofile=1024:2048",
	"cgroup-parent":      "ohlcv",
	"force-network-mode": "none",
	"memory":             "1073741824",
	"hostname":           "builder-7",
}

// Every run option dockerui parses reaches the compiler's RunFlags, and
// none is warned about.
func TestRunFlagsFromOptions(t *testing.T) {
	f, warnings := runFlags(newDockerui(t, buildxOpts))
	if len(warnings) > 0 {
		t.Errorf("warnings %v", warnings)
	}
	if len(f.ExtraHosts) != 1 || f.ExtraHosts[0].Host != "myhost" || f.ExtraHosts[0].IP.String() != "10.1.2.3" {
		t.Errorf("extra hosts %v", f.ExtraHosts)
	}
	if f.ShmSize != 128<<20 || f.CgroupParent != "ohlcv" || f.Hostname != "builder-7" || f.Network != pb.NetMode_NONE {
		t.Errorf("shm %d, cgroup parent %q, hostname %q, network %v", f.ShmSize, f.CgroupParent, f.Hostname, f.Network)
	}
	if len(f.Ulimits) != 1 || f.Ulimits[0].Name != "nofile" || f.Ulimits[0].Soft != 1024 || f.Ulimits[0].Hard != 2048 {
		t.Errorf("ulimits %v", f.Ulimits)
	}
	if f.Resources == nil || f.Resources.Memory != 1<<30 {
		t.Errorf("resources %v", f.Resources)
	}
	if got := ignoredOptions(newDockerui(t, buildxOpts)); len(got) > 0 {
		t.Errorf("ignored options %v", got)
	}
}

// An option the daemon cannot apply is left out, as dockerfile2llb does,
// and named in a warning; so are the Dockerfile frontend's SBOM scan build
// args, which this frontend does not honour. Options the build does not
// set are never named.
func TestIgnoredOptionsAreNamed(t *testing.T) {
	opts := map[string]string{
		"ulimit":                             "nofile=1024:2048",
		"shm-size":                           "134217728",
		"add-hosts":                          "myhost=10.1.2.3",
		"build-arg:BUILDKIT_SBOM_SCAN_STAGE": "true",
	}
	bc := newDockerui(t, opts, string(pb.CapExecMetaUlimit))
	f, _ := runFlags(bc)
	if f.Ulimits != nil || f.ShmSize != 128<<20 || len(f.ExtraHosts) != 1 {
		t.Errorf("ulimits %v (want none), shm %d, hosts %v", f.Ulimits, f.ShmSize, f.ExtraHosts)
	}
	got := ignoredOptions(bc)
	want := []string{"--ulimit is ignored: this BuildKit cannot apply it", "build arg BUILDKIT_SBOM_SCAN_STAGE is ignored"}
	if len(got) != len(want) {
		t.Fatalf("ignored %q, want %d warnings", got, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(got[i], w) {
			t.Errorf("warning %d is %q, want it to start with %q", i, got[i], w)
		}
	}
}
