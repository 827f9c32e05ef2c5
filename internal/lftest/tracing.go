package lftest

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"strings"
	"time"
)

// tracing is where a project's traces and observations live. Two
// implementations exist: memTracing (everything in memory, writable) and
// lazyTracing (a generated project whose rows are regenerated on demand).
//
// Observations are addressed by their position in the canonical order of the
// v2 observations API: start_time DESC, xxHash32(trace_id) DESC, id DESC.
// Traces are addressed by their position in timestamp DESC, id DESC order.
type tracing interface {
	obsLen() int
	obsAt(i int) *Observation
	keyAt(i int) obsKey // keyOf(obsAt(i)), without decoding the row
	traceLen() int
	traceAt(i int) *Trace
	trace(id string) *Trace
	traceObservations(id string) []*Observation // canonical order
	observation(id string) *Observation
}

// obsKey is the canonical sort key of an observation.
type obsKey struct {
	startMs int64
	hash    uint32
	id      string
}

func keyOf(o *Observation) obsKey {
	return obsKey{o.StartTime.UnixMilli(), o.traceHash, o.ID}
}

// before reports whether a sorts before b in canonical (descending) order.
func (a obsKey) before(b obsKey) bool {
	if a.startMs != b.startMs {
		return a.startMs > b.startMs
	}
	if a.hash != b.hash {
		return a.hash > b.hash
	}
	return a.id > b.id
}

// searchAfter returns the index of the first observation that sorts after k.
func searchAfter(t tracing, k obsKey) int {
	lo, hi := 0, t.obsLen()
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if mk := t.keyAt(m); k.before(mk) || k == mk {
			hi = m
		} else {
			lo = m + 1
		}
	}
	// Skip rows equal to k (duplicates of the cursor row were on the page).
	for lo < t.obsLen() && t.keyAt(lo) == k {
		lo++
	}
	return lo
}

// searchStart returns the index of the first observation whose start time is
// before t (exclusive bound), i.e. the start of rows with start < t.
func searchStartBefore(tr tracing, t time.Time) int {
	ms := t.UnixMilli()
	if t.Sub(time.UnixMilli(ms)) > 0 {
		ms++ // a sub-millisecond bound: rows at ms are still before it
	}
	lo, hi := 0, tr.obsLen()
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if tr.keyAt(m).startMs >= ms {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// obsRange returns the index range [lo, hi) of observations with
// from <= start_time < to (zero times are open bounds).
func obsRange(tr tracing, from, to time.Time) (int, int) {
	lo, hi := 0, tr.obsLen()
	if !to.IsZero() {
		lo = searchStartBefore(tr, to)
	}
	if !from.IsZero() {
		hi = searchStartBefore(tr, from)
	}
	if hi < lo {
		hi = lo
	}
	return lo, hi
}

// upsertTrace stores t, merging it into an existing trace with the same id:
// fields t sets win, as later spans' trace attributes do on ingestion.
// Nothing of t is kept but its encoding (its strings may point into a
// request body).
func (m *memTracing) upsertTrace(t *Trace) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	num := m.traceNumber(t.ID)
	old, err := m.traceRecord(num)
	if err != nil {
		return err
	}
	if old.t == nil {
		return m.putTrace(num, t, old)
	}
	cp := *old.t
	mergeTrace(&cp, t)
	// Payloads the update sets are stored anew; the others keep their
	// stored encoding.
	for i, p := range []Payload{t.Input, t.Output, t.Metadata} {
		if !p.IsNull() {
			old.raws[i] = ""
		}
	}
	return m.putTrace(num, &cp, old)
}

// fillTimestamp gives trace id, when it has a record without a
// timestamp, the timestamp ts. m.mu is held.
func (m *memTracing) fillTimestamp(id string, ts time.Time) error {
	num, ok := m.traceNum[id]
	if !ok || m.locs[num].n == 0 || m.locs[num].ts != noTime {
		return nil
	}
	old, err := m.traceRecord(num)
	if err != nil {
		return err
	}
	t := *old.t
	t.Timestamp = ts
	return m.putTrace(num, &t, old)
}

func mergeTrace(dst, src *Trace) {
	if !src.Timestamp.IsZero() {
		dst.Timestamp = src.Timestamp
	}
	setStr := func(d **string, s *string) {
		if s != nil {
			*d = s
		}
	}
	setStr(&dst.Name, src.Name)
	setStr(&dst.UserID, src.UserID)
	setStr(&dst.SessionID, src.SessionID)
	setStr(&dst.Release, src.Release)
	setStr(&dst.Version, src.Version)
	if src.Environment != "" {
		dst.Environment = src.Environment
	}
	if len(src.Tags) > 0 {
		dst.Tags = src.Tags
	}
	dst.Public = dst.Public || src.Public
	dst.Bookmarked = dst.Bookmarked || src.Bookmarked
	for _, p := range []struct{ d, s *Payload }{{&dst.Input, &src.Input}, {&dst.Output, &src.Output}, {&dst.Metadata, &src.Metadata}} {
		if !p.s.IsNull() {
			*p.d = *p.s
		}
	}
	if !src.UpdatedAt.IsZero() {
		dst.UpdatedAt = src.UpdatedAt
	}
}

// xxh32String is ClickHouse's xxHash32 of s with seed 0.
func xxh32String(s string) uint32 { return xxh32([]byte(s), 0) }

func xxh32(b []byte, seed uint32) uint32 {
	const (
		p1 uint32 = 2654435761
		p2 uint32 = 2246822519
		p3 uint32 = 3266489917
		p4 uint32 = 668265263
		p5 uint32 = 374761393
	)
	round := func(acc, in uint32) uint32 { return bits.RotateLeft32(acc+in*p2, 13) * p1 }
	n := len(b)
	var h uint32
	i := 0
	if n >= 16 {
		v1, v2, v3, v4 := seed+p1+p2, seed+p2, seed, seed-p1
		for ; i+16 <= n; i += 16 {
			v1 = round(v1, binary.LittleEndian.Uint32(b[i:]))
			v2 = round(v2, binary.LittleEndian.Uint32(b[i+4:]))
			v3 = round(v3, binary.LittleEndian.Uint32(b[i+8:]))
			v4 = round(v4, binary.LittleEndian.Uint32(b[i+12:]))
		}
		h = bits.RotateLeft32(v1, 1) + bits.RotateLeft32(v2, 7) + bits.RotateLeft32(v3, 12) + bits.RotateLeft32(v4, 18)
	} else {
		h = seed + p5
	}
	h += uint32(n)
	for ; i+4 <= n; i += 4 {
		h += binary.LittleEndian.Uint32(b[i:]) * p3
		h = bits.RotateLeft32(h, 17) * p4
	}
	for ; i < n; i++ {
		h += uint32(b[i]) * p5
		h = bits.RotateLeft32(h, 11) * p1
	}
	h ^= h >> 15
	h *= p2
	h ^= h >> 13
	h *= p3
	h ^= h >> 16
	return h
}

// hasAllTags reports whether tags contains every tag of want.
func hasAllTags(tags, want []string) bool {
	for _, w := range want {
		if !slices.Contains(tags, w) {
			return false
		}
	}
	return true
}

func strOr(p *string, def string) string {
	if p == nil {
		return def
	}
	return *p
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// AggregateTrace returns the trace-level values Langfuse v4 derives from a
// trace's rows (EVENTS_AGGREGATION_FIELDS in
// packages/shared/src/server/queries/clickhouse-sql/event-query-builder.ts,
// eventsTableTraceNameAggregationSql in packages/shared/src/eventsTable.ts):
//
//   - timestamp: the earliest start time;
//   - user, session, release, version, environment: argMaxIf(x, event_ts, x is not empty),
//     the value of the latest row that has one;
//   - tags: the latest non-empty tags; public: any row's;
//   - name: the latest non-empty trace name, else the latest non-empty name
//     of a root row;
//   - input, output, metadata, bookmarked: the latest row without a parent.
//
// event_ts (when the row was written) is not served; UpdatedAt stands for
// it, and of rows with equal UpdatedAt the first in obs wins. obs are the
// trace's rows in any fixed order; nil when there are none.
func AggregateTrace(obs []*Observation) *Trace {
	if len(obs) == 0 {
		return nil
	}
	t := &Trace{ID: obs[0].TraceID}
	type pick struct {
		at  time.Time
		set bool
	}
	var name, rootName, user, session, release, version, env, tags, root pick
	var traceName, ownName *string
	take := func(p *pick, o *Observation) bool {
		if p.set && !o.UpdatedAt.After(p.at) {
			return false
		}
		p.at, p.set = o.UpdatedAt, true
		return true
	}
	nonEmpty := func(s *string) bool { return s != nil && *s != "" }
	for _, o := range obs {
		if t.Timestamp.IsZero() || o.StartTime.Before(t.Timestamp) {
			t.Timestamp = o.StartTime
		}
		if nonEmpty(o.TraceName) && take(&name, o) {
			traceName = o.TraceName
		}
		if o.IsRoot() && nonEmpty(o.Name) && take(&rootName, o) {
			ownName = o.Name
		}
		if nonEmpty(o.UserID) && take(&user, o) {
			t.UserID = o.UserID
		}
		if nonEmpty(o.SessionID) && take(&session, o) {
			t.SessionID = o.SessionID
		}
		if nonEmpty(o.Release) && take(&release, o) {
			t.Release = o.Release
		}
		if nonEmpty(o.Version) && take(&version, o) {
			t.Version = o.Version
		}
		if o.Environment != "" && take(&env, o) {
			t.Environment = o.Environment
		}
		if len(o.Tags) > 0 && take(&tags, o) {
			t.Tags = o.Tags
		}
		t.Public = t.Public || o.Public
		if o.ParentObservationID == "" && take(&root, o) {
			t.Input, t.Output, t.Metadata, t.Bookmarked = o.Input, o.Output, o.Metadata, o.Bookmarked
		}
	}
	t.Name = traceName
	if t.Name == nil {
		t.Name = ownName
	}
	return t
}

func cmpKey(a, b obsKey) int {
	switch {
	case a.before(b):
		return -1
	case b.before(a):
		return 1
	}
	return 0
}
