package importer

import (
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// OTLP/JSON for spans whose ids protobuf cannot carry unchanged. Langfuse
// keeps a string id of an OTLP/JSON span verbatim
// (packages/shared/src/server/otel/OtelIngestionProcessor.ts parseId), so
// these spans are written as JSON: the same span the protobuf path would
// send (the attributes are converted from its encoded protobuf), with the
// ids as strings. Only spans with such ids take this path; it is not tuned
// for speed.

// appendJSONSpan appends the OTLP/JSON Span object of sp.
func appendJSONSpan(b []byte, sp *spanRec) ([]byte, error) {
	b = append(b, `{"traceId":`...)
	b = appendJSONString(b, sp.tid)
	b = append(b, `,"spanId":`...)
	b = appendJSONString(b, sp.sid)
	if sp.pid != "" {
		b = append(b, `,"parentSpanId":`...)
		b = appendJSONString(b, sp.pid)
	}
	b = append(b, `,"name":`...)
	b = appendJSONString(b, sp.name)
	// SPAN_KIND_INTERNAL, as the protobuf path sends.
	b = append(b, `,"kind":1`...)
	if sp.start != 0 {
		b = append(b, `,"startTimeUnixNano":"`...)
		b = strconv.AppendUint(b, sp.start, 10)
		b = append(b, '"')
	}
	if sp.end != 0 {
		b = append(b, `,"endTimeUnixNano":"`...)
		b = strconv.AppendUint(b, sp.end, 10)
		b = append(b, '"')
	}
	b = append(b, `,"attributes":[`...)
	var err error
	if b, err = appendJSONAttrs(b, sp.attrs); err != nil {
		return nil, err
	}
	return append(b, "]}"...), nil
}

var errAttrs = errors.New("malformed span attributes")

// appendJSONAttrs converts encoded Span.attributes fields (what spanRec.str,
// boolean and list write) to OTLP/JSON KeyValue objects.
func appendJSONAttrs(b, attrs []byte) ([]byte, error) {
	first := true
	for len(attrs) > 0 {
		num, typ, n := protowire.ConsumeTag(attrs)
		if n < 0 || num != fSpanAttrs || typ != protowire.BytesType {
			return nil, errAttrs
		}
		attrs = attrs[n:]
		kv, n := protowire.ConsumeBytes(attrs)
		if n < 0 {
			return nil, errAttrs
		}
		attrs = attrs[n:]
		if !first {
			b = append(b, ',')
		}
		first = false
		var key, val []byte
		for len(kv) > 0 {
			num, typ, n := protowire.ConsumeTag(kv)
			if n < 0 || typ != protowire.BytesType {
				return nil, errAttrs
			}
			kv = kv[n:]
			v, n := protowire.ConsumeBytes(kv)
			if n < 0 {
				return nil, errAttrs
			}
			kv = kv[n:]
			switch num {
			case fKVKey:
				key = v
			case fKVValue:
				val = v
			}
		}
		b = append(b, `{"key":`...)
		b = appendJSONString(b, string(key))
		b = append(b, `,"value":`...)
		var err error
		if b, err = appendJSONAnyValue(b, val); err != nil {
			return nil, err
		}
		b = append(b, '}')
	}
	return b, nil
}

func appendJSONAnyValue(b, v []byte) ([]byte, error) {
	num, typ, n := protowire.ConsumeTag(v)
	if n < 0 {
		return nil, errAttrs
	}
	v = v[n:]
	switch {
	case num == fAnyString && typ == protowire.BytesType:
		s, n := protowire.ConsumeBytes(v)
		if n < 0 {
			return nil, errAttrs
		}
		b = append(b, `{"stringValue":`...)
		b = appendJSONString(b, string(s))
		return append(b, '}'), nil
	case num == fAnyBool && typ == protowire.VarintType:
		x, n := protowire.ConsumeVarint(v)
		if n < 0 {
			return nil, errAttrs
		}
		return append(append(b, `{"boolValue":`...), strconv.FormatBool(x != 0)+"}"...), nil
	case num == fAnyArray && typ == protowire.BytesType:
		arr, n := protowire.ConsumeBytes(v)
		if n < 0 {
			return nil, errAttrs
		}
		b = append(b, `{"arrayValue":{"values":[`...)
		first := true
		for len(arr) > 0 {
			_, _, n := protowire.ConsumeTag(arr)
			if n < 0 {
				return nil, errAttrs
			}
			arr = arr[n:]
			e, n := protowire.ConsumeBytes(arr)
			if n < 0 {
				return nil, errAttrs
			}
			arr = arr[n:]
			if !first {
				b = append(b, ',')
			}
			first = false
			var err error
			if b, err = appendJSONAnyValue(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, "]}}"...), nil
	}
	return nil, errAttrs
}

// appendJSONString appends s as a JSON string; s is valid UTF-8 (spanRec
// checked it).
func appendJSONString(b []byte, s string) []byte {
	plain := utf8.ValidString(s)
	for i := 0; plain && i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' {
			plain = false
		}
	}
	if plain {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	q, _ := json.Marshal(s)
	return append(b, q...)
}

// jsonRequestHead and jsonRequestTail wrap the spans of an OTLP/JSON
// request: one ResourceSpans (empty resource) with one ScopeSpans, as the
// protobuf requests have.
var (
	jsonRequestHead = `{"resourceSpans":[{"resource":{"attributes":[]},"scopeSpans":[{"scope":{"name":"` + ScopeName + `","version":"1"},"spans":[`
	jsonRequestTail = `]}]}]}`
)
