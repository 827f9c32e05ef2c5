package schema

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/extensions"
)

// Version is the lake's schema version. It is written into every Parquet
// file's key/value metadata and into every manifest. A reader refuses a lake
// written with a newer version; a change that removes, renames or retypes a
// column increments it, and so does an added column that an older reader
// must not ignore. A reader reads files of older versions: a column a file
// lacks decodes as the field's zero value (null).
//
// History: 1, the first lake; 2, observations.placeholder_root (an older
// lakefuse would import Langfuse's placeholder roots as ordinary spans).
const Version = 2

// Metadata keys stored in every Parquet file of the lake.
const (
	MetaTable         = "lakefuse.table"
	MetaSchemaVersion = "lakefuse.schema_version"
)

// Column is one column of a table.
type Column struct {
	Name     string
	Doc      string
	Type     arrow.DataType
	Nullable bool
	// JSON marks a string column that holds verbatim JSON text. It is written
	// with the Parquet JSON logical type.
	JSON bool
}

// Table is one table of the lake: its columns, its Go row type and how it is
// partitioned.
type Table struct {
	Name string
	Doc  string
	// TimeColumn is the column whose UTC date is the dt= partition of a row;
	// "" for snapshot tables, which are partitioned by project only.
	TimeColumn string
	// Key lists the columns that identify a row; two rows with the same key
	// are versions of one entity.
	Key     []string
	Columns []Column

	schema  *arrow.Schema
	rowType reflect.Type
	fields  []fieldCodec
	timeIdx int // index into fields of TimeColumn, -1 for snapshot tables
	keyIdx  []int
}

// Spec declares a table for Define.
type Spec struct {
	Name       string
	Doc        string
	TimeColumn string
	Key        []string
}

// Arrow is the table's Arrow schema, with the table name and schema version
// as schema metadata.
func (t *Table) Arrow() *arrow.Schema { return t.schema }

// RowType is the Go struct type of one row.
func (t *Table) RowType() reflect.Type { return t.rowType }

// Partitioned reports whether rows are partitioned by date (dt=).
func (t *Table) Partitioned() bool { return t.TimeColumn != "" }

// Column returns the column named name.
func (t *Table) Column(name string) (Column, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// NewRow returns a pointer to a new zero row of the table's row type.
func (t *Table) NewRow() any { return reflect.New(t.rowType).Interface() }

// RowTime returns the value of the table's time column for row (a *T or T of
// the row type). ok is false for snapshot tables and for a null time.
func (t *Table) RowTime(row any) (ts time.Time, ok bool, err error) {
	if t.timeIdx < 0 {
		return time.Time{}, false, nil
	}
	p, err := t.rowPointer(row)
	if err != nil {
		return time.Time{}, false, err
	}
	f := t.fields[t.timeIdx]
	fp := unsafe.Add(p, f.offset)
	if f.goType == timePtrType {
		tp := *(*(*time.Time))(fp)
		if tp == nil {
			return time.Time{}, false, nil
		}
		return tp.UTC(), true, nil
	}
	return (*(*time.Time)(fp)).UTC(), true, nil
}

// RowKey returns the row's key columns joined into one string, for
// deduplication.
func (t *Table) RowKey(row any) (string, error) {
	p, err := t.rowPointer(row)
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	for i, idx := range t.keyIdx {
		if i > 0 {
			sb.WriteByte(0)
		}
		f := t.fields[idx]
		sb.WriteString(f.key(unsafe.Add(p, f.offset)))
	}
	return sb.String(), nil
}

// rowPointer returns a pointer to the row's struct. A row passed by value is
// copied.
func (t *Table) rowPointer(row any) (unsafe.Pointer, error) {
	v := reflect.ValueOf(row)
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil, fmt.Errorf("table %s: nil row", t.Name)
		}
		if v.Type().Elem() != t.rowType {
			return nil, fmt.Errorf("table %s: row is %s, want *%s", t.Name, v.Type(), t.rowType)
		}
		return v.UnsafePointer(), nil
	}
	if v.Type() != t.rowType {
		return nil, fmt.Errorf("table %s: row is %s, want %s", t.Name, v.Type(), t.rowType)
	}
	c := reflect.New(t.rowType)
	c.Elem().Set(v)
	return c.UnsafePointer(), nil
}

var (
	registry []*Table
	byName   = map[string]*Table{}
	byType   = map[reflect.Type]*Table{}
)

// Define registers T as the row type of a table. It is called from package
// variable initialisers only, and panics on a malformed row type: that is a
// programming error caught by any test.
func Define[T any](s Spec) *Table {
	rt := reflect.TypeFor[T]()
	t, err := newTable(rt, s)
	if err != nil {
		panic(err)
	}
	if _, dup := byName[t.Name]; dup {
		panic(fmt.Sprintf("schema: table %q defined twice", t.Name))
	}
	registry = append(registry, t)
	byName[t.Name] = t
	byType[rt] = t
	return t
}

// Tables returns every table, in definition order.
func Tables() []*Table { return append([]*Table(nil), registry...) }

// Names returns every table name, in definition order.
func Names() []string {
	names := make([]string, len(registry))
	for i, t := range registry {
		names[i] = t.Name
	}
	return names
}

// Lookup returns the table named name.
func Lookup(name string) (*Table, error) {
	if t, ok := byName[name]; ok {
		return t, nil
	}
	known := Names()
	sort.Strings(known)
	return nil, fmt.Errorf("unknown table %q (tables: %s)", name, strings.Join(known, ", "))
}

// TableOf returns the table whose row type is row's type (T or *T).
func TableOf(row any) (*Table, error) {
	rt := reflect.TypeOf(row)
	if rt != nil && rt.Kind() == reflect.Pointer {
		rt = rt.Elem()
	}
	if t, ok := byType[rt]; ok {
		return t, nil
	}
	return nil, fmt.Errorf("schema: %v is not a row type of any table", rt)
}

func newTable(rt reflect.Type, s Spec) (*Table, error) {
	if rt.Kind() != reflect.Struct {
		return nil, fmt.Errorf("schema: table %s: row type %s is not a struct", s.Name, rt)
	}
	t := &Table{Name: s.Name, Doc: s.Doc, TimeColumn: s.TimeColumn, Key: s.Key, rowType: rt, timeIdx: -1}
	var fields []arrow.Field
	seen := map[string]bool{}
	for i := 0; i < rt.NumField(); i++ {
		sf := rt.Field(i)
		tag, ok := sf.Tag.Lookup("lake")
		if !ok || tag == "-" {
			continue
		}
		if !sf.IsExported() {
			return nil, fmt.Errorf("schema: table %s: field %s is unexported", s.Name, sf.Name)
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" || name == "project_id" || name == "dt" {
			return nil, fmt.Errorf("schema: table %s: field %s: bad column name %q (project_id and dt are partition keys)", s.Name, sf.Name, name)
		}
		if seen[name] {
			return nil, fmt.Errorf("schema: table %s: column %s defined twice", s.Name, name)
		}
		seen[name] = true
		isJSON := false
		for _, o := range strings.Split(opts, ",") {
			switch o {
			case "":
			case "json":
				isJSON = true
			default:
				return nil, fmt.Errorf("schema: table %s: column %s: unknown option %q", s.Name, name, o)
			}
		}
		fc, err := codecFor(sf.Type, isJSON)
		if err != nil {
			return nil, fmt.Errorf("schema: table %s: column %s: %w", s.Name, name, err)
		}
		fc.name = name
		fc.offset = sf.Offset
		fc.goType = sf.Type
		col := Column{Name: name, Doc: sf.Tag.Get("doc"), Type: fc.arrowType, Nullable: fc.nullable, JSON: isJSON}
		t.Columns = append(t.Columns, col)
		t.fields = append(t.fields, fc)
		fields = append(fields, arrow.Field{Name: name, Type: fc.arrowType, Nullable: fc.nullable})
		if name == s.TimeColumn {
			if sf.Type != timeType && sf.Type != timePtrType {
				return nil, fmt.Errorf("schema: table %s: time column %s is %s, not time.Time", s.Name, name, sf.Type)
			}
			t.timeIdx = len(t.fields) - 1
		}
	}
	if s.TimeColumn != "" && t.timeIdx < 0 {
		return nil, fmt.Errorf("schema: table %s: time column %q is not a column", s.Name, s.TimeColumn)
	}
	if len(s.Key) == 0 {
		return nil, fmt.Errorf("schema: table %s: no key columns", s.Name)
	}
	for _, k := range s.Key {
		idx := -1
		for i, f := range t.fields {
			if f.name == k {
				idx = i
			}
		}
		if idx < 0 {
			return nil, fmt.Errorf("schema: table %s: key column %q is not a column", s.Name, k)
		}
		t.keyIdx = append(t.keyIdx, idx)
	}
	md := arrow.NewMetadata(
		[]string{MetaTable, MetaSchemaVersion},
		[]string{s.Name, strconv.Itoa(Version)},
	)
	t.schema = arrow.NewSchema(fields, &md)
	return t, nil
}

// JSONType is the Arrow type of JSON text columns: a string with the
// arrow.json extension, which Parquet stores with the JSON logical type.
var JSONType arrow.DataType = func() arrow.DataType {
	jt, err := extensions.NewJSONType(arrow.BinaryTypes.String)
	if err != nil {
		panic(err)
	}
	return jt
}()

// TimestampType is the Arrow type of every time column:
// TIMESTAMP(MICROS, isAdjustedToUTC=true) in Parquet.
var TimestampType arrow.DataType = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}

// TypeName renders a column type the way docs/schema.md and `lakefuse schema`
// show it.
func TypeName(c Column) string {
	if c.JSON {
		return "STRING (JSON)"
	}
	return typeName(c.Type)
}

func typeName(dt arrow.DataType) string {
	switch dt := dt.(type) {
	case *arrow.StringType:
		return "STRING"
	case *arrow.BooleanType:
		return "BOOLEAN"
	case *arrow.Int64Type:
		return "INT64"
	case *arrow.Float64Type:
		return "DOUBLE"
	case *arrow.TimestampType:
		return "TIMESTAMP(MICROS, UTC)"
	case *arrow.ListType:
		return "LIST<" + typeName(dt.Elem()) + ">"
	case *arrow.MapType:
		return "MAP<" + typeName(dt.KeyType()) + ", " + typeName(dt.ItemType()) + ">"
	case arrow.ExtensionType:
		return typeName(dt.StorageType())
	}
	return strings.ToUpper(dt.String())
}
