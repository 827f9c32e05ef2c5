package lftest

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/klauspost/compress/gzip"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/lakefuse/lakefuse/internal/jsonx"
)

// This file is the OTLP write side: POST /api/public/otel/v1/traces, with the
// mapping of NOTES.md §3 (OtelIngestionProcessor.ts, ObservationTypeMapper.ts).

// otlpSpan is a span decoded from protobuf or JSON, with the resource and
// scope it arrived under.
type otlpSpan struct {
	traceID, spanID, parentID string
	name                      string
	start, end                int64 // unix nanoseconds; 0 when missing
	attrs                     map[string]any
	statusCode                int
	statusMessage             string
	res                       map[string]any
	scopeName, scopeVersion   string
	scopeAttrs                map[string]any
	// shared is the same for every span of one ScopeSpans (which share res
	// and scopeAttrs); nil: nothing is shared.
	shared *scopeShared
}

// scopeShared holds what observationMetadata makes once per scope: the
// generated metadata of a Langfuse SDK scope depends on nothing else.
type scopeShared struct {
	genText string
	done    bool
}

// maxOTLPBody bounds a decoded request: the real route has no limit, but a
// test server has to stop somewhere.
const maxOTLPBody = 256 << 20

func hOTLP(c *call) (any, error) {
	body, err := readBody(c.r)
	if err != nil {
		return nil, err
	}
	if v := firstHeader(c.r, "x-langfuse-ingestion-version", "x_langfuse_ingestion_version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n > 4 {
			return nil, badRequest("Invalid x-langfuse-ingestion-version header: " + v)
		}
	}
	spans, err := decodeOTLP(c.r.Header.Get("Content-Type"), body)
	if err != nil {
		return nil, err
	}
	if err := c.p.ingestSpans(c.s.opts.Mode, spans, c.now); err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}

func firstHeader(r *http.Request, names ...string) string {
	for _, n := range names {
		if v := r.Header.Get(n); v != "" {
			return v
		}
	}
	return ""
}

// readBody reads a request body, gunzipping it when Content-Encoding says so.
func readBody(r *http.Request) ([]byte, error) {
	var buf bytes.Buffer
	if r.ContentLength > 0 && r.ContentLength <= maxOTLPBody {
		buf.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(io.LimitReader(r.Body, maxOTLPBody+1))
	raw := buf.Bytes()
	if err != nil {
		return nil, badRequest("reading the request body: " + err.Error())
	}
	return decodeBody(r.Header.Get("Content-Encoding"), raw)
}

func decodeBody(encoding string, raw []byte) ([]byte, error) {
	if !strings.EqualFold(strings.TrimSpace(encoding), "gzip") {
		return raw, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, badRequest("Content-Encoding gzip, but the body is not gzip: " + err.Error())
	}
	// The gzip trailer's ISIZE (the size mod 2^32 of one member) sizes the
	// buffer; it is only a hint.
	var buf bytes.Buffer
	if n := len(raw); n >= 18 {
		if size := binary.LittleEndian.Uint32(raw[n-4:]); size <= maxOTLPBody {
			buf.Grow(int(size) + bytes.MinRead)
		}
	}
	_, err = buf.ReadFrom(io.LimitReader(zr, maxOTLPBody+1))
	out := buf.Bytes()
	if err != nil {
		return nil, badRequest("Content-Encoding gzip, but the body is not gzip: " + err.Error())
	}
	if len(out) > maxOTLPBody {
		return nil, &apiError{http.StatusRequestEntityTooLarge, map[string]any{"message": "Request body too large"}}
	}
	return out, nil
}

// decodeOTLP decodes an ExportTraceServiceRequest (protobuf: as TracesData,
// which has the same wire format and needs no gRPC packages). Like the real route, any
// span with a missing or unconvertible id fails the whole request.
func decodeOTLP(contentType string, body []byte) ([]otlpSpan, error) {
	switch {
	case strings.Contains(contentType, "application/x-protobuf"):
		if spans, ok := fastSpansFromProto(body); ok {
			return spans, nil
		}
		var req tracepb.TracesData
		if err := proto.Unmarshal(body, &req); err != nil {
			return nil, badRequest("Failed to parse OTLP protobuf: " + err.Error())
		}
		return spansFromProto(&req)
	case strings.Contains(contentType, "application/json"):
		return spansFromJSON(body)
	}
	return nil, badRequest("Unsupported content type: " + contentType + ". Use application/json or application/x-protobuf")
}

func spansFromProto(req *tracepb.TracesData) ([]otlpSpan, error) {
	var out []otlpSpan
	for _, rs := range req.GetResourceSpans() {
		res := kvMap(rs.GetResource().GetAttributes())
		for _, ss := range rs.GetScopeSpans() {
			sc := ss.GetScope()
			scAttrs := kvMap(sc.GetAttributes())
			shared := &scopeShared{}
			for _, sp := range ss.GetSpans() {
				if len(sp.GetTraceId()) == 0 || len(sp.GetSpanId()) == 0 {
					return nil, badRequest("Invalid OTEL span: missing traceId or spanId")
				}
				out = append(out, otlpSpan{
					traceID: hex.EncodeToString(sp.GetTraceId()), spanID: hex.EncodeToString(sp.GetSpanId()),
					parentID: hex.EncodeToString(sp.GetParentSpanId()), name: sp.GetName(),
					start: int64(sp.GetStartTimeUnixNano()), end: int64(sp.GetEndTimeUnixNano()),
					attrs: kvMap(sp.GetAttributes()), statusCode: int(sp.GetStatus().GetCode()), statusMessage: sp.GetStatus().GetMessage(),
					res: res, scopeName: sc.GetName(), scopeVersion: sc.GetVersion(), scopeAttrs: scAttrs, shared: shared,
				})
			}
		}
	}
	return out, nil
}

func kvMap(kvs []*commonpb.KeyValue) map[string]any {
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		m[kv.GetKey()] = anyValue(kv.GetValue())
	}
	return m
}

func anyValue(v *commonpb.AnyValue) any {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_BoolValue:
		return x.BoolValue
	case *commonpb.AnyValue_IntValue:
		return x.IntValue
	case *commonpb.AnyValue_DoubleValue:
		return x.DoubleValue
	case *commonpb.AnyValue_ArrayValue:
		out := []any{}
		for _, e := range x.ArrayValue.GetValues() {
			out = append(out, anyValue(e))
		}
		return out
	case *commonpb.AnyValue_KvlistValue:
		return kvMap(x.KvlistValue.GetValues())
	case *commonpb.AnyValue_BytesValue:
		return hex.EncodeToString(x.BytesValue)
	}
	return nil
}

// fastSpansFromProto decodes an ExportTraceServiceRequest straight into
// otlpSpans, without building the tracepb messages (the test server's
// largest cost after gzip). It handles the messages OTel exporters and the
// importer send; anything else — an unknown or repeated singular field, a
// wire type it does not expect, invalid UTF-8, malformed bytes — makes it
// give up (ok false) and the caller decodes with proto.Unmarshal, whose
// answer (and error) is the reference. The tests hold the two paths equal.
//
// The strings of the spans alias b, which must not change afterwards.
func fastSpansFromProto(b []byte) (out []otlpSpan, ok bool) {
	d := protoDec{buf: b, text: unsafe.String(unsafe.SliceData(b), len(b))}
	for len(b) > 0 {
		num, typ, v, rest := d.field(b)
		if d.bad || num != 1 || typ != protowire.BytesType {
			return nil, false
		}
		b = rest
		if out, ok = d.resourceSpans(v, out); !ok {
			return nil, false
		}
	}
	return out, true
}

// protoDec decodes a request body, buf; text is the same bytes as a string
// (not a copy), of which the strings decoded are substrings: no allocation
// or copy per key and value (which were the largest share of the decoder's
// time with their GC), nor per span. The observations keep the body alive
// as long as they keep any of its strings: their inputs and outputs, and
// with them the spans' keys, ids and metadata (about half again as many
// bytes), which is fine for a test server.
type protoDec struct {
	bad  bool
	buf  []byte
	text string
}

// field reads one field; v is the payload of a length-delimited field and
// the varint or fixed value is in n.
func (d *protoDec) field(b []byte) (num protowire.Number, typ protowire.Type, v []byte, rest []byte) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 {
		d.bad = true
		return
	}
	b = b[n:]
	switch typ {
	case protowire.BytesType:
		v, n = protowire.ConsumeBytes(b)
	case protowire.VarintType:
		_, n = protowire.ConsumeVarint(b)
		v = b[:max(n, 0)]
	case protowire.Fixed64Type:
		_, n = protowire.ConsumeFixed64(b)
		v = b[:max(n, 0)]
	case protowire.Fixed32Type:
		_, n = protowire.ConsumeFixed32(b)
		v = b[:max(n, 0)]
	default:
		d.bad = true
		return
	}
	if n < 0 {
		d.bad = true
		return
	}
	return num, typ, v, b[n:]
}

func (d *protoDec) str(v []byte) string {
	if !utf8.Valid(v) {
		d.bad = true
	}
	if len(v) == 0 {
		return ""
	}
	if len(v) <= len(d.buf) {
		// v is a subslice of buf when its offset (which wraps around when
		// v starts before buf) leaves room for it.
		off := uintptr(unsafe.Pointer(unsafe.SliceData(v))) - uintptr(unsafe.Pointer(unsafe.SliceData(d.buf)))
		if off <= uintptr(len(d.buf)-len(v)) {
			return d.text[off : off+uintptr(len(v))]
		}
	}
	return string(v)
}

func (d *protoDec) resourceSpans(b []byte, out []otlpSpan) ([]otlpSpan, bool) {
	var res map[string]any
	var scopes [][]byte
	seenRes := false
	for len(b) > 0 {
		num, typ, v, rest := d.field(b)
		if d.bad {
			return nil, false
		}
		b = rest
		switch {
		case num == 1 && typ == protowire.BytesType && !seenRes:
			seenRes = true
			if res = d.resource(v); d.bad {
				return nil, false
			}
		case num == 2 && typ == protowire.BytesType:
			scopes = append(scopes, v)
		case num == 3 && typ == protowire.BytesType: // schema_url
			d.str(v)
		default:
			return nil, false
		}
	}
	if d.bad {
		return nil, false
	}
	if res == nil {
		res = map[string]any{}
	}
	// Spans are decoded after the whole ResourceSpans: they share its resource.
	for _, sc := range scopes {
		var ok bool
		if out, ok = d.scopeSpans(sc, res, out); !ok {
			return nil, false
		}
	}
	return out, true
}

func (d *protoDec) resource(b []byte) map[string]any {
	m := map[string]any{}
	for len(b) > 0 {
		num, typ, v, rest := d.field(b)
		if d.bad {
			return nil
		}
		b = rest
		switch {
		case num == 1 && typ == protowire.BytesType:
			d.keyValue(v, m)
		case num == 2 && typ == protowire.VarintType: // dropped_attributes_count
		default:
			d.bad = true
			return nil
		}
	}
	return m
}

func (d *protoDec) scopeSpans(b []byte, res map[string]any, out []otlpSpan) ([]otlpSpan, bool) {
	var name, version string
	scAttrs := map[string]any{}
	var spans [][]byte
	seenScope := false
	for len(b) > 0 {
		num, typ, v, rest := d.field(b)
		if d.bad {
			return nil, false
		}
		b = rest
		switch {
		case num == 1 && typ == protowire.BytesType && !seenScope:
			seenScope = true
			name, version = d.scope(v, scAttrs)
		case num == 2 && typ == protowire.BytesType:
			spans = append(spans, v)
		case num == 3 && typ == protowire.BytesType: // schema_url
			d.str(v)
		default:
			return nil, false
		}
		if d.bad {
			return nil, false
		}
	}
	shared := &scopeShared{}
	for _, sp := range spans {
		s := otlpSpan{res: res, scopeName: name, scopeVersion: version, scopeAttrs: scAttrs, shared: shared}
		if !d.span(sp, &s) {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

func (d *protoDec) scope(b []byte, attrs map[string]any) (name, version string) {
	for len(b) > 0 {
		num, typ, v, rest := d.field(b)
		if d.bad {
			return
		}
		b = rest
		switch {
		case num == 1 && typ == protowire.BytesType:
			name = d.str(v)
		case num == 2 && typ == protowire.BytesType:
			version = d.str(v)
		case num == 3 && typ == protowire.BytesType:
			d.keyValue(v, attrs)
		case num == 4 && typ == protowire.VarintType: // dropped_attributes_count
		default:
			d.bad = true
			return
		}
	}
	return
}

// span fills s; like spansFromProto it needs a trace and a span id (a
// request without them is for the reference path to refuse).
func (d *protoDec) span(b []byte, s *otlpSpan) bool {
	var traceID, spanID, parentID []byte
	s.attrs = make(map[string]any, 24)
	seenStatus := false
	for len(b) > 0 {
		num, typ, v, rest := d.field(b)
		if d.bad {
			return false
		}
		b = rest
		switch {
		case num == 1 && typ == protowire.BytesType:
			traceID = v
		case num == 2 && typ == protowire.BytesType:
			spanID = v
		case num == 3 && typ == protowire.BytesType: // trace_state
			d.str(v)
		case num == 4 && typ == protowire.BytesType:
			parentID = v
		case num == 5 && typ == protowire.BytesType:
			s.name = d.str(v)
		case num == 6 && typ == protowire.VarintType: // kind
		case num == 7 && typ == protowire.Fixed64Type:
			n, _ := protowire.ConsumeFixed64(v)
			s.start = int64(n)
		case num == 8 && typ == protowire.Fixed64Type:
			n, _ := protowire.ConsumeFixed64(v)
			s.end = int64(n)
		case num == 9 && typ == protowire.BytesType:
			d.keyValue(v, s.attrs)
		case (num == 10 || num == 12 || num == 14) && typ == protowire.VarintType: // dropped counts
		case num == 16 && typ == protowire.Fixed32Type: // flags
		case num == 15 && typ == protowire.BytesType && !seenStatus:
			seenStatus = true
			d.status(v, s)
		default:
			return false
		}
		if d.bad {
			return false
		}
	}
	if len(traceID) == 0 || len(spanID) == 0 {
		return false
	}
	s.traceID, s.spanID, s.parentID = hex.EncodeToString(traceID), hex.EncodeToString(spanID), hex.EncodeToString(parentID)
	return true
}

func (d *protoDec) status(b []byte, s *otlpSpan) {
	for len(b) > 0 {
		num, typ, v, rest := d.field(b)
		if d.bad {
			return
		}
		b = rest
		switch {
		case num == 2 && typ == protowire.BytesType:
			s.statusMessage = d.str(v)
		case num == 3 && typ == protowire.VarintType:
			n, _ := protowire.ConsumeVarint(v)
			s.statusCode = int(int32(n))
		default:
			d.bad = true
			return
		}
	}
}

// keyValue decodes a KeyValue into m (a later key wins, as in kvMap).
func (d *protoDec) keyValue(b []byte, m map[string]any) {
	var key string
	var val any
	seenVal := false
	for len(b) > 0 {
		num, typ, v, rest := d.field(b)
		if d.bad {
			return
		}
		b = rest
		switch {
		case num == 1 && typ == protowire.BytesType:
			key = d.str(v)
		case num == 2 && typ == protowire.BytesType && !seenVal:
			seenVal = true
			val = d.anyValue(v)
		default:
			d.bad = true
			return
		}
	}
	m[key] = val
}

// anyValue is anyValue of the decoded AnyValue; a second value field (the
// oneof set twice) is left to the reference path.
func (d *protoDec) anyValue(b []byte) any {
	var out any
	seen := false
	for len(b) > 0 {
		num, typ, v, rest := d.field(b)
		if d.bad || seen {
			d.bad = true
			return nil
		}
		seen = true
		b = rest
		switch {
		case num == 1 && typ == protowire.BytesType:
			out = d.str(v)
		case num == 2 && typ == protowire.VarintType:
			n, _ := protowire.ConsumeVarint(v)
			out = n != 0
		case num == 3 && typ == protowire.VarintType:
			n, _ := protowire.ConsumeVarint(v)
			out = int64(n)
		case num == 4 && typ == protowire.Fixed64Type:
			n, _ := protowire.ConsumeFixed64(v)
			out = math.Float64frombits(n)
		case num == 5 && typ == protowire.BytesType:
			list := []any{}
			for len(v) > 0 {
				n2, t2, e, r2 := d.field(v)
				if d.bad || n2 != 1 || t2 != protowire.BytesType {
					d.bad = true
					return nil
				}
				v = r2
				list = append(list, d.anyValue(e))
			}
			out = list
		case num == 6 && typ == protowire.BytesType:
			m := map[string]any{}
			for len(v) > 0 {
				n2, t2, e, r2 := d.field(v)
				if d.bad || n2 != 1 || t2 != protowire.BytesType {
					d.bad = true
					return nil
				}
				v = r2
				d.keyValue(e, m)
			}
			out = m
		case num == 7 && typ == protowire.BytesType:
			out = hex.EncodeToString(v)
		default:
			d.bad = true
			return nil
		}
	}
	return out
}

// OTLP/JSON. Ids are taken verbatim when they are strings (Langfuse's
// parseId), which is how non-hex ids pass through JSON but not protobuf
// (see jsonID).
type jsonExport struct {
	ResourceSpans []struct {
		Resource struct {
			Attributes []jsonKV `json:"attributes"`
		} `json:"resource"`
		ScopeSpans []struct {
			Scope struct {
				Name       string   `json:"name"`
				Version    string   `json:"version"`
				Attributes []jsonKV `json:"attributes"`
			} `json:"scope"`
			Spans []struct {
				TraceID      json.RawMessage `json:"traceId"`
				SpanID       json.RawMessage `json:"spanId"`
				ParentSpanID json.RawMessage `json:"parentSpanId"`
				Name         string          `json:"name"`
				Start        json.RawMessage `json:"startTimeUnixNano"`
				End          json.RawMessage `json:"endTimeUnixNano"`
				Attributes   []jsonKV        `json:"attributes"`
				Status       struct {
					Code    json.RawMessage `json:"code"`
					Message string          `json:"message"`
				} `json:"status"`
			} `json:"spans"`
		} `json:"scopeSpans"`
	} `json:"resourceSpans"`
}

type jsonKV struct {
	Key   string    `json:"key"`
	Value jsonValue `json:"value"`
}

type jsonValue struct {
	StringValue *string         `json:"stringValue"`
	BoolValue   *bool           `json:"boolValue"`
	IntValue    json.RawMessage `json:"intValue"`
	DoubleValue *float64        `json:"doubleValue"`
	ArrayValue  *struct {
		Values []jsonValue `json:"values"`
	} `json:"arrayValue"`
	KvlistValue *struct {
		Values []jsonKV `json:"values"`
	} `json:"kvlistValue"`
}

func (v jsonValue) value() any {
	switch {
	case v.StringValue != nil:
		return *v.StringValue
	case v.BoolValue != nil:
		return *v.BoolValue
	case len(v.IntValue) > 0:
		n, _ := strconv.ParseInt(strings.Trim(string(v.IntValue), `"`), 10, 64)
		return n
	case v.DoubleValue != nil:
		return *v.DoubleValue
	case v.ArrayValue != nil:
		out := []any{}
		for _, e := range v.ArrayValue.Values {
			out = append(out, e.value())
		}
		return out
	case v.KvlistValue != nil:
		return jsonKVMap(v.KvlistValue.Values)
	}
	return nil
}

func jsonKVMap(kvs []jsonKV) map[string]any {
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv.Value.value()
	}
	return m
}

func spansFromJSON(body []byte) ([]otlpSpan, error) {
	var req jsonExport
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, badRequest("Invalid OTLP JSON: " + err.Error())
	}
	var out []otlpSpan
	for _, rs := range req.ResourceSpans {
		res := jsonKVMap(rs.Resource.Attributes)
		for _, ss := range rs.ScopeSpans {
			scAttrs := jsonKVMap(ss.Scope.Attributes)
			shared := &scopeShared{}
			for _, sp := range ss.Spans {
				tid, hasT, ok1 := jsonID(sp.TraceID)
				sid, hasS, ok2 := jsonID(sp.SpanID)
				pid, ok3 := "", true
				if !falsyJSON(sp.ParentSpanID) {
					pid, _, ok3 = jsonID(sp.ParentSpanID)
				}
				if !hasT || !hasS || !ok1 || !ok2 || !ok3 {
					// web/src/pages/api/public/otel/v1/traces/index.ts
					// (validateOtelSpanIds): the whole export is refused.
					return nil, &apiError{http.StatusBadRequest, map[string]any{"error": "Invalid OTLP trace export: span(s) cannot be processed. " +
						"traceId and spanId are required on every span, and each must be a string or a byte array. " +
						"The entire export was rejected and no spans were ingested."}}
				}
				code, _ := strconv.Atoi(strings.Trim(string(sp.Status.Code), `"`))
				out = append(out, otlpSpan{traceID: tid, spanID: sid, parentID: pid, name: sp.Name,
					start: jsonNanos(sp.Start), end: jsonNanos(sp.End), attrs: jsonKVMap(sp.Attributes),
					statusCode: code, statusMessage: sp.Status.Message, res: res,
					scopeName: ss.Scope.Name, scopeVersion: ss.Scope.Version, scopeAttrs: scAttrs, shared: shared})
			}
		}
	}
	return out, nil
}

// jsonID reads an id as OtelIngestionProcessor.ts parseId does: a string
// verbatim (any string: packages/shared/src/server/otel/utils.ts
// getOtelIdRejectionReason), an array of numbers (the Python SDK) or a Node
// Buffer serialised as {"type":"Buffer","data":[...]} as the lowercase hex
// of its bytes. present is false for an absent or null id; ok is false for
// any other shape (numbers, booleans, other objects, an untagged
// {"data":[...]}), which the route refuses.
func jsonID(raw json.RawMessage) (id string, present, ok bool) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return "", false, true
	}
	switch t[0] {
	case '"':
		var s string
		if json.Unmarshal(t, &s) != nil {
			return "", true, false
		}
		return s, true, true
	case '[':
		var ns []float64
		if json.Unmarshal(t, &ns) != nil {
			return "", true, false
		}
		return bufferHex(ns), true, true
	case '{':
		var buf struct {
			Type *string          `json:"type"`
			Data *json.RawMessage `json:"data"`
		}
		var ns []float64
		if json.Unmarshal(t, &buf) != nil || buf.Type == nil || *buf.Type != "Buffer" || buf.Data == nil || json.Unmarshal(*buf.Data, &ns) != nil || ns == nil {
			return "", true, false
		}
		return bufferHex(ns), true, true
	}
	return "", true, false
}

// falsyJSON reports a JSON value JavaScript treats as false (a parentSpanId
// that is falsy means no parent: OtelIngestionProcessor.ts
// `span?.parentSpanId ? parseId(...) : null`).
func falsyJSON(raw json.RawMessage) bool {
	switch t := string(bytes.TrimSpace(raw)); t {
	case "", "null", "false", `""`:
		return true
	default:
		f, err := strconv.ParseFloat(t, 64)
		return err == nil && (f == 0 || math.IsNaN(f))
	}
}

// bufferHex is Buffer.from(numbers).toString("hex"): each number taken
// modulo 256.
func bufferHex(ns []float64) string {
	b := make([]byte, len(ns))
	for i, n := range ns {
		b[i] = byte(int64(n))
	}
	return hex.EncodeToString(b)
}

func jsonNanos(raw json.RawMessage) int64 {
	s := strings.Trim(string(raw), `"`)
	if s == "" || s == "null" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, _ := strconv.ParseFloat(s, 64)
		return int64(f)
	}
	return n
}

// ---------------------------------------------------------------------------------------------
// Mapping

var observationTypeAttr = map[string]string{"span": TypeSpan, "generation": TypeGeneration, "event": TypeEvent,
	"embedding": TypeEmbedding, "agent": TypeAgent, "tool": TypeTool, "chain": TypeChain, "retriever": TypeRetriever,
	"guardrail": TypeGuardrail, "evaluator": TypeEvaluator}

var modelAttrs = []string{"langfuse.observation.model.name", "gen_ai.response.model", "gen_ai.request.model", "llm.model_name", "model"}

// spanType is ObservationTypeMapper's decision, for the mappers that do not
// need framework-specific span names: langfuse.observation.type, then
// gen_ai.operation.name, then tool attributes, then any model attribute.
func spanType(a map[string]any) string {
	if t, ok := observationTypeAttr[strings.ToLower(attrStr(a["langfuse.observation.type"]))]; ok {
		return t
	}
	switch attrStr(a["gen_ai.operation.name"]) {
	case "chat", "completion", "text_completion", "generate_content", "generate":
		return TypeGeneration
	case "embeddings":
		return TypeEmbedding
	case "invoke_agent", "create_agent":
		return TypeAgent
	case "execute_tool":
		return TypeTool
	}
	if a["gen_ai.tool.name"] != nil || a["gen_ai.tool.call.id"] != nil {
		return TypeTool
	}
	for _, k := range modelAttrs {
		if attrStr(a[k]) != "" {
			return TypeGeneration
		}
	}
	return TypeSpan
}

var levelAliases = map[string]string{"DEBUG": LevelDebug, "TRACE": LevelDebug, "VERBOSE": LevelDebug,
	"DEFAULT": LevelDefault, "INFO": LevelDefault, "NOTICE": LevelDefault, "LOG": LevelDefault,
	"WARNING": LevelWarning, "WARN": LevelWarning,
	"ERROR": LevelError, "FATAL": LevelError, "CRITICAL": LevelError, "EMERGENCY": LevelError, "ALERT": LevelError}

var envPattern = regexp.MustCompile(`^[a-z0-9_-]+$`)
var envPrefix = regexp.MustCompile(`^(langfuse[-_])+`)

// NormalizeEnvironment is PublicEnvironmentName: lowercase, leading
// langfuse-/langfuse_ prefixes removed, at most 40 characters, and "default"
// unless it then matches ^[a-z0-9-_]+$.
func NormalizeEnvironment(e string) string {
	if plainEnvironment(e) {
		return e // what the rules below leave as it is, without regexps
	}
	e = envPrefix.ReplaceAllString(strings.ToLower(e), "")
	if len(e) > 40 {
		e = e[:40]
	}
	if !envPattern.MatchString(e) {
		return "default"
	}
	return e
}

// plainEnvironment reports an environment that NormalizeEnvironment keeps
// as it is: at most 40 of [a-z0-9_-], not starting with "langfuse".
func plainEnvironment(e string) bool {
	if e == "" || len(e) > 40 || strings.HasPrefix(e, "langfuse") {
		return false
	}
	for i := 0; i < len(e); i++ {
		if c := e[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// attrStr is an attribute as a string: strings verbatim, anything else as JSON.
func attrStr(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	}
	b, _ := marshalJSON(v)
	return string(b)
}

func first(a map[string]any, keys ...string) (any, bool) {
	for _, k := range keys {
		if v, ok := a[k]; ok && v != nil {
			return v, true
		}
	}
	return nil, false
}

// payloadOf is an I/O attribute as the events table keeps it: the string.
func payloadOf(v any) Payload {
	s, ok := v.(string)
	if !ok {
		b, _ := marshalJSON(v)
		return JSONPayload(string(b))
	}
	if jsonx.Valid(s) {
		return JSONPayload(s)
	}
	return TextPayload(s)
}

// prefixedObject collects a JSON-object attribute and its per-key
// attributes (<prefix>.<key>) into one object.
func prefixedObject(a map[string]any, prefixes ...string) map[string]any {
	out := map[string]any{}
	for _, p := range prefixes {
		if s, ok := a[p].(string); ok {
			var m map[string]any
			if json.Unmarshal([]byte(s), &m) == nil {
				for k, v := range m {
					out[k] = v
				}
			}
		} else if m, ok := a[p].(map[string]any); ok {
			for k, v := range m {
				out[k] = v
			}
		}
	}
	for _, p := range prefixes {
		p += "."
		for k, v := range a {
			if rest, ok := strings.CutPrefix(k, p); ok && rest != "" {
				if s, isStr := v.(string); isStr {
					var parsed any
					if json.Unmarshal([]byte(s), &parsed) == nil {
						out[rest] = parsed
						continue
					}
				}
				out[rest] = v
			}
		}
	}
	return out
}

// mappedKey reports attributes the mapping consumes; the rest are kept under
// metadata.attributes.
func mappedKey(k string) bool {
	for _, p := range []string{"langfuse.", "gen_ai.", "user.id", "session.id", "input.value", "output.value", "llm.", "model",
		"deployment.environment"} {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

func spanTime(ns int64) time.Time { return time.Unix(0, ns).UTC().Truncate(time.Millisecond) }

// parseISO reads an ISO time, also double-stringified ("\"2026-…\"").
func parseISO(v any) *time.Time {
	s, ok := v.(string)
	if !ok {
		return nil
	}
	var inner string
	if json.Unmarshal([]byte(s), &inner) == nil {
		s = inner
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil
	}
	t = t.UTC().Truncate(time.Millisecond)
	return &t
}

// experimentLink is what langfuse.experiment.* attributes of a span say.
type experimentLink struct {
	runID, runName, description, datasetID string
	metadata                               map[string]any
	itemID                                 string
	rootSpanID                             string // langfuse.experiment.item.root_observation_id
	itemVersion                            *time.Time
	expectedOutput                         Payload
	itemMetadata                           map[string]any
}

// ingestSpans writes spans as observations (never deduplicated, as in v4)
// and merges their trace attributes into the traces.
func (p *Project) ingestSpans(mode Mode, spans []otlpSpan, now time.Time) error {
	if p.lazy != nil {
		return ErrReadOnly
	}
	obs := make([]*Observation, 0, len(spans))
	var metas []map[string]any
	type expOf struct {
		e *experimentLink
		o *Observation
	}
	var exps []expOf
	for i := range spans {
		o, t, exp := p.mapSpan(mode, &spans[i], now)
		o.SetTraceContext(t) // v4 keeps each span's trace attributes on its own row
		if mode == V3 {
			// v3 makes trace-create events of the spans (h_legacy.go).
			metas = append(metas, prefixedObject(spans[i].attrs, "langfuse.trace.metadata"))
		} else if err := p.UpsertTrace(t); err != nil {
			return err
		}
		obs = append(obs, o)
		if exp != nil && mode == V4 {
			exps = append(exps, expOf{exp, o})
		}
	}
	if mode == V3 {
		if err := p.ingestLegacySpans(spans, obs, metas); err != nil {
			return err
		}
	}
	if err := p.fillTraceTimestamps(obs); err != nil {
		return err
	}
	if err := p.AddObservations(obs...); err != nil {
		return err
	}
	// After AddObservations: the experiment rows see the stored values.
	for _, x := range exps {
		p.addExperimentRow(x.e, x.o)
		p.addExperimentItem(x.e, x.o, now)
	}
	return nil
}

// fillTraceTimestamps gives traces that have no root span yet the start of
// a span, so that they sort and page; a root span arriving later wins.
func (p *Project) fillTraceTimestamps(obs []*Observation) error {
	m := p.mem
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range obs {
		if err := m.fillTimestamp(o.TraceID, o.StartTime); err != nil {
			return err
		}
	}
	return nil
}

func (p *Project) mapSpan(mode Mode, sp *otlpSpan, now time.Time) (*Observation, *Trace, *experimentLink) {
	a := sp.attrs
	o := &Observation{ID: sp.spanID, TraceID: sp.traceID, ParentObservationID: sp.parentID, CreatedAt: now, UpdatedAt: now}
	if b, _ := a["langfuse.internal.as_root"].(bool); b || attrStr(a["langfuse.internal.as_root"]) == "true" {
		o.ParentObservationID = ""
	}
	if b, _ := a["langfuse.internal.is_app_root"].(bool); b || attrStr(a["langfuse.internal.is_app_root"]) == "true" {
		o.AppRoot = true
	}
	start, end := sp.start, sp.end
	switch {
	case start == 0 && end == 0:
		start, end = now.UnixNano(), now.UnixNano()
	case start == 0:
		start = end
	case end == 0:
		end = start
	}
	o.StartTime = spanTime(start)
	et := spanTime(end)
	o.EndTime = &et
	o.Type = spanType(a)
	o.Name = ptr(sp.name)
	if v := attrStr(a["gen_ai.tool.name"]); v != "" && o.Type == TypeTool {
		o.Name = ptr(v)
	}

	o.Level = LevelDefault
	if l, ok := levelAliases[strings.ToUpper(attrStr(a["langfuse.observation.level"]))]; ok {
		o.Level = l
	} else if sp.statusCode == 2 {
		o.Level = LevelError
	}
	if v, ok := a["langfuse.observation.status_message"]; ok {
		o.StatusMessage = ptr(attrStr(v))
	} else if sp.statusMessage != "" {
		o.StatusMessage = ptr(sp.statusMessage)
	}
	if v, ok := first(a, "langfuse.observation.input", "input.value", "gen_ai.input.messages", "gen_ai.prompt"); ok {
		o.Input = payloadOf(v)
	}
	if v, ok := first(a, "langfuse.observation.output", "output.value", "gen_ai.output.messages", "gen_ai.completion"); ok {
		o.Output = payloadOf(v)
	}
	if v, ok := first(a, modelAttrs...); ok {
		o.Model = ptr(attrStr(v))
		o.InternalModelID = p.matchModel(*o.Model)
	}
	if params := modelParameters(a); params != nil {
		b, _ := marshalJSON(params)
		o.ModelParameters = JSONPayload(string(b))
	}
	o.UsageDetails = usageDetails(a)
	o.CostDetails = costDetails(a)
	if v, ok := a["langfuse.observation.completion_start_time"]; ok {
		o.CompletionStartTime = parseISO(v)
	}
	if o.Type == TypeGeneration {
		if v, ok := first(a, "langfuse.observation.prompt.name", "langfuse.prompt.name"); ok {
			o.PromptName = ptr(attrStr(v))
			if vv, ok := first(a, "langfuse.observation.prompt.version", "langfuse.prompt.version"); ok {
				if n, err := strconv.Atoi(attrStr(vv)); err == nil {
					o.PromptVersion = &n
					o.PromptID = p.promptID(*o.PromptName, n)
				}
			}
		}
	}
	env, ok := first(a, "langfuse.environment", "deployment.environment.name", "deployment.environment")
	if !ok {
		env, ok = first(sp.res, "langfuse.environment", "deployment.environment.name", "deployment.environment")
	}
	o.Environment = "default"
	if ok {
		o.Environment = NormalizeEnvironment(attrStr(env))
	}
	if v, ok := a["langfuse.version"]; ok {
		o.Version = ptr(attrStr(v))
	} else if v, ok := sp.res["service.version"]; ok {
		o.Version = ptr(attrStr(v))
	}

	t := &Trace{ID: sp.traceID, Environment: o.Environment, CreatedAt: now, UpdatedAt: now}
	root := o.ParentObservationID == ""
	if root {
		t.Timestamp = o.StartTime
		t.Version = o.Version
	}
	if v, ok := a["langfuse.trace.name"]; ok {
		t.Name = ptr(attrStr(v))
	} else if root && o.Name != nil {
		t.Name = o.Name
	}
	if v, ok := first(a, "langfuse.user.id", "user.id"); ok {
		t.UserID = ptr(attrStr(v))
	}
	if v, ok := first(a, "langfuse.session.id", "session.id", "gen_ai.conversation.id"); ok {
		t.SessionID = ptr(attrStr(v))
	}
	if v, ok := first(a, "langfuse.release"); ok {
		t.Release = ptr(attrStr(v))
	} else if v, ok := sp.res["langfuse.release"]; ok {
		t.Release = ptr(attrStr(v))
	}
	if v, ok := first(a, "langfuse.trace.tags", "langfuse.tags"); ok {
		t.Tags = parseTags(v)
	}
	if v, ok := first(a, "langfuse.trace.public", "langfuse.public"); ok {
		t.Public = v == true || attrStr(v) == "true"
	}
	traceMeta := prefixedObject(a, "langfuse.trace.metadata")
	if len(traceMeta) > 0 {
		b, _ := marshalJSON(traceMeta)
		t.Metadata = JSONPayload(string(b))
	}
	if mode == V3 {
		// The legacy path honours the trace I/O attributes.
		if v, ok := a["langfuse.trace.input"]; ok {
			t.Input = payloadOf(v)
		}
		if v, ok := a["langfuse.trace.output"]; ok {
			t.Output = payloadOf(v)
		}
	} else if root {
		// v4 has no trace entity: its input and output are the root's.
		t.Input, t.Output = o.Input, o.Output
	}

	o.Metadata = observationMetadata(mode, sp, traceMeta)
	o.Input, o.Metadata = ReshapeTools(o.Input, o.Metadata) // reshape.go: metadata.tools moves into the input
	o.Metadata = StoredMetadata(mode, o.Metadata)           // reshape.go: v4 flattens nested metadata
	return o, t, experimentOf(a)
}

// observationMetadata shapes metadata like the v4 direct path:
// {attributes (unless the scope is a Langfuse SDK), resourceAttributes,
// scope, ...observation metadata, ...trace metadata}; on the legacy path (v3)
// the generated keys win over the user's.
func observationMetadata(mode Mode, sp *otlpSpan, traceMeta map[string]any) Payload {
	sdk := strings.HasPrefix(sp.scopeName, "langfuse-sdk")
	var genText string
	if sdk && sp.shared != nil && sp.shared.done {
		genText = sp.shared.genText
	} else {
		gen := map[string]any{}
		if !sdk {
			unmapped := map[string]any{}
			for k, v := range sp.attrs {
				if !mappedKey(k) {
					unmapped[k] = attrStr(v)
				}
			}
			gen["attributes"] = unmapped
		}
		gen["resourceAttributes"] = sp.res
		scope := map[string]any{"name": sp.scopeName, "version": sp.scopeVersion}
		if len(sp.scopeAttrs) > 0 {
			scope["attributes"] = sp.scopeAttrs
		}
		gen["scope"] = scope
		b, _ := marshalJSON(gen)
		genText = string(b)
		if sdk && sp.shared != nil {
			sp.shared.genText, sp.shared.done = genText, true
		}
	}
	// Fast path: one JSON object of user metadata is spliced in as text.
	// Readers take the last of repeated keys, which gives the precedence of
	// each path (v4: user keys win; v3: generated keys win).
	user, fast := userMetadataText(sp.attrs)
	if !fast {
		b, _ := marshalJSON(prefixedObject(sp.attrs, "langfuse.observation.metadata", "langfuse.metadata"))
		user = string(b)
	}
	parts := []string{genText, user}
	if mode == V4 {
		if len(traceMeta) > 0 {
			b, _ := marshalJSON(traceMeta)
			parts = append(parts, string(b))
		}
	} else {
		parts = []string{user, genText}
	}
	return JSONPayload(joinObjects(parts))
}

// userMetadataText returns the langfuse.observation.metadata object text
// when it is the only user metadata attribute.
func userMetadataText(a map[string]any) (string, bool) {
	s, ok := a["langfuse.observation.metadata"].(string)
	if !ok {
		return "", false
	}
	for k := range a {
		if k != "langfuse.observation.metadata" && (strings.HasPrefix(k, "langfuse.observation.metadata.") || strings.HasPrefix(k, "langfuse.metadata")) {
			return "", false
		}
	}
	t := strings.TrimSpace(s)
	if !strings.HasPrefix(t, "{") || !jsonx.Valid(t) {
		return "", false
	}
	return t, true
}

// joinObjects concatenates the members of JSON object texts into one object.
func joinObjects(objs []string) string {
	var b strings.Builder
	b.WriteByte('{')
	n := 0
	for _, o := range objs {
		inner := strings.TrimSpace(o)
		inner = strings.TrimSpace(inner[1 : len(inner)-1])
		if inner == "" {
			continue
		}
		if n > 0 {
			b.WriteByte(',')
		}
		b.WriteString(inner)
		n++
	}
	b.WriteByte('}')
	return b.String()
}

func parseTags(v any) []string {
	switch x := v.(type) {
	case []any:
		out := []string{}
		for _, e := range x {
			out = append(out, attrStr(e))
		}
		return out
	case string:
		var list []string
		if json.Unmarshal([]byte(x), &list) == nil {
			return list
		}
		out := []string{}
		for _, s := range strings.Split(x, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// modelParameters reads langfuse.observation.model.parameters and
// gen_ai.request.*; values become strings or numbers.
func modelParameters(a map[string]any) map[string]any {
	var out map[string]any
	if s, ok := a["langfuse.observation.model.parameters"].(string); ok {
		out = map[string]any{}
		if !flatObject(s, true, func(k string, v any) { out[k] = v }) {
			out = nil
			_ = json.Unmarshal([]byte(s), &out)
		}
	}
	for k, v := range a {
		if rest, ok := strings.CutPrefix(k, "gen_ai.request."); ok && rest != "model" {
			if out == nil {
				out = map[string]any{}
			}
			if _, set := out[rest]; !set {
				out[rest] = v
			}
		}
	}
	for k, v := range out {
		switch v.(type) {
		case string, float64, int64:
		default:
			out[k] = attrStr(v)
		}
	}
	return out
}

func usageDetails(a map[string]any) map[string]int64 {
	out := map[string]int64{}
	if s, ok := a["langfuse.observation.usage_details"].(string); ok {
		add := func(k string, v float64) {
			if v >= 0 && v == math.Trunc(v) {
				out[k] = int64(v)
			} else {
				delete(out, k) // a later member replaces an earlier one
			}
		}
		if !flatObject(s, false, func(k string, v any) { add(k, v.(float64)) }) {
			clear(out)
			var m map[string]float64
			if json.Unmarshal([]byte(s), &m) == nil {
				for k, v := range m {
					add(k, v)
				}
			}
		}
		return out
	}
	num := func(k string) (int64, bool) {
		switch x := a[k].(type) {
		case int64:
			return x, true
		case float64:
			return int64(x), true
		}
		return 0, false
	}
	for key, names := range map[string][]string{
		"input":  {"gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"},
		"output": {"gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"},
		"total":  {"gen_ai.usage.total_tokens"},
	} {
		for _, n := range names {
			if v, ok := num(n); ok {
				out[key] = v
				break
			}
		}
	}
	return out
}

func costDetails(a map[string]any) map[string]float64 {
	out := map[string]float64{}
	if s, ok := a["langfuse.observation.cost_details"].(string); ok {
		if !flatObject(s, false, func(k string, v any) { out[k] = v.(float64) }) {
			clear(out)
			_ = json.Unmarshal([]byte(s), &out)
		}
		return out
	}
	if v, ok := a["gen_ai.usage.cost"].(float64); ok {
		out["total"] = v
	}
	return out
}

// flatObject is the fast path of json.Unmarshal of a small JSON object
// into map[string]float64 (or, with strs, map[string]any): it calls fn with
// each member in order when s is a valid object whose keys have no escapes
// and whose values are numbers (as float64) or, with strs, strings without
// escapes, booleans or null. It reports false for anything else — then fn may have seen some
// members, and the caller starts over with json.Unmarshal — so that it
// answers only where encoding/json would answer the same. Usage, cost and
// model parameters are such objects, and unmarshalling them was a fifth of
// the test server's span mapping.
func flatObject(s string, strs bool, fn func(k string, v any)) bool {
	ok := true
	valid := jsonx.Members(s, func(k, v string) bool {
		k = k[1 : len(k)-1]
		if strings.IndexByte(k, '\\') >= 0 || !utf8.ValidString(k) {
			ok = false
			return false
		}
		switch c := v[0]; {
		case c == '-' || c >= '0' && c <= '9':
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				ok = false
				return false
			}
			fn(k, f)
		case c == '"' && strs && strings.IndexByte(v, '\\') < 0 && utf8.ValidString(v):
			fn(k, v[1:len(v)-1])
		case (c == 't' || c == 'f') && strs:
			fn(k, c == 't')
		case c == 'n' && strs:
			fn(k, nil)
		default:
			ok = false
			return false
		}
		return true
	})
	return ok && valid
}

func experimentOf(a map[string]any) *experimentLink {
	id := attrStr(a["langfuse.experiment.id"])
	if id == "" {
		return nil
	}
	e := &experimentLink{runID: id, runName: attrStr(a["langfuse.experiment.name"]),
		description: attrStr(a["langfuse.experiment.description"]), datasetID: attrStr(a["langfuse.experiment.dataset.id"]),
		metadata: prefixedObject(a, "langfuse.experiment.metadata"), itemID: attrStr(a["langfuse.experiment.item.id"]),
		rootSpanID:  attrStr(a["langfuse.experiment.item.root_observation_id"]),
		itemVersion: parseISO(a["langfuse.experiment.item.version"]), itemMetadata: prefixedObject(a, "langfuse.experiment.item.metadata")}
	if v, ok := a["langfuse.experiment.item.expected_output"]; ok {
		e.expectedOutput = payloadOf(v)
	}
	return e
}

// addExperimentItem records the dataset run (experiment) and run item that a
// span's experiment attributes describe.
func (p *Project) addExperimentItem(e *experimentLink, o *Observation, now time.Time) {
	// Stored values get their own strings: the decoder's point into the
	// request body, which they would keep alive.
	cl := strings.Clone
	e = &experimentLink{runID: cl(e.runID), runName: cl(e.runName), description: cl(e.description), datasetID: cl(e.datasetID),
		metadata: e.metadata, itemID: cl(e.itemID), rootSpanID: cl(e.rootSpanID)}
	o = &Observation{ID: cl(o.ID), TraceID: cl(o.TraceID), StartTime: o.StartTime}
	p.mu.Lock()
	defer p.mu.Unlock()
	var run *DatasetRun
	for _, r := range p.runs {
		if r.ID == e.runID {
			run = r
		}
	}
	if run == nil {
		run = &DatasetRun{ID: e.runID, Name: e.runName, DatasetID: e.datasetID, CreatedAt: o.StartTime, UpdatedAt: now}
		if e.description != "" {
			run.Description = ptr(e.description)
		}
		if len(e.metadata) > 0 {
			run.Metadata = ValuePayload(e.metadata)
		}
		p.runs = append(p.runs, run)
	}
	// An experiment item is the row whose span id is the item's root
	// (experiments.ts: e.span_id = e.experiment_item_root_span_id); the
	// other rows of the run only carry the attributes.
	if e.itemID == "" || e.rootSpanID != o.ID {
		return
	}
	p.runItems = append(p.runItems, &DatasetRunItem{ID: o.ID, RunID: run.ID, DatasetItemID: e.itemID, TraceID: o.TraceID,
		ObservationID: ptr(o.ID), CreatedAt: o.StartTime, UpdatedAt: now})
}

// matchModel returns the id of the first model whose pattern matches name,
// custom models before Langfuse-managed ones, as findModelInPostgres does
// (packages/shared/src/server/ingestion/modelMatch.ts: `model ~
// match_pattern`, ordered by project_id so a project's own models come
// first). Go's regexp stands in for Postgres' POSIX expressions.
func (p *Project) matchModel(name string) *string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	for _, managed := range []bool{false, true} {
		for _, m := range p.models {
			if m.IsLangfuseManaged != managed {
				continue
			}
			if re := compiledPattern(m.MatchPattern); re != nil && re.MatchString(name) {
				return ptr(m.ID)
			}
		}
	}
	return nil
}

// patterns caches compiled model match patterns: every ingested span
// with a model is matched against every model of the project.
var patterns sync.Map // pattern -> *regexp.Regexp, nil when it does not compile

func compiledPattern(pattern string) *regexp.Regexp {
	if re, ok := patterns.Load(pattern); ok {
		return re.(*regexp.Regexp)
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		re = nil
	}
	patterns.Store(pattern, re)
	return re
}

func (p *Project) promptID(name string, version int) *string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	for _, v := range p.prompts {
		if v.Name == name && v.Version == version {
			return ptr(v.ID)
		}
	}
	return nil
}

// OTLPJSONForValidation turns an OTLP request body (protobuf or JSON,
// possibly gzipped) into the JSON shape of the spec's OtelResourceSpan, so
// that protobuf requests are checked against the spec too. ok is false when
// the body does not decode.
func OTLPJSONForValidation(contentType, contentEncoding string, body []byte) (out []byte, ok bool) {
	raw, err := decodeBody(contentEncoding, body)
	if err != nil {
		return nil, false
	}
	if !strings.Contains(contentType, "application/x-protobuf") {
		return raw, true
	}
	var req tracepb.TracesData
	if proto.Unmarshal(raw, &req) != nil {
		return nil, false
	}
	kvs := func(list []*commonpb.KeyValue) []any {
		out := []any{}
		for _, kv := range list {
			out = append(out, map[string]any{"key": kv.GetKey(), "value": specValue(kv.GetValue())})
		}
		return out
	}
	var rss []any
	for _, rs := range req.GetResourceSpans() {
		var sss []any
		for _, ss := range rs.GetScopeSpans() {
			var spans []any
			for _, sp := range ss.GetSpans() {
				s := map[string]any{"traceId": hex.EncodeToString(sp.GetTraceId()), "spanId": hex.EncodeToString(sp.GetSpanId()),
					"name": sp.GetName(), "kind": int(sp.GetKind()),
					"startTimeUnixNano": fmt.Sprint(sp.GetStartTimeUnixNano()), "endTimeUnixNano": fmt.Sprint(sp.GetEndTimeUnixNano()),
					"attributes": kvs(sp.GetAttributes()), "status": map[string]any{"code": int(sp.GetStatus().GetCode()), "message": sp.GetStatus().GetMessage()}}
				if len(sp.GetParentSpanId()) > 0 {
					s["parentSpanId"] = hex.EncodeToString(sp.GetParentSpanId())
				}
				spans = append(spans, s)
			}
			sc := ss.GetScope()
			sss = append(sss, map[string]any{"scope": map[string]any{"name": sc.GetName(), "version": sc.GetVersion(), "attributes": kvs(sc.GetAttributes())},
				"spans": spans})
		}
		rss = append(rss, map[string]any{"resource": map[string]any{"attributes": kvs(rs.GetResource().GetAttributes())}, "scopeSpans": sss})
	}
	b, err := marshalJSON(map[string]any{"resourceSpans": rss})
	return b, err == nil
}

func specValue(v *commonpb.AnyValue) map[string]any {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return map[string]any{"stringValue": x.StringValue}
	case *commonpb.AnyValue_BoolValue:
		return map[string]any{"boolValue": x.BoolValue}
	case *commonpb.AnyValue_IntValue:
		return map[string]any{"intValue": x.IntValue}
	case *commonpb.AnyValue_DoubleValue:
		return map[string]any{"doubleValue": x.DoubleValue}
	case *commonpb.AnyValue_ArrayValue:
		var vals []any
		for _, e := range x.ArrayValue.GetValues() {
			vals = append(vals, specValue(e))
		}
		return map[string]any{"arrayValue": map[string]any{"values": vals}}
	}
	return map[string]any{}
}
