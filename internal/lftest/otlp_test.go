package lftest

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// referenceSpans is the decoding the fast path must equal.
func referenceSpans(body []byte) ([]otlpSpan, error) {
	var req tracepb.TracesData
	if err := proto.Unmarshal(body, &req); err != nil {
		return nil, err
	}
	return spansFromProto(&req)
}

func sv(s string) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
}

func otlpSample() *tracepb.TracesData {
	kv := func(k string, v *commonpb.AnyValue) *commonpb.KeyValue { return &commonpb.KeyValue{Key: k, Value: v} }
	attrs := []*commonpb.KeyValue{
		kv("langfuse.observation.type", sv("generation")), kv("s", sv("")), kv("dup", sv("first")), kv("dup", sv("second")),
		kv("b", &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: true}}),
		kv("f", &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{}}),
		kv("i", &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: -42}}),
		kv("d", &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: math.Pi}}),
		kv("bytes", &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: []byte{1, 0xff}}}),
		kv("arr", &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{sv("a"), {}}}}}),
		kv("emptyarr", &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{}}}),
		kv("kvl", &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: []*commonpb.KeyValue{kv("x", sv("y"))}}}}),
		kv("nil", nil), kv("novalue", &commonpb.AnyValue{}),
	}
	return &tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{
		{Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{kv("service.version", sv("1.2"))}, DroppedAttributesCount: 1},
			SchemaUrl: "u",
			ScopeSpans: []*tracepb.ScopeSpans{{Scope: &commonpb.InstrumentationScope{Name: "langfuse-sdk", Version: "3", Attributes: attrs[:2]},
				Spans: []*tracepb.Span{
					{TraceId: []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, SpanId: []byte{1, 2, 3, 4, 5, 6, 7, 8},
						ParentSpanId: []byte{8, 7, 6, 5, 4, 3, 2, 1}, Name: "n", Kind: tracepb.Span_SPAN_KIND_CLIENT, StartTimeUnixNano: 1,
						EndTimeUnixNano: math.MaxUint64, Attributes: attrs, Status: &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "boom"},
						TraceState: "ts", Flags: 1, DroppedAttributesCount: 2},
					{TraceId: []byte{1}, SpanId: []byte{2}},
				}}, {}}},
		{},
	}}
}

// The fast decoder gives what proto.Unmarshal and spansFromProto give, and
// leaves every message it does not fully understand to them.
func TestFastSpansFromProto(t *testing.T) {
	full, err := proto.Marshal(otlpSample())
	if err != nil {
		t.Fatal(err)
	}
	got, ok := fastSpansFromProto(full)
	if !ok {
		t.Fatal("the fast path refused a plain request")
	}
	want, err := referenceSpans(full)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("fast decoding\n%#v\nreference\n%#v", got, want)
	}
	withEvent := otlpSample()
	withEvent.ResourceSpans[0].ScopeSpans[0].Spans[0].Events = []*tracepb.Span_Event{{Name: "e"}}
	noID := otlpSample()
	noID.ResourceSpans[0].ScopeSpans[0].Spans[1].SpanId = nil
	badUTF8 := otlpSample()
	badUTF8.ResourceSpans[0].ScopeSpans[0].Spans[0].Name = "\xff"
	for name, m := range map[string]*tracepb.TracesData{"event": withEvent, "no span id": noID, "invalid UTF-8": badUTF8} {
		b, _ := proto.MarshalOptions{}.Marshal(m)
		if _, ok := fastSpansFromProto(b); ok {
			t.Errorf("%s: the fast path took a request it must leave to proto.Unmarshal", name)
		}
	}
	for i := range full {
		if _, ok := fastSpansFromProto(full[:i]); ok && i > 0 {
			if _, err := referenceSpans(full[:i]); err != nil {
				t.Errorf("truncated at %d: fast path accepted what proto.Unmarshal refuses: %v", i, err)
			}
		}
	}
}

func FuzzFastSpansFromProto(f *testing.F) {
	full, _ := proto.Marshal(otlpSample())
	f.Add(full)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := fastSpansFromProto(b)
		if !ok {
			return
		}
		want, err := referenceSpans(b)
		if err != nil {
			t.Fatalf("fast path accepted what the reference refuses: %v", err)
		}
		if len(got) == 0 && len(want) == 0 {
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("fast decoding\n%#v\nreference\n%#v", got, want)
		}
	})
}

// The fast path of usage, cost and model parameters answers as
// json.Unmarshal does, or leaves the object to it.
func TestFlatObjectMatchesJSON(t *testing.T) {
	for _, s := range []string{`{}`, ` { } `, `{"input":10,"output":20,"total":30}`, `{"a":1.5,"b":-2,"c":1e3,"d":0}`, `{"a":1,"a":-1}`,
		`{"a":-1,"a":1}`, `{"a":null}`, `{"a":"x"}`, `{"a":"x\n"}`, `{"a\u0062":1}`, `{"a":1e999}`, `{"a":[1]}`, `{"a":{"b":1}}`,
		`{"a":true}`, `null`, `[]`, `1`, `"x"`, `{"a":1,}`, `{"a":1} x`, `{"temperature":0.7,"max_tokens":256,"stop":"END"}`,
		`{"é":2}`, `{"k":"é\u00e9"}`, `{"a":01}`, `{"a":-0}`, `{"a":1.}`, "", `{"temperature":0.7,"max_tokens":1024,"stream":false}`,
		`{"a":true,"b":null,"c":false}`, `{"a":tru}`, `{"a":nul}`, `{"a":true,"a":1}`} {
		checkFlatObject(t, s)
	}
}

func FuzzFlatObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"input":10,"output":20}`, `{"a":1e999}`, `{"t":0.7,"s":false,"n":null,"x":"y"}`, `{"a":"\u00e9"}`} {
		f.Add(s)
	}
	f.Fuzz(checkFlatObject)
}

func checkFlatObject(t *testing.T, s string) {
	a := map[string]any{"langfuse.observation.usage_details": s, "langfuse.observation.cost_details": s,
		"langfuse.observation.model.parameters": s}
	wantUsage := map[string]int64{}
	var m map[string]float64
	if json.Unmarshal([]byte(s), &m) == nil {
		for k, v := range m {
			if v >= 0 && v == math.Trunc(v) {
				wantUsage[k] = int64(v)
			}
		}
	}
	if got := usageDetails(a); !reflect.DeepEqual(got, wantUsage) {
		t.Errorf("usageDetails(%s) = %v, want %v", s, got, wantUsage)
	}
	wantCost := map[string]float64{}
	_ = json.Unmarshal([]byte(s), &wantCost)
	if got := costDetails(a); !reflect.DeepEqual(got, wantCost) {
		t.Errorf("costDetails(%s) = %v, want %v", s, got, wantCost)
	}
	var wantParams map[string]any
	_ = json.Unmarshal([]byte(s), &wantParams)
	for k, v := range wantParams {
		switch v.(type) {
		case string, float64, int64:
		default:
			wantParams[k] = attrStr(v)
		}
	}
	if got := modelParameters(a); !reflect.DeepEqual(got, wantParams) {
		t.Errorf("modelParameters(%s) = %#v, want %#v", s, got, wantParams)
	}
}

// The shortcut of NormalizeEnvironment keeps to its rules.
func TestNormalizeEnvironmentPlain(t *testing.T) {
	slow := func(e string) string {
		e = envPrefix.ReplaceAllString(strings.ToLower(e), "")
		if len(e) > 40 {
			e = e[:40]
		}
		if !envPattern.MatchString(e) {
			return "default"
		}
		return e
	}
	for _, e := range []string{"", "production", "prod-1_a", "Production", "langfuse-prod", "langfuse_langfuse-x", "langfusex", "langfuse",
		"a b", "é", strings.Repeat("a", 40), strings.Repeat("a", 41), strings.Repeat("A", 41), "dev.1", "x/y", "-", "_"} {
		if got, want := NormalizeEnvironment(e), slow(e); got != want {
			t.Errorf("NormalizeEnvironment(%q) = %q, want %q", e, got, want)
		}
	}
}

// OTLP/JSON ids are what parseId makes of them
// (packages/shared/src/server/otel/OtelIngestionProcessor.ts): a string
// verbatim, whatever it holds; a byte array (the Python SDK's int list, a
// Node Buffer serialised as {"type":"Buffer","data":[...]}) as lowercase hex.
// The route refuses the whole request when an id is absent or of any other
// shape, an untagged {"data":[...]} included
// (packages/shared/src/server/otel/utils.ts getOtelIdRejectionReason), and
// a falsy parentSpanId means no parent.
func TestJSONIDs(t *testing.T) {
	span := func(ids string) []byte {
		return []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{` + ids + `,"name":"n"}]}]}]}`)
	}
	for _, tc := range []struct {
		ids                 string
		trace, span, parent string
	}{
		{`"traceId":"99111769-2ACC-da0d-976b-1210fbeb6eab","spanId":"t-abc"`, "99111769-2ACC-da0d-976b-1210fbeb6eab", "t-abc", ""},
		{`"traceId":"ABCDEF","spanId":"AQID","parentSpanId":"p 1"`, "ABCDEF", "AQID", "p 1"},
		{`"traceId":"","spanId":"s","parentSpanId":""`, "", "s", ""},
		{`"traceId":[1,2,255],"spanId":{"type":"Buffer","data":[171,205]},"parentSpanId":[16]`, "0102ff", "abcd", "10"},
		{`"traceId":"t","spanId":"s","parentSpanId":null`, "t", "s", ""},
		{`"traceId":"t","spanId":"s","parentSpanId":0`, "t", "s", ""},
		{`"traceId":"t","spanId":"s","parentSpanId":false`, "t", "s", ""},
	} {
		got, err := spansFromJSON(span(tc.ids))
		if err != nil {
			t.Errorf("%s: %v", tc.ids, err)
			continue
		}
		if len(got) != 1 || got[0].traceID != tc.trace || got[0].spanID != tc.span || got[0].parentID != tc.parent {
			t.Errorf("%s: got %+v, want trace %q span %q parent %q", tc.ids, got, tc.trace, tc.span, tc.parent)
		}
	}
	for _, ids := range []string{
		`"spanId":"s"`, `"traceId":null,"spanId":"s"`, `"traceId":"t"`, `"traceId":42,"spanId":"s"`, `"traceId":true,"spanId":"s"`,
		`"traceId":{"foo":"bar"},"spanId":"s"`, `"traceId":{"data":[1,2]},"spanId":"s"`, `"traceId":{"length":8},"spanId":"s"`,
		`"traceId":"t","spanId":"s","parentSpanId":42`, `"traceId":"t","spanId":"s","parentSpanId":{"data":[1]}`,
	} {
		if _, err := spansFromJSON(span(ids)); err == nil {
			t.Errorf("%s: accepted", ids)
		}
	}
}
