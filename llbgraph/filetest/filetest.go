// Package filetest checks a spec's file test (docs/spec.md, "Tests")
// against a filesystem: a directory, in the checker step that
// `frontend test-file` runs on the target's root mounted read-only, or any
// other [FS], such as the gateway's view of a solved result.
//
// A check says what is wrong in words for the user ("expected /app to be
// owned by 1000, found 0"), or nothing when the path passes; an error is
// reserved for a filesystem that could not be read.
package filetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/moby/sys/user"
	fstypes "github.com/tonistiigi/fsutil/types"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// MaxRead bounds how much of a file or an output a test reads.
const MaxRead = 1 << 20

// FS is what a check reads: a path's entry, without following a link in
// its last element, and a file's content, following links. Paths are
// absolute and resolved inside the filesystem's own root.
type FS interface {
	// Lstat returns the entry at p; an error wrapping [fs.ErrNotExist]
	// when there is none.
	Lstat(ctx context.Context, p string) (*fstypes.Stat, error)
	// ReadFile returns at most limit bytes of the file at p.
	ReadFile(ctx context.Context, p string, limit int) ([]byte, error)
}

// Match is what a text must hold: every field given must. It is
// [spec.Match] without positions, as the checker step receives it.
type Match struct {
	// Contains is text the content must contain.
	Contains string `json:"contains,omitempty"`
	// Equals is the whole content, when set.
	Equals *string `json:"equals,omitempty"`
	// Matches is an RE2 regular expression the content must match.
	Matches string `json:"matches,omitempty"`
}

// MatchOf returns m without its positions; nil for nil.
func MatchOf(m *spec.Match) *Match {
	if !m.IsSet() {
		return nil
	}
	out := &Match{Contains: m.Contains.Value, Matches: m.Matches.Value}
	if m.Equals != nil {
		v := m.Equals.Value
		out.Equals = &v
	}
	return out
}

// Check is one file test, as the checker step receives it (JSON).
type Check struct {
	// Path is the absolute path checked.
	Path string `json:"path"`
	// Absent asks that nothing is at Path.
	Absent bool `json:"absent,omitempty"`
	// Dir asks for a directory.
	Dir bool `json:"dir,omitempty"`
	// Mode is the permission bits as chmod writes them, when set.
	Mode *uint32 `json:"mode,omitempty"`
	// User is the owner, a uid or a name in the filesystem's /etc/passwd.
	User string `json:"user,omitempty"`
	// Group is the group, a gid or a name in its /etc/group.
	Group string `json:"group,omitempty"`
	// Link is the target of the symbolic link at Path.
	Link string `json:"link,omitempty"`
	// Content is what the file at Path must hold.
	Content *Match `json:"content,omitempty"`
}

// CheckOf returns the check a spec's file test asks for.
func CheckOf(t *spec.Test) Check {
	c := Check{
		Path:    t.File.Value,
		Absent:  t.Absent.Value,
		Dir:     t.Dir.Value,
		User:    t.Owner.User,
		Group:   t.Owner.Group,
		Link:    t.Link.Value,
		Content: MatchOf(&t.Match),
	}
	if t.Mode != nil {
		m := uint32(t.Mode.Value)
		c.Mode = &m
	}
	return c
}

// Run checks c against fsys and says what is wrong, or "".
func Run(ctx context.Context, fsys FS, c Check) (string, error) {
	p := c.Path
	st, err := fsys.Lstat(ctx, p)
	if errors.Is(err, fs.ErrNotExist) {
		if c.Absent {
			return "", nil
		}
		return fmt.Sprintf("expected %s to exist, found nothing there", p), nil
	}
	if err != nil {
		return "", err
	}
	if c.Absent {
		return fmt.Sprintf("expected %s to be absent, found %s", p, describe(st)), nil
	}
	mode := os.FileMode(st.Mode)
	if c.Dir && !mode.IsDir() {
		return fmt.Sprintf("expected %s to be a directory, found %s", p, describe(st)), nil
	}
	if c.Mode != nil {
		if got := PermBits(mode); uint32(got) != *c.Mode {
			return fmt.Sprintf("expected %s to have mode %04o, found %04o", p, *c.Mode, uint32(got)), nil
		}
	}
	if c.User != "" {
		if f, err := owner(ctx, fsys, c, st); f != "" || err != nil {
			return f, err
		}
	}
	if c.Link != "" {
		if mode&os.ModeSymlink == 0 {
			return fmt.Sprintf("expected %s to be a link to %s, found %s", p, c.Link, describe(st)), nil
		}
		if st.Linkname != c.Link {
			return fmt.Sprintf("expected %s to link to %s, found a link to %s", p, c.Link, st.Linkname), nil
		}
	}
	if c.Content != nil {
		if !mode.IsRegular() {
			return fmt.Sprintf("expected %s to be a file to read, found %s", p, describe(st)), nil
		}
		dt, err := fsys.ReadFile(ctx, p, MaxRead)
		if err != nil {
			return "", err
		}
		return Compare(p, c.Content, string(dt)), nil
	}
	return "", nil
}

// owner compares the owner of st with the check's user[:group], looking
// names up in the filesystem's own /etc/passwd and /etc/group.
func owner(ctx context.Context, fsys FS, c Check, st *fstypes.Stat) (string, error) {
	uid, f, err := lookup(ctx, fsys, "/etc/passwd", c.User)
	if f != "" || err != nil {
		return f, err
	}
	want, got := c.User, strconv.FormatUint(uint64(st.Uid), 10)
	ok := uid == st.Uid
	if c.Group != "" {
		gid, f, err := lookup(ctx, fsys, "/etc/group", c.Group)
		if f != "" || err != nil {
			return f, err
		}
		want += ":" + c.Group
		got += ":" + strconv.FormatUint(uint64(st.Gid), 10)
		ok = ok && gid == st.Gid
	}
	if !ok {
		return fmt.Sprintf("expected %s to be owned by %s, found %s", c.Path, want, got), nil
	}
	return "", nil
}

// lookup returns the id of a user or a group: the number itself, or the
// id of the name in db, the filesystem's /etc/passwd or /etc/group.
func lookup(ctx context.Context, fsys FS, db, name string) (uint32, string, error) {
	if n, err := strconv.ParseUint(name, 10, 32); err == nil {
		return uint32(n), "", nil
	}
	dt, err := fsys.ReadFile(ctx, db, MaxRead)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Sprintf("the owner %s is a name, and the image has no %s to look it up in", spec.Quote(name), db), nil
	}
	if err != nil {
		return 0, "", err
	}
	ids := []int{}
	if db == "/etc/group" {
		groups, err := user.ParseGroupFilter(bytes.NewReader(dt), func(g user.Group) bool { return g.Name == name })
		if err != nil {
			return 0, "", fmt.Errorf("reading %s: %w", db, err)
		}
		for _, g := range groups {
			ids = append(ids, g.Gid)
		}
	} else {
		users, err := user.ParsePasswdFilter(bytes.NewReader(dt), func(u user.User) bool { return u.Name == name })
		if err != nil {
			return 0, "", fmt.Errorf("reading %s: %w", db, err)
		}
		for _, u := range users {
			ids = append(ids, u.Uid)
		}
	}
	if len(ids) == 0 || ids[0] < 0 {
		return 0, fmt.Sprintf("the image's %s has no %s", db, spec.Quote(name)), nil
	}
	return uint32(ids[0]), "", nil
}

// PermBits returns a Go file mode's permission bits as chmod writes them.
func PermBits(m os.FileMode) os.FileMode {
	p := m.Perm()
	if m&os.ModeSetuid != 0 {
		p |= 0o4000
	}
	if m&os.ModeSetgid != 0 {
		p |= 0o2000
	}
	if m&os.ModeSticky != 0 {
		p |= 0o1000
	}
	return p
}

// describe says what a path is.
func describe(st *fstypes.Stat) string {
	m := os.FileMode(st.Mode)
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeSymlink != 0:
		return "a link to " + st.Linkname
	case m.IsRegular():
		return fmt.Sprintf("a file of %d bytes", st.Size)
	}
	return "a " + m.Type().String() + " file"
}

// Compare checks text against m and says what is wrong, or "". what names
// the text: a path, "the standard output".
func Compare(what string, m *Match, text string) string {
	if m == nil {
		return ""
	}
	if m.Equals != nil && text != *m.Equals {
		return fmt.Sprintf("expected %s to equal %s, found %s", what, spec.Quote(*m.Equals), strconv.Quote(Shorten(text)))
	}
	if m.Contains != "" && !strings.Contains(text, m.Contains) {
		return fmt.Sprintf("expected %s to contain %s, found %s", what, spec.Quote(m.Contains), strconv.Quote(Shorten(text)))
	}
	if m.Matches != "" {
		re, err := regexp.Compile(m.Matches) // spec.Load checked it
		if err != nil || !re.MatchString(text) {
			return fmt.Sprintf("expected %s to match %s, found %s", what, spec.Quote(m.Matches), strconv.Quote(Shorten(text)))
		}
	}
	return ""
}

// shownBytes is how much of a text a message shows.
const shownBytes = 300

// Shorten cuts a text shown in a message to its first few hundred bytes;
// quote it with strconv.Quote, which escapes control characters and keeps
// them all (spec.Quote shows fewer).
func Shorten(s string) string {
	if len(s) <= shownBytes {
		return s
	}
	return s[:shownBytes] + "..."
}

// Tail cuts a command's output shown in a message to its last few hundred
// bytes, where the error usually is (a traceback's last line).
func Tail(s string) string {
	if len(s) <= shownBytes {
		return s
	}
	return "..." + s[len(s)-shownBytes:]
}
