package hive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/schema"
)

// Defaults of the rolling writer. Row groups are cut by compressed size so
// that readers (DuckDB parallelises by row group) get a few tens of MiB each;
// files roll over well before object stores or readers mind their size.
const (
	DefaultTargetFileBytes     = 256 << 20
	DefaultTargetRowGroupBytes = 16 << 20
	DefaultBatchRows           = 4096
	DefaultBatchBytes          = 4 << 20
	// DefaultMaxOpenFiles is small on purpose: each open file holds its
	// buffered row group (up to the target) and a batch of rows in memory,
	// and sources produce rows roughly in time order, so a partition that
	// was left rarely comes back.
	DefaultMaxOpenFiles = 4
)

// RunOptions configures a writing run.
type RunOptions struct {
	// RunID names the run; NewRunID when empty.
	RunID  string
	Kind   string
	Tool   Tool
	Source Source
	Window Window
	// Shard, for one shard of a sharded export, is recorded in the manifest.
	Shard *Shard
	// Selection is recorded in the manifest.
	Selection *Selection

	Mem                 memory.Allocator
	TargetFileBytes     int64
	TargetRowGroupBytes int64
	BatchRows           int
	BatchBytes          int64
	// MaxOpenFiles bounds the partition files open at once across all
	// tables; the least recently used one is finished when a new one is
	// needed. It bounds the run's memory.
	MaxOpenFiles int
	// Lease, when set, is checked right before the manifest is written: a
	// run that lost the lake's lease must not commit.
	Lease  *Lease
	Logger *slog.Logger
	Now    func() time.Time
	// Transform, when set, is applied by Append to every row before it is
	// written (redaction): it returns the row to write, possibly a copy,
	// and must not modify row.
	Transform func(t *schema.Table, row any) (any, error)
	// Redaction is recorded in the manifest (the policy's hash, never a key).
	Redaction *Redaction
}

func (o *RunOptions) defaults() {
	if o.Mem == nil {
		o.Mem = memory.DefaultAllocator
	}
	if o.TargetFileBytes <= 0 {
		o.TargetFileBytes = DefaultTargetFileBytes
	}
	if o.TargetRowGroupBytes <= 0 {
		o.TargetRowGroupBytes = DefaultTargetRowGroupBytes
	}
	if o.BatchRows <= 0 {
		o.BatchRows = DefaultBatchRows
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = DefaultBatchBytes
	}
	if o.MaxOpenFiles <= 0 {
		o.MaxOpenFiles = DefaultMaxOpenFiles
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Tool.Name == "" {
		o.Tool.Name = "lakefuse"
	}
}

// Run writes one run's data files and, on Commit, its manifest. A Run is
// safe for concurrent use.
type Run struct {
	b       bucket.Bucket
	opts    RunOptions
	started time.Time

	mu      sync.Mutex
	seq     int
	tick    uint64
	open    map[openKey]*partFile
	files   []FileEntry
	removed []string
	media   []MediaEntry
	tables  map[string]bool
	notes   map[string]string
	done    bool
	pub     PublishStats
}

type openKey struct {
	table string
	part  Partition
}

// RunState is what a checkpoint must keep to resume a run.
type RunState struct {
	RunID     string       `json:"run_id"`
	StartedAt time.Time    `json:"started_at"`
	NextSeq   int          `json:"next_seq"`
	Files     []FileEntry  `json:"files"`
	Removed   []string     `json:"removed,omitempty"`
	Media     []MediaEntry `json:"media,omitempty"`
	Tables    []string     `json:"tables,omitempty"`
}

// NewRun starts a run writing into b.
func NewRun(ctx context.Context, b bucket.Bucket, opts RunOptions) (*Run, error) {
	opts.defaults()
	if opts.RunID == "" {
		opts.RunID = NewRunID(opts.Now())
	}
	if !ValidRunID(opts.RunID) {
		return nil, fmt.Errorf("run id %q is malformed", opts.RunID)
	}
	if _, err := b.Stat(ctx, ManifestKey(opts.RunID)); err == nil {
		return nil, fmt.Errorf("run %s is already committed in %s", opts.RunID, b)
	} else if !errors.Is(err, bucket.ErrNotFound) {
		return nil, fmt.Errorf("check %s: %w", b, err)
	}
	return &Run{
		b: b, opts: opts, started: opts.Now().UTC(),
		open: map[openKey]*partFile{}, tables: map[string]bool{}, notes: map[string]string{},
	}, nil
}

// ResumeRun continues a run from a checkpointed state: files it had finished
// stay part of it and new files continue its numbering.
func ResumeRun(ctx context.Context, b bucket.Bucket, st RunState, opts RunOptions) (*Run, error) {
	opts.RunID = st.RunID
	r, err := NewRun(ctx, b, opts)
	if err != nil {
		return nil, err
	}
	r.started = st.StartedAt
	r.seq = st.NextSeq
	r.files = append(r.files, st.Files...)
	r.removed = append(r.removed, st.Removed...)
	r.media = append(r.media, st.Media...)
	for _, t := range st.Tables {
		r.tables[t] = true
	}
	return r, nil
}

// ID is the run id.
func (r *Run) ID() string { return r.opts.RunID }

// Append adds one row of table t for project projectID. The row's partition
// is the UTC date of its time column (snapshot tables: the project only).
func (r *Run) Append(ctx context.Context, t *schema.Table, projectID string, row any) error {
	if r.opts.Transform != nil {
		var err error
		if row, err = r.opts.Transform(t, row); err != nil {
			return err
		}
	}
	part := Partition{ProjectID: projectID}
	var ts time.Time
	if t.Partitioned() {
		var ok bool
		var err error
		ts, ok, err = t.RowTime(row)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("table %s: row without %s cannot be partitioned", t.Name, t.TimeColumn)
		}
		part.Date = DateOf(ts)
	}
	return r.appendTo(ctx, t, part, func(pf *partFile) error { return pf.append(row, ts) })
}

// AppendBatch adds the rows of rec, a record batch of table t read from a
// lake file of partition part (compaction copies batches without decoding
// rows). rec keeps its owner's reference; the run takes its own.
func (r *Run) AppendBatch(ctx context.Context, t *schema.Table, part Partition, rec arrow.RecordBatch) error {
	rec, err := conform(rec, t.Arrow())
	if err != nil {
		return fmt.Errorf("table %s: %w", t.Name, err)
	}
	defer rec.Release()
	return r.appendTo(ctx, t, part, func(pf *partFile) error { return pf.appendBatch(rec) })
}

// appendTo runs add on the open file of t's partition part (opening it if
// need be) under the run's lock, and finishes the file when it is full.
func (r *Run) appendTo(ctx context.Context, t *schema.Table, part Partition, add func(*partFile) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return fmt.Errorf("run %s is already committed or aborted", r.opts.RunID)
	}
	r.tables[t.Name] = true
	pf, err := r.fileFor(ctx, t, part)
	if err != nil {
		return err
	}
	r.tick++
	pf.lastUse = r.tick
	if err := add(pf); err != nil {
		return r.failFile(pf, err)
	}
	if pf.full {
		return r.finish(pf)
	}
	return nil
}

// Touch records that table was exported by this run even if it has no rows,
// so the manifest shows it with 0 rows.
func (r *Run) Touch(table string) {
	r.mu.Lock()
	r.tables[table] = true
	r.mu.Unlock()
}

// Remove marks files of earlier runs as superseded by this run. They leave
// the lake when this run commits and are deleted after that.
func (r *Run) Remove(paths ...string) {
	r.mu.Lock()
	r.removed = append(r.removed, paths...)
	r.mu.Unlock()
}

// AddMedia records a media object written under _media/.
func (r *Run) AddMedia(e MediaEntry) {
	r.mu.Lock()
	r.media = append(r.media, e)
	r.mu.Unlock()
}

// SetNote records a source-specific fact in the manifest.
func (r *Run) SetNote(key, value string) {
	r.mu.Lock()
	r.notes[key] = value
	r.mu.Unlock()
}

// Sync finishes every open file, so that everything appended so far is
// stored and listed in State.
func (r *Run) Sync(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.finishAll()
}

// State returns the run's state for a checkpoint. Call Sync first: open
// files are not part of it.
func (r *Run) State() RunState {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := RunState{
		RunID: r.opts.RunID, StartedAt: r.started, NextSeq: r.seq,
		Files:   append([]FileEntry(nil), r.files...),
		Removed: append([]string(nil), r.removed...),
		Media:   append([]MediaEntry(nil), r.media...),
	}
	for t := range r.tables {
		st.Tables = append(st.Tables, t)
	}
	sort.Strings(st.Tables)
	return st
}

// Commit finishes every file, writes the manifest (the commit point), then
// moves the run's files from staging into place and deletes the files it
// superseded. When only that last step fails it returns the manifest and an
// error wrapping ErrUnpublished: the run is committed, readers that go
// through manifests see it whole, and Publish (the next run's Clean)
// finishes the move for glob readers.
func (r *Run) Commit(ctx context.Context) (*Manifest, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return nil, fmt.Errorf("run %s is already committed or aborted", r.opts.RunID)
	}
	if err := r.finishAll(); err != nil {
		return nil, err
	}
	m := &Manifest{
		Format: ManifestFormat, ManifestVersion: ManifestVersion, SchemaVersion: schema.Version,
		RunID: r.opts.RunID, Kind: r.opts.Kind, Tool: r.opts.Tool, Source: r.opts.Source, Window: r.opts.Window, Shard: r.opts.Shard,
		StartedAt: r.started, CommittedAt: r.opts.Now().UTC(),
		Tables:  map[string]TableSummary{},
		Files:   append([]FileEntry(nil), r.files...),
		Removed: append([]string(nil), r.removed...),
		Media:   append([]MediaEntry(nil), r.media...),
	}
	if len(r.notes) > 0 {
		m.Notes = r.notes
	}
	if !r.opts.Selection.Empty() {
		m.Selection = r.opts.Selection
	}
	m.Redaction = r.opts.Redaction
	for t := range r.tables {
		m.Tables[t] = TableSummary{}
	}
	SortFiles(m.Files)
	sort.Strings(m.Removed)
	m.Summarise()
	if err := r.opts.Lease.Check(ctx); err != nil {
		return nil, fmt.Errorf("commit run %s: %w", r.opts.RunID, err)
	}
	if err := WriteManifest(ctx, r.b, m); err != nil {
		return nil, fmt.Errorf("commit run %s: %w", r.opts.RunID, err)
	}
	r.done = true
	// The run is committed; moving its files into place is the roll-forward
	// that Publish (in the next run's Clean) finishes if this one stops.
	// Moving takes milliseconds a file: finish it even when ctx ends now
	// (SIGTERM), so that globs see the committed run at once.
	st, err := publish(context.WithoutCancel(ctx), r.b, m.Files, m.Removed)
	r.pub = st
	if err != nil {
		return m, fmt.Errorf("%w: run %s: %w", ErrUnpublished, m.RunID, err)
	}
	r.opts.Logger.Debug("files moved into place", "run", m.RunID, "files", st.Files, "deleted", st.Deleted, "took", st.Duration)
	return m, nil
}

// Published says what moving the committed run's files into place cost.
func (r *Run) Published() PublishStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pub
}

// Abort discards the run: open files are aborted and finished ones deleted.
// Nothing committed earlier is touched.
func (r *Run) Abort(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return nil
	}
	r.done = true
	var errs []error
	for k, pf := range r.open {
		pf.abort()
		delete(r.open, k)
	}
	for _, f := range r.files {
		if err := r.b.Delete(ctx, StagingKey(r.opts.RunID, f.Path)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (r *Run) fileFor(ctx context.Context, t *schema.Table, part Partition) (*partFile, error) {
	k := openKey{t.Name, part}
	if pf := r.open[k]; pf != nil {
		return pf, nil
	}
	// Keep at most two files of one table open (rows arrive roughly in time
	// order, so the older one is done) and MaxOpenFiles in all.
	for {
		perTable := 0
		var lru, lruTable *partFile
		for _, pf := range r.open {
			if lru == nil || pf.lastUse < lru.lastUse {
				lru = pf
			}
			if pf.table == t {
				perTable++
				if lruTable == nil || pf.lastUse < lruTable.lastUse {
					lruTable = pf
				}
			}
		}
		victim := lruTable
		if perTable < 2 {
			victim = nil
			if len(r.open) >= r.opts.MaxOpenFiles {
				victim = lru
			}
		}
		if victim == nil {
			break
		}
		if err := r.finish(victim); err != nil {
			return nil, err
		}
	}
	final := part.Dir(t.Name) + "/part-" + r.opts.RunID + "-" + fmt.Sprintf("%05d", r.seq) + ".parquet"
	r.seq++
	pf, err := newPartFile(ctx, r.b, StagingKey(r.opts.RunID, final), final, t, part, &r.opts)
	if err != nil {
		return nil, err
	}
	r.open[k] = pf
	return pf, nil
}

// finish closes pf and records it.
func (r *Run) finish(pf *partFile) error {
	delete(r.open, openKey{pf.table.Name, pf.part})
	fe, err := pf.close()
	if err != nil {
		return fmt.Errorf("write %s/%s: %w", r.b, pf.key, err)
	}
	r.files = append(r.files, fe)
	r.opts.Logger.Debug("file written", "file", fe.Path, "rows", fe.Rows, "bytes", fe.Size)
	return nil
}

func (r *Run) finishAll() error {
	keys := make([]openKey, 0, len(r.open))
	for k := range r.open {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return r.open[keys[i]].key < r.open[keys[j]].key })
	for _, k := range keys {
		if err := r.finish(r.open[k]); err != nil {
			return err
		}
	}
	return nil
}

func (r *Run) failFile(pf *partFile, err error) error {
	delete(r.open, openKey{pf.table.Name, pf.part})
	pf.abort()
	return fmt.Errorf("write %s/%s: %w", r.b, pf.key, err)
}

// partFile is one Parquet file being written. Rows are collected into
// record batches on the caller's goroutine; encoding and compressing them
// (most of the cost) happens on the file's own goroutine, so a producer and
// the writer use two cores. At most two batches are in flight.
type partFile struct {
	key     string // where it is written (staged)
	path    string // its place in the lake
	table   *schema.Table
	part    Partition
	opts    *RunOptions
	w       bucket.Writer
	sink    *hashingWriter
	fw      *pqarrow.FileWriter // owned by encode until done is closed
	bld     *schema.Builder
	rows    int64
	minT    time.Time
	maxT    time.Time
	lastUse uint64

	work    chan arrow.RecordBatch
	done    chan struct{}
	stopped bool        // work is closed
	encErr  error       // set by encode; read after done
	failed  atomic.Bool // encode hit an error
	isFull  atomic.Bool // the file reached TargetFileBytes
	// full is read by Run after each append.
	full bool
}

// hashingWriter counts and hashes what goes to the bucket.
type hashingWriter struct {
	w bucket.Writer
	h hash.Hash
	n int64
}

func (h *hashingWriter) Write(p []byte) (int, error) {
	n, err := h.w.Write(p)
	h.h.Write(p[:n])
	h.n += int64(n)
	return n, err
}

// Close is a no-op: the Parquet writer closes its sink, but only Commit may
// publish the object.
func (h *hashingWriter) Close() error { return nil }

// pageBytes is the uncompressed size a lake file's data pages aim at.
const pageBytes = 256 << 10

// WriterProperties are the Parquet properties of every lake file.
func WriterProperties(t *schema.Table, mem memory.Allocator) *parquet.WriterProperties {
	props := []parquet.WriterProperty{
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithCompressionLevel(1),
		parquet.WithCreatedBy("lakefuse"),
		parquet.WithAllocator(mem),
		parquet.WithMaxRowGroupLength(1 << 20),
		// Pages of ~256 KiB, not 1 MiB: a reader holds a decompressed
		// page per column at once, ~15 MB for one observations row group
		// (issue 11: verify reads the lake while the demo's destination is
		// in memory). The size is checked every 1024 values (the default
		// batch), so a payload column's pages still take 1024 payloads:
		// checking every 128 kept those small too but wrote a million
		// observations in 13.7 s instead of 8.9 s.
		parquet.WithDataPageSize(pageBytes),
		parquet.WithDictionaryDefault(true),
		parquet.WithStats(true),
	}
	for _, c := range t.Columns {
		if c.Name == "id" || strings.HasSuffix(c.Name, "_id") || c.Type.ID() == arrow.TIMESTAMP {
			// Ids and timestamps (microseconds) are (nearly) unique: a
			// dictionary only costs memory and time (hashing every value)
			// before it falls back to plain.
			props = append(props, parquet.WithDictionaryFor(c.Name, false))
		}
		if c.JSON {
			// Payloads are nearly unique: a dictionary costs time and memory and
			// falls back to plain anyway. No statistics either: min/max of a
			// 100 KB JSON document helps no reader.
			props = append(props, parquet.WithDictionaryFor(c.Name, false), parquet.WithStatsFor(c.Name, false))
		}
	}
	return parquet.NewWriterProperties(props...)
}

func newPartFile(ctx context.Context, b bucket.Bucket, key, final string, t *schema.Table, part Partition, opts *RunOptions) (*partFile, error) {
	w, err := b.NewWriter(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("write %s/%s: %w", b, key, err)
	}
	sink := &hashingWriter{w: w, h: sha256.New()}
	fw, err := pqarrow.NewFileWriter(withStoredSchema(t), sink, WriterProperties(t, opts.Mem),
		pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(opts.Mem)))
	if err != nil {
		_ = w.Abort()
		return nil, fmt.Errorf("write %s/%s: %w", b, key, err)
	}
	pf := &partFile{key: key, path: final, table: t, part: part, opts: opts, w: w, sink: sink, fw: fw, bld: schema.NewBuilder(opts.Mem, t),
		work: make(chan arrow.RecordBatch, 1), done: make(chan struct{})}
	go pf.encode()
	return pf, nil
}

// encode writes the batches it receives into the Parquet file, cutting row
// groups by compressed size. After an error it only releases batches.
func (pf *partFile) encode() {
	defer close(pf.done)
	for rec := range pf.work {
		if pf.encErr == nil {
			pf.encErr = pf.writeBatch(rec)
			if pf.encErr != nil {
				pf.failed.Store(true)
			}
		}
		rec.Release()
	}
}

func (pf *partFile) writeBatch(rec arrow.RecordBatch) error {
	if err := pf.fw.WriteBuffered(rec); err != nil {
		return err
	}
	if pf.fw.RowGroupTotalCompressedBytes() >= pf.opts.TargetRowGroupBytes {
		if err := pf.fw.NewBufferedRowGroupChecked(); err != nil {
			return err
		}
	}
	if pf.fw.TotalCompressedBytes() >= pf.opts.TargetFileBytes {
		pf.isFull.Store(true)
	}
	return nil
}

func (pf *partFile) append(row any, ts time.Time) error {
	if pf.failed.Load() {
		return pf.stop()
	}
	if err := pf.bld.Append(row); err != nil {
		return err
	}
	pf.rows++
	if pf.table.Partitioned() {
		if pf.minT.IsZero() || ts.Before(pf.minT) {
			pf.minT = ts
		}
		if ts.After(pf.maxT) {
			pf.maxT = ts
		}
	}
	if pf.bld.Len() >= pf.opts.BatchRows || pf.bld.Bytes() >= pf.opts.BatchBytes {
		pf.flush()
	}
	pf.full = pf.isFull.Load()
	return nil
}

func (pf *partFile) appendBatch(rec arrow.RecordBatch) error {
	if pf.failed.Load() {
		return pf.stop()
	}
	pf.flush()
	if pf.table.Partitioned() {
		idx := rec.Schema().FieldIndices(pf.table.TimeColumn)
		if len(idx) == 0 {
			return fmt.Errorf("table %s: record batch without %s", pf.table.Name, pf.table.TimeColumn)
		}
		col, ok := rec.Column(idx[0]).(*array.Timestamp)
		if !ok {
			return fmt.Errorf("table %s: %s is not a timestamp column", pf.table.Name, pf.table.TimeColumn)
		}
		unit := col.DataType().(*arrow.TimestampType).Unit
		for i := 0; i < col.Len(); i++ {
			if col.IsNull(i) {
				continue
			}
			ts := col.Value(i).ToTime(unit).UTC()
			if pf.minT.IsZero() || ts.Before(pf.minT) {
				pf.minT = ts
			}
			if ts.After(pf.maxT) {
				pf.maxT = ts
			}
		}
	}
	rec.Retain()
	pf.work <- rec
	pf.rows += rec.NumRows()
	pf.full = pf.isFull.Load()
	return nil
}

// flush hands the rows collected so far to the encoder.
func (pf *partFile) flush() {
	if pf.bld.Len() == 0 || pf.stopped {
		return
	}
	pf.work <- pf.bld.NewRecordBatch()
}

// stop ends the encoder and returns its error.
func (pf *partFile) stop() error {
	if !pf.stopped {
		pf.stopped = true
		close(pf.work)
	}
	<-pf.done
	return pf.encErr
}

func (pf *partFile) close() (FileEntry, error) {
	pf.flush()
	err := pf.stop()
	pf.bld.Release()
	if err == nil {
		err = pf.fw.Close()
	} else {
		_ = pf.fw.Close() // frees buffers; the bytes go nowhere
	}
	if err != nil {
		_ = pf.w.Abort()
		return FileEntry{}, err
	}
	if err := pf.w.Commit(); err != nil {
		return FileEntry{}, err
	}
	fe := FileEntry{
		Path: pf.path, Table: pf.table.Name, ProjectID: pf.part.ProjectID, Date: pf.part.Date,
		Rows: pf.rows, Size: pf.sink.n, SHA256: hex.EncodeToString(pf.sink.h.Sum(nil)),
	}
	if !pf.minT.IsZero() {
		minT, maxT := pf.minT, pf.maxT
		fe.MinTime, fe.MaxTime = &minT, &maxT
	}
	return fe, nil
}

func (pf *partFile) abort() {
	_ = pf.stop()
	_ = pf.fw.Close() // frees buffers; the bytes go nowhere
	_ = pf.w.Abort()
	pf.bld.Release()
}
