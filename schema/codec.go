package schema

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// The codec converts rows to Arrow and back without reflection on the hot
// path: Define resolves every field to an offset and a pair of typed
// functions once, and each row is then read or written through unsafe
// pointers to its fields.

var (
	stringType    = reflect.TypeFor[string]()
	stringPtrType = reflect.TypeFor[*string]()
	boolType      = reflect.TypeFor[bool]()
	boolPtrType   = reflect.TypeFor[*bool]()
	int64Type     = reflect.TypeFor[int64]()
	int64PtrType  = reflect.TypeFor[*int64]()
	float64Type   = reflect.TypeFor[float64]()
	float64PtrTyp = reflect.TypeFor[*float64]()
	timeType      = reflect.TypeFor[time.Time]()
	timePtrType   = reflect.TypeFor[*time.Time]()
	stringsType   = reflect.TypeFor[[]string]()
	mapIntType    = reflect.TypeFor[map[string]int64]()
	mapFloatType  = reflect.TypeFor[map[string]float64]()
	mapStringType = reflect.TypeFor[map[string]string]()
)

type fieldCodec struct {
	name      string
	offset    uintptr
	goType    reflect.Type
	arrowType arrow.DataType
	nullable  bool
	// add appends the field at p to b and returns the approximate number of
	// payload bytes it added.
	add func(b array.Builder, p unsafe.Pointer) int
	// get sets the field at p from row i of a; a is never null at i.
	get func(a arrow.Array, i int, p unsafe.Pointer) error
	// getAlias is get for Decoder.AliasBinary (string fields only): binary
	// values become views of the record too.
	getAlias func(a arrow.Array, i int, p unsafe.Pointer) error
	// key renders the field for RowKey.
	key func(p unsafe.Pointer) string
}

func codecFor(t reflect.Type, isJSON bool) (fieldCodec, error) {
	if isJSON && t != stringType && t != stringPtrType {
		return fieldCodec{}, fmt.Errorf("json option on %s (want string or *string)", t)
	}
	switch t {
	case stringType, stringPtrType:
		at := arrow.DataType(arrow.BinaryTypes.String)
		if isJSON {
			at = JSONType
		}
		fc := fieldCodec{arrowType: at, nullable: t == stringPtrType}
		if t == stringType {
			fc.add = func(b array.Builder, p unsafe.Pointer) int {
				s := *(*string)(p)
				stringBuilder(b).Append(s)
				return len(s)
			}
			fc.get = func(a arrow.Array, i int, p unsafe.Pointer) error {
				s, err := stringAt(a, i)
				*(*string)(p) = s
				return err
			}
			fc.getAlias = func(a arrow.Array, i int, p unsafe.Pointer) error {
				s, err := stringAtAlias(a, i, true)
				*(*string)(p) = s
				return err
			}
			fc.key = func(p unsafe.Pointer) string { return *(*string)(p) }
		} else {
			fc.add = func(b array.Builder, p unsafe.Pointer) int {
				sp := *(**string)(p)
				if sp == nil {
					b.AppendNull()
					return 0
				}
				stringBuilder(b).Append(*sp)
				return len(*sp)
			}
			fc.get = func(a arrow.Array, i int, p unsafe.Pointer) error {
				s, err := stringAt(a, i)
				*(**string)(p) = &s
				return err
			}
			fc.getAlias = func(a arrow.Array, i int, p unsafe.Pointer) error {
				s, err := stringAtAlias(a, i, true)
				*(**string)(p) = &s
				return err
			}
			fc.key = func(p unsafe.Pointer) string {
				if sp := *(**string)(p); sp != nil {
					return *sp
				}
				return ""
			}
		}
		return fc, nil
	case boolType, boolPtrType:
		fc := fieldCodec{arrowType: arrow.FixedWidthTypes.Boolean, nullable: t == boolPtrType}
		if t == boolType {
			fc.add = func(b array.Builder, p unsafe.Pointer) int {
				b.(*array.BooleanBuilder).Append(*(*bool)(p))
				return 1
			}
			fc.get = func(a arrow.Array, i int, p unsafe.Pointer) error {
				v, err := boolAt(a, i)
				*(*bool)(p) = v
				return err
			}
			fc.key = func(p unsafe.Pointer) string { return strconv.FormatBool(*(*bool)(p)) }
		} else {
			fc.add = func(b array.Builder, p unsafe.Pointer) int {
				vp := *(**bool)(p)
				if vp == nil {
					b.AppendNull()
					return 0
				}
				b.(*array.BooleanBuilder).Append(*vp)
				return 1
			}
			fc.get = func(a arrow.Array, i int, p unsafe.Pointer) error {
				v, err := boolAt(a, i)
				*(**bool)(p) = &v
				return err
			}
			fc.key = func(p unsafe.Pointer) string {
				if vp := *(**bool)(p); vp != nil {
					return strconv.FormatBool(*vp)
				}
				return ""
			}
		}
		return fc, nil
	case int64Type, int64PtrType:
		fc := fieldCodec{arrowType: arrow.PrimitiveTypes.Int64, nullable: t == int64PtrType}
		if t == int64Type {
			fc.add = func(b array.Builder, p unsafe.Pointer) int {
				b.(*array.Int64Builder).Append(*(*int64)(p))
				return 8
			}
			fc.get = func(a arrow.Array, i int, p unsafe.Pointer) error {
				v, err := intAt(a, i)
				*(*int64)(p) = v
				return err
			}
			fc.key = func(p unsafe.Pointer) string { return strconv.FormatInt(*(*int64)(p), 10) }
		} else {
			fc.add = func(b array.Builder, p unsafe.Pointer) int {
				vp := *(**int64)(p)
				if vp == nil {
					b.AppendNull()
					return 0
				}
				b.(*array.Int64Builder).Append(*vp)
				return 8
			}
			fc.get = func(a arrow.Array, i int, p unsafe.Pointer) error {
				v, err := intAt(a, i)
				*(**int64)(p) = &v
				return err
			}
			fc.key = func(p unsafe.Pointer) string {
				if vp := *(**int64)(p); vp != nil {
					return strconv.FormatInt(*vp, 10)
				}
				return ""
			}
		}
		return fc, nil
	case float64Type, float64PtrTyp:
		fc := fieldCodec{arrowType: arrow.PrimitiveTypes.Float64, nullable: t == float64PtrTyp}
		if t == float64Type {
			fc.add = func(b array.Builder, p unsafe.Pointer) int {
				b.(*array.Float64Builder).Append(*(*float64)(p))
				return 8
			}
			fc.get = func(a arrow.Array, i int, p unsafe.Pointer) error {
				v, err := floatAt(a, i)
				*(*float64)(p) = v
				return err
			}
			fc.key = func(p unsafe.Pointer) string { return strconv.FormatFloat(*(*float64)(p), 'g', -1, 64) }
		} else {
			fc.add = func(b array.Builder, p unsafe.Pointer) int {
				vp := *(**float64)(p)
				if vp == nil {
					b.AppendNull()
					return 0
				}
				b.(*array.Float64Builder).Append(*vp)
				return 8
			}
			fc.get = func(a arrow.Array, i int, p unsafe.Pointer) error {
				v, err := floatAt(a, i)
				*(**float64)(p) = &v
				return err
			}
			fc.key = func(p unsafe.Pointer) string {
				if vp := *(**float64)(p); vp != nil {
					return strconv.FormatFloat(*vp, 'g', -1, 64)
				}
				return ""
			}
		}
		return fc, nil
	case timeType, timePtrType:
		fc := fieldCodec{arrowType: TimestampType, nullable: t == timePtrType}
		if t == timeType {
			fc.add = func(b array.Builder, p unsafe.Pointer) int {
				b.(*array.TimestampBuilder).Append(arrow.Timestamp((*(*time.Time)(p)).UnixMicro()))
				return 8
			}
			fc.get = func(a arrow.Array, i int, p unsafe.Pointer) error {
				v, err := timeAt(a, i)
				*(*time.Time)(p) = v
				return err
			}
			fc.key = func(p unsafe.Pointer) string { return (*(*time.Time)(p)).UTC().Format(time.RFC3339Nano) }
		} else {
			fc.add = func(b array.Builder, p unsafe.Pointer) int {
				vp := *(**time.Time)(p)
				if vp == nil {
					b.AppendNull()
					return 0
				}
				b.(*array.TimestampBuilder).Append(arrow.Timestamp(vp.UnixMicro()))
				return 8
			}
			fc.get = func(a arrow.Array, i int, p unsafe.Pointer) error {
				v, err := timeAt(a, i)
				*(**time.Time)(p) = &v
				return err
			}
			fc.key = func(p unsafe.Pointer) string {
				if vp := *(**time.Time)(p); vp != nil {
					return vp.UTC().Format(time.RFC3339Nano)
				}
				return ""
			}
		}
		return fc, nil
	case stringsType:
		// A nil slice is a null list and an empty one an empty list, as
		// encoding/json decodes null and [].
		fc := fieldCodec{arrowType: arrow.ListOf(arrow.BinaryTypes.String), nullable: true}
		fc.add = func(b array.Builder, p unsafe.Pointer) int {
			lb := b.(*array.ListBuilder)
			if *(*[]string)(p) == nil {
				lb.AppendNull()
				return 0
			}
			lb.Append(true)
			vb := lb.ValueBuilder().(*array.StringBuilder)
			n := 0
			for _, s := range *(*[]string)(p) {
				vb.Append(s)
				n += len(s)
			}
			return n
		}
		fc.get = func(a arrow.Array, i int, p unsafe.Pointer) error {
			l, ok := a.(*array.List)
			if !ok {
				return fmt.Errorf("want list, file has %s", a.DataType())
			}
			start, end := l.ValueOffsets(i)
			out := make([]string, 0, end-start)
			vals := l.ListValues()
			for j := start; j < end; j++ {
				s, err := stringAt(vals, int(j))
				if err != nil {
					return err
				}
				out = append(out, s)
			}
			*(*[]string)(p) = out
			return nil
		}
		fc.key = func(p unsafe.Pointer) string { return fmt.Sprint(*(*[]string)(p)) }
		return fc, nil
	case mapIntType, mapFloatType, mapStringType:
		return mapCodec(t), nil
	}
	return fieldCodec{}, fmt.Errorf("unsupported Go type %s", t)
}

func mapCodec(t reflect.Type) fieldCodec {
	var item arrow.DataType
	switch t {
	case mapIntType:
		item = arrow.PrimitiveTypes.Int64
	case mapFloatType:
		item = arrow.PrimitiveTypes.Float64
	default:
		item = arrow.BinaryTypes.String
	}
	fc := fieldCodec{arrowType: arrow.MapOf(arrow.BinaryTypes.String, item), nullable: true}
	// Keys are written sorted so that files are reproducible.
	fc.add = func(b array.Builder, p unsafe.Pointer) int {
		mb := b.(*array.MapBuilder)
		kb := mb.KeyBuilder().(*array.StringBuilder)
		n := 0
		switch t {
		case mapIntType:
			m := *(*map[string]int64)(p)
			if m == nil {
				mb.AppendNull()
				return 0
			}
			mb.Append(true)
			ib := mb.ItemBuilder().(*array.Int64Builder)
			for _, k := range sortedKeys(m) {
				kb.Append(k)
				ib.Append(m[k])
				n += len(k) + 8
			}
		case mapFloatType:
			m := *(*map[string]float64)(p)
			if m == nil {
				mb.AppendNull()
				return 0
			}
			mb.Append(true)
			ib := mb.ItemBuilder().(*array.Float64Builder)
			for _, k := range sortedKeys(m) {
				kb.Append(k)
				ib.Append(m[k])
				n += len(k) + 8
			}
		default:
			m := *(*map[string]string)(p)
			if m == nil {
				mb.AppendNull()
				return 0
			}
			mb.Append(true)
			ib := mb.ItemBuilder().(*array.StringBuilder)
			for _, k := range sortedKeys(m) {
				kb.Append(k)
				ib.Append(m[k])
				n += len(k) + len(m[k])
			}
		}
		return n
	}
	fc.get = func(a arrow.Array, i int, p unsafe.Pointer) error {
		ma, ok := a.(*array.Map)
		if !ok {
			return fmt.Errorf("want map, file has %s", a.DataType())
		}
		start, end := ma.ValueOffsets(i)
		keys, items := ma.Keys(), ma.Items()
		switch t {
		case mapIntType:
			m := make(map[string]int64, end-start)
			for j := int(start); j < int(end); j++ {
				k, err := stringAt(keys, j)
				if err != nil {
					return err
				}
				if m[k], err = intAt(items, j); err != nil {
					return err
				}
			}
			*(*map[string]int64)(p) = m
		case mapFloatType:
			m := make(map[string]float64, end-start)
			for j := int(start); j < int(end); j++ {
				k, err := stringAt(keys, j)
				if err != nil {
					return err
				}
				if m[k], err = floatAt(items, j); err != nil {
					return err
				}
			}
			*(*map[string]float64)(p) = m
		default:
			m := make(map[string]string, end-start)
			for j := int(start); j < int(end); j++ {
				k, err := stringAt(keys, j)
				if err != nil {
					return err
				}
				if m[k], err = stringAt(items, j); err != nil {
					return err
				}
			}
			*(*map[string]string)(p) = m
		}
		return nil
	}
	fc.key = func(p unsafe.Pointer) string { return fmt.Sprint(reflect.NewAt(t, p).Elem().Interface()) }
	return fc
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func stringBuilder(b array.Builder) *array.StringBuilder {
	if eb, ok := b.(*array.ExtensionBuilder); ok {
		return eb.Builder.(*array.StringBuilder)
	}
	return b.(*array.StringBuilder)
}

// The readers below accept the physical variants a Parquet round trip or an
// older writer may produce, not only the exact type the schema declares.

func stringAt(a arrow.Array, i int) (string, error) { return stringAtAlias(a, i, false) }

// stringAtAlias is stringAt; with alias, a binary value is a view of the
// array's memory rather than a copy (string values always are).
func stringAtAlias(a arrow.Array, i int, alias bool) (string, error) {
	if ea, ok := a.(array.ExtensionArray); ok {
		a = ea.Storage()
	}
	switch a := a.(type) {
	case *array.String:
		return a.Value(i), nil
	case *array.LargeString:
		return a.Value(i), nil
	case *array.StringView:
		return a.Value(i), nil
	case *array.Binary:
		if alias {
			return a.ValueString(i), nil
		}
		return string(a.Value(i)), nil
	case *array.Dictionary:
		return stringAtAlias(a.Dictionary(), a.GetValueIndex(i), alias)
	}
	return "", fmt.Errorf("want string, file has %s", a.DataType())
}

func boolAt(a arrow.Array, i int) (bool, error) {
	if b, ok := a.(*array.Boolean); ok {
		return b.Value(i), nil
	}
	return false, fmt.Errorf("want boolean, file has %s", a.DataType())
}

func intAt(a arrow.Array, i int) (int64, error) {
	switch a := a.(type) {
	case *array.Int64:
		return a.Value(i), nil
	case *array.Int32:
		return int64(a.Value(i)), nil
	case *array.Uint32:
		return int64(a.Value(i)), nil
	}
	return 0, fmt.Errorf("want int64, file has %s", a.DataType())
}

func floatAt(a arrow.Array, i int) (float64, error) {
	switch a := a.(type) {
	case *array.Float64:
		return a.Value(i), nil
	case *array.Float32:
		return float64(a.Value(i)), nil
	case *array.Int64:
		return float64(a.Value(i)), nil
	}
	return 0, fmt.Errorf("want double, file has %s", a.DataType())
}

func timeAt(a arrow.Array, i int) (time.Time, error) {
	ta, ok := a.(*array.Timestamp)
	if !ok {
		return time.Time{}, fmt.Errorf("want timestamp, file has %s", a.DataType())
	}
	unit := ta.DataType().(*arrow.TimestampType).Unit
	return ta.Value(i).ToTime(unit).UTC(), nil
}

// Builder accumulates rows of one table into an Arrow record batch.
type Builder struct {
	t     *Table
	rb    *array.RecordBuilder
	cols  []array.Builder
	n     int
	bytes int64
	// dataBytes[i] is column i's string data size in the previous batch.
	dataBytes []int
}

// NewBuilder returns a Builder for t's rows.
func NewBuilder(mem memory.Allocator, t *Table) *Builder {
	rb := array.NewRecordBuilder(mem, t.schema)
	return &Builder{t: t, rb: rb, cols: rb.Fields()}
}

// Append adds one row (a *T or T of the table's row type).
func (b *Builder) Append(row any) error {
	p, err := b.t.rowPointer(row)
	if err != nil {
		return err
	}
	for i, f := range b.t.fields {
		b.bytes += int64(f.add(b.cols[i], unsafe.Add(p, f.offset)))
	}
	b.n++
	return nil
}

// Len is the number of rows appended since the last NewRecordBatch.
func (b *Builder) Len() int { return b.n }

// Bytes approximates the payload bytes appended since the last NewRecordBatch.
func (b *Builder) Bytes() int64 { return b.bytes }

// NewRecordBatch returns the rows appended so far as a record batch and
// resets the builder. The caller releases the batch.
func (b *Builder) NewRecordBatch() arrow.RecordBatch {
	n := b.n
	// Remember each string column's data size, so the next batch reserves
	// its buffers once instead of growing them by doubling and copying.
	if b.dataBytes == nil {
		b.dataBytes = make([]int, len(b.cols))
	}
	for i, c := range b.cols {
		if sb, ok := asStringBuilder(c); ok {
			b.dataBytes[i] = sb.DataLen()
		}
	}
	b.n, b.bytes = 0, 0
	rec := b.rb.NewRecordBatch()
	if n > 0 {
		for i, c := range b.cols {
			c.Reserve(n)
			if sb, ok := asStringBuilder(c); ok && b.dataBytes[i] > 0 {
				sb.ReserveData(b.dataBytes[i] + b.dataBytes[i]/8)
			}
		}
	}
	return rec
}

func asStringBuilder(b array.Builder) (*array.StringBuilder, bool) {
	if eb, ok := b.(*array.ExtensionBuilder); ok {
		b = eb.Builder
	}
	sb, ok := b.(*array.StringBuilder)
	return sb, ok
}

// Release frees the builder's buffers.
func (b *Builder) Release() { b.rb.Release() }

// Decoder reads rows of one table out of record batches whose schema may
// hold a subset of the table's columns (a projection, or a file written
// before a column was added): absent columns leave the field at its zero
// value.
type Decoder struct {
	t *Table
	// cols[i] is the record column of t.fields[i], or -1.
	cols []int
	// gets[i] is the getter of t.fields[i]: get, or getAlias after
	// AliasBinary.
	gets []func(a arrow.Array, i int, p unsafe.Pointer) error
}

// AliasBinary makes Decode return the strings of binary columns (the JSON
// columns: input, output, metadata, ...) as views of the record's memory
// instead of copies, as it returns those of string columns. A reader that
// only looks at each row before it moves on saves the copy of every
// payload (and the garbage collection of it); a kept string keeps the
// record's buffer alive.
func (d *Decoder) AliasBinary() {
	for i, f := range d.t.fields {
		if f.getAlias != nil {
			d.gets[i] = f.getAlias
		}
	}
}

// NewDecoder prepares to decode records of schema s as rows of t. Columns of
// s that t does not know are an error: they mean the file was written for a
// different table or by a newer schema.
func NewDecoder(t *Table, s *arrow.Schema) (*Decoder, error) {
	d := &Decoder{t: t, cols: make([]int, len(t.fields)), gets: make([]func(arrow.Array, int, unsafe.Pointer) error, len(t.fields))}
	for i, f := range t.fields {
		d.cols[i] = -1
		d.gets[i] = f.get
	}
	for ci, f := range s.Fields() {
		found := false
		for fi, fc := range t.fields {
			if fc.name == f.Name {
				d.cols[fi] = ci
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("table %s has no column %q", t.Name, f.Name)
		}
	}
	return d, nil
}

// Decode sets dst (a *T of the table's row type) from row i of rec.
func (d *Decoder) Decode(rec arrow.RecordBatch, i int, dst any) error {
	p, err := d.t.rowPointer(dst)
	if err != nil {
		return err
	}
	if reflect.TypeOf(dst).Kind() != reflect.Pointer {
		return fmt.Errorf("table %s: decode into %T: want a pointer", d.t.Name, dst)
	}
	for fi, ci := range d.cols {
		f := d.t.fields[fi]
		fp := unsafe.Add(p, f.offset)
		if ci < 0 {
			continue
		}
		col := rec.Column(ci)
		if col.IsNull(i) {
			reflect.NewAt(f.goType, fp).Elem().SetZero()
			continue
		}
		if err := d.gets[fi](col, i, fp); err != nil {
			return fmt.Errorf("table %s column %s row %d: %w", d.t.Name, f.name, i, err)
		}
	}
	return nil
}

// Rows decodes every row of rec as a T, the row type of its table.
func Rows[T any](rec arrow.RecordBatch) ([]T, error) {
	var zero T
	t, err := TableOf(&zero)
	if err != nil {
		return nil, err
	}
	d, err := NewDecoder(t, rec.Schema())
	if err != nil {
		return nil, err
	}
	out := make([]T, rec.NumRows())
	for i := range out {
		if err := d.Decode(rec, i, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}
