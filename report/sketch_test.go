package report

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestQuantileSketchWithinRelativeAccuracy(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	dists := map[string]func() float64{
		"lognormal ms": func() float64 { return math.Exp(r.NormFloat64()*1.5 + 6) },
		"uniform":      func() float64 { return r.Float64() * 1000 },
		"with zeros": func() float64 {
			if r.IntN(5) == 0 {
				return 0
			}
			return r.ExpFloat64() * 50
		},
		"constant": func() float64 { return 42 },
	}
	for name, gen := range dists {
		for _, n := range []int{1, 2, 3, 10, 999, 20000} {
			t.Run(fmt.Sprintf("%s/%d", name, n), func(t *testing.T) {
				var s quantileSketch
				vals := make([]float64, n)
				for i := range vals {
					vals[i] = gen()
					s.add(vals[i])
				}
				slices.Sort(vals)
				for _, q := range []float64{0, 0.01, 0.5, 0.9, 0.99, 1} {
					want := vals[quantileRank(q, int64(n))]
					got := s.quantile(q)
					if math.Abs(got-want) > RelativeAccuracy*want+1e-9 {
						t.Errorf("q=%v: got %v, want %v within %v%%", q, got, want, RelativeAccuracy*100)
					}
				}
				if len(s.counts) > 2000 {
					t.Errorf("%d buckets", len(s.counts))
				}
			})
		}
	}
}

func TestQuantileRankIsInvertedCDF(t *testing.T) {
	for _, c := range []struct {
		q    float64
		n    int64
		want int64
	}{{0.5, 4, 1}, {0.5, 5, 2}, {0.9, 10, 8}, {0.99, 100, 98}, {0.99, 1000, 989}, {0, 7, 0}, {1, 7, 6}, {0.5, 1, 0}} {
		if got := quantileRank(c.q, c.n); got != c.want {
			t.Errorf("quantileRank(%v, %d) = %d, want %d", c.q, c.n, got, c.want)
		}
	}
}

func TestHistogramCountsAreExact(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	dists := map[string]func() float64{
		"unit":      func() float64 { return r.Float64() },
		"unit ends": func() float64 { return float64(r.IntN(2)) },
		"negative":  func() float64 { return -r.Float64() * 300 },
		"spread":    func() float64 { return r.NormFloat64() * 1e6 },
		"one value": func() float64 { return 0.7 },
		"grows left then right": func() func() float64 {
			i := 0
			return func() float64 { i++; return float64(i%2*2-1) * float64(i) }
		}(),
	}
	for name, gen := range dists {
		t.Run(name, func(t *testing.T) {
			var h histogram
			var vals []float64
			for range 5000 {
				v := gen()
				vals = append(vals, v)
				h.add(v)
			}
			bins := h.bins(histogramBars)
			if len(bins) == 0 || len(bins) > histogramBars {
				t.Fatalf("%d bins", len(bins))
			}
			var total int64
			for _, b := range bins {
				var want int64
				for _, v := range vals {
					if v >= b.Lo && v < b.Hi {
						want++
					}
				}
				if b.Count != want {
					t.Errorf("bin [%v, %v): %d, want %d", b.Lo, b.Hi, b.Count, want)
				}
				total += b.Count
			}
			if total != int64(len(vals)) {
				t.Errorf("bins hold %d values, want %d", total, len(vals))
			}
			if bins[0].Lo > h.min || bins[len(bins)-1].Hi <= h.max {
				t.Errorf("bins [%v, %v) do not cover [%v, %v]", bins[0].Lo, bins[len(bins)-1].Hi, h.min, h.max)
			}
		})
	}
}

func TestTopK(t *testing.T) {
	k := newTopK(3)
	for _, s := range []string{"a", "b", "a", "c", "a", "b"} {
		k.add(s, 1)
	}
	got := k.top(2)
	if k.evicted || len(got) != 2 || got[0] != (NameCount{Name: "a", Count: 3}) || got[1] != (NameCount{Name: "b", Count: 2}) {
		t.Fatalf("exact top: %+v (evicted %v)", got, k.evicted)
	}
	// Past k distinct values counts may overestimate, by at most MaxOver,
	// and the heavy hitter stays first.
	k = newTopK(10)
	exact := map[string]int64{}
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 10000 {
		s := "heavy"
		if i%3 != 0 {
			s = fmt.Sprint("n", r.IntN(500))
		}
		exact[s]++
		k.add(s, 1)
	}
	top := k.top(5)
	if top[0].Name != "heavy" || !k.evicted {
		t.Fatalf("top: %+v", top)
	}
	for _, e := range top {
		if e.Count < exact[e.Name] || e.Count-e.MaxOver > exact[e.Name] {
			t.Errorf("%s: %d (max over %d), exact %d", e.Name, e.Count, e.MaxOver, exact[e.Name])
		}
	}
}
