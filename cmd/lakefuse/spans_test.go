package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/hive"
	"github.com/lakefuse/lakefuse/internal/lftest"
	"github.com/lakefuse/lakefuse/schema"
)

// Tests of how spans reach the destination: ids verbatim, placeholder roots,
// per-row trace attributes, experiment attributes, v3 traces. Each builds a
// lake by hand and imports it through the CLI into a test server behind a
// recorder of the OTLP requests.

// sentSpan is a span as the destination received it.
type sentSpan struct {
	trace, span, parent string
	json                bool
	attrs               map[string]any
}

// recorder forwards requests to a test server and keeps the OTLP spans.
type recorder struct {
	mu    sync.Mutex
	spans []sentSpan
}

func (rec *recorder) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/public/otel/v1/traces" {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			raw := body
			if r.Header.Get("Content-Encoding") == "gzip" {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err == nil {
					raw, _ = io.ReadAll(zr)
				}
			}
			rec.add(r.Header.Get("Content-Type"), raw)
		}
		next.ServeHTTP(w, r)
	})
}

func (rec *recorder) add(ct string, raw []byte) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if strings.Contains(ct, "json") {
		var req struct {
			ResourceSpans []struct {
				ScopeSpans []struct {
					Spans []struct {
						TraceID, SpanID, ParentSpanID string
						Attributes                    []struct {
							Key   string
							Value map[string]any
						}
					}
				}
			}
		}
		_ = json.Unmarshal(raw, &req)
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, sp := range ss.Spans {
					a := map[string]any{}
					for _, kv := range sp.Attributes {
						for _, v := range kv.Value {
							a[kv.Key] = v
						}
					}
					rec.spans = append(rec.spans, sentSpan{sp.TraceID, sp.SpanID, sp.ParentSpanID, true, a})
				}
			}
		}
		return
	}
	var req tracepb.TracesData
	_ = proto.Unmarshal(raw, &req)
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, sp := range ss.Spans {
				a := map[string]any{}
				for _, kv := range sp.Attributes {
					switch v := kv.Value.GetValue().(type) {
					case *commonpb.AnyValue_StringValue:
						a[kv.Key] = v.StringValue
					case *commonpb.AnyValue_BoolValue:
						a[kv.Key] = v.BoolValue
					case *commonpb.AnyValue_ArrayValue:
						var l []any
						for _, e := range v.ArrayValue.Values {
							l = append(l, map[string]any{"stringValue": e.GetStringValue()})
						}
						a[kv.Key] = map[string]any{"values": l}
					}
				}
				rec.spans = append(rec.spans, sentSpan{hex.EncodeToString(sp.TraceId), hex.EncodeToString(sp.SpanId),
					hex.EncodeToString(sp.ParentSpanId), false, a})
			}
		}
	}
}

func (rec *recorder) span(id string) *sentSpan {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for i := range rec.spans {
		if rec.spans[i].span == id {
			return &rec.spans[i]
		}
	}
	return nil
}

// handLake writes rows (pointers to schema rows) into a new lake exported
// from a Langfuse of serverVersion.
func handLake(t *testing.T, serverVersion string, rows ...any) string {
	t.Helper()
	ctx := context.Background()
	loc := filepath.Join(t.TempDir(), "lake")
	b, err := bucket.Open(ctx, loc, bucket.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	r, err := hive.NewRun(ctx, b, hive.RunOptions{Kind: "export",
		Source: hive.Source{Kind: "langfuse", ProjectID: "src", ServerVersion: serverVersion}})
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rows {
		var tb *schema.Table
		switch row.(type) {
		case *schema.Trace:
			tb = schema.Traces
		case *schema.Observation:
			tb = schema.Observations
		case *schema.Score:
			tb = schema.Scores
		case *schema.DatasetRun:
			tb = schema.DatasetRuns
		case *schema.DatasetRunItem:
			tb = schema.DatasetRunItems
		default:
			t.Fatalf("no table for %T", row)
		}
		if err := r.Append(ctx, tb, "src", row); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	return loc
}

// importInto imports lake into a new project of a test server in mode and
// returns the project and the spans it received.
func importInto(t *testing.T, mode lftest.Mode, lake string, args ...string) (*lftest.Project, *recorder) {
	t.Helper()
	srv := lftest.NewServer(lftest.Options{Mode: mode})
	t.Cleanup(srv.Close)
	id, pk, sk := srv.AddProject("dest")
	rec := &recorder{}
	front := httptest.NewServer(rec.handler(srv.Handler()))
	t.Cleanup(front.Close)
	code, out, errOut := run(t, append([]string{"import", lake, "--yes", "--wait=3s", "--public-key=" + pk, "--secret-key=" + sk,
		"--base-url=" + front.URL}, args...)...)
	if code != 0 {
		t.Fatalf("import: exit %d\n%s\n%s", code, out, errOut)
	}
	return srv.Project(id), rec
}

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func sp(s string) *string { return &s }

func obsRow(id, trace, parent, typ string, startMS int) *schema.Observation {
	end := at(startMS + 100)
	o := &schema.Observation{ID: id, TraceID: sp(trace), Type: typ, Name: sp("n-" + id), StartTime: at(startMS), EndTime: &end,
		Level: "DEFAULT", Environment: "default"}
	if parent != "" {
		o.ParentObservationID = sp(parent)
	}
	return o
}

func lftestObs(p *lftest.Project) map[string]*lftest.Observation {
	out := map[string]*lftest.Observation{}
	p.EachObservation(func(o *lftest.Observation, _ *lftest.Trace) bool {
		out[o.ID] = o
		return true
	})
	return out
}

// Every id arrives as the source had it: hex ids over protobuf, the others
// (a UUID trace, text span ids, a placeholder root) over OTLP/JSON; scores
// point at the same ids. --rewrite-ids brings back the hashed ids.
func TestImportIDsVerbatim(t *testing.T) {
	uuid := "99111769-2acc-da0d-976b-1210fbeb6eab"
	hexTrace := "0123456789abcdef0123456789abcdef"
	ph := "t-" + uuid
	placeholder := obsRow(ph, uuid, "", "SPAN", 0)
	placeholder.Input = sp(`"question"`)
	lake := handLake(t, "v4",
		&schema.Trace{ID: uuid, Timestamp: at(0), Name: sp("chat"), Environment: "default"},
		&schema.Trace{ID: hexTrace, Timestamp: at(0), Environment: "default"},
		placeholder,
		obsRow("child-1", uuid, ph, "SPAN", 10),
		obsRow("0123456789abcdef", uuid, "child-1", "GENERATION", 20),
		obsRow("aaaaaaaaaaaaaaaa", hexTrace, "", "SPAN", 0),
		&schema.Score{ID: "s1", Timestamp: at(30), Name: "q", DataType: "NUMERIC", Value: new(float64), Source: "API", Environment: "default",
			TraceID: sp(uuid), ObservationID: sp("child-1")},
	)
	p, rec := importInto(t, lftest.V4, lake)
	obs := lftestObs(p)
	for id, parent := range map[string]string{ph: "", "child-1": ph, "0123456789abcdef": "child-1", "aaaaaaaaaaaaaaaa": ""} {
		o := obs[id]
		if o == nil {
			t.Errorf("observation %s not in the destination (has %v)", id, slices.Sorted(maps.Keys(obs)))
			continue
		}
		if o.ParentObservationID != parent {
			t.Errorf("%s: parent %q, want %q", id, o.ParentObservationID, parent)
		}
	}
	if o := obs[ph]; o != nil && (o.Type != lftest.TypeSpan || o.TraceID != uuid) {
		t.Errorf("placeholder %+v", o)
	}
	if s := rec.span("aaaaaaaaaaaaaaaa"); s == nil || s.json {
		t.Errorf("a span with hex ids went as %+v, want protobuf", s)
	}
	if s := rec.span("0123456789abcdef"); s == nil || !s.json {
		t.Errorf("a span of a UUID trace went as %+v, want OTLP/JSON", s)
	}
	scores := p.Scores()
	if len(scores) != 1 || scores[0].TraceID == nil || *scores[0].TraceID != uuid || scores[0].ObservationID == nil || *scores[0].ObservationID != "child-1" {
		t.Errorf("scores %+v: want the source's trace and observation ids", scores)
	}

	p, _ = importInto(t, lftest.V4, lake, "--rewrite-ids")
	for id := range lftestObs(p) {
		if len(id) != 16 || strings.Trim(id, "0123456789abcdef") != "" {
			t.Errorf("--rewrite-ids: observation id %q is not OTel hex", id)
		}
	}
}

