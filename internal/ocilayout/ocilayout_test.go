package ocilayout

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
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
	return tarOf(t, entries, false)
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
	layout, err := Read(bytes.NewReader(layoutTar(t, lower, upper)))
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := layout.Images()
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 1 || imgs[0].Platform != "linux/amd64/v2" {
		t.Fatalf("images %+v, want one linux/amd64/v2", imgs)
	}
	all, err := layout.Manifests()
	if err != nil || len(all) != 2 {
		t.Fatalf("manifests %v %v, want the image's and the attestation's", all, err)
	}
	dir := t.TempDir()
	if err := layout.Unpack(imgs[0], dir); err != nil {
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
	if _, err := Read(bytes.NewReader(tarOf(t, []entry{{name: "x", body: "y"}}, false))); err == nil {
		t.Errorf("a tar with no index.json was read as a layout")
	}
}
