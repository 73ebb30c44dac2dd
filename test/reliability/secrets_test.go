//go:build reliability

package reliability

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/tonistiigi/fsutil"

	"github.com/ohlcv-rag/ohlcv-build/frontend"
	"github.com/ohlcv-rag/ohlcv-build/internal/ocilayout"
	"github.com/ohlcv-rag/ohlcv-build/internal/registry"
)

func token() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// secretsSpec uses two secrets: api_key as a file and as env in a run, and
// as a file in a pip preset; index_token as a file in a parallel branch and
// as env (PIP_INDEX_URL) in a pip preset in another branch. Each consumer
// writes the sha256 of what it got, so the test can tell that every secret
// reached every consumer without the value itself going anywhere. MARKER is
// a build arg the search must find, to show that each search works.
const secretsSpec = `version: 1
args:
  MARKER: ""
stages:
  app:
    from: python:3.11-slim
    steps:
      - run: echo "marker $MARKER" && echo "$MARKER" > /marker
      - run: test "$(cat /run/secrets/api_key)" = "$API_KEY" && printf %s "$API_KEY" | sha256sum | cut -c1-64 > /sha-run && echo "an api key of ${#API_KEY} bytes"
        mounts:
          - {type: secret, id: api_key, required: true}
          - {type: secret, id: api_key, env: API_KEY, required: true}
      - parallel:
          - run: sha256sum < /run/secrets/index_token | cut -c1-64 > /sha-branch-file
            mounts: [{type: secret, id: index_token, required: true}]
          - pip: --version && printf %s "$PIP_INDEX_URL" | sha256sum | cut -c1-64 > /sha-branch-preset-env
            mounts: [{type: secret, id: index_token, env: PIP_INDEX_URL, required: true}]
      - pip: --version && sha256sum < /run/secrets/api_key | cut -c1-64 > /sha-preset-file
        mounts: [{type: secret, id: api_key, required: true}]
`

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func testSecrets(t *testing.T) {
	fig := newFigure(t, "1")
	s := setup(t, fig)
	ctx := context.Background()
	d, err := s.pool.get(ctx, "secrets", daemonOpts{})
	if err != nil {
		fig.fatalf(t, "%v", err)
	}
	apiKey, indexToken, marker := "apikey"+token(), "indextoken"+token(), "marker"+token()
	secrets := []needle{newNeedle("api_key", apiKey), newNeedle("index_token", indexToken)}
	control := []needle{newNeedle("marker", marker)}
	all := append(append([]needle{}, secrets...), control...)

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ohlcv.build.yaml"), []byte("# syntax="+s.frontend+"\n"+secretsSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "api_key")
	if err := os.WriteFile(keyFile, []byte(apiKey), 0o600); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	cacheRef := s.reg.host + "/rel/secrets-cache:" + token()[:12]
	spec := func(name, progressMode string, extra ...string) buildSpec {
		return buildSpec{
			builder: d.name, dir: dir, file: "ohlcv.build.yaml", progress: progressMode,
			args:    map[string]string{"MARKER": marker},
			secrets: []string{"id=api_key,src=" + keyFile, "id=index_token,env=REL_INDEX_TOKEN"},
			env:     []string{"REL_INDEX_TOKEN=" + indexToken},
			outputs: []string{"type=oci,dest=" + filepath.Join(out, name+".tar")},
			extra:   append([]string{"--attest", "type=provenance,mode=max"}, extra...),
		}
	}
	// Plain progress, with a mode=max registry cache; then rawjson, with
	// --no-cache so that every step runs and logs again.
	plain := s.buildx.build(ctx, spec("plain", "plain", "--cache-to", "type=registry,ref="+cacheRef+",mode=max,registry.insecure=true"))
	fig.command(plain.command)
	if plain.err != nil {
		fig.fatalf(t, "the plain build failed: %v", plain.err)
	}
	raw := s.buildx.build(ctx, spec("rawjson", "rawjson", "--no-cache"))
	fig.command(raw.command)
	if raw.err != nil {
		fig.fatalf(t, "the rawjson build failed: %v", raw.err)
	}

	places := []struct {
		name string
		fill func(h *haystack) error
	}{
		{"marshalled LLB (every definition the frontend solved, in-process)", func(h *haystack) error {
			defs, err := captureLLB(ctx, d.addr(), dir, map[string]string{"build-arg:MARKER": marker}, map[string][]byte{"api_key": []byte(apiKey), "index_token": []byte(indexToken)})
			for _, def := range defs {
				h.search(def, all)
			}
			return err
		}},
		{"image layers (both builds' OCI tars)", func(h *haystack) error {
			return eachImage(out, func(l *ocilayout.Layout, img *ocilayout.Image) error {
				for _, ld := range img.Manifest.Layers {
					dt, err := readBlob(l.Layer(ctx, ld))
					if err != nil {
						return err
					}
					h.search(dt, all)
				}
				return nil
			})
		}},
		{"image config, history and manifests", func(h *haystack) error {
			return eachImage(out, func(l *ocilayout.Layout, img *ocilayout.Image) error {
				for _, d := range []ocispecs.Descriptor{img.Manifest.Config, img.ManifestDescriptor} {
					dt, err := readBlob(l.Open(ctx, d))
					if err != nil {
						return err
					}
					h.search(dt, all)
				}
				return nil
			})
		}},
		{"plain progress", func(h *haystack) error {
			h.search(plain.stderr, all)
			h.search(plain.stdout, all)
			return nil
		}},
		{"rawjson progress", func(h *haystack) error {
			h.search(raw.stderr, all)
			h.search(raw.stdout, all)
			return nil
		}},
		{"mode=max registry cache: every manifest and blob", func(h *haystack) error {
			target, err := registry.New().Resolve(ctx, cacheRef)
			if err != nil {
				return err
			}
			n := 0
			err = target.Walk(ctx, func(_ ocispecs.Descriptor, r io.Reader) error {
				n++
				dt, err := io.ReadAll(r)
				h.search(dt, all)
				return err
			})
			if err == nil && n < 3 {
				err = fmt.Errorf("the cache %s has only %d manifests and blobs", cacheRef, n)
			}
			return err
		}},
		{"provenance attestation (mode=max)", func(h *haystack) error {
			found := 0
			err := eachLayout(out, func(l *ocilayout.Layout) error {
				descs, err := l.Manifests(ctx)
				if err != nil {
					return err
				}
				for _, md := range descs {
					var m ocispecs.Manifest
					if err := l.ReadJSON(ctx, md, &m); err != nil {
						return err
					}
					for _, ld := range m.Layers {
						if ld.MediaType != "application/vnd.in-toto+json" {
							continue
						}
						att, err := readBlob(l.Open(ctx, ld))
						if err != nil {
							return err
						}
						if !strings.Contains(string(att), "llbDefinition") {
							return fmt.Errorf("the provenance in %s has no llbDefinition: not mode=max", ld.Digest)
						}
						found++
						h.search(att, all)
					}
				}
				return nil
			})
			if err == nil && found == 0 {
				err = fmt.Errorf("no provenance attestation in the OCI tars")
			}
			return err
		}},
		{"build history: buildx history inspect, logs and export", func(h *haystack) error {
			for _, b := range []*built{plain, raw} {
				ref := b.historyRef()
				if ref == "" {
					return fmt.Errorf("no buildx.build.ref in the metadata file of %s", b.command)
				}
				for _, args := range [][]string{
					{"history", "inspect", "--builder", d.name, ref},
					{"history", "inspect", "--builder", d.name, "--format", "json", ref},
					{"history", "logs", "--builder", d.name, ref},
				} {
					o := s.buildx.run(ctx, invocation{args: args, timeout: time.Minute})
					fig.command(s.buildx.display(args))
					if o.err != nil {
						return o.err
					}
					h.search(o.stdout, all)
					h.search(o.stderr, all)
				}
				bundle := filepath.Join(t.TempDir(), "record.dockerbuild")
				args := []string{"history", "export", "--builder", d.name, "--finalize", "-o", bundle, ref}
				fig.command(s.buildx.display(args))
				if o := s.buildx.run(ctx, invocation{args: args, timeout: time.Minute}); o.err != nil {
					return o.err
				}
				dt, err := os.ReadFile(bundle)
				if err != nil {
					return err
				}
				h.search(dt, all)
			}
			return nil
		}},
		{"build history: every attachment (buildx history inspect attachment)", func(h *haystack) error {
			for _, b := range []*built{plain, raw} {
				ref := b.historyRef()
				args := []string{"history", "inspect", "--builder", d.name, "--format", "json", ref}
				o := s.buildx.run(ctx, invocation{args: args, timeout: time.Minute})
				if o.err != nil {
					return o.err
				}
				var rec struct{ Attachments []struct{ Digest string } }
				if err := json.Unmarshal(o.stdout, &rec); err != nil {
					return fmt.Errorf("buildx history inspect --format json: %w", err)
				}
				if len(rec.Attachments) == 0 {
					return fmt.Errorf("the history record %s lists no attachments", ref)
				}
				for _, a := range rec.Attachments {
					args := []string{"history", "inspect", "attachment", "--builder", d.name, ref, a.Digest}
					o := s.buildx.run(ctx, invocation{args: args, timeout: time.Minute})
					if o.err != nil {
						return o.err
					}
					h.search(o.stdout, all)
				}
				fig.command(s.buildx.display([]string{"history", "inspect", "attachment", "--builder", d.name, ref, "DIGEST"}) + "   # for each of the record's attachments")
			}
			return nil
		}},
	}
	for _, p := range places {
		h := newHaystack()
		if err := p.fill(h); err != nil {
			fig.errorf(t, "%s: %v", p.name, err)
			continue
		}
		leaks := h.hits["api_key"] + h.hits["index_token"]
		fig.check(t, p.name+": secret values found", "0", fmt.Sprintf("%d (searched %d items, %s)", leaks, h.items, size(h.bytes)), leaks == 0)
		fig.check(t, p.name+": marker build arg found (the search works)", "> 0", fmt.Sprint(h.hits["marker"]), h.hits["marker"] > 0)
	}

	// Every consumer got its secret: the image holds the secrets' hashes.
	wantSHA := map[string]string{"/sha-run": sha(apiKey), "/sha-preset-file": sha(apiKey), "/sha-branch-file": sha(indexToken), "/sha-branch-preset-env": sha(indexToken)}
	got := 0
	err = eachImage(out, func(l *ocilayout.Layout, img *ocilayout.Image) error {
		root := t.TempDir()
		if err := l.Unpack(ctx, img, root); err != nil {
			return err
		}
		files, err := ocilayout.Files(root)
		if err != nil {
			return err
		}
		for path, want := range wantSHA {
			if f := files[path]; f != nil && strings.TrimSpace(string(f.Data)) == want {
				got++
			}
		}
		return nil
	})
	if err != nil {
		fig.errorf(t, "reading the images: %v", err)
	}
	fig.check(t, "consumers that got their secret (run file+env, branch file, branch preset env, preset file), both builds", fmt.Sprint(2*len(wantSHA)), fmt.Sprint(got), got == 2*len(wantSHA))
	fig.note("The secrets were %d and %d random bytes of text; each was searched for as is and in its base64 forms; the marker is a build arg of the same kind, written into a file and printed by a step.", len(apiKey), len(indexToken))
}

// readBlob reads a blob's stream whole, to search it: the suite's images
// and caches are small enough.
func readBlob(rc io.ReadCloser, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// eachLayout calls fn for each OCI tar in dir.
func eachLayout(dir string, fn func(*ocilayout.Layout) error) error {
	tars, err := filepath.Glob(filepath.Join(dir, "*.tar"))
	if err != nil {
		return err
	}
	if len(tars) == 0 {
		return fmt.Errorf("no OCI tars in %s", dir)
	}
	for _, p := range tars {
		l, err := ocilayout.Open(p)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		err = fn(l)
		l.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	return nil
}

// eachImage calls fn for each image of each OCI tar in dir.
func eachImage(dir string, fn func(*ocilayout.Layout, *ocilayout.Image) error) error {
	return eachLayout(dir, func(l *ocilayout.Layout) error {
		imgs, err := l.Images(context.Background())
		if err != nil {
			return err
		}
		for _, img := range imgs {
			if err := fn(l, img); err != nil {
				return err
			}
		}
		return nil
	})
}

// llbRecorder passes every Solve on to the gateway and keeps the
// marshalled definition it carried.
type llbRecorder struct {
	gwclient.Client
	mu   sync.Mutex
	defs [][]byte
}

func (r *llbRecorder) Solve(ctx context.Context, req gwclient.SolveRequest) (*gwclient.Result, error) {
	if req.Definition != nil {
		dt, err := req.Definition.MarshalVT()
		if err != nil {
			return nil, err
		}
		r.mu.Lock()
		r.defs = append(r.defs, dt)
		r.mu.Unlock()
	}
	return r.Client.Solve(ctx, req)
}

// captureLLB builds the spec in dir with the frontend in-process (the
// same code as the gateway image), on the daemon at addr, and returns
// every LLB definition the frontend solved, marshalled.
func captureLLB(ctx context.Context, addr, dir string, attrs map[string]string, secrets map[string][]byte) ([][]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	c, err := client.New(ctx, addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	fs, err := fsutil.NewFS(dir)
	if err != nil {
		return nil, err
	}
	opts := map[string]string{"filename": "ohlcv.build.yaml"}
	for k, v := range attrs {
		opts[k] = v
	}
	rec := &llbRecorder{}
	_, err = c.Build(ctx, client.SolveOpt{
		LocalMounts:   map[string]fsutil.FS{"context": fs, "dockerfile": fs},
		FrontendAttrs: opts,
		Session:       []session.Attachable{secretsprovider.FromMap(secrets)},
	}, "ohlcv-build-reliability", func(ctx context.Context, gc gwclient.Client) (*gwclient.Result, error) {
		rec.Client = gc
		return frontend.Build(ctx, rec)
	}, nil)
	if err == nil && len(rec.defs) == 0 {
		err = fmt.Errorf("the frontend solved no LLB")
	}
	return rec.defs, err
}
