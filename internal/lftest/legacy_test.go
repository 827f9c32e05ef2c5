package lftest_test

import (
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/lakefuse/lakefuse/internal/lftest"
)

// A v3 server merges the trace-create events its spans make, in the order
// of their start times: a later child with trace attributes but no
// langfuse.version sets the version to null, the root's event absorbs the
// root observation's metadata and gives the trace the root's input when it
// has none of its own. A trace-create event sent afterwards wins, nulls
// included, but cannot remove metadata keys or clear the input.
func TestV3TraceEvents(t *testing.T) {
	s, c, k := newWriteServer(t, lftest.V3)
	traceHex := "0123456789abcdef0123456789abcdef"
	traceID, _ := hex.DecodeString(traceHex)
	rootID, _ := hex.DecodeString("1111111111111111")
	childID, _ := hex.DecodeString("2222222222222222")
	start := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	root := &tracepb.Span{TraceId: traceID, SpanId: rootID, Name: "root-span",
		StartTimeUnixNano: uint64(start.UnixNano()), EndTimeUnixNano: uint64(start.Add(time.Second).UnixNano()),
		Attributes: []*commonpb.KeyValue{strAttr("langfuse.version", "v1"), strAttr("langfuse.user.id", "u1"),
			strAttr("langfuse.trace.metadata", `{"tk":"tv"}`), strAttr("langfuse.observation.metadata", `{"ok":"ov"}`),
			strAttr("langfuse.observation.input", `{"q":1}`)}}
	child := &tracepb.Span{TraceId: traceID, SpanId: childID, ParentSpanId: rootID, Name: "child",
		StartTimeUnixNano: uint64(start.Add(time.Millisecond).UnixNano()), EndTimeUnixNano: uint64(start.Add(time.Second).UnixNano()),
		Attributes: []*commonpb.KeyValue{strAttr("langfuse.user.id", "u1")}}
	if st, b := c.send("POST", "/api/public/otel/v1/traces", "application/x-protobuf", nil, otlpRequest(root, child)); st != 200 {
		t.Fatalf("OTLP: %d %s", st, b)
	}
	p := s.Project(k.ProjectID)
	tr := p.Trace(traceHex)
	if tr == nil {
		t.Fatal("no trace")
	}
	if tr.Version != nil {
		t.Errorf("version %q, want null: the child's update came later without langfuse.version", *tr.Version)
	}
	if tr.Name == nil || *tr.Name != "root-span" {
		t.Errorf("name %v, want the root span's", tr.Name)
	}
	meta := map[string]any{}
	txt, _ := tr.Metadata.Text()
	_ = json.Unmarshal([]byte(txt), &meta)
	if meta["tk"] != "tv" || meta["ok"] != "ov" || meta["scope"] == nil || meta["resourceAttributes"] == nil {
		t.Errorf("trace metadata %s: want the trace's, the root observation's, scope and resourceAttributes", txt)
	}
	if in, _ := tr.Input.Text(); in != `{"q":1}` {
		t.Errorf("trace input %q, want the root observation's", in)
	}

	ev := `{"batch":[{"id":"e1","type":"trace-create","timestamp":"2026-03-02T00:00:00.000Z","body":{"id":"` + traceHex +
		`","name":null,"version":"v9","release":null,"public":true,"tags":["b","a"],"metadata":{"tk":"new"},"output":"done"}}]}`
	st, b := c.send("POST", "/api/public/ingestion", "application/json", nil, []byte(ev))
	if st != 207 || !strings.Contains(string(b), `"successes":[{`) {
		t.Fatalf("ingestion: %d %s", st, b)
	}
	tr = p.Trace(traceHex)
	if tr.Name != nil || tr.Version == nil || *tr.Version != "v9" || !tr.Public || strings.Join(tr.Tags, ",") != "a,b" || *tr.UserID != "u1" {
		t.Errorf("after trace-create: name %v version %v public %v tags %v user %v", tr.Name, tr.Version, tr.Public, tr.Tags, tr.UserID)
	}
	txt, _ = tr.Metadata.Text()
	meta = map[string]any{}
	_ = json.Unmarshal([]byte(txt), &meta)
	if meta["tk"] != "new" || meta["ok"] != "ov" {
		t.Errorf("metadata after trace-create %s: keys merge, none removed", txt)
	}
	if out, _ := tr.Output.Text(); out != "done" {
		t.Errorf("output %q", out)
	}
	if in, _ := tr.Input.Text(); in != `{"q":1}` {
		t.Errorf("input %q: a trace-create without input keeps it", in)
	}
}

// Langfuse v4 in events_only mode refuses legacy trace events
// (web/src/pages/api/public/ingestion.ts filterBatchForEventsOnly).
func TestV4RefusesTraceCreate(t *testing.T) {
	s, c, k := newWriteServer(t, lftest.V4)
	ev := `{"batch":[{"id":"e1","type":"trace-create","timestamp":"2026-03-02T00:00:00.000Z","body":{"id":"t1","name":"n"}}]}`
	st, b := c.send("POST", "/api/public/ingestion", "application/json", nil, []byte(ev))
	if st != 207 || !strings.Contains(string(b), `"errors":[{`) || s.Project(k.ProjectID).Trace("t1") != nil {
		t.Fatalf("ingestion: %d %s", st, b)
	}
}
