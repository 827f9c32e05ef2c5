package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/lakefuse/lakefuse/bucket"
)

func TestIDs(t *testing.T) {
	for _, tc := range []struct{ src, trace, span string }{
		{"0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef", hashHex("0123456789abcdef0123456789abcdef", 16)},
		{"0123456789abcdef", hashHex("0123456789abcdef", 32), "0123456789abcdef"},
		{"99111769-2ACC-da0d-976b-1210fbeb6eab", "991117692accda0d976b1210fbeb6eab", hashHex("99111769-2ACC-da0d-976b-1210fbeb6eab", 16)},
		{"trace-Not-Hex", hashHex("trace-Not-Hex", 32), hashHex("trace-Not-Hex", 16)},
		{"00000000000000000000000000000000", hashHex("00000000000000000000000000000000", 32), hashHex("00000000000000000000000000000000", 16)},
		{"0123456789ABCDEF", hashHex("0123456789ABCDEF", 32), hashHex("0123456789ABCDEF", 16)},
	} {
		if got := RewriteTraceID(tc.src); got != tc.trace {
			t.Errorf("RewriteTraceID(%q) = %q, want %q", tc.src, got, tc.trace)
		}
		if got := RewriteSpanID(tc.src); got != tc.span {
			t.Errorf("RewriteSpanID(%q) = %q, want %q", tc.src, got, tc.span)
		}
		if !isHex(RewriteTraceID(tc.src), 32) || !isHex(RewriteSpanID(tc.src), 16) {
			t.Errorf("%q: mapped ids are not OTel hex", tc.src)
		}
	}
}

func TestIOText(t *testing.T) {
	for in, want := range map[string]string{
		`"plain text"`: "plain text", `"{\"a\":1}"`: `"{\"a\":1}"`, `{"a":1}`: `{"a":1}`, `""`: "", `"42"`: `"42"`, `[1,2]`: `[1,2]`,
	} {
		if got := ioText(in); got != want {
			t.Errorf("ioText(%s) = %q, want %q", in, got, want)
		}
	}
	if got := metadataObject(`"just a string"`); got != `{"metadata":"just a string"}` {
		t.Errorf("metadataObject of a string: %s", got)
	}
}

// The hand-assembled request must be what proto.Marshal makes of the same
// message, span by span byte for byte.
func TestBatchEncodeMatchesProto(t *testing.T) {
	var b spanBatch
	nb := newSpanBatch(64) // with room for the header; grows past its capacity
	var spans []*tracepb.Span
	str := func(k, v string) *commonpb.KeyValue {
		return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
	}
	long := strings.Repeat("é", 100)
	for i := range 4 {
		rec := &spanRec{traceID: mustHex(RewriteTraceID(fmt.Sprint("t", i))), spanID: mustHex(RewriteSpanID(fmt.Sprint("s", i))), name: "n",
			start: 1, end: uint64(2 + i)}
		sp := &tracepb.Span{TraceId: rec.traceID, SpanId: rec.spanID, Name: "n", Kind: tracepb.Span_SPAN_KIND_INTERNAL,
			StartTimeUnixNano: 1, EndTimeUnixNano: uint64(2 + i)}
		rec.str("k", "v")
		rec.list("tags", []string{"a", "", long})
		rec.boolean("b", i%2 == 0)
		rec.str("empty", "")
		rec.str(long, long)
		rec.list("none", nil)
		sp.Attributes = []*commonpb.KeyValue{str("k", "v"),
			{Key: "tags", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{
				{Value: &commonpb.AnyValue_StringValue{StringValue: "a"}}, {Value: &commonpb.AnyValue_StringValue{StringValue: ""}},
				{Value: &commonpb.AnyValue_StringValue{StringValue: long}}}}}}},
			{Key: "b", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: i%2 == 0}}},
			str("empty", ""), str(long, long),
			{Key: "none", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{}}}}}
		switch i {
		case 1:
			rec.parentID, sp.ParentSpanId = mustHex(RewriteSpanID("p")), mustHex(RewriteSpanID("p"))
		case 2:
			rec.name, sp.Name = "", ""
			rec.start, sp.StartTimeUnixNano = 0, 0
		}
		want, err := proto.Marshal(sp)
		if err != nil {
			t.Fatal(err)
		}
		if got := rec.appendTo(nil); !bytes.Equal(got, want) || rec.size() != len(want) {
			t.Errorf("span %d: hand encoding (size %d)\n%x\nproto.Marshal\n%x", i, rec.size(), got, want)
		}
		spans = append(spans, sp)
		if err := b.add("f", int64(i), rec, "t", "s"); err != nil {
			t.Fatal(err)
		}
		if err := nb.add("f", int64(i), rec, "t", "s"); err != nil {
			t.Fatal(err)
		}
	}
	want, _ := proto.Marshal(&tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{Resource: &resourcepb.Resource{},
		ScopeSpans: []*tracepb.ScopeSpans{{Scope: &commonpb.InstrumentationScope{Name: ScopeName, Version: "1"}, Spans: spans}}}}})
	var got, exp tracepb.TracesData
	if err := proto.Unmarshal(b.encode(), &got); err != nil {
		t.Fatal(err)
	}
	_ = proto.Unmarshal(want, &exp)
	if !proto.Equal(&got, &exp) {
		t.Fatalf("encoded batch differs from proto.Marshal")
	}
	if !bytes.Equal(nb.encode(), b.encode()) || nb.spanBytes() != b.spanBytes() {
		t.Errorf("a batch with header room encodes differently")
	}
	if len(b.segs) != 1 || b.segs[0].From != 0 || b.segs[0].To != 4 {
		t.Errorf("segments %+v, want rows [0,4) of f", b.segs)
	}
}

// Strings that protobuf cannot carry fail the span, as proto.Marshal does.
func TestSpanInvalidUTF8(t *testing.T) {
	for _, build := range []func(r *spanRec){
		func(r *spanRec) { r.str("k", "a\xff") },
		func(r *spanRec) { r.str("k\xff", "v") },
		func(r *spanRec) { r.list("tags", []string{"ok", "\xc3"}) },
		func(r *spanRec) { r.checkUTF8("span name", "\xff", "\xff") },
	} {
		r := &spanRec{traceID: mustHex(RewriteTraceID("t")), spanID: mustHex(RewriteSpanID("s"))}
		build(r)
		var b spanBatch
		if err := b.add("f", 0, r, "t", "s"); err == nil {
			t.Errorf("invalid UTF-8 accepted: %x", r.attrs)
		}
	}
}

func TestLedgerResume(t *testing.T) {
	ctx := context.Background()
	b := bucket.NewMemory()
	l, err := openLedger(ctx, b, "imp/")
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(l.write(ctx, entry{K: "intent", Kind: "observations", Key: "k1", Probe: []string{"a", "b"}}))
	must(l.write(ctx, entry{K: "rows", File: "f", From: 0, To: 10, Key: "k1"}, entry{K: "rows", File: "f", From: 10, To: 20}))
	must(l.write(ctx, entry{K: "intent", Kind: "observations", Key: "k2"}))
	must(l.write(ctx, entry{K: "id", Kind: "score_configs", Src: "s", Dst: "d"}))
	for i := 0; i < compactAfter+5; i++ {
		must(l.write(ctx, entry{K: "rows", File: "g", From: int64(i * 2), To: int64(i*2 + 1)}))
	}
	r, err := openLedger(ctx, b, "imp/")
	if err != nil {
		t.Fatal(err)
	}
	if !r.accepted("f", 19) || r.accepted("f", 20) || r.acceptedRows("f") != 20 {
		t.Errorf("ranges of f: %v", r.rows["f"])
	}
	if _, open := r.intent("k1"); open {
		t.Error("completed intent k1 is still open")
	}
	if _, open := r.intent("k2"); !open {
		t.Error("intent k2 without completion must stay open after a restart")
	}
	if d, ok := r.id("score_configs", "s"); !ok || d != "d" {
		t.Errorf("id mapping lost: %q %v", d, ok)
	}
	if len(r.segs) != 1 {
		t.Errorf("%d segments after compaction, want 1", len(r.segs))
	}
	again, err := openLedger(ctx, b, "imp/")
	if err != nil || again.acceptedRows("g") != compactAfter+5 {
		t.Fatalf("after compaction: %v rows of g, %v", again.acceptedRows("g"), err)
	}
}

func TestTraceSpill(t *testing.T) {
	in, empty, meta := `{"q":"é"}`, "", strings.Repeat("m", 300)
	for _, p := range []tracePayload{{}, {Input: &in}, {Output: &empty, Metadata: &meta}, {Input: &in, Output: &in, Metadata: &meta}} {
		b := appendSpill(nil, p)
		got, err := parseSpill(b)
		if err != nil {
			t.Fatal(err)
		}
		for i, pair := range [][2]*string{{p.Input, got.Input}, {p.Output, got.Output}, {p.Metadata, got.Metadata}} {
			if (pair[0] == nil) != (pair[1] == nil) || pair[0] != nil && *pair[0] != *pair[1] {
				t.Errorf("field %d of %+v did not survive the spill", i, p)
			}
		}
		for n := range b {
			if _, err := parseSpill(b[:n]); err == nil {
				t.Errorf("%d of %d bytes of a spilled payload parsed", n, len(b))
			}
		}
	}
}

// numberObject writes what json.Marshal writes.
func TestNumberObjectMatchesJSON(t *testing.T) {
	floats := []float64{0, math.Copysign(0, -1), 1, -1, 0.5, 1e-6, 9.99e-7, 1e-7, 1.5e-10, 1e20, 1e21, 123456789.125, -2.5e-300, 5e-324, 1.7976931348623157e308,
		0.1 + 0.2, 3.14159, 1e-5, math.NaN(), math.Inf(1), math.Inf(-1)}
	keys := []string{"input", "output", "total", "", "a<b", "é", "x\"y", "back\\slash", "tab\t", "input_cached_tokens", "&", "\xff"}
	for i := range 400 {
		mf, mi := map[string]float64{}, map[string]int64{}
		for j := range 1 + i%5 {
			k := keys[(i*7+j*3)%len(keys)]
			if i < 200 {
				k = keys[(i+j)%4]
			}
			mf[k] = floats[(i*5+j)%len(floats)]
			mi[k] = int64(i*j*7919) - 5000
		}
		want, _ := json.Marshal(mf)
		if got := numberObject(mf, appendJSONFloat); got != string(want) {
			t.Errorf("float map %v: %s, json.Marshal %s", mf, got, want)
		}
		want, _ = json.Marshal(mi)
		if got := numberObject(mi, func(b []byte, v int64) []byte { return strconv.AppendInt(b, v, 10) }); got != string(want) {
			t.Errorf("int map %v: %s, json.Marshal %s", mi, got, want)
		}
	}
	for _, typ := range []string{"SPAN", "GENERATION", "EVENT", "AGENT", "TOOL", "CHAIN", "RETRIEVER", "EVALUATOR", "EMBEDDING", "GUARDRAIL", "Other"} {
		if lowerType(typ) != strings.ToLower(typ) {
			t.Errorf("lowerType(%s) = %s", typ, lowerType(typ))
		}
	}
}

// Version references follow the versions' new numbers; label references,
// unknown prompts and malformed tags stay.
func TestRewritePromptRefs(t *testing.T) {
	dest := func(name string, v int) (int, bool) {
		if name == "base" {
			return v + 3, true
		}
		return 0, false
	}
	in := `"Use @@@langfusePrompt:name=base|version=2@@@ and @@@langfusePrompt:name=base|label=production@@@, ` +
		`@@@langfusePrompt:name=other|version=1@@@, @@@langfusePrompt:version=1|name=base@@@, @@@langfusePrompt:name=base|version=1@@@"`
	want := `"Use @@@langfusePrompt:name=base|version=5@@@ and @@@langfusePrompt:name=base|label=production@@@, ` +
		`@@@langfusePrompt:name=other|version=1@@@, @@@langfusePrompt:version=1|name=base@@@, @@@langfusePrompt:name=base|version=4@@@"`
	if got := rewritePromptRefs(in, dest); got != want {
		t.Errorf("rewritePromptRefs\n got %s\nwant %s", got, want)
	}
}

// TestRowLog: rows recorded through a rowLog, from several goroutines and
// out of order, land in a segment per rowLogBatch rows (adjacent rows as
// one range) and are all accepted after a restart; media wrote a segment
// per row (issue 11).
func TestRowLog(t *testing.T) {
	ctx := context.Background()
	b := bucket.NewMemory()
	l, err := openLedger(ctx, b, "imp/")
	if err != nil {
		t.Fatal(err)
	}
	r := &rowLog{led: l, kind: "media"}
	const n = 3*rowLogBatch + 7
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := n - 1 - w; i >= 0; i -= 4 {
				file := "a"
				if i%3 == 0 {
					file = "b"
				}
				if err := r.add(ctx, file, int64(i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	before := len(l.segs)
	if err := r.flush(ctx); err != nil {
		t.Fatal(err)
	}
	if before != 3 || len(l.segs) != 4 {
		t.Errorf("%d segments before the flush and %d after, want 3 and 4", before, len(l.segs))
	}
	if err := r.flush(ctx); err != nil || len(l.segs) != 4 {
		t.Errorf("an empty flush wrote a segment (%d) or failed: %v", len(l.segs), err)
	}
	again, err := openLedger(ctx, b, "imp/")
	if err != nil {
		t.Fatal(err)
	}
	for i := range int64(n) {
		file := "a"
		if i%3 == 0 {
			file = "b"
		}
		if !again.accepted(file, i) {
			t.Fatalf("row %d of %s not accepted after a restart", i, file)
		}
	}
	if again.accepted("a", n) || again.acceptedRows("a")+again.acceptedRows("b") != n {
		t.Errorf("%d + %d rows accepted, want %d", again.acceptedRows("a"), again.acceptedRows("b"), n)
	}
}
