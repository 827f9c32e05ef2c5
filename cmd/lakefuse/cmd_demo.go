package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/hive"
	"github.com/lakefuse/lakefuse/internal/sample"
)

// DemoCmd runs the whole job offline.
type DemoCmd struct {
	Dir  string `help:"Where to write the demo lake." default:"lakefuse-demo"`
	Rows int    `help:"Rows per table in the sample lake." default:"500"`
}

// Run writes a generated sample lake and summarises it.
func (c *DemoCmd) Run(g *Globals) error {
	abs, err := filepath.Abs(c.Dir)
	if err != nil {
		return err
	}
	b, err := bucket.Open(g.Ctx, abs, bucket.Options{Logger: g.Log})
	if err != nil {
		return err
	}
	defer b.Close()
	run, err := hive.NewRun(g.Ctx, b, hive.RunOptions{
		Kind: "sample", Tool: hive.Tool{Name: "lakefuse", Version: toolVersion()}, Logger: g.Log,
		Source: hive.Source{Kind: "generated", ProjectID: "demo-project"},
	})
	if err != nil {
		return err
	}
	if err := sample.Write(g.Ctx, run, "demo-project", c.Rows, sample.Options{PayloadBytes: 256, Step: 12 * time.Minute}); err != nil {
		_ = run.Abort(g.Ctx)
		return err
	}
	if _, err := run.Commit(g.Ctx); err != nil {
		_ = run.Abort(g.Ctx)
		return err
	}
	out, err := summarise(g.Ctx, b, false)
	if err != nil {
		return err
	}
	if err := printSummary(g.Stdout, out, false); err != nil {
		return err
	}
	fmt.Fprintf(g.Stdout, "\nTry it in DuckDB:\n\n  SELECT dt, type, count(*) AS n\n  FROM read_parquet('%s/observations/**/*.parquet', hive_partitioning = true)\n  GROUP BY ALL ORDER BY ALL;\n", abs)
	return nil
}
