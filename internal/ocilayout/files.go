package ocilayout

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"syscall"

	"github.com/moby/sys/user"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/filetest"
)

// File is one file of an unpacked image, as a layer's tar header would
// describe it.
type File struct {
	// Mode holds the permission bits with setuid, setgid and sticky, as in
	// a tar header (0o7777 at most).
	Mode int64
	// UID and GID own the file.
	UID, GID int
	// Data is a regular file's content, or a symlink's target.
	Data []byte
	// Typeflag is the tar type: tar.TypeReg, tar.TypeDir, tar.TypeSymlink...
	Typeflag byte
}

// Files reads the tree under dir into a map keyed by absolute path inside
// the image ("/etc/passwd"); regular files are read whole. Symlinks are not
// followed.
func Files(dir string) (map[string]*File, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	out := map[string]*File{}
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		fi, err := root.Lstat(p)
		if err != nil {
			return err
		}
		f := &File{Mode: tarMode(fi.Mode()), Typeflag: typeflag(fi.Mode())}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			f.UID, f.GID = int(st.Uid), int(st.Gid)
		}
		switch f.Typeflag {
		case tar.TypeReg:
			r, err := root.Open(p)
			if err != nil {
				return err
			}
			f.Data, err = io.ReadAll(r)
			r.Close()
			if err != nil {
				return err
			}
		case tar.TypeSymlink:
			target, err := root.Readlink(p)
			if err != nil {
				return err
			}
			f.Data = []byte(target)
		}
		out["/"+path.Clean(p)] = f
		return nil
	})
	return out, err
}

func tarMode(m fs.FileMode) int64 { return int64(filetest.PermBits(m)) }

func typeflag(m fs.FileMode) byte {
	switch {
	case m.IsDir():
		return tar.TypeDir
	case m&fs.ModeSymlink != 0:
		return tar.TypeSymlink
	case m&fs.ModeNamedPipe != 0:
		return tar.TypeFifo
	case m&fs.ModeDevice != 0 && m&fs.ModeCharDevice != 0:
		return tar.TypeChar
	case m&fs.ModeDevice != 0:
		return tar.TypeBlock
	default:
		return tar.TypeReg
	}
}

// ExecUser resolves an image's USER (user[:group], names or ids) to ids
// through the /etc/passwd and /etc/group of the unpacked image at rootfs,
// as a container runtime does: a numeric user absent from /etc/passwd is
// allowed, a name absent from it is an error. The files are opened inside
// rootfs, so symlinks in the image cannot point them at the host's.
func ExecUser(rootfs, userSpec string) (*user.ExecUser, error) {
	root, err := os.OpenRoot(rootfs)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	open := func(name string) (io.Reader, func(), error) {
		f, err := root.Open(name)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, func() {}, nil
		}
		if err != nil {
			return nil, nil, err
		}
		return f, func() { f.Close() }, nil
	}
	passwd, closePasswd, err := open("etc/passwd")
	if err != nil {
		return nil, err
	}
	defer closePasswd()
	group, closeGroup, err := open("etc/group")
	if err != nil {
		return nil, err
	}
	defer closeGroup()
	u, err := user.GetExecUser(userSpec, &user.ExecUser{Home: "/"}, passwd, group)
	if err != nil {
		return nil, fmt.Errorf("user %q of the image: %w", userSpec, err)
	}
	return u, nil
}
