package hive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/schema"
)

// event is a small time-partitioned test table; snap a snapshot one.
type event struct {
	ID      string             `lake:"id"`
	At      time.Time          `lake:"at"`
	Body    *string            `lake:"body,json"`
	Tags    []string           `lake:"tags"`
	Usage   map[string]int64   `lake:"usage"`
	Cost    map[string]float64 `lake:"cost"`
	Comment *string            `lake:"comment"`
}

type snap struct {
	ID   string `lake:"id"`
	Name string `lake:"name"`
}

var (
	eventTable = schema.Define[event](schema.Spec{Name: "hive_test_events", TimeColumn: "at", Key: []string{"id"}})
	snapTable  = schema.Define[snap](schema.Spec{Name: "hive_test_snaps", Key: []string{"id"}})
)

func ptr[T any](v T) *T { return &v }

var t0 = time.Date(2026, 3, 1, 22, 0, 0, 0, time.UTC)

func genEvents(n int) []event {
	out := make([]event, n)
	for i := range out {
		out[i] = event{
			ID:    fmt.Sprintf("e%05d", i),
			At:    t0.Add(time.Duration(i) * 7 * time.Minute),
			Body:  ptr(fmt.Sprintf(`{"i":%d,"text":"こんにちは 🎉","nested":{"a":[1,2,3]}}`, i)),
			Tags:  []string{"t", fmt.Sprint(i % 3)},
			Usage: map[string]int64{"input": int64(i), "output": 2},
			Cost:  map[string]float64{"total": float64(i) / 100},
		}
		if i%5 == 0 {
			out[i].Comment = ptr("")
		}
	}
	return out
}

func writeRun(t *testing.T, b bucket.Bucket, opts RunOptions, projects []string, evs []event) *Manifest {
	t.Helper()
	ctx := context.Background()
	r, err := NewRun(ctx, b, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range projects {
		for i := range evs {
			if err := r.Append(ctx, eventTable, p, &evs[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.Append(ctx, snapTable, p, snap{ID: "s1", Name: "prompt/with/slashes"}); err != nil {
			t.Fatal(err)
		}
	}
	m, err := r.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRunCommitAndScan(t *testing.T) {
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := bucket.NewMemory()
	evs := genEvents(1000)
	projects := []string{"p1", "../evil/x=y"}
	// Tiny targets force many batches, row groups and rolled files.
	m := writeRun(t, b, RunOptions{Kind: "test", Mem: mem, BatchRows: 64, TargetRowGroupBytes: 4 << 10, TargetFileBytes: 16 << 10, MaxOpenFiles: 2}, projects, evs)

	if got := m.Tables[eventTable.Name].Rows; got != int64(2*len(evs)) {
		t.Fatalf("manifest rows = %d", got)
	}
	for _, f := range m.Files {
		if f.SHA256 == "" || f.Size == 0 || f.Rows == 0 {
			t.Errorf("incomplete file entry %+v", f)
		}
		if f.Table == eventTable.Name && (f.MinTime == nil || DateOf(*f.MinTime) != f.Date || DateOf(*f.MaxTime) != f.Date) {
			t.Errorf("file %s: times %v..%v outside dt=%s", f.Path, f.MinTime, f.MaxTime, f.Date)
		}
	}

	l, err := Open(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Tables(); len(got) != 2 {
		t.Fatalf("tables %v", got)
	}
	parts := l.Partitions(eventTable.Name)
	if len(parts) != 2*6 { // 1000 events * 7 min spread over 6 UTC days, 2 projects
		t.Fatalf("partitions: %v", parts)
	}
	stored, err := ListPartitions(ctx, b, eventTable.Name)
	if err != nil || len(stored) != len(parts) {
		t.Fatalf("ListPartitions = %v %v", stored, err)
	}

	got := map[string][]event{}
	err = ScanRows(ctx, l, func(p Partition, e *event) error {
		if DateOf(e.At) != p.Date {
			return fmt.Errorf("row %s in wrong partition %s", e.ID, p)
		}
		got[p.ProjectID] = append(got[p.ProjectID], *e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range projects {
		rows := got[p]
		sort.Slice(rows, func(i, j int) bool { return rows[i].ID < rows[j].ID })
		if len(rows) != len(evs) {
			t.Fatalf("project %s: %d rows", p, len(rows))
		}
		for i := range rows {
			if !reflect.DeepEqual(rows[i], evs[i]) {
				t.Fatalf("row %d:\n got %+v\nwant %+v", i, rows[i], evs[i])
			}
		}
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	ctx := context.Background()
	b := bucket.NewMemory()
	r, err := NewRun(ctx, b, RunOptions{BatchRows: 10, TargetFileBytes: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range genEvents(300) {
		if err := r.Append(ctx, eventTable, "p", e); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	n := 0
	_ = b.List(ctx, "", func(a bucket.Attrs) error { n++; return nil })
	if n != 0 {
		t.Fatalf("%d objects left after abort", n)
	}
	if _, err := Open(ctx, b); !errors.Is(err, ErrNoLake) {
		t.Fatalf("Open empty = %v, want ErrNoLake", err)
	}
}

func TestCleanRemovesUncommitted(t *testing.T) {
	ctx := context.Background()
	b := bucket.NewMemory()
	writeRun(t, b, RunOptions{}, []string{"p"}, genEvents(50))

	// A run that crashed: files written, no manifest.
	crashed, err := NewRun(ctx, b, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range genEvents(50) {
		_ = crashed.Append(ctx, eventTable, "p", e)
	}
	if err := crashed.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	// A run that is resumable: its checkpoint protects its files.
	resumable, _ := NewRun(ctx, b, RunOptions{})
	_ = resumable.Append(ctx, snapTable, "p", snap{ID: "x"})
	_ = resumable.Sync(ctx)
	if err := SaveCheckpoint(ctx, b, &Checkpoint{Run: resumable.State()}); err != nil {
		t.Fatal(err)
	}
	// A foreign object is reported, never deleted.
	w, _ := b.NewWriter(ctx, eventTable.Name+"/README.txt")
	_, _ = w.Write([]byte("hi"))
	_ = w.Commit()

	l, err := Open(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	// Files of runs that did not commit are staged, out of the tables'
	// directories; only the foreign object is there.
	strays, _ := l.Strays(ctx)
	if len(strays) != 1 {
		t.Fatalf("strays %+v", strays)
	}
	staged, _ := l.Staged(ctx)
	if len(staged) != len(crashed.State().Files)+1 {
		t.Fatalf("staged %+v", staged)
	}
	deleted, err := Clean(ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	if len(deleted) != len(crashed.State().Files) {
		t.Fatalf("deleted %v", deleted)
	}
	for _, d := range deleted {
		if RunOfFile(d) != crashed.ID() {
			t.Fatalf("deleted a file of another run: %s", d)
		}
	}
	// The committed rows are intact.
	if err := l.Scan(ctx, eventTable.Name, ScanOptions{VerifyChecksum: true}, func(Batch) error { return nil }); err != nil {
		t.Fatal(err)
	}
}

func TestResumeRun(t *testing.T) {
	ctx := context.Background()
	b := bucket.NewMemory()
	evs := genEvents(200)
	r, _ := NewRun(ctx, b, RunOptions{})
	for _, e := range evs[:100] {
		_ = r.Append(ctx, eventTable, "p", e)
	}
	_ = r.Sync(ctx)
	st := r.State()
	// The process dies here; a new one resumes from the checkpointed state.
	r2, err := ResumeRun(ctx, b, st, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs[100:] {
		_ = r2.Append(ctx, eventTable, "p", e)
	}
	m, err := r2.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m.Tables[eventTable.Name].Rows != 200 || m.RunID != st.RunID {
		t.Fatalf("manifest %+v", m.Tables)
	}
	seen := map[string]bool{}
	for _, f := range m.Files {
		if seen[f.Path] {
			t.Fatalf("file %s listed twice", f.Path)
		}
		seen[f.Path] = true
	}
}

func TestSupersede(t *testing.T) {
	ctx := context.Background()
	b := bucket.NewMemory()
	m1 := writeRun(t, b, RunOptions{}, []string{"p"}, genEvents(10))
	r, _ := NewRun(ctx, b, RunOptions{})
	for _, e := range genEvents(20) {
		_ = r.Append(ctx, eventTable, "p", e)
	}
	for _, f := range m1.Files {
		if f.Table == eventTable.Name {
			r.Remove(f.Path)
		}
	}
	if _, err := r.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	l, _ := Open(ctx, b)
	if got := l.Rows(eventTable.Name); got != 20 {
		t.Fatalf("rows after supersede = %d, want 20", got)
	}
	if got := l.Rows(snapTable.Name); got != 1 {
		t.Fatalf("snapshot rows = %d", got)
	}
	strays, _ := l.Strays(ctx)
	if len(strays) != 0 {
		t.Fatalf("superseded files not deleted: %+v", strays)
	}
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	b := bucket.NewMemory()
	m := writeRun(t, b, RunOptions{}, []string{"p"}, genEvents(100))
	var target FileEntry
	for _, f := range m.Files {
		if f.Table == eventTable.Name {
			target = f
			break
		}
	}
	put := func(key string, data []byte) {
		w, _ := b.NewWriter(ctx, key)
		_, _ = w.Write(data)
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	read := func(key string) []byte {
		o, _ := b.Open(ctx, key)
		defer o.Close()
		data := make([]byte, o.Size())
		_, _ = o.ReadAt(data, 0)
		return data
	}
	orig := read(target.Path)
	scan := func() error {
		l, err := Open(ctx, b)
		if err != nil {
			return err
		}
		return l.Scan(ctx, eventTable.Name, ScanOptions{}, func(Batch) error { return nil })
	}

	t.Run("truncated", func(t *testing.T) {
		put(target.Path, orig[:len(orig)/2])
		defer put(target.Path, orig)
		err := scan()
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), target.Path) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("garbage same size", func(t *testing.T) {
		junk := make([]byte, len(orig))
		copy(junk, orig)
		for i := len(junk) / 3; i < len(junk)/3+200; i++ {
			junk[i] ^= 0x5a
		}
		put(target.Path, junk)
		defer put(target.Path, orig)
		l, _ := Open(ctx, b)
		err := l.Scan(ctx, eventTable.Name, ScanOptions{VerifyChecksum: true}, func(Batch) error { return nil })
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "sha256") {
			t.Fatalf("err = %v", err)
		}
		// Without the checksum, decoding must fail cleanly or succeed, never panic.
		_ = scan()
	})
	t.Run("missing file", func(t *testing.T) {
		_ = b.Delete(ctx, target.Path)
		defer put(target.Path, orig)
		if err := scan(); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "missing") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("newer schema", func(t *testing.T) {
		m2 := *m
		m2.RunID = NewRunID(time.Now())
		m2.SchemaVersion = schema.Version + 1
		m2.Files = nil
		if err := WriteManifest(ctx, b, &m2); err != nil {
			t.Fatal(err)
		}
		defer b.Delete(ctx, ManifestKey(m2.RunID))
		_, err := Open(ctx, b)
		if !errors.Is(err, ErrNewerSchema) || !strings.Contains(err.Error(), "upgrade lakefuse") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("corrupt manifest", func(t *testing.T) {
		key := ManifestKey(NewRunID(time.Now()))
		put(key, []byte("{not json"))
		defer b.Delete(ctx, key)
		_, err := Open(ctx, b)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), key) {
			t.Fatalf("err = %v", err)
		}
	})
	if err := scan(); err != nil {
		t.Fatalf("lake not intact after bad-input cases: %v", err)
	}
}

// TestScanColumns reads chosen columns that come after list and map
// columns (which span several Parquet leaf columns each).
func TestScanColumns(t *testing.T) {
	ctx := context.Background()
	b := bucket.NewMemory()
	evs := genEvents(50)
	writeRun(t, b, RunOptions{Kind: "test"}, []string{"p1"}, evs)
	l, err := Open(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*string{}
	for _, e := range evs {
		want[e.ID] = e.Comment
	}
	seen := 0
	err = l.Scan(ctx, eventTable.Name, ScanOptions{Columns: []string{"comment", "cost", "id"}}, func(bt Batch) error {
		rec := bt.Record
		if got := rec.Schema().Field(0).Name + "," + rec.Schema().Field(1).Name + "," + rec.Schema().Field(2).Name; got != "comment,cost,id" || rec.NumCols() != 3 {
			return fmt.Errorf("columns %s (%d)", got, rec.NumCols())
		}
		comments := rec.Column(0).(*array.String)
		ids := rec.Column(2).(*array.String)
		for i := 0; i < int(rec.NumRows()); i++ {
			w, ok := want[ids.Value(i)]
			if !ok {
				return fmt.Errorf("row %d: unknown id %q", i, ids.Value(i))
			}
			if (w == nil) != comments.IsNull(i) || (w != nil && *w != comments.Value(i)) {
				return fmt.Errorf("id %s: comment %q (null %v), want %v", ids.Value(i), comments.Value(i), comments.IsNull(i), w)
			}
			seen++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != len(evs) {
		t.Fatalf("%d rows read, want %d", seen, len(evs))
	}
	if err := l.Scan(ctx, eventTable.Name, ScanOptions{Columns: []string{"nope"}}, func(Batch) error { return nil }); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("unknown column: %v", err)
	}
}

// moveFailing fails Move after n moves, as a process killed during its
// commit's moves would stop.
type moveFailing struct {
	bucket.Bucket
	n int
}

func (m *moveFailing) Move(ctx context.Context, src, dst string) error {
	if m.n <= 0 {
		return errors.New("move refused (test)")
	}
	m.n--
	return m.Bucket.Move(ctx, src, dst)
}

// TestStagedUntilCommit: a run's files stay out of the tables' directories
// (where globs read) until its manifest is written; a commit interrupted
// while moving them is readable through the manifest at once, and Clean
// finishes it.
func TestStagedUntilCommit(t *testing.T) {
	ctx := context.Background()
	mem := bucket.NewMemory()
	writeRun(t, mem, RunOptions{}, []string{"p"}, genEvents(300))
	b := &moveFailing{Bucket: mem, n: 1 << 30}
	r, err := NewRun(ctx, b, RunOptions{TargetFileBytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range genEvents(300) {
		if err := r.Append(ctx, eventTable, "p", e); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	l0, _ := Open(ctx, mem)
	r.Remove(pathsOf(l0.Files(eventTable.Name))...)
	inTables := func() []string {
		var keys []string
		_ = mem.List(ctx, eventTable.Name+"/", func(a bucket.Attrs) error { keys = append(keys, a.Key); return nil })
		return keys
	}
	before := inTables()
	if len(r.State().Files) < 2 {
		t.Fatalf("want several files, got %d", len(r.State().Files))
	}
	for _, k := range inTables() {
		if RunOfFile(k) == r.ID() {
			t.Fatalf("uncommitted file %s is where globs read", k)
		}
	}
	b.n = 1 // the commit stops after moving one file
	m, err := r.Commit(ctx)
	if !errors.Is(err, ErrUnpublished) || m == nil {
		t.Fatalf("Commit = %v, %v; want the manifest and ErrUnpublished", m, err)
	}
	l, err := Open(ctx, mem)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := l.Scan(ctx, eventTable.Name, ScanOptions{VerifyChecksum: true}, func(bt Batch) error { n += bt.Record.NumRows(); return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 300 {
		t.Fatalf("read %d rows through the manifest, want 300", n)
	}
	staged, _ := l.Staged(ctx)
	if len(staged) != len(m.Files)-1 {
		t.Fatalf("staged %v", staged)
	}
	if _, err := Clean(ctx, l); err != nil {
		t.Fatal(err)
	}
	after := inTables()
	if len(after) != len(m.Files) {
		t.Fatalf("after Clean the table holds %v (before the run %v)", after, before)
	}
	for i, f := range m.Files {
		if after[i] != f.Path {
			t.Fatalf("after Clean: %v, want the run's files", after)
		}
	}
	if staged, _ := l.Staged(ctx); len(staged) != 0 {
		t.Fatalf("still staged: %v", staged)
	}
}

func pathsOf(fs []FileEntry) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Path)
	}
	return out
}

// TestScanBatchBoundedByBytes: without a BatchSize, a scan of wide rows
// (observations with kilobytes of input and output) reads batches of about
// batchBytes, not 8192 rows (issue 11: 8192 observations of the demo were
// tens of MB of Arrow buffers at once, on top of everything else).
func TestScanBatchBoundedByBytes(t *testing.T) {
	ctx := context.Background()
	b := bucket.NewMemory()
	evs := genEvents(600)
	wide := `{"text":"` + strings.Repeat("x", 64<<10) + `"}`
	for i := range evs {
		evs[i].At = t0 // one partition, one file
		evs[i].Body = ptr(wide)
	}
	writeRun(t, b, RunOptions{Kind: "test"}, []string{"p1"}, evs)
	l, err := Open(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	var batches, rows, most int64
	err = l.Scan(ctx, eventTable.Name, ScanOptions{}, func(bt Batch) error {
		batches++
		rows += bt.Record.NumRows()
		most = max(most, bt.Record.NumRows())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if rows != int64(len(evs)) {
		t.Fatalf("scanned %d rows, want %d", rows, len(evs))
	}
	if limit := int64(batchBytes/(64<<10)) + 1; most > limit {
		t.Errorf("batches of up to %d rows of 64 KiB (%d batches), want at most %d", most, batches, limit)
	}
	// A smaller BatchBytes gives smaller batches (rows of 8 KiB: 512 a
	// batch by default, 128 at 1 MiB).
	b3 := bucket.NewMemory()
	evs3 := genEvents(1200)
	for i := range evs3 {
		evs3[i].At = t0
		evs3[i].Body = ptr(`{"text":"` + strings.Repeat("y", 8<<10) + `"}`)
	}
	writeRun(t, b3, RunOptions{Kind: "test"}, []string{"p1"}, evs3)
	l3, err := Open(ctx, b3)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ bytes, least, most int64 }{{0, 256, 520}, {1 << 20, 64, 130}} {
		most = 0
		err = l3.Scan(ctx, eventTable.Name, ScanOptions{BatchBytes: tc.bytes}, func(bt Batch) error {
			most = max(most, bt.Record.NumRows())
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if most < tc.least || most > tc.most {
			t.Errorf("BatchBytes %d: batches of up to %d rows of 8 KiB, want %d..%d", tc.bytes, most, tc.least, tc.most)
		}
	}
	// Narrow rows still come in large batches.
	b2 := bucket.NewMemory()
	writeRun(t, b2, RunOptions{Kind: "test"}, []string{"p1"}, genEvents(600))
	l2, err := Open(ctx, b2)
	if err != nil {
		t.Fatal(err)
	}
	batches = 0
	err = l2.Scan(ctx, eventTable.Name, ScanOptions{}, func(bt Batch) error { batches++; return nil })
	if err != nil || batches != int64(len(l2.Files(eventTable.Name))) {
		t.Errorf("narrow rows: %d batches for %d files (%v)", batches, len(l2.Files(eventTable.Name)), err)
	}
}

// TestPagesStaySmall: a lake file's data pages hold ~pageBytes of values
// (checked every 1024 values: a column of wide payloads has pages of 1024
// of them), so a reader holds one such page per column and not a megabyte
// each (issue 11: ~15 MB for one observations row group while verify
// read the demo's lake).
func TestPagesStaySmall(t *testing.T) {
	ctx := context.Background()
	b := bucket.NewMemory()
	evs := genEvents(20000)
	for i := range evs {
		evs[i].At = t0 // one partition, one file
		evs[i].Body = ptr(fmt.Sprintf(`{"text":"%s","n":%d}`, strings.Repeat("z", 1500), i))
		evs[i].Comment = ptr(fmt.Sprintf("comment %d %s", i, strings.Repeat("c", 200)))
	}
	writeRun(t, b, RunOptions{Kind: "test"}, []string{"p1"}, evs)
	l, err := Open(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	files := l.Files(eventTable.Name)
	if len(files) != 1 {
		t.Fatalf("%d files", len(files))
	}
	rd, err := b.Open(ctx, files[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	pf, err := file.NewParquetReader(io.NewSectionReader(rd, 0, rd.Size()))
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	var pages int
	for g := range pf.NumRowGroups() {
		rg := pf.RowGroup(g)
		for c := range pf.MetaData().Schema.NumColumns() {
			pr, err := rg.GetColumnPageReader(c)
			if err != nil {
				t.Fatal(err)
			}
			for pr.Next() {
				p, ok := pr.Page().(interface{ UncompressedSize() int32 })
				if !ok {
					continue
				}
				pages++
				if col := pf.MetaData().Schema.Column(c).Path(); col == "body" {
					continue
				}
				if n := p.UncompressedSize(); n > 2*pageBytes {
					t.Errorf("column %s: a page of %d bytes, want about %d at most", pf.MetaData().Schema.Column(c).Path(), n, pageBytes)
				}
			}
			if err := pr.Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if pages < 40 {
		t.Errorf("%d pages for 34 MB of payloads and comments", pages)
	}
}
