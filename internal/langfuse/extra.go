package langfuse

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// Extra holds the members of a JSON object that its Go type does not declare, verbatim.
// Langfuse adds fields between releases; a wire type keeps them here instead of dropping them,
// so the exporter can store them and the Client logs each new one once.
//
// Decoding is encoding/json into the struct, then one quick scan over the object's top-level
// members (objectMembers) that copies the values of undeclared ones. That is far simpler than
// a hand-written decoder per type, and costs little: a scan, no allocation for known members.
type Extra map[string]json.RawMessage

func (e Extra) unknownFields() Extra { return e }

type extraHolder interface{ unknownFields() Extra }

// decodeObject decodes data into v (a pointer to a struct type without an UnmarshalJSON
// method) and stores the object members that v's type does not declare in *extra.
func decodeObject(data []byte, v any, extra *Extra) error {
	if err := json.Unmarshal(data, v); err != nil {
		return err
	}
	*extra = nil
	known := knownFields(reflect.TypeOf(v).Elem())
	var err error
	// data is valid JSON: json.Unmarshal has checked it.
	objectMembers(data, func(name []byte, escaped bool, value []byte) {
		// encoding/json turns invalid UTF-8 into U+FFFD; decode such names the same way.
		escaped = escaped || !utf8.Valid(name)
		if !escaped && known[string(name)] {
			return
		}
		key := string(name)
		if escaped {
			if err = json.Unmarshal(append(append([]byte{'"'}, name...), '"'), &key); err != nil {
				return
			}
			if known[key] {
				return
			}
		}
		if *extra == nil {
			*extra = Extra{}
		}
		(*extra)[key] = bytes.Clone(value)
	})
	return err
}

// fieldCache memoizes jsonFields per type, as encoding/json caches its own field lists: it is
// derived from the types alone and never changes.
var fieldCache sync.Map // reflect.Type -> map[string]bool

func knownFields(t reflect.Type) map[string]bool {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]bool)
	}
	m, _ := fieldCache.LoadOrStore(t, jsonFields(t))
	return m.(map[string]bool)
}

// objectMembers calls fn with the name (still JSON-escaped if escaped) and the raw value of
// each member of the JSON object in data. It expects valid JSON and never panics on other
// input.
func objectMembers(data []byte, fn func(name []byte, escaped bool, value []byte)) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return
	}
	i++
	for {
		i = skipSpace(data, i)
		if i >= len(data) || data[i] == '}' {
			return
		}
		if data[i] == ',' {
			i++
			continue
		}
		if data[i] != '"' {
			return
		}
		end, escaped := scanString(data, i)
		name := data[i+1 : max(end-1, i+1)]
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ':' {
			return
		}
		i = skipSpace(data, i+1)
		if i >= len(data) {
			return
		}
		vend := skipValue(data, i)
		fn(name, escaped, data[i:vend])
		i = vend
	}
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// scanString returns the index after the string starting at data[i] == '"' and whether it
// contains escapes.
func scanString(data []byte, i int) (end int, escaped bool) {
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return j + 1, escaped
		}
	}
	return len(data), escaped
}

// skipValue returns the index after the JSON value starting at data[i].
func skipValue(data []byte, i int) int {
	switch data[i] {
	case '"':
		end, _ := scanString(data, i)
		return end
	case '{', '[':
		depth := 0
		for j := i; j < len(data); j++ {
			switch data[j] {
			case '"':
				end, _ := scanString(data, j)
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(data)
	}
	j := i
	for j < len(data) && !strings.ContainsRune(",}] \t\n\r", rune(data[j])) {
		j++
	}
	return j
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
				// Debug: the field is kept, so nothing is lost, and a user
				// can do nothing about it; a developer updating the wire
				// types wants to see it.
				c.log.LogAttrs(ctx, slog.LevelDebug, "Langfuse sent a field lakefuse does not know; it is kept as an extra field",
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
