// Command runimage runs a built image with no Docker engine: it unpacks an
// OCI layout tar (docker buildx build --output type=oci,dest=image.tar) into
// a runc bundle and runs the image's entrypoint and cmd, or its health check,
// as the image's user, with the image's env and working directory.
//
//	go run ./hack/runimage image.tar [args...]      # entrypoint + args (or cmd)
//	go run ./hack/runimage -healthcheck image.tar   # the HEALTHCHECK test
//	go run ./hack/runimage -print image.tar         # user, entrypoint, healthcheck
//	go run ./hack/runimage -entrypoint id image.tar # another entrypoint, like docker run --entrypoint
//
// It needs root and runc (hack/deps.sh installs it).
package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

func main() {
	health := flag.Bool("healthcheck", false, "run the image's HEALTHCHECK test instead of its entrypoint")
	show := flag.Bool("print", false, "print the image's user, entrypoint, cmd and health check, and exit")
	entrypoint := flag.String("entrypoint", "", "run this instead of the image's entrypoint (its cmd is dropped, as with docker run --entrypoint)")
	flag.Parse()
	if flag.NArg() < 1 {
		fmt.Fprintln(os.Stderr, "usage: runimage [-healthcheck|-print] image.tar [args...]")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), flag.Args()[1:], *entrypoint, *health, *show); err != nil {
		fmt.Fprintln(os.Stderr, "runimage:", err)
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			os.Exit(exit.ExitCode())
		}
		os.Exit(1)
	}
}

func run(tarball string, args []string, entrypoint string, health, show bool) error {
	bundle, err := os.MkdirTemp("", "runimage-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(bundle)
	rootfs := filepath.Join(bundle, "rootfs")
	img, err := unpack(tarball, rootfs)
	if err != nil {
		return err
	}
	cfg := img.Config
	if show {
		fmt.Printf("user: %s\nworkdir: %s\nentrypoint: %q\ncmd: %q\n", cfg.User, cfg.WorkingDir, cfg.Entrypoint, cfg.Cmd)
		if hc := cfg.Healthcheck; hc != nil {
			fmt.Printf("healthcheck: %q every %s, timeout %s, %d retries\n", hc.Test, hc.Interval, hc.Timeout, hc.Retries)
		}
		return nil
	}
	if entrypoint != "" {
		cfg.Entrypoint, cfg.Cmd = []string{entrypoint}, nil
	}
	argv := append(append([]string{}, cfg.Entrypoint...), cfg.Cmd...)
	if len(args) > 0 {
		argv = append(append([]string{}, cfg.Entrypoint...), args...)
	}
	if health {
		hc := cfg.Healthcheck
		if hc == nil || len(hc.Test) == 0 || hc.Test[0] == "NONE" {
			return errors.New("the image has no health check")
		}
		switch hc.Test[0] {
		case "CMD":
			argv = hc.Test[1:]
		case "CMD-SHELL":
			argv = []string{"/bin/sh", "-c", hc.Test[1]}
		}
	}
	if len(argv) == 0 {
		return errors.New("the image has no entrypoint or cmd, and no args were given")
	}
	uid, gid, err := lookupUser(rootfs, cfg.User)
	if err != nil {
		return err
	}
	if err := writeRuncConfig(bundle, argv, cfg.Env, cfg.WorkingDir, uid, gid); err != nil {
		return err
	}
	cmd := exec.Command("runc", "run", "--bundle", bundle, filepath.Base(bundle))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	return cmd.Run()
}

// unpack applies the layers of the first image of an OCI layout tar to dir.
func unpack(tarball, dir string) (*dockerspec.DockerOCIImage, error) {
	blobs, index, err := readLayout(tarball)
	if err != nil {
		return nil, err
	}
	desc, err := firstManifest(blobs, index)
	if err != nil {
		return nil, err
	}
	var m ocispecs.Manifest
	if err := json.Unmarshal(blobs[desc], &m); err != nil {
		return nil, err
	}
	var img dockerspec.DockerOCIImage
	if err := json.Unmarshal(blobs[m.Config.Digest.String()], &img); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	for _, l := range m.Layers {
		var r io.Reader = bytes.NewReader(blobs[l.Digest.String()])
		if strings.Contains(l.MediaType, "gzip") {
			zr, err := gzip.NewReader(r)
			if err != nil {
				return nil, err
			}
			r = zr
		}
		// tar(1) knows ownership, modes, links and devices; whiteouts are
		// applied after each layer.
		cmd := exec.Command("tar", "-x", "--numeric-owner", "-p", "-C", dir)
		cmd.Stdin = r
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("unpacking layer %s: %v: %s", l.Digest, err, out)
		}
		if err := applyWhiteouts(dir); err != nil {
			return nil, err
		}
	}
	return &img, nil
}

func readLayout(tarball string) (map[string][]byte, ocispecs.Index, error) {
	var index ocispecs.Index
	f, err := os.Open(tarball)
	if err != nil {
		return nil, index, err
	}
	defer f.Close()
	blobs := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return blobs, index, nil
		}
		if err != nil {
			return nil, index, err
		}
		dt, err := io.ReadAll(tr)
		if err != nil {
			return nil, index, err
		}
		switch {
		case h.Name == "index.json":
			if err := json.Unmarshal(dt, &index); err != nil {
				return nil, index, err
			}
		case strings.HasPrefix(h.Name, "blobs/sha256/"):
			blobs["sha256:"+strings.TrimPrefix(h.Name, "blobs/sha256/")] = dt
		}
	}
}

// firstManifest returns the digest of the first image manifest of the
// layout, looking into a nested index.
func firstManifest(blobs map[string][]byte, index ocispecs.Index) (string, error) {
	for _, d := range index.Manifests {
		switch d.MediaType {
		case ocispecs.MediaTypeImageManifest, "application/vnd.docker.distribution.manifest.v2+json":
			return d.Digest.String(), nil
		case ocispecs.MediaTypeImageIndex, "application/vnd.docker.distribution.manifest.list.v2+json":
			var inner ocispecs.Index
			if err := json.Unmarshal(blobs[d.Digest.String()], &inner); err != nil {
				return "", err
			}
			return firstManifest(blobs, inner)
		}
	}
	return "", errors.New("no image manifest in the layout")
}

// applyWhiteouts removes what .wh. files hide, and the markers.
func applyWhiteouts(dir string) error {
	var marks []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".wh.") {
			marks = append(marks, p)
		}
		return err
	})
	if err != nil {
		return err
	}
	for _, m := range marks {
		base := filepath.Base(m)
		if base == ".wh..wh..opq" { // opaque dir: hide what lower layers had
			continue
		}
		if err := os.RemoveAll(filepath.Join(filepath.Dir(m), strings.TrimPrefix(base, ".wh."))); err != nil {
			return err
		}
		if err := os.Remove(m); err != nil {
			return err
		}
	}
	return nil
}

// lookupUser resolves user[:group] to ids through the image's /etc/passwd.
func lookupUser(rootfs, user string) (int, int, error) {
	name, group, _ := strings.Cut(user, ":")
	if name == "" {
		return 0, 0, nil
	}
	uid, gid := -1, 0
	if n, err := strconv.Atoi(name); err == nil {
		uid = n
	}
	f, err := os.Open(filepath.Join(rootfs, "etc", "passwd"))
	if err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Split(sc.Text(), ":")
			if len(fields) < 4 {
				continue
			}
			id, _ := strconv.Atoi(fields[2])
			if fields[0] == name || (uid >= 0 && id == uid) {
				uid = id
				gid, _ = strconv.Atoi(fields[3])
				break
			}
		}
	}
	if uid < 0 {
		return 0, 0, fmt.Errorf("user %q is not in the image's /etc/passwd", name)
	}
	if n, err := strconv.Atoi(group); err == nil {
		gid = n
	}
	return uid, gid, nil
}

// writeRuncConfig writes a runc config.json: runc's default spec, with the
// image's process.
func writeRuncConfig(bundle string, argv, env []string, cwd string, uid, gid int) error {
	cmd := exec.Command("runc", "spec", "--bundle", bundle)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("runc spec: %v: %s", err, out)
	}
	path := filepath.Join(bundle, "config.json")
	dt, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var spec map[string]any
	if err := json.Unmarshal(dt, &spec); err != nil {
		return err
	}
	if cwd == "" {
		cwd = "/"
	}
	proc := spec["process"].(map[string]any)
	proc["terminal"] = false
	proc["args"] = argv
	proc["env"] = env
	proc["cwd"] = cwd
	proc["user"] = map[string]any{"uid": uid, "gid": gid}
	spec["root"] = map[string]any{"path": "rootfs", "readonly": false}
	out, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o644)
}
