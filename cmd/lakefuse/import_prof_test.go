package main

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/hive"
	"github.com/lakefuse/lakefuse/importer"
	lf "github.com/lakefuse/lakefuse/internal/langfuse"
	"github.com/lakefuse/lakefuse/internal/lftest"
)

// TestImportInProcess imports the lake at LAKEFUSE_PROF_LAKE into the test
// server in this process, for CPU profiles of importer and server together
// (go test -run TestImportInProcess -cpuprofile).
func TestImportInProcess(t *testing.T) {
	dir := os.Getenv("LAKEFUSE_PROF_LAKE")
	if dir == "" {
		t.Skip("set LAKEFUSE_PROF_LAKE to a lake built by TestImportBenchmark")
	}
	ctx := context.Background()
	dst := lftest.NewServer(lftest.Options{})
	defer dst.Close()
	id, pk, sk := dst.AddProject("bench")
	c, err := lf.New(lf.Config{BaseURL: dst.URL(), PublicKey: pk, SecretKey: sk})
	if err != nil {
		t.Fatal(err)
	}
	b, err := bucket.Open(ctx, dir, bucket.Options{})
	if err != nil {
		t.Fatal(err)
	}
	lake, err := hive.Open(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	state, err := bucket.Open(ctx, t.TempDir(), bucket.Options{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := importer.Run(ctx, importer.Options{Client: c, Lake: lake, Tables: []string{"observations"}, State: state}); err != nil {
		t.Fatal(err)
	}
	n := dst.Project(id).Counts().Observations
	t.Logf("%d observations in %v: %.0f spans/s", n, time.Since(start), float64(n)/time.Since(start).Seconds())
}
