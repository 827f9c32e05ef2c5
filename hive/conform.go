package hive

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// conform returns rec with the table's schema s. A batch read back from a
// lake file has the same layout but not the same types: JSON columns come
// back as binary instead of the arrow.json extension, and list elements are
// named "element" instead of "item". Buffers are shared, not copied. The
// caller releases the result.
func conform(rec arrow.RecordBatch, s *arrow.Schema) (arrow.RecordBatch, error) {
	if rec.Schema().Equal(s) {
		rec.Retain()
		return rec, nil
	}
	if int(rec.NumCols()) != s.NumFields() {
		return nil, fmt.Errorf("%d columns, the table has %d", rec.NumCols(), s.NumFields())
	}
	cols := make([]arrow.Array, s.NumFields())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i, f := range s.Fields() {
		if rec.ColumnName(i) != f.Name {
			return nil, fmt.Errorf("column %d is %q, the table's is %q", i, rec.ColumnName(i), f.Name)
		}
		d, err := retype(rec.Column(i).Data(), f.Type)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", f.Name, err)
		}
		cols[i] = array.MakeFromData(d)
		d.Release()
	}
	return array.NewRecordBatch(s, cols, rec.NumRows()), nil
}

// retype gives d the type want when their layouts are the same.
func retype(d arrow.ArrayData, want arrow.DataType) (arrow.ArrayData, error) {
	storage := want
	if ext, ok := want.(arrow.ExtensionType); ok {
		storage = ext.StorageType()
	}
	have := d.DataType()
	if ext, ok := have.(arrow.ExtensionType); ok {
		have = ext.StorageType()
	}
	same := have.ID() == storage.ID() ||
		have.ID() == arrow.BINARY && storage.ID() == arrow.STRING || have.ID() == arrow.STRING && storage.ID() == arrow.BINARY ||
		have.ID() == arrow.LARGE_BINARY && storage.ID() == arrow.LARGE_STRING
	if !same {
		return nil, fmt.Errorf("type %s cannot stand for %s", d.DataType(), want)
	}
	var wantChildren []arrow.DataType
	switch t := storage.(type) {
	case *arrow.MapType:
		wantChildren = []arrow.DataType{t.Elem()}
	case arrow.ListLikeType:
		wantChildren = []arrow.DataType{t.Elem()}
	case *arrow.StructType:
		for _, f := range t.Fields() {
			wantChildren = append(wantChildren, f.Type)
		}
	}
	if len(wantChildren) != len(d.Children()) {
		return nil, fmt.Errorf("type %s has %d children, %s has %d", d.DataType(), len(d.Children()), want, len(wantChildren))
	}
	children := make([]arrow.ArrayData, len(wantChildren))
	for i, c := range d.Children() {
		rc, err := retype(c, wantChildren[i])
		if err != nil {
			for _, done := range children[:i] {
				done.Release()
			}
			return nil, err
		}
		children[i] = rc
	}
	out := array.NewData(want, d.Len(), d.Buffers(), children, d.NullN(), d.Offset())
	for _, c := range children {
		c.Release()
	}
	return out, nil
}
