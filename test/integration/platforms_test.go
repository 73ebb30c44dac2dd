//go:build integration

package integration

import (
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"encoding/binary"
	"maps"
	"slices"
	"strings"
	"testing"
)

// Some machines of this kind cannot execute 32-bit or non-amd64 code (no
// binfmt: `exec format error`). These tests never run a foreign binary:
// linux/amd64/v2 is the second platform that really runs, and the others
// are proven by the ELF headers and Go build info of what they export.

// archProgram is a Go program that prints its GOARCH and the GOAMD64 it was
// built with.
var archProgram = map[string]string{
	"go.mod": "module example.com/arch\n\ngo 1.26\n",
	"main.go": `package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

func main() {
	goamd64 := "unset"
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "GOAMD64" {
				goamd64 = s.Value
			}
		}
	}
	fmt.Println(runtime.GOARCH, goamd64)
}
`,
}

// crossSpec is a spec whose build stage runs on the build platform and
// cross-compiles archProgram to /out/arch for the target, with goEnv added
// to the go step's env, followed by the stages in more.
func crossSpec(goEnv, more string) string {
	return `version: 1
stages:
  build:
    from: golang:1.26
    platform: ${BUILDPLATFORM}
    workdir: /src
    steps:
      - copy: {src: [go.mod, main.go], dst: ./}
      - go: build -o /out/arch .
        env: {GOARCH: "${TARGETARCH}", ` + goEnv + `, CGO_ENABLED: "0", GOTOOLCHAIN: local}
` + more
}

// imagesByPlatform reads the OCI tar's images, keyed by os/arch[/variant].
func imagesByPlatform(t *testing.T, o *outcome) map[string]*image {
	t.Helper()
	out := map[string]*image{}
	for _, img := range readOCI(t, o.oci) {
		if _, dup := out[img.platform]; dup {
			t.Fatalf("two images for %s", img.platform)
		}
		out[img.platform] = img
	}
	return out
}

// TestTwoPlatforms builds linux/amd64 and linux/amd64/v2, two platforms the
// machine runs: a stage pinned to the build platform cross-compiles a Go
// program once per target, GOARCH from TARGETARCH and GOAMD64 from
// TARGETVARIANT, and each platform's image runs its own binary and records
// TARGETPLATFORM. platforms.Normalize drops amd64's v1 variant, so
// TARGETVARIANT is empty for linux/amd64 and ${TARGETVARIANT:-v1} gives v1.
// The build stage ran on linux/amd64 for both targets, never on v2.
func TestTwoPlatforms(t *testing.T) {
	dir := writeContext(t, crossSpec(`GOAMD64: "${TARGETVARIANT:-v1}"`, `  app:
    from: busybox:latest
    steps:
      - copy: {from: build, src: /out/arch, dst: /usr/local/bin/goarch}
      - run: goarch > /arch && echo "$TARGETPLATFORM" > /target
`), archProgram)
	o := run(t, inProcess, build{dir: dir, attrs: map[string]string{"target": "app", "platform": "linux/amd64,linux/amd64/v2"}}).must(t)
	got := map[string]string{}
	for platform, img := range imagesByPlatform(t, o) {
		got[platform] = strings.TrimSpace(img.read(t, "/arch")) + " " + strings.TrimSpace(img.read(t, "/target"))
	}
	// The keys are the configs' os/arch/variant: no variant for v1.
	want := map[string]string{"linux/amd64": "amd64 v1 linux/amd64", "linux/amd64/v2": "amd64 v2 linux/amd64/v2"}
	if !maps.Equal(got, want) {
		t.Errorf("per platform: %v, want %v", got, want)
	}
	if n, m := len(o.progress.named("[linux/amd64 build 4/4] go: build")), len(o.progress.named("[linux/amd64/v2 build")); n != 2 || m != 0 {
		t.Errorf("want the build stage on the build platform once per target, got %d, and %d on linux/amd64/v2\n%s", n, m, o.progress.text())
	}
}

// elfWant is what a platform's binary must be: its ELF header, as Go's
// linker writes it for a static pure-Go program, and its Go build settings.
type elfWant struct {
	machine elf.Machine
	class   elf.Class
	data    elf.Data
	flags   uint32            // e_flags
	goenv   map[string]string // build settings from debug/buildinfo
	variant string            // the image config's variant
}

// ARM e_flags: the EABI version is the top byte; the float-ABI bits say
// hard or soft float.
const (
	armEABIMask      = 0xff000000
	armEABIVersion5  = 0x05000000
	armHasEntry      = 0x02
	armABIFloatSoft  = 0x200
	armABIFloatHard  = 0x400
	armFloatABIFlags = armABIFloatSoft | armABIFloatHard
)

// TestCrossCompiledPlatforms builds seven foreign platforms and runs none of
// their code: the build-platform stage cross-compiles the Go program for
// each, with GOARM from TARGETVARIANT, and the app stage is scratch plus a
// copy. Each platform's image holds a binary whose ELF machine, class, byte
// order and e_flags are its platform's (for linux/arm: EABI version 5 and
// no float-ABI flag, which is what Go's linker writes, 0x5000002), whose Go
// build info says its GOARCH (and GOARM 6 or 7 from the variant), and whose
// image config names the platform. The build stage ran on linux/amd64 only.
func TestCrossCompiledPlatforms(t *testing.T) {
	lsb, msb := elf.ELFDATA2LSB, elf.ELFDATA2MSB
	want := map[string]elfWant{
		"linux/arm64":   {elf.EM_AARCH64, elf.ELFCLASS64, lsb, 0, map[string]string{"GOARCH": "arm64"}, ""},
		"linux/arm/v7":  {elf.EM_ARM, elf.ELFCLASS32, lsb, armEABIVersion5 | armHasEntry, map[string]string{"GOARCH": "arm", "GOARM": "7"}, "v7"},
		"linux/arm/v6":  {elf.EM_ARM, elf.ELFCLASS32, lsb, armEABIVersion5 | armHasEntry, map[string]string{"GOARCH": "arm", "GOARM": "6"}, "v6"},
		"linux/ppc64le": {elf.EM_PPC64, elf.ELFCLASS64, lsb, 2, map[string]string{"GOARCH": "ppc64le"}, ""}, // ELFv2 ABI
		"linux/s390x":   {elf.EM_S390, elf.ELFCLASS64, msb, 1, map[string]string{"GOARCH": "s390x"}, ""},    // Go writes 1 (ABI version 1) for big-endian s390x and ppc64
		"linux/riscv64": {elf.EM_RISCV, elf.ELFCLASS64, lsb, 4, map[string]string{"GOARCH": "riscv64"}, ""}, // double-float ABI
		"linux/386":     {elf.EM_386, elf.ELFCLASS32, lsb, 0, map[string]string{"GOARCH": "386", "GO386": "sse2"}, ""},
	}
	dir := writeContext(t, crossSpec(`GOARM: "${TARGETVARIANT#v}"`, `  app:
    from: scratch
    steps:
      - copy: {from: build, src: /out/arch, dst: /arch}
`), archProgram)
	platforms := []string{"linux/arm64", "linux/arm/v7", "linux/arm/v6", "linux/ppc64le", "linux/s390x", "linux/riscv64", "linux/386"}
	o := run(t, inProcess, build{dir: dir, attrs: map[string]string{"target": "app", "platform": strings.Join(platforms, ",")}}).must(t)
	imgs := imagesByPlatform(t, o)
	if len(imgs) != len(want) {
		t.Errorf("got images for %v, want %d", slices.Sorted(maps.Keys(imgs)), len(want))
	}
	for platform, w := range want {
		img, ok := imgs[platform]
		if !ok {
			t.Errorf("no image for %s", platform)
			continue
		}
		if img.config.OS != "linux" || img.config.Variant != w.variant {
			t.Errorf("%s: config os %q variant %q, want linux %q", platform, img.config.OS, img.config.Variant, w.variant)
		}
		bin := []byte(img.read(t, "/arch"))
		f, err := elf.NewFile(bytes.NewReader(bin))
		if err != nil {
			t.Errorf("%s: /arch is not ELF: %v", platform, err)
			continue
		}
		flags := elfFlags(t, f, bin)
		if f.Machine != w.machine || f.Class != w.class || f.Data != w.data || f.Type != elf.ET_EXEC || flags != w.flags {
			t.Errorf("%s: ELF %v %v %v %v flags %#x, want %v %v %v ET_EXEC flags %#x", platform, f.Machine, f.Class, f.Data, f.Type, flags, w.machine, w.class, w.data, w.flags)
		}
		if f.Machine == elf.EM_ARM && (flags&armEABIMask != armEABIVersion5 || flags&armFloatABIFlags != 0) {
			t.Errorf("%s: e_flags %#x, want EABI version 5 and no float-ABI flag", platform, flags)
		}
		info, err := buildinfo.Read(bytes.NewReader(bin))
		if err != nil {
			t.Errorf("%s: no Go build info: %v", platform, err)
			continue
		}
		settings := map[string]string{}
		for _, s := range info.Settings {
			settings[s.Key] = s.Value
		}
		for k, v := range w.goenv {
			if settings[k] != v {
				t.Errorf("%s: build setting %s=%q, want %q (all: %v)", platform, k, settings[k], v, settings)
			}
		}
		if settings["GOOS"] != "linux" || settings["CGO_ENABLED"] != "0" {
			t.Errorf("%s: build settings %v, want GOOS=linux CGO_ENABLED=0", platform, settings)
		}
	}
	if n := len(o.progress.named("[linux/amd64 build 4/4] go: build")); n != len(platforms) {
		t.Errorf("the build stage ran %d times on linux/amd64, want once per target (%d)\n%s", n, len(platforms), o.progress.text())
	}
	for _, p := range platforms {
		if names := o.progress.named("[" + p + " build"); len(names) != 0 {
			t.Errorf("the build stage ran on %s: %v", p, names)
		}
	}
}

// elfFlags reads e_flags, which debug/elf's FileHeader leaves out, from the
// raw header.
func elfFlags(t *testing.T, f *elf.File, bin []byte) uint32 {
	t.Helper()
	r := bytes.NewReader(bin)
	if f.Class == elf.ELFCLASS64 {
		var h elf.Header64
		if err := binary.Read(r, f.ByteOrder, &h); err != nil {
			t.Fatal(err)
		}
		return h.Flags
	}
	var h elf.Header32
	if err := binary.Read(r, f.ByteOrder, &h); err != nil {
		t.Fatal(err)
	}
	return h.Flags
}
