//go:build integration

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/session"
	"github.com/tonistiigi/fsutil"

	"github.com/ohlcv-rag/ohlcv-build/frontend"

	"crypto/ed25519"
	"github.com/moby/buildkit/frontend/subrequests/outline"
	"github.com/moby/buildkit/frontend/subrequests/targets"
	"github.com/moby/buildkit/session/sshforward/sshprovider"
	"github.com/moby/buildkit/solver/errdefs"
	"golang.org/x/crypto/ssh/agent"
)

// assertSource checks that err carries the spec's source with a range
// covering line, and that the line holds snippet.
func assertSource(t *testing.T, err error, filename string, line int, snippet string) {
	t.Helper()
	for _, s := range errdefs.Sources(err) {
		if s.Info.GetFilename() != filename {
			continue
		}
		lines := strings.Split(string(s.Info.Data), "\n")
		for _, r := range s.Ranges {
			if int(r.Start.Line) <= line && line <= int(r.End.Line) && line <= len(lines) && strings.Contains(lines[line-1], snippet) {
				return
			}
		}
	}
	t.Fatalf("the error carries no source %s:%d with %q: %v (sources %v)", filename, line, snippet, err, errdefs.Sources(err))
}

// Named contexts replace an image and a stage of the same name.
func TestNamedContexts(t *testing.T) {
	depsDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(depsDir, "wheel.txt"), []byte("from a local dir"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := writeContext(t, `version: 1
stages:
  deps:
    from: busybox:latest
    steps:
      - run: echo from the stage > /wheel.txt
  app:
    from: busybox:latest
    steps:
      - copy: {from: deps, src: /wheel.txt, dst: /wheel.txt}
`, nil)
	reg := engineEnv(t, "REGISTRY")
	for _, m := range []mode{inProcess, gateway} {
		t.Run(string(m), func(t *testing.T) {
			img := singleImage(t, run(t, m, build{dir: dir, locals: map[string]string{"deps-dir": depsDir}, attrs: map[string]string{
				"target":          "app",
				"context:deps":    "local:deps-dir",
				"context:busybox": "docker-image://" + reg + "/library/debian:bookworm-slim",
			}}).must(t))
			if got := img.read(t, "/wheel.txt"); got != "from a local dir" {
				t.Errorf("the stage was not replaced: /wheel.txt = %q", got)
			}
			if _, ok := img.files["/etc/debian_version"]; !ok {
				t.Errorf("the image was not replaced by debian")
			}
		})
	}
}

// An ssh agent forwarded with --ssh answers inside the step.
func TestSSHAgentForwarded(t *testing.T) {
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: key, Comment: "ohlcv-test"}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go agent.ServeAgent(keyring, conn)
		}
	}()
	ssh, err := sshprovider.NewSSHAgentProvider([]sshprovider.AgentConfig{{ID: "default", Paths: []string{sock}}})
	if err != nil {
		t.Fatal(err)
	}
	// Ask the agent for its identities over the socket, in Python: the
	// answer (type 12) must list the one key.
	dir := writeContext(t, `version: 1
stages:
  s:
    from: python:3.11-slim
    steps:
      - run: |
          python3 - <<'EOF' > /agent
          import os, socket, struct
          s = socket.socket(socket.AF_UNIX); s.connect(os.environ["SSH_AUTH_SOCK"])
          s.sendall(struct.pack(">IB", 1, 11))
          n = struct.unpack(">I", s.recv(4))[0]; body = s.recv(n)
          print(body[0], struct.unpack(">I", body[1:5])[0], b"ohlcv-test" in body)
          EOF
        mounts: [{type: ssh, required: true}]
`, nil)
	img := singleImage(t, run(t, inProcess, build{dir: dir, attach: []session.Attachable{ssh}}).must(t))
	if got := img.read(t, "/agent"); got != "12 1 True\n" {
		t.Errorf("agent answer %q, want type 12 with 1 identity", got)
	}
}

func TestSubrequests(t *testing.T) {
	dir := writeContext(t, featuresSpec, featuresFiles)
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			res := subrequest(t, m, dir, "frontend.targets", "")
			var l targets.List
			if err := json.Unmarshal(res["result.json"], &l); err != nil {
				t.Fatal(err)
			}
			if len(l.Targets) != 2 || l.Targets[0].Name != "builder" || l.Targets[1].Description != "Everything at once" || !l.Targets[1].Default {
				t.Errorf("targets: %+v", l.Targets)
			}
			res = subrequest(t, m, dir, "frontend.outline", "app")
			var o outline.Outline
			if err := json.Unmarshal(res["result.json"], &o); err != nil {
				t.Fatal(err)
			}
			if o.Name != "app" || len(o.Secrets) != 1 || o.Secrets[0].Name != "api_key" || !o.Secrets[0].Required || len(o.Args) != 1 || o.Args[0].Name != "GREETING" || o.Args[0].Value != "hello" {
				t.Errorf("outline: %+v", o)
			}
			res = subrequest(t, m, dir, "frontend.lint", "")
			if code := string(res["result.statuscode"]); code != "1" || !strings.Contains(string(res["result.txt"]), "WARNING: UnpinnedBaseImage") {
				t.Errorf("lint: status %s\n%s", code, res["result.txt"])
			}
			_, err := subrequestErr(t, m, dir, "frontend.convertllb", "")
			if err == nil || !strings.Contains(err.Error(), "unsupported") {
				t.Errorf("an unknown subrequest: %v", err)
			}
		})
	}
}

// docker buildx build, the way users run the frontend, with the remote
// builder of the harness.
func TestDockerBuildx(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(secretFile, []byte("bx-"+randomToken(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := writeContext(t, featuresSpec, featuresFiles)
	out := t.TempDir()
	buildx(t, dir, "build", "-f", filepath.Join(dir, "ohlcv.build.yaml"), "--target", "app",
		"--secret", "id=api_key,src="+secretFile, "--build-arg", "GREETING=hallo",
		"--output", "type=local,dest="+out, dir)
	if dt, err := os.ReadFile(filepath.Join(out, "app", "greeting")); err != nil || string(dt) != "hallo\n" {
		t.Errorf("greeting %q %v", dt, err)
	}

	targetsOut := buildx(t, dir, "build", "-f", filepath.Join(dir, "ohlcv.build.yaml"), "--call=targets", dir)
	for _, want := range []string{"builder", "Makes an artifact", "app (default)", "Everything at once"} {
		if !strings.Contains(targetsOut, want) {
			t.Errorf("--call=targets output lacks %q:\n%s", want, targetsOut)
		}
	}

	failing := writeContext(t, `version: 1
stages:
  s:
    from: busybox:latest
    steps:
      - run: echo about to fail; exit 3
`, nil)
	cmd := buildxCommand(t, "build", "--progress=plain", "-f", filepath.Join(failing, "ohlcv.build.yaml"), failing)
	cmd.Env = append(os.Environ(), "BUILDX_BUILDER="+engineEnv(t, "BUILDX_BUILDER"))
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	if err := cmd.Run(); err == nil {
		t.Fatal("the failing build passed")
	}
	for _, want := range []string{"ohlcv.build.yaml:7", "run: echo about to fail; exit 3", "exit code: 3"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("buildx output lacks %q:\n%s", want, b.String())
		}
	}
}

func buildx(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := runBuildx(t, dir, args...)
	if err != nil {
		t.Fatalf("docker buildx %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// subrequest runs a --call subrequest in mode m and returns the result's
// metadata.
func subrequest(t *testing.T, m mode, dir, request, target string) map[string][]byte {
	t.Helper()
	md, err := subrequestErr(t, m, dir, request, target)
	if err != nil {
		t.Fatalf("%s: %v", request, err)
	}
	return md
}

func subrequestErr(t *testing.T, m mode, dir, request, target string) (map[string][]byte, error) {
	t.Helper()
	c := newClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	locals := map[string]fsutil.FS{}
	for _, name := range []string{"context", "dockerfile"} {
		fs, err := fsutil.NewFS(dir)
		if err != nil {
			t.Fatal(err)
		}
		locals[name] = fs
	}
	opts := map[string]string{"filename": "ohlcv.build.yaml", "requestid": request, "frontend.caps": "moby.buildkit.frontend.subrequests"}
	if target != "" {
		opts["target"] = target
	}
	var md map[string][]byte
	_, err := c.Build(ctx, client.SolveOpt{LocalMounts: locals, FrontendAttrs: opts}, "ohlcv-build-test", func(ctx context.Context, gc gwclient.Client) (*gwclient.Result, error) {
		var res *gwclient.Result
		var err error
		switch m {
		case inProcess:
			res, err = frontend.Build(ctx, gc)
		case gateway:
			o := maps.Clone(opts)
			o["source"] = engineEnv(t, "FRONTEND_IMAGE")
			res, err = gc.Solve(ctx, gwclient.SolveRequest{Frontend: "gateway.v0", FrontendOpt: o})
		case syntax:
			res, err = gc.Solve(ctx, gwclient.SolveRequest{Frontend: "dockerfile.v0", FrontendOpt: opts})
		}
		if res != nil {
			md = res.Metadata
		}
		return res, err
	}, nil)
	return md, err
}
