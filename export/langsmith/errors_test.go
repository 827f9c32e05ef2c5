package langsmith

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/internal/lsfixture"
)

func putBytes(t *testing.T, b bucket.Bucket, key string, data []byte) {
	t.Helper()
	if err := lsfixture.PutBytes(context.Background(), b, key, data); err != nil {
		t.Fatal(err)
	}
}

func parquetBytes(t *testing.T, runs []lsfixture.Run, f lsfixture.Format) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := lsfixture.Write(&buf, runs, f); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestErrorsNameTheFile: what cannot be converted fails the conversion with
// an error of the right kind that names the file (or SOURCE).
func TestErrorsNameTheFile(t *testing.T) {
	runs := generate(lsfixture.GenOptions{Seed: 19, Runs: 50})
	d := day(runs[0].StartTime)
	good := layout(export1).Key(d, 0)
	bad := layout(export1).Key(d, 1)
	valid := parquetBytes(t, runs, lsfixture.V1())
	boolStart := lsfixture.Format{Override: []lsfixture.Column{{Name: "start_time", Type: arrow.FixedWidthTypes.Boolean,
		Append: func(b array.Builder, _ *lsfixture.Run) { b.(*array.BooleanBuilder).Append(true) }}}}
	listID := lsfixture.Format{Override: []lsfixture.Column{{Name: "id", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64),
		Append: func(b array.Builder, _ *lsfixture.Run) {
			lb := b.(*array.ListBuilder)
			lb.Append(true)
			lb.ValueBuilder().(*array.Int64Builder).Append(1)
		}}}}
	nullStart := append([]lsfixture.Run(nil), runs...)
	nullStart[3].StartTime = time.Time{}
	badCost := lsfixture.Format{Cost: lsfixture.CostString, Override: []lsfixture.Column{{Name: "total_cost", Type: arrow.BinaryTypes.String,
		Append: func(b array.Builder, _ *lsfixture.Run) { b.(*array.StringBuilder).Append("twelve cents") }}}}
	cases := []struct {
		name  string
		setup func(b bucket.Bucket)
		kind  error
		say   []string
	}{
		{"corrupt file", func(b bucket.Bucket) {
			put(t, b, good, runs, lsfixture.V1())
			putBytes(t, b, bad, []byte("this is not parquet, it only has the name"))
		}, ErrCorrupt, []string{bad}},
		{"truncated file", func(b bucket.Bucket) {
			putBytes(t, b, bad, valid[:len(valid)/2])
		}, ErrCorrupt, []string{bad}},
		{"damaged pages", func(b bucket.Bucket) {
			dmg := append([]byte(nil), valid...)
			for i := 8; i < len(dmg)/2; i += 7 {
				dmg[i] ^= 0x5a
			}
			putBytes(t, b, bad, dmg)
		}, ErrCorrupt, []string{bad}},
		{"start_time of type bool", func(b bucket.Bucket) {
			put(t, b, bad, runs, boolStart)
		}, ErrSchema, []string{bad, "start_time", "bool", "a time"}},
		{"id of type list", func(b bucket.Bucket) {
			put(t, b, bad, runs, listID)
		}, ErrSchema, []string{bad, "column id", "list"}},
		{"no id column", func(b bucket.Bucket) {
			put(t, b, bad, runs, lsfixture.Format{Columns: []string{"name", "start_time"}})
		}, ErrSchema, []string{bad, "no id column"}},
		{"no start_time nor dotted_order", func(b bucket.Bucket) {
			put(t, b, bad, nullStart, lsfixture.Format{Columns: []string{"id", "trace_id", "parent_run_id", "start_time"}})
		}, ErrBadRun, []string{bad, "row 3", nullStart[3].ID, "start_time"}},
		{"cost that is not a number", func(b bucket.Bucket) {
			put(t, b, bad, runs, badCost)
		}, ErrBadRun, []string{bad, "total_cost", "twelve cents"}},
		{"empty source", func(bucket.Bucket) {}, ErrNoRuns, []string{"mem://src", "no *.parquet"}},
		{"only other objects", func(b bucket.Bucket) {
			putBytes(t, b, "tmp/validation.parquet", valid)
			putBytes(t, b, "README.txt", []byte("hello"))
			putBytes(t, b, "export_id=x/tenant_id=t/session_id=s/resource=feedback/year=2026/month=1/day=1/f.parquet", valid)
		}, ErrNoRuns, []string{"mem://src", "3 other objects were ignored"}},
		{"files without rows", func(b bucket.Bucket) {
			put(t, b, good, nil, lsfixture.V1())
		}, ErrNoRuns, []string{"mem://src", "hold no rows"}},
		{"partition that is no date", func(b bucket.Bucket) {
			putBytes(t, b, "export_id=x/tenant_id=t/session_id=s/runs/year=2026/month=13/day=1/f.parquet", valid)
		}, nil, []string{"month=13", "not a date"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := bucket.NewMemory()
			c.setup(src)
			_, _, err := tryConvert(src, "mem://src", Options{})
			if err == nil {
				t.Fatal("converted")
			}
			if c.kind != nil && !errors.Is(err, c.kind) {
				t.Errorf("error %v is not %v", err, c.kind)
			}
			for _, s := range c.say {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
}

// TestSchemaCheckedBeforeWriting: a bad file anywhere in SOURCE fails Open,
// before anything is written.
func TestSchemaCheckedBeforeWriting(t *testing.T) {
	runs := generate(lsfixture.GenOptions{Seed: 23, Runs: 800, TraceEvery: 2 * time.Hour})
	src := bucket.NewMemory()
	putExport(t, src, layout(export1), runs, lsfixture.V2Beta())
	last := day(runs[len(runs)-1].StartTime)
	putBytes(t, src, layout(export2).Key(last, 0), []byte("garbage"))
	_, err := Open(t.Context(), src, "mem://src", Options{})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), layout(export2).Key(last, 0)) {
		t.Fatalf("Open: %v", err)
	}
}
