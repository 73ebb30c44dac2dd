package main

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// benchResult is one benchmark's medians.
type benchResult struct{ ns, bytes, allocs float64 }

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(-\d+)?\s+\d+\s+([\d.]+) ns/op\s+([\d.]+) B/op\s+([\d.]+) allocs/op`)

// parseBench returns the median ns/op, B/op and allocs/op of each
// benchmark in go test -bench output.
func parseBench(out string) map[string]benchResult {
	ns, bytes, allocs := map[string][]float64{}, map[string][]float64{}, map[string][]float64{}
	for _, line := range strings.Split(out, "\n") {
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		n, _ := strconv.ParseFloat(m[3], 64)
		by, _ := strconv.ParseFloat(m[4], 64)
		a, _ := strconv.ParseFloat(m[5], 64)
		ns[m[1]], bytes[m[1]], allocs[m[1]] = append(ns[m[1]], n), append(bytes[m[1]], by), append(allocs[m[1]], a)
	}
	res := map[string]benchResult{}
	for k := range ns {
		res[k] = benchResult{median64(ns[k]), median64(bytes[k]), median64(allocs[k])}
	}
	return res
}

func median64(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
