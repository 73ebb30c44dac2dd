// Package registry is a small client of the OCI distribution API for the
// plain-http registries of the hack/ engine and the reliability suite: it
// reads manifests and indexes as ocispecs types, walks everything a tag
// reaches (images, attestations, BuildKit's cache manifests), and copies a
// tag from one registry to another. It does no authentication.
package registry

import (
	"bytes"
	"context"
	_ "crypto/sha256" // go-digest needs the hash linked in
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// Docker's media types, which registries still serve beside OCI's.
const (
	MediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
)

var manifestTypes = []string{
	ocispecs.MediaTypeImageIndex, ocispecs.MediaTypeImageManifest,
	MediaTypeDockerManifestList, MediaTypeDockerManifest,
}

// IsIndex reports whether mediaType is an index or a manifest list.
func IsIndex(mediaType string) bool {
	return mediaType == ocispecs.MediaTypeImageIndex || mediaType == MediaTypeDockerManifestList
}

// IsManifest reports whether mediaType is an image manifest.
func IsManifest(mediaType string) bool {
	return mediaType == ocispecs.MediaTypeImageManifest || mediaType == MediaTypeDockerManifest
}

// Client talks to one registry over plain http.
type Client struct {
	// Host is host:port.
	Host string
	// HTTP is the client used; each request also gets a timeout from
	// its context.
	HTTP *http.Client
}

// New returns a client of the registry at host (host:port), whose requests
// time out after a minute.
func New(host string) *Client {
	return &Client{Host: host, HTTP: &http.Client{Timeout: time.Minute}}
}

// SplitRef splits "host:port/repo/name:tag" (or @digest) into the host,
// the repository and the tag or digest.
func SplitRef(ref string) (host, repo, tag string, err error) {
	host, rest, ok := strings.Cut(ref, "/")
	if !ok || rest == "" {
		return "", "", "", fmt.Errorf("%q is not host/repository:tag", ref)
	}
	if name, d, ok := strings.Cut(rest, "@"); ok {
		return host, name, d, nil
	}
	i := strings.LastIndex(rest, ":")
	if i < 0 {
		return host, rest, "latest", nil
	}
	return host, rest[:i], rest[i+1:], nil
}

func (c *Client) url(repo, kind, ref string) string {
	return fmt.Sprintf("http://%s/v2/%s/%s/%s", c.Host, repo, kind, ref)
}

func (c *Client) do(ctx context.Context, req *http.Request, want ...int) (*http.Response, error) {
	resp, err := c.HTTP.Do(req.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", c.Host, err)
	}
	for _, w := range want {
		if resp.StatusCode == w {
			return resp, nil
		}
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	return nil, fmt.Errorf("registry %s: %s %s: %s: %s", c.Host, req.Method, req.URL.Path, resp.Status, bytes.TrimSpace(body))
}

// Manifest returns the manifest or index that ref (a tag or a digest)
// names in repo, with a descriptor of it.
func (c *Client) Manifest(ctx context.Context, repo, ref string) (ocispecs.Descriptor, []byte, error) {
	req, err := http.NewRequest(http.MethodGet, c.url(repo, "manifests", ref), nil)
	if err != nil {
		return ocispecs.Descriptor{}, nil, err
	}
	req.Header.Set("Accept", strings.Join(manifestTypes, ", "))
	resp, err := c.do(ctx, req, http.StatusOK)
	if err != nil {
		return ocispecs.Descriptor{}, nil, err
	}
	defer resp.Body.Close()
	dt, err := io.ReadAll(resp.Body)
	if err != nil {
		return ocispecs.Descriptor{}, nil, err
	}
	mt := resp.Header.Get("Content-Type")
	if mt == "" || mt == "application/json" {
		var probe struct {
			MediaType string `json:"mediaType"`
		}
		_ = json.Unmarshal(dt, &probe)
		mt = probe.MediaType
	}
	d := digest.FromBytes(dt)
	if strings.Contains(ref, ":") && ref != d.String() {
		return ocispecs.Descriptor{}, nil, fmt.Errorf("registry %s: manifest %s@%s has digest %s", c.Host, repo, ref, d)
	}
	return ocispecs.Descriptor{MediaType: mt, Digest: d, Size: int64(len(dt))}, dt, nil
}

// Index returns the index that ref names.
func (c *Client) Index(ctx context.Context, repo, ref string) (ocispecs.Descriptor, ocispecs.Index, error) {
	var idx ocispecs.Index
	d, dt, err := c.Manifest(ctx, repo, ref)
	if err != nil {
		return d, idx, err
	}
	if !IsIndex(d.MediaType) {
		return d, idx, fmt.Errorf("%s/%s:%s is a %s, not an index", c.Host, repo, ref, d.MediaType)
	}
	return d, idx, json.Unmarshal(dt, &idx)
}

// Image returns the image manifest that ref names; for an index, the
// first manifest for linux/amd64 (any variant), else the first one.
func (c *Client) Image(ctx context.Context, repo, ref string) (ocispecs.Manifest, error) {
	var m ocispecs.Manifest
	d, dt, err := c.Manifest(ctx, repo, ref)
	if err != nil {
		return m, err
	}
	if IsIndex(d.MediaType) {
		var idx ocispecs.Index
		if err := json.Unmarshal(dt, &idx); err != nil {
			return m, err
		}
		var pick *ocispecs.Descriptor
		for i, e := range idx.Manifests {
			if !IsManifest(e.MediaType) {
				continue
			}
			if pick == nil {
				pick = &idx.Manifests[i]
			}
			if e.Platform != nil && e.Platform.OS == "linux" && e.Platform.Architecture == "amd64" {
				pick = &idx.Manifests[i]
				break
			}
		}
		if pick == nil {
			return m, fmt.Errorf("%s/%s:%s lists no image manifest", c.Host, repo, ref)
		}
		if _, dt, err = c.Manifest(ctx, repo, pick.Digest.String()); err != nil {
			return m, err
		}
	}
	return m, json.Unmarshal(dt, &m)
}

// Blob returns blob d of repo, checked against its digest.
func (c *Client) Blob(ctx context.Context, repo string, d digest.Digest) ([]byte, error) {
	req, err := http.NewRequest(http.MethodGet, c.url(repo, "blobs", d.String()), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, req, http.StatusOK)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	dt, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if digest.FromBytes(dt) != d {
		return nil, fmt.Errorf("registry %s: blob %s of %s does not match its digest", c.Host, d, repo)
	}
	return dt, nil
}

// HasBlob reports whether repo has blob d.
func (c *Client) HasBlob(ctx context.Context, repo string, d digest.Digest) (bool, error) {
	req, err := http.NewRequest(http.MethodHead, c.url(repo, "blobs", d.String()), nil)
	if err != nil {
		return false, err
	}
	resp, err := c.do(ctx, req, http.StatusOK, http.StatusNotFound)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK, nil
}

// PutBlob uploads dt to repo in one request after opening an upload.
func (c *Client) PutBlob(ctx context.Context, repo string, dt []byte) (digest.Digest, error) {
	d := digest.FromBytes(dt)
	if ok, err := c.HasBlob(ctx, repo, d); err != nil || ok {
		return d, err
	}
	req, err := http.NewRequest(http.MethodPost, fmt.Sprintf("http://%s/v2/%s/blobs/uploads/", c.Host, repo), nil)
	if err != nil {
		return d, err
	}
	resp, err := c.do(ctx, req, http.StatusAccepted)
	if err != nil {
		return d, err
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil {
		return d, fmt.Errorf("registry %s: upload without a location: %w", c.Host, err)
	}
	q := loc.Query()
	q.Set("digest", d.String())
	loc.RawQuery = q.Encode()
	put, err := http.NewRequest(http.MethodPut, loc.String(), bytes.NewReader(dt))
	if err != nil {
		return d, err
	}
	put.Header.Set("Content-Type", "application/octet-stream")
	if resp, err = c.do(ctx, put, http.StatusCreated); err != nil {
		return d, err
	}
	resp.Body.Close()
	return d, nil
}

// PutManifest stores a manifest or index under ref (a tag or its digest).
func (c *Client) PutManifest(ctx context.Context, repo, ref, mediaType string, dt []byte) error {
	req, err := http.NewRequest(http.MethodPut, c.url(repo, "manifests", url.PathEscape(ref)), bytes.NewReader(dt))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", mediaType)
	resp, err := c.do(ctx, req, http.StatusCreated)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// Visit is called by [Client.Walk] for every descriptor a tag reaches,
// with the content it names.
type Visit func(d ocispecs.Descriptor, content []byte) error

// Walk visits ref and everything it reaches, depth first, parents before
// children: indexes and their entries (image and attestation manifests,
// and the layer and config blobs that BuildKit's cache manifests list
// directly), and each manifest's config and layers. Each digest is visited
// once.
func (c *Client) Walk(ctx context.Context, repo, ref string, visit Visit) error {
	d, dt, err := c.Manifest(ctx, repo, ref)
	if err != nil {
		return err
	}
	seen := map[digest.Digest]bool{}
	return c.walk(ctx, repo, d, dt, visit, seen, 0)
}

func (c *Client) walk(ctx context.Context, repo string, d ocispecs.Descriptor, dt []byte, visit Visit, seen map[digest.Digest]bool, depth int) error {
	if seen[d.Digest] {
		return nil
	}
	seen[d.Digest] = true
	if depth > 8 {
		return errors.New("manifests nested more than 8 deep")
	}
	if err := visit(d, dt); err != nil {
		return err
	}
	var children []ocispecs.Descriptor
	switch {
	case IsIndex(d.MediaType):
		var idx ocispecs.Index
		if err := json.Unmarshal(dt, &idx); err != nil {
			return fmt.Errorf("index %s: %w", d.Digest, err)
		}
		children = idx.Manifests
	case IsManifest(d.MediaType):
		var m ocispecs.Manifest
		if err := json.Unmarshal(dt, &m); err != nil {
			return fmt.Errorf("manifest %s: %w", d.Digest, err)
		}
		children = append([]ocispecs.Descriptor{m.Config}, m.Layers...)
	}
	for _, ch := range children {
		if seen[ch.Digest] {
			continue
		}
		var content []byte
		var err error
		if IsIndex(ch.MediaType) || IsManifest(ch.MediaType) {
			var got ocispecs.Descriptor
			got, content, err = c.Manifest(ctx, repo, ch.Digest.String())
			if err == nil && got.MediaType != "" {
				ch.MediaType = got.MediaType
			}
		} else {
			content, err = c.Blob(ctx, repo, ch.Digest)
		}
		if err != nil {
			return err
		}
		if err := c.walk(ctx, repo, ch, content, visit, seen, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// Copy copies srcRepo:srcRef of c, and everything it reaches, to
// dstRepo:dstRef of dst, children first so that the destination never
// holds a manifest whose blobs are missing.
func (c *Client) Copy(ctx context.Context, srcRepo, srcRef string, dst *Client, dstRepo, dstRef string) error {
	type item struct {
		d       ocispecs.Descriptor
		content []byte
	}
	var items []item
	err := c.Walk(ctx, srcRepo, srcRef, func(d ocispecs.Descriptor, content []byte) error {
		items = append(items, item{d, content})
		return nil
	})
	if err != nil {
		return err
	}
	for i := len(items) - 1; i >= 0; i-- {
		it := items[i]
		ref := it.d.Digest.String()
		switch {
		case i == 0:
			ref = dstRef
			fallthrough
		case IsIndex(it.d.MediaType) || IsManifest(it.d.MediaType):
			if err := dst.PutManifest(ctx, dstRepo, ref, it.d.MediaType, it.content); err != nil {
				return err
			}
		default:
			if _, err := dst.PutBlob(ctx, dstRepo, it.content); err != nil {
				return err
			}
		}
	}
	return nil
}
