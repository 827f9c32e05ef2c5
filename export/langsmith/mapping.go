package langsmith

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/lakefuse/lakefuse/internal/jsonx"
	"github.com/lakefuse/lakefuse/schema"
)

// observationType maps a LangSmith run_type (any case) to a Langfuse
// observation type. Types Langfuse lacks (prompt, parser, custom ones)
// become SPAN, with the run_type kept in metadata.
func observationType(runType string) string {
	switch strings.ToLower(strings.TrimSpace(runType)) {
	case "llm":
		return "GENERATION"
	case "embedding":
		return "EMBEDDING"
	case "tool":
		return "TOOL"
	case "retriever":
		return "RETRIEVER"
	case "chain":
		return "CHAIN"
	}
	return "SPAN"
}

// threadKeys are the metadata keys LangSmith groups threads by, in the
// order they are looked up; the first present is the Langfuse session.
var threadKeys = []string{"session_id", "thread_id", "conversation_id"}

// resolved is what mapping derives from a run and its context.
type resolved struct {
	id, traceID, parentID      string // canonical LangSmith ids; parentID "" for none
	root                       bool
	orphan                     bool
	start                      time.Time
	obsID, traceHex, parentHex string
}

// resolve works out a run's identity, place in its trace and start time,
// from the columns the file has: parent from parent_run_id, else from
// dotted_order, else from parent_run_ids; trace from trace_id, else the
// first level of dotted_order, else the first of parent_run_ids, else the
// run itself when it is a root. hasID reports whether a canonical run id is
// in the export.
func (r *run) resolve(v *view, hasID func(string) bool) (resolved, error) {
	var out resolved
	out.id, _ = canonicalID(r.id)
	var levels []dottedLevel
	needDotted := !v.hasParent || r.traceID == "" || r.start.IsZero()
	if needDotted && r.dottedOrder != "" {
		levels, _ = parseDottedOrder(r.dottedOrder)
	}
	var ancestors []string
	if r.parentRunIDs != "" && (!v.hasParent || r.traceID == "") && len(levels) == 0 {
		_ = json.Unmarshal(bytesOf(r.parentRunIDs), &ancestors)
	}
	switch {
	case v.hasParent:
		if r.parentRunID != "" {
			out.parentID, _ = canonicalID(r.parentRunID)
		}
	case len(levels) > 0:
		if len(levels) > 1 {
			out.parentID = levels[len(levels)-2].id
		}
	case v.hasParentIDs && r.parentRunIDs != "":
		if len(ancestors) > 0 {
			out.parentID, _ = canonicalID(ancestors[len(ancestors)-1])
		}
	case v.hasIsRoot && r.hasIsRoot && !r.isRoot:
		return out, fmt.Errorf("%w: run %s is not a root, but the file has no parent_run_id, dotted_order or parent_run_ids to place it", ErrBadRun, r.id)
	}
	out.root = out.parentID == ""
	traceIsUUID := true
	switch {
	case r.traceID != "":
		out.traceID, traceIsUUID = canonicalID(r.traceID)
	case len(levels) > 0:
		out.traceID = levels[0].id
	case len(ancestors) > 0:
		out.traceID, traceIsUUID = canonicalID(ancestors[0])
	case out.root:
		out.traceID, traceIsUUID = canonicalID(out.id)
	default:
		return out, fmt.Errorf("%w: run %s has no trace_id and no dotted_order or parent_run_ids to find its trace", ErrBadRun, r.id)
	}
	out.start = r.start
	if out.start.IsZero() {
		if len(levels) == 0 {
			return out, fmt.Errorf("%w: run %s has no start_time (nor a dotted_order to take it from)", ErrBadRun, r.id)
		}
		out.start = levels[len(levels)-1].t
	}
	out.orphan = out.parentID != "" && !hasID(out.parentID)
	out.obsID = spanHexOf(out.id)
	out.traceHex = traceHexOf(out.traceID, traceIsUUID)
	if out.parentID != "" && !out.orphan {
		out.parentHex = spanHexOf(out.parentID)
	}
	return out, nil
}

// kv is a member of a JSON object as written: quoted key, value text.
type kv struct{ key, val string }

func lookup(list []kv, name string) (string, bool) {
	for _, m := range list {
		if len(m.key) == len(name)+2 && m.key[1:len(m.key)-1] == name {
			if m.val == "null" {
				return "", false
			}
			return m.val, true
		}
	}
	return "", false
}

// extraParts is the run's extra JSON taken apart. The slices are reused
// from run to run.
type extraParts struct {
	object   bool // extra is a JSON object
	rest     []kv // members other than an object-valued metadata
	metadata []kv
	hasMeta  bool
	invoc    []kv
}

func (p *extraParts) split(extra string) {
	p.object, p.hasMeta = false, false
	p.rest, p.metadata, p.invoc = p.rest[:0], p.metadata[:0], p.invoc[:0]
	if extra == "" {
		return
	}
	p.object = jsonx.Members(extra, func(k, v string) bool {
		p.rest = append(p.rest, kv{k, v})
		return true
	})
	if !p.object {
		p.rest = p.rest[:0]
		return
	}
	for i := 0; i < len(p.rest); i++ {
		m := p.rest[i]
		switch m.key {
		case `"metadata"`:
			if p.hasMeta {
				continue // a repeated key stays in rest
			}
			if !jsonx.Members(m.val, func(k, v string) bool { p.metadata = append(p.metadata, kv{k, v}); return true }) {
				p.metadata = p.metadata[:0] // not an object: it stays in rest
				continue
			}
			p.hasMeta = true
			p.rest = append(p.rest[:i], p.rest[i+1:]...)
			i--
		case `"invocation_params"`:
			p.invoc = p.invoc[:0]
			jsonx.Members(m.val, func(k, v string) bool { p.invoc = append(p.invoc, kv{k, v}); return true })
		}
	}
}

func (p *extraParts) meta(k string) (string, bool) { return lookup(p.metadata, k) }

// unquote reads a JSON string value; ok is false for anything else.
func unquote(v string) (string, bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	if strings.IndexByte(v, '\\') < 0 {
		return v[1 : len(v)-1], true
	}
	var s string
	if json.Unmarshal(bytesOf(v), &s) != nil {
		return "", false
	}
	return s, true
}

// keyText reads a JSON string or number as text (thread ids are sometimes
// numbers).
func keyText(v string) (string, bool) {
	if s, ok := unquote(v); ok {
		return s, s != ""
	}
	if len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9') {
		return v, true
	}
	return "", false
}

// modelName follows the precedence of the research notes: ls_model_name,
// then invocation_params.model and .model_name, then inputs.model and
// .model_name.
func modelName(p *extraParts, inputs string) (string, bool) {
	if v, ok := p.meta("ls_model_name"); ok {
		if s, ok := unquote(v); ok && s != "" {
			return s, true
		}
	}
	for _, k := range []string{"model", "model_name"} {
		if v, ok := lookup(p.invoc, k); ok {
			if s, ok := unquote(v); ok && s != "" {
				return s, true
			}
		}
	}
	if inputs == "" || !strings.Contains(inputs, `"model`) {
		return "", false
	}
	var in []kv
	jsonx.Members(inputs, func(k, v string) bool { in = append(in, kv{k, v}); return true })
	for _, k := range []string{"model", "model_name"} {
		if v, ok := lookup(in, k); ok {
			if s, ok := unquote(v); ok && s != "" {
				return s, true
			}
		}
	}
	return "", false
}

// tokenUsage is LangChain's llm_output.token_usage (and LangChain.js's
// llmOutput.tokenUsage), where older LLM runs report their tokens.
type tokenUsage struct {
	Prompt     *int64 `json:"prompt_tokens"`
	Completion *int64 `json:"completion_tokens"`
	Total      *int64 `json:"total_tokens"`
	// LangChain.js spells them in camel case.
	PromptJS     *int64 `json:"promptTokens"`
	CompletionJS *int64 `json:"completionTokens"`
	TotalJS      *int64 `json:"totalTokens"`
}

// generations is LangChain's outputs.generations, whose messages carry
// usage_metadata.
type generations [][]struct {
	Message *struct {
		Kwargs *struct {
			UsageMetadata *usageMetadata `json:"usage_metadata"`
		} `json:"kwargs"`
	} `json:"message"`
}

// usageMetadata is LangChain's usage_metadata (in outputs or in
// extra.metadata): tokens, token details and, sometimes, costs.
type usageMetadata struct {
	Input, Output, Total             *int64
	InputDetails, OutputDetails      []detail
	InputCost, OutputCost, TotalCost *float64
}

type detail struct {
	key string
	n   int64
}

// UnmarshalJSON reads usage_metadata with the scanner: it is in every LLM
// run's outputs, and decoding it into maps costs more than the rest of the
// run's mapping.
func (u *usageMetadata) UnmarshalJSON(b []byte) error {
	if !u.parse(string(b)) {
		return fmt.Errorf("usage_metadata is not an object")
	}
	return nil
}

func (u *usageMetadata) parse(v string) bool {
	return jsonx.Members(v, func(k, val string) bool {
		switch k {
		case `"input_tokens"`:
			u.Input = jsonInt64(val)
		case `"output_tokens"`:
			u.Output = jsonInt64(val)
		case `"total_tokens"`:
			u.Total = jsonInt64(val)
		case `"input_cost"`:
			u.InputCost = jsonFloat(val)
		case `"output_cost"`:
			u.OutputCost = jsonFloat(val)
		case `"total_cost"`:
			u.TotalCost = jsonFloat(val)
		case `"input_token_details"`, `"output_token_details"`:
			var ds []detail
			jsonx.Members(val, func(dk, dv string) bool {
				if n := jsonInt64(dv); n != nil {
					if key, ok := unquote(dk); ok {
						ds = append(ds, detail{key, *n})
					}
				}
				return true
			})
			if k == `"input_token_details"` {
				u.InputDetails = ds
			} else {
				u.OutputDetails = ds
			}
		}
		return true
	})
}

// jsonInt64 reads a JSON number that is a whole number.
func jsonInt64(v string) *int64 {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return &n
	}
	if f := jsonFloat(v); f != nil && *f == math.Trunc(*f) && math.Abs(*f) < 1<<53 {
		n := int64(*f)
		return &n
	}
	return nil
}

func jsonFloat(v string) *float64 {
	if v == "" || v[0] == '"' || v == "null" || v == "true" || v == "false" {
		return nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return nil
	}
	return &f
}

// findUsage looks for usage_metadata in outputs (top level, then in
// LangChain generations), then in extra.metadata.
func findUsage(outputs string, p *extraParts) *usageMetadata {
	if outputs != "" && strings.Contains(outputs, `"usage_metadata"`) {
		if v, ok := jsonx.Member(outputs, "usage_metadata"); ok {
			var um usageMetadata
			if um.parse(v) {
				return &um
			}
		}
		if v, ok := jsonx.Member(outputs, "generations"); ok {
			var g generations
			if json.Unmarshal(bytesOf(v), &g) == nil {
				for _, gs := range g {
					for _, c := range gs {
						if c.Message != nil && c.Message.Kwargs != nil && c.Message.Kwargs.UsageMetadata != nil {
							return c.Message.Kwargs.UsageMetadata
						}
					}
				}
			}
		}
	}
	if v, ok := p.meta("usage_metadata"); ok {
		var um usageMetadata
		if um.parse(v) {
			return &um
		}
	}
	return nil
}

// findTokenUsage reads LangChain's llm_output.token_usage or LangChain.js's
// llmOutput.tokenUsage.
func findTokenUsage(outputs string) *tokenUsage {
	for _, path := range [][2]string{{"llm_output", "token_usage"}, {"llmOutput", "tokenUsage"}} {
		if !strings.Contains(outputs, path[1]) {
			continue
		}
		if o, ok := jsonx.Member(outputs, path[0]); ok {
			if v, ok := jsonx.Member(o, path[1]); ok {
				var tu tokenUsage
				if json.Unmarshal(bytesOf(v), &tu) == nil {
					return &tu
				}
			}
		}
	}
	return nil
}

// usage fills usage_details and cost_details of a generation or embedding:
// the token and cost columns when the export has them, else the usage the
// run's outputs (or extra.metadata.usage_metadata) report. Token details
// (cache reads, reasoning) come from usage_metadata and are keyed and
// subtracted the way Langfuse's LangChain integration does it
// (input_cache_read, output_reasoning), so that Langfuse prices them once.
func usage(r *run, p *extraParts) (map[string]int64, map[string]float64, *float64) {
	u := map[string]int64{}
	set := func(k string, v *int64) {
		if v != nil {
			u[k] = *v
		}
	}
	um := findUsage(r.outputs, p)
	names := [3]string{iTotal: "total", iPrompt: "input", iCompletion: "output"}
	switch {
	case r.tokens[iPrompt].ok || r.tokens[iCompletion].ok || r.tokens[iTotal].ok:
		for k := range 3 {
			if r.tokens[k].ok {
				u[names[k]] = r.tokens[k].v
			}
		}
	case um != nil:
		set("input", um.Input)
		set("output", um.Output)
		set("total", um.Total)
	default:
		if tu := findTokenUsage(r.outputs); tu != nil {
			set("input", cmpOr(tu.Prompt, tu.PromptJS))
			set("output", cmpOr(tu.Completion, tu.CompletionJS))
			set("total", cmpOr(tu.Total, tu.TotalJS))
		}
	}
	if um != nil {
		for _, d := range um.InputDetails {
			u["input_"+d.key] = d.n
			if n, ok := u["input"]; ok {
				u["input"] = max(0, n-d.n)
			}
		}
		for _, d := range um.OutputDetails {
			u["output_"+d.key] = d.n
			if n, ok := u["output"]; ok {
				u["output"] = max(0, n-d.n)
			}
		}
	}
	c := map[string]float64{}
	for k := range 3 {
		if r.costs[k].ok {
			c[names[k]] = r.costs[k].v
		}
	}
	if len(c) == 0 && um != nil {
		for name, v := range map[string]*float64{"input": um.InputCost, "output": um.OutputCost, "total": um.TotalCost} {
			if v != nil {
				c[name] = *v
			}
		}
	}
	var total *float64
	if v, ok := c["total"]; ok {
		total = &v
	}
	if len(u) == 0 {
		u = nil
	}
	if len(c) == 0 {
		c = nil
	}
	return u, c, total
}

func cmpOr(a, b *int64) *int64 {
	if a != nil {
		return a
	}
	return b
}

// eventTime reads an event's time: ISO text (naive means UTC) or epoch
// number.
func eventTime(v string) (time.Time, bool) {
	if s, ok := unquote(v); ok {
		t, err := parseTime(s)
		return t, err == nil
	}
	if v == "" || !isNumber(v) {
		return time.Time{}, false
	}
	t, err := epochText(v)
	return t, err == nil
}

// tokenEvents summarises a streaming run's new_token events: a long
// completion has thousands, each repeating a piece of the output. Unless
// keep is set, they are replaced by their count and first and last times;
// every other event is kept as it is.
type tokenEvents struct {
	kept        []string
	n           int
	first, last time.Time
	valid       bool
}

func (te *tokenEvents) split(events string, keep bool) {
	te.kept, te.n, te.first, te.last, te.valid = te.kept[:0], 0, time.Time{}, time.Time{}, true
	if events == "" || events == "[]" {
		return
	}
	te.valid = jsonx.Elements(events, func(e string) bool {
		if strings.Contains(e, `"new_token"`) {
			var name, tm string
			jsonx.Members(e, func(k, v string) bool {
				switch k {
				case `"name"`:
					name = v
				case `"time"`:
					tm = v
				}
				return true
			})
			if name == `"new_token"` {
				te.n++
				if t, ok := eventTime(tm); ok {
					if te.first.IsZero() || t.Before(te.first) {
						te.first = t
					}
					if t.After(te.last) {
						te.last = t
					}
				}
				if !keep {
					return true
				}
			}
		}
		te.kept = append(te.kept, e)
		return true
	})
}

// stringList reads a JSON array of strings, tolerating other elements.
func stringList(s string) []string {
	if s == "" {
		return nil
	}
	out := []string{}
	ok := jsonx.Elements(s, func(v string) bool {
		if str, ok := unquote(v); ok {
			out = append(out, strings.Clone(str))
		} else {
			out = append(out, strings.Clone(v))
		}
		return true
	})
	if !ok {
		return []string{strings.Clone(s)}
	}
	return out
}

// mapOptions are the settings mapping needs.
type mapOptions struct {
	environment     string
	keepTokenEvents bool
}

// mapper converts runs into rows. Its JSON output goes into an arena that
// the rows' strings point into; reset decides when it is reused.
type mapper struct {
	opts  mapOptions
	arena []byte
	ex    extraParts
	te    tokenEvents
}

// finish returns the text appended to the arena since start. The string
// shares the arena's bytes, which are never written again until reset.
func (mp *mapper) finish(start int) string {
	if len(mp.arena) == start {
		return ""
	}
	return unsafe.String(&mp.arena[start], len(mp.arena)-start)
}

// mapped is one run converted.
type mapped struct {
	obs   schema.Observation
	trace *schema.Trace // root runs
	// session is the Langfuse session (thread) of the run, "" for none.
	session string
	user    string
	res     resolved
}

// jsonText returns s as a JSON value for a JSON column: s itself when it is
// valid JSON, else s as a JSON string, so that nothing is lost and every
// reader can parse the column. Empty means null.
func (mp *mapper) jsonText(s string) *string {
	if s == "" {
		return nil
	}
	if jsonx.Valid(s) {
		return &s
	}
	start := len(mp.arena)
	mp.arena = appendString(mp.arena, s)
	q := mp.finish(start)
	return &q
}

// rawJSON appends s to o as a JSON value (quoted when it is not JSON).
func rawJSON(o *obj, k, s string) {
	if jsonx.Valid(s) {
		o.raw(k, s)
	} else {
		o.str(k, s)
	}
}

// mapRun converts one resolved run. project and tenant are the partition
// values of its file; exportID names the export it came from.
func (mp *mapper) mapRun(r *run, res resolved, project, tenant, exportID string, m *mapped) {
	ex := &mp.ex
	ex.split(r.extra)
	typ := observationType(r.runType)
	m.res = res
	m.obs = schema.Observation{
		ID: m.res.obsID, TraceID: &m.res.traceHex, Type: typ, StartTime: res.start, Level: "DEFAULT", Environment: mp.opts.environment,
	}
	obs := &m.obs
	root := res.parentHex == ""
	obs.IsRootObservation = &root
	if res.parentHex != "" {
		obs.ParentObservationID = &m.res.parentHex
	}
	if r.hasName {
		name := r.name
		obs.Name = &name
	}
	if !r.end.IsZero() {
		end := r.end
		obs.EndTime = &end
		lat := r.end.Sub(res.start).Seconds()
		obs.Latency = &lat
	}
	if r.errText != "" || strings.EqualFold(r.status, "error") {
		obs.Level = "ERROR"
		if r.errText != "" {
			msg := r.errText
			obs.StatusMessage = &msg
		}
	}
	if v, ok := ex.meta("revision_id"); ok {
		if s, ok := keyText(v); ok {
			obs.Version = &s
		}
	}
	obs.Input = mp.jsonText(r.inputs)
	obs.Output = mp.jsonText(r.outputs)

	mp.te.split(r.events, mp.opts.keepTokenEvents)
	completionStart := r.firstToken
	if completionStart.IsZero() {
		completionStart = mp.te.first
	}
	if !completionStart.IsZero() {
		obs.CompletionStartTime = &completionStart
		ttft := completionStart.Sub(res.start).Seconds()
		obs.TimeToFirstToken = &ttft
	}

	// Usage only where LangSmith counts a run's own tokens: chains and
	// roots carry their subtree's totals, which Langfuse would add again.
	if typ == "GENERATION" || typ == "EMBEDDING" {
		if name, ok := modelName(ex, r.inputs); ok {
			obs.ProvidedModelName = &name
		}
		obs.ModelParameters = mp.modelParameters()
		obs.UsageDetails, obs.CostDetails, obs.TotalCost = usage(r, ex)
	}

	m.session, m.user = "", ""
	for _, k := range threadKeys {
		if v, ok := ex.meta(k); ok {
			if s, ok := keyText(v); ok {
				m.session = s
				break
			}
		}
	}
	if v, ok := ex.meta("user_id"); ok {
		if s, ok := keyText(v); ok {
			m.user = s
		}
	}

	meta := mp.metadataJSON(r, res, project, tenant, exportID)
	obs.Metadata = &meta

	m.trace = nil
	if res.root {
		t := &schema.Trace{
			ID: m.res.traceHex, Timestamp: res.start, Environment: mp.opts.environment,
			Input: obs.Input, Output: obs.Output, Metadata: obs.Metadata, Version: obs.Version, Latency: obs.Latency,
		}
		t.Name = obs.Name
		if m.session != "" {
			t.SessionID = &m.session
		}
		if m.user != "" {
			t.UserID = &m.user
		}
		t.Tags = stringList(r.tags)
		// The root's cost is LangSmith's total for the whole trace.
		if r.costs[iTotal].ok {
			c := r.costs[iTotal].v
			t.TotalCost = &c
		}
		m.trace = t
	}
}

// modelParameters are the invocation parameters without the model's name
// and LangChain's class tag, completed by the ls_* parameters LangSmith
// records in metadata.
func (mp *mapper) modelParameters() *string {
	ex := &mp.ex
	start := len(mp.arena)
	o := obj{b: mp.arena}
	o.begin()
	for _, m := range ex.invoc {
		switch m.key {
		case `"model"`, `"model_name"`, `"_type"`:
			continue
		}
		o.rawKV(m.key, m.val)
	}
	for _, k := range []string{"temperature", "max_tokens", "stop", "top_p"} {
		if _, ok := lookup(ex.invoc, k); ok {
			continue
		}
		if v, ok := ex.meta("ls_" + k); ok {
			o.raw(k, v)
		}
	}
	empty := o.members() == 0
	o.end()
	mp.arena = o.b
	if empty {
		mp.arena = mp.arena[:start]
		return nil
	}
	s := mp.finish(start)
	return &s
}

// metadataJSON is the observation's metadata: the run's extra.metadata as
// it is, plus a "langsmith" object with everything else the run had that
// has no column of its own, so that nothing of the export is lost.
func (mp *mapper) metadataJSON(r *run, res resolved, project, tenant, exportID string) string {
	ex, te := &mp.ex, &mp.te
	start := len(mp.arena)
	o := obj{b: mp.arena}
	o.begin()
	userLangsmith := ""
	for _, m := range ex.metadata {
		if m.key == `"langsmith"` {
			userLangsmith = m.val
			continue
		}
		o.rawKV(m.key, m.val)
	}
	o.key("langsmith")
	o.begin()
	o.str("run_id", res.id)
	o.str("trace_id", res.traceID)
	if res.parentID != "" {
		o.str("parent_run_id", res.parentID)
	}
	if res.orphan {
		o.boolean("orphan", true)
	}
	if project != "" {
		o.str("session_id", project)
	}
	if tenant != "" {
		o.str("tenant_id", tenant)
	}
	if exportID != "" {
		o.str("export_id", exportID)
	}
	if r.runType != "" {
		o.str("run_type", r.runType)
	}
	if r.status != "" {
		o.str("status", r.status)
	}
	if r.dottedOrder != "" {
		o.str("dotted_order", r.dottedOrder)
	}
	if r.parentRunIDs != "" {
		rawJSON(&o, "parent_run_ids", r.parentRunIDs)
	}
	if r.traceTier != "" {
		o.str("trace_tier", r.traceTier)
	}
	if r.refExampleID != "" {
		o.str("reference_example_id", r.refExampleID)
	}
	if r.tags != "" {
		rawJSON(&o, "tags", r.tags)
	}
	switch {
	case !ex.object && r.extra != "":
		rawJSON(&o, "extra", r.extra)
	case len(ex.rest) > 0:
		o.key("extra")
		o.begin()
		for _, m := range ex.rest {
			o.rawKV(m.key, m.val)
		}
		o.end()
	}
	if !te.valid {
		o.str("events", r.events)
	} else if len(te.kept) > 0 {
		o.key("events")
		o.b = append(o.b, '[')
		for i, e := range te.kept {
			if i > 0 {
				o.b = append(o.b, ',')
			}
			o.b = append(o.b, e...)
		}
		o.b = append(o.b, ']')
	}
	if te.n > 0 {
		o.key("new_token_events")
		o.begin()
		o.int("count", int64(te.n))
		if !te.first.IsZero() {
			o.time("first", te.first)
			o.time("last", te.last)
		}
		o.end()
	}
	if r.fbStats != "" {
		rawJSON(&o, "feedback_stats", r.fbStats)
	}
	if hasUsage(r) {
		// The columns as exported: for chains and roots LangSmith's
		// totals over the subtree, which is why they are not usage here.
		o.key("usage")
		o.begin()
		for k := range 3 {
			if r.tokens[k].ok {
				o.int(tokenCols[k], r.tokens[k].v)
			}
		}
		for k := range 3 {
			if r.costs[k].ok {
				o.float(costCols[k], r.costs[k].v)
			}
		}
		o.end()
	}
	if !r.firstToken.IsZero() {
		o.time("first_token_time", r.firstToken)
	}
	if len(r.other) > 0 {
		o.key("columns")
		o.begin()
		for _, c := range r.other {
			if c.text {
				o.str(c.name, c.value)
			} else {
				rawJSON(&o, c.name, c.value)
			}
		}
		o.end()
	}
	if userLangsmith != "" {
		o.raw("metadata_langsmith", userLangsmith)
	}
	o.end()
	o.end()
	mp.arena = o.b
	return mp.finish(start)
}

func hasUsage(r *run) bool {
	for k := range 3 {
		if r.tokens[k].ok || r.costs[k].ok {
			return true
		}
	}
	return false
}
