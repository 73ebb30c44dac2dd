package filetest

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Compare says what was expected and what was found, for each kind of
// match, and nothing when the text passes.
func TestCompare(t *testing.T) {
	eq := "hello\n"
	for _, c := range []struct {
		m    Match
		text string
		want string
	}{
		{Match{Equals: &eq}, "hello\n", ""},
		{Match{Equals: &eq}, "bye\n", `expected the output to equal "hello\n", found "bye\n"`},
		{Match{Contains: "ell"}, "hello", ""},
		{Match{Contains: "bye"}, "hello", `expected the output to contain "bye", found "hello"`},
		{Match{Matches: `^\d+$`}, "1000", ""},
		{Match{Matches: `^\d+$`}, "root", `expected the output to match "^\\d+$", found "root"`},
	} {
		if got := Compare("the output", &c.m, c.text); got != c.want {
			t.Errorf("Compare(%+v, %q) = %q, want %q", c.m, c.text, got, c.want)
		}
	}
	if got := Compare("x", &Match{Contains: "z"}, strings.Repeat("a", 1000)); !strings.Contains(got, "...") || len(got) > 400 {
		t.Errorf("a long text is not shortened: %d bytes", len(got))
	}
}

// PermBits writes Go's setuid, setgid and sticky bits as chmod does.
func TestPermBits(t *testing.T) {
	if got := PermBits(0o755 | os.ModeSetuid | os.ModeSticky | os.ModeDir); got != 0o5755 {
		t.Errorf("PermBits = %04o, want 5755", uint32(got))
	}
}

// root makes a small image filesystem: /etc/passwd and /etc/group naming
// the current user, a file, a directory, links relative and absolute (an
// absolute link resolves inside the root, as in a container), and a link
// that climbs out of the root.
func root(t *testing.T) Dir {
	t.Helper()
	d := t.TempDir()
	uid, gid := os.Getuid(), os.Getgid()
	files := map[string]string{
		"etc/passwd":      "root:x:0:0:root:/root:/bin/sh\napp:x:" + itoa(uid) + ":" + itoa(gid) + "::/home/app:/bin/sh\n",
		"etc/group":       "root:x:0:\napp:x:" + itoa(gid) + ":\n",
		"app/config.toml": "port = 8080\n",
		"usr/bin/tool":    "#!/bin/sh\n",
	}
	for name, content := range files {
		p := filepath.Join(d, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(d, "usr/bin/tool"), 0o755|os.ModeSetuid); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{
		"app/current": "/app",            // absolute: the root's /app, not the host's
		"bin":         "usr/bin",         // relative, as in merged /usr
		"app/escape":  "../../../../etc", // climbs out: stays at the root's /etc
	} {
		if err := os.Symlink(target, filepath.Join(d, link)); err != nil {
			t.Fatal(err)
		}
	}
	return Dir(d)
}

func itoa(n int) string { return strconv.Itoa(n) }

// Run passes what holds and says what does not, for each kind of check,
// with links resolved inside the root.
func TestRunDir(t *testing.T) {
	d := root(t)
	mode := func(m uint32) *uint32 { return &m }
	eq := "port = 8080\n"
	for _, c := range []struct {
		name  string
		check Check
		want  string // "" passes; otherwise a part of the failure
	}{
		{"exists", Check{Path: "/app/config.toml"}, ""},
		{"missing", Check{Path: "/app/missing"}, "expected /app/missing to exist, found nothing there"},
		{"missing under a file", Check{Path: "/app/config.toml/x"}, "found nothing there"},
		{"absent", Check{Path: "/app/missing", Absent: true}, ""},
		{"not absent", Check{Path: "/app", Absent: true}, "expected /app to be absent, found a directory"},
		{"dir", Check{Path: "/app", Dir: true}, ""},
		{"not a dir", Check{Path: "/app/config.toml", Dir: true}, "found a file of 12 bytes"},
		{"mode", Check{Path: "/usr/bin/tool", Mode: mode(0o4755)}, ""},
		{"wrong mode", Check{Path: "/app/config.toml", Mode: mode(0o600)}, "expected /app/config.toml to have mode 0600, found 0644"},
		{"owner by number", Check{Path: "/app/config.toml", User: itoa(os.Getuid()), Group: itoa(os.Getgid())}, ""},
		{"owner by name", Check{Path: "/app/config.toml", User: "app", Group: "app"}, ""},
		{"unknown owner", Check{Path: "/app/config.toml", User: "nobody"}, `the image's /etc/passwd has no "nobody"`},
		{"wrong owner", Check{Path: "/app/config.toml", User: itoa(os.Getuid() + 1)}, "to be owned by"},
		{"link", Check{Path: "/app/current", Link: "/app"}, ""},
		{"wrong link", Check{Path: "/app/current", Link: "/srv"}, "expected /app/current to link to /srv, found a link to /app"},
		{"not a link", Check{Path: "/app/config.toml", Link: "/srv"}, "found a file"},
		{"through a relative link", Check{Path: "/bin/tool", Mode: mode(0o4755)}, ""},
		{"through an absolute link", Check{Path: "/app/current/config.toml", Content: &Match{Equals: &eq}}, ""},
		{"a link out of the root", Check{Path: "/app/escape/passwd", Content: &Match{Contains: "app:x:"}}, ""},
		{"content", Check{Path: "/app/config.toml", Content: &Match{Matches: `(?m)^port = \d+$`}}, ""},
		{"wrong content", Check{Path: "/app/config.toml", Content: &Match{Contains: "9090"}}, `expected /app/config.toml to contain "9090"`},
		{"content of a dir", Check{Path: "/app", Content: &Match{Contains: "x"}}, "to be a file to read, found a directory"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Run(context.Background(), d, c.check)
			if err != nil {
				t.Fatal(err)
			}
			if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
				t.Errorf("Run(%+v) = %q, want %q", c.check, got, c.want)
			}
		})
	}
}

// A name is looked up in the image's own files, and a missing file says so.
func TestOwnerWithoutPasswd(t *testing.T) {
	d := Dir(t.TempDir())
	if err := os.WriteFile(filepath.Join(string(d), "f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Run(context.Background(), d, Check{Path: "/f", User: "app"})
	if err != nil || !strings.Contains(got, `the owner "app" is a name, and the image has no /etc/passwd`) {
		t.Errorf("Run = %q, %v", got, err)
	}
}
