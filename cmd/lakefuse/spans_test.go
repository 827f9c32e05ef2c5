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
		"--base-url=" + front.URL, "--state-dir=" + t.TempDir()}, args...)...)
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

// A placeholder root reaches a v3 destination as its trace (v3 keeps no
// such rows): the trace takes its name and input, its children become
// roots, and no observation t-<traceId> appears.
func TestImportPlaceholderIntoV3(t *testing.T) {
	trace := "0123456789abcdef0123456789abcdef"
	ph := "t-" + trace
	placeholder := obsRow(ph, trace, "", "SPAN", 0)
	placeholder.Input, placeholder.Output = sp(`{"q":"hi"}`), sp(`"bye"`)
	lake := handLake(t, "v4",
		&schema.Trace{ID: trace, Timestamp: at(0), Name: sp("chat"), Input: sp(`{"q":"hi"}`), Output: sp(`"bye"`), Environment: "default"},
		placeholder, obsRow("1111111111111111", trace, ph, "SPAN", 10), obsRow("2222222222222222", trace, "1111111111111111", "SPAN", 20))
	p, _ := importInto(t, lftest.V3, lake)
	obs := lftestObs(p)
	if obs[ph] != nil || len(obs) != 2 {
		t.Errorf("observations %v: want the two children only", slices.Sorted(maps.Keys(obs)))
	}
	if o := obs["1111111111111111"]; o == nil || o.ParentObservationID != "" {
		t.Errorf("the placeholder's child %+v should be a root", o)
	}
	tr := p.Trace(trace)
	if tr == nil || tr.Name == nil || *tr.Name != "chat" {
		t.Fatalf("trace %+v", tr)
	}
	if in, _ := tr.Input.Text(); in != `{"q":"hi"}` {
		t.Errorf("trace input %q", in)
	}
	if out, _ := tr.Output.Text(); out != "bye" {
		t.Errorf("trace output %q", out)
	}
}

// v4 keeps trace attributes per row: each span carries its own row's user,
// session, trace name, tags, release and public flag, not the traces row's.
func TestImportPerRowTraceAttributes(t *testing.T) {
	trace := "0123456789abcdef0123456789abcdef"
	yes := true
	root := obsRow("1111111111111111", trace, "", "SPAN", 0)
	root.IsRootObservation, root.UserID, root.SessionID, root.TraceName = &yes, sp("u-root"), sp(""), sp("chat")
	root.Tags, root.Release = []string{"a"}, sp("r1")
	child := obsRow("2222222222222222", trace, "1111111111111111", "SPAN", 10)
	child.IsRootObservation, child.UserID, child.SessionID, child.TraceName = new(bool), sp("u-child"), sp("sess-child"), sp("chat")
	child.Tags, child.Release, child.Public = []string{"b"}, sp("r2"), &yes
	lake := handLake(t, "v4",
		&schema.Trace{ID: trace, Timestamp: at(0), Name: sp("chat"), UserID: sp("u-root"), SessionID: sp("sess-child"),
			Tags: []string{"a", "b"}, Release: sp("r2"), Public: true, Environment: "default"},
		root, child)
	_, rec := importInto(t, lftest.V4, lake)
	want := map[string]map[string]any{
		"1111111111111111": {"langfuse.user.id": "u-root", "langfuse.session.id": nil, "langfuse.release": "r1", "langfuse.trace.public": nil, "tags": "a"},
		"2222222222222222": {"langfuse.user.id": "u-child", "langfuse.session.id": "sess-child", "langfuse.release": "r2", "langfuse.trace.public": true, "tags": "b"},
	}
	for id, w := range want {
		s := rec.span(id)
		if s == nil {
			t.Fatalf("span %s not sent", id)
		}
		for k, v := range w {
			if k == "tags" {
				if got := fmtTags(s.attrs["langfuse.trace.tags"]); got != v {
					t.Errorf("%s tags %q, want %q", id, got, v)
				}
				continue
			}
			if s.attrs[k] != v {
				t.Errorf("%s %s = %v, want %v", id, k, s.attrs[k], v)
			}
		}
	}
}

func fmtTags(v any) string {
	m, _ := v.(map[string]any)
	var out []string
	vals, _ := m["values"].([]any)
	for _, e := range vals {
		em, _ := e.(map[string]any)
		s, _ := em["stringValue"].(string)
		out = append(out, s)
	}
	return strings.Join(out, ",")
}

// The experiment attributes go on every span of a run item's trace, so a v4
// destination sums the cost, errors and prompts of the whole run.
func TestImportExperimentOnEverySpan(t *testing.T) {
	trace := "0123456789abcdef0123456789abcdef"
	root := obsRow("1111111111111111", trace, "", "SPAN", 0)
	gen := obsRow("2222222222222222", trace, "1111111111111111", "GENERATION", 10)
	gen.CostDetails = map[string]float64{"total": 0.5}
	gen.PromptName, gen.PromptVersion = sp("p"), new(int64)
	*gen.PromptVersion = 1
	failed := obsRow("3333333333333333", trace, "2222222222222222", "GENERATION", 20)
	failed.CostDetails, failed.Level = map[string]float64{"total": 0.25}, "ERROR"
	ds := "ds-1"
	lake := handLake(t, "v4",
		&schema.Trace{ID: trace, Timestamp: at(0), Name: sp("run"), Environment: "default"}, root, gen, failed,
		&schema.DatasetRun{ID: "run-1", Name: "exp", DatasetID: &ds},
		&schema.DatasetRunItem{ID: "ri-1", DatasetRunID: "run-1", DatasetRunName: "exp", DatasetItemID: "item-1", DatasetID: &ds,
			TraceID: trace, ObservationID: sp("1111111111111111")})
	p, rec := importInto(t, lftest.V4, lake, "--tables=observations")
	got := p.ExperimentSummary("run-1")
	if got.Rows != 3 || got.ItemCount != 1 || got.ErrorCount != 1 || got.TotalCost != 0.75 || strings.Join(got.Prompts, ",") != "p@1" {
		t.Errorf("experiment summary %+v: want 3 rows, 1 item, 1 error, cost 0.75, prompt p@1", got)
	}
	for _, id := range []string{"1111111111111111", "2222222222222222", "3333333333333333"} {
		if s := rec.span(id); s == nil || s.attrs["langfuse.experiment.item.root_observation_id"] != "1111111111111111" {
			t.Errorf("span %s: experiment attributes %v", id, s)
		}
	}
	if n := len(p.DatasetRunItems()); n != 1 {
		t.Errorf("%d experiment items, want 1 (the item's root)", n)
	}
}

// A v3 destination merges the trace events of the spans (a later child with
// trace attributes but without langfuse.version sets the version to null;
// the root's span name becomes the trace's name); the trace-create sent after
// the spans makes the trace the lake's again.
func TestImportV3TraceVersion(t *testing.T) {
	trace := "0123456789abcdef0123456789abcdef"
	root := obsRow("1111111111111111", trace, "", "SPAN", 0)
	root.Version = sp("obs-v")
	lake := handLake(t, "v3",
		&schema.Trace{ID: trace, Timestamp: at(0), Version: sp("trace-v"), UserID: sp("u"), Environment: "default"},
		root, obsRow("2222222222222222", trace, "1111111111111111", "SPAN", 10))
	p, _ := importInto(t, lftest.V3, lake)
	tr := p.Trace(trace)
	if tr == nil || tr.Version == nil || *tr.Version != "trace-v" || tr.Name != nil {
		t.Fatalf("trace %+v: want version trace-v and no name", tr)
	}
	if o := lftestObs(p)["1111111111111111"]; o == nil || o.Version == nil || *o.Version != "obs-v" {
		t.Errorf("root observation %+v: want its own version", o)
	}
}

// A v3 trace whose input and output differ from its root observation's keeps
// them in a v4 destination on a placeholder root t-<traceId>, as Langfuse's
// own migration does; the root becomes its child and keeps its own I/O. A
// trace without observations gets a placeholder too.
func TestImportV3TraceIOIntoV4(t *testing.T) {
	trace, empty := "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"
	root := obsRow("1111111111111111", trace, "", "SPAN", 0)
	root.Input = sp(`"root in"`)
	lake := handLake(t, "v3",
		&schema.Trace{ID: trace, Timestamp: at(0), Name: sp("chat"), Input: sp(`"trace in"`), Output: sp(`"trace out"`), Environment: "default"},
		&schema.Trace{ID: empty, Timestamp: at(0), Name: sp("lonely"), Environment: "default"},
		root)
	p, _ := importInto(t, lftest.V4, lake)
	obs := lftestObs(p)
	ph := obs["t-"+trace]
	if ph == nil {
		t.Fatalf("no placeholder root; observations %v", slices.Sorted(maps.Keys(obs)))
	}
	if in, _ := ph.Input.Text(); in != "trace in" || ph.ParentObservationID != "" || ph.Name == nil || *ph.Name != "chat" {
		t.Errorf("placeholder %+v input %q", ph, in)
	}
	if out, _ := ph.Output.Text(); out != "trace out" {
		t.Errorf("placeholder output %q", out)
	}
	r := obs["1111111111111111"]
	if in, _ := r.Input.Text(); r == nil || r.ParentObservationID != "t-"+trace || in != "root in" {
		t.Errorf("root %+v: want the placeholder's child with its own input", r)
	}
	if obs["t-"+empty] == nil {
		t.Errorf("the trace without observations has no placeholder root")
	}
}

// An import continues in the id mode it began with: switching would put
// the same traces under two ids.
func TestImportIDModeKept(t *testing.T) {
	trace := "99111769-2acc-da0d-976b-1210fbeb6eab"
	lake := handLake(t, "v4", &schema.Trace{ID: trace, Timestamp: at(0), Environment: "default"}, obsRow("a", trace, "", "SPAN", 0))
	srv := lftest.NewServer(lftest.Options{Mode: lftest.V4})
	t.Cleanup(srv.Close)
	_, pk, sk := srv.AddProject("dest")
	args := []string{"import", lake, "--yes", "--wait=3s", "--public-key=" + pk, "--secret-key=" + sk, "--base-url=" + srv.URL()}
	if code, out, errOut := run(t, append(args, "--rewrite-ids")...); code != 0 {
		t.Fatalf("import: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, _, errOut := run(t, args...); code == 0 || !strings.Contains(errOut, "--rewrite-ids") {
		t.Errorf("continuing without --rewrite-ids: exit %d\n%s", code, errOut)
	}
	if code, out, errOut := run(t, append(args, "--rewrite-ids")...); code != 0 {
		t.Errorf("continuing with --rewrite-ids: exit %d\n%s\n%s", code, out, errOut)
	}
}
