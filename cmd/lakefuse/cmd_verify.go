package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/export/lfexport"
	"github.com/lakefuse/lakefuse/hive"
	"github.com/lakefuse/lakefuse/importer"
	lf "github.com/lakefuse/lakefuse/internal/langfuse"
	"github.com/lakefuse/lakefuse/schema"
)

// VerifyCmd checks a lake.
type VerifyCmd struct {
	Location           string `arg:"" help:"The lake to check."`
	AgainstSource      bool   `name:"against-source" xor:"against" help:"Also compare the lake with the live project it was exported from (LANGFUSE_* keys)."`
	AgainstDestination bool   `name:"against-destination" xor:"against" help:"Also compare the lake with the live project it was imported into (LANGFUSE_* keys): ids mapped, destination-assigned fields left out."`
	RewriteIDs         bool   `name:"rewrite-ids" help:"With --against-destination: the import ran with --rewrite-ids, so map the lake's ids the same way."`
	Tables             string `help:"Comma-separated tables to compare with the live project (default: all)." placeholder:"LIST"`
	StateDir           string `name:"state-dir" help:"Where the import ledger lives, if import was given --state-dir (what it skipped or created on purpose is not a difference)." placeholder:"LOCATION"`
	ReportJSONFlag
	LangfuseFlags
	BucketFlags
}

// Run checks every live file against its manifest: present, same size and
// SHA-256, readable Parquet of the right table and schema version, and the
// row count the manifest records.
func (c *VerifyCmd) Run(g *Globals) error {
	tables, err := parseTables(c.Tables)
	if err != nil {
		return &exitError{2, err}
	}
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
	staged, err := l.Staged(g.Ctx)
	if err != nil {
		return err
	}
	for _, s := range staged {
		fmt.Fprintf(g.Stdout, "note: %s: %s\n", s.Key, s.Reason)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%d of %d files failed verification in %s", len(problems), files, b)
	}
	dups, err := reportDuplicates(g, l)
	if err != nil {
		return err
	}
	if dups > 0 {
		return fmt.Errorf("%d row(s) appear more than once in %s: a glob reader counts them twice; runs that wrote them are named above", dups, b)
	}
	if gaps := l.IncompleteShards(); len(gaps) > 0 {
		for _, gap := range gaps {
			fmt.Fprintf(g.Stdout, "FAIL %s\n", gap)
		}
		if at, err := hive.CurrentShardLeases(g.Ctx, b, time.Now()); err == nil {
			for _, s := range at {
				fmt.Fprintf(g.Stdout, "note: still at work: %s\n", s.String())
			}
		}
		return fmt.Errorf("%d sharded export(s) in %s lack a shard: its days are missing or stale; run the shard again (the same command), or an unsharded or incremental export of its days", len(gaps), b)
	}
	fmt.Fprintf(g.Stdout, "verified %d files, %d rows, %d runs in %s: all match their manifests\n", files, rows, len(l.Manifests), b)
	if !c.AgainstSource && !c.AgainstDestination {
		return nil
	}
	client, err := c.Client(g, 4)
	if err != nil {
		return &exitError{2, err}
	}
	which := "source"
	if c.AgainstDestination {
		which = "destination"
	}
	var state bucket.Bucket
	if c.StateDir != "" {
		sb, err := c.BucketFlags.Open(g, c.StateDir)
		if err != nil {
			return err
		}
		defer sb.Close()
		state = sb
	}
	n, compared, diffs, err := verifyLive(g.Ctx, g.Stdout, l, client, c.AgainstDestination, c.RewriteIDs, tables, state)
	if err := c.writeCompare(g, l, which, compared, diffs, err); err != nil {
		return err
	}
	if diffs > 0 {
		return fmt.Errorf("%d differences between %s and the %s project", diffs, b, which)
	}
	fmt.Fprintf(g.Stdout, "compared %d rows across %d tables with the %s project: no differences\n", n, len(compared), which)
	return nil
}

// verifyLive exports the live project of client into a scratch lake and
// compares it with l.
// state is where the import's ledger lives (nil: the lake's bucket).
func verifyLive(ctx context.Context, w io.Writer, l *hive.Lake, client *lf.Client, againstDestination, rewriteIDs bool, tables []string, state bucket.Bucket) (rows int64, compared []tableResult, diffs int, err error) {
	skip := func(table string) map[string]bool { return skipFor(table, againstDestination) }
	// The live project is exported into hashes, not into a lake: only the
	// media bytes it copies land in a scratch directory.
	read := func(ctx context.Context, tables []string, rs *liveHashes) error {
		dir, err := os.MkdirTemp("", "lakefuse-verify-*")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		sb, err := bucket.NewLocal(dir)
		if err != nil {
			return err
		}
		defer sb.Close()
		if _, err := lfexport.Export(ctx, sb, lfexport.Options{Client: client, Tables: tables, Rows: rs.add}); err != nil {
			return fmt.Errorf("read the live project: %w", err)
		}
		return nil
	}
	// What the live project holds decides what the lake's rows become
	// (rootInputHash) before it is read: the lake is hashed while it is.
	gen, err := client.Detect(ctx)
	if err != nil {
		return 0, nil, 0, err
	}
	lv := &live{v4: gen == lf.V4,
		rows: func(ctx context.Context, tables []string, sink func(string) func(uint64, uint64, string)) error {
			rs := newLiveHashes(skip, nil)
			rs.sink = sink
			return read(ctx, tables, rs)
		},
		// The keys of rows only the live project has: it is read once more,
		// the tables that have such rows only.
		keys: func(ctx context.Context, fns map[string]func(uint64, string)) error {
			return read(ctx, slices.Sorted(maps.Keys(fns)), newLiveHashes(skip, func(t string) func(uint64, string) { return fns[t] }))
		}}
	var deliberate *importer.Deliberate
	if againstDestination {
		// What the import skipped or created on purpose is in its ledger.
		p, err := client.Project(ctx)
		if err != nil {
			return 0, nil, 0, err
		}
		if state == nil {
			state = l.Bucket()
		}
		if deliberate, err = importer.ReadDeliberate(ctx, state, importer.StatePrefix(p.ID)); err != nil {
			return 0, nil, 0, err
		}
	}
	diffs, rows, compared, err = compareLakes(ctx, w, l, lv, againstDestination, rewriteIDs, tables, deliberate)
	return rows, compared, diffs, err
}

// reportDuplicates prints, per table, rows whose key more than one live
// file holds (outside the supersedes the manifests record), naming the runs
// that hold them, and returns how many there are.
func reportDuplicates(g *Globals, l *hive.Lake) (int, error) {
	total := 0
	for _, table := range l.Tables() {
		tb, err := schema.Lookup(table)
		if err != nil {
			continue
		}
		shown, n, err := l.Duplicates(g.Ctx, table, 5)
		if err != nil {
			return 0, err
		}
		if n == 0 {
			continue
		}
		total += n
		fmt.Fprintf(g.Stdout, "FAIL %s: %d row(s) in more than one live file\n", table, n)
		for _, d := range shown {
			fmt.Fprintf(g.Stdout, "  %s %s (project %s): %d copies, runs %s, files %s\n", strings.Join(tb.Key, ","),
				strings.ReplaceAll(d.Key, "\x00", ","), d.ProjectID, len(d.Files), strings.Join(d.Runs, " "), strings.Join(d.Files, " "))
		}
		if n > len(shown) {
			fmt.Fprintf(g.Stdout, "  … and %d more\n", n-len(shown))
		}
	}
	return total, nil
}
