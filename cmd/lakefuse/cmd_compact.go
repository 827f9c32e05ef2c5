package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lakefuse/lakefuse/hive"
)

// CompactCmd merges small files.
type CompactCmd struct {
	Location   string        `arg:"" help:"The lake to compact."`
	OlderThan  time.Duration `name:"older-than" help:"Only partitions whose day ended at least this long ago (e.g. 72h), which late rows no longer reach." default:"0s"`
	TargetSize string        `name:"target-size" help:"Size merged files aim at (e.g. 128MiB, 1GB); files of at least half of it are left alone." default:"256MiB"`
	Tables     string        `help:"Comma-separated tables to compact (default: all)." placeholder:"LIST"`
	JSON       bool          `help:"Print the summary as JSON."`
	BucketFlags
	LeaseFlags
}

// Run compacts the lake as one run that supersedes the merged files.
func (c *CompactCmd) Run(g *Globals) error {
	target, err := parseSize(c.TargetSize)
	if err != nil {
		return &exitError{2, fmt.Errorf("--target-size: %w", err)}
	}
	if c.OlderThan < 0 {
		return &exitError{2, fmt.Errorf("--older-than %v is negative", c.OlderThan)}
	}
	tables, err := parseTables(c.Tables)
	if err != nil {
		return &exitError{2, err}
	}
	b, err := c.Open(g, c.Location)
	if err != nil {
		return err
	}
	defer b.Close()
	lease, ctx, err := hive.AcquireLease(g.Ctx, b, c.LeaseFlags.Options(g, "lakefuse compact"))
	if err != nil {
		return err
	}
	defer func() { _ = lease.Release(g.Ctx) }()
	l, err := hive.Open(ctx, b)
	if err != nil {
		return err
	}
	// Finish what an interrupted run left (its commit's moves), and delete
	// files of runs that can no longer commit.
	if _, err := hive.Clean(ctx, l); err != nil {
		return err
	}
	if l, err = hive.Open(ctx, b); err != nil {
		return err
	}
	res, err := hive.Compact(ctx, l, hive.CompactOptions{Tables: tables, OlderThan: c.OlderThan, TargetFileBytes: target,
		Lease: lease, Tool: hive.Tool{Name: "lakefuse", Version: toolVersion()}, Logger: g.Log})
	if err != nil {
		return fmt.Errorf("compact %s: %w", b, err)
	}
	if c.JSON {
		return printJSON(g.Stdout, res)
	}
	if res.Manifest == nil {
		fmt.Fprintf(g.Stdout, "nothing to compact in %s: no partition has two or more files smaller than %s\n", b, humanBytes(target/2))
		return nil
	}
	fmt.Fprintf(g.Stdout, "compacted %d partition(s) of %s as run %s: %d files (%s) merged into %d (%s), %d rows\n",
		res.Partitions, b, res.Manifest.RunID, res.FilesIn, humanBytes(res.BytesIn), res.FilesOut, humanBytes(res.BytesOut), res.Rows)
	fmt.Fprintf(g.Stdout, "took %s (%.0f rows/s); moving files into place and deleting the old ones took %s\n",
		res.Duration.Round(time.Millisecond), float64(res.Rows)/max(res.Duration.Seconds(), 0.001), res.Publish.Duration.Round(time.Millisecond))
	return nil
}

// parseSize reads a byte size: 1048576, 512KiB, 128MiB, 1GiB, 100MB, 1GB.
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(v), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a size (e.g. 256MiB)", s)
	}
	return int64(n * float64(mult)), nil
}
