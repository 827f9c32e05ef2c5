package hive

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/parquet/file"
	pqschema "github.com/apache/arrow-go/v18/parquet/schema"

	"github.com/lakefuse/lakefuse/bucket"
)

// The Arrow schema stored in each file carries no extension type (Polars
// panics on arrow.json), while the Parquet schema keeps the JSON logical type
// for JSON columns (DuckDB reads them as JSON).
func TestStoredArrowSchemaIsPlain(t *testing.T) {
	ctx := context.Background()
	b := bucket.NewMemory()
	m := writeRun(t, b, RunOptions{}, []string{"p"}, genEvents(3))
	var path string
	for _, f := range m.Files {
		if f.Table == eventTable.Name {
			path = f.Path
		}
	}
	obj, err := b.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	data, err := io.ReadAll(io.NewSectionReader(obj, 0, obj.Size()))
	if err != nil {
		t.Fatal(err)
	}
	pf, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	kv := pf.MetaData().KeyValueMetadata()
	enc := kv.FindValue(arrowSchemaKey)
	if enc == nil {
		t.Fatal("no ARROW:schema in the file's metadata")
	}
	raw, err := base64.StdEncoding.DecodeString(*enc)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ipc.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	stored := r.Schema()
	for _, f := range stored.Fields() {
		if f.Type.ID() == arrow.EXTENSION {
			t.Errorf("stored Arrow schema: %s is %s, want a plain type", f.Name, f.Type)
		}
	}
	if f, ok := stored.FieldsByName("body"); !ok || f[0].Type.ID() != arrow.STRING {
		t.Errorf("stored Arrow schema: body is %v, want utf8", f)
	}
	if f, ok := stored.FieldsByName("tags"); !ok || f[0].Type.(*arrow.ListType).ElemField().Name != "element" {
		t.Errorf("stored Arrow schema: tags is %v, want list<element: utf8> like the Parquet schema", f)
	}
	col := pf.MetaData().Schema.Column(pf.MetaData().Schema.ColumnIndexByName("body"))
	if _, ok := col.LogicalType().(pqschema.JSONLogicalType); !ok {
		t.Errorf("Parquet logical type of body is %s, want JSON", col.LogicalType())
	}
	if v := kv.FindValue("lakefuse.table"); v == nil || *v != eventTable.Name {
		t.Errorf("lakefuse.table metadata is %v", v)
	}
}
