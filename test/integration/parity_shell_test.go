//go:build integration

package integration

import (
	"slices"
	"strings"
	"testing"
)

// shellFileDockerfile sets SHELL twice (the second in mid-stage), and
// copies two heredocs, one with an unquoted delimiter (expanded, with
// chmod and chown) and one quoted (as written).
const shellFileDockerfile = `FROM busybox
ARG GREETING=hello
ENV NAME=world
SHELL ["/bin/sh", "-eu", "-c"]
RUN echo "$-" > /shell-one
COPY --chown=1:2 --chmod=0600 <<EOF /etc/app.conf
${GREETING} ${NAME}
EOF
COPY <<'EOF' /srv/literal.txt
literal ${NAME} $x
EOF
SHELL ["/bin/sh", "-xc"]
RUN echo "$-" > /shell-two
CMD echo served
`

// shellFileSpec says the same with a stage's shell, a shell step and two
// copies with content.
const shellFileSpec = `version: 1
args: {GREETING: hello}
stages:
  s:
    from: busybox:latest
    env: {NAME: world}
    shell: [/bin/sh, -eu, -c]
    steps:
      - run: echo "$-" > /shell-one
      - copy: {content: "${GREETING} ${NAME}\n", dst: /etc/app.conf, chown: "1:2", chmod: "0600", expand: true}
      - copy:
          content: |
            literal ${NAME} $x
          dst: /srv/literal.txt
      - shell: [/bin/sh, -xc]
      - run: echo "$-" > /shell-two
    image:
      cmd: echo served
`

// TestShellAndInlineFileParity builds the Dockerfile through dockerfile.v0
// and the spec in process, and compares every file (path, type, mode,
// owner, content) and the image config, Shell included; the SHELL and
// COPY <<EOF lines of their histories are the same too. Each run really
// ran with its shell: $- holds the flags it was given.
func TestShellAndInlineFileParity(t *testing.T) {
	df := run(t, dockerfile, build{dir: writeContext(t, "", map[string]string{"Dockerfile": shellFileDockerfile})}).must(t)
	sp := run(t, inProcess, build{dir: writeContext(t, shellFileSpec, nil)}).must(t)
	if d := compareImages(t, df.oci, sp.oci, false); d != "" {
		t.Error(d)
	}
	img := singleImage(t, sp)
	for path, want := range map[string]string{"/etc/app.conf": "hello world\n", "/srv/literal.txt": "literal ${NAME} $x\n"} {
		if got := img.read(t, path); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	if f := img.files["/etc/app.conf"]; f.mode&0o7777 != 0o600 || f.uid != 1 || f.gid != 2 {
		t.Errorf("/etc/app.conf: mode %o owner %d:%d, want 0600 1:2", f.mode, f.uid, f.gid)
	}
	if f := img.files["/srv/literal.txt"]; f.mode&0o7777 != 0o644 {
		t.Errorf("/srv/literal.txt: mode %o, want 0644", f.mode)
	}
	if one, two := img.read(t, "/shell-one"), img.read(t, "/shell-two"); !strings.Contains(one, "e") || !strings.Contains(one, "u") || !strings.Contains(two, "x") || strings.Contains(two, "u") {
		t.Errorf("$- was %q, then %q: want e and u, then x without u", one, two)
	}
	if want := []string{"/bin/sh", "-xc", "echo served"}; !slices.Equal(img.config.Config.Cmd, want) {
		t.Errorf("cmd %q, want %q", img.config.Config.Cmd, want)
	}
	if got, want := shellFileHistory(img), shellFileHistory(singleImage(t, df)); len(want) != 4 || !slices.Equal(got, want) {
		t.Errorf("history\n%q\nwant the Dockerfile's\n%q", got, want)
	}
}

// shellFileHistory is the SHELL and COPY <<EOF lines of an image's
// history.
func shellFileHistory(img *image) []string {
	var out []string
	for _, h := range img.config.History {
		if strings.HasPrefix(h.CreatedBy, "SHELL ") || strings.HasPrefix(h.CreatedBy, "COPY ") && strings.Contains(h.CreatedBy, " <<EOF ") {
			out = append(out, h.CreatedBy)
		}
	}
	return out
}
