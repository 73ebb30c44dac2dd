package convert

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestDocsGapTable keeps the table of what does not convert in
// docs/convert.md in step with the gaps (gaps.go); -update rewrites it.
func TestDocsGapTable(t *testing.T) {
	const path = "../docs/convert.md"
	dt, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("<!-- gaps:begin -->\n| The Dockerfile has | Why it does not convert | Converts once the spec has |\n|---|---|---|\n")
	for _, g := range gaps {
		until := g.until
		if until == "" {
			until = "–"
		}
		b.WriteString("| " + mdCell(g.what) + " | " + mdCell(g.why) + " | " + mdCell(until) + " |\n")
	}
	b.WriteString("<!-- gaps:end -->")
	re := regexp.MustCompile(`(?s)<!-- gaps:begin -->.*<!-- gaps:end -->`)
	if !re.Match(dt) {
		t.Fatalf("%s has no <!-- gaps:begin --> ... <!-- gaps:end --> block", path)
	}
	want := re.ReplaceAllLiteralString(string(dt), b.String())
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if want != string(dt) {
		t.Errorf("the gap table of %s is stale: run go test ./convert -run TestDocsGapTable -update", path)
	}
}

// mdCell escapes text for a Markdown table cell (a bare <<EOF would
// start an HTML tag).
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "<", "&lt;")
}
