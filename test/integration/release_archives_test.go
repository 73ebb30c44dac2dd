//go:build integration

package integration

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/macho"
	"debug/pe"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// What TestRelease checks of the frontend command's archives, which make
// release writes to dist/X.Y.Z beside the image it pushes.

// archivePlatforms are the platforms TestRelease archives: one of each
// operating system's (a zip for Windows, a Mach-O for arm64 macOS, ELF
// for amd64 Linux; TestReproducibleRelease archives arm64 Linux). Each archive compiles the whole
// command from nothing for its platform, minutes apiece on the CI
// machine, so the test names these with ARCHIVE_PLATFORMS rather than
// take make release's default of ten.
var archivePlatforms = func() map[string]binaryWant {
	m := map[string]binaryWant{
		"darwin/arm64":  {goenv: map[string]string{"GOOS": "darwin", "GOARCH": "arm64"}, macho: macho.CpuArm64},
		"windows/amd64": {goenv: map[string]string{"GOOS": "windows", "GOARCH": "amd64"}, pe: pe.IMAGE_FILE_MACHINE_AMD64},
	}
	w := releasePlatforms["linux/amd64"]
	m["linux/amd64"] = binaryWant{goenv: w.goenv, elf: &w}
	return m
}()

// archivePlatformsArg is ARCHIVE_PLATFORMS for archivePlatforms.
func archivePlatformsArg() string {
	return "ARCHIVE_PLATFORMS=" + strings.Join(slices.Sorted(maps.Keys(archivePlatforms)), ",")
}

// binaryWant is what one platform's binary must be: its Go build settings
// and one of an ELF header, a Mach-O CPU or a PE machine.
type binaryWant struct {
	goenv map[string]string
	elf   *elfWant
	macho macho.Cpu
	pe    uint16
}

// archiveName is the archive make release writes for platform.
func archiveName(platform string) string {
	parts := strings.Split(platform, "/")
	name := "ohlcv-build-frontend_" + strings.TrimPrefix(releaseVersion, "v") + "_" + parts[0] + "_" + strings.Join(parts[1:], "")
	if parts[0] == "windows" {
		return name + ".zip"
	}
	return name + ".tar.gz"
}

// checkArchives checks dist, where make release wrote the archives: one
// per platform and SHA256SUMS, nothing else; the sums match; each archive
// holds its platform's binary alone, executable, with the commit's time;
// each binary is for its platform by its header and Go build settings,
// built without -tags gatewayonly (the full command); and the linux/amd64
// one, the only one executed, prints its version, checks a spec in a
// directory far from any checkout, and prints the schema.
func checkArchives(t *testing.T, dist string, co checkout) {
	t.Helper()
	var archives []string
	for p := range archivePlatforms {
		archives = append(archives, archiveName(p))
	}
	slices.Sort(archives)
	want := append([]string{"SHA256SUMS"}, archives...)
	entries, err := os.ReadDir(dist)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if slices.Sort(want); !slices.Equal(got, want) {
		t.Fatalf("%s holds %q, want %q", dist, got, want)
	}
	sums := readSums(t, filepath.Join(dist, "SHA256SUMS"))
	if keys := slices.Sorted(maps.Keys(sums)); !slices.Equal(keys, archives) {
		t.Errorf("SHA256SUMS lists %q, want every archive", keys)
	}
	for platform, w := range archivePlatforms {
		t.Run("archive "+platform, func(t *testing.T) {
			name := archiveName(platform)
			data, err := os.ReadFile(filepath.Join(dist, name))
			if err != nil {
				t.Fatal(err)
			}
			if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != sums[name] {
				t.Errorf("sha256 %x, SHA256SUMS says %s", sum, sums[name])
			}
			exe := "frontend"
			if w.pe != 0 {
				exe += ".exe"
			}
			bin := archivedBinary(t, name, data, exe, co)
			switch {
			case w.elf != nil:
				checkELF(t, bin, *w.elf)
			case w.macho != 0:
				f, err := macho.NewFile(bytes.NewReader(bin))
				if err != nil || f.Cpu != w.macho || f.Type != macho.TypeExec {
					t.Errorf("Mach-O %v, want an executable for %v (%v)", f, w.macho, err)
				}
			default:
				f, err := pe.NewFile(bytes.NewReader(bin))
				if err != nil || f.Machine != w.pe || f.Characteristics&pe.IMAGE_FILE_EXECUTABLE_IMAGE == 0 {
					t.Errorf("PE %v, want an executable for machine %#x (%v)", f, w.pe, err)
				}
			}
			checkGoBinary(t, bin, w.goenv, "", co.head)
			if platform == "linux/amd64" {
				runArchivedFrontend(t, bin, co)
			}
		})
	}
}

// readSums reads a sha256sum file: "HEX  NAME" lines.
func readSums(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok || len(sum) != 64 {
			t.Fatalf("%s: line %q is not HEX  NAME", path, sc.Text())
		}
		sums[name] = sum
	}
	return sums
}

// archivedBinary returns exe, the one file of an archive: a regular file,
// mode 0755, with the commit's time.
func archivedBinary(t *testing.T, name string, data []byte, exe string, co checkout) []byte {
	t.Helper()
	type file struct {
		name string
		mode os.FileMode
		data []byte
	}
	var files []file
	if strings.HasSuffix(name, ".zip") {
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range zr.File {
			if !f.Modified.Equal(co.epoch) {
				t.Errorf("%s has time %v, want the commit's %v", f.Name, f.Modified, co.epoch)
			}
			r, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, file{f.Name, f.Mode(), b})
		}
	} else {
		walkTarGz(t, bytes.NewReader(data), func(h *tar.Header, r io.Reader) {
			if !h.ModTime.Equal(co.epoch) || h.Uid != 0 || h.Gid != 0 {
				t.Errorf("%s has time %v and owner %d:%d, want the commit's %v and 0:0", h.Name, h.ModTime, h.Uid, h.Gid, co.epoch)
			}
			b, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, file{h.Name, h.FileInfo().Mode(), b})
		})
	}
	if len(files) != 1 || files[0].name != exe || files[0].mode != 0o755 {
		t.Fatalf("%s holds %v, want %s alone, mode 0755", name, files, exe)
	}
	return files[0].data
}

// runArchivedFrontend runs the linux/amd64 archive's binary, as someone
// with no checkout who downloaded it.
func runArchivedFrontend(t *testing.T, bin []byte, co checkout) {
	t.Helper()
	frontend := filepath.Join(t.TempDir(), "frontend")
	if err := os.WriteFile(frontend, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	info, err := buildinfo.Read(bytes.NewReader(bin))
	if err != nil {
		t.Fatal(err)
	}
	got, err := exec.Command(frontend, "version").CombinedOutput()
	if want := fmt.Sprintf("ohlcv-build frontend %s (commit %s, %s)\n", releaseVersion, co.head, info.GoVersion); err != nil || string(got) != want {
		t.Errorf("frontend version: %v %q, want %q", err, got, want)
	}
	checkWithoutCheckout(t, frontend)
	schema, err := exec.Command(frontend, "schema").Output()
	var doc map[string]any
	if err != nil || json.Unmarshal(schema, &doc) != nil || doc["$schema"] == nil {
		t.Errorf("frontend schema: %v, not a JSON Schema:\n%.300s", err, schema)
	}
}
