package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// An archive holds the files at its root with their modes, owner 0:0 and
// the given time, and is the same bytes when written again from files
// written at another time.
func TestArchiveIsReproducible(t *testing.T) {
	mtime := time.Unix(1700000000, 0).UTC()
	for _, name := range []string{"a.tar.gz", "a.zip"} {
		t.Run(name, func(t *testing.T) {
			var archives [][]byte
			for i := range 2 {
				dir := t.TempDir()
				if err := os.WriteFile(filepath.Join(dir, "frontend"), []byte("\x7fELF binary"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Chtimes(filepath.Join(dir, "frontend"), time.Now(), time.Now().Add(time.Duration(i)*time.Hour)); err != nil {
					t.Fatal(err)
				}
				out := filepath.Join(t.TempDir(), name)
				if err := write(out, dir, []string{"frontend"}, mtime); err != nil {
					t.Fatal(err)
				}
				b, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				archives = append(archives, b)
			}
			if !bytes.Equal(archives[0], archives[1]) {
				t.Errorf("two archives of the same file differ")
			}
			entries := readArchive(t, name, archives[0])
			if len(entries) != 1 {
				t.Fatalf("%d entries, want 1", len(entries))
			}
			e := entries[0]
			if e.name != "frontend" || e.mode != 0o755 || !e.mtime.Equal(mtime) || e.data != "\x7fELF binary" {
				t.Errorf("entry %+v, want frontend, 0755, %v, the file's bytes", e, mtime)
			}
		})
	}
}

func TestArchiveRefusesOtherNames(t *testing.T) {
	if err := write(filepath.Join(t.TempDir(), "a.tgz"), ".", []string{"main.go"}, time.Unix(0, 0)); err == nil {
		t.Error("a.tgz was written")
	}
}

type entry struct {
	name  string
	mode  os.FileMode
	mtime time.Time
	data  string
}

func readArchive(t *testing.T, name string, b []byte) []entry {
	t.Helper()
	var out []entry
	if filepath.Ext(name) == ".zip" {
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range zr.File {
			r, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(r)
			out = append(out, entry{f.Name, f.Mode().Perm(), f.Modified.UTC(), string(data)})
		}
		return out
	}
	gz, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if gz.Name != "" || !gz.ModTime.IsZero() {
		t.Errorf("gzip header has name %q and time %v", gz.Name, gz.ModTime)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" {
			t.Errorf("%s owned by %d:%d %q", h.Name, h.Uid, h.Gid, h.Uname)
		}
		data, _ := io.ReadAll(tr)
		out = append(out, entry{h.Name, h.FileInfo().Mode().Perm(), h.ModTime.UTC(), string(data)})
	}
}
