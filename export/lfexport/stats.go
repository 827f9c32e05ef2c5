package lfexport

import (
	"sort"
	"sync"
	"time"
)

// Stats are the live counters of an export, safe for concurrent use: the
// command polls Snapshot to draw its progress display.
type Stats struct {
	mu       sync.Mutex
	started  time.Time
	phase    string
	rows     map[string]int64
	totals   map[string]int64
	media    int64
	mediaB   int64
	position time.Time // how far back a windowed walk has come
	rangeLo  time.Time
	rangeHi  time.Time
}

// NewStats returns empty counters.
func NewStats() *Stats {
	return &Stats{started: time.Now(), rows: map[string]int64{}, totals: map[string]int64{}}
}

// Snapshot is a copy of the counters at one moment.
type Snapshot struct {
	Elapsed time.Duration
	Phase   string
	// Rows per table written so far in this run (a resumed run counts from
	// where it resumed).
	Rows map[string]int64
	// Totals per table the server announced, when it does (page listings).
	Totals map[string]int64
	// Media objects and bytes downloaded.
	Media, MediaBytes int64
	// Fraction of the time range of the current windowed listing done, in
	// [0, 1]; -1 when unknown.
	Fraction float64
}

// TotalRows sums Rows.
func (s Snapshot) TotalRows() int64 {
	var n int64
	for _, v := range s.Rows {
		n += v
	}
	return n
}

// Tables lists the tables with rows or totals, sorted.
func (s Snapshot) Tables() []string {
	seen := map[string]bool{}
	for k := range s.Rows {
		seen[k] = true
	}
	for k := range s.Totals {
		seen[k] = true
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Snapshot copies the counters.
func (s *Stats) Snapshot() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Snapshot{Elapsed: time.Since(s.started), Phase: s.phase, Rows: map[string]int64{}, Totals: map[string]int64{},
		Media: s.media, MediaBytes: s.mediaB, Fraction: -1}
	for k, v := range s.rows {
		out.Rows[k] = v
	}
	for k, v := range s.totals {
		out.Totals[k] = v
	}
	if !s.rangeLo.IsZero() && s.rangeHi.After(s.rangeLo) && !s.position.IsZero() {
		f := float64(s.rangeHi.Sub(s.position)) / float64(s.rangeHi.Sub(s.rangeLo))
		out.Fraction = min(1, max(0, f))
	}
	return out
}

func (s *Stats) setPhase(p string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.phase = p
	s.mu.Unlock()
}

func (s *Stats) addRows(table string, n int) {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.rows[table] += int64(n)
	s.mu.Unlock()
}

func (s *Stats) addTotal(table string, n int) {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.totals[table] += int64(n)
	s.mu.Unlock()
}

func (s *Stats) addMedia(bytes int64) {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.media++
	s.mediaB += bytes
	s.mu.Unlock()
}

// setWalk records the range of a windowed walk and how far back it has come.
func (s *Stats) setWalk(lo, hi, pos time.Time) {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.rangeLo, s.rangeHi, s.position = lo, hi, pos
	s.mu.Unlock()
}
