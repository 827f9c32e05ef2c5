package lftest

import (
	"sort"
	"sync"
)

// lazyTracing serves a generated project without holding its rows: trace k
// and its observations are regenerated from the seed when read. Only the
// number of observations per trace is kept (prefix sums), so a project with
// a million observations costs a few megabytes.
//
// It relies on a property of the generator in lazy mode: trace k's
// observations all start after trace k+1's, so the canonical observation
// order is trace 0's observations (sorted), then trace 1's, and so on, and
// trace order by timestamp DESC is index order.
type lazyTracing struct {
	pl     *plan
	prefix []int // prefix[k] = observations of traces < k
	// sessionTraces indexes trace indexes by session id (filled once by the
	// generator, read-only afterwards).
	sessionTraces map[string][]int

	mu    sync.Mutex
	cache map[int]*genTrace
	ring  []int // insertion order of cache keys, for eviction
}

// genTrace is one generated trace with its observations in canonical order.
type genTrace struct {
	t   *Trace
	obs []*Observation
}

const lazyCacheSize = 512

func newLazyTracing(pl *plan) *lazyTracing {
	prefix := make([]int, len(pl.counts)+1)
	for k, c := range pl.counts {
		prefix[k+1] = prefix[k] + c
	}
	return &lazyTracing{pl: pl, prefix: prefix, cache: map[int]*genTrace{}, sessionTraces: map[string][]int{}}
}

func (l *lazyTracing) get(k int) *genTrace {
	l.mu.Lock()
	if g, ok := l.cache[k]; ok {
		l.mu.Unlock()
		return g
	}
	l.mu.Unlock()
	g := l.pl.genTrace(k)
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ring) >= lazyCacheSize {
		delete(l.cache, l.ring[0])
		l.ring = l.ring[1:]
	}
	l.cache[k] = g
	l.ring = append(l.ring, k)
	return g
}

func (l *lazyTracing) obsLen() int { return l.prefix[len(l.prefix)-1] }

func (l *lazyTracing) obsAt(i int) *Observation {
	k := sort.Search(len(l.pl.counts), func(k int) bool { return l.prefix[k+1] > i })
	return l.get(k).obs[i-l.prefix[k]]
}

func (l *lazyTracing) keyAt(i int) obsKey { return keyOf(l.obsAt(i)) }

func (l *lazyTracing) traceLen() int          { return len(l.pl.counts) }
func (l *lazyTracing) traceAt(i int) *Trace   { return l.get(i).t }
func (l *lazyTracing) trace(id string) *Trace { return l.byTraceID(id).tOrNil() }

func (l *lazyTracing) traceObservations(id string) []*Observation {
	if g := l.byTraceID(id); g != nil {
		return g.obs
	}
	return nil
}

func (l *lazyTracing) byTraceID(id string) *genTrace {
	k, ok := l.pl.traceIndex(id)
	if !ok {
		return nil
	}
	return l.get(k)
}

func (g *genTrace) tOrNil() *Trace {
	if g == nil {
		return nil
	}
	return g.t
}

func (l *lazyTracing) observation(id string) *Observation {
	k, ok := l.pl.obsTraceIndex(id)
	if !ok {
		return nil
	}
	for _, o := range l.get(k).obs {
		if o.ID == id {
			return o
		}
	}
	return nil
}
