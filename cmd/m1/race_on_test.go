//go:build race

package main

// raceEnabled: the race detector multiplies memory use, so tests that
// measure m1's memory do not judge it then.
const raceEnabled = true
