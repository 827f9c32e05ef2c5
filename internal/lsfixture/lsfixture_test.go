package lsfixture

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/schema"

	"github.com/lakefuse/lakefuse/bucket"
)

func writeRead(t *testing.T, runs []Run, f Format) *file.Reader {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, runs, f); err != nil {
		t.Fatal(err)
	}
	r, err := file.NewParquetReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// The physical types are the point of this package: check them in the
// Parquet schema itself, not through Arrow.
func TestPhysicalTypes(t *testing.T) {
	runs, err := Examples("t", "s")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		f        Format
		phys     parquet.Type
		adjusted bool
		unit     schema.TimeUnitType
		codec    compress.Compression
	}{
		{"v1", V1(), parquet.Types.Int64, false, schema.TimeUnitNanos, compress.Codecs.Gzip},
		{"v2_beta", V2Beta(), parquet.Types.Int64, true, schema.TimeUnitNanos, compress.Codecs.Zstd},
		{"micros", Format{Time: TimeMicrosUTC, Compression: compress.Codecs.Snappy}, parquet.Types.Int64, true, schema.TimeUnitMicros, compress.Codecs.Snappy},
		{"millis", Format{Time: TimeMillisUTC}, parquet.Types.Int64, true, schema.TimeUnitMillis, compress.Codecs.Uncompressed},
		{"int96", Format{Time: TimeInt96}, parquet.Types.Int96, false, 0, compress.Codecs.Uncompressed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := writeRead(t, runs, c.f)
			sc := r.MetaData().Schema
			col := sc.Column(sc.ColumnIndexByName("start_time"))
			if col.PhysicalType() != c.phys {
				t.Fatalf("start_time physical type %s, want %s", col.PhysicalType(), c.phys)
			}
			if c.phys == parquet.Types.Int64 {
				ts, ok := col.LogicalType().(schema.TimestampLogicalType)
				if !ok {
					t.Fatalf("start_time logical type %s", col.LogicalType())
				}
				if ts.IsAdjustedToUTC() != c.adjusted || ts.TimeUnit() != c.unit {
					t.Fatalf("start_time %s, want adjusted=%v unit=%v", ts, c.adjusted, c.unit)
				}
			}
			cc, err := r.MetaData().RowGroup(0).ColumnChunk(0)
			if err != nil {
				t.Fatal(err)
			}
			if cc.Compression() != c.codec {
				t.Fatalf("codec %s, want %s", cc.Compression(), c.codec)
			}
			if r.NumRows() != int64(len(runs)) {
				t.Fatalf("%d rows, want %d", r.NumRows(), len(runs))
			}
		})
	}
}

func TestColumnSubsetAndOverride(t *testing.T) {
	runs, _ := Examples("t", "s")
	r := writeRead(t, runs, Format{Columns: []string{"id", "start_time", "name"}, ListColumns: true})
	if n := r.MetaData().Schema.NumColumns(); n != 3 {
		t.Fatalf("%d columns, want 3", n)
	}
	r = writeRead(t, runs, Format{ListColumns: true})
	sc := r.MetaData().Schema
	if sc.ColumnIndexByName("tags.list.element") < 0 && sc.ColumnIndexByName("tags.list.item") < 0 {
		t.Fatalf("tags is not a list: %s", sc)
	}
}

func TestGenerateTrees(t *testing.T) {
	byID := map[string]Run{}
	var roots, streaming, errs int
	for r := range Generate(GenOptions{Seed: 1, Runs: 500, Depth: 3, StreamTokens: 50, ErrorEvery: 7, Unicode: true, Threads: 3}) {
		if _, dup := byID[r.ID]; dup {
			t.Fatalf("duplicate id %s", r.ID)
		}
		byID[r.ID] = r
		if r.IsRoot {
			roots++
			if r.TraceID != r.ID || r.ParentRunID != nil {
				t.Fatalf("root %s: trace %s parent %v", r.ID, r.TraceID, r.ParentRunID)
			}
			continue
		}
		p, ok := byID[*r.ParentRunID]
		if !ok {
			t.Fatalf("run %s: parent %s not yielded before it", r.ID, *r.ParentRunID)
		}
		if p.TraceID != r.TraceID || !strings.HasPrefix(r.DottedOrder, p.DottedOrder+".") || r.StartTime.Before(p.StartTime) {
			t.Fatalf("run %s does not nest in %s", r.ID, p.ID)
		}
		if r.FirstTokenTime != nil {
			streaming++
		}
		if r.Error != nil {
			errs++
		}
	}
	if len(byID) < 500 || roots == 0 || streaming == 0 || errs == 0 {
		t.Fatalf("runs %d roots %d streaming %d errors %d", len(byID), roots, streaming, errs)
	}
}

func TestWriteExportSplitsDays(t *testing.T) {
	b := bucket.NewMemory()
	ctx := context.Background()
	st, err := WriteExport(ctx, b, Generate(GenOptions{Seed: 2, Runs: 3000, TraceEvery: 20 * time.Minute}), ExportOptions{
		Layout: Layout{ExportID: "e", TenantID: "t", SessionID: "s", Resource: true}, Format: V2Beta(), RowsPerFile: 400,
	})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	_ = b.List(ctx, "", func(a bucket.Attrs) error { keys = append(keys, a.Key); return nil })
	if len(keys) != st.Files || st.Files < 8 {
		t.Fatalf("%d keys, %d files: %v", len(keys), st.Files, keys)
	}
	if !strings.HasPrefix(keys[0], "export_id=e/tenant_id=t/session_id=s/resource=runs/year=2026/month=3/day=") {
		t.Fatalf("key %s", keys[0])
	}
}
