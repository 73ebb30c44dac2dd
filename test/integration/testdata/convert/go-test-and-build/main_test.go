package main

import (
	"bufio"
	"strings"
	"testing"
)

func TestCount(t *testing.T) {
	if n := count(bufio.NewScanner(strings.NewReader("a b c"))); n != 1 {
		t.Fatalf("lines: %d", n)
	}
}
