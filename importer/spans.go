package importer

import (
	"context"
	"encoding/binary"
	"encoding/hex"
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

// runInfo is what a v4 destination needs on the span of a dataset run item.
type runInfo struct {
	runID, runName, datasetID, itemID string
	description, metadata             *string
	itemVersion                       *time.Time
	expectedOutput, itemMetadata      *string
}

// buildRunIndex maps the span ids (or "t:"+trace id for the root) of dataset
// run items to their experiment attributes.
func (im *importer) buildRunIndex(ctx context.Context) (map[string]*runInfo, error) {
	runs := map[string]*schema.DatasetRun{}
	if err := each(ctx, im, func(r *schema.DatasetRun) error { runs[r.ID] = r; return nil }); err != nil {
		return nil, err
	}
	out := map[string]*runInfo{}
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
		if ri.ObservationID != nil {
			out[SpanID(*ri.ObservationID)] = info
		} else {
			out["t:"+TraceID(ri.TraceID)] = info
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
type spanRec struct {
	traceID, spanID, parentID []byte
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
func (im *importer) span(o *schema.Observation, ta *traceAttrs, runs map[string]*runInfo) (*spanRec, error) {
	traceID := TraceID(strOr(o.TraceID, ""))
	spanID := SpanID(o.ID)
	sp := &im.rec
	*sp = spanRec{traceID: appendHex(sp.traceID[:0], traceID), spanID: appendHex(sp.spanID[:0], spanID), name: strOr(o.Name, ""),
		start: uint64(o.StartTime.UnixNano()), attrs: sp.attrs[:0], parentID: sp.parentID[:0]}
	sp.checkUTF8("span name", sp.name, sp.name)
	root := o.ParentObservationID == nil || *o.ParentObservationID == ""
	if !root {
		sp.parentID = appendHex(sp.parentID, SpanID(*o.ParentObservationID))
	}
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
	var tp *tracePayload
	if root && ta != nil {
		var err error
		if tp, err = im.traces.payload(ta); err != nil {
			return nil, err
		}
		if im.gen == lf.V3 {
			if tp.Input != nil {
				a.str("langfuse.trace.input", ioText(*tp.Input))
			}
			if tp.Output != nil {
				a.str("langfuse.trace.output", ioText(*tp.Output))
			}
		} else {
			// v4 keeps no trace I/O of its own: it shows the root's.
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
		if ta.version != nil && o.Version == nil {
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
	if ta != nil {
		if ta.name != nil {
			a.str("langfuse.trace.name", *ta.name)
		}
		if ta.user != nil {
			a.str("langfuse.user.id", *ta.user)
		}
		if ta.session != nil {
			a.str("langfuse.session.id", *ta.session)
		}
		if ta.release != nil {
			a.str("langfuse.release", *ta.release)
		}
		if len(ta.tags) > 0 {
			a.list("langfuse.trace.tags", ta.tags)
		}
		if ta.public {
			a.boolean("langfuse.trace.public", true)
		}
	}
	if im.gen == lf.V4 && runs != nil {
		ri := runs[spanID]
		if ri == nil && root {
			ri = runs["t:"+traceID]
		}
		if ri != nil {
			experimentAttrs(a, ri, spanID)
		}
	}
	if sp.err != nil {
		return nil, fmt.Errorf("observation %s: %w", o.ID, sp.err)
	}
	return sp, nil
}

func experimentAttrs(a *spanRec, ri *runInfo, spanID string) {
	a.str("langfuse.experiment.id", ri.runID)
	a.str("langfuse.experiment.name", ri.runName)
	a.str("langfuse.experiment.item.id", ri.itemID)
	a.str("langfuse.experiment.item.root_observation_id", spanID)
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

// rootSpan is the root observation made for a v3 trace without observations.
func (im *importer) rootSpan(t *schema.Trace, ta *traceAttrs) (*spanRec, error) {
	name := strOr(t.Name, "")
	o := &schema.Observation{ID: RootSpanID(t.ID), TraceID: &t.ID, Type: "SPAN", Name: &name, StartTime: t.Timestamp,
		EndTime: &t.Timestamp, Level: "DEFAULT", Environment: t.Environment}
	return im.span(o, ta, nil)
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
// protobuf structs: memory stays small and the garbage collector idle.
type spanBatch struct {
	segs  []entry // rows entries
	buf   []byte  // encoded ScopeSpans.spans fields, after room bytes kept for the header
	room  int
	n     int
	ids   []byte // id mapping lines for ids that changed
	key   string
	first [2][]byte // trace and span id of the first and last span, for lookups
	last  [2][]byte
}

// headerRoom is the space kept in front of a batch's spans for the request
// header, so that encode does not copy the spans.
var headerRoom = len(scopeHeader) + 2 + 2*(1+binary.MaxVarintLen64) + 16

// newSpanBatch makes a batch whose buffer holds capBytes of spans without
// growing (growing a 4 MiB buffer by doubling copied it again and again).
func newSpanBatch(capBytes int) *spanBatch {
	return &spanBatch{buf: make([]byte, headerRoom, headerRoom+capBytes), room: headerRoom}
}

// spanBytes is the size of the encoded spans so far.
func (b *spanBatch) spanBytes() int {
	return len(b.buf) - b.room
}

func (b *spanBatch) add(file string, row int64, sp *spanRec, srcTrace, srcSpan string) error {
	if sp.err != nil {
		return fmt.Errorf("encode span %s: %w", srcSpan, sp.err)
	}
	if n := len(b.segs); n > 0 && b.segs[n-1].File == file && b.segs[n-1].To == row {
		b.segs[n-1].To = row + 1
	} else {
		b.segs = append(b.segs, entry{K: "rows", Kind: "observations", File: file, From: row, To: row + 1})
	}
	b.buf = protowire.AppendTag(b.buf, 2, protowire.BytesType)
	b.buf = protowire.AppendVarint(b.buf, uint64(sp.size()))
	b.buf = sp.appendTo(b.buf)
	ids := [2][]byte{append([]byte(nil), sp.traceID...), append([]byte(nil), sp.spanID...)}
	if b.n == 0 {
		b.first = ids
	}
	b.last = ids
	b.n++
	dt, ds := hex.EncodeToString(sp.traceID), hex.EncodeToString(sp.spanID)
	if dt != srcTrace || ds != srcSpan {
		line, _ := json.Marshal(map[string]string{"trace": srcTrace, "observation": srcSpan, "otel_trace": dt, "otel_span": ds})
		b.ids = append(append(b.ids, line...), '\n')
	}
	return nil
}

func (b *spanBatch) probe() []string {
	return []string{hex.EncodeToString(b.first[0]), hex.EncodeToString(b.first[1]), hex.EncodeToString(b.last[0]), hex.EncodeToString(b.last[1])}
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
	b.buf = nil
	segs, _ := json.Marshal(b.segs)
	b.key = fmt.Sprintf("obs:%s:%d", b.segs[0].File, b.segs[0].From)
	if err := im.led.write(ctx, entry{K: "intent", Kind: table, Key: b.key, Probe: b.probe(), Note: string(segs)}); err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		im.count(table, func(r *Result) { r.Requests++ })
		_, err := im.c.ExportOTLP(ctx, body)
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
// destination, waiting up to the bound for asynchronous ingestion.
func (im *importer) lookupSpans(ctx context.Context, probe []string) (bool, error) {
	return im.waitFor(ctx, func() (bool, error) {
		for i := 0; i+1 < len(probe); i += 2 {
			ok, err := im.spanExists(ctx, probe[i], probe[i+1])
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	})
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
// cancelled so that their rows are sent again.
func (im *importer) resolveIntents(ctx context.Context, table string, exists func(e entry) (bool, error), complete func(e entry) []entry) error {
	im.led.mu.Lock()
	var open []entry
	for _, e := range im.led.intents {
		if e.Kind == table {
			open = append(open, e)
		}
	}
	im.led.mu.Unlock()
	for _, e := range open {
		found, err := exists(e)
		if err != nil {
			return fmt.Errorf("look up a request of an earlier run whose outcome is unknown: %w", err)
		}
		if found {
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
		if err := im.led.write(ctx, entry{K: "cancel", Key: e.Key}); err != nil {
			return err
		}
	}
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
	cur := newSpanBatch(im.o.MaxBatchBytes)
	flush := func() error {
		if cur.n == 0 {
			return nil
		}
		select {
		case work <- cur:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		cur = newSpanBatch(im.o.MaxBatchBytes)
		return nil
	}
	add := func(file string, row int64, sp *spanRec, srcTrace, srcSpan string) error {
		size := sp.size() + 8
		if cur.n > 0 && (cur.n >= im.o.MaxBatchSpans || cur.spanBytes()+size > im.o.MaxBatchBytes) {
			if err := flush(); err != nil {
				return err
			}
		}
		return cur.add(file, row, sp, srcTrace, srcSpan)
	}
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
		sp, err := im.span(o, ta, runs)
		if err != nil {
			return err
		}
		return add(f.Path, row, sp, *o.TraceID, o.ID)
	})
	if scanErr == nil {
		scanErr = im.rootSpans(ctx, add)
	}
	if scanErr == nil {
		scanErr = flush()
	}
	close(work)
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return scanErr
}

// scanAll is scan without skipping whole files: every observation row marks
// its trace as having observations, which the root spans step needs.
func (im *importer) scanAll(ctx context.Context, fn func(f hive.FileEntry, row int64, o *schema.Observation) error) error {
	for _, f := range im.files("observations") {
		var row int64
		// Small record batches: observation rows carry their whole I/O.
		err := hive.ScanFile(ctx, im.lake.Bucket(), f, hive.ScanOptions{BatchSize: 1024}, func(b hive.Batch) error {
			d, err := schema.NewDecoder(schema.Observations, b.Record.Schema())
			if err != nil {
				return err
			}
			// The row's I/O is copied into the span and not kept.
			d.AliasBinary()
			for i := 0; i < int(b.Record.NumRows()); i++ {
				var o schema.Observation
				if err := d.Decode(b.Record, i, &o); err != nil {
					return fmt.Errorf("%s/%s row %d: %w", im.lake.Bucket(), f.Path, row, err)
				}
				if err := redactRow(im, schema.Observations, &o); err != nil {
					return err
				}
				if err := fn(f, row, &o); err != nil {
					return err
				}
				row++
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// rootSpans sends one root span per trace without observations (a v3 trace
// can have none; OTLP cannot carry a trace without a span).
func (im *importer) rootSpans(ctx context.Context, add func(file string, row int64, sp *spanRec, srcTrace, srcSpan string) error) error {
	var made int64
	for _, f := range im.files("traces") {
		var row int64
		key := "roots:" + f.Path
		err := hive.ScanFile(ctx, im.lake.Bucket(), f, hive.ScanOptions{}, func(b hive.Batch) error {
			d, err := schema.NewDecoder(schema.Traces, b.Record.Schema())
			if err != nil {
				return err
			}
			for i := 0; i < int(b.Record.NumRows()); i, row = i+1, row+1 {
				var t schema.Trace
				if err := d.Decode(b.Record, i, &t); err != nil {
					return err
				}
				if err := redactRow(im, schema.Traces, &t); err != nil {
					return err
				}
				ta, seen, err := im.traces.row(t.ID)
				if err != nil {
					return err
				}
				if seen {
					continue
				}
				made++
				if im.led.accepted(key, row) {
					continue
				}
				sp, err := im.rootSpan(&t, ta)
				if err != nil {
					return err
				}
				if err := add(key, row, sp, t.ID, RootSpanID(t.ID)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if made > 0 {
		im.note("observations", "%d traces without observations were given a root span (OTLP carries no trace without a span)", made)
	}
	return nil
}
