package hive

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/schema"
)

// Lake is the committed state of a lake: every manifest and the data files
// they make live (listed by a manifest and not removed by a later one).
type Lake struct {
	b         bucket.Bucket
	Manifests []*Manifest // in run id (start time) order
	files     map[string]FileEntry
	removed   map[string]bool
}

// Open reads every committed manifest of the lake in b. It fails with
// ErrNoLake when there is none, and with ErrNewerSchema when a manifest was
// written by a newer lakefuse.
func Open(ctx context.Context, b bucket.Bucket) (*Lake, error) {
	l, err := Load(ctx, b)
	if err != nil {
		return nil, err
	}
	if len(l.Manifests) == 0 {
		return nil, fmt.Errorf("%s: %w: no committed manifest under %s (write one with lakefuse export, convert or demo)", b, ErrNoLake, ManifestDir)
	}
	return l, nil
}

// Load is Open for a location that may hold no lake yet: it returns an empty
// Lake instead of ErrNoLake.
func Load(ctx context.Context, b bucket.Bucket) (*Lake, error) { return LoadCached(ctx, b, nil) }

// ManifestCache keeps manifests read by LoadCached. Manifests never change
// once written, so a process that loads one lake again and again (export
// --every) reads each only once.
type ManifestCache struct {
	mu sync.Mutex
	m  map[string]*Manifest
}

// NewManifestCache returns an empty cache. Use one cache per lake.
func NewManifestCache() *ManifestCache { return &ManifestCache{m: map[string]*Manifest{}} }

// LoadCached is Load that reads only the manifests c does not hold yet
// (c may be nil).
func LoadCached(ctx context.Context, b bucket.Bucket, c *ManifestCache) (*Lake, error) {
	l := &Lake{b: b, files: map[string]FileEntry{}, removed: map[string]bool{}}
	var keys []string
	err := b.List(ctx, ManifestDir, func(a bucket.Attrs) error {
		if strings.HasSuffix(a.Key, ".json") {
			keys = append(keys, a.Key)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list manifests in %s: %w", b, err)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var m *Manifest
		if c != nil {
			c.mu.Lock()
			m = c.m[k]
			c.mu.Unlock()
		}
		if m == nil {
			var err error
			if m, err = ReadManifest(ctx, b, k); err != nil {
				return nil, err
			}
			if c != nil {
				c.mu.Lock()
				c.m[k] = m
				c.mu.Unlock()
			}
		}
		l.Manifests = append(l.Manifests, m)
		for _, f := range m.Files {
			l.files[f.Path] = f
		}
		for _, p := range m.Removed {
			l.removed[p] = true
		}
	}
	for p := range l.removed {
		delete(l.files, p)
	}
	return l, nil
}

// Bucket is where the lake lives.
func (l *Lake) Bucket() bucket.Bucket { return l.b }

// Files returns the live files of table ("" for every table), by path.
func (l *Lake) Files(table string) []FileEntry {
	var out []FileEntry
	for _, f := range l.files {
		if table == "" || f.Table == table {
			out = append(out, f)
		}
	}
	SortFiles(out)
	return out
}

// Live reports whether key is a live data file.
func (l *Lake) Live(key string) bool { _, ok := l.files[key]; return ok }

// Tables returns the names of tables that have live files or that a
// committed run exported (possibly empty), in schema order.
func (l *Lake) Tables() []string {
	seen := map[string]bool{}
	for _, f := range l.files {
		seen[f.Table] = true
	}
	for _, m := range l.Manifests {
		for t := range m.Tables {
			seen[t] = true
		}
	}
	var out []string
	for _, name := range schema.Names() {
		if seen[name] {
			out = append(out, name)
			delete(seen, name)
		}
	}
	var rest []string
	for name := range seen {
		rest = append(rest, name)
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// Rows is the number of rows of table in live files.
func (l *Lake) Rows(table string) int64 {
	var n int64
	for _, f := range l.files {
		if f.Table == table {
			n += f.Rows
		}
	}
	return n
}

// ScanOptions tunes Scan.
type ScanOptions struct {
	// Columns to read; nil reads all.
	Columns []string
	// BatchSize is the rows per record batch (default: up to 8192, fewer
	// for wide rows; see defaultBatch).
	BatchSize int64
	// BatchBytes, when BatchSize is not set, is the uncompressed bytes a
	// batch aims at (default 4 MiB): less holds less in memory at once.
	BatchBytes int64
	// VerifyChecksum reads each file once more to compare its SHA-256 with the
	// manifest before decoding it.
	VerifyChecksum bool
	Mem            memory.Allocator
}

// Batch is one record batch of a table, with where it came from. The record
// is valid only during the callback.
type Batch struct {
	Record    arrow.RecordBatch
	File      FileEntry
	Partition Partition
}

// Scan streams the record batches of table's live files, file by file in
// path order. Files are checked against the manifest (size, table name and
// schema version in the Parquet metadata, row count).
func (l *Lake) Scan(ctx context.Context, table string, opts ScanOptions, fn func(Batch) error) error {
	for _, f := range l.Files(table) {
		if err := ScanFile(ctx, l.b, f, opts, fn); err != nil {
			return err
		}
	}
	return nil
}

// ScanRows decodes every live row of the table whose row type is T.
func ScanRows[T any](ctx context.Context, l *Lake, fn func(p Partition, row *T) error) error {
	var zero T
	t, err := schema.TableOf(&zero)
	if err != nil {
		return err
	}
	return l.Scan(ctx, t.Name, ScanOptions{}, func(b Batch) error {
		d, err := schema.NewDecoder(t, b.Record.Schema())
		if err != nil {
			return fmt.Errorf("%s/%s: %w", l.b, b.File.Path, err)
		}
		for i := 0; i < int(b.Record.NumRows()); i++ {
			var row T
			if err := d.Decode(b.Record, i, &row); err != nil {
				return fmt.Errorf("%s/%s: %w", l.b, b.File.Path, err)
			}
			if err := fn(b.Partition, &row); err != nil {
				return err
			}
		}
		return nil
	})
}

// ScanFile streams the record batches of one data file.
func ScanFile(ctx context.Context, b bucket.Bucket, f FileEntry, opts ScanOptions, fn func(Batch) error) (err error) {
	where := b.String() + "/" + f.Path
	obj, err := openFile(ctx, b, f)
	if err != nil {
		if errors.Is(err, bucket.ErrNotFound) {
			return fmt.Errorf("%s: %w: listed in the manifest but missing; run lakefuse verify", where, ErrCorrupt)
		}
		return fmt.Errorf("open %s: %w", where, err)
	}
	defer obj.Close()
	if f.Size > 0 && obj.Size() != f.Size {
		return fmt.Errorf("%s: %w: %d bytes, the manifest says %d; run lakefuse verify", where, ErrCorrupt, obj.Size(), f.Size)
	}
	if opts.VerifyChecksum {
		if err := verifyChecksum(obj, f); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
	}
	// Decoders of damaged pages may panic deep inside arrow; a damaged file
	// must be an error that names it, never a crash.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: %w: cannot decode (%v)", where, ErrCorrupt, r)
		}
	}()
	mem := opts.Mem
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	// Pages are read through a buffer rather than a whole column chunk at
	// a time: a row group of observations holds megabytes of input and
	// output per column (issue 11: the demo's heap at a million rows).
	props := parquet.NewReaderProperties(mem)
	props.BufferedStreamEnabled = true
	props.BufferSize = scanBuffer
	pf, err := file.NewParquetReader(io.NewSectionReader(obj, 0, obj.Size()), file.WithReadProps(props))
	if err != nil {
		return fmt.Errorf("%s: %w: not a readable Parquet file (%v)", where, ErrCorrupt, err)
	}
	defer pf.Close()
	if err := checkFileMeta(pf, f); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	batch := opts.BatchSize
	if batch <= 0 {
		batch = defaultBatch(pf, cmp.Or(opts.BatchBytes, batchBytes))
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: batch, Parallel: false}, mem)
	if err != nil {
		return fmt.Errorf("%s: %w: %v", where, ErrCorrupt, err)
	}
	var cols []int
	if opts.Columns != nil {
		sch, err := fr.Schema()
		if err != nil {
			return fmt.Errorf("%s: %w: %v", where, ErrCorrupt, err)
		}
		// GetRecordReader takes Parquet leaf columns: a list or map field
		// has several, so field i is not leaf i after the first of them.
		for _, c := range opts.Columns {
			idx := sch.FieldIndices(c)
			if len(idx) == 0 {
				return fmt.Errorf("%s: no column %q", where, c)
			}
			cols = appendLeaves(cols, fr.Manifest.Fields[idx[0]])
		}
	}
	rr, err := fr.GetRecordReader(ctx, cols, nil)
	if err != nil {
		return fmt.Errorf("%s: %w: %v", where, ErrCorrupt, err)
	}
	defer rr.Release()
	var rows int64
	for rr.Next() {
		rec := rr.RecordBatch()
		rows += rec.NumRows()
		if err := fn(Batch{Record: rec, File: f, Partition: f.Partition()}); err != nil {
			return err
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %w: %v", where, ErrCorrupt, err)
	}
	if f.Rows > 0 && rows != f.Rows && opts.Columns == nil {
		return fmt.Errorf("%s: %w: %d rows, the manifest says %d", where, ErrCorrupt, rows, f.Rows)
	}
	return nil
}

// scanBuffer is the read buffer of each column of a scanned file: a
// compressed page of pageBytes fits (a larger page, from a lake written
// before pages were this small, grows its column's buffer).
const scanBuffer = pageBytes

// batchBytes is the uncompressed bytes of one record batch that the
// default batch size aims at unless ScanOptions.BatchBytes says otherwise.
// Arrow builds a batch by doubling its buffers, so a batch costs up to
// twice this while it is read.
const batchBytes = 4 << 20

// defaultBatch is the rows per record batch of a file: up to 8192, fewer
// when rows are wide (observations with kilobytes of input and output), so
// that a batch holds about batchBytes whatever the table.
func defaultBatch(pf *file.Reader, batchBytes int64) int64 {
	const most, least = 8192, 64
	md := pf.MetaData()
	var bytes, rows int64
	for i := 0; i < md.NumRowGroups(); i++ {
		rg := md.RowGroup(i)
		bytes += rg.TotalByteSize()
		rows += rg.NumRows()
	}
	if rows == 0 || bytes <= 0 {
		return most
	}
	return min(max(batchBytes/max(bytes/rows, 1), least), most)
}

// CheckFile checks one data file against its manifest entry without
// decoding its rows: it exists, has the size and SHA-256 the manifest
// records, and its footer names the table, a schema version this lakefuse
// reads and the row count. It reads the file once.
func CheckFile(ctx context.Context, b bucket.Bucket, f FileEntry) error {
	where := b.String() + "/" + f.Path
	if err := ctx.Err(); err != nil {
		return err
	}
	obj, err := openFile(ctx, b, f)
	if err != nil {
		if errors.Is(err, bucket.ErrNotFound) {
			return fmt.Errorf("%s: %w: listed in the manifest but missing", where, ErrCorrupt)
		}
		return fmt.Errorf("open %s: %w", where, err)
	}
	defer obj.Close()
	if f.Size > 0 && obj.Size() != f.Size {
		return fmt.Errorf("%s: %w: %d bytes, the manifest says %d", where, ErrCorrupt, obj.Size(), f.Size)
	}
	if f.SHA256 != "" {
		if err := verifyChecksum(obj, f); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
	}
	pf, err := file.NewParquetReader(io.NewSectionReader(obj, 0, obj.Size()))
	if err != nil {
		return fmt.Errorf("%s: %w: not a readable Parquet file (%v)", where, ErrCorrupt, err)
	}
	defer pf.Close()
	if err := checkFileMeta(pf, f); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	return nil
}

// appendLeaves appends the Parquet leaf column indices under f.
func appendLeaves(cols []int, f pqarrow.SchemaField) []int {
	if f.IsLeaf() {
		return append(cols, f.ColIndex)
	}
	for _, c := range f.Children {
		cols = appendLeaves(cols, c)
	}
	return cols
}

func checkFileMeta(pf *file.Reader, f FileEntry) error {
	kv := pf.MetaData().KeyValueMetadata()
	table := kv.FindValue(schema.MetaTable)
	version := kv.FindValue(schema.MetaSchemaVersion)
	if table == nil || version == nil {
		return fmt.Errorf("%w: no lakefuse table metadata; not a lake file", ErrCorrupt)
	}
	if *table != f.Table {
		return fmt.Errorf("%w: file holds table %q, the manifest says %q", ErrCorrupt, *table, f.Table)
	}
	v, err := strconv.Atoi(*version)
	if err != nil {
		return fmt.Errorf("%w: schema version %q", ErrCorrupt, *version)
	}
	if v > schema.Version {
		return fmt.Errorf("%w: schema version %d (this lakefuse reads up to %d); upgrade lakefuse", ErrNewerSchema, v, schema.Version)
	}
	if f.Rows > 0 && pf.NumRows() != f.Rows {
		return fmt.Errorf("%w: %d rows, the manifest says %d", ErrCorrupt, pf.NumRows(), f.Rows)
	}
	return nil
}

func verifyChecksum(obj bucket.Object, f FileEntry) error {
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(obj, 0, obj.Size())); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 {
		return fmt.Errorf("%w: sha256 %s, the manifest says %s", ErrCorrupt, got, f.SHA256)
	}
	return nil
}
