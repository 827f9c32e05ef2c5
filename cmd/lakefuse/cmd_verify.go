package main

import (
	"fmt"

	"github.com/lakefuse/lakefuse/hive"
)

// VerifyCmd checks a lake.
type VerifyCmd struct {
	Location string `arg:"" help:"The lake to check."`
	BucketFlags
}

// Run checks every live file against its manifest: present, same size and
// SHA-256, readable Parquet of the right table and schema version, and the
// row count the manifest records.
func (c *VerifyCmd) Run(g *Globals) error {
	b, err := c.Open(g, c.Location)
	if err != nil {
		return err
	}
	defer b.Close()
	l, err := hive.Open(g.Ctx, b)
	if err != nil {
		return err
	}
	var problems []error
	var files int
	var rows int64
	for _, f := range l.Files("") {
		files++
		err := hive.ScanFile(g.Ctx, b, f, hive.ScanOptions{VerifyChecksum: true}, func(hive.Batch) error { return nil })
		if err != nil {
			problems = append(problems, err)
			fmt.Fprintf(g.Stdout, "FAIL %s: %v\n", f.Path, err)
			continue
		}
		rows += f.Rows
	}
	strays, err := l.Strays(g.Ctx)
	if err != nil {
		return err
	}
	for _, s := range strays {
		fmt.Fprintf(g.Stdout, "note: %s is not part of the lake (%s)\n", s.Key, s.Reason)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%d of %d files failed verification in %s", len(problems), files, b)
	}
	fmt.Fprintf(g.Stdout, "verified %d files, %d rows, %d runs in %s: all match their manifests\n", files, rows, len(l.Manifests), b)
	return nil
}
