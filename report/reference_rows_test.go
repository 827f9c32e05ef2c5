//go:build !duckdb

package report_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/hive"
	"github.com/lakefuse/lakefuse/report"
	"github.com/lakefuse/lakefuse/schema"
)

// reference computes the answers from whole decoded rows (hive.ScanRows), a
// path independent of the report's column scans and summaries. With -tags
// duckdb, DuckDB answers instead (reference_duckdb_test.go).
func reference(t *testing.T, dir string) *answers {
	t.Helper()
	ctx := context.Background()
	b, err := bucket.Open(ctx, dir, bucket.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	l, err := hive.Open(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	a := newAnswers("decoded rows (build with -tags duckdb to ask DuckDB)")
	names := map[string]int64{}
	err = hive.ScanRows(ctx, l, func(p hive.Partition, r *schema.Trace) error {
		a.traces[p.Date]++
		name := report.Unnamed
		if r.Name != nil {
			name = *r.Name
			if name == "" {
				name = report.EmptyName
			}
		}
		names[name]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	a.traceNames = sortNames(names)
	lat := map[string][]float64{}
	err = hive.ScanRows(ctx, l, func(p hive.Partition, r *schema.Observation) error {
		a.observations++
		inc(a.obsByType, p.Date, r.Type, 1)
		inc(a.levels, p.Date, r.Level, 1)
		if r.TotalCost != nil {
			model := report.NoModel
			if r.ProvidedModelName != nil {
				model = *r.ProvidedModelName
			}
			inc(a.costByModel, p.Date, model, *r.TotalCost)
			a.cost += *r.TotalCost
		}
		for k, v := range r.UsageDetails {
			switch {
			case k == "input" || strings.HasPrefix(k, "input_"):
				a.tokensIn[p.Date] += v
			case k == "output" || strings.HasPrefix(k, "output_"):
				a.tokensOut[p.Date] += v
			}
		}
		if r.Type == "GENERATION" {
			a.generations++
			if r.EndTime != nil {
				lat[p.Date] = append(lat[p.Date], float64(max(0, r.EndTime.UnixMicro()-r.StartTime.UnixMicro()))/1000)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for day, v := range lat {
		slices.Sort(v)
		n := float64(len(v))
		var q [3]float64
		for i, p := range []float64{0.5, 0.9, 0.99} {
			// DuckDB's quantile_disc: the value of rank ⌈p·n⌉−1.
			rank := max(1, len(v)-int(n-n*p)) - 1
			q[i] = v[rank]
		}
		a.latencyMs[day] = q
	}
	err = hive.ScanRows(ctx, l, func(p hive.Partition, r *schema.Score) error {
		a.scoreCount[r.Name]++
		switch r.DataType {
		case "NUMERIC":
			if r.Value != nil {
				a.scoreValues[r.Name] = append(a.scoreValues[r.Name], *r.Value)
			}
		case "BOOLEAN", "CATEGORICAL":
			v := report.Unnamed
			if r.StringValue != nil {
				v = *r.StringValue
			} else if r.Value != nil {
				v = fmt.Sprint(*r.Value)
			}
			if a.scoreCats[r.Name] == nil {
				a.scoreCats[r.Name] = map[string]int64{}
			}
			a.scoreCats[r.Name][v]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}
