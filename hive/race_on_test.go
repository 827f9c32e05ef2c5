//go:build race

package hive

// raceEnabled: the race detector makes sync.Pool drop a quarter of the
// buffers put into it at random, so allocation counts through a pool mean
// nothing under -race.
const raceEnabled = true
