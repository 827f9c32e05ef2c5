package hive

import (
	"context"
	"slices"
	"testing"

	"github.com/lakefuse/lakefuse/bucket"
)

func TestDuplicates(t *testing.T) {
	for _, memRows := range []int{dupMemRows, 7} {
		t.Run("", func(t *testing.T) {
			old := dupMemRows
			dupMemRows = memRows
			defer func() { dupMemRows = old }()
			ctx := context.Background()
			b := bucket.NewMemory()
			evs := genEvents(120)
			m1 := writeRun(t, b, RunOptions{}, []string{"p", "q"}, evs)
			l, _ := Open(ctx, b)
			if d, n, err := l.Duplicates(ctx, eventTable.Name, 0); err != nil || n != 0 {
				t.Fatalf("one run: %v, %d, %v", d, n, err)
			}
			// A second run with some of the same rows that does not
			// supersede the first: each such row is a duplicate, in both
			// projects, naming both runs.
			m2 := writeRun(t, b, RunOptions{}, []string{"p", "q"}, evs[100:])
			l, _ = Open(ctx, b)
			d, n, err := l.Duplicates(ctx, eventTable.Name, 3)
			if err != nil {
				t.Fatal(err)
			}
			if n != 40 || len(d) != 3 {
				t.Fatalf("%d duplicates (%d shown), want 40: %+v", n, len(d), d)
			}
			if d[0].ProjectID != "p" || d[0].Key != "e00100" || len(d[0].Files) != 2 ||
				!slices.Equal(d[0].Runs, slices.Sorted(slices.Values([]string{m1.RunID, m2.RunID}))) {
				t.Fatalf("first duplicate %+v", d[0])
			}
			// A third run that supersedes both holds each row once.
			r, _ := NewRun(ctx, b, RunOptions{})
			r.Remove(pathsOf(l.Files(eventTable.Name))...)
			for _, e := range evs {
				_ = r.Append(ctx, eventTable, "p", e)
			}
			if _, err := r.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			l, _ = Open(ctx, b)
			if d, n, err := l.Duplicates(ctx, eventTable.Name, 0); err != nil || n != 0 {
				t.Fatalf("after a supersede: %v, %d, %v", d, n, err)
			}
			// A row twice in one file is a duplicate too.
			r, _ = NewRun(ctx, b, RunOptions{})
			r.Remove(pathsOf(l.Files(snapTable.Name))...)
			_ = r.Append(ctx, snapTable, "p", snap{ID: "s1"})
			_ = r.Append(ctx, snapTable, "p", snap{ID: "s1"})
			m4, _ := r.Commit(ctx)
			l, _ = Open(ctx, b)
			d, n, err = l.Duplicates(ctx, snapTable.Name, 0)
			if err != nil || n != 1 || len(d[0].Files) != 2 || d[0].Files[0] != d[0].Files[1] || d[0].Runs[0] != m4.RunID {
				t.Fatalf("within one file: %+v, %d, %v", d, n, err)
			}
		})
	}
}
