package langsmith

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/google/uuid"
)

// LangChain publishes the export's column names, not its physical types;
// readers of real exports report several types for the same column. So
// columns are found by name and each is read through the kind it carries
// (text, time, integer, number, flag or JSON), accepting every physical
// type that can hold that kind.

type kind int

const (
	kText kind = iota
	kTime
	kInt
	kFloat
	kBool
	kJSON
)

func (k kind) String() string {
	return [...]string{"text", "a time", "an integer", "a number", "a boolean", "JSON"}[k]
}

// columnKinds are the columns of a bulk export that the converter reads.
var columnKinds = map[string]kind{
	"id": kText, "tenant_id": kText, "session_id": kText, "trace_id": kText, "parent_run_id": kText,
	"parent_run_ids": kJSON, "reference_example_id": kText, "name": kText, "run_type": kText,
	"start_time": kTime, "end_time": kTime, "status": kText, "is_root": kBool, "dotted_order": kText,
	"trace_tier": kText, "inputs": kJSON, "outputs": kJSON, "error": kText, "extra": kJSON, "events": kJSON,
	"tags": kJSON, "feedback_stats": kJSON,
	"total_tokens": kInt, "prompt_tokens": kInt, "completion_tokens": kInt,
	"total_cost": kFloat, "prompt_cost": kFloat, "completion_cost": kFloat,
	"first_token_time": kTime,
}

// storage unwraps extension types (for example arrow.uuid) to the type
// their values are stored in.
func storage(dt arrow.DataType) arrow.DataType {
	for {
		ext, ok := dt.(arrow.ExtensionType)
		if !ok {
			return dt
		}
		dt = ext.StorageType()
	}
}

func isTextType(dt arrow.DataType) bool {
	dt = storage(dt)
	switch dt.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW, arrow.BINARY, arrow.LARGE_BINARY, arrow.BINARY_VIEW, arrow.FIXED_SIZE_BINARY:
		return true
	case arrow.DICTIONARY:
		return isTextType(dt.(*arrow.DictionaryType).ValueType)
	}
	return false
}

func isNumberType(dt arrow.DataType) bool {
	switch storage(dt).ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
		arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64, arrow.DECIMAL32, arrow.DECIMAL64, arrow.DECIMAL128, arrow.DECIMAL256:
		return true
	}
	return false
}

// readable reports whether a column of type dt can be read as k.
func readable(k kind, dt arrow.DataType) bool {
	if dt.ID() == arrow.NULL {
		return true // a column that is null throughout
	}
	switch k {
	case kText:
		return isTextType(dt)
	case kTime:
		switch storage(dt).ID() {
		case arrow.TIMESTAMP, arrow.DATE32, arrow.DATE64:
			return true
		}
		return isTextType(dt) || isNumberType(dt) && !isDecimal(dt)
	case kInt, kFloat:
		return isNumberType(dt) || isTextType(dt)
	case kBool:
		return storage(dt).ID() == arrow.BOOL || isTextType(dt) || isNumberType(dt)
	case kJSON:
		return true
	}
	return false
}

func isDecimal(dt arrow.DataType) bool {
	switch storage(dt).ID() {
	case arrow.DECIMAL32, arrow.DECIMAL64, arrow.DECIMAL128, arrow.DECIMAL256:
		return true
	}
	return false
}

func unwrap(a arrow.Array) arrow.Array {
	for {
		ext, ok := a.(array.ExtensionArray)
		if !ok {
			return a
		}
		a = ext.Storage()
	}
}

// Getters read row i of a column. ok is false for a null cell. Strings may
// alias the record's buffers: copy what outlives the record.
type (
	textGetter  func(i int) (s string, ok bool)
	timeGetter  func(i int) (t time.Time, ok bool, err error)
	intGetter   func(i int) (n int64, ok bool, err error)
	floatGetter func(i int) (f float64, ok bool, err error)
	boolGetter  func(i int) (b bool, ok bool, err error)
	jsonGetter  func(i int) (s string, ok bool, err error)
)

func nullText(int) (string, bool) { return "", false }

func textOf(a arrow.Array) textGetter {
	if a == nil || a.DataType().ID() == arrow.NULL {
		return nullText
	}
	a = unwrap(a)
	var get func(i int) string
	switch c := a.(type) {
	case *array.String:
		get = c.Value
	case *array.LargeString:
		get = c.Value
	case *array.StringView:
		get = c.Value
	case *array.Binary:
		get = c.ValueString
	case *array.LargeBinary:
		get = c.ValueString
	case *array.BinaryView:
		get = c.ValueString
	case *array.FixedSizeBinary:
		get = func(i int) string {
			v := c.Value(i)
			if len(v) == 16 {
				return uuid.UUID(v).String()
			}
			return hex.EncodeToString(v)
		}
	case *array.Dictionary:
		inner := textOf(c.Dictionary())
		return func(i int) (string, bool) {
			if c.IsNull(i) {
				return "", false
			}
			return inner(c.GetValueIndex(i))
		}
	default:
		return nil
	}
	return func(i int) (string, bool) {
		if a.IsNull(i) {
			return "", false
		}
		return get(i), true
	}
}

// numberOf reads any numeric column as float64, and integers exactly.
func numberOf(a arrow.Array) (f func(i int) float64, n func(i int) (int64, bool)) {
	a = unwrap(a)
	switch c := a.(type) {
	case *array.Int8:
		return func(i int) float64 { return float64(c.Value(i)) }, func(i int) (int64, bool) { return int64(c.Value(i)), true }
	case *array.Int16:
		return func(i int) float64 { return float64(c.Value(i)) }, func(i int) (int64, bool) { return int64(c.Value(i)), true }
	case *array.Int32:
		return func(i int) float64 { return float64(c.Value(i)) }, func(i int) (int64, bool) { return int64(c.Value(i)), true }
	case *array.Int64:
		return func(i int) float64 { return float64(c.Value(i)) }, func(i int) (int64, bool) { return c.Value(i), true }
	case *array.Uint8:
		return func(i int) float64 { return float64(c.Value(i)) }, func(i int) (int64, bool) { return int64(c.Value(i)), true }
	case *array.Uint16:
		return func(i int) float64 { return float64(c.Value(i)) }, func(i int) (int64, bool) { return int64(c.Value(i)), true }
	case *array.Uint32:
		return func(i int) float64 { return float64(c.Value(i)) }, func(i int) (int64, bool) { return int64(c.Value(i)), true }
	case *array.Uint64:
		return func(i int) float64 { return float64(c.Value(i)) }, func(i int) (int64, bool) {
			v := c.Value(i)
			return int64(v), v <= math.MaxInt64
		}
	case *array.Float16:
		return func(i int) float64 { return float64(c.Value(i).Float32()) }, nil
	case *array.Float32:
		return func(i int) float64 { return float64(c.Value(i)) }, nil
	case *array.Float64:
		return c.Value, nil
	}
	if isDecimal(a.DataType()) {
		if vs, ok := a.(interface{ ValueStr(int) string }); ok {
			return func(i int) float64 {
				f, _ := strconv.ParseFloat(vs.ValueStr(i), 64)
				return f
			}, nil
		}
	}
	return nil, nil
}

func timeOf(a arrow.Array, col string) timeGetter {
	if a == nil || a.DataType().ID() == arrow.NULL {
		return func(int) (time.Time, bool, error) { return time.Time{}, false, nil }
	}
	a = unwrap(a)
	switch c := a.(type) {
	case *array.Timestamp:
		// Every LangSmith time is UTC, whether or not the file says so
		// (format v1 does not): the zone, if any, is ignored.
		unit := c.DataType().(*arrow.TimestampType).Unit
		return func(i int) (time.Time, bool, error) {
			if c.IsNull(i) {
				return time.Time{}, false, nil
			}
			return c.Value(i).ToTime(unit).UTC(), true, nil
		}
	case *array.Date32:
		return func(i int) (time.Time, bool, error) {
			if c.IsNull(i) {
				return time.Time{}, false, nil
			}
			return c.Value(i).ToTime().UTC(), true, nil
		}
	case *array.Date64:
		return func(i int) (time.Time, bool, error) {
			if c.IsNull(i) {
				return time.Time{}, false, nil
			}
			return c.Value(i).ToTime().UTC(), true, nil
		}
	}
	if txt := textOf(a); txt != nil {
		return func(i int) (time.Time, bool, error) {
			s, ok := txt(i)
			if !ok {
				return time.Time{}, false, nil
			}
			t, err := parseTime(s)
			if err != nil {
				return time.Time{}, false, fmt.Errorf("column %s: %w", col, err)
			}
			return t, true, nil
		}
	}
	if f, n := numberOf(a); f != nil {
		// A bare number is an epoch time (Spark surfaces v1 NANOS so).
		return func(i int) (time.Time, bool, error) {
			if a.IsNull(i) {
				return time.Time{}, false, nil
			}
			var t time.Time
			var err error
			if v, exact := n2(n, i); exact {
				t, err = epochInt(v)
			} else {
				t, err = epochTime(f(i))
			}
			if err != nil {
				return time.Time{}, false, fmt.Errorf("column %s: %w", col, err)
			}
			return t, true, nil
		}
	}
	return nil
}

func n2(n func(int) (int64, bool), i int) (int64, bool) {
	if n == nil {
		return 0, false
	}
	return n(i)
}

func intOf(a arrow.Array, col string) intGetter {
	if a == nil || a.DataType().ID() == arrow.NULL {
		return func(int) (int64, bool, error) { return 0, false, nil }
	}
	a = unwrap(a)
	if f, n := numberOf(a); f != nil {
		return func(i int) (int64, bool, error) {
			if a.IsNull(i) {
				return 0, false, nil
			}
			if v, exact := n2(n, i); exact {
				return v, true, nil
			}
			v := f(i)
			if v != math.Trunc(v) || math.Abs(v) > 1<<53 {
				return 0, false, fmt.Errorf("column %s: %v is not a whole number", col, v)
			}
			return int64(v), true, nil
		}
	}
	if txt := textOf(a); txt != nil {
		return func(i int) (int64, bool, error) {
			s, ok := txt(i)
			if !ok || strings.TrimSpace(s) == "" {
				return 0, false, nil
			}
			v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			if err != nil {
				f, ferr := strconv.ParseFloat(strings.TrimSpace(s), 64)
				if ferr != nil || f != math.Trunc(f) {
					return 0, false, fmt.Errorf("column %s: %q is not a whole number", col, s)
				}
				v = int64(f)
			}
			return v, true, nil
		}
	}
	return nil
}

func floatOf(a arrow.Array, col string) floatGetter {
	if a == nil || a.DataType().ID() == arrow.NULL {
		return func(int) (float64, bool, error) { return 0, false, nil }
	}
	a = unwrap(a)
	if f, _ := numberOf(a); f != nil {
		return func(i int) (float64, bool, error) {
			if a.IsNull(i) {
				return 0, false, nil
			}
			return f(i), true, nil
		}
	}
	if txt := textOf(a); txt != nil {
		// The API returns costs as decimal strings.
		return func(i int) (float64, bool, error) {
			s, ok := txt(i)
			if !ok || strings.TrimSpace(s) == "" {
				return 0, false, nil
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return 0, false, fmt.Errorf("column %s: %q is not a number", col, s)
			}
			return v, true, nil
		}
	}
	return nil
}

func boolOf(a arrow.Array, col string) boolGetter {
	if a == nil || a.DataType().ID() == arrow.NULL {
		return func(int) (bool, bool, error) { return false, false, nil }
	}
	a = unwrap(a)
	if c, ok := a.(*array.Boolean); ok {
		return func(i int) (bool, bool, error) {
			if c.IsNull(i) {
				return false, false, nil
			}
			return c.Value(i), true, nil
		}
	}
	if f, _ := numberOf(a); f != nil {
		return func(i int) (bool, bool, error) {
			if a.IsNull(i) {
				return false, false, nil
			}
			return f(i) != 0, true, nil
		}
	}
	if txt := textOf(a); txt != nil {
		return func(i int) (bool, bool, error) {
			s, ok := txt(i)
			if !ok || s == "" {
				return false, false, nil
			}
			v, err := strconv.ParseBool(strings.ToLower(strings.TrimSpace(s)))
			if err != nil {
				return false, false, fmt.Errorf("column %s: %q is not a boolean", col, s)
			}
			return v, true, nil
		}
	}
	return nil
}

// jsonOf reads JSON text columns as they are and renders any other type
// (a LIST of tags, a STRUCT) as JSON.
func jsonOf(a arrow.Array, col string) jsonGetter {
	if a == nil || a.DataType().ID() == arrow.NULL {
		return func(int) (string, bool, error) { return "", false, nil }
	}
	if isTextType(a.DataType()) && storage(a.DataType()).ID() != arrow.FIXED_SIZE_BINARY {
		txt := textOf(a)
		return func(i int) (string, bool, error) {
			s, ok := txt(i)
			return s, ok, nil
		}
	}
	return func(i int) (string, bool, error) {
		if a.IsNull(i) {
			return "", false, nil
		}
		b, err := json.Marshal(a.GetOneForMarshal(i))
		if err != nil {
			return "", false, fmt.Errorf("column %s: cannot render %s as JSON: %w", col, a.DataType(), err)
		}
		return string(b), true, nil
	}
}
