//go:build !race

package convert

// raceEnabled is set when the tests run with the race detector.
const raceEnabled = false
