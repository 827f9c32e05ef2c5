package langsmith

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/hive"
	"github.com/lakefuse/lakefuse/internal/lsfixture"
)

var benchRuns = flag.Int("runs", 100000, "runs in BenchmarkConvert's export (the issue's figure is 1000000)")

// benchExport writes (once per run count, cached in the temp directory) a
// generated export on disk.
func benchExport(b *testing.B, runs int) string {
	b.Helper()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("lakefuse-bench-langsmith-%d", runs))
	done := filepath.Join(dir, ".complete")
	if _, err := os.Stat(done); err == nil {
		return dir
	}
	_ = os.RemoveAll(dir)
	ctx := context.Background()
	src, err := bucket.Open(ctx, dir, bucket.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	_, err = lsfixture.WriteExport(ctx, src, lsfixture.Generate(lsfixture.GenOptions{
		Seed: 1, Runs: runs, TraceEvery: 20 * time.Second, PayloadBytes: 256, StreamTokens: 20, ErrorEvery: 50, Threads: 1000,
	}), lsfixture.ExportOptions{Layout: layout(export1), Format: lsfixture.V2Beta()})
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(done, nil, 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkConvert converts a generated export of -runs runs from disk into
// a lake on disk and reports runs per second.
func BenchmarkConvert(b *testing.B) {
	dir := benchExport(b, *benchRuns)
	ctx := context.Background()
	src, err := bucket.Open(ctx, dir, bucket.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	var converted int64
	start := time.Now()
	for b.Loop() {
		dst, err := bucket.Open(ctx, b.TempDir(), bucket.Options{})
		if err != nil {
			b.Fatal(err)
		}
		c, err := Open(ctx, src, dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		run, err := hive.NewRun(ctx, dst, hive.RunOptions{Kind: "convert"})
		if err != nil {
			b.Fatal(err)
		}
		st, err := c.Convert(ctx, run)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := run.Commit(ctx); err != nil {
			b.Fatal(err)
		}
		converted += st.Runs
	}
	b.ReportMetric(float64(converted)/time.Since(start).Seconds(), "runs/s")
}
