package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConvertCommand: convert writes DIR/ohlcv.build.yaml, never over an
// existing one unless -o names it, prints to stdout with -o -, and writes
// nothing when the Dockerfile does not convert.
func TestConvertCommand(t *testing.T) {
	dir := t.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	if err := os.WriteFile(df, []byte("FROM busybox AS app\nRUN echo hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if err := runConvert(&stdout, &stderr, []string{dir}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "ohlcv.build.yaml")
	written, err := os.ReadFile(out)
	if err != nil || !strings.HasPrefix(string(written), "# syntax=ghcr.io/ohlcv-rag/ohlcv-build:1\n") || !strings.Contains(string(written), "run: echo hi") {
		t.Fatalf("%s: %v\n%s", out, err, written)
	}
	if err := runConvert(&stdout, &stderr, []string{dir}); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("overwrote the spec without -o: %v", err)
	}
	stdout.Reset()
	if err := runConvert(&stdout, &stderr, []string{"-o", "-", dir}); err != nil || stdout.String() != string(written) {
		t.Errorf("-o - printed %q, %v", stdout.String(), err)
	}
	if err := os.WriteFile(df, []byte("FROM busybox\nONBUILD RUN x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = runConvert(&stdout, &stderr, []string{"-o", "new.build.yaml", dir})
	if err == nil || !strings.Contains(err.Error(), "Dockerfile:2: cannot convert ONBUILD") {
		t.Errorf("err = %v, want the ONBUILD line", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "new.build.yaml")); !os.IsNotExist(err) {
		t.Errorf("a failed conversion wrote a file: %v", err)
	}
}
