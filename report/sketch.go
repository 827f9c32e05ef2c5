package report

import (
	"math"
	"sort"
)

// Bounded summaries: each holds a fixed maximum of state whatever the number
// of values added, so that a report of 10M rows needs no more memory than one
// of 10 thousand.

// RelativeAccuracy is the quantile sketch's guarantee: a quantile it reports
// is within this fraction of the true value of the same rank.
const RelativeAccuracy = 0.01

// quantileSketch is a DDSketch-style log-bucketed sketch of non-negative
// values: bucket i holds values in (γ^(i-1), γ^i] with γ = (1+α)/(1-α), so
// the bucket's representative 2γ^i/(γ+1) is within α of every value in it.
// Values from 1 µs to a year need about 1,700 buckets; in practice latencies
// of one day span a few hundred.
type quantileSketch struct {
	zeros  int64 // values ≤ minValue
	offset int   // bucket index of counts[0]
	counts []int64
	n      int64
	min    float64
	max    float64
}

var (
	gamma    = (1 + RelativeAccuracy) / (1 - RelativeAccuracy)
	logGamma = math.Log(gamma)
)

// minValue: values at or below it count as zero (1 ns when values are ms).
const minValue = 1e-6

func (s *quantileSketch) add(v float64) {
	if math.IsNaN(v) {
		return
	}
	if v < 0 {
		v = 0
	}
	if s.n == 0 || v < s.min {
		s.min = v
	}
	if s.n == 0 || v > s.max {
		s.max = v
	}
	s.n++
	if v <= minValue {
		s.zeros++
		return
	}
	i := int(math.Ceil(math.Log(v) / logGamma))
	switch {
	case len(s.counts) == 0:
		s.offset = i
		s.counts = append(s.counts, 0)
	case i < s.offset:
		grow := make([]int64, s.offset-i, s.offset-i+len(s.counts))
		s.counts = append(grow, s.counts...)
		s.offset = i
	case i >= s.offset+len(s.counts):
		s.counts = append(s.counts, make([]int64, i-s.offset-len(s.counts)+1)...)
	}
	s.counts[i-s.offset]++
}

// quantile returns the q-quantile within RelativeAccuracy, NaN when empty.
// The quantile is the value of 0-based rank ⌈q·n⌉−1 (at least 0): the
// smallest value whose share of values at or below it reaches q, which is
// DuckDB's quantile_disc (rank computed the same way, in float64).
func (s *quantileSketch) quantile(q float64) float64 {
	if s.n == 0 {
		return math.NaN()
	}
	rank := quantileRank(q, s.n)
	if rank <= 0 {
		return s.min
	}
	if rank >= s.n-1 {
		return s.max
	}
	if rank < s.zeros {
		return s.min
	}
	seen := s.zeros
	for j, c := range s.counts {
		seen += c
		if seen > rank {
			v := 2 * math.Pow(gamma, float64(j+s.offset)) / (gamma + 1)
			return math.Min(math.Max(v, s.min), s.max)
		}
	}
	return s.max
}

// quantileRank is the 0-based rank of the q-quantile of n values, computed
// as DuckDB computes it for quantile_disc (Interpolator<true>::Index).
func quantileRank(q float64, n int64) int64 {
	floored := int64(math.Floor(float64(n) - float64(n)*q))
	return max(1, n-floored) - 1
}

// histBins is the most bins a histogram keeps; when a value falls outside
// them, the bin width doubles and neighbours merge.
const histBins = 64

// histogram is an exact histogram on a grid that widens as values arrive:
// bin k covers [k·w, (k+1)·w) with w a power of two, and bins merge in aligned
// pairs when w doubles, so each count is exact for the final grid.
type histogram struct {
	w      float64
	start  int64 // grid index of counts[0]
	counts [histBins]int64
	n      int64
	sum    float64
	min    float64
	max    float64
}

func (h *histogram) add(v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	if h.n == 0 {
		// The finest grid that makes sense for v: 1/1024 near zero, else
		// about v/1024, a power of two either way.
		h.w = math.Pow(2, math.Floor(math.Log2(math.Max(math.Abs(v), 1)/1024)))
		h.start = int64(math.Floor(v/h.w)) - histBins/2
		h.min, h.max = v, v
	}
	h.n++
	h.sum += v
	h.min, h.max = math.Min(h.min, v), math.Max(h.max, v)
	k := int64(math.Floor(v / h.w))
	if k < h.start || k >= h.start+histBins {
		h.regrid()
		k = int64(math.Floor(v / h.w))
	}
	h.counts[k-h.start]++
}

// regrid doubles the bin width until [min, max] fits in histBins bins,
// merging aligned bins, and centres the grid on [min, max] so that it can
// grow either way.
func (h *histogram) regrid() {
	w, m := h.w, int64(1)
	for int64(math.Floor(h.max/w))-int64(math.Floor(h.min/w)) >= histBins {
		w *= 2
		m *= 2
	}
	lo, hi := int64(math.Floor(h.min/w)), int64(math.Floor(h.max/w))
	start := floorDiv(lo+hi, 2) - histBins/2
	start = min(max(start, hi-histBins+1), lo)
	var out [histBins]int64
	for i, c := range h.counts {
		if c != 0 {
			out[floorDiv(h.start+int64(i), m)-start] += c
		}
	}
	h.counts, h.start, h.w = out, start, w
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// Bin is one bar of a histogram: values in [Lo, Hi).
type Bin struct {
	Lo    float64 `json:"lo"`
	Hi    float64 `json:"hi"`
	Count int64   `json:"count"`
}

// bins returns the histogram from its first to its last non-empty bin,
// merged in aligned pairs until there are at most max bins.
func (h *histogram) bins(max int) []Bin {
	if h.n == 0 {
		return nil
	}
	w, start := h.w, h.start
	counts := h.counts[:]
	for {
		first, last := -1, -1
		for i, c := range counts {
			if c != 0 {
				if first < 0 {
					first = i
				}
				last = i
			}
		}
		if last-first+1 <= max {
			out := make([]Bin, 0, last-first+1)
			for i := first; i <= last; i++ {
				k := start + int64(i)
				out = append(out, Bin{Lo: float64(k) * w, Hi: float64(k+1) * w, Count: counts[i]})
			}
			return out
		}
		ns := floorDiv(start, 2)
		merged := make([]int64, len(counts)/2+1)
		for i, c := range counts {
			merged[floorDiv(start+int64(i), 2)-ns] += c
		}
		counts, start, w = merged, ns, w*2
	}
}

// topK counts the most frequent strings in bounded space (Metwally et al.'s
// Space-Saving): with at most k distinct strings every count is exact;
// beyond, a string not tracked replaces the least counted one and inherits
// its count, so counts overestimate by at most the evicted count (≤ n/k).
type topK struct {
	k       int
	counts  map[string]*topEntry
	evicted bool
}

type topEntry struct {
	count int64
	err   int64 // overestimate bound
}

func newTopK(k int) *topK { return &topK{k: k, counts: map[string]*topEntry{}} }

func (t *topK) add(s string, n int64) {
	if e, ok := t.counts[s]; ok {
		e.count += n
		return
	}
	if len(t.counts) < t.k {
		t.counts[s] = &topEntry{count: n}
		return
	}
	// Evict the least counted (ties: the smallest string, for determinism).
	// O(k) per eviction keeps the code simple; evictions only happen past k
	// distinct values.
	var minKey string
	var minE *topEntry
	for key, e := range t.counts {
		if minE == nil || e.count < minE.count || (e.count == minE.count && key < minKey) {
			minKey, minE = key, e
		}
	}
	delete(t.counts, minKey)
	t.counts[s] = &topEntry{count: minE.count + n, err: minE.count}
	t.evicted = true
}

// NameCount is one row of a top list.
type NameCount struct {
	Name  string `json:"name"`
	Count int64  `json:"count"`
	// MaxOver is how much Count may overestimate (0: exact).
	MaxOver int64 `json:"max_over,omitempty"`
}

// top returns the n most counted, most first (ties by name).
func (t *topK) top(n int) []NameCount {
	out := make([]NameCount, 0, len(t.counts))
	for k, e := range t.counts {
		out = append(out, NameCount{Name: k, Count: e.count, MaxOver: e.err})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Name < out[j].Name
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}
