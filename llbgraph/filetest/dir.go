package filetest

import (
	"context"
	"errors"
	"io"
	"os"
	"path"
	"path/filepath"
	"syscall"

	"github.com/containerd/continuity/fs"
	"github.com/tonistiigi/fsutil"
	fstypes "github.com/tonistiigi/fsutil/types"
)

// Dir is a directory read as the root of an image's filesystem: a link,
// absolute or relative, resolves inside it, as it would in a container
// of the image, never outside (continuity's RootPath, which BuildKit's
// own file reads use).
type Dir string

// Lstat returns the entry at p, following links in its parent only.
func (d Dir) Lstat(_ context.Context, p string) (*fstypes.Stat, error) {
	p = path.Clean("/" + p)
	if p == "/" {
		return fsutil.Stat(string(d))
	}
	parent, err := fs.RootPath(string(d), path.Dir(p))
	if err != nil {
		return nil, err
	}
	st, err := fsutil.Stat(filepath.Join(parent, path.Base(p)))
	if errors.Is(err, syscall.ENOTDIR) { // a file where a directory would be
		return nil, &os.PathError{Op: "lstat", Path: p, Err: os.ErrNotExist}
	}
	return st, err
}

// ReadFile returns at most limit bytes of the file at p, following links.
func (d Dir) ReadFile(_ context.Context, p string, limit int) ([]byte, error) {
	full, err := fs.RootPath(string(d), path.Clean("/"+p))
	if err != nil {
		return nil, err
	}
	f, err := os.Open(full)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, int64(limit)))
}
