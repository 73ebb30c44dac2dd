//go:build integration

package integration

import (
	"strings"
	"testing"
)

// tryMount records in /out/NAME whether the run could mount a tmpfs, which
// needs CAP_SYS_ADMIN: "mounted" under security: insecure, "refused" in the
// sandbox.
func tryMount(name string) string {
	return `mkdir -p /out /mnt/` + name + ` && if mount -t tmpfs none /mnt/` + name + ` 2>/dev/null; then echo mounted > /out/` + name + `; else echo refused > /out/` + name + `; fi`
}

var securitySpec = `version: 1
stages:
  app:
    from: busybox:latest
    steps:
      - run: '` + tryMount("sandbox") + `'
      - run: '` + tryMount("insecure") + `'
        security: insecure
      - run: '` + tryMount("explicit-sandbox") + `'
        security: sandbox
`

var securityDockerfile = `FROM busybox:latest
RUN ` + tryMount("sandbox") + `
RUN --security=insecure ` + tryMount("insecure") + `
RUN --security=sandbox ` + tryMount("explicit-sandbox") + `
`

// allowInsecure grants the security.insecure entitlement, as buildx --allow.
func allowInsecure(b build) build {
	b.allow = []string{"security.insecure"}
	return b
}

// security: insecure really runs the step with the privileges of RUN
// --security=insecure, with the entitlement granted: it mounts a tmpfs,
// which the steps in the sandbox (by default or said) cannot.
func TestRunSecurityInsecure(t *testing.T) {
	for _, m := range []mode{inProcess, gateway} {
		t.Run(string(m), func(t *testing.T) {
			img := singleImage(t, run(t, m, allowInsecure(build{dir: writeContext(t, securitySpec, nil)})).must(t))
			for name, want := range map[string]string{"sandbox": "refused", "insecure": "mounted", "explicit-sandbox": "refused"} {
				if got := strings.TrimSpace(img.read(t, "/out/"+name)); got != want {
					t.Errorf("/out/%s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

// Without the entitlement the build fails at the step's line, saying how to
// grant it; BuildKit's own refusal names neither.
func TestRunSecurityInsecureNotGranted(t *testing.T) {
	for _, m := range []mode{inProcess, gateway} {
		t.Run(string(m), func(t *testing.T) {
			out := run(t, m, build{dir: writeContext(t, securitySpec, nil)})
			if out.err == nil {
				t.Fatal("the build passed without the security.insecure entitlement")
			}
			// Line 9 of the file: the syntax line, then the spec.
			for _, want := range []string{"ohlcv.build.yaml:9:19: stages.app.steps[1].security:", "--allow security.insecure", "--allow-insecure-entitlement security.insecure", "security.insecure is not allowed"} {
				if !strings.Contains(out.err.Error(), want) {
					t.Errorf("error %q does not say %q", out.err, want)
				}
			}
		})
	}
}

// devicesSpec asks for hack/cdi's test device, required, and for one the
// daemon lacks, optional; the run shows what it got.
const devicesSpec = `version: 1
stages:
  app:
    from: busybox:latest
    steps:
      - run: 'mkdir /out && ls -l /dev/ohlcv-test-null > /out/node && echo "$OHLCV_TEST_DEVICE" > /out/env'
        devices:
          - {name: ohlcv-build.test/null=one, required: true}
          - name: ohlcv-build.test/null=absent
`

const devicesDockerfile = `FROM busybox:latest
RUN --device=ohlcv-build.test/null=one,required --device=ohlcv-build.test/null=absent mkdir /out && ls -l /dev/ohlcv-test-null > /out/node && echo "$OHLCV_TEST_DEVICE" > /out/env
`

// allowDevices grants the device entitlement, as buildx --allow device.
func allowDevices(b build) build {
	b.allow = []string{"device"}
	return b
}

// devices: gives the run the CDI device the daemon describes (hack/cdi):
// its device node (the host's /dev/null, a character device 1, 3) and its
// environment; an optional device the daemon lacks is left out.
func TestRunDevices(t *testing.T) {
	for _, m := range []mode{inProcess, gateway} {
		t.Run(string(m), func(t *testing.T) {
			img := singleImage(t, run(t, m, allowDevices(build{dir: writeContext(t, devicesSpec, nil)})).must(t))
			if node := img.read(t, "/out/node"); !strings.HasPrefix(node, "c") || !strings.Contains(node, "1,   3") {
				t.Errorf("/dev/ohlcv-test-null is %q, want the character device 1, 3", node)
			}
			if env := strings.TrimSpace(img.read(t, "/out/env")); env != "one" {
				t.Errorf("OHLCV_TEST_DEVICE = %q, want one", env)
			}
		})
	}
}

// Without the device entitlement the build fails at the step's devices,
// saying how to grant it.
func TestRunDevicesNotGranted(t *testing.T) {
	out := run(t, inProcess, build{dir: writeContext(t, devicesSpec, nil)})
	if out.err == nil {
		t.Fatal("the build passed without the device entitlement")
	}
	for _, want := range []string{"ohlcv.build.yaml:9:13: stages.app.steps[0].devices:", "--allow device", "--allow-insecure-entitlement device", "ohlcv-build.test/null=one is requested by the build but not allowed"} {
		if !strings.Contains(out.err.Error(), want) {
			t.Errorf("error %q does not say %q", out.err, want)
		}
	}
}

// The spec and the Dockerfile that say the same thing with RUN
// --security=insecure and RUN --device build the same filesystem and config.
func TestRunSecurityAndDevicesParity(t *testing.T) {
	for _, c := range []struct {
		name, spec, dockerfile string
		allow                  string
	}{
		{"security", securitySpec, securityDockerfile, "security.insecure"},
		{"devices", devicesSpec, devicesDockerfile, "device"},
	} {
		t.Run(c.name, func(t *testing.T) {
			df := run(t, dockerfile, build{dir: writeContext(t, "", map[string]string{"Dockerfile": c.dockerfile}), allow: []string{c.allow}}).must(t)
			sp := run(t, inProcess, build{dir: writeContext(t, c.spec, nil), allow: []string{c.allow}}).must(t)
			if d := compareImages(t, df.oci, sp.oci, false); d != "" {
				t.Error(d)
			}
		})
	}
}
