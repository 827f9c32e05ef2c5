package langfuse

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// Extra holds the members of a JSON object that its Go type does not declare, verbatim.
// Langfuse adds fields between releases; a wire type keeps them here instead of dropping them,
// so the exporter can store them and the Client logs each new one once.
//
// Decoding is two passes over the object: the struct, then its key set (values are skipped,
// not copied). Only when a key is unknown is there a third pass that copies the unknown
// values. That costs less than a hand-written decoder per type would cost in code, and it
// needs no second copy of large fields such as input and output in the common case.
type Extra map[string]json.RawMessage

func (e Extra) unknownFields() Extra { return e }

type extraHolder interface{ unknownFields() Extra }

// skipValue accepts any JSON value without storing it.
type skipValue struct{}

func (*skipValue) UnmarshalJSON([]byte) error { return nil }

// decodeObject decodes data into v (a pointer to a struct type without an UnmarshalJSON
// method) and stores the object members that v's type does not declare in *extra.
func decodeObject(data []byte, v any, extra *Extra) error {
	if err := json.Unmarshal(data, v); err != nil {
		return err
	}
	*extra = nil
	var keys map[string]skipValue
	if err := json.Unmarshal(data, &keys); err != nil {
		return err
	}
	known := jsonFields(reflect.TypeOf(v).Elem())
	var unknown []string
	for k := range keys {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return err
	}
	*extra = make(Extra, len(unknown))
	for _, k := range unknown {
		(*extra)[k] = all[k]
	}
	return nil
}

// jsonFields returns the JSON member names of a struct type, following embedded structs the
// way encoding/json does.
func jsonFields(t reflect.Type) map[string]bool {
	names := map[string]bool{}
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
				walk(f.Type)
				continue
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			names[name] = true
		}
	}
	walk(t)
	return names
}

// noteExtra logs, once per type and member, that Langfuse sent a member the wire type does not
// declare (it is kept in Extra).
func noteExtra[T any](ctx context.Context, c *Client, items []T) {
	for i := range items {
		h, ok := any(&items[i]).(extraHolder)
		if !ok {
			return
		}
		extra := h.unknownFields()
		if len(extra) == 0 {
			continue
		}
		typ := reflect.TypeFor[T]().Name()
		for _, k := range slices.Sorted(maps.Keys(extra)) {
			if _, seen := c.logged.LoadOrStore("extra:"+typ+"."+k, true); !seen {
				c.log.LogAttrs(ctx, slog.LevelInfo, "Langfuse sent a field lakefuse does not know; it is kept as an extra field",
					slog.String("type", typ), slog.String("field", k))
			}
		}
	}
}

// noteDeprecation logs once per endpoint that Langfuse marks it deprecated.
func (c *Client) noteDeprecation(ctx context.Context, o *op, d *Deprecation) {
	if d == nil {
		return
	}
	if _, seen := c.logged.LoadOrStore("deprecated:"+o.method+" "+o.path, true); seen {
		return
	}
	attrs := []slog.Attr{slog.String("method", o.method), slog.String("path", o.path), slog.String("message", d.Message)}
	if d.SunsetAt != nil {
		attrs = append(attrs, slog.String("sunset_at", *d.SunsetAt))
	}
	if d.Replacement != nil {
		attrs = append(attrs, slog.String("replacement", *d.Replacement))
	}
	c.log.LogAttrs(ctx, slog.LevelInfo, "Langfuse marks this endpoint deprecated", attrs...)
}
