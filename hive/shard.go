package hive

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/lakefuse/lakefuse/schema"
)

// Shard identifies one shard of a sharded export in its manifest.
type Shard struct {
	// Index counts from 1 to Count.
	Index int `json:"index"`
	Count int `json:"count"`
	// Window is the window of the whole export, split by ShardWindow.
	Window Window `json:"window"`
}

const day = 24 * time.Hour

// ShardWindow returns the part [f, t) of the window [from, to) that shard i
// of n (counted from 1) exports. from and to must be UTC midnights and the
// window at least n days long. The parts are whole UTC days, so that each
// dt partition belongs to exactly one shard; they are disjoint, in order,
// their union is the window, and their lengths differ by at most one day.
func ShardWindow(from, to time.Time, i, n int) (f, t time.Time) {
	days := int(to.Sub(from) / day)
	at := func(k int) time.Time { return from.Add(time.Duration(k*days/n) * day) }
	return at(i - 1), at(i)
}

// ShardGap is a sharded export some of whose shards have not committed.
type ShardGap struct {
	Source Source
	Count  int
	Window Window
	// Missing are the shards (from 1) without a committed run, and Have
	// those with one.
	Missing, Have []int

	first  time.Time       // the first shard's commit
	tables map[string]bool // tables the shards exported
}

func (g ShardGap) String() string {
	var parts []string
	for _, i := range g.Missing {
		f, t := ShardWindow(*g.Window.From, *g.Window.To, i, g.Count)
		parts = append(parts, fmt.Sprintf("shard %d/%d (%s – %s)", i, g.Count, DateOf(f), DateOf(t.Add(-time.Nanosecond))))
	}
	return fmt.Sprintf("sharded export of project %s from %s, %s – %s in %d shards: %s not committed",
		g.Source.ProjectID, g.Source.URL, DateOf(*g.Window.From), DateOf(g.Window.To.Add(-time.Nanosecond)), g.Count,
		strings.Join(parts, ", "))
}

// IncompleteShards reports sharded exports of which some shard never
// committed: the days of that shard's part are missing from the lake, or
// hold what an earlier run left there. A shard's part counts as done when
// a later unsharded export of the same project covered it (a window holding
// it, every time-partitioned table of the shards).
// Runs of one sharded export are those that record the same source,
// number of shards and window; a repeated sharded export of the same
// window counts as the same one.
func (l *Lake) IncompleteShards() []ShardGap {
	type key struct {
		url, project string
		count        int
		from, to     int64
	}
	groups := map[key]*ShardGap{}
	var keys []key
	for _, m := range l.Manifests {
		s := m.Shard
		if s == nil || s.Window.From == nil || s.Window.To == nil || s.Count < 1 {
			continue
		}
		k := key{m.Source.URL, m.Source.ProjectID, s.Count, s.Window.From.UnixNano(), s.Window.To.UnixNano()}
		g := groups[k]
		if g == nil {
			g = &ShardGap{Source: m.Source, Count: s.Count, Window: s.Window, first: m.CommittedAt, tables: map[string]bool{}}
			groups[k] = g
			keys = append(keys, k)
		}
		g.Have = append(g.Have, s.Index)
		if m.CommittedAt.Before(g.first) {
			g.first = m.CommittedAt
		}
		for t := range m.Tables {
			g.tables[t] = true
		}
	}
	var out []ShardGap
	for _, k := range keys {
		g := groups[k]
		sort.Ints(g.Have)
		g.Have = compactInts(g.Have)
		for i := 1; i <= g.Count; i++ {
			if _, found := sort.Find(len(g.Have), func(j int) int { return i - g.Have[j] }); found {
				continue
			}
			f, t := ShardWindow(*g.Window.From, *g.Window.To, i, g.Count)
			if !l.covered(g, f, t) {
				g.Missing = append(g.Missing, i)
			}
		}
		if len(g.Missing) > 0 {
			out = append(out, *g)
		}
	}
	return out
}

// covered reports whether an unsharded export of g's project, committed
// after g's first shard, covered [from, to) with every table of g that is
// partitioned by time.
func (l *Lake) covered(g *ShardGap, from, to time.Time) bool {
	for _, m := range l.Manifests {
		if m.Kind != "export" || m.Shard != nil || m.Source.URL != g.Source.URL || m.Source.ProjectID != g.Source.ProjectID ||
			!m.CommittedAt.After(g.first) {
			continue
		}
		w := m.Window
		if (w.From != nil && w.From.After(from)) || (w.To != nil && w.To.Before(to)) {
			continue
		}
		all := true
		for t := range g.tables {
			if tab, err := schema.Lookup(t); err == nil && tab.Partitioned() {
				if _, ok := m.Tables[t]; !ok {
					all = false
				}
			}
		}
		if all {
			return true
		}
	}
	return false
}

func compactInts(s []int) []int {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
