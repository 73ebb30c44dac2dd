package frontend

import (
	"errors"
	"strings"
	"testing"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

const entitlementsSpec = `version: 1
stages:
  base:
    from: busybox:latest
    steps:
      - run: echo plain
      - parallel:
          - run: mount -t tmpfs none /mnt
            security: insecure
  app:
    from: base
    steps:
      - run: ls /dev
        devices: [{name: vendor.test/x=one}]
`

// BuildKit's refusals of the security.insecure and device entitlements
// become errors at the first step of the target's stages that asks for
// them, with the remedy and BuildKit's words; a target none of whose steps
// asks is not solved eagerly, and other errors pass unchanged.
func TestExplainEntitlement(t *testing.T) {
	s, err := spec.Load(spec.DefaultFilename, []byte(entitlementsSpec))
	if err != nil {
		t.Fatal(err)
	}
	all := []string{"base", "app"}
	for _, c := range []struct {
		refusal string
		stages  []string
		want    string
	}{
		{"failed to load LLB: security.insecure is not allowed", all,
			"ohlcv.build.yaml:9:23: stages.base.steps[1].parallel[0].security: security: insecure needs the security.insecure entitlement: grant it with --allow security.insecure"},
		{"failed to load LLB: device vendor.test/x=one is requested by the build but not allowed", all,
			"ohlcv.build.yaml:14:19: stages.app.steps[0].devices: devices: need the device entitlement: grant it with --allow device"},
		{"failed to load LLB: device vendor.test/x=one is requested by the build but not allowed", []string{"base"},
			"failed to load LLB: device vendor.test/x=one is requested by the build but not allowed"},
		{"process did not complete successfully", all, "process did not complete successfully"},
	} {
		got := explainEntitlement(errors.New(c.refusal), s, c.stages).Error()
		if !strings.HasPrefix(got, c.want) || !strings.HasSuffix(got, c.refusal) {
			t.Errorf("%q in %v: got %q, want %q... ending in BuildKit's words", c.refusal, c.stages, got, c.want)
		}
	}
	if asksEntitlement(s, nil) || !asksEntitlement(s, []string{"base"}) || !asksEntitlement(s, []string{"app"}) {
		t.Error("asksEntitlement does not follow the target's stages")
	}
}
