// Command lsgen writes a generated LangSmith bulk export, for measuring
// `lakefuse convert langsmith` on realistic volumes:
//
//	go run ./internal/lsfixture/lsgen -dir /tmp/export -runs 1000000
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/internal/lsfixture"
)

func main() {
	dir := flag.String("dir", "", "directory (or location) to write the export into")
	runs := flag.Int("runs", 100000, "runs to generate")
	seed := flag.Uint64("seed", 1, "generator seed")
	format := flag.String("format", "v2_beta", "v1 or v2_beta")
	payload := flag.Int("payload", 256, "bytes of padding in inputs and outputs")
	perFile := flag.Int("rows-per-file", 50000, "rows per Parquet file")
	every := flag.Duration("trace-every", 20*time.Second, "time between trace starts")
	stream := flag.Int("stream-tokens", 20, "new_token events of streaming LLM runs")
	rowGroup := flag.Int("row-group-rows", 5000, "rows per Parquet row group")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "lsgen: -dir is required")
		os.Exit(2)
	}
	if err := run(*dir, *runs, *seed, *format, *payload, *perFile, *rowGroup, *every, *stream); err != nil {
		fmt.Fprintln(os.Stderr, "lsgen:", err)
		os.Exit(1)
	}
}

func run(dir string, runs int, seed uint64, format string, payload, perFile, rowGroup int, every time.Duration, stream int) error {
	ctx := context.Background()
	b, err := bucket.Open(ctx, dir, bucket.Options{})
	if err != nil {
		return err
	}
	defer b.Close()
	f := lsfixture.V2Beta()
	if format == "v1" {
		f = lsfixture.V1()
	}
	f.RowGroupRows = rowGroup
	opts := lsfixture.GenOptions{Seed: seed, Runs: runs, TraceEvery: every, PayloadBytes: payload, StreamTokens: stream, ErrorEvery: 50, Threads: 1000}
	st, err := lsfixture.WriteExport(ctx, b, lsfixture.Generate(opts), lsfixture.ExportOptions{
		Layout: lsfixture.Layout{ExportID: "0f6b1f5e-0000-4000-8000-000000000001", TenantID: "7d4c0a8e-0000-4000-8000-000000000002", SessionID: "3a9e2b1c-0000-4000-8000-000000000003"},
		Format: f, RowsPerFile: perFile,
	})
	if err != nil {
		return err
	}
	fmt.Printf("wrote %d runs in %d files to %s\n", st.Runs, st.Files, dir)
	return nil
}
