package hive

import (
	"context"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
)

// BenchmarkPublish measures what moving a committed run's files from
// staging into place costs at commit, per file, on a local disk (a rename)
// and in memory. On S3 each file is a server-side copy and a delete.
func BenchmarkPublish(b *testing.B) {
	for _, store := range []string{"local", "memory"} {
		b.Run(store, func(b *testing.B) {
			ctx := context.Background()
			var total time.Duration
			files := 0
			for range b.N {
				b.StopTimer()
				var bk bucket.Bucket = bucket.NewMemory()
				if store == "local" {
					bk, _ = bucket.NewLocal(b.TempDir())
				}
				evs := genEvents(20000)
				r, err := NewRun(ctx, bk, RunOptions{TargetFileBytes: 64 << 10, MaxOpenFiles: 1})
				if err != nil {
					b.Fatal(err)
				}
				for _, e := range evs {
					if err := r.Append(ctx, eventTable, "p", e); err != nil {
						b.Fatal(err)
					}
				}
				if err := r.Sync(ctx); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				m, err := r.Commit(ctx)
				if err != nil {
					b.Fatal(err)
				}
				total += r.Published().Duration
				files += len(m.Files)
			}
			b.ReportMetric(float64(total.Microseconds())/float64(files), "µs/file")
			b.ReportMetric(float64(files)/float64(b.N), "files/run")
		})
	}
}
