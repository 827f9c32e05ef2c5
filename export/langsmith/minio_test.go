package langsmith

import (
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/hive"
	"github.com/lakefuse/lakefuse/internal/lsfixture"
	"github.com/lakefuse/lakefuse/internal/miniotest"
)

// TestConvertFromMinIO converts an export stored the way a bulk export
// destination stores it (a prefix in a bucket, with the destination's tmp/
// check file) from a real S3 server into a lake on the same server. It
// skips without a minio binary, and fails then when CI=true.
func TestConvertFromMinIO(t *testing.T) {
	srv := miniotest.Start(t)
	srv.Env(t)
	ctx := t.Context()
	opts := bucket.Options{S3Endpoint: srv.Endpoint(), S3PathStyle: true}
	srcName := srv.NewBucket(t, "langsmith-exports")
	srcLoc := "s3://" + srcName + "/bulk"
	src, err := bucket.Open(ctx, srcLoc, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	runs := generate(lsfixture.GenOptions{Seed: 43, Runs: 900, TraceEvery: time.Hour, StreamTokens: 40, ErrorEvery: 9, Unicode: true, Threads: 4})
	st, err := lsfixture.WriteExport(ctx, src, func(yield func(lsfixture.Run) bool) {
		for _, r := range runs {
			if !yield(r) {
				return
			}
		}
	}, lsfixture.ExportOptions{Layout: layout(export1), Format: lsfixture.V1(), RowsPerFile: 250})
	if err != nil {
		t.Fatal(err)
	}
	putBytes(t, src, "tmp/validation-check.parquet", []byte("written by the destination check"))
	// Convert from the export_id= level, as a user pointing at one export would.
	exportLoc := srcLoc + "/export_id=" + export1
	exp, err := bucket.Open(ctx, exportLoc, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer exp.Close()
	dst, err := bucket.Open(ctx, "s3://"+srv.NewBucket(t, "lake")+"/lake", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	c, err := Open(ctx, exp, exportLoc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Stats().Files != st.Files {
		t.Fatalf("%d files listed, %d written", c.Stats().Files, st.Files)
	}
	run, err := hive.NewRun(ctx, dst, hive.RunOptions{Kind: "convert", Source: hive.Source{Kind: "langsmith", URL: exportLoc}})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := c.Convert(ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := run.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	l := readLake(t, dst)
	if int(cs.Runs) != len(runs) || len(l.obs) != len(runs) {
		t.Fatalf("converted %d of %d runs; lake has %d observations", cs.Runs, len(runs), len(l.obs))
	}
	for _, r := range runs {
		o := l.obs[spanHex(r.ID)]
		if str(o.Name) != r.Name || !o.StartTime.Equal(r.StartTime) || l.projects["observations/"+o.ID] != project {
			t.Fatalf("run %s: %+v", r.ID, o)
		}
	}
	if len(l.sessions) != 4 {
		t.Fatalf("sessions %d", len(l.sessions))
	}
}
