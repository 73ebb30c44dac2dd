//go:build gatewayonly

package main

import (
	"context"
	"errors"
)

// runBuild is left out of the frontend image (built with -tags gatewayonly),
// which BuildKit runs as a gateway only: the in-process build mode brings in
// the BuildKit client, sessions and progress display.
func runBuild(context.Context, []string) error {
	return errors.New("this frontend binary serves the BuildKit gateway only; run `go run ./cmd/frontend build` from the repository for the in-process build mode")
}
