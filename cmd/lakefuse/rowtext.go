package main

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// row is a row's printable values by column name, as flatten gives them:
// what rowKey, expectStored and the import's rewrites read and change.
type row interface {
	get(col string) string // "" for a column the row does not have
	set(col, val string)   // only for a column the row has
}

// mapRow is a row held in a map (flatten's).
type mapRow map[string]string

func (r mapRow) get(c string) string { return r[c] }
func (r mapRow) set(c, v string) {
	if _, ok := r[c]; ok {
		r[c] = v
	}
}

// rowText is a row's printable values (flatten's texts, with times as a
// lake holds them: appendTime) without a map or reflection per row:
// verify hashes every row of both sides, a million observations each, and
// the map and reflect.Value calls took a third of that (issue 11). Each
// field of a row struct is formatted by a reader compiled once per row
// type into one slice of values that serves every row. The values alias
// the row and a scratch buffer: they are valid until the next fill.
type rowText struct {
	fl   *flattener
	vals []string
	// pre, where set (not 0), is the hash a field is hashed as instead of
	// its text's (setHash); pres says whether any is set.
	pre  []uint64
	pres bool
	buf  []byte
}

func newRowText(t reflect.Type) *rowText {
	fl := flattenerOf(t)
	return &rowText{fl: fl, vals: make([]string, len(fl.fields)), pre: make([]uint64, len(fl.fields))}
}

// setHash makes column c hash as h (canonicalHash of the text it stands
// for) whatever its text.
func (r *rowText) setHash(c string, h uint64) {
	if i, ok := r.fl.index[c]; ok {
		r.pre[i], r.pres = h, true
	}
}

func (r *rowText) get(c string) string {
	if i, ok := r.fl.index[c]; ok {
		return r.vals[i]
	}
	return ""
}

func (r *rowText) set(c, v string) {
	if i, ok := r.fl.index[c]; ok {
		r.vals[i], r.pre[i] = v, 0
	}
}

// fill formats the fields of the row struct at p (of the rowText's type).
func (r *rowText) fill(p unsafe.Pointer) {
	if r.pres {
		clear(r.pre)
		r.pres = false
	}
	r.buf = r.buf[:0]
	for i := range r.fl.fields {
		r.vals[i] = r.fl.fields[i].text(p, &r.buf)
	}
}

// flattener is how the fields of one row type are formatted.
type flattener struct {
	fields []flatField
	index  map[string]int // column name -> field
}

type flatField struct {
	name string
	off  uintptr
	typ  reflect.Type
	kind flatKind
}

type flatKind int

const (
	flatOther flatKind = iota // reflection (maps, lists)
	flatString
	flatStringPtr
	flatInt64
	flatInt64Ptr
	flatBool
	flatBoolPtr
	flatFloat64Ptr
	flatTime
	flatTimePtr
	flatMapInt64   // usage_details
	flatMapFloat64 // cost_details, prices
	flatStrings    // tags
)

var flatteners sync.Map // reflect.Type -> *flattener

func flattenerOf(t reflect.Type) *flattener {
	if f, ok := flatteners.Load(t); ok {
		return f.(*flattener)
	}
	fl := &flattener{index: map[string]int{}}
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("lake"), ",")
		ff := flatField{name: name, off: sf.Offset, typ: sf.Type}
		switch sf.Type {
		case stringType:
			ff.kind = flatString
		case reflect.PointerTo(stringType):
			ff.kind = flatStringPtr
		case int64Type:
			ff.kind = flatInt64
		case reflect.PointerTo(int64Type):
			ff.kind = flatInt64Ptr
		case boolType:
			ff.kind = flatBool
		case reflect.PointerTo(boolType):
			ff.kind = flatBoolPtr
		case reflect.PointerTo(reflect.TypeFor[float64]()):
			ff.kind = flatFloat64Ptr
		case timeType:
			ff.kind = flatTime
		case reflect.PointerTo(timeType):
			ff.kind = flatTimePtr
		case reflect.TypeFor[map[string]int64]():
			ff.kind = flatMapInt64
		case reflect.TypeFor[map[string]float64]():
			ff.kind = flatMapFloat64
		case reflect.TypeFor[[]string]():
			ff.kind = flatStrings
		}
		fl.index[ff.name] = len(fl.fields)
		fl.fields = append(fl.fields, ff)
	}
	f, _ := flatteners.LoadOrStore(t, fl)
	return f.(*flattener)
}

// text is the field of the row at p as flatten gives it; formatted
// numbers and times are appended to *buf.
func (f *flatField) text(p unsafe.Pointer, buf *[]byte) string {
	fp := unsafe.Add(p, f.off)
	start := len(*buf)
	switch f.kind {
	case flatString:
		return *(*string)(fp)
	case flatStringPtr:
		if s := *(**string)(fp); s != nil {
			return *s
		}
		return "<null>"
	case flatInt64:
		*buf = strconv.AppendInt(*buf, *(*int64)(fp), 10)
		return tail(*buf, start)
	case flatInt64Ptr:
		if n := *(**int64)(fp); n != nil {
			*buf = strconv.AppendInt(*buf, *n, 10)
			return tail(*buf, start)
		}
		return "<null>"
	case flatBool:
		return strconv.FormatBool(*(*bool)(fp))
	case flatBoolPtr:
		if b := *(**bool)(fp); b != nil {
			return strconv.FormatBool(*b)
		}
		return "<null>"
	case flatFloat64Ptr:
		// fmt.Sprint of a float64: %v, which is %g at the shortest
		// precision that round-trips.
		if x := *(**float64)(fp); x != nil {
			*buf = strconv.AppendFloat(*buf, *x, 'g', -1, 64)
			return tail(*buf, start)
		}
		return "<null>"
	case flatTime:
		return appendTime(buf, start, *(*time.Time)(fp))
	case flatTimePtr:
		if t := *(**time.Time)(fp); t != nil {
			return appendTime(buf, start, *t)
		}
		return "<null>"
	case flatMapInt64:
		return appendMapText(buf, start, *(*map[string]int64)(fp), func(b []byte, v int64) []byte { return strconv.AppendInt(b, v, 10) })
	case flatMapFloat64:
		// %v of a float64, as for flatFloat64Ptr.
		return appendMapText(buf, start, *(*map[string]float64)(fp), func(b []byte, v float64) []byte { return strconv.AppendFloat(b, v, 'g', -1, 64) })
	case flatStrings:
		// fmt.Sprint of a []string.
		b := append(*buf, '[')
		for i, v := range *(*[]string)(fp) {
			if i > 0 {
				b = append(b, ' ')
			}
			b = append(b, v...)
		}
		*buf = append(b, ']')
		return tail(*buf, start)
	}
	return flatOtherText(reflect.NewAt(f.typ, fp).Elem())
}

// appendMapText appends flatOtherText's text of m ({k=v,...} in key
// order) without reflection or fmt: the usage and cost maps of every
// observation of both sides took 4 s of a million-row compare (issue 11).
func appendMapText[V any](buf *[]byte, start int, m map[string]V, value func([]byte, V) []byte) string {
	var ks [16]string
	keys := ks[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b := append(*buf, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = value(append(append(b, k...), '='), m[k])
	}
	*buf = append(b, '}')
	return tail(*buf, start)
}

// isText reports whether the field holds text (JSON payloads among it),
// which verify hashes in canonical form; the texts of the other kinds are
// Go's formatting of numbers, times, maps and lists, hashed as they are.
func (f *flatField) isText() bool { return f.kind == flatString || f.kind == flatStringPtr }

// appendTime appends time.Time.String's text (its layout) of t as a lake
// holds it: microseconds in UTC, as the lake's Arrow timestamps decode
// (the same text for a time read from a lake; for a row from an API,
// what writing it into a lake and reading it back would give).
func appendTime(buf *[]byte, start int, t time.Time) string {
	t = time.UnixMicro(t.UnixMicro()).UTC()
	*buf = t.AppendFormat(*buf, "2006-01-02 15:04:05.999999999 -0700 MST")
	return tail(*buf, start)
}

// tail is what was appended to buf from start, as a string that aliases
// it.
func tail(buf []byte, start int) string {
	b := buf[start:]
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// flatOtherText is the text of a field of any other type, through
// reflection (flatten's for every field).
func flatOtherText(f reflect.Value) string {
	if f.Kind() == reflect.Pointer {
		if f.IsNil() {
			return "<null>"
		}
		f = f.Elem()
	}
	if f.Kind() == reflect.Map {
		keys := f.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%v=%v", k, f.MapIndex(k)))
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	return sprint(f)
}
