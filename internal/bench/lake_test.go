package bench

import (
	"context"
	"flag"
	"testing"
)

var benchRows = flag.Int("rows", 100_000, "observation rows for BenchmarkLake")

// BenchmarkLake writes and reads -rows observations of about 2 KB of JSON
// each. Peak memory is measured by `lakefuse bench`, one process per size.
func BenchmarkLake(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		dir := b.TempDir()
		w, err := WriteObservations(ctx, dir, *benchRows, 2000)
		if err != nil {
			b.Fatal(err)
		}
		r, err := ReadObservations(ctx, dir)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(w.RowsPerSec(), "write-rows/s")
		b.ReportMetric(w.MBPerSec(), "write-MB/s")
		b.ReportMetric(r.RowsPerSec(), "read-rows/s")
		b.ReportMetric(r.MBPerSec(), "read-MB/s")
	}
}

func TestLakeRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w, err := WriteObservations(ctx, dir, 3000, 2000)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ReadObservations(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Rows != w.Rows || r.Bytes != w.Bytes || w.Bytes < 3000*1800 {
		t.Fatalf("wrote %+v, read %+v", w, r)
	}
}
