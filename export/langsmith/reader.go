package langsmith

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/lakefuse/lakefuse/bucket"
)

// Errors callers branch on. Messages name the file (location and key).
var (
	// ErrNoRuns: SOURCE holds no run files, or only empty ones.
	ErrNoRuns = errors.New("no LangSmith runs")
	// ErrCorrupt: a file is not readable Parquet.
	ErrCorrupt = errors.New("not a readable Parquet file")
	// ErrSchema: a file lacks the id column or has a column of a type that
	// cannot hold what LangSmith puts there.
	ErrSchema = errors.New("unsupported LangSmith export schema")
	// ErrBadRun: a run lacks what the lake needs (an id, a start time, a
	// trace) or has a value that does not parse.
	ErrBadRun = errors.New("run cannot be converted")
)

// readBuffer is the read-ahead per column chunk.
const readBuffer = 1 << 20

// fileReader reads one source file.
type fileReader struct {
	where string // location/key, for messages
	obj   bucket.Object
	pf    *file.Reader
	fr    *pqarrow.FileReader
	sch   *arrow.Schema
	// cols maps a known column name to its field index; other lists the
	// fields that the converter does not know.
	cols  map[string]int
	other []int
}

// openFile opens key and checks its schema: it must have an id column, and
// every known column must have a type that can hold its kind.
func openFile(ctx context.Context, src bucket.Bucket, where, key string, mem memory.Allocator, batch int64) (fr *fileReader, err error) {
	obj, err := src.Open(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", where, err)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: %w (%v)", where, ErrCorrupt, r)
		}
		if err != nil {
			if fr != nil && fr.pf != nil {
				_ = fr.pf.Close()
			}
			_ = obj.Close()
		}
	}()
	fr = &fileReader{where: where, obj: obj, cols: map[string]int{}}
	// Column chunks are streamed through a buffer instead of read whole:
	// exports may have row groups of hundreds of megabytes, and memory must
	// not grow with them. On S3 each refill is one ranged GET.
	props := parquet.NewReaderProperties(mem)
	props.BufferedStreamEnabled = true
	props.BufferSize = readBuffer
	fr.pf, err = file.NewParquetReader(io.NewSectionReader(obj, 0, obj.Size()), file.WithReadProps(props))
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", where, ErrCorrupt, err)
	}
	fr.fr, err = pqarrow.NewFileReader(fr.pf, pqarrow.ArrowReadProperties{BatchSize: batch}, mem)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", where, ErrCorrupt, err)
	}
	fr.sch, err = fr.fr.Schema()
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", where, ErrSchema, err)
	}
	// Exact names first; then names in another case, which tools that
	// rewrite exports sometimes produce.
	for pass := 0; pass < 2; pass++ {
		for i, f := range fr.sch.Fields() {
			name := f.Name
			if pass == 1 {
				name = strings.ToLower(name)
			}
			if _, known := columnKinds[name]; !known {
				continue
			}
			if _, dup := fr.cols[name]; !dup {
				fr.cols[name] = i
			}
		}
	}
	used := map[int]bool{}
	for _, i := range fr.cols {
		used[i] = true
	}
	for i := range fr.sch.Fields() {
		if !used[i] {
			fr.other = append(fr.other, i)
		}
	}
	if _, ok := fr.cols["id"]; !ok {
		return nil, fmt.Errorf("%s: %w: no id column (columns: %s)", where, ErrSchema, strings.Join(fr.names(), ", "))
	}
	var bad []string
	for name, i := range fr.cols {
		dt := fr.sch.Field(i).Type
		if !readable(columnKinds[name], dt) {
			bad = append(bad, fmt.Sprintf("column %s has type %s, which cannot hold %s", name, dt, columnKinds[name]))
		}
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return nil, fmt.Errorf("%s: %w: %s", where, ErrSchema, strings.Join(bad, "; "))
	}
	return fr, nil
}

func (fr *fileReader) names() []string {
	var out []string
	for _, f := range fr.sch.Fields() {
		out = append(out, f.Name)
	}
	return out
}

func (fr *fileReader) has(col string) bool { _, ok := fr.cols[col]; return ok }

func (fr *fileReader) close() {
	_ = fr.pf.Close()
	_ = fr.obj.Close()
}

func leaves(f pqarrow.SchemaField, out []int) []int {
	if f.IsLeaf() {
		return append(out, f.ColIndex)
	}
	for _, c := range f.Children {
		out = leaves(c, out)
	}
	return out
}

// read streams the file's record batches holding the given known columns
// (those the file has; nil for every column, known or not). Batches are
// valid only during fn.
func (fr *fileReader) read(ctx context.Context, cols []string, fn func(rec arrow.RecordBatch) error) (err error) {
	var fields []int
	if cols == nil {
		for i := range fr.sch.Fields() {
			fields = append(fields, i)
		}
	} else {
		for _, c := range cols {
			if i, ok := fr.cols[c]; ok {
				fields = append(fields, i)
			}
		}
	}
	slices.Sort(fields)
	var leafIdx []int
	for _, i := range fields {
		leafIdx = leaves(fr.fr.Manifest.Fields[i], leafIdx)
	}
	// Decoders of damaged pages may panic deep inside arrow; a damaged
	// file must be an error that names it.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: %w: cannot decode (%v)", fr.where, ErrCorrupt, r)
		}
	}()
	rr, err := fr.fr.GetRecordReader(ctx, leafIdx, nil)
	if err != nil {
		return fmt.Errorf("%s: %w: %v", fr.where, ErrCorrupt, err)
	}
	defer rr.Release()
	for rr.Next() {
		if err := fn(rr.RecordBatch()); err != nil {
			return err
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%s: %w: %v", fr.where, ErrCorrupt, err)
	}
	return nil
}
