package langsmith

import (
	"encoding/json"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/hive"
	"github.com/lakefuse/lakefuse/internal/lsfixture"
	"github.com/lakefuse/lakefuse/schema"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v.UTC()
}

func hexOf(id string) string { return strings.ReplaceAll(id, "-", "") }

func exampleJSON(t *testing.T, name string) map[string]json.RawMessage {
	t.Helper()
	b, err := os.ReadFile("../../internal/lsfixture/testdata/examples/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestExampleRuns converts the public examples, written as a format v1
// file, and checks every column's mapping.
func TestExampleRuns(t *testing.T) {
	src := bucket.NewMemory()
	ex, err := lsfixture.Examples(tenant, project)
	if err != nil {
		t.Fatal(err)
	}
	putExport(t, src, layout(export1), ex, lsfixture.V1())
	l, st := convert(t, src, "mem://src", Options{})
	if st.RunsRead != 5 || st.Runs != 5 || st.Orphans != 1 || st.RootlessTraces != 1 || st.Traces != 3 || st.Scores != 1 || st.Duplicates != 0 {
		t.Fatalf("stats %+v", st)
	}

	t.Run("wrap_openai llm root", func(t *testing.T) {
		id := lsfixture.ExampleOpenAIRunID
		o := l.obs[spanHex(id)]
		if o.ID == "" {
			t.Fatalf("no observation %s", spanHex(id))
		}
		if o.Type != "GENERATION" || str(o.Name) != "ChatOpenAI" || str(o.TraceID) != hexOf(id) || o.ParentObservationID != nil ||
			o.IsRootObservation == nil || !*o.IsRootObservation || o.Level != "DEFAULT" || o.StatusMessage != nil || o.Environment != "default" {
			t.Errorf("observation %+v", o)
		}
		if !o.StartTime.Equal(mustTime(t, "2024-10-11T20:58:23.298773Z")) || o.EndTime == nil || !o.EndTime.Equal(mustTime(t, "2024-10-11T20:58:24.417106Z")) {
			t.Errorf("times %v %v", o.StartTime, o.EndTime)
		}
		if o.Latency == nil || math.Abs(*o.Latency-1.118333) > 1e-6 {
			t.Errorf("latency %v", o.Latency)
		}
		if str(o.ProvidedModelName) != "gpt-4o-mini" || o.ModelParameters != nil {
			t.Errorf("model %s params %s", str(o.ProvidedModelName), str(o.ModelParameters))
		}
		wantUsage := map[string]int64{"input": 9, "output": 9, "total": 18, "input_cache_read": 0, "output_reasoning": 0}
		if !reflect.DeepEqual(o.UsageDetails, wantUsage) || o.CostDetails != nil || o.TotalCost != nil {
			t.Errorf("usage %v cost %v %v", o.UsageDetails, o.CostDetails, o.TotalCost)
		}
		if str(o.Version) != "v0.1.82-381-g03d9e1a-dirty" {
			t.Errorf("version %s", str(o.Version))
		}
		pp := exampleJSON(t, "langsmith-sdk__py_wrap_openai__post_patch.json")
		var post, patch []map[string]json.RawMessage
		_ = json.Unmarshal(pp["post"], &post)
		_ = json.Unmarshal(pp["patch"], &patch)
		jsonEqual(t, "input", o.Input, string(post[0]["inputs"]))
		jsonEqual(t, "output", o.Output, string(patch[0]["outputs"]))
		m := meta(t, o.Metadata)
		if m["ls_provider"] != "openai" || m["ls_model_name"] != "gpt-4o-mini" || m["ls_method"] != "traceable" {
			t.Errorf("user metadata %v", m)
		}
		ls := lsMeta(t, o.Metadata)
		want := map[string]any{"run_id": id, "trace_id": id, "session_id": project, "tenant_id": tenant, "export_id": export1,
			"run_type": "llm", "status": "success", "dotted_order": "20241011T205823298773Zd0d84d31-923d-4cb5-94a8-40a0a0087578"}
		for k, v := range want {
			if ls[k] != v {
				t.Errorf("metadata.langsmith.%s = %v, want %v", k, ls[k], v)
			}
		}
		if ls["extra"].(map[string]any)["runtime"].(map[string]any)["sdk"] != "langsmith-py" {
			t.Errorf("extra.runtime lost: %v", ls["extra"])
		}
		if ls["usage"].(map[string]any)["prompt_tokens"] != 9.0 {
			t.Errorf("usage columns %v", ls["usage"])
		}
		tr := l.traces[hexOf(id)]
		if tr.ID == "" || str(tr.Name) != "ChatOpenAI" || !tr.Timestamp.Equal(o.StartTime) || str(tr.Input) != str(o.Input) ||
			str(tr.Output) != str(o.Output) || str(tr.Metadata) != str(o.Metadata) || tr.SessionID != nil || len(tr.Tags) != 0 ||
			str(tr.Version) != "v0.1.82-381-g03d9e1a-dirty" || tr.Environment != "default" {
			t.Errorf("trace %+v", tr)
		}
		if l.projects["traces/"+tr.ID] != project || l.projects["observations/"+o.ID] != project {
			t.Errorf("project partitions %v", l.projects)
		}
	})

	t.Run("dotted_order parent child grandchild", func(t *testing.T) {
		p, c, g := l.obs[spanHex(lsfixture.ExampleParentID)], l.obs[spanHex(lsfixture.ExampleChildID)], l.obs[spanHex(lsfixture.ExampleGrandchildID)]
		trace := hexOf(lsfixture.ExampleParentID)
		if p.Type != "CHAIN" || c.Type != "GENERATION" || g.Type != "TOOL" {
			t.Errorf("types %s %s %s", p.Type, c.Type, g.Type)
		}
		if p.ParentObservationID != nil || str(c.ParentObservationID) != p.ID || str(g.ParentObservationID) != c.ID {
			t.Errorf("parents %s %s %s", str(p.ParentObservationID), str(c.ParentObservationID), str(g.ParentObservationID))
		}
		if str(p.TraceID) != trace || str(c.TraceID) != trace || str(g.TraceID) != trace {
			t.Errorf("traces %s %s %s", str(p.TraceID), str(c.TraceID), str(g.TraceID))
		}
		if !p.StartTime.Equal(mustTime(t, "2024-09-19T17:16:48.521691Z")) || !g.StartTime.Equal(mustTime(t, "2024-09-19T17:16:48.523563Z")) {
			t.Errorf("start times %v %v", p.StartTime, g.StartTime)
		}
		if *c.IsRootObservation || !*p.IsRootObservation {
			t.Error("is_root_observation")
		}
		if _, ok := l.traces[trace]; !ok {
			t.Error("no trace row from the root run")
		}
		if ls := lsMeta(t, g.Metadata); ls["parent_run_id"] != lsfixture.ExampleChildID {
			t.Errorf("grandchild metadata %v", ls)
		}
	})

	t.Run("run data format orphan", func(t *testing.T) {
		id := lsfixture.ExampleFormatRunID
		o := l.obs[spanHex(id)]
		if o.ParentObservationID != nil || !*o.IsRootObservation || o.Type != "GENERATION" || o.Level != "ERROR" || str(o.StatusMessage) != "string" || str(o.Name) != "string" {
			t.Errorf("observation %+v", o)
		}
		ls := lsMeta(t, o.Metadata)
		if ls["orphan"] != true || ls["parent_run_id"] != "f8faf8c1-9778-49a4-9004-628cdb0047e5" || ls["reference_example_id"] != "9fb06aaa-105f-4c87-845f-47d62ffd7ee6" ||
			ls["status"] != "string" || ls["trace_id"] != "df570c03-5a03-4cea-8df0-c162d05127ac" {
			t.Errorf("metadata %v", ls)
		}
		for k, want := range map[string]string{"tags": `["foo"]`, "events": `[{}]`, "parent_run_ids": `["f8faf8c1-9778-49a4-9004-628cdb0047e5"]`,
			"feedback_stats": `{"correctness":{"n":1,"avg":1.0}}`, "usage": `{"total_tokens":0,"prompt_tokens":0,"completion_tokens":0}`} {
			b, _ := json.Marshal(ls[k])
			s := string(b)
			jsonEqual(t, "metadata.langsmith."+k, &s, want)
		}
		if !reflect.DeepEqual(o.UsageDetails, map[string]int64{"input": 0, "output": 0, "total": 0}) {
			t.Errorf("usage %v", o.UsageDetails)
		}
		tr := l.traces["df570c035a034cea8df0c162d05127ac"]
		if tr.ID == "" || !tr.Timestamp.Equal(o.StartTime) || tr.Input != nil || tr.Name != nil {
			t.Fatalf("rootless trace %+v", tr)
		}
		if tls := lsMeta(t, tr.Metadata); tls["root_run_missing"] != true || tls["first_run_id"] != id {
			t.Errorf("rootless trace metadata %v", tls)
		}
		var sc schema.Score
		for _, s := range l.scores {
			sc = s
		}
		if sc.Name != "correctness" || sc.DataType != "NUMERIC" || sc.Value == nil || *sc.Value != 1 || str(sc.ObservationID) != o.ID ||
			str(sc.TraceID) != tr.ID || sc.Source != "API" || !sc.Timestamp.Equal(*o.EndTime) || !strings.Contains(str(sc.Comment), "aggregate") {
			t.Errorf("score %+v", sc)
		}
		if sm := lsMeta(t, sc.Metadata); sm["aggregate"] != true || sm["key"] != "correctness" {
			t.Errorf("score metadata %v", sm)
		}
		if sc.ID != derivedUUID("feedback_stats", id, "correctness") {
			t.Errorf("score id %s", sc.ID)
		}
	})

	t.Run("manifest", func(t *testing.T) {
		n := l.manifest.Notes
		if n["langsmith.projects"] != project || n["langsmith.tenants"] != tenant || n["langsmith.exports"] != export1 ||
			n["langsmith.orphans"] != "1" || !strings.Contains(n["langsmith.id_scheme"], "sha256") {
			t.Errorf("notes %v", n)
		}
		for _, tb := range []string{"traces", "observations", "scores", "sessions"} {
			if _, ok := l.manifest.Tables[tb]; !ok {
				t.Errorf("manifest lacks table %s", tb)
			}
		}
	})
}

// srcRuns indexes generated runs by id.
func srcRuns(runs []lsfixture.Run) map[string]lsfixture.Run {
	m := map[string]lsfixture.Run{}
	for _, r := range runs {
		m[r.ID] = r
	}
	return m
}

func deref[T any](p *T) (v T) {
	if p != nil {
		v = *p
	}
	return v
}

// TestGeneratedRuns converts deep trees with streaming runs, errors,
// unicode and threads, and checks each observation against its run.
func TestGeneratedRuns(t *testing.T) {
	runs := generate(lsfixture.GenOptions{Seed: 7, Runs: 1200, Depth: 4, Fanout: 3, StreamTokens: 300, ErrorEvery: 7, Unicode: true, Threads: 3, TraceEvery: 5 * time.Hour})
	src := bucket.NewMemory()
	lay := layout(export1)
	lay.Resource = true
	putExport(t, src, lay, runs, lsfixture.V2Beta())
	l, st := convert(t, src, "mem://src", Options{})
	if int(st.Runs) != len(runs) || st.Orphans != 0 || st.Duplicates != 0 || len(l.obs) != len(runs) {
		t.Fatalf("stats %+v for %d runs", st, len(runs))
	}
	byID := srcRuns(runs)
	var roots, streaming, errs int
	var genInput, rootPrompt int64
	threadStart := map[string]time.Time{}
	for _, r := range runs {
		o, ok := l.obs[spanHex(r.ID)]
		if !ok {
			t.Fatalf("run %s not converted", r.ID)
		}
		if want := observationType(r.RunType); o.Type != want {
			t.Errorf("run %s type %s, want %s", r.ID, o.Type, want)
		}
		if str(o.Name) != r.Name || str(o.TraceID) != hexOf(r.TraceID) || !o.StartTime.Equal(r.StartTime) || !o.EndTime.Equal(*r.EndTime) {
			t.Errorf("run %s: %+v", r.ID, o)
		}
		if r.ParentRunID == nil {
			roots++
			rootPrompt += *r.PromptTokens
			if o.ParentObservationID != nil {
				t.Errorf("root %s has parent", r.ID)
			}
			tr, ok := l.traces[hexOf(r.ID)]
			if !ok {
				t.Fatalf("no trace for root %s", r.ID)
			}
			thread := lsMetaUser(t, o.Metadata)["thread_id"].(string)
			if str(tr.SessionID) != thread || !reflect.DeepEqual(tr.Tags, r.Tags) || str(tr.Name) != r.Name || tr.TotalCost == nil || math.Abs(*tr.TotalCost-*r.TotalCost) > 1e-12 {
				t.Errorf("trace %+v", tr)
			}
			if first, ok := threadStart[thread]; !ok || r.StartTime.Before(first) {
				threadStart[thread] = r.StartTime
			}
		} else if str(o.ParentObservationID) != spanHex(*r.ParentRunID) {
			t.Errorf("run %s parent %s, want %s", r.ID, str(o.ParentObservationID), spanHex(*r.ParentRunID))
		} else if _, ok := byID[*r.ParentRunID]; !ok {
			t.Fatalf("fixture: parent of %s missing", r.ID)
		}
		jsonEqual(t, "input of "+r.ID, o.Input, *r.Inputs)
		if r.Outputs != nil {
			jsonEqual(t, "output of "+r.ID, o.Output, *r.Outputs)
		} else if o.Output != nil {
			t.Errorf("run %s output %s", r.ID, *o.Output)
		}
		if (r.Error != nil) != (o.Level == "ERROR") || r.Error != nil && str(o.StatusMessage) != *r.Error {
			t.Errorf("run %s level %s message %s", r.ID, o.Level, str(o.StatusMessage))
		}
		if r.Error != nil {
			errs++
		}
		ls := lsMeta(t, o.Metadata)
		if r.FirstTokenTime != nil {
			streaming++
			if o.CompletionStartTime == nil || !o.CompletionStartTime.Equal(*r.FirstTokenTime) {
				t.Errorf("run %s completion start %v, want %v", r.ID, o.CompletionStartTime, r.FirstTokenTime)
			}
			if n := ls["new_token_events"].(map[string]any)["count"]; n != 300.0 {
				t.Errorf("run %s new_token_events %v", r.ID, n)
			}
			if strings.Contains(*o.Metadata, "tok1 ") {
				t.Errorf("run %s: token events kept in metadata", r.ID)
			}
			if ev, _ := ls["events"].([]any); len(ev) != 2 {
				t.Errorf("run %s: start and end events %v", r.ID, ls["events"])
			}
		}
		switch o.Type {
		case "GENERATION":
			cache := *r.PromptTokens / 2
			want := map[string]int64{"input": *r.PromptTokens - cache, "input_cache_read": cache, "output": *r.CompletionTokens, "output_reasoning": 0, "total": *r.TotalTokens}
			if r.Outputs == nil { // failed: no usage_metadata with details
				want = map[string]int64{"input": *r.PromptTokens, "output": *r.CompletionTokens, "total": *r.TotalTokens}
			}
			if !reflect.DeepEqual(o.UsageDetails, want) {
				t.Errorf("run %s usage %v, want %v", r.ID, o.UsageDetails, want)
			}
			genInput += o.UsageDetails["input"] + o.UsageDetails["input_cache_read"]
			if str(o.ProvidedModelName) != "gpt-4o-mini" {
				t.Errorf("model %s", str(o.ProvidedModelName))
			}
			jsonEqual(t, "model parameters", o.ModelParameters, `{"max_tokens":256,"temperature":0.2}`)
			if o.CostDetails["input"] != *r.PromptCost || o.CostDetails["total"] != *r.TotalCost || *o.TotalCost != *r.TotalCost {
				t.Errorf("cost %v", o.CostDetails)
			}
		case "EMBEDDING":
			if o.UsageDetails["input"] != 8 || str(o.ProvidedModelName) != "text-embedding-3-small" {
				t.Errorf("embedding %v %s", o.UsageDetails, str(o.ProvidedModelName))
			}
			genInput += o.UsageDetails["input"]
		default:
			if o.UsageDetails != nil || o.CostDetails != nil || o.ProvidedModelName != nil {
				t.Errorf("run %s (%s) has usage %v / cost %v / model", r.ID, o.Type, o.UsageDetails, o.CostDetails)
			}
			if u, _ := ls["usage"].(map[string]any); u["prompt_tokens"] != float64(*r.PromptTokens) {
				t.Errorf("run %s rolled-up usage %v", r.ID, u)
			}
		}
		if ls["run_type"] != r.RunType || ls["trace_tier"] != *r.TraceTier || ls["dotted_order"] != r.DottedOrder || ls["status"] != r.Status ||
			ls["session_id"] != project || ls["tenant_id"] != tenant || ls["export_id"] != export1 {
			t.Errorf("run %s metadata %v", r.ID, ls)
		}
		if r.FirstTokenTime != nil && ls["first_token_time"] != r.FirstTokenTime.UTC().Format(time.RFC3339Nano) {
			t.Errorf("first_token_time %v", ls["first_token_time"])
		}
		if b, _ := json.Marshal(ls["parent_run_ids"]); len(r.ParentRunIDs) > 0 && string(b) != mustJSON(r.ParentRunIDs) {
			t.Errorf("parent_run_ids %s", b)
		}
	}
	// Usage only on generations and embeddings adds up to what LangSmith
	// rolled up into the roots: nothing is counted twice.
	if genInput != rootPrompt {
		t.Errorf("input tokens of generations and embeddings %d, roots' prompt_tokens %d", genInput, rootPrompt)
	}
	if streaming == 0 || errs == 0 || roots != len(l.traces) {
		t.Fatalf("streaming %d errors %d roots %d traces %d", streaming, errs, roots, len(l.traces))
	}
	if len(l.sessions) != 3 {
		t.Fatalf("sessions %v", l.sessions)
	}
	for id, first := range threadStart {
		if s := l.sessions[id]; !s.CreatedAt.Equal(first) {
			t.Errorf("session %s created %v, want %v", id, s.CreatedAt, first)
		}
	}
	for _, s := range l.scores {
		if s.Name != "correctness" || *s.Value != 0.5 || s.ObservationID != nil {
			t.Errorf("score %+v", s)
		}
	}
	if len(l.scores) == 0 {
		t.Error("no feedback_stats scores")
	}
	for k, p := range l.projects {
		if p != project {
			t.Fatalf("%s in project %s", k, p)
		}
	}
}

func lsMetaUser(t *testing.T, s *string) map[string]any { return meta(t, s) }

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestFormats converts the same runs written in every physical layout that
// exports use and checks that the lake comes out the same.
func TestFormats(t *testing.T) {
	runs := generate(lsfixture.GenOptions{Seed: 3, Runs: 150, StreamTokens: 10, ErrorEvery: 5, Unicode: true, Threads: 2, TraceEvery: 3 * time.Hour})
	base := lsfixture.V1()
	variants := map[string]lsfixture.Format{
		"v2_beta zstd":      lsfixture.V2Beta(),
		"micros snappy":     {Time: lsfixture.TimeMicrosUTC, Compression: 1},
		"millis none":       {Time: lsfixture.TimeMillisUTC},
		"micros not UTC":    {Time: lsfixture.TimeMicrosLocal},
		"int96":             {Time: lsfixture.TimeInt96},
		"iso strings":       {Time: lsfixture.TimeISO},
		"int64 nanos":       {Time: lsfixture.TimeInt64Nanos},
		"decimal costs":     {Cost: lsfixture.CostDecimal},
		"string costs":      {Cost: lsfixture.CostString},
		"list tags and ids": {ListColumns: true},
		"upper case enums":  {UpperCase: true},
	}
	convertWith := func(f lsfixture.Format, lay lsfixture.Layout) *lakeRows {
		src := bucket.NewMemory()
		putExport(t, src, lay, runs, f)
		l, _ := convert(t, src, "mem://src", Options{})
		return l
	}
	want := convertWith(base, layout(export1))
	if len(want.obs) != len(runs) {
		t.Fatalf("%d observations for %d runs", len(want.obs), len(runs))
	}
	for name, f := range variants {
		t.Run(name, func(t *testing.T) {
			got := convertWith(f, layout(export1))
			compareLakes(t, got, want, f.UpperCase)
		})
	}
	t.Run("resource=runs unpadded", func(t *testing.T) {
		lay := layout(export1)
		lay.Resource = true
		compareLakes(t, convertWith(base, lay), want, false)
	})
	t.Run("runs padded", func(t *testing.T) {
		lay := layout(export1)
		lay.Padded = true
		compareLakes(t, convertWith(base, lay), want, false)
	})
}

func compareLakes(t *testing.T, got, want *lakeRows, upper bool) {
	t.Helper()
	if len(got.obs) != len(want.obs) || len(got.traces) != len(want.traces) || len(got.scores) != len(want.scores) || len(got.sessions) != len(want.sessions) {
		t.Fatalf("rows: %d/%d/%d/%d, want %d/%d/%d/%d", len(got.obs), len(got.traces), len(got.scores), len(got.sessions),
			len(want.obs), len(want.traces), len(want.scores), len(want.sessions))
	}
	norm := func(o schema.Observation) schema.Observation {
		// Decimal costs round in the last bits; upper-case enums show in
		// the metadata's run_type and status.
		for k, v := range o.CostDetails {
			o.CostDetails[k] = math.Round(v*1e12) / 1e12
		}
		if o.TotalCost != nil {
			v := math.Round(*o.TotalCost*1e12) / 1e12
			o.TotalCost = &v
		}
		o.Metadata = nil
		return o
	}
	for id, w := range want.obs {
		g := got.obs[id]
		if upper {
			if ls := lsMeta(t, g.Metadata); ls["run_type"] != strings.ToUpper(lsMeta(t, w.Metadata)["run_type"].(string)) {
				t.Errorf("run_type in metadata %v", ls["run_type"])
			}
		} else {
			var a, b any
			_ = json.Unmarshal([]byte(str(g.Metadata)), &a)
			_ = json.Unmarshal([]byte(str(w.Metadata)), &b)
			if !reflect.DeepEqual(roundUsage(a), roundUsage(b)) {
				t.Errorf("observation %s metadata\n got %s\nwant %s", id, str(g.Metadata), str(w.Metadata))
			}
		}
		if gn, wn := norm(g), norm(w); !reflect.DeepEqual(gn, wn) {
			t.Errorf("observation %s\n got %+v\nwant %+v", id, gn, wn)
		}
	}
	for id, w := range want.traces {
		g := got.traces[id]
		g.Metadata, w.Metadata = nil, nil
		if g.TotalCost != nil {
			v := math.Round(*g.TotalCost*1e12) / 1e12
			g.TotalCost = &v
		}
		if w.TotalCost != nil {
			v := math.Round(*w.TotalCost*1e12) / 1e12
			w.TotalCost = &v
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("trace %s\n got %+v\nwant %+v", id, g, w)
		}
	}
	for id, w := range want.sessions {
		if !reflect.DeepEqual(got.sessions[id], w) {
			t.Errorf("session %s %+v, want %+v", id, got.sessions[id], w)
		}
	}
}

// roundUsage rounds the cost numbers in metadata.langsmith.usage.
func roundUsage(v any) any {
	m, _ := v.(map[string]any)
	ls, _ := m["langsmith"].(map[string]any)
	u, _ := ls["usage"].(map[string]any)
	for k, x := range u {
		if f, ok := x.(float64); ok && strings.HasSuffix(k, "_cost") {
			u[k] = math.Round(f*1e12) / 1e12
		}
	}
	return v
}

// TestColumnSubsets converts exports that chose few columns.
func TestColumnSubsets(t *testing.T) {
	runs := generate(lsfixture.GenOptions{Seed: 5, Runs: 300, Depth: 3})
	byID := srcRuns(runs)
	cases := []struct {
		name string
		cols []string
	}{
		{"dotted order only", []string{"id", "name", "start_time", "dotted_order"}},
		{"parent_run_ids only", []string{"id", "start_time", "parent_run_ids"}},
		{"no start_time", []string{"id", "trace_id", "parent_run_id", "dotted_order"}},
		{"no token columns", []string{"id", "trace_id", "parent_run_id", "run_type", "start_time", "end_time", "outputs", "extra"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := bucket.NewMemory()
			putExport(t, src, layout(export1), runs, lsfixture.Format{Columns: c.cols})
			l, _ := convert(t, src, "mem://src", Options{})
			if len(l.obs) != len(runs) {
				t.Fatalf("%d observations", len(l.obs))
			}
			for _, r := range runs {
				o := l.obs[spanHex(r.ID)]
				wantParent := ""
				if r.ParentRunID != nil {
					wantParent = spanHex(*r.ParentRunID)
				}
				if str(o.TraceID) != hexOf(r.TraceID) || deref(o.ParentObservationID) != wantParent {
					t.Fatalf("run %s: trace %s parent %s", r.ID, str(o.TraceID), str(o.ParentObservationID))
				}
				// Without start_time the time comes from dotted_order (µs).
				if !o.StartTime.Equal(r.StartTime) {
					t.Fatalf("run %s start %v, want %v", r.ID, o.StartTime, r.StartTime)
				}
				if c.name == "no token columns" && o.Type == "GENERATION" {
					cache := *r.PromptTokens / 2
					if o.UsageDetails["input"] != *r.PromptTokens-cache || o.UsageDetails["output"] != *r.CompletionTokens || o.UsageDetails["input_cache_read"] != cache {
						t.Fatalf("usage from outputs.usage_metadata %v", o.UsageDetails)
					}
				}
			}
			var roots int
			for _, r := range byID {
				if r.ParentRunID == nil {
					roots++
				}
			}
			if len(l.traces) != roots {
				t.Fatalf("%d traces, want %d", len(l.traces), roots)
			}
		})
	}
}

// TestDuplicatesAcrossExports: a run in several exports is converted once,
// from its complete, latest row.
func TestDuplicatesAcrossExports(t *testing.T) {
	runs := generate(lsfixture.GenOptions{Seed: 11, Runs: 200})
	pendingCopy := make([]lsfixture.Run, len(runs))
	for i, r := range runs {
		r.EndTime, r.Status, r.Outputs = nil, "pending", nil
		pendingCopy[i] = r
	}
	src := bucket.NewMemory()
	// The complete rows come first (an older export), the pending ones later:
	// complete wins over latest.
	putExport(t, src, layout(export1), runs, lsfixture.V1())
	time.Sleep(5 * time.Millisecond)
	putExport(t, src, layout(export2), pendingCopy, lsfixture.V2Beta())
	// A third export repeats a few complete rows with a changed name: the
	// later file wins among complete rows.
	renamed := append([]lsfixture.Run(nil), runs[:5]...)
	for i := range renamed {
		renamed[i].Name = "renamed"
	}
	time.Sleep(5 * time.Millisecond)
	putExport(t, src, layout("e0000000-0000-4000-8000-000000000003"), renamed, lsfixture.V2Beta())
	// And a file holding the same run twice.
	lay := layout("e0000000-0000-4000-8000-000000000004")
	twice := []lsfixture.Run{runs[10], runs[10]}
	put(t, src, lay.Key(day(runs[10].StartTime), 0), twice, lsfixture.V1())

	l, st := convert(t, src, "mem://src", Options{})
	if int(st.Runs) != len(runs) || int(st.RunsRead) != 2*len(runs)+5+2 || st.Duplicates != st.RunsRead-st.Runs || len(l.obs) != len(runs) {
		t.Fatalf("stats %+v", st)
	}
	if len(st.Exports) != 4 {
		t.Errorf("exports %v", st.Exports)
	}
	for i, r := range runs {
		o := l.obs[spanHex(r.ID)]
		if o.EndTime == nil || o.Output == nil {
			t.Fatalf("run %s converted from its pending row", r.ID)
		}
		if (i < 5) != (str(o.Name) == "renamed") {
			t.Fatalf("run %d name %s", i, str(o.Name))
		}
	}
}

// TestOrphans drops the first day of an export whose traces cross
// midnight: runs whose parent is in the missing day are kept as orphans.
func TestOrphans(t *testing.T) {
	runs := generate(lsfixture.GenOptions{Seed: 13, Runs: 3000, Depth: 3, Start: time.Date(2026, 3, 1, 23, 59, 59, 0, time.UTC), TraceEvery: time.Second})
	days := byDay(runs)
	first := day(runs[0].StartTime)
	src := bucket.NewMemory()
	var kept []lsfixture.Run
	for d, rs := range days {
		if d.Equal(first) {
			continue
		}
		put(t, src, layout(export1).Key(d, 0), rs, lsfixture.V2Beta())
		kept = append(kept, rs...)
	}
	in := srcRuns(kept)
	wantOrphans, wantRootless := 0, map[string]bool{}
	for _, r := range kept {
		if r.ParentRunID != nil {
			if _, ok := in[*r.ParentRunID]; !ok {
				wantOrphans++
				if _, ok := in[r.TraceID]; !ok {
					wantRootless[r.TraceID] = true
				}
			}
		}
	}
	if wantOrphans == 0 {
		t.Fatal("fixture has no orphans")
	}
	l, st := convert(t, src, "mem://src", Options{})
	if int(st.Orphans) != wantOrphans || int(st.RootlessTraces) != len(wantRootless) || len(l.obs) != len(kept) {
		t.Fatalf("stats %+v, want %d orphans and %d rootless traces", st, wantOrphans, len(wantRootless))
	}
	for _, r := range kept {
		o := l.obs[spanHex(r.ID)]
		if r.ParentRunID == nil {
			continue
		}
		if _, ok := in[*r.ParentRunID]; ok {
			if str(o.ParentObservationID) != spanHex(*r.ParentRunID) {
				t.Fatalf("run %s lost its parent", r.ID)
			}
			continue
		}
		if o.ParentObservationID != nil || lsMeta(t, o.Metadata)["orphan"] != true {
			t.Fatalf("orphan %s: %+v", r.ID, o)
		}
	}
	for id := range wantRootless {
		if tr, ok := l.traces[hexOf(id)]; !ok || lsMeta(t, tr.Metadata)["root_run_missing"] != true {
			t.Fatalf("rootless trace %s: %+v", id, tr)
		}
	}
}

func TestDatePartitions(t *testing.T) {
	runs := generate(lsfixture.GenOptions{Seed: 17, Runs: 500, TraceEvery: 2 * time.Hour})
	src := bucket.NewMemory()
	putExport(t, src, layout(export1), runs, lsfixture.V1())
	ctx := t.Context()
	dst := bucket.NewMemory()
	c, err := Open(ctx, src, "mem://src", Options{})
	if err != nil {
		t.Fatal(err)
	}
	run, err := hive.NewRun(ctx, dst, hive.RunOptions{Kind: "convert"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Convert(ctx, run); err != nil {
		t.Fatal(err)
	}
	if _, err := run.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	l, err := hive.Open(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	err = hive.ScanRows(ctx, l, func(p hive.Partition, o *schema.Observation) error {
		if p.Date != hive.DateOf(o.StartTime) || p.ProjectID != project {
			t.Fatalf("observation %s in partition %+v", o.ID, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(l.Partitions("observations")); n < 3 {
		t.Fatalf("%d observation partitions", n)
	}
}

// TestNoLeaks: every buffer the reader allocates is released, whether the
// conversion succeeds or fails halfway.
func TestNoLeaks(t *testing.T) {
	runs := generate(lsfixture.GenOptions{Seed: 53, Runs: 1500, TraceEvery: 2 * time.Hour, StreamTokens: 5})
	for _, fail := range []bool{false, true} {
		src := bucket.NewMemory()
		putExport(t, src, layout(export1), runs, lsfixture.V2Beta())
		if fail {
			// A run without a start time in the last day's file fails the
			// conversion after earlier days were written.
			last := day(runs[len(runs)-1].StartTime)
			bad := []lsfixture.Run{runs[len(runs)-1]}
			bad[0].ID = "00000000-0000-4000-8000-0000000000ff"
			bad[0].StartTime = time.Time{}
			put(t, src, layout(export2).Key(last, 0), bad, lsfixture.Format{Columns: []string{"id", "trace_id", "parent_run_id", "start_time"}})
		}
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		_, _, err := tryConvert(src, "mem://src", Options{Mem: mem, BatchRows: 100})
		if (err != nil) != fail {
			t.Fatalf("fail=%v: %v", fail, err)
		}
		mem.AssertSize(t, 0)
	}
}
