package lsfixture

import (
	"encoding/json"
	"fmt"
	"iter"
	"maps"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/google/uuid"
)

// GenOptions shapes generated traces. The zero value makes small, plain
// traces; every field adds a kind of run that real exports have.
type GenOptions struct {
	Seed     uint64
	TenantID string // default: derived from Seed
	// SessionID is the LangSmith project; default: derived from Seed.
	SessionID string
	Start     time.Time // start of the first trace (default 2026-03-01T00:00Z)
	// TraceEvery is the time between trace starts (default 1m).
	TraceEvery time.Duration
	// Runs stops generating once this many runs were made (the last trace
	// is completed, so slightly more may come out); 0 means 1000.
	Runs int
	// Depth is the nesting depth of chains under the root (default 2).
	Depth int
	// Fanout is the number of steps per chain (default 3).
	Fanout int
	// StreamTokens is the number of new_token events of streaming LLM runs;
	// 0 makes no streaming runs.
	StreamTokens int
	// ErrorEvery makes every n-th run fail; 0 never.
	ErrorEvery int
	// PayloadBytes pads inputs and outputs to about this size.
	PayloadBytes int
	// Unicode puts non-ASCII text (CJK, emoji, RTL, combining marks) into
	// names, payloads, tags and metadata.
	Unicode bool
	// Threads spreads traces over this many thread ids (metadata
	// thread_id); 0 sets none.
	Threads int
}

func (o *GenOptions) defaults() {
	if o.Start.IsZero() {
		o.Start = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	}
	if o.TraceEvery == 0 {
		o.TraceEvery = time.Minute
	}
	if o.Runs == 0 {
		o.Runs = 1000
	}
	if o.Depth == 0 {
		o.Depth = 2
	}
	if o.Fanout == 0 {
		o.Fanout = 3
	}
	r := rand.New(rand.NewPCG(o.Seed, 0x15f1))
	if o.TenantID == "" {
		o.TenantID = newUUID(r)
	}
	if o.SessionID == "" {
		o.SessionID = newUUID(r)
	}
}

func newUUID(r *rand.Rand) string {
	var u uuid.UUID
	for i := range u {
		u[i] = byte(r.Uint32())
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u.String()
}

// DottedSegment is one level of a dotted_order: the run's start time and id.
func DottedSegment(t time.Time, id string) string {
	t = t.UTC()
	return t.Format("20060102T150405") + fmt.Sprintf("%06d", t.Nanosecond()/1000) + "Z" + id
}

const unicodeText = "héllo wörld 你好世界 🚀🔥 مرحبا שלום e\u0301 \u2028"

// gen builds traces.
type gen struct {
	o     GenOptions
	r     *rand.Rand
	n     int // runs made
	trace []Run
	pad   string
}

// Generate yields runs trace by trace, each trace's runs root first. Traces
// start TraceEvery apart; runs of a trace may cross midnight.
func Generate(o GenOptions) iter.Seq[Run] {
	o.defaults()
	return func(yield func(Run) bool) {
		g := &gen{o: o, r: rand.New(rand.NewPCG(o.Seed, 0x1a9e))}
		if o.PayloadBytes > 0 {
			g.pad = strings.Repeat("lorem ipsum ", o.PayloadBytes/12+1)[:o.PayloadBytes]
		}
		for t := 0; g.n < o.Runs; t++ {
			g.trace = g.trace[:0]
			g.makeTrace(t)
			for i := range g.trace {
				if !yield(g.trace[i]) {
					return
				}
			}
		}
	}
}

type usage struct {
	prompt, completion int64
	cost               float64
}

func (g *gen) text(s string) string {
	if g.o.Unicode {
		return s + " " + unicodeText
	}
	return s
}

func (g *gen) makeTrace(t int) {
	start := g.o.Start.Add(time.Duration(t) * g.o.TraceEvery)
	meta := map[string]any{"ls_run_depth": 0, "revision_id": "v1.2.3"}
	if g.o.Threads > 0 {
		meta["thread_id"] = fmt.Sprintf("thread-%d", t%g.o.Threads)
	}
	if g.o.Unicode {
		meta["user_note"] = unicodeText
	}
	var fb *string
	if t%5 == 0 {
		s := `{"correctness":{"n":2,"avg":0.5,"min":0,"max":1,"stdev":0.5,"errors":0,"values":{},"sources":["app"]},` +
			`"tone":{"n":1,"avg":null,"values":{"friendly":1},"comments":["nice"]}}`
		fb = &s
	}
	g.makeRun(start, nil, "chain", g.text(fmt.Sprintf("Trace %d", t)), meta, g.o.Depth, fb)
}

// makeRun appends a run and its subtree to g.trace and returns the subtree's
// usage, which LangSmith rolls up into the run's own token and cost columns.
func (g *gen) makeRun(start time.Time, parent *Run, runType, name string, meta map[string]any, depth int, fb *string) (u usage, end time.Time) {
	id := newUUID(g.r)
	g.n++
	run := Run{
		ID: id, TenantID: g.o.TenantID, SessionID: g.o.SessionID, Name: name, RunType: runType,
		StartTime: start, Status: "success", FeedbackStats: fb,
	}
	if parent == nil {
		run.TraceID = id
		run.IsRoot = true
		run.DottedOrder = DottedSegment(start, id)
		run.Tags = []string{"prod", g.text("gen")}
	} else {
		run.TraceID = parent.TraceID
		p := parent.ID
		run.ParentRunID = &p
		run.ParentRunIDs = append(append([]string{}, parent.ParentRunIDs...), parent.ID)
		run.DottedOrder = parent.DottedOrder + "." + DottedSegment(start, id)
		run.Tags = []string{}
	}
	tier := "longlived"
	run.TraceTier = &tier
	idx := len(g.trace)
	g.trace = append(g.trace, run)

	inputs := map[string]any{"input": g.text("question " + id[:8])}
	outputs := map[string]any{"output": g.text("answer " + id[:8])}
	if g.pad != "" {
		inputs["context"] = g.pad
		outputs["detail"] = g.pad
	}
	extra := map[string]any{"runtime": map[string]any{"sdk": "langsmith-py", "sdk_version": "0.3.1", "runtime": "python"}}
	var events []any
	end = start.Add(time.Duration(50+g.r.IntN(400)) * time.Millisecond)
	switch runType {
	case "chain":
		if depth > 0 {
			t := start.Add(time.Millisecond)
			kinds := []string{"retriever", "llm", "tool", "chain", "prompt", "parser", "embedding"}
			for i := 0; i < g.o.Fanout; i++ {
				k := kinds[(i+g.r.IntN(len(kinds)))%len(kinds)]
				if depth == 1 && k == "chain" {
					k = "llm"
				}
				cu, ce := g.makeRun(t, &g.trace[idx], k, g.text(k+"-step"), childMeta(meta), depth-1, nil)
				u.prompt += cu.prompt
				u.completion += cu.completion
				u.cost += cu.cost
				t = ce.Add(time.Millisecond)
			}
			end = t.Add(time.Millisecond)
		}
	case "retriever":
		outputs = map[string]any{"documents": []any{map[string]any{"page_content": g.text("doc"), "type": "Document", "metadata": map[string]any{"source": "kb"}}}}
		meta = maps.Clone(meta)
		meta["ls_retriever_name"] = "vectorstore"
		if depth > 0 {
			cu, ce := g.makeRun(start.Add(time.Millisecond), &g.trace[idx], "embedding", "embed-query", childMeta(meta), 0, nil)
			u = cu
			end = ce.Add(time.Millisecond)
		}
	case "embedding":
		u.prompt = 8
		meta = maps.Clone(meta)
		meta["ls_provider"] = "openai"
		meta["ls_model_name"] = "text-embedding-3-small"
		outputs = map[string]any{"embedding_dims": 1536}
	case "llm":
		u.prompt = int64(20 + g.r.IntN(500))
		u.completion = int64(5 + g.r.IntN(200))
		u.cost = float64(u.prompt)*1.5e-7 + float64(u.completion)*6e-7
		meta = maps.Clone(meta)
		meta["ls_provider"] = "openai"
		meta["ls_model_type"] = "chat"
		meta["ls_model_name"] = "gpt-4o-mini"
		meta["ls_temperature"] = 0.2
		extra["invocation_params"] = map[string]any{"model": "gpt-4o-mini-2024-07-18", "temperature": 0.2, "max_tokens": 256, "_type": "openai-chat"}
		inputs = map[string]any{"messages": []any{map[string]any{"role": "user", "content": g.text("howdy")}}}
		outputs = map[string]any{"choices": []any{map[string]any{"message": map[string]any{"role": "assistant", "content": g.text("Howdy! " + g.pad)}}},
			"usage_metadata": map[string]any{"input_tokens": u.prompt, "output_tokens": u.completion, "total_tokens": u.prompt + u.completion,
				"input_token_details": map[string]any{"cache_read": u.prompt / 2}, "output_token_details": map[string]any{"reasoning": 0}}}
		if g.o.StreamTokens > 0 && g.n%3 == 0 {
			events = append(events, map[string]any{"name": "start", "time": isoNaive(start)})
			t := start.Add(120 * time.Millisecond)
			first := t
			g.trace[idx].FirstTokenTime = &first
			for i := 0; i < g.o.StreamTokens; i++ {
				events = append(events, map[string]any{"name": "new_token", "time": isoNaive(t), "kwargs": map[string]any{"token": fmt.Sprintf("tok%d ", i)}})
				t = t.Add(3 * time.Millisecond)
			}
			end = t.Add(time.Millisecond)
			events = append(events, map[string]any{"name": "end", "time": isoNaive(end)})
		}
	case "tool":
		inputs = map[string]any{"query": g.text("weather in Berlin")}
		outputs = map[string]any{"output": "sunny"}
	}
	// Children were appended meanwhile: finish the run in place.
	run = g.trace[idx]
	run.EndTime = &end
	if g.o.ErrorEvery > 0 && g.n%g.o.ErrorEvery == 0 {
		run.Status = "error"
		e := g.text("ValueError: something broke\n  File \"app.py\", line 3")
		run.Error = &e
		outputs = nil
	}
	run.Inputs = jsonText(inputs)
	if outputs != nil {
		run.Outputs = jsonText(outputs)
	}
	extra["metadata"] = meta
	run.Extra = jsonText(extra)
	if events != nil {
		run.Events = jsonText(events)
	} else {
		s := "[]"
		run.Events = &s
	}
	pt, ct, tt := u.prompt, u.completion, u.prompt+u.completion
	run.PromptTokens, run.CompletionTokens, run.TotalTokens = &pt, &ct, &tt
	pc, cc := float64(u.prompt)*1.5e-7, float64(u.completion)*6e-7
	tc := pc + cc
	run.PromptCost, run.CompletionCost, run.TotalCost = &pc, &cc, &tc
	g.trace[idx] = run
	return u, end
}

func childMeta(parent map[string]any) map[string]any {
	m := make(map[string]any, len(parent)+4)
	for k, v := range parent {
		m[k] = v
	}
	if d, ok := parent["ls_run_depth"].(int); ok {
		m["ls_run_depth"] = d + 1
	}
	return m
}

func isoNaive(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000") }

func jsonText(v any) *string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	s := string(b)
	return &s
}

func jsonStrings(v []string) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
