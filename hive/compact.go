package hive

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/schema"
)

// CompactOptions tune Compact.
type CompactOptions struct {
	// Tables to compact; nil means all.
	Tables []string
	// OlderThan leaves alone dt partitions whose day ended less than this
	// long ago (they may still get late rows); 0 compacts every partition.
	// Snapshot partitions (no dt) are always considered.
	OlderThan time.Duration
	// TargetFileBytes is the size merged files aim at
	// (DefaultTargetFileBytes). Files of at least half of it are left as
	// they are.
	TargetFileBytes int64
	// Lease must be the lake's lease, held by the caller.
	Lease  *Lease
	Tool   Tool
	Mem    memory.Allocator
	Logger *slog.Logger
	Now    func() time.Time
	// AfterPartition, if set, is called after each partition is merged
	// (tests stop a compaction there).
	AfterPartition func()
}

// CompactResult says what Compact did.
type CompactResult struct {
	// Manifest of the compaction run; nil when there was nothing to merge.
	Manifest   *Manifest
	Partitions int
	FilesIn    int
	FilesOut   int
	Rows       int64
	BytesIn    int64
	BytesOut   int64
	Publish    PublishStats
	Duration   time.Duration
}

// Compact merges the small files of each partition into files near the
// target size. It is one run (kind "compact") whose manifest lists the new
// files and supersedes the old ones, so the switch is atomic for readers
// that go through manifests; for glob readers the new files move into
// place, then the old ones are deleted, partition by partition (see
// publish). Old files are deleted only after the manifest is committed, and
// a compaction killed at any point leaves a lake whose manifests list every
// row once; the next run's Clean finishes or discards it. Files that a
// resumable run's checkpoint will supersede are left alone, so that run's
// commit still removes every copy of their rows.
//
// The caller holds the lake's lease and has run Clean.
func Compact(ctx context.Context, l *Lake, opts CompactOptions) (*CompactResult, error) {
	start := time.Now()
	if opts.TargetFileBytes <= 0 {
		opts.TargetFileBytes = DefaultTargetFileBytes
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	pinned, err := checkpointRemovals(ctx, l.b)
	if err != nil {
		return nil, err
	}
	tables := opts.Tables
	if len(tables) == 0 {
		tables = l.Tables()
	}
	settled := ""
	if opts.OlderThan > 0 {
		// A day is settled when it ended at least OlderThan ago.
		settled = DateOf(opts.Now().Add(-opts.OlderThan).Add(-24 * time.Hour))
	}
	res := &CompactResult{}
	var run *Run
	for _, name := range tables {
		t, err := schema.Lookup(name)
		if err != nil {
			return nil, err
		}
		for _, p := range l.Partitions(name) {
			if t.Partitioned() && settled != "" && p.Date > settled {
				continue
			}
			var small []FileEntry
			for _, f := range l.Files(name) {
				if f.Partition() == p && f.Size < opts.TargetFileBytes/2 && !pinned[f.Path] {
					small = append(small, f)
				}
			}
			if len(small) < 2 {
				continue
			}
			if run == nil {
				run, err = NewRun(ctx, l.b, RunOptions{Kind: "compact", Tool: opts.Tool, Source: Source{Kind: "compact"},
					TargetFileBytes: opts.TargetFileBytes, Lease: opts.Lease, Logger: opts.Logger, Mem: opts.Mem, Now: opts.Now,
					// One partition at a time: its file is finished before the next starts.
					MaxOpenFiles: 1})
				if err != nil {
					return nil, err
				}
			}
			for _, f := range small {
				err := ScanFile(ctx, l.b, f, ScanOptions{BatchSize: 16384, Mem: opts.Mem}, func(b Batch) error {
					return run.AppendBatch(ctx, t, p, b.Record)
				})
				if err != nil {
					_ = run.Abort(context.WithoutCancel(ctx))
					return nil, fmt.Errorf("compact %s: %w", f.Path, err)
				}
				res.FilesIn++
				res.Rows += f.Rows
				res.BytesIn += f.Size
			}
			if err := run.Sync(ctx); err != nil {
				_ = run.Abort(context.WithoutCancel(ctx))
				return nil, err
			}
			run.Remove(pathsOfEntries(small)...)
			res.Partitions++
			if opts.AfterPartition != nil {
				opts.AfterPartition()
			}
		}
	}
	if run == nil {
		res.Duration = time.Since(start)
		return res, nil
	}
	m, err := run.Commit(ctx)
	if m == nil {
		_ = run.Abort(context.WithoutCancel(ctx))
		return nil, err
	}
	res.Manifest = m
	res.FilesOut = len(m.Files)
	for _, f := range m.Files {
		res.BytesOut += f.Size
	}
	res.Publish = run.Published()
	res.Duration = time.Since(start)
	return res, err
}

func pathsOfEntries(fs []FileEntry) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Path
	}
	return out
}

// checkpointRemovals lists the files that resumable runs will supersede
// when they commit.
func checkpointRemovals(ctx context.Context, b bucket.Bucket) (map[string]bool, error) {
	ids, err := Checkpoints(ctx, b)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, id := range ids {
		cp, err := LoadCheckpoint(ctx, b, id)
		if err != nil {
			continue // damaged: the run cannot resume, so it pins nothing
		}
		for _, p := range cp.Run.Removed {
			out[p] = true
		}
	}
	return out, nil
}
