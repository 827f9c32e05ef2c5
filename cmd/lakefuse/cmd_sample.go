package main

import (
	"time"

	"github.com/lakefuse/lakefuse/hive"
	"github.com/lakefuse/lakefuse/internal/sample"
)

// SampleCmd writes a lake of generated rows for every table, through the
// same writer as export. Hidden: it is for tests and for trying queries.
type SampleCmd struct {
	Location string `arg:"" help:"Where to write the sample lake."`
	Rows     int    `help:"Rows per table." default:"40"`
	Project  string `help:"Project id of the rows." default:"sample-project"`
	BucketFlags
}

// Run writes and commits the sample lake.
func (c *SampleCmd) Run(g *Globals) error {
	b, err := c.Open(g, c.Location)
	if err != nil {
		return err
	}
	defer b.Close()
	run, err := hive.NewRun(g.Ctx, b, hive.RunOptions{
		Kind: "sample", Tool: hive.Tool{Name: "lakefuse", Version: toolVersion()}, Logger: g.Log,
		Source: hive.Source{Kind: "generated", ProjectID: c.Project},
	})
	if err != nil {
		return err
	}
	if err := sample.Write(g.Ctx, run, c.Project, c.Rows, sample.Options{PayloadBytes: 256, Step: 12 * time.Minute}); err != nil {
		_ = run.Abort(g.Ctx)
		return err
	}
	if _, err := run.Commit(g.Ctx); err != nil {
		_ = run.Abort(g.Ctx)
		return err
	}
	return nil
}
