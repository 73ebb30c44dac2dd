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
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/moby/sys/user"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ohlcv-rag/ohlcv-build/internal/ocilayout"
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
	cfg := img.Config.Config
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
	u, err := ocilayout.ExecUser(rootfs, cfg.User)
	if err != nil {
		return err
	}
	if err := writeRuncConfig(bundle, argv, cfg.Env, cfg.WorkingDir, u); err != nil {
		return err
	}
	cmd := exec.Command("runc", "run", "--bundle", bundle, filepath.Base(bundle))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	return cmd.Run()
}

// unpack applies the layers of the first image of an OCI layout (a tar, or
// a directory) to dir.
func unpack(path, dir string) (*ocilayout.Image, error) {
	ctx := context.Background()
	layout, err := ocilayout.Open(path)
	if err != nil {
		return nil, err
	}
	defer layout.Close()
	imgs, err := layout.Images(ctx)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return imgs[0], layout.Unpack(ctx, imgs[0], dir)
}

// writeRuncConfig writes a runc config.json: runc's default spec, with the
// image's process, run as u.
func writeRuncConfig(bundle string, argv, env []string, cwd string, u *user.ExecUser) error {
	cmd := exec.Command("runc", "spec", "--bundle", bundle)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("runc spec: %v: %s", err, out)
	}
	path := filepath.Join(bundle, "config.json")
	dt, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var spec specs.Spec
	if err := json.Unmarshal(dt, &spec); err != nil {
		return fmt.Errorf("runc spec wrote %s: %w", path, err)
	}
	if spec.Process == nil {
		spec.Process = &specs.Process{}
	}
	if cwd == "" {
		cwd = "/"
	}
	spec.Process.Terminal = false
	spec.Process.Args = argv
	spec.Process.Env = env
	spec.Process.Cwd = cwd
	spec.Process.User = specs.User{UID: uint32(u.Uid), GID: uint32(u.Gid)}
	for _, g := range u.Sgids {
		spec.Process.User.AdditionalGids = append(spec.Process.User.AdditionalGids, uint32(g))
	}
	spec.Root = &specs.Root{Path: "rootfs", Readonly: false}
	out, err := json.MarshalIndent(&spec, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o644)
}
