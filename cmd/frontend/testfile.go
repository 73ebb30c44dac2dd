package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/filetest"
)

// runTestFile is the step a spec's file test runs (llbgraph.fileTestCommand):
// `frontend test-file ROOT RESULT CHECK` checks CHECK, a filetest.Check as
// JSON, against the image filesystem mounted at ROOT, and writes what is
// wrong to RESULT, an empty file when the test passes. It fails only when
// it cannot check: the frontend reads RESULT and reports a failing test at
// its line in the spec.
func runTestFile(ctx context.Context, args []string) error {
	if len(args) != 3 {
		return errors.New("usage: frontend test-file ROOT RESULT CHECK (the step of a spec's file test)")
	}
	var c filetest.Check
	if err := json.Unmarshal([]byte(args[2]), &c); err != nil {
		return fmt.Errorf("reading the check: %w", err)
	}
	failure, err := filetest.Run(ctx, filetest.Dir(args[0]), c)
	if err != nil {
		return fmt.Errorf("checking %s: %w", c.Path, err)
	}
	return os.WriteFile(args[1], []byte(failure), 0o644)
}
