//go:build !gatewayonly

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/ohlcv-rag/ohlcv-build/schema"
)

// runSchema prints the JSON Schema of ohlcv.build.yaml (docs/editors.md),
// as committed in schema/: frontend schema > ohlcv.build.schema.json.
func runSchema(w io.Writer, args []string) error {
	fs := flag.NewFlagSet("frontend schema", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: frontend schema\n\nPrints the JSON Schema (draft 2020-12) of %s, also served at\n%s\n", "ohlcv.build.yaml", schema.URL)
	}
	rest, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		fs.Usage()
		return fmt.Errorf("frontend schema takes no arguments, got %q", rest)
	}
	_, err = w.Write(schema.JSON())
	return err
}
