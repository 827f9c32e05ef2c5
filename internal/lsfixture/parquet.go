package lsfixture

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Run is one LangSmith run as a bulk export holds it. JSON-valued fields
// hold JSON text; nil is a null cell.
type Run struct {
	ID                 string
	TenantID           string
	SessionID          string
	TraceID            string
	ParentRunID        *string
	ParentRunIDs       []string
	ReferenceExampleID *string
	Name               string
	RunType            string
	StartTime          time.Time
	EndTime            *time.Time
	Status             string
	IsRoot             bool
	DottedOrder        string
	TraceTier          *string
	Inputs             *string
	Outputs            *string
	Error              *string
	Extra              *string
	Events             *string
	Tags               []string
	FeedbackStats      *string
	TotalTokens        *int64
	PromptTokens       *int64
	CompletionTokens   *int64
	TotalCost          *float64
	PromptCost         *float64
	CompletionCost     *float64
	FirstTokenTime     *time.Time
}

// Columns are the 29 columns of a default bulk export, in the documented
// order.
var Columns = []string{
	"id", "tenant_id", "session_id", "trace_id", "parent_run_id", "parent_run_ids", "reference_example_id",
	"name", "run_type", "start_time", "end_time", "status", "is_root", "dotted_order", "trace_tier",
	"inputs", "outputs", "error", "extra", "events", "tags", "feedback_stats",
	"total_tokens", "prompt_tokens", "completion_tokens", "total_cost", "prompt_cost", "completion_cost",
	"first_token_time",
}

// TimeEncoding is how the time columns are stored.
type TimeEncoding int

// Time encodings seen in exports or reported by readers of them.
const (
	// TimeNanosLocal is format v1: INT64 TIMESTAMP(NANOS, isAdjustedToUTC=false).
	TimeNanosLocal TimeEncoding = iota
	// TimeNanosUTC is format v2_beta: UTC-adjusted timestamps.
	TimeNanosUTC
	TimeMicrosUTC
	TimeMillisUTC
	TimeMicrosLocal
	// TimeInt96 is the deprecated INT96 timestamp (Spark, Hive).
	TimeInt96
	// TimeISO is naive ISO-8601 text, as the API returns times.
	TimeISO
	// TimeInt64Nanos is a bare INT64 of nanoseconds, as Spark surfaces v1.
	TimeInt64Nanos
)

// CostEncoding is how the cost columns are stored.
type CostEncoding int

// Cost encodings.
const (
	CostDouble CostEncoding = iota
	CostDecimal
	CostString
)

// Column replaces a standard column or adds one, for files with physical
// types that no export has (tests of the reader's errors).
type Column struct {
	Name   string
	Type   arrow.DataType
	Append func(b array.Builder, r *Run)
}

// Format is the physical layout of a file.
type Format struct {
	Time        TimeEncoding
	Cost        CostEncoding
	Compression compress.Compression
	// Columns to write; nil writes all of Columns (exports can choose theirs).
	Columns []string
	// ListColumns stores tags and parent_run_ids as LIST<STRING> instead of
	// JSON text.
	ListColumns bool
	// UpperCase writes run_type and status in upper case, as the v2 query
	// API spells them.
	UpperCase bool
	// Override replaces columns by name, or adds them after the others.
	Override []Column
	// RowGroupRows caps the rows of a row group (default 5000).
	RowGroupRows int
}

// V1 is a format v1 file as a self-hosted LangSmith writes it (gzip).
func V1() Format {
	return Format{Time: TimeNanosLocal, Cost: CostDouble, Compression: compress.Codecs.Gzip}
}

// V2Beta is a format v2_beta file as LangSmith cloud writes it (zstd).
func V2Beta() Format {
	return Format{Time: TimeNanosUTC, Cost: CostDouble, Compression: compress.Codecs.Zstd}
}

func (f Format) timeType() arrow.DataType {
	switch f.Time {
	case TimeNanosLocal, TimeInt96:
		return &arrow.TimestampType{Unit: arrow.Nanosecond}
	case TimeNanosUTC:
		return &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}
	case TimeMicrosUTC:
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	case TimeMillisUTC:
		return &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}
	case TimeMicrosLocal:
		return &arrow.TimestampType{Unit: arrow.Microsecond}
	case TimeISO:
		return arrow.BinaryTypes.String
	case TimeInt64Nanos:
		return arrow.PrimitiveTypes.Int64
	}
	panic(fmt.Sprintf("lsfixture: time encoding %d", f.Time))
}

var decimalType = &arrow.Decimal128Type{Precision: 18, Scale: 10}

func (f Format) costType() arrow.DataType {
	switch f.Cost {
	case CostDecimal:
		return decimalType
	case CostString:
		return arrow.BinaryTypes.String
	}
	return arrow.PrimitiveTypes.Float64
}

func str(b array.Builder, s *string) {
	if s == nil {
		b.AppendNull()
		return
	}
	b.(*array.StringBuilder).Append(*s)
}

func (f Format) appendTime(b array.Builder, t *time.Time) {
	if t == nil {
		b.AppendNull()
		return
	}
	switch f.Time {
	case TimeISO:
		b.(*array.StringBuilder).Append(t.UTC().Format("2006-01-02T15:04:05.999999"))
	case TimeInt64Nanos:
		b.(*array.Int64Builder).Append(t.UnixNano())
	default:
		unit := f.timeType().(*arrow.TimestampType).Unit
		v, err := arrow.TimestampFromTime(*t, unit)
		if err != nil {
			panic(err)
		}
		b.(*array.TimestampBuilder).Append(v)
	}
}

func (f Format) appendCost(b array.Builder, v *float64) {
	if v == nil {
		b.AppendNull()
		return
	}
	switch f.Cost {
	case CostDecimal:
		n, err := decimal128.FromFloat64(*v, decimalType.Precision, decimalType.Scale)
		if err != nil {
			panic(err)
		}
		b.(*array.Decimal128Builder).Append(n)
	case CostString:
		b.(*array.StringBuilder).Append(strconv.FormatFloat(*v, 'f', -1, 64))
	default:
		b.(*array.Float64Builder).Append(*v)
	}
}

func appendInt(b array.Builder, v *int64) {
	if v == nil {
		b.AppendNull()
		return
	}
	b.(*array.Int64Builder).Append(*v)
}

func (f Format) appendList(b array.Builder, v []string) {
	if v == nil {
		b.AppendNull()
		return
	}
	if f.ListColumns {
		lb := b.(*array.ListBuilder)
		lb.Append(true)
		vb := lb.ValueBuilder().(*array.StringBuilder)
		for _, s := range v {
			vb.Append(s)
		}
		return
	}
	b.(*array.StringBuilder).Append(jsonStrings(v))
}

func (f Format) enum(s string) string {
	if f.UpperCase {
		return strings.ToUpper(s)
	}
	return s
}

// standard returns the column definitions of this format.
func (f Format) standard() map[string]Column {
	listType := arrow.DataType(arrow.BinaryTypes.String)
	if f.ListColumns {
		listType = arrow.ListOf(arrow.BinaryTypes.String)
	}
	s := arrow.BinaryTypes.String
	cols := []Column{
		{"id", s, func(b array.Builder, r *Run) { str(b, &r.ID) }},
		{"tenant_id", s, func(b array.Builder, r *Run) { str(b, &r.TenantID) }},
		{"session_id", s, func(b array.Builder, r *Run) { str(b, &r.SessionID) }},
		{"trace_id", s, func(b array.Builder, r *Run) { str(b, &r.TraceID) }},
		{"parent_run_id", s, func(b array.Builder, r *Run) { str(b, r.ParentRunID) }},
		{"parent_run_ids", listType, func(b array.Builder, r *Run) { f.appendList(b, r.ParentRunIDs) }},
		{"reference_example_id", s, func(b array.Builder, r *Run) { str(b, r.ReferenceExampleID) }},
		{"name", s, func(b array.Builder, r *Run) { str(b, &r.Name) }},
		{"run_type", s, func(b array.Builder, r *Run) { e := f.enum(r.RunType); str(b, &e) }},
		{"start_time", f.timeType(), func(b array.Builder, r *Run) {
			if r.StartTime.IsZero() {
				b.AppendNull() // a null start, for tests of the reader's errors
				return
			}
			f.appendTime(b, &r.StartTime)
		}},
		{"end_time", f.timeType(), func(b array.Builder, r *Run) { f.appendTime(b, r.EndTime) }},
		{"status", s, func(b array.Builder, r *Run) { e := f.enum(r.Status); str(b, &e) }},
		{"is_root", arrow.FixedWidthTypes.Boolean, func(b array.Builder, r *Run) { b.(*array.BooleanBuilder).Append(r.IsRoot) }},
		{"dotted_order", s, func(b array.Builder, r *Run) { str(b, &r.DottedOrder) }},
		{"trace_tier", s, func(b array.Builder, r *Run) { str(b, r.TraceTier) }},
		{"inputs", s, func(b array.Builder, r *Run) { str(b, r.Inputs) }},
		{"outputs", s, func(b array.Builder, r *Run) { str(b, r.Outputs) }},
		{"error", s, func(b array.Builder, r *Run) { str(b, r.Error) }},
		{"extra", s, func(b array.Builder, r *Run) { str(b, r.Extra) }},
		{"events", s, func(b array.Builder, r *Run) { str(b, r.Events) }},
		{"tags", listType, func(b array.Builder, r *Run) { f.appendList(b, r.Tags) }},
		{"feedback_stats", s, func(b array.Builder, r *Run) { str(b, r.FeedbackStats) }},
		{"total_tokens", arrow.PrimitiveTypes.Int64, func(b array.Builder, r *Run) { appendInt(b, r.TotalTokens) }},
		{"prompt_tokens", arrow.PrimitiveTypes.Int64, func(b array.Builder, r *Run) { appendInt(b, r.PromptTokens) }},
		{"completion_tokens", arrow.PrimitiveTypes.Int64, func(b array.Builder, r *Run) { appendInt(b, r.CompletionTokens) }},
		{"total_cost", f.costType(), func(b array.Builder, r *Run) { f.appendCost(b, r.TotalCost) }},
		{"prompt_cost", f.costType(), func(b array.Builder, r *Run) { f.appendCost(b, r.PromptCost) }},
		{"completion_cost", f.costType(), func(b array.Builder, r *Run) { f.appendCost(b, r.CompletionCost) }},
		{"first_token_time", f.timeType(), func(b array.Builder, r *Run) { f.appendTime(b, r.FirstTokenTime) }},
	}
	m := make(map[string]Column, len(cols))
	for _, c := range cols {
		m[c.Name] = c
	}
	return m
}

// columns resolves the format's column list.
func (f Format) columns() ([]Column, error) {
	std := f.standard()
	names := f.Columns
	if names == nil {
		names = Columns
	}
	var out []Column
	for _, n := range names {
		c, ok := std[n]
		if !ok {
			return nil, fmt.Errorf("lsfixture: unknown column %q", n)
		}
		out = append(out, c)
	}
	for _, o := range f.Override {
		i := slices.IndexFunc(out, func(c Column) bool { return c.Name == o.Name })
		if i >= 0 {
			out[i] = o
		} else {
			out = append(out, o)
		}
	}
	return out, nil
}

// Write writes runs as one Parquet file in format f.
func Write(w io.Writer, runs []Run, f Format) error {
	cols, err := f.columns()
	if err != nil {
		return err
	}
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{Name: c.Name, Type: c.Type, Nullable: true}
	}
	sch := arrow.NewSchema(fields, nil)
	mem := memory.DefaultAllocator
	props := parquet.NewWriterProperties(
		parquet.WithCompression(f.Compression),
		parquet.WithVersion(parquet.V2_LATEST),
		parquet.WithCreatedBy("lsfixture"),
		parquet.WithAllocator(mem),
	)
	aprops := pqarrow.NewArrowWriterProperties(
		pqarrow.WithAllocator(mem),
		pqarrow.WithDeprecatedInt96Timestamps(f.Time == TimeInt96),
	)
	fw, err := pqarrow.NewFileWriter(sch, nopCloser{w}, props, aprops)
	if err != nil {
		return err
	}
	step := f.RowGroupRows
	if step <= 0 {
		step = 5000
	}
	bld := array.NewRecordBuilder(mem, sch)
	defer bld.Release()
	for lo := 0; lo < len(runs); lo += step {
		hi := min(lo+step, len(runs))
		for i := lo; i < hi; i++ {
			for j, c := range cols {
				c.Append(bld.Field(j), &runs[i])
			}
		}
		rec := bld.NewRecordBatch()
		err := fw.Write(rec)
		rec.Release()
		if err != nil {
			_ = fw.Close()
			return err
		}
	}
	return fw.Close()
}

// nopCloser keeps the Parquet writer from closing the caller's writer.
type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
