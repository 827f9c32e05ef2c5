package lsfixture

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

//go:embed testdata/examples
var examples embed.FS

func example(name string) []byte {
	b, err := examples.ReadFile("testdata/examples/" + name)
	if err != nil {
		panic(err)
	}
	return b
}

// FeedbackExample is the documented LangSmith feedback record, verbatim.
func FeedbackExample() []byte { return example("docs__feedback_data_format_example.json") }

// Example run ids, for tests that check their mapping.
const (
	// ExampleFormatRunID is the run of the run-data-format example: an llm
	// run whose parent and trace root are not in the example (an orphan).
	ExampleFormatRunID = "497f6eca-6276-4993-bfeb-53cbbbba6f08"
	// ExampleParentID, ExampleChildID and ExampleGrandchildID are the
	// dotted_order example's trace.
	ExampleParentID     = "0e01bf50-474d-4536-810f-67d3ee7ea3e7"
	ExampleChildID      = "a8024e23-5b82-47fd-970e-f6a5ba3f5097"
	ExampleGrandchildID = "0ec6b845-18b9-4aa1-8f1b-6ba3f9fdefd6"
	// ExampleOpenAIRunID is the wrap_openai example's llm root run.
	ExampleOpenAIRunID = "d0d84d31-923d-4cb5-94a8-40a0a0087578"
)

// Examples turns the public examples into export rows of project sessionID
// in tenantID, filling the server-computed columns the way the research
// notes describe: post and patch merged (patch wins), status from error,
// tokens from outputs.usage_metadata, is_root and parent_run_ids from the
// dotted order, JSON fields as text. Placeholder values that no export can
// hold (cost "string") become null.
func Examples(tenantID, sessionID string) ([]Run, error) {
	var out []Run
	r, err := formatExample(tenantID, sessionID)
	if err != nil {
		return nil, err
	}
	out = append(out, r)
	rs, err := dottedExample(tenantID, sessionID)
	if err != nil {
		return nil, err
	}
	out = append(out, rs...)
	r, err = openAIExample(tenantID, sessionID)
	if err != nil {
		return nil, err
	}
	return append(out, r), nil
}

// naiveTime parses the API's times: ISO 8601, naive ones meaning UTC.
func naiveTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("lsfixture: time %q", s)
}

func raw(m map[string]json.RawMessage, k string) *string {
	v, ok := m[k]
	if !ok || string(v) == "null" {
		return nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, v); err != nil {
		panic(err)
	}
	s := buf.String()
	return &s
}

func text(m map[string]json.RawMessage, k string) *string {
	v, ok := m[k]
	if !ok || string(v) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return nil
	}
	return &s
}

func number(m map[string]json.RawMessage, k string) *float64 {
	s := text(m, k)
	if s == nil {
		var f float64
		if v, ok := m[k]; ok && json.Unmarshal(v, &f) == nil {
			return &f
		}
		return nil
	}
	f, err := strconv.ParseFloat(*s, 64)
	if err != nil {
		return nil
	}
	return &f
}

func integer(m map[string]json.RawMessage, k string) *int64 {
	var n int64
	if v, ok := m[k]; ok && json.Unmarshal(v, &n) == nil {
		return &n
	}
	return nil
}

func stringList(m map[string]json.RawMessage, k string) []string {
	var l []string
	if v, ok := m[k]; ok {
		_ = json.Unmarshal(v, &l)
	}
	return l
}

func formatExample(tenantID, sessionID string) (Run, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(example("docs__run_data_format_example.json"), &m); err != nil {
		return Run{}, err
	}
	start, err := naiveTime(*text(m, "start_time"))
	if err != nil {
		return Run{}, err
	}
	end, err := naiveTime(*text(m, "end_time"))
	if err != nil {
		return Run{}, err
	}
	r := Run{
		ID: *text(m, "id"), TenantID: tenantID, SessionID: sessionID, TraceID: *text(m, "trace_id"),
		ParentRunID: text(m, "parent_run_id"), ParentRunIDs: stringList(m, "parent_run_ids"),
		ReferenceExampleID: text(m, "reference_example_id"), Name: *text(m, "name"), RunType: *text(m, "run_type"),
		StartTime: start, EndTime: &end, Status: *text(m, "status"), DottedOrder: *text(m, "dotted_order"),
		Inputs: raw(m, "inputs"), Outputs: raw(m, "outputs"), Error: text(m, "error"), Extra: raw(m, "extra"),
		Events: raw(m, "events"), Tags: stringList(m, "tags"), FeedbackStats: raw(m, "feedback_stats"),
		TotalTokens: integer(m, "total_tokens"), PromptTokens: integer(m, "prompt_tokens"), CompletionTokens: integer(m, "completion_tokens"),
		TotalCost: number(m, "total_cost"), PromptCost: number(m, "prompt_cost"), CompletionCost: number(m, "completion_cost"),
	}
	r.IsRoot = r.ParentRunID == nil
	return r, nil
}

func dottedExample(tenantID, sessionID string) ([]Run, error) {
	var out []Run
	runTypes := map[string]string{"parent": "chain", "child": "llm", "grandchild": "tool"}
	for line := range strings.Lines(string(example("docs__dotted_order_parent_child_grandchild.tsv"))) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		kv := map[string]string{}
		for _, f := range fields[1:] {
			k, v, _ := strings.Cut(f, "=")
			kv[k] = v
		}
		segs := strings.Split(kv["dotted_order"], ".")
		last := segs[len(segs)-1]
		ts, _, _ := strings.Cut(last, "Z")
		start, err := time.Parse("20060102T150405.000000", ts[:15]+"."+ts[15:])
		if err != nil {
			return nil, fmt.Errorf("lsfixture: dotted order %q: %w", kv["dotted_order"], err)
		}
		end := start.Add(5 * time.Millisecond)
		r := Run{
			ID: kv["run_id"], TenantID: tenantID, SessionID: sessionID, TraceID: kv["trace_id"],
			Name: fields[0], RunType: runTypes[fields[0]], StartTime: start.UTC(), EndTime: &end, Status: "success",
			DottedOrder: kv["dotted_order"], ParentRunIDs: []string{}, Tags: []string{},
		}
		if p := kv["parent_run_id"]; p != "null" {
			r.ParentRunID = &p
		}
		for _, s := range segs[:len(segs)-1] {
			_, id, _ := strings.Cut(s, "Z")
			r.ParentRunIDs = append(r.ParentRunIDs, id)
		}
		r.IsRoot = r.ParentRunID == nil
		out = append(out, r)
	}
	return out, nil
}

func openAIExample(tenantID, sessionID string) (Run, error) {
	var pp struct {
		Post  []map[string]json.RawMessage `json:"post"`
		Patch []map[string]json.RawMessage `json:"patch"`
	}
	if err := json.Unmarshal(example("langsmith-sdk__py_wrap_openai__post_patch.json"), &pp); err != nil {
		return Run{}, err
	}
	m := pp.Post[0]
	for k, v := range pp.Patch[0] {
		m[k] = v
	}
	start, err := naiveTime(*text(m, "start_time"))
	if err != nil {
		return Run{}, err
	}
	end, err := naiveTime(*text(m, "end_time"))
	if err != nil {
		return Run{}, err
	}
	var out struct {
		Usage struct {
			Input  int64 `json:"input_tokens"`
			Output int64 `json:"output_tokens"`
			Total  int64 `json:"total_tokens"`
		} `json:"usage_metadata"`
	}
	if err := json.Unmarshal(m["outputs"], &out); err != nil {
		return Run{}, err
	}
	r := Run{
		ID: *text(m, "id"), TenantID: tenantID, SessionID: sessionID, TraceID: *text(m, "trace_id"),
		ParentRunID: text(m, "parent_run_id"), ParentRunIDs: []string{},
		Name: *text(m, "name"), RunType: *text(m, "run_type"), StartTime: start, EndTime: &end, Status: "success",
		DottedOrder: *text(m, "dotted_order"), Inputs: raw(m, "inputs"), Outputs: raw(m, "outputs"),
		Extra: raw(m, "extra"), Events: raw(m, "events"), Tags: stringList(m, "tags"),
		PromptTokens: &out.Usage.Input, CompletionTokens: &out.Usage.Output, TotalTokens: &out.Usage.Total,
	}
	r.IsRoot = r.ParentRunID == nil
	return r, nil
}
