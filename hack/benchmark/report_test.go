package main

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

var digit = regexp.MustCompile(`[0-9]`)

// The page's fixed prose holds no number: every number on the page comes
// from the run that writes it.
func TestProseHasNoNumbers(t *testing.T) {
	prose := map[string]string{"header": headerProse, "misses": missesProse}
	for id, e := range explanations {
		prose["explanation "+id] = e
	}
	for name, p := range prose {
		if m := digit.FindString(p); m != "" {
			t.Errorf("%s holds a number (%q): %s", name, m, p)
		}
	}
}

// Every explanation is filled by the values its figure records.
func TestExplanationsAreFilled(t *testing.T) {
	for id, e := range explanations {
		names := placeholderRe.FindAllString(e, -1)
		values := map[string]string{}
		for _, n := range names {
			values[strings.Trim(n, "{}")] = "X"
		}
		out, err := fill(e, values)
		if err != nil || strings.Contains(out, "{") {
			t.Errorf("%s: %v %q", id, err, out)
		}
	}
	if _, err := fill("a {missing} value", nil); err == nil {
		t.Errorf("a placeholder without a value was filled")
	}
}

// A report shows figure f's time and allocation ratios on rows of their
// own, and explains only the figures that missed.
func TestReportShowsBothRatios(t *testing.T) {
	t.Chdir("../..") // the repository root, as hack/bench runs it
	figs := []*figure{
		{id: "f1", what: "time", ratio: 0.64, target: "≤ 0.2", values: map[string]string{"load": "L"}},
		{id: "f2", what: "allocs", ratio: 1.31, target: "≤ 0.3", values: map[string]string{"load": "L"}},
		{id: "d", what: "noop", ratio: 0.9, target: "≤ 1.0", met: true},
	}
	page, err := report(figs, "`abc`", "0.10, 0.20, 0.30", "0.40, 0.50, 0.60")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| f1 | time |", "| 0.64 |", "| f2 | allocs |", "| 1.31 |", "- **f1**: ", "- **f2**: "} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "- **d**: A no-op") {
		t.Errorf("a figure that met its target was explained")
	}
}

func TestParseBench(t *testing.T) {
	out := `goos: linux
BenchmarkLoadCompile/offline/runtime-2   	    1000	   2000000 ns/op	  500000 B/op	    9000 allocs/op
BenchmarkLoadCompile/offline/runtime-2   	    1000	   1000000 ns/op	  400000 B/op	    8000 allocs/op
BenchmarkLoadCompile/offline/runtime-2   	    1000	   3000000 ns/op	  600000 B/op	   10000 allocs/op
PASS`
	r := parseBench(out)["BenchmarkLoadCompile/offline/runtime"]
	if r.ns != 2e6 || r.bytes != 5e5 || r.allocs != 9000 {
		t.Errorf("medians %+v", r)
	}
	if m := median([]time.Duration{3, 1, 2}); m != 2 {
		t.Errorf("median = %v", m)
	}
	if g := grouped("10000"); g != "10,000" {
		t.Errorf("grouped = %q", g)
	}
}
