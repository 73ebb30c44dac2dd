package ocilayout

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

type entry struct {
	name, body string
	typ        byte
	mode       int64
	uid        int
}

func tarOf(t *testing.T, entries []entry, compress bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	var tw *tar.Writer
	var zw *gzip.Writer
	if compress {
		zw = gzip.NewWriter(&buf)
		tw = tar.NewWriter(zw)
	} else {
		tw = tar.NewWriter(&buf)
	}
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: e.mode, Uid: e.uid, Gid: e.uid}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if h.Typeflag == tar.TypeSymlink {
			h.Linkname = e.body
		} else if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// layoutTar writes an OCI layout tar of one image made of layers, nested
// in an index the way BuildKit's oci exporter writes multi-platform images,
// with an attestation manifest beside it.
func layoutTar(t *testing.T, layers ...[]byte) []byte {
	t.Helper()
	return tarOf(t, layoutEntries(t, layers...), false)
}

// layoutEntries are the files of the layout layoutTar writes.
func layoutEntries(t *testing.T, layers ...[]byte) []entry {
	t.Helper()
	blobs := map[digest.Digest][]byte{}
	add := func(mt string, dt []byte) ocispecs.Descriptor {
		d := digest.FromBytes(dt)
		blobs[d] = dt
		return ocispecs.Descriptor{MediaType: mt, Digest: d, Size: int64(len(dt))}
	}
	marshal := func(v any) []byte {
		dt, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return dt
	}
	var img dockerspec.DockerOCIImage
	img.OS, img.Architecture, img.Variant = "linux", "amd64", "v2"
	img.Config.User = "app"
	m := ocispecs.Manifest{MediaType: ocispecs.MediaTypeImageManifest, Config: add(ocispecs.MediaTypeImageConfig, marshal(img))}
	m.SchemaVersion = 2
	for _, l := range layers {
		m.Layers = append(m.Layers, add(ocispecs.MediaTypeImageLayerGzip, l))
	}
	att := ocispecs.Manifest{MediaType: ocispecs.MediaTypeImageManifest, Config: add("application/vnd.oci.empty.v1+json", []byte("{}"))}
	att.SchemaVersion = 2
	att.Layers = []ocispecs.Descriptor{add("application/vnd.in-toto+json", []byte(`{"predicateType":"x"}`))}
	inner := ocispecs.Index{MediaType: ocispecs.MediaTypeImageIndex, Manifests: []ocispecs.Descriptor{
		add(ocispecs.MediaTypeImageManifest, marshal(m)), add(ocispecs.MediaTypeImageManifest, marshal(att)),
	}}
	inner.SchemaVersion = 2
	outer := ocispecs.Index{Manifests: []ocispecs.Descriptor{add(ocispecs.MediaTypeImageIndex, marshal(inner))}}
	outer.SchemaVersion = 2
	var entries []entry
	entries = append(entries, entry{name: "index.json", body: string(marshal(outer))}, entry{name: "oci-layout", body: `{"imageLayoutVersion":"1.0.0"}`})
	for _, d := range slices.Sorted(maps.Keys(blobs)) {
		entries = append(entries, entry{name: "blobs/sha256/" + d.Encoded(), body: string(blobs[d])})
	}
	return entries
}

// Whiteouts and opaque directories hide what lower layers had; owners,
// modes and symlinks survive; attestation manifests are not images.
func TestUnpackAppliesWhiteouts(t *testing.T) {
	lower := tarOf(t, []entry{
		{name: "etc/", typ: tar.TypeDir, mode: 0o755},
		{name: "etc/passwd", body: "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"},
		{name: "etc/group", body: "root:x:0:\napp:x:1000:\nextra:x:2000:app\n"},
		{name: "opq/", typ: tar.TypeDir, mode: 0o755},
		{name: "opq/old", body: "old"},
		{name: "gone", body: "gone"},
		{name: "kept", body: "kept", mode: 0o4750, uid: 1000},
	}, true)
	upper := tarOf(t, []entry{
		{name: "opq/", typ: tar.TypeDir, mode: 0o755},
		{name: "opq/.wh..wh..opq", body: ""},
		{name: "opq/new", body: "new"},
		{name: ".wh.gone", body: ""},
		{name: "link", typ: tar.TypeSymlink, body: "/kept"},
	}, true)
	ctx := context.Background()
	tarball := layoutTar(t, lower, upper)
	layout, err := New(bytes.NewReader(tarball), int64(len(tarball)))
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := layout.Images(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 1 || imgs[0].Platform != "linux/amd64/v2" {
		t.Fatalf("images %+v, want one linux/amd64/v2", imgs)
	}
	all, err := layout.Manifests(ctx)
	if err != nil || len(all) != 2 {
		t.Fatalf("manifests %v %v, want the image's and the attestation's", all, err)
	}
	dir := t.TempDir()
	if err := layout.Unpack(ctx, imgs[0], dir); err != nil {
		t.Fatal(err)
	}
	files, err := Files(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{"/opq/old", "/gone", "/opq/.wh..wh..opq", "/.wh.gone"} {
		if _, ok := files[gone]; ok {
			t.Errorf("%s is in the unpacked image", gone)
		}
	}
	if f := files["/opq/new"]; f == nil || string(f.Data) != "new" {
		t.Errorf("/opq/new = %+v", f)
	}
	if f := files["/kept"]; f == nil || f.Mode != 0o4750 || f.UID != 1000 || f.Typeflag != tar.TypeReg {
		t.Errorf("/kept = %+v, want mode 4750 owned by 1000", f)
	}
	if f := files["/link"]; f == nil || f.Typeflag != tar.TypeSymlink || string(f.Data) != "/kept" {
		t.Errorf("/link = %+v", f)
	}
	u, err := ExecUser(dir, imgs[0].Config.Config.User)
	if err != nil {
		t.Fatal(err)
	}
	if u.Uid != 1000 || u.Gid != 1000 || !slices.Equal(u.Sgids, []int{2000}) || u.Home != "/home/app" {
		t.Errorf("user app = %+v", u)
	}
	if _, err := ExecUser(dir, "nobody-here"); err == nil {
		t.Errorf("an unknown user name resolved")
	}
	if u, err := ExecUser(dir, "4242:7"); err != nil || u.Uid != 4242 || u.Gid != 7 {
		t.Errorf("numeric user = %+v %v", u, err)
	}
}

// The user files are read inside the image: a symlink to the host's
// /etc/passwd does not resolve there.
func TestExecUserStaysInRootfs(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "etc", "passwd")); err != nil {
		t.Fatal(err)
	}
	if _, err := ExecUser(dir, "root"); err == nil {
		t.Errorf("the image's /etc/passwd symlink reached the host's")
	}
}

func TestReadRejectsNonLayouts(t *testing.T) {
	tarball := tarOf(t, []entry{{name: "x", body: "y"}}, false)
	if _, err := New(bytes.NewReader(tarball), int64(len(tarball))); err == nil {
		t.Errorf("a tar with no index.json was read as a layout")
	}
}

// countingReaderAt counts the bytes read through it.
type countingReaderAt struct {
	r io.ReaderAt
	n atomic.Int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}

// Opening a layout reads the tar's headers and index.json, listing its
// images reads manifests and configs: a layer is read only when it is
// unpacked, and then as a stream.
func TestLayersStayInTheTar(t *testing.T) {
	ctx := context.Background()
	// Random bytes, so that the gzip layer is as big as the file.
	big := make([]byte, 2<<20)
	rand.NewChaCha8([32]byte{}).Read(big)
	layer := tarOf(t, []entry{{name: "big", body: string(big)}}, true)
	tarball := layoutTar(t, layer)
	r := &countingReaderAt{r: bytes.NewReader(tarball)}
	l, err := New(r, int64(len(tarball)))
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := l.Images(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := r.n.Load(); n > 64<<10 {
		t.Errorf("opening the layout and listing its images read %d bytes of a %d-byte tar", n, len(tarball))
	}
	dir := t.TempDir()
	if err := l.Unpack(ctx, imgs[0], dir); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "big")); err != nil || !bytes.Equal(got, big) {
		t.Errorf("the unpacked file differs (%v)", err)
	}
}

// A layer whose content does not match its digest fails the unpack and
// the layer's stream, even when only its last byte differs.
func TestCorruptLayerFails(t *testing.T) {
	ctx := context.Background()
	layer := tarOf(t, []entry{{name: "f", body: "content"}}, true)
	entries := layoutEntries(t, layer)
	name := "blobs/sha256/" + digest.FromBytes(layer).Encoded()
	for i := range entries {
		if entries[i].name == name {
			b := []byte(entries[i].body)
			b[len(b)-1] ^= 0xff
			entries[i].body = string(b)
		}
	}
	tarball := tarOf(t, entries, false)
	l, err := New(bytes.NewReader(tarball), int64(len(tarball)))
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := l.Images(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Unpack(ctx, imgs[0], t.TempDir()); err == nil || !strings.Contains(err.Error(), "does not match its digest") {
		t.Errorf("unpacking a corrupt layer: %v", err)
	}
	rc, err := l.Layer(ctx, imgs[0].Manifest.Layers[0])
	if err == nil {
		_, err = io.ReadAll(rc)
		rc.Close()
	}
	if err == nil {
		t.Errorf("a corrupt layer read without an error")
	}
	d := imgs[0].Manifest.Layers[0]
	d.Size++
	if _, err := l.ReaderAt(ctx, d); err == nil || !strings.Contains(err.Error(), "its descriptor says") {
		t.Errorf("a descriptor of the wrong size: %v", err)
	}
}

// The same layout reads alike as a tar file and as a directory
// (tar=false).
func TestOpenTarFileAndDirectory(t *testing.T) {
	ctx := context.Background()
	layer := tarOf(t, []entry{{name: "f", body: "content"}}, true)
	entries := layoutEntries(t, layer)
	root := t.TempDir()
	dir := filepath.Join(root, "layout")
	for _, e := range entries {
		p := filepath.Join(dir, e.name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(e.body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(root, "layout.tar")
	if err := os.WriteFile(file, tarOf(t, entries, false), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{file, dir} {
		l, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		imgs, err := l.Images(ctx)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out := t.TempDir()
		if err := l.Unpack(ctx, imgs[0], out); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if got, err := os.ReadFile(filepath.Join(out, "f")); err != nil || string(got) != "content" {
			t.Errorf("%s: f = %q %v", p, got, err)
		}
		missing := imgs[0].Manifest.Layers[0]
		missing.Digest = digest.FromString("absent")
		if _, err := l.Open(ctx, missing); err == nil || !strings.Contains(err.Error(), "not in the layout") {
			t.Errorf("%s: an absent blob: %v", p, err)
		}
		if err := l.Close(); err != nil {
			t.Error(err)
		}
	}
	if _, err := Open(filepath.Join(root, "none")); err == nil {
		t.Errorf("a missing path opened")
	}
}
