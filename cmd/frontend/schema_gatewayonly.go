//go:build gatewayonly

package main

import (
	"errors"
	"io"
)

// runSchema is left out of the frontend image (built with -tags
// gatewayonly), whose build context holds no schema/ directory.
func runSchema(io.Writer, []string) error {
	return errors.New("this frontend binary serves the BuildKit gateway only; run `go run ./cmd/frontend schema` from the repository, or read schema/ohlcv.build.schema.json")
}
