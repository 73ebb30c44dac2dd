package llbgraph

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// locationSpec has a step of every kind that emits ops, indented as specs
// are, with a multi-line run whose last line is not ASCII.
const locationSpec = `version: 1
stages:
  base:
    from: busybox:latest
    workdir: /w
    steps:
      - run: echo one > /one
  app:
    from: python:3.11-slim
    steps:
      - copy: {from: base, src: /one, dst: /one, link: true}
      - workdir: /srv
      - parallel:
          - run: echo a > /a
          - apt: [curl]
      - pip: install x
      - run: |
          echo two
          echo "déjà vu"
`

// Every op's source range covers whole lines, as dockerfile2llb's do:
// buildx's debugger stops at a breakpoint set by line alone (column 0)
// only when it is not before the start of the op's first range, so a
// range starting at the YAML value's column would never be hit.
func TestLocationsCoverWholeLines(t *testing.T) {
	res := compile(t, loadSpec(t, locationSpec), testOpt("app"))
	g := marshal(t, res.State)
	lines := strings.Split(locationSpec, "\n")
	lineOf := func(marker string) int {
		for i, l := range lines {
			if strings.Contains(l, marker) {
				return i + 1
			}
		}
		t.Fatalf("no line holds %q", marker)
		return 0
	}
	// Each op, by a part of its progress name, and the lines it must span.
	want := map[string][2]int{
		"[base 1/3] from busybox":   {lineOf("from: busybox"), lineOf("from: busybox")},
		"[base 2/3] workdir":        {lineOf("workdir: /w"), lineOf("workdir: /w")},
		"[base 3/3] run: echo one":  {lineOf("echo one"), lineOf("echo one")},
		"[app 1/6] from python":     {lineOf("from: python"), lineOf("from: python")},
		"[app 2/6] copy: from base": {lineOf("copy: {from: base"), lineOf("copy: {from: base")}, // the copy and its link merge
		"[app 3/6] workdir":         {lineOf("workdir: /srv"), lineOf("workdir: /srv")},
		"parallel 1/2 run":          {lineOf("echo a"), lineOf("echo a")},
		"parallel 2/2 apt":          {lineOf("apt: [curl]"), lineOf("apt: [curl]")},
		"diff":                      {lineOf("parallel:"), lineOf("parallel:")}, // so a breakpoint on a branch stops at its step only
		"parallel: merge":           {lineOf("parallel:"), lineOf("parallel:")},
		"[app 5/6] pip: install x":  {lineOf("pip: install"), lineOf("pip: install")},
		"[app 6/6] run: echo two":   {lineOf("run: |"), lineOf("déjà vu")},
	}
	seen := map[string]bool{}
	for _, d := range g.list {
		locs, ok := g.def.Source.Locations[d.String()]
		if !ok {
			continue
		}
		for _, loc := range locs.Locations {
			for _, r := range loc.Ranges {
				if r.Start.Character != 0 {
					t.Errorf("%s: the range starts at character %d of line %d, not 0", g.name(d), r.Start.Character, r.Start.Line)
				}
				if width := utf8.RuneCountInString(lines[r.End.Line-1]); int(r.End.Character) != width {
					t.Errorf("%s: the range ends at character %d of line %d, not at its end (%d)", g.name(d), r.End.Character, r.End.Line, width)
				}
				for part, span := range want {
					if strings.Contains(g.name(d), part) {
						seen[part] = true
						if int(r.Start.Line) != span[0] || int(r.End.Line) != span[1] {
							t.Errorf("%s: lines %d-%d, want %d-%d", g.name(d), r.Start.Line, r.End.Line, span[0], span[1])
						}
					}
				}
			}
		}
	}
	for part := range want {
		if !seen[part] {
			t.Errorf("no op named %q has a location", part)
		}
	}
}
