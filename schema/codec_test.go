package schema

import (
	"reflect"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

type allTypes struct {
	ID      string             `lake:"id" doc:"id"`
	Name    *string            `lake:"name"`
	Body    *string            `lake:"body,json"`
	Raw     string             `lake:"raw,json"`
	OK      bool               `lake:"ok"`
	MaybeOK *bool              `lake:"maybe_ok"`
	N       int64              `lake:"n"`
	MaybeN  *int64             `lake:"maybe_n"`
	F       float64            `lake:"f"`
	MaybeF  *float64           `lake:"maybe_f"`
	At      time.Time          `lake:"at"`
	MaybeAt *time.Time         `lake:"maybe_at"`
	Tags    []string           `lake:"tags"`
	Usage   map[string]int64   `lake:"usage"`
	Cost    map[string]float64 `lake:"cost"`
	Attrs   map[string]string  `lake:"attrs"`
	Skipped string
}

func ptr[T any](v T) *T { return &v }

func TestCodecRoundTrip(t *testing.T) {
	tbl, err := newTable(reflect.TypeFor[allTypes](), Spec{Name: "all", TimeColumn: "at", Key: []string{"id"}})
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	at := time.Date(2026, 3, 1, 23, 59, 59, 123456000, time.UTC)
	rows := []allTypes{
		{ID: "a", Name: ptr("名前 🎉"), Body: ptr(`{"k":[1,2,{"x":null}]}`), Raw: `"s"`, OK: true, MaybeOK: ptr(false),
			N: -5, MaybeN: ptr(int64(0)), F: 1.5, MaybeF: ptr(0.0), At: at, MaybeAt: ptr(at.Add(time.Hour)),
			Tags: []string{"x", ""}, Usage: map[string]int64{"input": 3, "output": 4}, Cost: map[string]float64{"total": 0.25},
			Attrs: map[string]string{"a": "b"}},
		{ID: "b", Name: ptr(""), Body: ptr(""), At: at, Tags: []string{}, Usage: map[string]int64{}},
		{ID: "c", At: at},
	}
	b := NewBuilder(mem, tbl)
	defer b.Release()
	for i := range rows {
		if err := b.Append(&rows[i]); err != nil {
			t.Fatal(err)
		}
	}
	if b.Len() != 3 || b.Bytes() == 0 {
		t.Fatalf("Len=%d Bytes=%d", b.Len(), b.Bytes())
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	for _, alias := range []bool{false, true} {
		d, err := NewDecoder(tbl, rec.Schema())
		if err != nil {
			t.Fatal(err)
		}
		if alias {
			d.AliasBinary()
		}
		for i, want := range rows {
			var got allTypes
			if err := d.Decode(rec, i, &got); err != nil {
				t.Fatal(err)
			}
			want.Skipped = ""
			if !reflect.DeepEqual(got, want) {
				t.Errorf("alias %v row %d:\n got %+v\nwant %+v", alias, i, got, want)
			}
		}
	}
	if ts, ok, err := tbl.RowTime(rows[0]); err != nil || !ok || !ts.Equal(at) {
		t.Errorf("RowTime = %v %v %v", ts, ok, err)
	}
	if k, _ := tbl.RowKey(&rows[1]); k != "b" {
		t.Errorf("RowKey = %q", k)
	}
}

func TestNewTableRejects(t *testing.T) {
	type noKey struct {
		A string `lake:"a"`
	}
	type partCol struct {
		P string `lake:"project_id"`
	}
	type badType struct {
		A int `lake:"a"`
	}
	type badJSON struct {
		A int64 `lake:"a,json"`
	}
	cases := map[string]struct {
		rt   reflect.Type
		spec Spec
	}{
		"no key":         {reflect.TypeFor[noKey](), Spec{Name: "x"}},
		"partition col":  {reflect.TypeFor[partCol](), Spec{Name: "x", Key: []string{"project_id"}}},
		"bad type":       {reflect.TypeFor[badType](), Spec{Name: "x", Key: []string{"a"}}},
		"json on int":    {reflect.TypeFor[badJSON](), Spec{Name: "x", Key: []string{"a"}}},
		"missing time":   {reflect.TypeFor[noKey](), Spec{Name: "x", Key: []string{"a"}, TimeColumn: "t"}},
		"time not time":  {reflect.TypeFor[noKey](), Spec{Name: "x", Key: []string{"a"}, TimeColumn: "a"}},
		"key not column": {reflect.TypeFor[noKey](), Spec{Name: "x", Key: []string{"b"}}},
	}
	for name, c := range cases {
		if _, err := newTable(c.rt, c.spec); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func BenchmarkBuilderAppend(b *testing.B) {
	tbl, err := newTable(reflect.TypeFor[allTypes](), Spec{Name: "all", Key: []string{"id"}})
	if err != nil {
		b.Fatal(err)
	}
	row := allTypes{ID: "a", Name: ptr("n"), Body: ptr(`{"k":1}`), At: time.Now(), Tags: []string{"a"}, Usage: map[string]int64{"input": 1}}
	bl := NewBuilder(memory.NewGoAllocator(), tbl)
	defer bl.Release()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = bl.Append(&row)
		if bl.Len() == 4096 {
			bl.NewRecordBatch().Release()
		}
	}
}

// JSON columns read back from Parquet are binary; AliasBinary decodes them
// as the copying path does.
func TestDecodeBinaryAlias(t *testing.T) {
	tbl, err := newTable(reflect.TypeFor[allTypes](), Spec{Name: "all", TimeColumn: "at", Key: []string{"id"}})
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	sch := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.BinaryTypes.String}, {Name: "body", Type: arrow.BinaryTypes.Binary, Nullable: true},
		{Name: "raw", Type: arrow.BinaryTypes.Binary}}, nil)
	rb := array.NewRecordBuilder(mem, sch)
	defer rb.Release()
	rb.Field(0).(*array.StringBuilder).AppendValues([]string{"a", "b"}, nil)
	rb.Field(1).(*array.BinaryBuilder).AppendValues([][]byte{[]byte(`{"k":"é"}`), nil}, []bool{true, false})
	rb.Field(2).(*array.BinaryBuilder).AppendValues([][]byte{[]byte(`"s"`), []byte(``)}, nil)
	rec := rb.NewRecordBatch()
	defer rec.Release()
	want := []allTypes{{ID: "a", Body: ptr(`{"k":"é"}`), Raw: `"s"`}, {ID: "b"}}
	for _, alias := range []bool{false, true} {
		d, err := NewDecoder(tbl, rec.Schema())
		if err != nil {
			t.Fatal(err)
		}
		if alias {
			d.AliasBinary()
		}
		for i := range want {
			var got allTypes
			if err := d.Decode(rec, i, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want[i]) {
				t.Errorf("alias %v row %d:\n got %+v\nwant %+v", alias, i, got, want[i])
			}
		}
	}
}

// TestDecodeSchemaV1Observations: a file written before placeholder_root
// existed (schema version 1) decodes, with the column null.
func TestDecodeSchemaV1Observations(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := NewBuilder(mem, Observations)
	defer b.Release()
	row := Observation{ID: "o1", TraceID: ptr("t1"), Type: "SPAN", Level: "DEFAULT", Environment: "default",
		StartTime: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), PlaceholderRoot: ptr(true)}
	if err := b.Append(&row); err != nil {
		t.Fatal(err)
	}
	full := b.NewRecordBatch()
	defer full.Release()
	// Drop the column, as a version 1 file has it.
	var fields []arrow.Field
	var cols []arrow.Array
	for i, f := range full.Schema().Fields() {
		if f.Name != "placeholder_root" {
			fields = append(fields, f)
			cols = append(cols, full.Column(i))
		}
	}
	if len(fields) != len(full.Schema().Fields())-1 {
		t.Fatal("observations has no placeholder_root column")
	}
	old := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, full.NumRows())
	defer old.Release()
	got, err := Rows[Observation](old)
	if err != nil {
		t.Fatal(err)
	}
	want := row
	want.PlaceholderRoot = nil
	if !reflect.DeepEqual(got[0], want) {
		t.Errorf("got %+v\nwant %+v", got[0], want)
	}
}
