package hive

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
)

// lakeEvents reads every live event row, keyed by project and id, failing
// on a row seen twice.
func lakeEvents(t *testing.T, b bucket.Bucket) map[string]event {
	t.Helper()
	l, err := Open(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]event{}
	err = ScanRows(context.Background(), l, func(p Partition, e *event) error {
		k := p.ProjectID + "/" + e.ID
		if _, dup := out[k]; dup {
			t.Errorf("row %s twice", k)
		}
		out[k] = *e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// smallRuns writes n runs of disjoint events: many small files per
// partition, as hourly incremental exports leave.
func smallRuns(t *testing.T, b bucket.Bucket, n int) {
	t.Helper()
	evs := genEvents(60 * n)
	for i := range n {
		part := evs[i*60 : (i+1)*60]
		for j := range part {
			part[j].At = t0.Add(time.Duration(j%3)*24*time.Hour + time.Duration(i)*time.Minute)
		}
		writeRun(t, b, RunOptions{}, []string{"p", "q"}, part)
	}
}

func TestCompact(t *testing.T) {
	ctx := context.Background()
	b := bucket.NewMemory()
	smallRuns(t, b, 6)
	before := lakeEvents(t, b)
	l, _ := Open(ctx, b)
	filesBefore := len(l.Files(eventTable.Name))

	// --older-than: the newest day is not settled yet.
	now := t0.Add(3*24*time.Hour + time.Hour) // t0's day + 3 days
	res, err := Compact(ctx, l, CompactOptions{Tables: []string{eventTable.Name}, OlderThan: 24 * time.Hour, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	// Days t0, t0+1, t0+2 (2026-03-01..03) exist; settled is up to 03-02.
	if res.Partitions != 2*2 {
		t.Fatalf("compacted %d partitions, want 4 (two settled days, two projects): %+v", res.Partitions, res)
	}
	if got := lakeEvents(t, b); !reflect.DeepEqual(got, before) {
		t.Fatalf("rows changed: %d rows, want %d", len(got), len(before))
	}
	l, _ = Open(ctx, b)
	for _, p := range l.Partitions(eventTable.Name) {
		n := 0
		for _, f := range l.Files(eventTable.Name) {
			if f.Partition() == p {
				n++
			}
		}
		if settled := p.Date <= "2026-03-02"; settled && n != 1 || !settled && n < 6 {
			t.Errorf("partition %v: %d files", p, n)
		}
	}
	// Everything; the lake verifies and has no leftovers.
	res, err = Compact(ctx, l, CompactOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d event files before; second compaction %+v", filesBefore, res)
	if got := lakeEvents(t, b); !reflect.DeepEqual(got, before) {
		t.Fatalf("rows changed after the second compaction")
	}
	l, _ = Open(ctx, b)
	if n := len(l.Files(eventTable.Name)); n != 6 {
		t.Errorf("%d event files after compacting everything, want 6 (3 days × 2 projects)", n)
	}
	for _, f := range l.Files("") {
		if err := CheckFile(ctx, b, f); err != nil {
			t.Error(err)
		}
		if f.Table == eventTable.Name && (f.MinTime == nil || f.MaxTime == nil || DateOf(*f.MinTime) != f.Date) {
			t.Errorf("%s: min/max time %v %v", f.Path, f.MinTime, f.MaxTime)
		}
	}
	if d, n, _ := l.Duplicates(ctx, eventTable.Name, 0); n != 0 {
		t.Errorf("duplicates %v", d)
	}
	strays, _ := l.Strays(ctx)
	staged, _ := l.Staged(ctx)
	if len(strays)+len(staged) != 0 {
		t.Errorf("left behind: %v %v", strays, staged)
	}
	// Nothing left to merge: no run.
	if res, err := Compact(ctx, l, CompactOptions{}); err != nil || res.Manifest != nil {
		t.Errorf("third compaction: %+v, %v", res, err)
	}
}

// TestCompactInterrupted: a compaction that stops before its manifest
// leaves the lake as it was (Clean discards its files); one that stops
// while moving files into place is whole through the manifests at once and
// after Clean for globs as well.
func TestCompactInterrupted(t *testing.T) {
	ctx := context.Background()
	for _, stopAt := range []string{"before commit", "during publish"} {
		t.Run(stopAt, func(t *testing.T) {
			mem := bucket.NewMemory()
			smallRuns(t, mem, 4)
			before := lakeEvents(t, mem)
			b := &moveFailing{Bucket: mem, n: 1 << 30}
			l, _ := Open(ctx, b)
			cctx, cancel := context.WithCancel(ctx)
			parts := 0
			opts := CompactOptions{}
			if stopAt == "before commit" {
				opts.AfterPartition = func() {
					if parts++; parts == 3 {
						cancel()
					}
				}
			} else {
				b.n = 2
			}
			_, err := Compact(cctx, l, opts)
			cancel()
			if err == nil {
				t.Fatal("the interrupted compaction succeeded")
			}
			t.Log(err)
			if got := lakeEvents(t, mem); !reflect.DeepEqual(got, before) {
				t.Fatalf("rows changed: %d, want %d", len(got), len(before))
			}
			l, _ = Open(ctx, mem)
			if _, err := Clean(ctx, l); err != nil {
				t.Fatal(err)
			}
			if got := globEvents(t, mem); got != len(before) {
				t.Fatalf("after Clean the table directories hold %d rows, want %d", got, len(before))
			}
			if got := lakeEvents(t, mem); !reflect.DeepEqual(got, before) {
				t.Fatal("rows changed after Clean")
			}
		})
	}
}

// globEvents counts the rows of every parquet file in the event table's
// directories, as a glob reader would, manifests aside.
func globEvents(t *testing.T, b bucket.Bucket) int {
	t.Helper()
	ctx := context.Background()
	n := 0
	err := b.List(ctx, eventTable.Name+"/", func(a bucket.Attrs) error {
		return ScanFile(ctx, b, FileEntry{Path: a.Key, Table: eventTable.Name}, ScanOptions{}, func(bt Batch) error {
			n += int(bt.Record.NumRows())
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
