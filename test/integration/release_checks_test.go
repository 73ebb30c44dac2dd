//go:build integration

package integration

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"debug/buildinfo"
	"debug/elf"
	"encoding/json"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ohlcv-rag/ohlcv-build/internal/registry"
)

// What TestRelease checks in a released index, and how it reads it:
// imagetools inspect for the index, configs, provenance and SBOMs, the
// registry's API for the layers.

// lenByKey counts a map's keys, to compare key sets of differently typed maps.
func lenByKey[V any](m map[string]V) map[string]int {
	out := map[string]int{}
	for k := range m {
		out[k]++
	}
	return out
}

// index is an image index split into platform images and attestations.
type index struct {
	digest string
	images map[string]ocispecs.Descriptor // by os/arch[/variant]
	// attests maps an image digest to its attestation manifest.
	attests map[string]ocispecs.Descriptor
}

// inspectIndex reads ref's index with imagetools inspect --raw: it must
// hold one image per platform in platforms, each with one attestation
// manifest.
func inspectIndex(t *testing.T, ref string, platforms []string) index {
	t.Helper()
	raw := imagetools(t, "--raw", ref)
	var idx ocispecs.Index
	if err := json.Unmarshal(raw, &idx); err != nil {
		t.Fatalf("%s: %v\n%s", ref, err, raw)
	}
	out := index{images: map[string]ocispecs.Descriptor{}, attests: map[string]ocispecs.Descriptor{}}
	for _, d := range idx.Manifests {
		if d.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
			out.attests[d.Annotations["vnd.docker.reference.digest"]] = d
			continue
		}
		p := d.Platform
		key := p.OS + "/" + p.Architecture
		if p.Variant != "" {
			key += "/" + p.Variant
		}
		if _, dup := out.images[key]; dup {
			t.Errorf("%s: two images for %s", ref, key)
		}
		out.images[key] = d
	}
	if got, want := slices.Sorted(maps.Keys(out.images)), slices.Sorted(slices.Values(platforms)); !slices.Equal(got, want) {
		t.Errorf("%s: platforms %v, want %v", ref, got, want)
	}
	for p, d := range out.images {
		if _, ok := out.attests[d.Digest.String()]; !ok {
			t.Errorf("%s: no attestation manifest for %s (%s)", ref, p, d.Digest)
		}
	}
	if len(out.attests) != len(out.images) {
		t.Errorf("%s: %d attestation manifests for %d images", ref, len(out.attests), len(out.images))
	}
	return out
}

// imagetools runs docker buildx imagetools inspect ARGS... with the
// engine's builder and returns its output.
func imagetools(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := buildxCommand(t, append([]string{"imagetools", "inspect"}, args...)...)
	cmd.Env = append(os.Environ(), "BUILDX_BUILDER="+engineEnv(t, "BUILDX_BUILDER"))
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("imagetools inspect %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out.Bytes()
}

// imagetoolsJSON decodes imagetools inspect --format FORMAT into v.
func imagetoolsJSON(t *testing.T, ref, format string, v any) {
	t.Helper()
	out := imagetools(t, "--format", format, ref)
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("imagetools inspect --format %s %s: %v\n%.2000s", format, ref, err, out)
	}
}

// manifestDigest is the digest ref resolves to.
func manifestDigest(t *testing.T, ref string) string {
	t.Helper()
	var m ocispecs.Descriptor
	imagetoolsJSON(t, ref, "{{json .Manifest}}", &m)
	return m.Digest.String()
}

// checkConfig checks a platform's image config: its platform, entrypoint,
// creation time (the commit's) and labels.
func checkConfig(t *testing.T, cfg ocispecs.Image, platform string, co checkout) {
	t.Helper()
	got := cfg.OS + "/" + cfg.Architecture
	if cfg.Variant != "" {
		got += "/" + cfg.Variant
	}
	if got != platform {
		t.Errorf("config platform %s", got)
	}
	if cfg.Created == nil || !cfg.Created.Equal(co.epoch) {
		t.Errorf("config created %v, want the commit time %v", cfg.Created, co.epoch)
	}
	if !slices.Equal(cfg.Config.Entrypoint, []string{"/bin/frontend"}) {
		t.Errorf("entrypoint %v", cfg.Config.Entrypoint)
	}
	labels := cfg.Config.Labels
	for k, want := range map[string]string{
		"org.opencontainers.image.version":    releaseVersion,
		"org.opencontainers.image.revision":   co.head,
		"org.opencontainers.image.source":     "https://github.com/ohlcv-rag/ohlcv-build",
		"org.opencontainers.image.created":    co.epoch.Format(time.RFC3339),
		"org.opencontainers.image.title":      "ohlcv-build",
		"moby.buildkit.frontend.network.none": "true",
	} {
		if labels[k] != want {
			t.Errorf("label %s=%q, want %q", k, labels[k], want)
		}
	}
	if labels["org.opencontainers.image.licenses"] == "" {
		t.Errorf("no org.opencontainers.image.licenses label")
	}
	for _, c := range []string{"moby.buildkit.frontend.inputs", "moby.buildkit.frontend.subrequests", "moby.buildkit.frontend.contexts"} {
		if !strings.Contains(labels["moby.buildkit.frontend.caps"], c) {
			t.Errorf("caps label %q lacks %s", labels["moby.buildkit.frontend.caps"], c)
		}
	}
}

// checkProvenance checks a platform's SLSA provenance: mode=max (the build
// config and layers are recorded) and it names the commit.
func checkProvenance(t *testing.T, slsa map[string]any, head string) {
	t.Helper()
	if slsa == nil {
		t.Fatal("no provenance")
	}
	if v := jsonPath(slsa, "buildDefinition", "internalParameters", "buildConfig", "llbDefinition"); v == nil {
		t.Errorf("provenance has no buildConfig.llbDefinition: not mode=max")
	}
	if v := jsonPath(slsa, "runDetails", "metadata", "buildkit_metadata", "layers"); v == nil {
		t.Errorf("provenance has no buildkit_metadata.layers: not mode=max")
	}
	if v := jsonPath(slsa, "runDetails", "metadata", "buildkit_metadata", "vcs", "revision"); v != head {
		t.Errorf("provenance vcs.revision %v, want the commit %s", v, head)
	}
}

// jsonPath walks decoded JSON objects by key.
func jsonPath(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// imageBinary fetches a platform image's manifest and its one layer from
// the registry and returns the layer's digest and /bin/frontend. Every
// entry's time is at most the commit time, and the binary's is that time
// (rewrite-timestamp clamps what the build wrote).
func imageBinary(t *testing.T, reg, repo string, desc ocispecs.Descriptor, epoch time.Time) (string, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	target, err := registry.New().Resolve(ctx, reg+"/"+repo+"@"+desc.Digest.String())
	if err != nil {
		t.Fatal(err)
	}
	var m ocispecs.Manifest
	if err := target.ReadJSON(ctx, target.Descriptor, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Layers) != 1 {
		t.Fatalf("%d layers, want 1 (FROM scratch + the binary)", len(m.Layers))
	}
	layer, err := target.Open(ctx, m.Layers[0])
	if err != nil {
		t.Fatal(err)
	}
	defer layer.Close()
	var bin []byte
	walkTarGz(t, layer, func(h *tar.Header, r io.Reader) {
		if h.ModTime.After(epoch) {
			t.Errorf("%s has time %v, after SOURCE_DATE_EPOCH %v", h.Name, h.ModTime, epoch)
		}
		if strings.TrimPrefix(h.Name, "/") == "bin/frontend" {
			if !h.ModTime.Equal(epoch) {
				t.Errorf("bin/frontend has time %v, want %v", h.ModTime, epoch)
			}
			if bin, err = io.ReadAll(r); err != nil {
				t.Fatal(err)
			}
		}
	})
	if bin == nil {
		t.Fatal("no bin/frontend in the layer")
	}
	return m.Layers[0].Digest.String(), bin
}

// walkTarGz calls fn for each entry of a gzip'd tar, with its content.
func walkTarGz(t *testing.T, data io.Reader, fn func(*tar.Header, io.Reader)) {
	t.Helper()
	zr, err := gzip.NewReader(data)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		fn(h, tr)
	}
}

// checkBinary checks one platform's gateway binary, the image's: its ELF
// header and Go build settings (cross-compiled, CGO_ENABLED=0, -trimpath,
// -tags gatewayonly, stripped, the release's version and commit linked in).
// It runs none of it.
func checkBinary(t *testing.T, bin []byte, want elfWant, head string) *buildinfo.BuildInfo {
	t.Helper()
	checkELF(t, bin, want)
	return checkGoBinary(t, bin, want.goenv, "gatewayonly", head)
}

// checkELF checks an ELF binary's header against want, and that it is
// stripped.
func checkELF(t *testing.T, bin []byte, want elfWant) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		t.Fatalf("not ELF: %v", err)
	}
	flags := elfFlags(t, f, bin)
	if f.Machine != want.machine || f.Class != want.class || f.Data != want.data || f.Type != elf.ET_EXEC || flags != want.flags {
		t.Errorf("ELF %v %v %v %v flags %#x, want %v %v %v ET_EXEC flags %#x", f.Machine, f.Class, f.Data, f.Type, flags, want.machine, want.class, want.data, want.flags)
	}
	if f.Machine == elf.EM_ARM && (flags&armEABIMask != armEABIVersion5 || flags&armFloatABIFlags != 0) {
		t.Errorf("ARM e_flags %#x, want EABI version 5 and no float-ABI flag", flags)
	}
	// -s -w: no symbol table, no DWARF. (-trimpath keeps -ldflags out of the
	// build info, so the linked-in version and commit are looked for as data.)
	for _, s := range f.Sections {
		if s.Name == ".symtab" || strings.HasPrefix(s.Name, ".debug") || strings.HasPrefix(s.Name, ".zdebug") {
			t.Errorf("the binary has section %s: not stripped", s.Name)
		}
	}
}

// checkGoBinary checks the Go build settings of a release binary for any
// OS: goenv, GOOS from it or linux, CGO_ENABLED=0, -trimpath and the build
// tags, with the release's version and commit linked in.
func checkGoBinary(t *testing.T, bin []byte, goenv map[string]string, tags, head string) *buildinfo.BuildInfo {
	t.Helper()
	for _, s := range []string{releaseVersion, head} {
		if !bytes.Contains(bin, []byte(s)) {
			t.Errorf("the binary does not hold %q (linked in with -X)", s)
		}
	}
	info, err := buildinfo.Read(bytes.NewReader(bin))
	if err != nil {
		t.Fatalf("no Go build info: %v", err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	wantSettings := map[string]string{"GOOS": "linux", "CGO_ENABLED": "0", "-trimpath": "true", "-tags": tags}
	maps.Copy(wantSettings, goenv)
	for k, v := range wantSettings {
		if settings[k] != v {
			t.Errorf("build setting %s=%q, want %q (all: %v)", k, settings[k], v, settings)
		}
	}
	return info
}

// spdxDoc is the part of an SPDX document the tests read.
type spdxDoc struct {
	Packages []struct {
		Name        string `json:"name"`
		VersionInfo string `json:"versionInfo"`
	} `json:"packages"`
}

// checkSBOM checks that a platform's SBOM lists every Go module linked into
// its binary, at its version, and the Go standard library.
func checkSBOM(t *testing.T, doc spdxDoc, info *buildinfo.BuildInfo) {
	t.Helper()
	listed := map[string]bool{}
	for _, p := range doc.Packages {
		listed[p.Name+"@"+p.VersionInfo] = true
	}
	want := []string{"stdlib@" + info.GoVersion}
	for _, d := range info.Deps {
		if d.Replace != nil {
			d = d.Replace
		}
		want = append(want, d.Path+"@"+d.Version)
	}
	if len(info.Deps) < 10 {
		t.Errorf("the binary lists %d modules; expected the BuildKit client's many", len(info.Deps))
	}
	for _, w := range want {
		if !listed[w] {
			t.Errorf("the SBOM does not list %s (it has %d packages)", w, len(doc.Packages))
		}
	}
}

// syntaxFromIndex builds a spec whose `# syntax=` line is ref, a channel tag
// of the release index, on a fresh daemon (nothing cached, so it pulls): the
// daemon resolves the index and pulls the variant for its own platform,
// linux/amd64, whose layer is layers["linux/amd64"] and no other's, and that
// frontend builds the spec.
func syntaxFromIndex(t *testing.T, ref, indexDigest string, layers map[string]string) {
	t.Helper()
	d := startFreshDaemon(t, "syntax", "")
	token := randomToken(t)
	dir := writeContext(t, "", map[string]string{
		"ohlcv.build.yaml": "# syntax=" + ref + `
version: 1
stages:
  app:
    from: busybox:latest
    steps:
      - run: echo "` + token + `" > /token
`,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res := solveDockerfile(ctx, t, d.addr, dir, "ohlcv.build.yaml", map[string]string{"target": "app"})
	if res.err != nil {
		t.Fatalf("# syntax=%s build on a fresh daemon: %v\n%s", ref, res.err, res.progress.text())
	}
	if got := readFile(t, filepath.Join(res.local, "token")); strings.TrimSpace(got) != token {
		t.Errorf("/token = %q, want %q", got, token)
	}
	if names := res.progress.named("docker-image://" + ref + "@" + indexDigest); len(names) == 0 {
		t.Errorf("the build did not resolve %s to the release index %s:\n%s", ref, indexDigest, res.progress.text())
	}
	amd64 := layers["linux/amd64"]
	if !res.statuses[amd64] {
		t.Errorf("the fresh daemon did not pull the linux/amd64 layer %s; statuses %v", amd64, slices.Sorted(maps.Keys(res.statuses)))
	}
	for p, l := range layers {
		if p != "linux/amd64" && res.statuses[l] {
			t.Errorf("the fresh daemon pulled the %s layer %s", p, l)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
