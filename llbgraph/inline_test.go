package llbgraph

import (
	"context"
	"slices"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// A copy with content writes it into a file of its own, 0644, and copies
// that to dst with the copy's chmod and chown, as COPY <<EOF does; expand
// interpolates ${NAME} as an unquoted delimiter does, and without it the
// text is as written.
func TestInlineFile(t *testing.T) {
	s := loadSpec(t, `version: 1
args: {GREETING: hello}
stages:
  app:
    from: busybox:latest
    workdir: /srv
    env: {NAME: world}
    steps:
      - copy: {content: "${GREETING} ${NAME}\n", dst: /etc/app.conf, chmod: "0600", chown: "1:2", expand: true}
      - copy:
          content: |
            literal ${NAME} \$x
          dst: rel.txt
      - copy: {content: "", dst: /empty, link: true}
`)
	res := compile(t, s, testOpt("app"))
	g := marshal(t, res.State)
	docs := map[string]string{}
	for _, d := range g.find("preparing inline document") {
		mk := g.ops[d].GetFile().Actions[0].GetMkfile()
		if mk.Path != "/EOF" || mk.Mode != 0o644 {
			t.Errorf("inline document %s mode %o, want /EOF 0644", mk.Path, mk.Mode)
		}
		docs[string(mk.Data)] = mk.Path
	}
	for _, want := range []string{"hello world\n", "literal ${NAME} \\$x\n", ""} {
		if _, ok := docs[want]; !ok {
			t.Errorf("no inline document %q among %q", want, docs)
		}
	}
	for name, want := range map[string]string{"<<EOF -> /etc/app.conf": "/etc/app.conf", "<<EOF -> rel.txt": "/srv/rel.txt"} {
		d, op := g.one(t, name)
		cp := op.GetFile().Actions[0].GetCopy()
		if cp.Src != "/EOF" || cp.Dest != want || !cp.CreateDestPath || cp.AllowWildcard || cp.FollowSymlink {
			t.Errorf("%s copies %+v, want /EOF to %s as COPY <<EOF does", name, cp, want)
		}
		if !slices.ContainsFunc(g.find("preparing inline document"), func(doc digest.Digest) bool { return g.dependsOn(d, doc) }) {
			t.Errorf("%s does not copy an inline document", name)
		}
		if strings.Contains(name, "app.conf") && (cp.Mode != 0o600 || cp.Owner.GetUser().GetByID() != 1 || cp.Owner.GetGroup().GetByID() != 2) {
			t.Errorf("%s: mode %o owner %v, want 0600 1:2", name, cp.Mode, cp.Owner)
		}
		if strings.Contains(name, "rel") && cp.Mode != -1 {
			t.Errorf("%s: mode %o, want the document's", name, cp.Mode)
		}
	}
	var hist []string
	for _, h := range res.Image.History {
		if strings.HasPrefix(h.CreatedBy, "COPY") {
			hist = append(hist, h.CreatedBy)
		}
	}
	want := []string{"COPY --chown=1:2 --chmod=0600 <<EOF /etc/app.conf # buildkit", "COPY <<EOF rel.txt # buildkit", "COPY --link <<EOF /empty # buildkit"}
	if !slices.Equal(hist, want) {
		t.Errorf("history\n%q\nwant\n%q", hist, want)
	}
}

func TestInlineFileErrors(t *testing.T) {
	for _, tc := range []struct{ steps, want string }{
		{`{copy: {content: x, src: a, dst: /f}}`, "steps[0].copy.src: a copy with content writes one file: src does not apply"},
		{`{copy: {content: x, from: base, dst: /f}}`, "steps[0].copy.from: a copy with content writes one file"},
		{`{copy: {content: x, dst: /etc/}}`, `steps[0].copy.dst: with content, dst is the file's path, not a directory: "/etc/file"`},
		{`{copy: {src: a, dst: /f, expand: true}}`, "steps[0].copy.expand: expand applies to content, and this copy has none"},
		{`{copy: {content: "${NOPE}", dst: /f, expand: true}}`, "NOPE"},
		{`{copy: {content: "${E}", dst: "${E}", expand: true}}`, "with content, dst is the file's path, not a directory"},
		{`{shell: /bin/bash}`, "steps[0].shell: want a list, the shell and its arguments"},
		{`{shell: []}`, "steps[0].shell: shell needs a program first"},
	} {
		src := "version: 1\nargs: {E: \"\"}\nstages:\n  base:\n    from: busybox\n  app:\n    from: busybox\n    steps:\n      - " + tc.steps + "\n"
		s, err := spec.Load(spec.DefaultFilename, []byte(src))
		if err == nil {
			_, err = Compile(context.Background(), s, testOpt("app"))
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), spec.DefaultFilename+":") {
			t.Errorf("%s: got %v, want an error with %q", tc.steps, err, tc.want)
		}
	}
}
