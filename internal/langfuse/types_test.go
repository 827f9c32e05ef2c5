package langfuse

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// wireTypes maps the Go wire types to their entries in testdata/spec_fields.json.
var wireTypes = map[string]reflect.Type{
	"ObservationV2": reflect.TypeFor[ObservationV2](), "ObservationV1": reflect.TypeFor[ObservationV1](),
	"Usage": reflect.TypeFor[Usage](), "Trace": reflect.TypeFor[Trace](), "TraceDetails": reflect.TypeFor[TraceDetails](),
	"SessionTrace": reflect.TypeFor[SessionTrace](), "Session": reflect.TypeFor[Session](),
	"SessionWithTraces": reflect.TypeFor[SessionWithTraces](), "ScoreV3": reflect.TypeFor[ScoreV3](),
	"ScoreSubject": reflect.TypeFor[ScoreSubject](), "ScoreV2": reflect.TypeFor[ScoreV2](), "ScoreTrace": reflect.TypeFor[ScoreTrace](),
	"ScoreV1": reflect.TypeFor[ScoreV1](), "ScoreConfig": reflect.TypeFor[ScoreConfig](),
	"ConfigCategory": reflect.TypeFor[ConfigCategory](), "PromptMeta": reflect.TypeFor[PromptMeta](),
	"Prompt": reflect.TypeFor[Prompt](), "ChatMessage": reflect.TypeFor[ChatMessage](), "Model": reflect.TypeFor[Model](),
	"ModelPrice": reflect.TypeFor[ModelPrice](), "PricingTier": reflect.TypeFor[PricingTier](), "Dataset": reflect.TypeFor[Dataset](),
	"DatasetItem": reflect.TypeFor[DatasetItem](), "DatasetItemMediaReference": reflect.TypeFor[DatasetItemMediaReference](),
	"MediaReferenceURL": reflect.TypeFor[MediaReferenceURL](), "DatasetRun": reflect.TypeFor[DatasetRun](),
	"DatasetRunWithItems": reflect.TypeFor[DatasetRunWithItems](), "DatasetRunItem": reflect.TypeFor[DatasetRunItem](),
	"Experiment": reflect.TypeFor[Experiment](), "ExperimentItem": reflect.TypeFor[ExperimentItem](),
	"Comment": reflect.TypeFor[Comment](), "AnnotationQueue": reflect.TypeFor[AnnotationQueue](),
	"AnnotationQueueItem": reflect.TypeFor[AnnotationQueueItem](), "Media": reflect.TypeFor[Media](),
	"Project": reflect.TypeFor[Project](), "Organization": reflect.TypeFor[Organization](), "Health": reflect.TypeFor[Health](),
	"IngestionResponse": reflect.TypeFor[IngestionResponse](), "IngestionSuccess": reflect.TypeFor[IngestionSuccess](),
	"IngestionError": reflect.TypeFor[IngestionError](), "MediaUploadResponse": reflect.TypeFor[MediaUploadResponse](),
	"Deprecation": reflect.TypeFor[Deprecation](), "IngestionEvent": reflect.TypeFor[IngestionEvent](),
	"CreateScoreConfigRequest": reflect.TypeFor[CreateScoreConfigRequest](),
	"UpdateScoreConfigRequest": reflect.TypeFor[UpdateScoreConfigRequest](),
	"CreateModelRequest":       reflect.TypeFor[CreateModelRequest](), "PricingTierInput": reflect.TypeFor[PricingTierInput](),
	"CreatePromptRequest": reflect.TypeFor[CreatePromptRequest](), "CreateDatasetRequest": reflect.TypeFor[CreateDatasetRequest](),
	"CreateDatasetItemRequest":         reflect.TypeFor[CreateDatasetItemRequest](),
	"CreateDatasetRunItemRequest":      reflect.TypeFor[CreateDatasetRunItemRequest](),
	"CreateCommentRequest":             reflect.TypeFor[CreateCommentRequest](),
	"CreateAnnotationQueueRequest":     reflect.TypeFor[CreateAnnotationQueueRequest](),
	"CreateAnnotationQueueItemRequest": reflect.TypeFor[CreateAnnotationQueueItemRequest](),
	"MediaUploadRequest":               reflect.TypeFor[MediaUploadRequest](), "PatchMediaRequest": reflect.TypeFor[PatchMediaRequest](),
	"ScoreBody": reflect.TypeFor[ScoreBody](),
}

// Spec members that may be absent or null but are plain values in Go, and why.
var plainOptional = map[string]string{
	"ChatMessage.role":         "a placeholder has no role; a message always has one",
	"ChatMessage.content":      "a placeholder has no content; a message always has one",
	"ChatMessage.name":         "only placeholders have a name",
	"CreatePromptRequest.type": "always sent: text or chat",
	"IngestionEvent.metadata":  "omitted when empty (json.RawMessage)",
}

// Go members beyond the spec, and why.
var beyondSpec = map[string]string{
	"Prompt.id":        "the whole prompt row is sent (PromptService/index.ts spreads the Prisma row)",
	"Prompt.projectId": "the whole prompt row is sent (PromptService/index.ts spreads the Prisma row)",
	"Prompt.createdAt": "the whole prompt row is sent (PromptService/index.ts spreads the Prisma row)",
	"Prompt.updatedAt": "the whole prompt row is sent (PromptService/index.ts spreads the Prisma row)",
	"Prompt.createdBy": "the whole prompt row is sent (PromptService/index.ts spreads the Prisma row)",
	"Prompt.isActive":  "promptNameHandler.ts adds it: labels include production",
	"ScoreBody.source": "the ingestion worker reads it (API, EVAL, ANNOTATION; NOTES.md §2 Scores); the spec omits it",
}

// TestWireTypesMatchSpec checks every wire type against the OpenAPI schema it mirrors: the
// same JSON members, and a pointer (or slice, map, RawMessage) wherever the spec allows
// absence or null.
func TestWireTypesMatchSpec(t *testing.T) {
	raw, err := os.ReadFile("testdata/spec_fields.json")
	if err != nil {
		t.Fatal(err)
	}
	var spec map[string]json.RawMessage
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	delete(spec, "_source")
	for name := range wireTypes {
		if _, ok := spec[name]; !ok {
			t.Errorf("%s has no entry in testdata/spec_fields.json", name)
		}
	}
	for name, entryRaw := range spec {
		var entry struct {
			Schema     string            `json:"schema"`
			Properties map[string]string `json:"properties"`
		}
		if err := json.Unmarshal(entryRaw, &entry); err != nil {
			t.Fatal(err)
		}
		typ, ok := wireTypes[name]
		if !ok {
			t.Errorf("spec entry %s has no Go type", name)
			continue
		}
		fields := structFields(typ)
		for prop, how := range entry.Properties {
			f, ok := fields[prop]
			if !ok {
				t.Errorf("%s lacks %q of schema %s", name, prop, entry.Schema)
				continue
			}
			if how == "required" || plainOptional[name+"."+prop] != "" {
				continue
			}
			switch f.Type.Kind() {
			case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
			default:
				if f.Type != reflect.TypeFor[ScoreValue]() {
					t.Errorf("%s.%s is %s in schema %s but a plain %s in Go", name, f.Name, how, entry.Schema, f.Type)
				}
			}
		}
		for member := range fields {
			if _, ok := entry.Properties[member]; !ok && beyondSpec[name+"."+member] == "" {
				t.Errorf("%s has %q, which schema %s does not define", name, member, entry.Schema)
			}
		}
	}
}

func structFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-":
		case f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct:
			for k, v := range structFields(f.Type) {
				out[k] = v
			}
		case f.IsExported():
			out[name] = f
		}
	}
	return out
}

func TestJSONFieldsMatchesStructFields(t *testing.T) {
	for name, typ := range wireTypes {
		got := jsonFields(typ)
		want := structFields(typ)
		if len(got) != len(want) {
			t.Errorf("%s: jsonFields has %d members, want %d", name, len(got), len(want))
		}
		for k := range want {
			if !got[k] {
				t.Errorf("%s: jsonFields lacks %q", name, k)
			}
		}
	}
}

const observationJSON = `{
 "id": "obs-1", "traceId": "t-1", "startTime": "2026-03-01T10:00:00.123456Z", "endTime": null,
 "projectId": "p", "parentObservationId": null, "type": "GENERATION",
 "name": "llm", "level": "DEFAULT", "statusMessage": null, "version": null, "environment": "default",
 "bookmarked": false, "public": false, "userId": "u", "sessionId": null, "isRootObservation": true,
 "completionStartTime": null, "createdAt": "2026-03-01T10:00:01Z", "updatedAt": "2026-03-01T10:00:02Z",
 "input": "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "output": null,
 "metadata": {"b": "2",   "a": "1"},
 "providedModelName": "gpt-4o", "internalModelId": "m", "modelParameters": {"temperature": 0.1},
 "usageDetails": {"input": 10, "output": 5, "total": 15}, "costDetails": {"total": 0.001}, "totalCost": 0.001,
 "usagePricingTierName": null, "promptId": null, "promptName": "p/a b", "promptVersion": 3,
 "latency": 1.5, "timeToFirstToken": 0.2, "modelId": "m", "inputPrice": "0.0001", "outputPrice": "0.0004",
 "totalPrice": null, "traceName": "trace", "tags": [], "release": null,
 "toolCalls": [{"name": "search"}], "newField": {"x": [1, 2]}
}`

func TestObservationV2KeepsEverything(t *testing.T) {
	var o ObservationV2
	if err := json.Unmarshal([]byte(observationJSON), &o); err != nil {
		t.Fatal(err)
	}
	if string(o.Metadata) != `{"b": "2",   "a": "1"}` {
		t.Errorf("metadata reformatted: %s", o.Metadata)
	}
	if string(o.Output) != "null" || o.Input == nil || string(o.ModelParameters) != `{"temperature": 0.1}` {
		t.Errorf("input %s output %s params %s", o.Input, o.Output, o.ModelParameters)
	}
	var in string
	if err := json.Unmarshal(o.Input, &in); err != nil || !strings.Contains(in, `"role":"user"`) {
		t.Errorf("input is not the raw JSON string: %s", o.Input)
	}
	if o.EndTime != nil || o.StatusMessage != nil || o.Tags == nil || len(o.Tags) != 0 || o.Release != nil {
		t.Errorf("null and empty not kept apart: end %v status %v tags %#v", o.EndTime, o.StatusMessage, o.Tags)
	}
	if o.StartTime.Nanosecond() != 123456000 || o.UsageDetails["total"] != 15 || *o.PromptVersion != 3 || *o.InputPrice != "0.0001" {
		t.Errorf("decoded %+v", o)
	}
	if len(o.Extra) != 2 || string(o.Extra["toolCalls"]) != `[{"name": "search"}]` || string(o.Extra["newField"]) != `{"x": [1, 2]}` {
		t.Errorf("extra = %v", o.Extra)
	}

	var absent ObservationV2
	if err := json.Unmarshal([]byte(`{"id":"x","startTime":"2026-03-01T10:00:00Z","type":"SPAN","projectId":"p"}`), &absent); err != nil {
		t.Fatal(err)
	}
	if absent.Input != nil || absent.Tags != nil || absent.Extra != nil || absent.UsageDetails != nil {
		t.Errorf("absent members should stay nil: %+v", absent)
	}
}

func TestUnknownFieldsLoggedOnce(t *testing.T) {
	var obs []json.RawMessage
	if err := json.Unmarshal([]byte("["+observationJSON+","+observationJSON+"]"), &obs); err != nil {
		t.Fatal(err)
	}
	pages := 0
	env := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pages++
		meta := map[string]any{}
		if pages < 3 {
			meta["cursor"] = "c" + string(rune('0'+pages))
		}
		writeJSON(w, 200, map[string]any{"data": obs, "meta": meta})
	}))
	n := 0
	err := env.c.ListObservationsV2(context.Background(), ObservationsV2Query{}, func(p []ObservationV2) error {
		for _, o := range p {
			if o.Extra["toolCalls"] == nil {
				t.Errorf("extra lost")
			}
			n++
		}
		return nil
	})
	if err != nil || n != 6 {
		t.Fatalf("err %v, %d observations", err, n)
	}
	logs := env.logs.String()
	if c := strings.Count(logs, `"field":"toolCalls"`); c != 1 {
		t.Errorf("toolCalls logged %d times, want once:\n%s", c, logs)
	}
	if !strings.Contains(logs, `"type":"ObservationV2"`) || strings.Count(logs, `"field":"newField"`) != 1 {
		t.Errorf("logs:\n%s", logs)
	}
}

func TestScoreValue(t *testing.T) {
	f, b, s := 0.5, true, "good"
	tests := []struct {
		in   string
		want ScoreValue
	}{
		{`0.5`, ScoreValue{Number: &f}},
		{`true`, ScoreValue{Bool: &b}},
		{`"good"`, ScoreValue{String: &s}},
		{`null`, ScoreValue{}},
	}
	for _, tt := range tests {
		var v ScoreValue
		if err := json.Unmarshal([]byte(tt.in), &v); err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		if !reflect.DeepEqual(v, tt.want) {
			t.Errorf("%s: got %+v", tt.in, v)
		}
		out, err := json.Marshal(v)
		if err != nil || string(out) != tt.in {
			t.Errorf("%s: marshals to %s, %v", tt.in, out, err)
		}
	}
	for _, bad := range []string{`{}`, `[1]`, `nul`} {
		var v ScoreValue
		if err := json.Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	var sc ScoreV3
	if err := json.Unmarshal([]byte(`{"id":"s","dataType":"BOOLEAN","value":false,"subject":{"kind":"observation","id":"o","traceId":"t"}}`), &sc); err != nil {
		t.Fatal(err)
	}
	if sc.Value.Bool == nil || *sc.Value.Bool || sc.Subject.Kind != "observation" || *sc.Subject.TraceID != "t" {
		t.Errorf("score = %+v", sc)
	}
	var missing ScoreV3
	if err := json.Unmarshal([]byte(`{"id":"s"}`), &missing); err != nil || !missing.Value.IsNull() {
		t.Errorf("absent value: %+v %v", missing.Value, err)
	}
}

func TestPromptBodies(t *testing.T) {
	var text, chat Prompt
	if err := json.Unmarshal([]byte(`{"name":"a/b","version":2,"type":"text","prompt":"Hi {{x}} @@@langfusePrompt:name=base|version=1@@@","config":{}}`), &text); err != nil {
		t.Fatal(err)
	}
	if s, err := text.Text(); err != nil || !strings.Contains(s, "@@@langfusePrompt") {
		t.Errorf("text %q %v", s, err)
	}
	if _, err := text.Messages(); err == nil {
		t.Error("a text prompt has no messages")
	}
	body := `{"name":"c","version":1,"type":"chat","config":null,"prompt":[{"role":"system","content":"Be brief","type":"chatmessage"},{"type":"placeholder","name":"history"}]}`
	if err := json.Unmarshal([]byte(body), &chat); err != nil {
		t.Fatal(err)
	}
	m, err := chat.Messages()
	if err != nil || len(m) != 2 || m[0].Role != "system" || m[0].IsPlaceholder() || !m[1].IsPlaceholder() || m[1].Name != "history" {
		t.Errorf("messages %+v %v", m, err)
	}
	if string(chat.Config) != "null" {
		t.Errorf("config %s", chat.Config)
	}
}

func TestEmbeddedBaseDecodes(t *testing.T) {
	var d TraceDetails
	in := `{"id":"t","timestamp":"2026-03-01T00:00:00Z","name":"n","tags":["a"],"public":true,"environment":"prod",` +
		`"htmlPath":"/x","observations":[{"id":"o","type":"SPAN","startTime":"2026-03-01T00:00:00Z","level":"DEFAULT","environment":"prod","usage":{"input":1,"output":2,"total":3,"unit":"TOKENS"}}],` +
		`"scores":[{"id":"s","traceId":"t","name":"q","source":"API","dataType":"NUMERIC","value":1}],"_deprecation":{"message":"gone soon"},"bookmarked":true}`
	if err := json.Unmarshal([]byte(in), &d); err != nil {
		t.Fatal(err)
	}
	if d.ID != "t" || !d.Public || d.Tags[0] != "a" || d.Observations[0].Usage.Total != 3 || *d.Scores[0].Value != 1 ||
		d.Deprecation.Message != "gone soon" || string(d.Extra["bookmarked"]) != "true" || len(d.Extra) != 1 {
		t.Errorf("details = %+v", d)
	}
}

func TestWriteRequestsOmitUnset(t *testing.T) {
	b, err := json.Marshal(CreateDatasetItemRequest{DatasetName: "d"})
	if err != nil || string(b) != `{"datasetName":"d"}` {
		t.Errorf("%s %v", b, err)
	}
	ts := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	b, _ = json.Marshal(IngestionEvent{ID: "e", Type: "score-create", Timestamp: ts, Body: json.RawMessage(`{"name":"q","value":1}`)})
	if string(b) != `{"id":"e","type":"score-create","timestamp":"2026-01-02T03:04:05.000006Z","body":{"name":"q","value":1}}` {
		t.Errorf("event %s", b)
	}
	if !slices.Contains(ObservationV2FieldGroups, "trace_context") {
		t.Error("field groups incomplete")
	}
}
