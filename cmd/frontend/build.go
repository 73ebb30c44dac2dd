//go:build !gatewayonly

package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/docker/cli/cli/config"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/cmd/buildctl/build"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/auth/authprovider"
	"github.com/moby/buildkit/session/sshforward/sshprovider"
	"github.com/moby/buildkit/util/progress/progressui"
	"golang.org/x/sync/errgroup"

	"github.com/ohlcv-rag/ohlcv-build/frontend"
)

// list is a repeatable string flag.
type list []string

// String joins the values, for flag's defaults.
func (l *list) String() string { return strings.Join(*l, ",") }

// Set adds a value.
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

// runBuild runs frontend.Build in this process against a buildkitd, with
// buildctl's flags, parsed by buildctl's own helpers.
func runBuild(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("frontend build", flag.ContinueOnError)
	addr := fs.String("addr", envOr("BUILDKIT_HOST", "unix:///run/buildkit/buildkitd.sock"), "buildkitd address")
	progress := fs.String("progress", "auto", "progress output: auto, plain, tty, quiet or rawjson")
	var locals, opts, secrets, ssh, outputs list
	fs.Var(&locals, "local", "a local directory, name=path (context=. and dockerfile=. for a spec in the context)")
	fs.Var(&opts, "opt", "a frontend option, key=value (target=runtime, build-arg:NAME=VALUE, platform=...)")
	fs.Var(&secrets, "secret", "a secret, id=ID,src=FILE or id=ID,env=VAR")
	fs.Var(&ssh, "ssh", "an ssh agent or key to forward, default|ID[=socket|key,...]")
	fs.Var(&outputs, "output", "an output, type=local,dest=DIR or type=image,name=REF,push=true")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(locals) == 0 {
		locals = list{"context=.", "dockerfile=."}
	}
	mounts, err := build.ParseLocal(locals)
	if err != nil {
		return err
	}
	attrs, err := build.ParseOpt(opts)
	if err != nil {
		return err
	}
	exports, err := build.ParseOutput(outputs)
	if err != nil {
		return err
	}
	attachables := []session.Attachable{authprovider.NewDockerAuthProvider(authprovider.DockerAuthProviderConfig{
		AuthConfigProvider: authprovider.LoadAuthConfig(config.LoadDefaultConfigFile(os.Stderr)),
	})}
	if len(secrets) > 0 {
		a, err := build.ParseSecret(secrets)
		if err != nil {
			return err
		}
		attachables = append(attachables, a)
	}
	if len(ssh) > 0 {
		confs, err := build.ParseSSH(ssh)
		if err != nil {
			return err
		}
		a, err := sshprovider.NewSSHAgentProvider(confs)
		if err != nil {
			return err
		}
		attachables = append(attachables, a)
	}
	c, err := client.New(ctx, *addr)
	if err != nil {
		return err
	}
	defer c.Close()
	display, err := progressui.NewDisplay(os.Stderr, progressui.DisplayMode(*progress))
	if err != nil {
		return err
	}
	ch := make(chan *client.SolveStatus)
	eg, ctx := errgroup.WithContext(ctx)
	eg.Go(func() error {
		_, err := c.Build(ctx, client.SolveOpt{
			Exports:       exports,
			LocalMounts:   mounts,
			FrontendAttrs: attrs,
			Session:       attachables,
		}, "ohlcv-build", frontend.Build, ch)
		return err
	})
	eg.Go(func() error {
		_, err := display.UpdateFrom(context.WithoutCancel(ctx), ch)
		return err
	})
	if err := eg.Wait(); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	return nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
