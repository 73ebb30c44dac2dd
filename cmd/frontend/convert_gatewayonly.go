//go:build gatewayonly

package main

import (
	"errors"
	"io"
)

// runConvert is left out of the frontend image (built with -tags
// gatewayonly), which needs no Dockerfile reader.
func runConvert(io.Writer, io.Writer, []string) error {
	return errors.New("this frontend binary serves the BuildKit gateway only; use the frontend command of a release archive (docs/release.md), or `go run ./cmd/frontend convert` from the repository")
}
