package hive

import (
	"bytes"
	"encoding/base64"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/lakefuse/lakefuse/schema"
)

// arrowSchemaKey is the Parquet key-value metadata key under which Arrow
// writers store the Arrow schema of a file (pyarrow, Polars and arrow-go read
// it to pick column types).
const arrowSchemaKey = "ARROW:schema"

var storedSchemas sync.Map // *schema.Table → *arrow.Schema

// withStoredSchema is t's Arrow schema with ARROW:schema metadata that
// describes JSON columns as plain strings.
//
// The JSON columns are written from the arrow.json extension type, which
// gives them the Parquet JSON logical type (DuckDB reads them as JSON,
// Spark as strings). pqarrow.WithStoreSchema would also store the extension
// in ARROW:schema, and Polars panics on it (nodejs-polars 0.25, Python
// Polars before 1.3x: "Arrow datatype Extension(arrow.json) not supported",
// pola-rs/polars#27219; newer ones warn), and pyarrow hands pandas an
// extension dtype. A plain string there gives every reader a string column
// while the Parquet schema keeps the JSON logical type.
func withStoredSchema(t *schema.Table) *arrow.Schema {
	if s, ok := storedSchemas.Load(t); ok {
		return s.(*arrow.Schema)
	}
	src := t.Arrow()
	fields := make([]arrow.Field, src.NumFields())
	for i, f := range src.Fields() {
		fields[i] = plainField(f)
	}
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(arrow.NewSchema(fields, nil)))
	_ = w.Close() // writes the schema message into memory: cannot fail
	md := src.Metadata()
	keys := append(append([]string(nil), md.Keys()...), arrowSchemaKey)
	vals := append(append([]string(nil), md.Values()...), base64.StdEncoding.EncodeToString(buf.Bytes()))
	meta := arrow.NewMetadata(keys, vals)
	s, _ := storedSchemas.LoadOrStore(t, arrow.NewSchema(src.Fields(), &meta))
	return s.(*arrow.Schema)
}

// plainField replaces extension types by their storage and names list
// elements "element", as the Parquet schema does (pqarrow's
// WithStoreSchema does the same renaming: readers that map ARROW:schema
// fields to Parquet column paths need it).
func plainField(f arrow.Field) arrow.Field {
	switch dt := f.Type.(type) {
	case arrow.ExtensionType:
		f.Type = dt.StorageType()
		return plainField(f)
	case *arrow.ListType:
		elem := plainField(dt.ElemField())
		elem.Name = "element"
		f.Type = arrow.ListOfField(elem)
	case *arrow.MapType:
		f.Type = arrow.MapOfFields(plainField(dt.KeyField()), plainField(dt.ItemField()))
	case *arrow.StructType:
		children := make([]arrow.Field, dt.NumFields())
		for i := range children {
			children[i] = plainField(dt.Field(i))
		}
		f.Type = arrow.StructOf(children...)
	}
	return f
}
