package importer

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/lakefuse/lakefuse/hive"
	lf "github.com/lakefuse/lakefuse/internal/langfuse"
	"github.com/lakefuse/lakefuse/schema"
)

// ScopeName is the instrumentation scope of the spans the importer sends.
// Langfuse leaves span attributes out of the observation metadata for scopes
// named langfuse-sdk…, which keeps the imported metadata what it was.
const ScopeName = "langfuse-sdk-lakefuse-import"

// traceAttrs are the trace-level attributes sent on every span of a trace.
// Strings are interned: names, users, sessions and releases repeat.
type traceAttrs struct {
	name, user, session, release, version *string
	tags                                  []string
	public                                bool
	hasRow                                bool
	seen                                  bool
	ts                                    time.Time
	payloadOff                            int64 // offset of the trace's I/O and metadata in the spill file; -1: none
	payloadLen                            int32
}

// traceIndex holds the attributes of every trace in memory (about 150 bytes
// a trace) and spills the trace's input, output and metadata, needed only
// for its root span, to a temporary file.
type traceIndex struct {
	mu     sync.Mutex
	m      map[string]*traceAttrs
	intern map[string]*string
	spill  *os.File
	off    int64
}

type tracePayload struct {
	Input    *string `json:"i,omitempty"`
	Output   *string `json:"o,omitempty"`
	Metadata *string `json:"m,omitempty"`
}

func (ix *traceIndex) str(s *string) *string {
	if s == nil {
		return nil
	}
	if p, ok := ix.intern[*s]; ok {
		return p
	}
	v := *s
	ix.intern[v] = &v
	return &v
}

func (ix *traceIndex) close() {
	if ix != nil && ix.spill != nil {
		name := ix.spill.Name()
		_ = ix.spill.Close()
		_ = os.Remove(name)
	}
}

func (ix *traceIndex) payload(t *traceAttrs) (*tracePayload, error) {
	if t.payloadOff < 0 {
		return &tracePayload{}, nil
	}
	buf := make([]byte, t.payloadLen)
	if _, err := ix.spill.ReadAt(buf, t.payloadOff); err != nil {
		return nil, fmt.Errorf("read trace payload spill: %w", err)
	}
	var p tracePayload
	return &p, json.Unmarshal(buf, &p)
}

// buildTraceIndex reads the traces table once.
func (im *importer) buildTraceIndex(ctx context.Context) (*traceIndex, error) {
	f, err := os.CreateTemp("", "lakefuse-import-traces-*")
	if err != nil {
		return nil, fmt.Errorf("create a temporary file for trace payloads: %w", err)
	}
	ix := &traceIndex{m: map[string]*traceAttrs{}, intern: map[string]*string{}, spill: f}
	err = each(ctx, im, func(t *schema.Trace) error {
		a := &traceAttrs{name: ix.str(t.Name), user: ix.str(t.UserID), session: ix.str(t.SessionID), release: ix.str(t.Release),
			version: ix.str(t.Version), public: t.Public, hasRow: true, ts: t.Timestamp, payloadOff: -1}
		for _, tag := range t.Tags {
			a.tags = append(a.tags, *ix.str(&tag))
		}
		if t.Input != nil || t.Output != nil || t.Metadata != nil {
			b, err := json.Marshal(tracePayload{t.Input, t.Output, t.Metadata})
			if err != nil {
				return err
			}
			if _, err := ix.spill.WriteAt(b, ix.off); err != nil {
				return fmt.Errorf("spill trace payloads: %w", err)
			}
			a.payloadOff, a.payloadLen = ix.off, int32(len(b))
			ix.off += int64(len(b))
		}
		ix.m[t.ID] = a
		return nil
	})
	if err != nil {
		ix.close()
		return nil, err
	}
	return ix, nil
}

// attrsFor returns the trace attributes of an observation: the traces row,
// or the trace context a v4 observation row carries.
func (ix *traceIndex) attrsFor(o *schema.Observation) *traceAttrs {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	id := ""
	if o.TraceID != nil {
		id = *o.TraceID
	}
	a := ix.m[id]
	if a == nil {
		a = &traceAttrs{name: ix.str(o.TraceName), user: ix.str(o.UserID), session: ix.str(o.SessionID), release: ix.str(o.Release),
			tags: o.Tags, payloadOff: -1}
		if o.Public != nil {
			a.public = *o.Public
		}
		ix.m[id] = a
	}
	a.seen = true
	return a
}

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

func kvStr(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

func kvBool(k string, v bool) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: v}}}
}

func kvList(k string, vs []string) *commonpb.KeyValue {
	arr := &commonpb.ArrayValue{}
	for _, v := range vs {
		arr.Values = append(arr.Values, &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}})
	}
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: arr}}}
}

// ioText turns lake JSON text back into the string Langfuse stores: the
// exporter wrote stored text that is not JSON as a JSON string, so such a
// string goes back unquoted; anything else is sent as the JSON text it is.
func ioText(lake string) string {
	if len(lake) >= 2 && lake[0] == '"' {
		var s string
		if json.Unmarshal([]byte(lake), &s) == nil && !json.Valid([]byte(s)) {
			return s
		}
	}
	return lake
}

// metadataObject returns metadata as a JSON object text: Langfuse keeps
// metadata as an object and files anything else under the key "metadata".
func metadataObject(lake string) string {
	t := strings.TrimSpace(lake)
	if strings.HasPrefix(t, "{") && json.Valid([]byte(t)) {
		return t
	}
	var v any
	if json.Unmarshal([]byte(t), &v) != nil {
		v = t
	}
	b, _ := json.Marshal(map[string]any{"metadata": v})
	return string(b)
}

func iso(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// span builds the OTLP span of an observation.
func (im *importer) span(o *schema.Observation, ta *traceAttrs, runs map[string]*runInfo) (*tracepb.Span, error) {
	traceID := TraceID(strOr(o.TraceID, ""))
	spanID := SpanID(o.ID)
	sp := &tracepb.Span{TraceId: mustHex(traceID), SpanId: mustHex(spanID), Name: strOr(o.Name, ""),
		Kind: tracepb.Span_SPAN_KIND_INTERNAL, StartTimeUnixNano: uint64(o.StartTime.UnixNano())}
	root := o.ParentObservationID == nil || *o.ParentObservationID == ""
	if !root {
		sp.ParentSpanId = mustHex(SpanID(*o.ParentObservationID))
	}
	if o.EndTime != nil {
		sp.EndTimeUnixNano = uint64(o.EndTime.UnixNano())
	} else {
		// Langfuse copies the start when the end is missing; say so explicitly.
		sp.EndTimeUnixNano = sp.StartTimeUnixNano
	}
	a := make([]*commonpb.KeyValue, 0, 24)
	a = append(a, kvStr("langfuse.observation.type", strings.ToLower(o.Type)), kvStr("langfuse.observation.level", o.Level),
		kvStr("langfuse.environment", o.Environment))
	if o.StatusMessage != nil {
		a = append(a, kvStr("langfuse.observation.status_message", *o.StatusMessage))
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
				a = append(a, kvStr("langfuse.trace.input", ioText(*tp.Input)))
			}
			if tp.Output != nil {
				a = append(a, kvStr("langfuse.trace.output", ioText(*tp.Output)))
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
			a = append(a, kvStr("langfuse.trace.metadata", metadataObject(*tp.Metadata)))
		}
		if ta.version != nil && o.Version == nil {
			a = append(a, kvStr("langfuse.version", *ta.version))
		}
	}
	if in != nil {
		a = append(a, kvStr("langfuse.observation.input", ioText(*in)))
	}
	if out != nil {
		a = append(a, kvStr("langfuse.observation.output", ioText(*out)))
	}
	if o.Metadata != nil {
		a = append(a, kvStr("langfuse.observation.metadata", metadataObject(*o.Metadata)))
	}
	if o.ProvidedModelName != nil {
		a = append(a, kvStr("langfuse.observation.model.name", *o.ProvidedModelName))
	}
	if o.ModelParameters != nil {
		a = append(a, kvStr("langfuse.observation.model.parameters", *o.ModelParameters))
	}
	if len(o.UsageDetails) > 0 {
		b, _ := json.Marshal(o.UsageDetails)
		a = append(a, kvStr("langfuse.observation.usage_details", string(b)))
	}
	if len(o.CostDetails) > 0 {
		b, _ := json.Marshal(o.CostDetails)
		a = append(a, kvStr("langfuse.observation.cost_details", string(b)))
	}
	if o.CompletionStartTime != nil {
		a = append(a, kvStr("langfuse.observation.completion_start_time", iso(*o.CompletionStartTime)))
	}
	if o.PromptName != nil {
		a = append(a, kvStr("langfuse.observation.prompt.name", *o.PromptName))
		if o.PromptVersion != nil {
			v := *o.PromptVersion
			if d, ok := im.led.id("prompt_version", *o.PromptName+"\x00"+strconv.FormatInt(v, 10)); ok {
				v, _ = strconv.ParseInt(d, 10, 64)
			}
			a = append(a, kvStr("langfuse.observation.prompt.version", strconv.FormatInt(v, 10)))
		}
	}
	if o.Version != nil {
		a = append(a, kvStr("langfuse.version", *o.Version))
	}
	if !root && o.IsRootObservation != nil && *o.IsRootObservation {
		a = append(a, kvBool("langfuse.internal.is_app_root", true))
	}
	if ta != nil {
		if ta.name != nil {
			a = append(a, kvStr("langfuse.trace.name", *ta.name))
		}
		if ta.user != nil {
			a = append(a, kvStr("langfuse.user.id", *ta.user))
		}
		if ta.session != nil {
			a = append(a, kvStr("langfuse.session.id", *ta.session))
		}
		if ta.release != nil {
			a = append(a, kvStr("langfuse.release", *ta.release))
		}
		if len(ta.tags) > 0 {
			a = append(a, kvList("langfuse.trace.tags", ta.tags))
		}
		if ta.public {
			a = append(a, kvBool("langfuse.trace.public", true))
		}
	}
	if im.gen == lf.V4 && runs != nil {
		ri := runs[spanID]
		if ri == nil && root {
			ri = runs["t:"+traceID]
		}
		if ri != nil {
			a = append(a, experimentAttrs(ri, spanID)...)
		}
	}
	sp.Attributes = a
	return sp, nil
}

func experimentAttrs(ri *runInfo, spanID string) []*commonpb.KeyValue {
	a := []*commonpb.KeyValue{kvStr("langfuse.experiment.id", ri.runID), kvStr("langfuse.experiment.name", ri.runName),
		kvStr("langfuse.experiment.item.id", ri.itemID), kvStr("langfuse.experiment.item.root_observation_id", spanID)}
	if ri.datasetID != "" {
		a = append(a, kvStr("langfuse.experiment.dataset.id", ri.datasetID))
	}
	if ri.description != nil {
		a = append(a, kvStr("langfuse.experiment.description", *ri.description))
	}
	if ri.metadata != nil {
		a = append(a, kvStr("langfuse.experiment.metadata", metadataObject(*ri.metadata)))
	}
	if ri.itemVersion != nil {
		a = append(a, kvStr("langfuse.experiment.item.version", iso(*ri.itemVersion)))
	}
	if ri.expectedOutput != nil {
		a = append(a, kvStr("langfuse.experiment.item.expected_output", ioText(*ri.expectedOutput)))
	}
	if ri.itemMetadata != nil {
		a = append(a, kvStr("langfuse.experiment.item.metadata", metadataObject(*ri.itemMetadata)))
	}
	return a
}

// rootSpan is the root observation made for a v3 trace without observations.
func (im *importer) rootSpan(t *schema.Trace, ta *traceAttrs) (*tracepb.Span, error) {
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

func mustHex(s string) []byte {
	b := make([]byte, len(s)/2)
	for i := range b {
		b[i] = unhex(s[2*i])<<4 | unhex(s[2*i+1])
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
	buf   []byte  // encoded ScopeSpans.spans fields
	n     int
	ids   []byte // id mapping lines for ids that changed
	key   string
	first [2][]byte // trace and span id of the first and last span, for lookups
	last  [2][]byte
}

var marshalOpts = proto.MarshalOptions{}

func (b *spanBatch) add(file string, row int64, sp *tracepb.Span, srcTrace, srcSpan string) error {
	if n := len(b.segs); n > 0 && b.segs[n-1].File == file && b.segs[n-1].To == row {
		b.segs[n-1].To = row + 1
	} else {
		b.segs = append(b.segs, entry{K: "rows", Kind: "observations", File: file, From: row, To: row + 1})
	}
	b.buf = protowire.AppendTag(b.buf, 2, protowire.BytesType)
	b.buf = protowire.AppendVarint(b.buf, uint64(marshalOpts.Size(sp)))
	var err error
	if b.buf, err = marshalOpts.MarshalAppend(b.buf, sp); err != nil {
		return fmt.Errorf("encode span %s: %w", srcSpan, err)
	}
	if b.n == 0 {
		b.first = [2][]byte{sp.TraceId, sp.SpanId}
	}
	b.last = [2][]byte{sp.TraceId, sp.SpanId}
	b.n++
	dt, ds := hex.EncodeToString(sp.TraceId), hex.EncodeToString(sp.SpanId)
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
// ResourceSpans (empty resource) with one ScopeSpans.
func (b *spanBatch) encode() []byte {
	scopeSpansLen := len(scopeHeader) + len(b.buf)
	resource := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), nil)
	rsLen := len(resource) + protowire.SizeTag(2) + protowire.SizeBytes(scopeSpansLen)
	out := make([]byte, 0, protowire.SizeTag(1)+protowire.SizeBytes(rsLen))
	out = protowire.AppendTag(out, 1, protowire.BytesType)
	out = protowire.AppendVarint(out, uint64(rsLen))
	out = append(out, resource...)
	out = protowire.AppendTag(out, 2, protowire.BytesType)
	out = protowire.AppendVarint(out, uint64(scopeSpansLen))
	out = append(out, scopeHeader...)
	return append(out, b.buf...)
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
	cur := &spanBatch{}
	flush := func() error {
		if cur.n == 0 {
			return nil
		}
		select {
		case work <- cur:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		cur = &spanBatch{}
		return nil
	}
	add := func(file string, row int64, sp *tracepb.Span, srcTrace, srcSpan string) error {
		size := marshalOpts.Size(sp) + 8
		if cur.n > 0 && (cur.n >= im.o.MaxBatchSpans || len(cur.buf)+size > im.o.MaxBatchBytes) {
			if err := flush(); err != nil {
				return err
			}
		}
		return cur.add(file, row, sp, srcTrace, srcSpan)
	}
	scanErr := im.scanAll(ctx, func(f hive.FileEntry, row int64, o *schema.Observation) error {
		ta := ix.attrsFor(o)
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
			for i := 0; i < int(b.Record.NumRows()); i++ {
				var o schema.Observation
				if err := d.Decode(b.Record, i, &o); err != nil {
					return fmt.Errorf("%s/%s row %d: %w", im.lake.Bucket(), f.Path, row, err)
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
func (im *importer) rootSpans(ctx context.Context, add func(file string, row int64, sp *tracepb.Span, srcTrace, srcSpan string) error) error {
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
				ta := im.traces.m[t.ID]
				if ta != nil && ta.seen {
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
