// Command archive writes a release archive of the frontend binary,
// reproducibly: the same files and time give the same bytes on any machine
// (Dockerfile.frontend's archive stage runs it for `make release`).
//
//	go run ./hack/archive -o OUT.tar.gz|OUT.zip -mtime SECONDS -C DIR FILE...
//
// A .tar.gz is a gzip'd ustar tar, a .zip a deflated zip. Every entry is a
// regular file of DIR at the archive's root, in the order given, with its
// own permission bits, owner 0:0 and the time -mtime (SOURCE_DATE_EPOCH);
// the gzip header carries no name or time.
package main

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	out := flag.String("o", "", "the archive to write: NAME.tar.gz or NAME.zip")
	mtime := flag.Int64("mtime", 0, "every entry's time, in seconds since 1970 (SOURCE_DATE_EPOCH)")
	dir := flag.String("C", ".", "the directory the files are in")
	flag.Parse()
	if err := write(*out, *dir, flag.Args(), time.Unix(*mtime, 0).UTC()); err != nil {
		fmt.Fprintln(os.Stderr, "archive:", err)
		os.Exit(1)
	}
}

// write writes the archive out of files in dir.
func write(out, dir string, files []string, mtime time.Time) (err error) {
	if len(files) == 0 {
		return errors.New("no files to archive")
	}
	if !strings.HasSuffix(out, ".tar.gz") && !strings.HasSuffix(out, ".zip") {
		return fmt.Errorf("%s: want a name ending in .tar.gz or .zip", out)
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	var a archiver = newZip(f, mtime)
	if strings.HasSuffix(out, ".tar.gz") {
		a = newTarGz(f, mtime)
	}
	for _, name := range files {
		if err := addFile(a, dir, name); err != nil {
			return err
		}
	}
	return a.close()
}

// An archiver writes entries of one archive format.
type archiver interface {
	add(name string, fi os.FileInfo, r io.Reader) error
	close() error
}

// addFile adds dir/name to the archive as name.
func addFile(a archiver, dir, name string) error {
	r, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return err
	}
	defer r.Close()
	fi, err := r.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", name)
	}
	return a.add(filepath.ToSlash(name), fi, r)
}

type tarGz struct {
	gz    *gzip.Writer
	tw    *tar.Writer
	mtime time.Time
}

func newTarGz(w io.Writer, mtime time.Time) *tarGz {
	gz, _ := gzip.NewWriterLevel(w, gzip.BestCompression) // a valid level: no error
	return &tarGz{gz: gz, tw: tar.NewWriter(gz), mtime: mtime}
}

func (a *tarGz) add(name string, fi os.FileInfo, r io.Reader) error {
	h := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: fi.Size(), Mode: int64(fi.Mode().Perm()), ModTime: a.mtime, Format: tar.FormatUSTAR}
	if err := a.tw.WriteHeader(h); err != nil {
		return err
	}
	_, err := io.Copy(a.tw, r)
	return err
}

func (a *tarGz) close() error { return errors.Join(a.tw.Close(), a.gz.Close()) }

type zipArchive struct {
	zw    *zip.Writer
	mtime time.Time
}

func newZip(w io.Writer, mtime time.Time) *zipArchive {
	return &zipArchive{zw: zip.NewWriter(w), mtime: mtime}
}

func (a *zipArchive) add(name string, fi os.FileInfo, r io.Reader) error {
	h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: a.mtime}
	h.SetMode(fi.Mode().Perm())
	w, err := a.zw.CreateHeader(h)
	if err != nil {
		return err
	}
	_, err = io.Copy(w, r)
	return err
}

func (a *zipArchive) close() error { return a.zw.Close() }
