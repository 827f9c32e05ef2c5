//go:build duckdb

package duckdbtest

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/hive"
	"github.com/lakefuse/lakefuse/internal/sample"
	"github.com/lakefuse/lakefuse/schema"
)

// globState is what a plain glob reader sees of a table: its row count,
// distinct ids, and a hash over every row's full content.
type globState struct {
	Rows, IDs int64
	Hash      string
}

func readGlob(t *testing.T, db *sql.DB, dir, table string) globState {
	t.Helper()
	var s globState
	q := "SELECT count(*), count(DISTINCT id), coalesce(md5(string_agg(h, ',' ORDER BY h)), '') FROM " +
		"(SELECT id, md5(CAST(r AS VARCHAR)) AS h FROM " + glob(dir, table) + " r)"
	if err := db.QueryRow(q).Scan(&s.Rows, &s.IDs, &s.Hash); err != nil {
		t.Fatal(err)
	}
	return s
}

// stopMoves fails Move after n moves, as a process killed while its commit
// moves files into place stops.
type stopMoves struct {
	bucket.Bucket
	n int
}

func (s *stopMoves) Move(ctx context.Context, src, dst string) error {
	if s.n <= 0 {
		return errors.New("stopped (test)")
	}
	s.n--
	return s.Bucket.Move(ctx, src, dst)
}

// TestGlobNeverSeesUncommitted: DuckDB's glob over a table sees the last
// committed state while a run that replaces it is written, after that run
// died without committing, and while a commit's moves are interrupted; it
// sees the new state once the commit is finished.
func TestGlobNeverSeesUncommitted(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "lake")
	b, err := bucket.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	db := open(t)
	writeRows := func(b bucket.Bucket, payload int) *hive.Run {
		l, err := hive.Load(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		run, err := hive.NewRun(ctx, b, hive.RunOptions{Kind: "test", TargetFileBytes: 32 << 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range l.Files("") {
			run.Remove(f.Path)
		}
		if err := sample.Write(ctx, run, "proj", 300, sample.Options{PayloadBytes: payload, Step: 41 * time.Minute}); err != nil {
			t.Fatal(err)
		}
		if err := run.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		return run
	}
	first := writeRows(b, 100)
	if _, err := first.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	committed := readGlob(t, db, dir, "observations")
	if committed.Rows != 300 || committed.IDs != 300 {
		t.Fatalf("after the first commit DuckDB sees %+v", committed)
	}

	// A run that rewrites every row with other content, written but not
	// committed (it is killed here): DuckDB sees the committed rows only.
	_ = writeRows(b, 150)
	if got := readGlob(t, db, dir, "observations"); got != committed {
		t.Fatalf("with an uncommitted run DuckDB sees %+v, want %+v", got, committed)
	}
	l, _ := hive.Open(ctx, b)
	if _, err := hive.Clean(ctx, l); err != nil {
		t.Fatal(err)
	}

	// A run whose commit stops before its first move: committed, and
	// DuckDB still sees the previous rows, whole, until Clean finishes.
	stop := &stopMoves{Bucket: b, n: 1 << 30}
	next := writeRows(stop, 200)
	stop.n = 0
	if _, err := next.Commit(ctx); !errors.Is(err, hive.ErrUnpublished) {
		t.Fatalf("commit: %v, want ErrUnpublished", err)
	}
	if got := readGlob(t, db, dir, "observations"); got != committed {
		t.Fatalf("during an interrupted commit DuckDB sees %+v, want %+v", got, committed)
	}
	l, _ = hive.Open(ctx, b)
	if _, err := hive.Clean(ctx, l); err != nil {
		t.Fatal(err)
	}
	got := readGlob(t, db, dir, "observations")
	if got.Rows != 300 || got.IDs != 300 || got.Hash == committed.Hash {
		t.Fatalf("after the commit finished DuckDB sees %+v (before %+v)", got, committed)
	}
}

// TestCompactionDuckDB: DuckDB counts and per-row hashes of every table are
// the same before and after a compaction of many small files.
func TestCompactionDuckDB(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "lake")
	b, err := bucket.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Ten runs of disjoint rows over the same days: many small files.
	for r := range 10 {
		run, err := hive.NewRun(ctx, b, hive.RunOptions{Kind: "test"})
		if err != nil {
			t.Fatal(err)
		}
		for _, tab := range []*schema.Table{schema.Observations, schema.Traces, schema.Scores} {
			g := sample.New(tab, sample.Options{PayloadBytes: 120, Step: 20 * time.Minute,
				Start: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r)*time.Minute - time.Duration(r*200)*20*time.Minute)})
			row := tab.NewRow()
			for i := r * 200; i < (r+1)*200; i++ {
				g.Row(i, row)
				if err := run.Append(ctx, tab, "proj", row); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := run.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	db := open(t)
	tables := []string{"observations", "traces", "scores"}
	before := map[string]globState{}
	for _, tab := range tables {
		before[tab] = readGlob(t, db, dir, tab)
	}
	l, _ := hive.Open(ctx, b)
	filesBefore := len(l.Files(""))
	res, err := hive.Compact(ctx, l, hive.CompactOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tab := range tables {
		if got := readGlob(t, db, dir, tab); got != before[tab] || got.Rows != 2000 || got.IDs != 2000 {
			t.Errorf("%s: DuckDB sees %+v after compaction, %+v before", tab, got, before[tab])
		}
	}
	l, _ = hive.Open(ctx, b)
	t.Logf("%d files before, %d after; %+v", filesBefore, len(l.Files("")), res)
	if len(l.Files("")) >= filesBefore/5 {
		t.Errorf("%d files after compaction, %d before", len(l.Files("")), filesBefore)
	}
}
