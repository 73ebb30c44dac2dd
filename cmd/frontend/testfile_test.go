package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// test-file writes an empty result for a passing check and the failure for
// a failing one, and fails only when it cannot check.
func TestRunTestFile(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "app"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	result := filepath.Join(t.TempDir(), "result")
	for check, want := range map[string]string{
		`{"path":"/app","content":{"contains":"hell"}}`: "",
		`{"path":"/missing"}`:                           "expected /missing to exist, found nothing there",
	} {
		if err := runTestFile(context.Background(), []string{root, result, check}); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(result)
		if err != nil || string(got) != want {
			t.Errorf("%s: result %q, %v; want %q", check, got, err, want)
		}
	}
	if err := runTestFile(context.Background(), []string{root, result, "{"}); err == nil {
		t.Error("a check that is not JSON is not an error")
	}
}
