package lftest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// This file is the legacy trace path of a v3 server: trace-create events,
// whether they come from POST /api/public/ingestion or from OTLP spans
// (which v3 turns into trace-create events), and how the worker merges them
// into the trace.
//
//   - OTLP spans (packages/shared/src/server/otel/OtelIngestionProcessor.ts
//     processSpan, createTraceEvent, hasTraceUpdates): a root span makes a
//     full event (name: langfuse.trace.name ?? the span's name; metadata:
//     trace metadata, then the observation's own metadata, the unmapped
//     attributes unless the scope is a Langfuse SDK, resourceAttributes and
//     scope; input/output: langfuse.trace.input/output, else the
//     observation's). A non-root span with trace attributes makes an update
//     (name and input/output only from the trace attributes; metadata
//     without the observation's). Both set version = langfuse.version ??
//     service.version ?? null and release the same way. A span of a trace
//     not seen before makes a shallow event {id, timestamp, environment},
//     dropped when the same request has a full event for the trace
//     (filterRedundantShallowTraces).
//   - The worker (worker/src/services/IngestionService/index.ts
//     processTraceEventList, toTimeSortedEventList, mapTraceEventsToRecords;
//     utils.ts overwriteObject) merges all events of a trace in the order of
//     their envelope timestamps (for spans: the start), stable: a value that
//     is null overwrites, only an absent one keeps; public is
//     `body.public ?? false`, so an event without it sets false; tags are a
//     union; metadata is merged key by key; timestamp and environment keep
//     the first; input and output are the last non-empty ones.
//
// The test server keeps the events of each trace and merges them again on
// every write, which is what re-reading the trace's events from S3 does.

// legacyEvent is one trace-create event. A nil field of the *any kind is
// absent (undefined); a set field may hold a nil value (null).
type legacyEvent struct {
	ts          time.Time // envelope timestamp: the merge order
	timestamp   *time.Time
	name        *legacyVal
	userID      *legacyVal
	sessionID   *legacyVal
	release     *legacyVal
	version     *legacyVal
	metadata    map[string]any
	tags        []string
	public      bool
	environment string
	input       Payload
	output      Payload
}

// legacyVal is a present value: v nil means null.
type legacyVal struct{ v *string }

func set(s *string) *legacyVal { return &legacyVal{s} }

// legacyTraces holds the trace-create events of a v3 project.
type legacyTraces struct {
	mu     sync.Mutex
	events map[string][]legacyEvent
	base   map[string]*Trace // the trace as it was before its first event
	seen   map[string]bool   // traces a span was seen for (the worker's Redis set)
}

// addLegacyTraceEvents merges events (of one request) into their traces.
func (p *Project) addLegacyTraceEvents(ids []string, evs []legacyEvent) error {
	lt := &p.legacy
	lt.mu.Lock()
	defer lt.mu.Unlock()
	if lt.events == nil {
		lt.events, lt.base, lt.seen = map[string][]legacyEvent{}, map[string]*Trace{}, map[string]bool{}
	}
	touched := map[string]bool{}
	for i, id := range ids {
		if _, ok := lt.events[id]; !ok {
			old, err := p.mem.trace(id)
			if err != nil {
				return err
			}
			if old != nil {
				lt.base[id] = old
			}
		}
		lt.events[id] = append(lt.events[id], evs[i])
		touched[id] = true
	}
	for id := range touched {
		t, sessEnv := mergeLegacy(id, lt.base[id], lt.events[id])
		// UpsertTrace creates the trace and its session (with the
		// environment of the last event that names the session:
		// processTraceEventList's traceRecordWithSession; the first such
		// insert wins); the replacement then sets what a merge cannot
		// (nulls).
		if err := p.UpsertTrace(&Trace{ID: id, SessionID: t.SessionID, Timestamp: t.Timestamp, Environment: sessEnv,
			CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}); err != nil {
			return err
		}
		if err := p.mem.replaceTrace(t); err != nil {
			return err
		}
	}
	return nil
}

// trace returns the stored trace with this id, or nil.
func (m *memTracing) trace(id string) (*Trace, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	num, ok := m.traceNum[id]
	if !ok {
		return nil, nil
	}
	old, err := m.traceRecord(num)
	return old.t, err
}

// replaceTrace stores t as it is.
func (m *memTracing) replaceTrace(t *Trace) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.putTrace(m.traceNumber(t.ID), t, storedTrace{})
}

// mergeLegacy merges the events of a trace into its stored record as the
// v3 worker does (see the top of the file).
// sessEnv is the environment of the last event that names a session.
func mergeLegacy(id string, base *Trace, evs []legacyEvent) (t *Trace, sessEnv string) {
	t = &Trace{ID: id}
	if base != nil {
		cp := *base
		t = &cp
	}
	sorted := slices.Clone(evs)
	slices.SortStableFunc(sorted, func(a, b legacyEvent) int { return a.ts.Compare(b.ts) })
	// Values stay JSON text: nested objects keep their key order.
	meta := map[string]json.RawMessage{}
	if !t.Metadata.IsNull() {
		_ = json.Unmarshal(t.Metadata.value(), &meta)
	}
	tags := map[string]bool{}
	for _, g := range t.Tags {
		tags[g] = true
	}
	apply := func(d **string, o *legacyVal) {
		if o != nil {
			*d = o.v
		}
	}
	for _, e := range sorted {
		if t.Timestamp.IsZero() && e.timestamp != nil {
			t.Timestamp = *e.timestamp
		}
		if t.Environment == "" {
			t.Environment = e.environment
		}
		apply(&t.Name, e.name)
		apply(&t.UserID, e.userID)
		apply(&t.SessionID, e.sessionID)
		apply(&t.Release, e.release)
		apply(&t.Version, e.version)
		t.Public = e.public
		for _, g := range e.tags {
			tags[g] = true
		}
		for k, v := range e.metadata {
			if raw, ok := v.(json.RawMessage); ok {
				meta[k] = raw
			} else if b, err := marshalJSON(v); err == nil {
				meta[k] = b
			}
		}
		if e.sessionID != nil && e.sessionID.v != nil {
			sessEnv = e.environment
		}
		if t.CreatedAt.IsZero() {
			t.CreatedAt = e.ts
		}
		t.UpdatedAt = e.ts
	}
	// The last non-empty input and output win over the stored ones.
	for i := len(sorted) - 1; i >= 0; i-- {
		if !truthy(sorted[i].input) {
			continue
		}
		t.Input = sorted[i].input
		break
	}
	for i := len(sorted) - 1; i >= 0; i-- {
		if !truthy(sorted[i].output) {
			continue
		}
		t.Output = sorted[i].output
		break
	}
	t.Tags = nil
	for g := range tags {
		t.Tags = append(t.Tags, g)
	}
	slices.Sort(t.Tags)
	if len(meta) > 0 {
		t.Metadata = ValuePayload(meta)
	} else {
		t.Metadata = NullPayload()
	}
	return t, sessEnv
}

// truthy is JavaScript truthiness of an I/O value (`.find(r => r.body.input)`):
// null and the empty string are not.
func truthy(p Payload) bool {
	if p.IsNull() {
		return false
	}
	var s string
	if json.Unmarshal(p.value(), &s) == nil {
		return s != ""
	}
	return true
}

// hasTraceUpdates is OtelIngestionProcessor.hasTraceUpdates for the
// attributes lftest maps.
func hasTraceUpdates(a map[string]any) bool {
	for _, k := range []string{"langfuse.trace.name", "langfuse.trace.input", "langfuse.trace.output", "langfuse.trace.metadata",
		"langfuse.user.id", "langfuse.session.id", "langfuse.trace.public", "langfuse.trace.tags", "user.id", "session.id"} {
		if v, ok := a[k]; ok && jsTruthy(v) {
			return true
		}
	}
	for k := range a {
		if strings.HasPrefix(k, "langfuse.trace.metadata") {
			return true
		}
	}
	return false
}

func jsTruthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return x != ""
	case bool:
		return x
	case int64:
		return x != 0
	case float64:
		return x != 0
	}
	return true
}

// legacySpanEvent is the trace-create event a v3 server makes of a span, or
// nil when it makes none; full tells a root or update event from a shallow
// one.
func legacySpanEvent(sp *otlpSpan, o *Observation, traceMeta map[string]any, seen bool) (ev *legacyEvent, full bool) {
	a := sp.attrs
	root := sp.parentID == "" || attrStr(a["langfuse.internal.as_root"]) == "true"
	updates := hasTraceUpdates(a)
	if !root && !updates && seen {
		return nil, false
	}
	start := o.StartTime
	e := &legacyEvent{ts: start, timestamp: &start, environment: o.Environment}
	if !root && !updates {
		return e, false
	}
	if v, ok := a["langfuse.trace.name"]; ok {
		e.name = set(ptr(attrStr(v)))
	} else if root {
		e.name = set(o.Name)
	}
	strAttr := func(keys ...string) *legacyVal {
		for _, k := range keys {
			if v, ok := a[k]; ok && jsTruthy(v) {
				return set(ptr(attrStr(v)))
			}
		}
		return nil
	}
	e.userID = strAttr("langfuse.user.id", "user.id")
	e.sessionID = strAttr("langfuse.session.id", "session.id", "gen_ai.conversation.id")
	orNull := func(attr string, res bool) *legacyVal {
		if v, ok := a[attr]; ok {
			return set(ptr(attrStr(v)))
		}
		if res {
			if v, ok := sp.res[attr]; ok {
				return set(ptr(attrStr(v)))
			}
		}
		return set(nil)
	}
	e.version = orNull("langfuse.version", false)
	if e.version.v == nil {
		if v, ok := sp.res["service.version"]; ok {
			e.version = set(ptr(attrStr(v)))
		}
	}
	e.release = orNull("langfuse.release", true)
	if v, ok := first(a, "langfuse.trace.tags", "langfuse.tags"); ok {
		e.tags = parseTags(v)
	}
	if v, ok := first(a, "langfuse.trace.public", "langfuse.public"); ok {
		e.public = v == true || attrStr(v) == "true"
	}
	meta := map[string]any{}
	for k, v := range traceMeta {
		meta[k] = v
	}
	scope := map[string]any{"name": sp.scopeName, "version": sp.scopeVersion, "attributes": sp.scopeAttrs}
	if sp.scopeAttrs == nil {
		scope["attributes"] = map[string]any{}
	}
	if root {
		for k, v := range prefixedObject(a, "langfuse.observation.metadata", "langfuse.metadata") {
			meta[k] = v
		}
		if !strings.HasPrefix(sp.scopeName, "langfuse-sdk") {
			unmapped := map[string]any{}
			for k, v := range a {
				if !mappedKey(k) {
					unmapped[k] = attrStr(v)
				}
			}
			meta["attributes"] = unmapped
		}
		e.input, e.output = NullPayload(), NullPayload()
		if v, ok := a["langfuse.trace.input"]; ok && jsTruthy(v) {
			e.input = payloadOf(v)
		} else {
			e.input = o.Input
		}
		if v, ok := a["langfuse.trace.output"]; ok && jsTruthy(v) {
			e.output = payloadOf(v)
		} else {
			e.output = o.Output
		}
	} else {
		e.input, e.output = NullPayload(), NullPayload()
		if v, ok := a["langfuse.trace.input"]; ok {
			e.input = payloadOf(v)
		}
		if v, ok := a["langfuse.trace.output"]; ok {
			e.output = payloadOf(v)
		}
	}
	res := sp.res
	if res == nil {
		res = map[string]any{}
	}
	meta["resourceAttributes"] = res
	meta["scope"] = scope
	e.metadata = meta
	return e, true
}

// ingestLegacySpans turns the spans of one OTLP request into trace-create
// events and merges them (v3 mode).
func (p *Project) ingestLegacySpans(spans []otlpSpan, obs []*Observation, traceMetas []map[string]any) error {
	type pending struct {
		id   string
		ev   legacyEvent
		full bool
	}
	var evs []pending
	hasFull := map[string]bool{}
	p.legacy.mu.Lock()
	if p.legacy.seen == nil {
		p.legacy.seen = map[string]bool{}
	}
	seen := p.legacy.seen
	for i := range spans {
		id := spans[i].traceID
		ev, full := legacySpanEvent(&spans[i], obs[i], traceMetas[i], seen[id])
		seen[id] = true
		if ev == nil {
			continue
		}
		evs = append(evs, pending{id, *ev, full})
		if full {
			hasFull[id] = true
		}
	}
	p.legacy.mu.Unlock()
	var ids []string
	var list []legacyEvent
	for _, e := range evs {
		if !e.full && hasFull[e.id] {
			continue
		}
		ids = append(ids, e.id)
		list = append(list, e.ev)
	}
	return p.addLegacyTraceEvents(ids, list)
}

// traceCreateBody is the body of a trace-create event
// (packages/shared/src/server/ingestion/types.ts TraceBody).
type traceCreateBody struct {
	ID          *string                    `json:"id"`
	Timestamp   *string                    `json:"timestamp"`
	Name        json.RawMessage            `json:"name"`
	UserID      json.RawMessage            `json:"userId"`
	SessionID   json.RawMessage            `json:"sessionId"`
	Release     json.RawMessage            `json:"release"`
	Version     json.RawMessage            `json:"version"`
	Metadata    json.RawMessage            `json:"metadata"`
	Tags        []string                   `json:"tags"`
	Public      *bool                      `json:"public"`
	Environment *string                    `json:"environment"`
	Input       json.RawMessage            `json:"input"`
	Output      json.RawMessage            `json:"output"`
	Extra       map[string]json.RawMessage `json:"-"`
}

// ingestTraceCreate handles a trace-create ingestion event in v3 mode; it
// returns an error message or "". (v4 in events_only mode refuses the event
// before this: web/src/pages/api/public/ingestion.ts filterBatchForEventsOnly.)
func (c *call) ingestTraceCreate(raw json.RawMessage, ts time.Time) (int, string) {
	var b traceCreateBody
	if err := json.Unmarshal(raw, &b); err != nil {
		return http.StatusBadRequest, "Invalid request data: " + err.Error()
	}
	id := ""
	if b.ID != nil {
		id = *b.ID
	}
	if id == "" {
		// The server would make one; lftest needs the id to store the trace.
		return http.StatusBadRequest, "Invalid request data: trace-create needs an id"
	}
	e := legacyEvent{ts: ts, public: b.Public != nil && *b.Public, input: NullPayload(), output: NullPayload()}
	if b.Timestamp != nil {
		if t, err := time.Parse(time.RFC3339Nano, *b.Timestamp); err == nil {
			t = t.UTC().Truncate(time.Millisecond)
			e.timestamp = &t
		}
	}
	if e.timestamp == nil {
		t := ts.UTC().Truncate(time.Millisecond)
		e.timestamp = &t
	}
	opt := func(raw json.RawMessage) *legacyVal {
		if len(raw) == 0 {
			return nil
		}
		if string(raw) == "null" {
			return set(nil)
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			s = string(raw)
		}
		return set(&s)
	}
	e.name, e.userID, e.sessionID, e.release, e.version = opt(b.Name), opt(b.UserID), opt(b.SessionID), opt(b.Release), opt(b.Version)
	e.tags = b.Tags
	if b.Environment != nil {
		e.environment = NormalizeEnvironment(*b.Environment)
	} else {
		e.environment = "default"
	}
	if len(b.Metadata) > 0 && string(b.Metadata) != "null" {
		var raw map[string]json.RawMessage
		m := map[string]any{}
		if json.Unmarshal(b.Metadata, &raw) == nil {
			for k, v := range raw {
				m[k] = v
			}
		} else {
			// convertJsonSchemaToRecord: a literal or array goes under "metadata".
			var v any
			_ = json.Unmarshal(b.Metadata, &v)
			m = map[string]any{"metadata": v}
		}
		e.metadata = m
	}
	e.input, e.output = payloadField(b.Input), payloadField(b.Output)
	if err := c.p.addLegacyTraceEvents([]string{id}, []legacyEvent{e}); err != nil {
		return http.StatusInternalServerError, err.Error()
	}
	return 0, ""
}
