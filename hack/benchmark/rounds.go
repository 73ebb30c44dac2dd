package main

import (
	"fmt"
	"slices"
	"time"
)

// side is one side of a timed figure: each round's wall time and the work
// its builds did, read from their progress.
type side struct {
	name  string // what was built, for the work table
	times []time.Duration
	works []work
	last  []*progress // the last round's builds
}

// add records a round: its wall time and the progress of its builds.
func (s *side) add(d time.Duration, ps ...*progress) {
	s.times = append(s.times, d)
	s.works = append(s.works, workOf(ps...))
	s.last = ps
}

// lastExecs are the execs that ran in the last round.
func (s *side) lastExecs() []string {
	var out []string
	for _, p := range s.last {
		out = append(out, p.execsRun()...)
	}
	return out
}

// mid is the median round.
func (s *side) mid() int {
	idx := make([]int, len(s.times))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return int(s.times[a] - s.times[b]) })
	return idx[len(idx)/2]
}

func (s *side) median() time.Duration { return s.times[s.mid()] }

// work is the work of the median round.
func (s *side) work() work { return s.works[s.mid()] }

// String is the median wall time with the least and the most.
func (s *side) String() string {
	return fmt.Sprintf("%s (%s–%s)", secs(s.median()), secs(slices.Min(s.times)), secs(slices.Max(s.times)))
}

// timed fills in a figure from two sides measured in the same rounds: the
// ratio of their medians, and whether it is within limit.
func timed(f *figure, ours, peer *side, limit float64) *figure {
	f.sides = []*side{ours, peer}
	f.ours, f.peer = ours.String(), peer.String()
	f.ratio = ours.median().Seconds() / peer.median().Seconds()
	f.met = f.ratio <= limit
	return f
}

// paired runs one round of two builds, ours and the peer's, in an order
// that alternates with the round so neither always goes first, and adds
// each to its side.
func paired(round int, ours, peer *side, runOurs, runPeer run) error {
	steps := []func() error{
		func() error { return record(ours, runOurs) },
		func() error { return record(peer, runPeer) },
	}
	if round%2 == 1 {
		steps[0], steps[1] = steps[1], steps[0]
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// record runs builds and adds them to s.
func record(s *side, r run) error {
	d, ps, err := r()
	if err != nil {
		return err
	}
	s.add(d, ps...)
	return nil
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
