package importer

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/lakefuse/lakefuse/hive"
	"github.com/lakefuse/lakefuse/internal/jsonx"
	lf "github.com/lakefuse/lakefuse/internal/langfuse"
	"github.com/lakefuse/lakefuse/schema"
)

// ScopeName is the instrumentation scope of the spans the importer sends.
// Langfuse leaves span attributes out of the observation metadata for scopes
// named langfuse-sdk…, which keeps the imported metadata what it was.
const ScopeName = "langfuse-sdk-lakefuse-import"

// runInfo is what a v4 destination needs on the spans of a dataset run item.
type runInfo struct {
	runID, runName, datasetID, itemID string
	description, metadata             *string
	itemVersion                       *time.Time
	expectedOutput, itemMetadata      *string
	// rootObs is the source id of the run item's observation; "" when the
	// run item names only its trace (then the trace's root is the item's).
	rootObs string
}

// runIndex finds the run item of a span. The SDKs put every
// langfuse.experiment.* attribute, root_observation_id included, on every
// span of an item's run (langfuse-python langfuse/_client/propagation.py,
// client.py run_experiment: the task span, its subtree and the item-run span
// above it), and Langfuse v4 sums cost, errors and prompts over every row
// with an experiment id (packages/shared/src/server/queries/clickhouse-sql/
// event-query-builder.ts EXPERIMENTS_AGGREGATION_FIELDS). So every span of
// a trace with a run item carries that item's attributes.
type runIndex struct {
	bySpan  map[string]*runInfo // source observation id of a run item
	byTrace map[string]*runInfo // source trace id: the trace's first run item
}

func (r *runIndex) of(traceID, spanID string) *runInfo {
	if r == nil {
		return nil
	}
	if ri := r.bySpan[spanID]; ri != nil {
		return ri
	}
	return r.byTrace[traceID]
}

// buildRunIndex indexes the dataset run items by observation and trace.
func (im *importer) buildRunIndex(ctx context.Context) (*runIndex, error) {
	runs := map[string]*schema.DatasetRun{}
	if err := each(ctx, im, func(r *schema.DatasetRun) error { runs[r.ID] = r; return nil }); err != nil {
		return nil, err
	}
	out := &runIndex{bySpan: map[string]*runInfo{}, byTrace: map[string]*runInfo{}}
	err := each(ctx, im, func(ri *schema.DatasetRunItem) error {
		info := &runInfo{runID: ri.DatasetRunID, runName: ri.DatasetRunName, itemID: ri.DatasetItemID,
			itemVersion: ri.ExperimentItemVersion, expectedOutput: ri.ExpectedOutput, itemMetadata: ri.ExperimentItemMetadata}
		if r := runs[ri.DatasetRunID]; r != nil {
			info.description, info.metadata = r.Description, r.Metadata
			if info.runName == "" {
				info.runName = r.Name
			}
		}
		ds := ri.DatasetID
		if ds == nil {
			if r := runs[ri.DatasetRunID]; r != nil {
				ds = r.DatasetID
			}
		}
		if ds != nil {
			if d, ok := im.led.id("dataset", *ds); ok {
				info.datasetID = d
			} else {
				info.datasetID = *ds
			}
		}
		if ri.ObservationID != nil && *ri.ObservationID != "" {
			info.rootObs = *ri.ObservationID
			if out.bySpan[info.rootObs] == nil {
				out.bySpan[info.rootObs] = info
			}
		}
		if out.byTrace[ri.TraceID] == nil {
			out.byTrace[ri.TraceID] = info
		}
		return nil
	})
	return out, err
}

// ---------------------------------------------------------------------------------------------
// Attribute helpers

// spanRec is a span encoded as it is built: the importer writes the OTLP
// protobuf by hand (field order and encoding as proto.Marshal makes them,
// which the tests check) because building and marshalling tracepb structs
// was most of its CPU time.
//
// A span whose ids are not all lowercase OTel hex cannot go as protobuf
// without changing them: json is set, the byte ids are empty, and the batch
// writes the span as OTLP/JSON from tid, sid, pid and attrs (spanjson.go).
type spanRec struct {
	traceID, spanID, parentID []byte
	tid, sid, pid             string // the destination ids
	json                      bool
	name                      string
	start, end                uint64
	attrs                     []byte // encoded Span.attributes fields
	err                       error  // the first string that protobuf cannot carry
}

// Field numbers of opentelemetry/proto/trace/v1 Span and common/v1 KeyValue,
// AnyValue and ArrayValue.
const (
	fSpanTraceID  = 1
	fSpanSpanID   = 2
	fSpanParentID = 4
	fSpanName     = 5
	fSpanKind     = 6
	fSpanStart    = 7
	fSpanEnd      = 8
	fSpanAttrs    = 9
	fKVKey        = 1
	fKVValue      = 2
	fAnyString    = 1
	fAnyBool      = 2
	fAnyArray     = 5
	fArrayValues  = 1
)

// checkUTF8 keeps what proto.Marshal guarantees: proto3 strings are UTF-8.
func (s *spanRec) checkUTF8(what, key, v string) {
	if s.err == nil && !utf8.ValidString(v) {
		s.err = fmt.Errorf("%s %q is not valid UTF-8 (protobuf strings must be)", what, key)
	}
}

// anyString is the size of an AnyValue{string_value: v}.
func anyStringSize(v string) int { return protowire.SizeTag(fAnyString) + protowire.SizeBytes(len(v)) }

func (s *spanRec) kv(k string, valueSize int) {
	s.checkUTF8("attribute key", k, k)
	kvSize := protowire.SizeTag(fKVKey) + protowire.SizeBytes(len(k)) + protowire.SizeTag(fKVValue) + protowire.SizeBytes(valueSize)
	s.attrs = protowire.AppendTag(s.attrs, fSpanAttrs, protowire.BytesType)
	s.attrs = protowire.AppendVarint(s.attrs, uint64(kvSize))
	s.attrs = protowire.AppendTag(s.attrs, fKVKey, protowire.BytesType)
	s.attrs = protowire.AppendString(s.attrs, k)
	s.attrs = protowire.AppendTag(s.attrs, fKVValue, protowire.BytesType)
	s.attrs = protowire.AppendVarint(s.attrs, uint64(valueSize))
}

func (s *spanRec) str(k, v string) {
	s.checkUTF8("attribute", k, v)
	s.kv(k, anyStringSize(v))
	s.attrs = protowire.AppendTag(s.attrs, fAnyString, protowire.BytesType)
	s.attrs = protowire.AppendString(s.attrs, v)
}

func (s *spanRec) boolean(k string, v bool) {
	s.kv(k, protowire.SizeTag(fAnyBool)+1)
	s.attrs = protowire.AppendTag(s.attrs, fAnyBool, protowire.VarintType)
	s.attrs = protowire.AppendVarint(s.attrs, protowire.EncodeBool(v))
}

func (s *spanRec) list(k string, vs []string) {
	arr := 0
	for _, v := range vs {
		s.checkUTF8("attribute", k, v)
		arr += protowire.SizeTag(fArrayValues) + protowire.SizeBytes(anyStringSize(v))
	}
	s.kv(k, protowire.SizeTag(fAnyArray)+protowire.SizeBytes(arr))
	s.attrs = protowire.AppendTag(s.attrs, fAnyArray, protowire.BytesType)
	s.attrs = protowire.AppendVarint(s.attrs, uint64(arr))
	for _, v := range vs {
		s.attrs = protowire.AppendTag(s.attrs, fArrayValues, protowire.BytesType)
		s.attrs = protowire.AppendVarint(s.attrs, uint64(anyStringSize(v)))
		s.attrs = protowire.AppendTag(s.attrs, fAnyString, protowire.BytesType)
		s.attrs = protowire.AppendString(s.attrs, v)
	}
}

// size is the size of the encoded Span message.
func (s *spanRec) size() int {
	n := protowire.SizeTag(fSpanTraceID) + protowire.SizeBytes(len(s.traceID)) +
		protowire.SizeTag(fSpanSpanID) + protowire.SizeBytes(len(s.spanID)) +
		protowire.SizeTag(fSpanKind) + 1 + len(s.attrs)
	if len(s.parentID) > 0 {
		n += protowire.SizeTag(fSpanParentID) + protowire.SizeBytes(len(s.parentID))
	}
	if s.name != "" {
		n += protowire.SizeTag(fSpanName) + protowire.SizeBytes(len(s.name))
	}
	if s.start != 0 {
		n += protowire.SizeTag(fSpanStart) + 8
	}
	if s.end != 0 {
		n += protowire.SizeTag(fSpanEnd) + 8
	}
	return n
}

// appendTo appends the Span message (without its tag and length) in field
// number order, leaving out proto3 zero values, as proto.Marshal does.
func (s *spanRec) appendTo(b []byte) []byte {
	b = protowire.AppendTag(b, fSpanTraceID, protowire.BytesType)
	b = protowire.AppendBytes(b, s.traceID)
	b = protowire.AppendTag(b, fSpanSpanID, protowire.BytesType)
	b = protowire.AppendBytes(b, s.spanID)
	if len(s.parentID) > 0 {
		b = protowire.AppendTag(b, fSpanParentID, protowire.BytesType)
		b = protowire.AppendBytes(b, s.parentID)
	}
	if s.name != "" {
		b = protowire.AppendTag(b, fSpanName, protowire.BytesType)
		b = protowire.AppendString(b, s.name)
	}
	b = protowire.AppendTag(b, fSpanKind, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(tracepb.Span_SPAN_KIND_INTERNAL))
	if s.start != 0 {
		b = protowire.AppendTag(b, fSpanStart, protowire.Fixed64Type)
		b = protowire.AppendFixed64(b, s.start)
	}
	if s.end != 0 {
		b = protowire.AppendTag(b, fSpanEnd, protowire.Fixed64Type)
		b = protowire.AppendFixed64(b, s.end)
	}
	return append(b, s.attrs...)
}

// ioText turns lake JSON text back into the string Langfuse stores: the
// exporter wrote stored text that is not JSON as a JSON string, so such a
// string goes back unquoted; anything else is sent as the JSON text it is.
func ioText(lake string) string {
	if len(lake) >= 2 && lake[0] == '"' {
		var s string
		if json.Unmarshal([]byte(lake), &s) == nil && !jsonx.Valid(s) {
			return s
		}
	}
	return lake
}

// metadataObject returns metadata as a JSON object text: Langfuse keeps
// metadata as an object and files anything else under the key "metadata".
func metadataObject(lake string) string {
	t := strings.TrimSpace(lake)
	if strings.HasPrefix(t, "{") && jsonx.Valid(t) {
		return t
	}
	var v any
	if json.Unmarshal([]byte(t), &v) != nil {
		v = t
	}
	b, _ := json.Marshal(map[string]any{"metadata": v})
	return string(b)
}

// numberObject is json.Marshal of a map of numbers (keys sorted), written
// without reflection: usage and cost travel on every generation. Keys that
// json.Marshal would escape, and values appendNum cannot write (it returns
// nil), are left to json.Marshal.
func numberObject[V int64 | float64](m map[string]V, appendNum func(b []byte, v V) []byte) string {
	keys := make([]string, 0, 8)
	n := 2
	for k := range m {
		for i := 0; i < len(k); i++ {
			if c := k[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
				return marshalString(m)
			}
		}
		keys = append(keys, k)
		n += len(k) + 24
	}
	slices.Sort(keys)
	b := make([]byte, 0, n)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, '"', ':')
		if b = appendNum(b, m[k]); b == nil {
			return marshalString(m)
		}
	}
	return string(append(b, '}'))
}

func marshalString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// appendJSONFloat writes f as encoding/json does (shortest representation,
// exponent form below 1e-6 and from 1e21 on, "e-07" written "e-7"); nil for
// NaN and infinities, which JSON cannot carry.
func appendJSONFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return jsonx.AppendFloat(b, f)
}

// lowerType is strings.ToLower of an observation type, without allocating
// for the types Langfuse has.
func lowerType(t string) string {
	switch t {
	case "SPAN":
		return "span"
	case "GENERATION":
		return "generation"
	case "EVENT":
		return "event"
	case "AGENT":
		return "agent"
	case "TOOL":
		return "tool"
	case "CHAIN":
		return "chain"
	case "RETRIEVER":
		return "retriever"
	case "EVALUATOR":
		return "evaluator"
	case "EMBEDDING":
		return "embedding"
	case "GUARDRAIL":
		return "guardrail"
	}
	return strings.ToLower(t)
}

func iso(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// span builds the OTLP span of an observation.
// The spanRec is reused by the next call: its bytes must be copied (add
// does) before then.
func (im *importer) span(o *schema.Observation, ta *traceAttrs, runs *runIndex) (*spanRec, error) {
	ids := im.ids()
	srcTrace := strOr(o.TraceID, "")
	traceID, spanID := ids.traceID(srcTrace), ids.spanID(o.ID)
	parent := strOr(o.ParentObservationID, "")
	switch {
	case parent != "" && im.gen == lf.V3 && parent == PlaceholderID(srcTrace):
		// v3 keeps no placeholder row: its trace is the placeholder
		// (traceCreates sends it), so its children are the roots.
		parent = ""
	case parent == "" && ta != nil && ta.placeholder && !isPlaceholderRoot(o):
		// A v3 trace whose I/O the root cannot carry into v4 gets the
		// placeholder Langfuse's own backfill gives it (placeholderSpan),
		// and its roots become the placeholder's children
		// (worker/src/backgroundMigrations/backfillEventsFullFromObservations.ts:
		// coalesce(parent_observation_id, concat('t-', trace_id))).
		parent = PlaceholderID(srcTrace)
	}
	root := parent == ""
	if !root {
		parent = ids.spanID(parent)
	}
	sp := &im.rec
	*sp = spanRec{tid: traceID, sid: spanID, pid: parent, name: strOr(o.Name, ""),
		start: uint64(o.StartTime.UnixNano()), attrs: sp.attrs[:0], traceID: sp.traceID[:0], spanID: sp.spanID[:0], parentID: sp.parentID[:0]}
	if sp.json = !protoIDs(traceID, spanID, parent); !sp.json {
		sp.traceID, sp.spanID = appendHex(sp.traceID, traceID), appendHex(sp.spanID, spanID)
		if !root {
			sp.parentID = appendHex(sp.parentID, parent)
		}
	}
	sp.checkUTF8("span name", sp.name, sp.name)
	if o.EndTime != nil {
		sp.end = uint64(o.EndTime.UnixNano())
	} else {
		// Langfuse copies the start when the end is missing; say so explicitly.
		sp.end = sp.start
	}
	a := sp
	a.str("langfuse.observation.type", lowerType(o.Type))
	a.str("langfuse.observation.level", o.Level)
	a.str("langfuse.environment", o.Environment)
	if o.StatusMessage != nil {
		a.str("langfuse.observation.status_message", *o.StatusMessage)
	}
	in, out := o.Input, o.Output
	perRow := im.traces != nil && im.traces.perRow
	var tp *tracePayload
	if root && ta != nil {
		var err error
		if tp, err = im.traces.payload(ta); err != nil {
			return nil, err
		}
		switch {
		case im.gen == lf.V3:
			// traceCreates sets the trace itself afterwards; these keep the
			// trace right until then.
			if tp.Input != nil {
				a.str("langfuse.trace.input", ioText(*tp.Input))
			}
			if tp.Output != nil {
				a.str("langfuse.trace.output", ioText(*tp.Output))
			}
		case !ta.placeholder:
			// v4 keeps no trace I/O of its own: it shows the root's. (A
			// trace with a placeholder keeps its I/O there.)
			if in == nil {
				in = tp.Input
			}
			if out == nil {
				out = tp.Output
			}
		}
		if tp.Metadata != nil {
			a.str("langfuse.trace.metadata", metadataObject(*tp.Metadata))
		}
		if ta.version != nil && o.Version == nil && im.gen == lf.V4 && !perRow {
			a.str("langfuse.version", *ta.version)
		}
	}
	if in != nil {
		a.str("langfuse.observation.input", ioText(*in))
	}
	if out != nil {
		a.str("langfuse.observation.output", ioText(*out))
	}
	if o.Metadata != nil {
		a.str("langfuse.observation.metadata", metadataObject(*o.Metadata))
	}
	if o.ProvidedModelName != nil {
		a.str("langfuse.observation.model.name", *o.ProvidedModelName)
	}
	if o.ModelParameters != nil {
		a.str("langfuse.observation.model.parameters", *o.ModelParameters)
	}
	if len(o.UsageDetails) > 0 {
		a.str("langfuse.observation.usage_details", numberObject(o.UsageDetails, func(b []byte, v int64) []byte { return strconv.AppendInt(b, v, 10) }))
	}
	if len(o.CostDetails) > 0 {
		a.str("langfuse.observation.cost_details", numberObject(o.CostDetails, appendJSONFloat))
	}
	if o.CompletionStartTime != nil {
		a.str("langfuse.observation.completion_start_time", iso(*o.CompletionStartTime))
	}
	if o.PromptName != nil {
		a.str("langfuse.observation.prompt.name", *o.PromptName)
		if o.PromptVersion != nil {
			v := *o.PromptVersion
			if d, ok := im.led.id("prompt_version", *o.PromptName+"\x00"+strconv.FormatInt(v, 10)); ok {
				v, _ = strconv.ParseInt(d, 10, 64)
			}
			a.str("langfuse.observation.prompt.version", strconv.FormatInt(v, 10))
		}
	}
	if o.Version != nil {
		a.str("langfuse.version", *o.Version)
	}
	if !root && o.IsRootObservation != nil && *o.IsRootObservation {
		a.boolean("langfuse.internal.is_app_root", true)
	}
	if perRow {
		// v4 keeps these per row (OtelIngestionProcessor.ts processToEvent
		// reads them from each span's own attributes) and aggregates them
		// per trace: each span carries its own row's values.
		traceAttrsOf(a, o.TraceName, o.UserID, o.SessionID, o.Release, o.Tags, o.Public != nil && *o.Public)
	} else if ta != nil {
		traceAttrsOf(a, ta.name, ta.user, ta.session, ta.release, ta.tags, ta.public)
	}
	if im.gen == lf.V4 {
		if ri := runs.of(srcTrace, o.ID); ri != nil {
			rootObs := ""
			switch {
			case ri.rootObs != "":
				rootObs = ids.spanID(ri.rootObs)
			case root:
				rootObs = spanID
			}
			experimentAttrs(a, ri, rootObs)
		}
	}
	if sp.err != nil {
		return nil, fmt.Errorf("observation %s: %w", o.ID, sp.err)
	}
	return sp, nil
}

// traceAttrsOf writes the trace attributes of a span; empty values (v4
// stores "" for none) are left out.
func traceAttrsOf(a *spanRec, name, user, session, release *string, tags []string, public bool) {
	for _, x := range []struct {
		k string
		v *string
	}{{"langfuse.trace.name", name}, {"langfuse.user.id", user}, {"langfuse.session.id", session}, {"langfuse.release", release}} {
		if x.v != nil && *x.v != "" {
			a.str(x.k, *x.v)
		}
	}
	if len(tags) > 0 {
		a.list("langfuse.trace.tags", tags)
	}
	if public {
		a.boolean("langfuse.trace.public", true)
	}
}

// isPlaceholderRoot reports the root row Langfuse v4 synthesises for a
// trace (migrated from its v3 tables, or written through the legacy path):
// id t-<traceId>, no parent, type SPAN
// (packages/shared/src/server/repositories/definitions.ts
// convertTraceToStagingObservation). This is the server's own rule
// (handleEventPropagationJob.ts: obs.id = concat('t-', obs.trace_id)). A
// lake of schema version 2 marks such rows (placeholder_root); the rule
// serves lakes of version 1.
func isPlaceholderRoot(o *schema.Observation) bool {
	if o.PlaceholderRoot != nil { // the exporter marked it (schema version 2)
		return *o.PlaceholderRoot
	}
	return o.TraceID != nil && o.ID == PlaceholderID(*o.TraceID) && (o.ParentObservationID == nil || *o.ParentObservationID == "") && o.Type == "SPAN"
}

// experimentAttrs writes the langfuse.experiment.* attributes of a run
// item; rootObs is the destination id of the item's root observation ("":
// not known for this span).
func experimentAttrs(a *spanRec, ri *runInfo, rootObs string) {
	a.str("langfuse.experiment.id", ri.runID)
	a.str("langfuse.experiment.name", ri.runName)
	a.str("langfuse.experiment.item.id", ri.itemID)
	if rootObs != "" {
		a.str("langfuse.experiment.item.root_observation_id", rootObs)
	}
	if ri.datasetID != "" {
		a.str("langfuse.experiment.dataset.id", ri.datasetID)
	}
	if ri.description != nil {
		a.str("langfuse.experiment.description", *ri.description)
	}
	if ri.metadata != nil {
		a.str("langfuse.experiment.metadata", metadataObject(*ri.metadata))
	}
	if ri.itemVersion != nil {
		a.str("langfuse.experiment.item.version", iso(*ri.itemVersion))
	}
	if ri.expectedOutput != nil {
		a.str("langfuse.experiment.item.expected_output", ioText(*ri.expectedOutput))
	}
	if ri.itemMetadata != nil {
		a.str("langfuse.experiment.item.metadata", metadataObject(*ri.itemMetadata))
	}
}

func strOr(p *string, def string) string {
	if p == nil {
		return def
	}
	return *p
}

func mustHex(s string) []byte { return appendHex(nil, s) }

// appendHex appends the bytes of lowercase hex (ids made by TraceID and SpanID).
func appendHex(b []byte, s string) []byte {
	for i := 0; i+1 < len(s); i += 2 {
		b = append(b, unhex(s[i])<<4|unhex(s[i+1]))
	}
	return b
}

func unhex(c byte) byte {
	if c >= 'a' {
		return c - 'a' + 10
	}
	return c - '0'
}

// ---------------------------------------------------------------------------------------------
// Batching and sending

// spanBatch is one OTLP request in the making. Spans are encoded as they
// are added (as ScopeSpans.spans fields), so the batch holds bytes, not
// protobuf structs: memory stays small and the garbage collector idle. A
// json batch holds OTLP/JSON spans instead (spans whose ids protobuf cannot
// carry); a request is one or the other.
type spanBatch struct {
	json bool
	segs []entry // rows entries
	buf  []byte  // encoded ScopeSpans.spans fields, after room bytes kept for the header
	room int
	n    int
	ids  []byte // id mapping lines for ids that changed
	key  string
	// The destination trace and span ids of the first and latest span, for
	// lookups: copies (the latest is copied into the same bytes each time).
	first            [2]string
	lastTid, lastSid []byte
}

// headerRoom is the space kept in front of a batch's spans for the request
// header, so that encode does not copy the spans.
var headerRoom = len(scopeHeader) + 2 + 2*(1+binary.MaxVarintLen64) + 16

// newSpanBatch makes a batch whose buffer holds capBytes of spans without
// growing (growing a 4 MiB buffer by doubling copied it again and again).
func newSpanBatch(capBytes int) *spanBatch {
	if p, ok := spanBufs.Get().(*[]byte); ok && cap(*p) >= headerRoom+capBytes {
		return &spanBatch{buf: (*p)[:headerRoom], room: headerRoom}
	}
	return &spanBatch{buf: make([]byte, headerRoom, headerRoom+capBytes), room: headerRoom}
}

// spanBufs keeps the buffers of sent protobuf batches for the next ones:
// a new 4 MiB buffer a batch was 2.8 GB of garbage at a million spans
// (issue 11).
var spanBufs sync.Pool

// newJSONBatch makes a batch of OTLP/JSON spans; they are few, so its
// buffer grows as needed.
func newJSONBatch() *spanBatch {
	return &spanBatch{json: true, buf: append(make([]byte, 0, 64<<10), jsonRequestHead...), room: len(jsonRequestHead)}
}

// spanBytes is the size of the encoded spans so far.
func (b *spanBatch) spanBytes() int {
	return len(b.buf) - b.room
}

func (b *spanBatch) add(file string, row int64, sp *spanRec, srcTrace, srcSpan string) error {
	if sp.err != nil {
		return fmt.Errorf("encode span %s: %w", srcSpan, sp.err)
	}
	if sp.json != b.json {
		return fmt.Errorf("span %s: a %s span in a %s batch", srcSpan, kindName(sp.json), kindName(b.json))
	}
	if sp.json {
		buf := b.buf
		if b.n > 0 {
			buf = append(buf, ',')
		}
		buf, err := appendJSONSpan(buf, sp)
		if err != nil {
			return fmt.Errorf("encode span %s: %w", srcSpan, err)
		}
		b.buf = buf
	} else {
		b.buf = protowire.AppendTag(b.buf, 2, protowire.BytesType)
		b.buf = protowire.AppendVarint(b.buf, uint64(sp.size()))
		b.buf = sp.appendTo(b.buf)
	}
	if n := len(b.segs); n > 0 && b.segs[n-1].File == file && b.segs[n-1].To == row {
		b.segs[n-1].To = row + 1
	} else {
		b.segs = append(b.segs, entry{K: "rows", Kind: "observations", File: file, From: row, To: row + 1})
	}
	// The ids may be views of the row's batch, which is reused after the
	// scan moves on (readOpts.alias): the batch keeps copies, and only of
	// its first and latest span.
	if b.n == 0 {
		b.first = [2]string{strings.Clone(sp.tid), strings.Clone(sp.sid)}
	}
	b.lastTid, b.lastSid = append(b.lastTid[:0], sp.tid...), append(b.lastSid[:0], sp.sid...)
	b.n++
	if sp.tid != srcTrace || sp.sid != srcSpan {
		line, _ := json.Marshal(map[string]string{"trace": srcTrace, "observation": srcSpan, "otel_trace": sp.tid, "otel_span": sp.sid})
		b.ids = append(append(b.ids, line...), '\n')
	}
	return nil
}

func kindName(json bool) string {
	if json {
		return "OTLP/JSON"
	}
	return "protobuf"
}

func (b *spanBatch) probe() []string {
	return []string{b.first[0], b.first[1], string(b.lastTid), string(b.lastSid)}
}

// scopeHeader is the encoded instrumentation scope of every request.
var scopeHeader = func() []byte {
	sc, _ := proto.Marshal(&commonpb.InstrumentationScope{Name: ScopeName, Version: "1"})
	return protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), sc)
}()

// encode wraps the spans into an ExportTraceServiceRequest: one
// ResourceSpans (empty resource) with one ScopeSpans. The header goes into
// the room newSpanBatch left in front of the spans (a batch made otherwise
// is copied).
func (b *spanBatch) encode() []byte {
	if b.json {
		return append(b.buf, jsonRequestTail...)
	}
	if b.room != headerRoom {
		b.buf = append(make([]byte, headerRoom, headerRoom+len(b.buf)), b.buf[b.room:]...)
		b.room = headerRoom
	}
	spans := len(b.buf) - headerRoom
	scopeSpansLen := len(scopeHeader) + spans
	resource := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), nil)
	rsLen := len(resource) + protowire.SizeTag(2) + protowire.SizeBytes(scopeSpansLen)
	head := make([]byte, 0, headerRoom)
	head = protowire.AppendTag(head, 1, protowire.BytesType)
	head = protowire.AppendVarint(head, uint64(rsLen))
	head = append(head, resource...)
	head = protowire.AppendTag(head, 2, protowire.BytesType)
	head = protowire.AppendVarint(head, uint64(scopeSpansLen))
	head = append(head, scopeHeader...)
	out := b.buf[headerRoom-len(head):]
	copy(out, head)
	return out
}

// sendBatch delivers one batch exactly once: intent, send, completion; an
// unknown outcome is looked up in the destination before it is resent.
func (im *importer) sendBatch(ctx context.Context, table string, b *spanBatch) error {
	body := b.encode()
	full := b.buf // body is its tail
	b.buf = nil
	segs, _ := json.Marshal(b.segs)
	b.key = fmt.Sprintf("obs:%s:%d", b.segs[0].File, b.segs[0].From)
	if err := im.led.write(ctx, entry{K: "intent", Kind: table, Key: b.key, Probe: b.probe(), Note: string(segs)}); err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		im.count(table, func(r *Result) { r.Requests++ })
		var err error
		if b.json {
			_, err = im.c.ExportOTLPJSON(ctx, body)
		} else {
			_, err = im.c.ExportOTLP(ctx, body)
		}
		if err == nil {
			break
		}
		if !errors.Is(err, lf.ErrOutcomeUnknown) {
			return fmt.Errorf("send %d spans: %w", b.n, err)
		}
		im.log.Warn("outcome of an OTLP request unknown; looking the spans up in the destination", "spans", b.n, "error", err)
		found, lerr := im.lookupSpans(ctx, b.probe())
		if lerr != nil {
			return fmt.Errorf("look up spans after an unknown outcome: %w", lerr)
		}
		if found {
			break
		}
		if attempt >= 10 {
			return fmt.Errorf("send %d spans: gave up after %d attempts with unknown outcome: %w", b.n, attempt, err)
		}
	}
	if !b.json {
		// Sent: the client keeps nothing of the body (it was gzipped into
		// the client's own buffer).
		full = full[:0]
		spanBufs.Put(&full)
	}
	return im.accept(ctx, table, b.key, b.segs, b.ids, int64(b.n))
}

func (im *importer) accept(ctx context.Context, table, key string, segs []entry, ids []byte, n int64) error {
	if err := im.led.writeIDMap(ctx, ids); err != nil {
		return err
	}
	done := make([]entry, len(segs))
	for i, s := range segs {
		s.Key = key
		done[i] = s
	}
	if err := im.led.write(ctx, done...); err != nil {
		return err
	}
	im.count(table, func(r *Result) { r.Sent += n })
	return nil
}

// lookupSpans reports whether the probe spans (trace, span pairs) are in the
// destination: looked up at once, then, while missing, for as long as the
// destination may still be ingesting them (waitIngested: about the lag it
// showed on accepted batches, at most --wait).
func (im *importer) lookupSpans(ctx context.Context, probe []string) (bool, error) {
	exist := func(probe []string) (bool, error) {
		for i := 0; i+1 < len(probe); i += 2 {
			ok, err := im.spanExists(ctx, probe[i], probe[i+1])
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	}
	return im.waitIngested(ctx, func() (bool, error) { return exist(probe) }, exist)
}

var errFound = errors.New("found")

func (im *importer) spanExists(ctx context.Context, traceID, spanID string) (bool, error) {
	var err error
	if im.gen == lf.V4 {
		err = im.c.ListObservationsV2(ctx, lf.ObservationsV2Query{TraceID: traceID, Fields: []string{"core"}}, func(page []lf.ObservationV2) error {
			for _, o := range page {
				if o.ID == spanID {
					return errFound
				}
			}
			return nil
		})
	} else {
		err = im.c.ListObservationsV1(ctx, lf.ObservationsV1Query{TraceID: traceID}, func(page []lf.ObservationV1) error {
			for _, o := range page {
				if o.ID == spanID {
					return errFound
				}
			}
			return nil
		})
	}
	if errors.Is(err, errFound) {
		return true, nil
	}
	return false, err
}

// resolveIntents settles requests of an earlier run whose outcome is unknown
// (an intent without completion): accepted ones are completed, the others
// cancelled so that their rows are sent again. They are looked up all
// together and at once, and the missing ones are waited for together (each
// re-checking only itself), so a run killed with n requests in flight costs
// one wait, not n.
func (im *importer) resolveIntents(ctx context.Context, table string, exists func(e entry) (bool, error), complete func(e entry) []entry) error {
	im.led.mu.Lock()
	var open []entry
	for _, e := range im.led.intents {
		if e.Kind == table {
			open = append(open, e)
		}
	}
	im.led.mu.Unlock()
	if len(open) == 0 {
		return nil
	}
	slices.SortFunc(open, func(a, b entry) int { return strings.Compare(a.Key, b.Key) })
	im.log.Info("an earlier run stopped after sending requests before Langfuse answered them; looking them up in the destination "+
		"before sending their rows again (Langfuse does not deduplicate, and it ingests asynchronously, so missing ones are waited for, all together)",
		"table", table, "requests", len(open), "wait_at_most", im.o.Wait)
	start := time.Now()
	found := make([]bool, len(open))
	p := im.newPool(ctx)
	p.g.SetLimit(max(16, im.o.Concurrency))
	for i, e := range open {
		if err := p.Go(func(context.Context) error {
			ok, err := exists(e)
			if err != nil {
				return fmt.Errorf("look up a request of an earlier run whose outcome is unknown: %w", err)
			}
			found[i] = ok
			return nil
		}); err != nil {
			break
		}
	}
	if err := p.Wait(nil); err != nil {
		return err
	}
	var resend int
	for i, e := range open {
		if found[i] {
			es := complete(e)
			for i := range es {
				es[i].Key = e.Key
			}
			if len(es) == 0 {
				es = []entry{{K: "done", Kind: "intent:" + e.Key, Key: e.Key}}
			}
			if err := im.led.write(ctx, es...); err != nil {
				return err
			}
			continue
		}
		resend++
		if err := im.led.write(ctx, entry{K: "cancel", Key: e.Key}); err != nil {
			return err
		}
	}
	im.log.Info("requests of the earlier run checked", "table", table, "in_destination", len(open)-resend, "to_send_again", resend,
		"took", time.Since(start).Round(time.Millisecond))
	return nil
}

// observations sends the observations table (and with it traces and
// sessions), then a root span for every trace that has no observation.
func (im *importer) observations(ctx context.Context) error {
	const table = "observations"
	err := im.resolveIntents(ctx, table, func(e entry) (bool, error) { return im.lookupSpans(ctx, e.Probe) },
		func(e entry) []entry {
			var segs []entry
			_ = json.Unmarshal([]byte(e.Note), &segs)
			return segs
		})
	if err != nil {
		return err
	}
	if err := im.checkIDMode(ctx); err != nil {
		return err
	}
	ix, err := im.buildTraceIndex(ctx)
	if err != nil {
		return err
	}
	im.traces = ix
	defer ix.close()
	runs, err := im.buildRunIndex(ctx)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// Unbuffered: at most Concurrency batches in flight and one being built.
	work := make(chan *spanBatch)
	var wg sync.WaitGroup
	for range im.o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				if err := im.sendBatch(ctx, table, b); err != nil {
					cancel(err)
				}
			}
		}()
	}
	// One batch of each kind in the making: protobuf for spans with OTel hex
	// ids (nearly all), OTLP/JSON for the others.
	var cur [2]*spanBatch
	fresh := func(json bool) *spanBatch {
		if json {
			return newJSONBatch()
		}
		return newSpanBatch(im.o.MaxBatchBytes)
	}
	flush := func(json bool) error {
		k := kindIndex(json)
		if cur[k] == nil || cur[k].n == 0 {
			return nil
		}
		select {
		case work <- cur[k]:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		cur[k] = fresh(json)
		return nil
	}
	add := func(file string, row int64, sp *spanRec, srcTrace, srcSpan string) error {
		k := kindIndex(sp.json)
		if cur[k] == nil {
			cur[k] = fresh(sp.json)
		}
		size := sp.size() + 8
		if sp.json {
			// JSON is larger than the protobuf: strings are escaped,
			// attributes spelled out.
			size = 2*size + 256
		}
		if b := cur[k]; b.n > 0 && (b.n >= im.o.MaxBatchSpans || b.spanBytes()+size > im.o.MaxBatchBytes) {
			if err := flush(sp.json); err != nil {
				return err
			}
		}
		return cur[k].add(file, row, sp, srcTrace, srcSpan)
	}
	var placeholders int64
	carried := im.newRowLog(table) // placeholder roots a v3 destination takes as traces
	scanErr := im.scanAll(ctx, func(f hive.FileEntry, row int64, o *schema.Observation) error {
		ta, err := ix.attrsFor(o)
		if err != nil {
			return err
		}
		if im.led.accepted(f.Path, row) {
			im.count(table, func(r *Result) { r.Already++ })
			return nil
		}
		if o.TraceID == nil || *o.TraceID == "" {
			im.count(table, func(r *Result) { r.Failed++ })
			im.note(table, "observation %s has no trace id and cannot be sent over OTLP", o.ID)
			return nil
		}
		if im.gen == lf.V3 && isPlaceholderRoot(o) {
			// v3 has no placeholder rows: the trace itself holds what the
			// row holds, and traceCreates sends it.
			placeholders++
			im.count(table, func(r *Result) { r.Skipped++ })
			return carried.add(ctx, f.Path, row)
		}
		sp, err := im.span(o, ta, runs)
		if err != nil {
			return err
		}
		return add(f.Path, row, sp, *o.TraceID, o.ID)
	})
	scanErr = errors.Join(scanErr, carried.flush(ctx))
	if placeholders > 0 {
		im.note(table, "%d placeholder roots (t-<traceId>) carried as their traces: a v3 destination keeps no placeholder rows", placeholders)
	}
	if scanErr == nil {
		scanErr = im.rootSpans(ctx, runs, add)
	}
	if scanErr == nil {
		scanErr = flush(false)
	}
	if scanErr == nil {
		scanErr = flush(true)
	}
	close(work)
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	if scanErr != nil {
		return scanErr
	}
	if im.gen == lf.V3 {
		return im.traceCreates(ctx)
	}
	return nil
}

// checkIDMode records in the ledger whether ids are rewritten and refuses
// to continue an import in the other mode: the destination would hold the
// same traces under two ids. Ledgers written before ids travelled
// verbatim, with observations in them, were rewriting.
func (im *importer) checkIDMode(ctx context.Context) error {
	mode := "verbatim"
	if im.o.RewriteIDs {
		mode = "rewrite"
	}
	im.led.mu.Lock()
	prev := im.led.meta["trace_ids"]
	im.led.mu.Unlock()
	if prev == "" {
		for _, f := range im.led.files() {
			if strings.HasPrefix(f, "observations/") || strings.HasPrefix(f, "roots:") {
				prev = "rewrite"
				break
			}
		}
	}
	switch {
	case prev == mode:
		return nil
	case prev == "rewrite":
		return fmt.Errorf("%w: the import into this project began with rewritten ids; continue it with --rewrite-ids", ErrOptions)
	case prev != "":
		return fmt.Errorf("%w: the import into this project began with ids kept as they are; continue it without --rewrite-ids", ErrOptions)
	}
	return im.led.write(ctx, entry{K: "meta", Kind: "trace_ids", Dst: mode})
}

func kindIndex(json bool) int {
	if json {
		return 1
	}
	return 0
}

// scanAll is scan without skipping whole files: every observation row marks
// its trace as having observations, which the root spans step needs.
func (im *importer) scanAll(ctx context.Context, fn func(f hive.FileEntry, row int64, o *schema.Observation) error) error {
	// Small record batches: observation rows carry their whole I/O, which is
	// copied into the span and not kept (alias).
	return readRows(ctx, im, readOpts{batch: 1024, alias: true}, fn)
}

// rootSpans sends the placeholder root (t-<traceId>, the row Langfuse v4
// makes for a trace from its v3 tables: worker/src/backgroundMigrations/
// createRootSpansFromTraces.ts) of every trace that needs one in a v4
// destination: a trace without observations (OTLP carries no trace without
// a span) and a v3 trace whose input or output only a placeholder keeps (see
// traceIndex.placeholders). A v3 destination needs none: traceCreates makes
// every trace.
func (im *importer) rootSpans(ctx context.Context, runs *runIndex, add func(file string, row int64, sp *spanRec, srcTrace, srcSpan string) error) error {
	if im.gen == lf.V3 {
		return nil
	}
	var empty, io int64
	for _, f := range im.files("traces") {
		key := "roots:" + f.Path
		err := readFile(ctx, im, f, readOpts{}, func(row int64, t *schema.Trace) error {
			ta, seen, err := im.traces.row(t.ID)
			if err != nil {
				return err
			}
			if ta == nil || seen && !ta.placeholder {
				return nil
			}
			if seen {
				io++
			} else {
				empty++
			}
			if im.led.accepted(key, row) {
				return nil
			}
			sp, err := im.placeholderSpan(t, ta, runs)
			if err != nil {
				return err
			}
			return add(key, row, sp, t.ID, PlaceholderID(t.ID))
		})
		if err != nil {
			return err
		}
	}
	if empty > 0 {
		im.note("observations", "%d traces without observations were given their placeholder root t-<traceId> (OTLP carries no trace without a span)", empty)
	}
	if io > 0 {
		im.note("observations", "%d v3 traces keep their input and output on a placeholder root t-<traceId>, as Langfuse's own v3-to-v4 migration does", io)
	}
	return nil
}

// placeholderSpan is the placeholder root of a trace: id t-<traceId>, type
// SPAN, no parent, zero duration at the trace's timestamp, with the trace's
// name, input, output, metadata and version (convertTraceToStagingObservation).
func (im *importer) placeholderSpan(t *schema.Trace, ta *traceAttrs, runs *runIndex) (*spanRec, error) {
	o := &schema.Observation{ID: PlaceholderID(t.ID), TraceID: &t.ID, Type: "SPAN", Name: t.Name, StartTime: t.Timestamp,
		EndTime: &t.Timestamp, Level: "DEFAULT", Environment: t.Environment, Version: t.Version,
		Input: t.Input, Output: t.Output, Metadata: t.Metadata}
	return im.span(o, ta, runs)
}
