package lftest_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/lakefuse/lakefuse/internal/lftest"
	"github.com/lakefuse/lakefuse/internal/lftest/lftesting"
)

// send makes a write request and returns status and body.
func (c *client) send(method, path, contentType string, header map[string]string, body []byte) (int, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.SetBasicAuth(c.pk, c.sk)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// post sends v as JSON and decodes the answer, failing unless the status is want.
func (c *client) post(method, path string, v any, want int) map[string]any {
	c.t.Helper()
	b, _ := json.Marshal(v)
	st, body := c.send(method, path, "application/json", nil, b)
	if st != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, st, want, body)
	}
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	return m
}

func strAttr(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

func boolAttr(k string, v bool) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: v}}}
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

func newWriteServer(t *testing.T, mode lftest.Mode) (*lftest.Server, *client, lftesting.Keys) {
	t.Helper()
	s := lftesting.NewServer(t, lftest.Options{Mode: mode})
	id, pk, sk := s.AddProject("dest")
	k := lftesting.Keys{ProjectID: id, PublicKey: pk, SecretKey: sk}
	return s, newClient(t, s, k), k
}

func otlpRequest(spans ...*tracepb.Span) []byte {
	req := &tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{},
		ScopeSpans: []*tracepb.ScopeSpans{{
			Scope: &commonpb.InstrumentationScope{Name: "langfuse-sdk-test", Version: "1"},
			Spans: spans,
		}},
	}}}
	b, err := proto.Marshal(req)
	if err != nil {
		panic(err)
	}
	return b
}

func TestOTLPProtobufMapping(t *testing.T) {
	for _, mode := range []lftest.Mode{lftest.V4, lftest.V3} {
		t.Run(mode.String(), func(t *testing.T) {
			s, c, k := newWriteServer(t, mode)
			traceID, _ := hex.DecodeString("0123456789abcdef0123456789abcdef")
			rootID, _ := hex.DecodeString("1111111111111111")
			childID, _ := hex.DecodeString("2222222222222222")
			start := time.Date(2026, 3, 1, 10, 0, 0, 123456789, time.UTC)
			trace := []*commonpb.KeyValue{strAttr("langfuse.trace.name", "chat"), strAttr("langfuse.user.id", "u1"),
				strAttr("langfuse.session.id", "s1"), strAttr("langfuse.release", "r1"),
				{Key: "langfuse.trace.tags", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{
					Values: []*commonpb.AnyValue{{Value: &commonpb.AnyValue_StringValue{StringValue: "a"}}, {Value: &commonpb.AnyValue_StringValue{StringValue: "タグ"}}}}}}},
				boolAttr("langfuse.trace.public", true), strAttr("langfuse.trace.metadata", `{"tk":"tv"}`),
				strAttr("langfuse.trace.input", `{"q":1}`), strAttr("langfuse.trace.output", `"done"`),
				strAttr("langfuse.environment", "Langfuse-Production")}
			root := &tracepb.Span{TraceId: traceID, SpanId: rootID, Name: "agent-run",
				StartTimeUnixNano: uint64(start.UnixNano()), EndTimeUnixNano: uint64(start.Add(2 * time.Second).UnixNano()),
				Attributes: append([]*commonpb.KeyValue{strAttr("langfuse.observation.type", "agent"),
					strAttr("langfuse.observation.input", `{"q":1}`), strAttr("langfuse.observation.output", "plain text"),
					strAttr("langfuse.version", "v7")}, trace...)}
			child := &tracepb.Span{TraceId: traceID, SpanId: childID, ParentSpanId: rootID, Name: "llm",
				StartTimeUnixNano: uint64(start.Add(time.Millisecond).UnixNano()), EndTimeUnixNano: uint64(start.Add(time.Second).UnixNano()),
				Status: &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "boom"},
				Attributes: append([]*commonpb.KeyValue{strAttr("langfuse.observation.type", "generation"),
					strAttr("langfuse.observation.model.name", "gpt-4o"), strAttr("langfuse.observation.model.parameters", `{"temperature":0.5,"stop":["x"]}`),
					strAttr("langfuse.observation.usage_details", `{"input":10,"output":5,"total":15}`),
					strAttr("langfuse.observation.cost_details", `{"total":0.25}`),
					strAttr("langfuse.observation.completion_start_time", `"2026-03-01T10:00:00.500Z"`),
					strAttr("langfuse.observation.metadata", `{"k":"v"}`), strAttr("langfuse.observation.metadata.n", "3"),
					strAttr("langfuse.observation.prompt.name", "p"), strAttr("langfuse.observation.prompt.version", "2")}, trace...)}
			body := gz(otlpRequest(root, child))
			hdr := map[string]string{"Content-Encoding": "gzip", "x-langfuse-ingestion-version": "4"}
			for i := 0; i < 2; i++ { // sent twice: v4 does not deduplicate
				if st, b := c.send("POST", "/api/public/otel/v1/traces", "application/x-protobuf", hdr, body); st != 200 || string(b) != "{}" {
					t.Fatalf("OTLP: %d %s", st, b)
				}
			}
			p := s.Project(k.ProjectID)
			if n := p.Counts().Observations; n != 4 {
				t.Fatalf("observations = %d, want 4 (no deduplication)", n)
			}
			var gen, agent *lftest.Observation
			p.EachObservation(func(o *lftest.Observation, _ *lftest.Trace) bool {
				switch o.Type {
				case lftest.TypeGeneration:
					gen = o
				case lftest.TypeAgent:
					agent = o
				}
				return true
			})
			if gen == nil || agent == nil {
				t.Fatal("types not kept")
			}
			if !agent.StartTime.Equal(start.Truncate(time.Millisecond)) || agent.ParentObservationID != "" {
				t.Errorf("root start %v parent %q", agent.StartTime, agent.ParentObservationID)
			}
			if gen.ParentObservationID != "1111111111111111" || gen.Level != lftest.LevelError || *gen.StatusMessage != "boom" {
				t.Errorf("child: parent %q level %s", gen.ParentObservationID, gen.Level)
			}
			if *gen.Model != "gpt-4o" || gen.UsageDetails["total"] != 15 || gen.CostDetails["total"] != 0.25 || *gen.PromptName != "p" || *gen.PromptVersion != 2 {
				t.Errorf("generation fields: %+v", gen)
			}
			if gen.CompletionStartTime == nil || gen.CompletionStartTime.Format(time.RFC3339Nano) != "2026-03-01T10:00:00.5Z" {
				t.Errorf("completion start %v", gen.CompletionStartTime)
			}
			if gen.Environment != "production" {
				t.Errorf("environment %q, want production (normalised)", gen.Environment)
			}
			if txt, _ := agent.Output.Text(); txt != "plain text" {
				t.Errorf("output %q", txt)
			}
			md, _ := gen.Metadata.Text()
			var m map[string]any
			_ = json.Unmarshal([]byte(md), &m)
			switch mode {
			case lftest.V4:
				// v4 flattens nested metadata into dotted string keys
				// (packages/shared/src/server/otel/utils.ts).
				if m["k"] != "v" || m["n"] != "3" || m["scope.name"] == nil || m["scope"] != nil || m["attributes"] != nil {
					t.Errorf("metadata %s", md)
				}
			default:
				if m["k"] != "v" || m["n"] != float64(3) || m["scope"] == nil || m["resourceAttributes"] == nil || m["attributes"] != nil {
					t.Errorf("metadata %s", md)
				}
			}
			if (mode == lftest.V4) != (m["tk"] == "tv") {
				t.Errorf("trace metadata merged into observation metadata only on v4: %s", md)
			}
			tr := p.Trace("0123456789abcdef0123456789abcdef")
			if tr == nil || *tr.Name != "chat" || *tr.UserID != "u1" || *tr.SessionID != "s1" || !tr.Public || len(tr.Tags) != 2 {
				t.Fatalf("trace %+v", tr)
			}
			// v3: the child's trace update comes later and has no
			// langfuse.version, so the trace version becomes null (h_legacy.go).
			if mode == lftest.V4 && (tr.Version == nil || *tr.Version != "v7") || mode == lftest.V3 && tr.Version != nil {
				t.Errorf("trace version %v", tr.Version)
			}
			if in, _ := tr.Input.Text(); in != `{"q":1}` {
				t.Errorf("trace input %q", in)
			}
		})
	}
}

func TestOTLPJSONAndRefusals(t *testing.T) {
	s, c, k := newWriteServer(t, lftest.V4)
	js := `{"resourceSpans":[{"resource":{"attributes":[]},"scopeSpans":[{"scope":{"name":"x"},"spans":[
	 {"traceId":"trace-Not-Hex","spanId":"span-1","name":"s","startTimeUnixNano":"1772359200000000000","endTimeUnixNano":"1772359201000000000",
	  "attributes":[{"key":"gen_ai.request.model","value":{"stringValue":"m"}},{"key":"custom.attr","value":{"intValue":7}}]}]}]}]}`
	if st, b := c.send("POST", "/api/public/otel/v1/traces", "application/json", nil, []byte(js)); st != 200 {
		t.Fatalf("JSON OTLP: %d %s", st, b)
	}
	p := s.Project(k.ProjectID)
	var got *lftest.Observation
	p.EachObservation(func(o *lftest.Observation, _ *lftest.Trace) bool { got = o; return false })
	if got == nil || got.ID != "span-1" || got.TraceID != "trace-Not-Hex" || got.Type != lftest.TypeGeneration {
		t.Fatalf("JSON ids must pass verbatim, model attr makes a generation: %+v", got)
	}
	md, _ := got.Metadata.Text()
	if !strings.Contains(md, `"attributes.custom.attr":"7"`) { // flattened on v4
		t.Errorf("unmapped attributes kept under metadata.attributes: %s", md)
	}
	// Requests the spec refuses, on a server without validation.
	s2 := lftest.NewServer(lftest.Options{})
	t.Cleanup(s2.Close)
	id2, pk2, sk2 := s2.AddProject("refusals")
	c = newClient(t, s2, lftesting.Keys{ProjectID: id2, PublicKey: pk2, SecretKey: sk2})
	bad := otlpRequest(&tracepb.Span{SpanId: []byte{1, 2, 3, 4, 5, 6, 7, 8}, Name: "no trace id"})
	if st, _ := c.send("POST", "/api/public/otel/v1/traces", "application/x-protobuf", nil, bad); st != 400 {
		t.Errorf("missing trace id: status %d, want 400", st)
	}
	if st, _ := c.send("POST", "/api/public/otel/v1/traces", "text/plain", nil, []byte("x")); st != 400 {
		t.Errorf("text/plain: status %d, want 400", st)
	}
	if st, _ := c.send("POST", "/api/public/otel/v1/traces", "application/json", map[string]string{"x-langfuse-ingestion-version": "5"}, []byte(js)); st != 400 {
		t.Errorf("ingestion version 5: status %d, want 400", st)
	}
	if n := s2.Project(id2).Counts().Observations; n != 0 {
		t.Errorf("refused requests stored spans: %d observations", n)
	}
}

func TestIngestionScores(t *testing.T) {
	s, c, k := newWriteServer(t, lftest.V4)
	cfg := c.post("POST", "/api/public/score-configs", map[string]any{"name": "quality", "dataType": "CATEGORICAL",
		"categories": []map[string]any{{"value": 1, "label": "good"}, {"value": 0, "label": "bad"}}}, 200)
	ts := "2025-01-02T03:04:05.678Z"
	batch := map[string]any{"batch": []any{
		map[string]any{"id": "e1", "type": "score-create", "timestamp": ts, "body": map[string]any{"id": "score-1", "traceId": "t1",
			"name": "quality", "value": "good", "configId": cfg["id"], "source": "ANNOTATION", "environment": "prod"}},
		map[string]any{"id": "e2", "type": "score-create", "timestamp": ts, "body": map[string]any{"id": "score-2", "traceId": "t1",
			"name": "x", "value": 1, "configId": "missing"}},
		map[string]any{"id": "e3", "type": "trace-create", "timestamp": ts, "body": map[string]any{"id": "t1"}},
		map[string]any{"id": "e4", "type": "score-create", "timestamp": ts, "body": map[string]any{"id": "score-3", "observationId": "o1",
			"traceId": "t1", "name": "ok", "value": 1, "dataType": "BOOLEAN"}},
	}}
	for i := 0; i < 2; i++ {
		r := c.post("POST", "/api/public/ingestion", batch, 207)
		// score-2 (unknown config) is accepted and then dropped by the worker.
		if len(r["successes"].([]any)) != 3 || len(r["errors"].([]any)) != 1 {
			t.Fatalf("207 body %v", r)
		}
	}
	scores := s.Project(k.ProjectID).Scores()
	if len(scores) != 2 {
		t.Fatalf("scores = %d, want 2 (upsert by id)", len(scores))
	}
	sc := scores[0]
	if sc.ID != "score-1" || sc.Timestamp.Format(time.RFC3339Nano) != "2025-01-02T03:04:05.678Z" || sc.Source != "ANNOTATION" ||
		sc.Value != 1 || *sc.StringValue != "good" || sc.Environment != "prod" {
		t.Errorf("score %+v", sc)
	}
	if *scores[1].StringValue != "True" {
		t.Errorf("boolean string value %v", *scores[1].StringValue)
	}
}

// TestIngestionScoresWorkerDrops: what validateAndInflateScore refuses is
// answered 207 success and not stored; the config's name replaces the body's.
func TestIngestionScoresWorkerDrops(t *testing.T) {
	s, c, k := newWriteServer(t, lftest.V4)
	cat := c.post("POST", "/api/public/score-configs", map[string]any{"name": "quality", "dataType": "CATEGORICAL",
		"categories": []map[string]any{{"value": 1, "label": "good"}, {"value": 0, "label": "bad"}}}, 200)["id"]
	num := c.post("POST", "/api/public/score-configs", map[string]any{"name": "stars", "dataType": "NUMERIC", "minValue": 1, "maxValue": 5}, 200)["id"]
	arch := c.post("POST", "/api/public/score-configs", map[string]any{"name": "old", "dataType": "NUMERIC"}, 200)["id"].(string)
	c.post("PATCH", "/api/public/score-configs/"+arch, map[string]any{"isArchived": true}, 200)
	ts := "2025-01-02T03:04:05.678Z"
	ev := func(id string, body map[string]any) map[string]any {
		body["id"], body["traceId"] = id, "t1"
		return map[string]any{"id": "e-" + id, "type": "score-create", "timestamp": ts, "body": body}
	}
	batch := map[string]any{"batch": []any{
		ev("archived", map[string]any{"name": "old", "value": 1, "configId": arch}),
		ev("unknown-config", map[string]any{"name": "x", "value": 1, "configId": "nope"}),
		ev("type-mismatch", map[string]any{"name": "stars", "value": 1, "dataType": "BOOLEAN", "configId": num}),
		ev("above-max", map[string]any{"name": "stars", "value": 6, "configId": num}),
		ev("below-min", map[string]any{"name": "stars", "value": 0.5, "configId": num}),
		ev("bad-label", map[string]any{"name": "quality", "value": "meh", "configId": cat}),
		ev("annotation-no-config", map[string]any{"name": "q", "value": 1, "source": "ANNOTATION"}),
		ev("correction-on-session", map[string]any{"name": "output", "value": "fixed", "dataType": "CORRECTION", "sessionId": "s1"}),
		ev("renamed", map[string]any{"name": "not-the-config-name", "value": 3, "configId": num, "source": "ANNOTATION"}),
		ev("correction-annotation", map[string]any{"name": "output", "value": "fixed", "dataType": "CORRECTION", "source": "ANNOTATION"}),
		ev("label", map[string]any{"name": "quality", "value": "bad", "configId": cat}),
	}}
	r := c.post("POST", "/api/public/ingestion", batch, 207)
	if len(r["successes"].([]any)) != 11 || len(r["errors"].([]any)) != 0 {
		t.Fatalf("207 body %v", r)
	}
	got := map[string]*lftest.Score{}
	for _, sc := range s.Project(k.ProjectID).Scores() {
		got[sc.ID] = sc
	}
	if len(got) != 3 || got["renamed"] == nil || got["correction-annotation"] == nil || got["label"] == nil {
		t.Fatalf("stored %v, want renamed, correction-annotation and label", got)
	}
	if got["renamed"].Name != "stars" || got["renamed"].Value != 3 {
		t.Errorf("renamed = %+v, want the config's name", got["renamed"])
	}
	if got["label"].Value != 0 || got["label"].DataType != "CATEGORICAL" {
		t.Errorf("label = %+v", got["label"])
	}
	// What the schema refuses synchronously stays a per-event error.
	r = c.post("POST", "/api/public/ingestion", map[string]any{"batch": []any{
		ev("long-text", map[string]any{"name": "t", "value": strings.Repeat("x", 501), "dataType": "TEXT"}),
		ev("correction-config", map[string]any{"name": "t", "value": "x", "dataType": "CORRECTION", "configId": cat}),
	}}, 207)
	if len(r["errors"].([]any)) != 2 {
		t.Errorf("207 body %v, want 2 errors", r)
	}
}

func TestCreateEndpoints(t *testing.T) {
	for _, mode := range []lftest.Mode{lftest.V4, lftest.V3} {
		t.Run(mode.String(), func(t *testing.T) {
			s, c, k := newWriteServer(t, mode)
			p := s.Project(k.ProjectID)
			cfg := c.post("POST", "/api/public/score-configs", map[string]any{"name": "helpful", "dataType": "BOOLEAN"}, 200)
			c.post("PATCH", "/api/public/score-configs/"+cfg["id"].(string), map[string]any{"isArchived": true}, 200)
			if !p.ScoreConfigs()[0].IsArchived || len(p.ScoreConfigs()[0].Categories) != 2 {
				t.Error("config not archived or boolean categories missing")
			}
			c.post("POST", "/api/public/score-configs", map[string]any{"name": strings.Repeat("x", 36), "dataType": "NUMERIC"}, 400)
			m := c.post("POST", "/api/public/models", map[string]any{"modelName": "ft", "matchPattern": "(?i)^ft$", "unit": "TOKENS",
				"pricingTiers": []any{map[string]any{"name": "Standard", "isDefault": true, "priority": 0, "conditions": []any{}, "prices": map[string]any{"input": 1e-6}}}}, 200)
			if m["id"] == "" || len(p.Models()) != 1 {
				t.Error("model not created")
			}

			// Prompts: server-assigned versions, labels move, dependencies must exist.
			c.post("POST", "/api/public/v2/prompts", map[string]any{"name": "main", "prompt": "uses @@@langfusePrompt:name=base|version=1@@@"}, 404)
			v1 := c.post("POST", "/api/public/v2/prompts", map[string]any{"name": "base", "prompt": "hello", "labels": []string{"production"}, "tags": []string{"t"}}, 200)
			v2 := c.post("POST", "/api/public/v2/prompts", map[string]any{"name": "base", "prompt": "hello 2", "labels": []string{"production"}}, 200)
			if v1["version"] != float64(1) || v2["version"] != float64(2) {
				t.Errorf("versions %v %v", v1["version"], v2["version"])
			}
			c.post("POST", "/api/public/v2/prompts", map[string]any{"name": "main", "prompt": "uses @@@langfusePrompt:name=base|version=1@@@"}, 200)
			c.post("POST", "/api/public/v2/prompts", map[string]any{"name": "base", "type": "chat", "prompt": []any{}}, 400)
			c.post("PATCH", "/api/public/v2/prompts/base/versions/1", map[string]any{"newLabels": []string{"production"}}, 200)
			for _, v := range p.Prompts() {
				if v.Name == "base" && (v.Version == 1) != (strings.Contains(strings.Join(v.Labels, ","), "production")) {
					t.Errorf("base v%d labels %v", v.Version, v.Labels)
				}
				if v.Name == "base" && (len(v.Tags) != 1 || v.Tags[0] != "t") {
					t.Errorf("base v%d tags %v: tags belong to the prompt", v.Version, v.Tags)
				}
			}

			// Datasets upsert by name, items by id.
			d1 := c.post("POST", "/api/public/v2/datasets", map[string]any{"name": "ds", "description": "a"}, 200)
			d2 := c.post("POST", "/api/public/v2/datasets", map[string]any{"name": "ds", "description": "b"}, 200)
			if d1["id"] != d2["id"] || len(p.Datasets()) != 1 || *p.Datasets()[0].Description != "b" {
				t.Error("dataset not upserted by name")
			}
			for i := 0; i < 2; i++ {
				c.post("POST", "/api/public/dataset-items", map[string]any{"datasetName": "ds", "id": "item-1", "input": map[string]any{"i": i}}, 200)
			}
			if len(p.DatasetItems()) != 1 {
				t.Error("dataset item not upserted by id")
			}
			c.post("POST", "/api/public/dataset-items", map[string]any{"datasetName": "missing", "id": "x"}, 404)
			created := "2025-05-05T05:05:05.000Z"
			ri := c.post("POST", "/api/public/dataset-run-items", map[string]any{"runName": "run-a", "datasetItemId": "item-1", "traceId": "t1", "createdAt": created}, 200)
			if mode == lftest.V3 {
				if len(p.DatasetRunItems()) != 1 || ri["createdAt"] != created {
					t.Errorf("v3 run item: %v", ri)
				}
			} else if len(p.DatasetRunItems()) != 0 || ri["datasetRunId"] != lftest.ExperimentID(k.ProjectID, d1["id"].(string), "run-a") {
				t.Errorf("v4 run item must be synthetic: %v", ri)
			}

			// Comments need their object; queues need configs.
			c.post("POST", "/api/public/comments", map[string]any{"projectId": k.ProjectID, "objectType": "TRACE", "objectId": "nope", "content": "x"}, 404)
			c.post("POST", "/api/public/comments", map[string]any{"projectId": k.ProjectID, "objectType": "PROMPT", "objectId": v1["id"], "content": "nice"}, 200)
			q := c.post("POST", "/api/public/annotation-queues", map[string]any{"name": "q", "scoreConfigIds": []any{cfg["id"]}}, 200)
			c.post("POST", "/api/public/annotation-queues/"+q["id"].(string)+"/items", map[string]any{"objectId": "t1", "objectType": "TRACE", "status": "COMPLETED"}, 200)
			if n := p.Counts(); n.Comments != 1 || n.AnnotationQueueItems != 1 {
				t.Errorf("counts %+v", n)
			}

			// Media: register, PUT with checksum, PATCH; the id comes from the bytes.
			data := []byte("png bytes")
			sum := sha256.Sum256(data)
			h := base64.StdEncoding.EncodeToString(sum[:])
			up := c.post("POST", "/api/public/media", map[string]any{"traceId": "t1", "contentType": "image/png", "contentLength": len(data), "sha256Hash": h, "field": "input"}, 200)
			if up["mediaId"] != lftest.MediaID(data) {
				t.Fatalf("media id %v, want %s", up["mediaId"], lftest.MediaID(data))
			}
			req, _ := http.NewRequest(http.MethodPut, up["uploadUrl"].(string), bytes.NewReader(data))
			req.Header.Set("Content-Type", "image/png")
			req.Header.Set("x-amz-checksum-sha256", h)
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("upload: %v %v", err, resp)
			}
			resp.Body.Close()
			if st, b := c.send("PATCH", "/api/public/media/"+lftest.MediaID(data), "application/json", nil,
				[]byte(`{"uploadedAt":"2026-01-01T00:00:00Z","uploadHttpStatus":200}`)); st != 204 {
				t.Fatalf("patch media: %d %s", st, b)
			}
			again := c.post("POST", "/api/public/media", map[string]any{"traceId": "t1", "contentType": "image/png", "contentLength": len(data), "sha256Hash": h, "field": "input"}, 200)
			if again["uploadUrl"] != nil {
				t.Error("media already uploaded must answer uploadUrl null")
			}
		})
	}
}

// TestModelUnitRequired: POST /api/public/models needs a unit, as the real
// PostModelsV1Body does, although the spec marks it nullable.
func TestModelUnitRequired(t *testing.T) {
	_, c, _ := newWriteServer(t, lftest.V4)
	c.post("POST", "/api/public/models", map[string]any{"modelName": "ft", "matchPattern": "(?i)^ft$", "inputPrice": 1}, 400)
	c.post("POST", "/api/public/models", map[string]any{"modelName": "ft", "matchPattern": "(?i)^ft$", "unit": "TOKENS"}, 200)
}

// TestMediaAzureAndEmpty: an Azure-style upload URL refuses a PUT without
// x-ms-blob-type: BlockBlob; contentLength 0 is refused.
func TestMediaAzureAndEmpty(t *testing.T) {
	s := lftesting.NewServer(t, lftest.Options{Mode: lftest.V4, AzureMedia: true})
	id, pk, sk := s.AddProject("dest")
	c := newClient(t, s, lftesting.Keys{ProjectID: id, PublicKey: pk, SecretKey: sk})
	data := []byte("png bytes")
	sum := sha256.Sum256(data)
	h := base64.StdEncoding.EncodeToString(sum[:])
	c.post("POST", "/api/public/media", map[string]any{"traceId": "t1", "contentType": "image/png", "contentLength": 0,
		"sha256Hash": h, "field": "input"}, 400)
	up := c.post("POST", "/api/public/media", map[string]any{"traceId": "t1", "contentType": "image/png", "contentLength": len(data),
		"sha256Hash": h, "field": "input"}, 200)
	put := func(blobType string) int {
		req, _ := http.NewRequest(http.MethodPut, up["uploadUrl"].(string), bytes.NewReader(data))
		req.Header.Set("Content-Type", "image/png")
		if blobType != "" {
			req.Header.Set("x-ms-blob-type", blobType)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := put(""); st != 400 {
		t.Errorf("PUT without x-ms-blob-type: %d, want 400", st)
	}
	if st := put("BlockBlob"); st != 200 {
		t.Errorf("PUT with x-ms-blob-type: %d, want 200", st)
	}
}
