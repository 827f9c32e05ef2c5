package lftest

import (
	"slices"
	"strings"
	"time"
)

// obsRow is an observation for the filters. In V3 mode t is its trace:
// Langfuse v3 filters observations on the trace's user and session (its
// observations table has neither); in V4 mode t is nil and the row's own
// values count, as the events table holds them.
type obsRow struct {
	o *Observation
	t *Trace
}

func (r obsRow) userID() *string {
	if r.t != nil {
		return r.t.UserID
	}
	return r.o.UserID
}

func (r obsRow) sessionID() *string {
	if r.t != nil {
		return r.t.SessionID
	}
	return r.o.SessionID
}

func (r obsRow) traceName() *string {
	if r.t != nil {
		return r.t.Name
	}
	return r.o.servedTraceName()
}

func (r obsRow) release() *string {
	if r.t != nil {
		return r.t.Release
	}
	return r.o.Release
}

func (r obsRow) tags() []string {
	if r.t != nil {
		return r.t.Tags
	}
	return r.o.Tags
}

func optStr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// obsColumns are the columns of the v1 and v2 observations `filter` parameter.
var obsColumns = map[string]column[obsRow]{
	"id":                  func(r obsRow) any { return r.o.ID },
	"type":                func(r obsRow) any { return r.o.Type },
	"name":                func(r obsRow) any { return r.o.Name },
	"traceId":             func(r obsRow) any { return r.o.TraceID },
	"parentObservationId": func(r obsRow) any { return optStr(r.o.ParentObservationID) },
	"startTime":           func(r obsRow) any { return r.o.StartTime },
	"endTime":             func(r obsRow) any { return r.o.EndTime },
	"environment":         func(r obsRow) any { return envOr(r.o.Environment) },
	"level":               func(r obsRow) any { return r.o.Level },
	"statusMessage":       func(r obsRow) any { return r.o.StatusMessage },
	"version":             func(r obsRow) any { return r.o.Version },
	"userId":              func(r obsRow) any { return r.userID() },
	"sessionId":           func(r obsRow) any { return r.sessionID() },
	"isRootObservation":   func(r obsRow) any { return r.o.IsRoot() },
	"traceName":           func(r obsRow) any { return r.traceName() },
	"traceTags":           func(r obsRow) any { return r.tags() },
	"tags":                func(r obsRow) any { return r.tags() },
	"release":             func(r obsRow) any { return r.release() }, // a column of v4's filter: packages/shared/src/eventsTable.ts
	"latency":             func(r obsRow) any { return latencySeconds(r.o) },
	"timeToFirstToken":    func(r obsRow) any { return ttftSeconds(r.o) },
	"inputTokens":         func(r obsRow) any { in, _, _ := usageTotals(r.o.UsageDetails); return float64(in) },
	"outputTokens":        func(r obsRow) any { _, out, _ := usageTotals(r.o.UsageDetails); return float64(out) },
	"totalTokens":         func(r obsRow) any { _, _, t := usageTotals(r.o.UsageDetails); return float64(t) },
	"tokens":              func(r obsRow) any { _, _, t := usageTotals(r.o.UsageDetails); return float64(t) },
	"inputCost":           func(r obsRow) any { v, ok := r.o.CostDetails["input"]; return floatPtr(v, ok) },
	"outputCost":          func(r obsRow) any { v, ok := r.o.CostDetails["output"]; return floatPtr(v, ok) },
	"totalCost":           func(r obsRow) any { return floatPtr(costTotal(r.o.CostDetails)) },
	"model":               func(r obsRow) any { return r.o.Model },
	"providedModelName":   func(r obsRow) any { return r.o.Model },
	"promptName":          func(r obsRow) any { return r.o.PromptName },
	"promptVersion": func(r obsRow) any {
		if r.o.PromptVersion == nil {
			return nil
		}
		return float64(*r.o.PromptVersion)
	},
	"input":    func(r obsRow) any { return r.o.Input.raw() },
	"output":   func(r obsRow) any { return r.o.Output.raw() },
	"metadata": func(r obsRow) any { return metadataStrings(r.o.Metadata) },
}

// obsQuery is a parsed observations filter.
type obsQuery struct {
	from, to time.Time
	traceID  string
	keep     func(obsRow) bool // nil keeps every row in the window
}

// parseObsQuery reads the observation filters shared by v1 and v2; v2 adds
// sessionId and isRootObservation. A `filter` parameter replaces all others.
func (c *call) parseObsQuery(v2 bool) (obsQuery, error) {
	q := c.q
	if raw := q.Get("filter"); raw != "" {
		conds, err := parseFilter(raw, obsColumns)
		if err != nil {
			return obsQuery{}, err
		}
		return obsQuery{keep: func(r obsRow) bool { return matchFilter(r, conds, obsColumns) }}, nil
	}
	var oq obsQuery
	var err error
	if oq.from, err = timeParam(q, "fromStartTime"); err != nil {
		return oq, err
	}
	if oq.to, err = timeParam(q, "toStartTime"); err != nil {
		return oq, err
	}
	typ, err := enumParam(q, "type", ObservationTypes)
	if err != nil {
		return oq, err
	}
	level, err := enumParam(q, "level", []string{LevelDebug, LevelDefault, LevelWarning, LevelError})
	if err != nil {
		return oq, err
	}
	var isRoot *bool
	if v2 {
		if isRoot, err = boolParam(q, "isRootObservation"); err != nil {
			return oq, err
		}
	}
	oq.traceID = q.Get("traceId")
	name, userID, version := q.Get("name"), q.Get("userId"), q.Get("version")
	sessionID := ""
	if v2 {
		sessionID = q.Get("sessionId")
	}
	envs := multiParam(q, "environment")
	parentSet, parent := q.Has("parentObservationId"), q.Get("parentObservationId")
	if name == "" && userID == "" && version == "" && sessionID == "" && typ == "" && level == "" && isRoot == nil &&
		len(envs) == 0 && !parentSet {
		return oq, nil
	}
	oq.keep = func(r obsRow) bool {
		o := r.o
		switch {
		case typ != "" && o.Type != typ,
			level != "" && o.Level != level,
			name != "" && strOr(o.Name, "") != name,
			version != "" && strOr(o.Version, "") != version,
			userID != "" && strOr(r.userID(), "") != userID,
			sessionID != "" && strOr(r.sessionID(), "") != sessionID,
			isRoot != nil && o.IsRoot() != *isRoot,
			len(envs) > 0 && !slices.Contains(envs, envOr(o.Environment)),
			parentSet && o.ParentObservationID != parent:
			return false
		}
		return true
	}
	return oq, nil
}

func (c *call) row(o *Observation) obsRow {
	if c.s.opts.Mode == V3 {
		return obsRow{o, c.tr().trace(o.TraceID)}
	}
	return obsRow{o: o}
}

func (oq obsQuery) inWindow(o *Observation) bool {
	return (oq.from.IsZero() || !o.StartTime.Before(oq.from)) && (oq.to.IsZero() || o.StartTime.Before(oq.to))
}

// scanObs returns up to limit rows after the cursor and whether more follow.
func (c *call) scanObs(oq obsQuery, limit int, after *obsKey) ([]*Observation, bool) {
	tr := c.tr()
	var out []*Observation
	take := func(o *Observation) bool {
		if oq.keep == nil || oq.keep(c.row(o)) {
			out = append(out, o)
		}
		return len(out) <= limit
	}
	if oq.traceID != "" {
		for _, o := range tr.traceObservations(oq.traceID) {
			if (after == nil || after.before(keyOf(o))) && oq.inWindow(o) && !take(o) {
				break
			}
		}
	} else {
		lo, hi := obsRange(tr, oq.from, oq.to)
		if after != nil {
			lo = max(lo, searchAfter(tr, *after))
		}
		for i := lo; i < hi && take(tr.obsAt(i)); i++ {
		}
	}
	if len(out) > limit {
		return out[:limit], true
	}
	return out, false
}

// pageObs returns one page of matching rows and the number of matches.
func (c *call) pageObs(oq obsQuery, pr pageReq) ([]*Observation, int) {
	tr := c.tr()
	var rows []*Observation
	total := 0
	visit := func(o *Observation) {
		if oq.keep != nil && !oq.keep(c.row(o)) {
			return
		}
		if total >= pr.offset() && len(rows) < pr.limit {
			rows = append(rows, o)
		}
		total++
	}
	if oq.traceID != "" {
		for _, o := range tr.traceObservations(oq.traceID) {
			if oq.inWindow(o) {
				visit(o)
			}
		}
		return rows, total
	}
	lo, hi := obsRange(tr, oq.from, oq.to)
	if oq.keep == nil {
		for i := lo + pr.offset(); i < hi && len(rows) < pr.limit; i++ {
			rows = append(rows, tr.obsAt(i))
		}
		return rows, hi - lo
	}
	for i := lo; i < hi; i++ {
		visit(tr.obsAt(i))
	}
	return rows, total
}

var v2FieldGroups = []string{"core", "basic", "time", "io", "metadata", "model", "usage", "prompt", "metrics", "trace_context"}

// hObservationsV2 serves GET /api/public/v2/observations.
func hObservationsV2(c *call) (any, error) {
	if c.s.opts.Mode == V3 {
		return nil, notFound("The observations v2 API is only available in a Langfuse v4 write mode. Learn more at: https://langfuse.com/docs/v4")
	}
	q := c.q
	switch q.Get("parseIoAsJson") {
	case "", "false":
	case "true":
		return nil, zodError(issueCustom("parseIoAsJson", "parseIoAsJson=true is no longer supported on the v2 observations endpoint. Input/output fields are always returned as raw strings. Remove the parseIoAsJson parameter or set it to false."))
	default:
		return nil, zodError(issueEnum("parseIoAsJson", []string{"true", "false"}, q.Get("parseIoAsJson")))
	}
	limit, err := intParam(q, "limit", 50, 1, 1000)
	if err != nil {
		return nil, err
	}
	groups := fieldGroups{"core": true}
	if f := q.Get("fields"); f != "" {
		// Unknown groups are dropped silently, as the real query schema does.
		for _, g := range strings.Split(f, ",") {
			if g = strings.TrimSpace(g); slices.Contains(v2FieldGroups, g) {
				groups[g] = true
			}
		}
	} else {
		groups["basic"] = true
	}
	expand := metadataExpansion{keys: map[string]bool{}}
	for _, k := range listParam(q, "expandMetadata") {
		expand.keys[k] = true
	}
	var after *obsKey
	if cur := q.Get("cursor"); cur != "" {
		k, err := decodeObsCursor(cur)
		if err != nil {
			return nil, err
		}
		after = &k
	}
	oq, err := c.parseObsQuery(true)
	if err != nil {
		return nil, err
	}
	rows, more := c.scanObs(oq, limit, after)
	encode := func(b []byte, rows []*Observation) []byte {
		for i, o := range rows {
			if i > 0 {
				b = append(b, ',')
			}
			v := c.obsV2(o, groups, expand)
			b = v.appendJSON(b)
		}
		return b
	}
	b := pages.get(4096 + len(rows)*obsV2SizeHint)
	b = append(b, `{"data":[`...)
	if h := len(rows) / 2; h >= minParallelObsV2 {
		// A full page is milliseconds of work (a lazy project generates
		// its rows as well), and a real Langfuse reads it from a database
		// that uses several cores: the second half is encoded on another
		// goroutine, so that a client on the same machine does not wait
		// on one core. Observations and traces are read-only here.
		var second []byte
		done := make(chan struct{})
		go func() {
			defer close(done)
			second = encode(halfPages.get((len(rows)-h)*obsV2SizeHint), rows[h:])
		}()
		b = encode(b, rows[:h])
		<-done
		b = append(append(b, ','), second...)
		halfPages.put(second)
	} else {
		b = encode(b, rows)
	}
	b = append(b, `],"meta":{`...)
	if more {
		b = append(b, `"cursor":`...)
		b = appendString(b, encodeObsCursor(rows[len(rows)-1]))
	}
	releaseRows(rows) // encoded: their spill buffers serve the next page
	return encodedJSON(append(b, `}}`...)), nil
}

// buffers keeps a few large buffers for reuse: a page of v2 observations is
// megabytes, built a thousand times per million rows. A sync.Pool would
// lose them at every collection, which come every few pages; one is enough
// for a client reading pages one after another (each kept buffer is live
// heap, which a client's memory limit in the same process pays for).
type buffers chan []byte

var (
	pages     = make(buffers, 1) // whole pages, kept by writeJSON once sent
	halfPages = make(buffers, 1) // second halves, encoded in parallel
)

// get returns an empty buffer of at least n bytes.
func (p buffers) get(n int) []byte {
	select {
	case b := <-p:
		if cap(b) >= n {
			return b[:0]
		}
	default:
	}
	return make([]byte, 0, n)
}

// put keeps b for a later get; nothing may refer to b afterwards.
func (p buffers) put(b []byte) {
	select {
	case p <- b[:0]:
	default:
	}
}

// minParallelObsV2 is the half page from which a page of v2 observations is
// encoded on two goroutines.
const minParallelObsV2 = 100

// obsV2SizeHint is about the bytes of a served observation with every field
// group and a 2 KB payload: enough that a page's buffer rarely grows.
const obsV2SizeHint = 4 << 10

// hObservationsV1 serves GET /api/public/observations (v3).
func hObservationsV1(c *call) (any, error) {
	pr, err := parsePage(c.q, 50, 100)
	if err != nil {
		return nil, err
	}
	oq, err := c.parseObsQuery(false)
	if err != nil {
		return nil, err
	}
	rows, total := c.pageObs(oq, pr)
	data := make([]obsV1, 0, len(rows))
	for _, o := range rows {
		data = append(data, c.obsV1(o))
	}
	return paged{Data: data, Meta: pr.meta(total)}, nil
}

// hObservationV1 serves GET /api/public/observations/{observationId}.
func hObservationV1(c *call) (any, error) {
	o := c.tr().observation(c.params["observationId"])
	if o == nil {
		return nil, notFound("Observation not found within authorized project")
	}
	return c.obsV1(o), nil
}

var traceColumns = map[string]column[*Trace]{
	"id":          func(t *Trace) any { return t.ID },
	"name":        func(t *Trace) any { return t.Name },
	"timestamp":   func(t *Trace) any { return t.Timestamp },
	"userId":      func(t *Trace) any { return t.UserID },
	"sessionId":   func(t *Trace) any { return t.SessionID },
	"tags":        func(t *Trace) any { return t.Tags },
	"environment": func(t *Trace) any { return envOr(t.Environment) },
	"release":     func(t *Trace) any { return t.Release },
	"version":     func(t *Trace) any { return t.Version },
	"bookmarked":  func(t *Trace) any { return t.Bookmarked },
	"public":      func(t *Trace) any { return t.Public },
	"metadata":    func(t *Trace) any { return metadataStrings(t.Metadata) },
}

var traceOrderFields = map[string]func(a, b *Trace) int{
	"id":         func(a, b *Trace) int { return strings.Compare(a.ID, b.ID) },
	"timestamp":  func(a, b *Trace) int { return a.Timestamp.Compare(b.Timestamp) },
	"name":       func(a, b *Trace) int { return strings.Compare(strOr(a.Name, ""), strOr(b.Name, "")) },
	"userId":     func(a, b *Trace) int { return strings.Compare(strOr(a.UserID, ""), strOr(b.UserID, "")) },
	"release":    func(a, b *Trace) int { return strings.Compare(strOr(a.Release, ""), strOr(b.Release, "")) },
	"version":    func(a, b *Trace) int { return strings.Compare(strOr(a.Version, ""), strOr(b.Version, "")) },
	"sessionId":  func(a, b *Trace) int { return strings.Compare(strOr(a.SessionID, ""), strOr(b.SessionID, "")) },
	"public":     func(a, b *Trace) int { return boolCmp(a.Public, b.Public) },
	"bookmarked": func(a, b *Trace) int { return boolCmp(a.Bookmarked, b.Bookmarked) },
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case b:
		return -1
	}
	return 1
}

// traceRange returns the index range of traces with from <= timestamp < to.
func traceRange(tr tracing, from, to time.Time) (int, int) {
	search := func(t time.Time) int {
		lo, hi := 0, tr.traceLen()
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			if !tr.traceAt(m).Timestamp.Before(t) {
				lo = m + 1
			} else {
				hi = m
			}
		}
		return lo
	}
	lo, hi := 0, tr.traceLen()
	if !to.IsZero() {
		lo = search(to)
	}
	if !from.IsZero() {
		hi = search(from)
	}
	return lo, max(lo, hi)
}

// hTraces serves GET /api/public/traces (v3).
func hTraces(c *call) (any, error) {
	q := c.q
	pr, err := parsePage(q, 50, 100)
	if err != nil {
		return nil, err
	}
	groups, err := traceFields(q.Get("fields"))
	if err != nil {
		return nil, err
	}
	var cmp func(a, b *Trace) int
	if ob := q.Get("orderBy"); ob != "" {
		field, dir, _ := strings.Cut(ob, ".")
		f, ok := traceOrderFields[field]
		if !ok || (dir != "asc" && dir != "desc") {
			return nil, badRequest("Invalid orderBy parameter: " + ob + ". Expected <field>.<asc|desc> with field one of id, timestamp, name, userId, release, version, public, bookmarked, sessionId")
		}
		cmp = f
		if dir == "desc" {
			cmp = func(a, b *Trace) int { return -f(a, b) }
		}
	}
	var keep func(*Trace) bool
	var from, to time.Time
	if raw := q.Get("filter"); raw != "" {
		conds, err := parseFilter(raw, traceColumns)
		if err != nil {
			return nil, err
		}
		keep = func(t *Trace) bool { return matchFilter(t, conds, traceColumns) }
	} else {
		if from, err = timeParam(q, "fromTimestamp"); err != nil {
			return nil, err
		}
		if to, err = timeParam(q, "toTimestamp"); err != nil {
			return nil, err
		}
		userID, name, sessionID, version, release := q.Get("userId"), q.Get("name"), q.Get("sessionId"), q.Get("version"), q.Get("release")
		tags, envs := multiParam(q, "tags"), multiParam(q, "environment")
		if userID != "" || name != "" || sessionID != "" || version != "" || release != "" || len(tags) > 0 || len(envs) > 0 {
			keep = func(t *Trace) bool {
				return (userID == "" || strOr(t.UserID, "") == userID) && (name == "" || strOr(t.Name, "") == name) &&
					(sessionID == "" || strOr(t.SessionID, "") == sessionID) && (version == "" || strOr(t.Version, "") == version) &&
					(release == "" || strOr(t.Release, "") == release) && hasAllTags(t.Tags, tags) &&
					(len(envs) == 0 || slices.Contains(envs, envOr(t.Environment)))
			}
		}
	}
	tr := c.tr()
	lo, hi := traceRange(tr, from, to)
	var rows []*Trace
	total := 0
	if keep == nil && cmp == nil {
		total = hi - lo
		for i := lo + pr.offset(); i < hi && len(rows) < pr.limit; i++ {
			rows = append(rows, tr.traceAt(i))
		}
	} else {
		var all []*Trace
		for i := lo; i < hi; i++ {
			if t := tr.traceAt(i); keep == nil || keep(t) {
				all = append(all, t)
			}
		}
		if cmp != nil {
			slices.SortStableFunc(all, cmp)
		}
		total, rows = len(all), pageOf(all, pr)
	}
	data := make([]traceJSON, 0, len(rows))
	for _, t := range rows {
		data = append(data, c.traceListItem(t, groups))
	}
	return paged{Data: data, Meta: pr.meta(total)}, nil
}

// traceFields parses the traces `fields` parameter; absent means all groups.
func traceFields(raw string) (fieldGroups, error) {
	g := fieldGroups{"core": true}
	if raw == "" {
		for _, k := range []string{"io", "scores", "observations", "metrics"} {
			g[k] = true
		}
		return g, nil
	}
	for _, f := range strings.Split(raw, ",") {
		f = strings.TrimSpace(f)
		if !slices.Contains([]string{"core", "io", "scores", "observations", "metrics"}, f) {
			return nil, badRequest("Invalid fields parameter: " + f + ". Available field groups: core, io, scores, observations, metrics")
		}
		g[f] = true
	}
	return g, nil
}

func (c *call) traceListItem(t *Trace, g fieldGroups) traceJSON {
	v := c.traceBase(t, g["io"])
	v.HTMLPath = ptr("/project/" + c.p.ID + "/traces/" + t.ID)
	obs := c.tr().traceObservations(t.ID)
	ids := []string{}
	if g["observations"] {
		for _, o := range obs {
			ids = append(ids, o.ID)
		}
	}
	v.Observations = ids
	scoreIDs := []string{}
	if g["scores"] {
		for _, s := range c.p.scoreIndex().ofTrace(t.ID) {
			scoreIDs = append(scoreIDs, s.ID)
		}
	}
	v.Scores = scoreIDs
	lat, cost := -1.0, -1.0
	if g["metrics"] {
		lat, cost = traceMetrics(obs)
	}
	v.Latency, v.TotalCost = &lat, &cost
	return v
}

// hTrace serves GET /api/public/traces/{traceId} (TraceWithFullDetails).
func hTrace(c *call) (any, error) {
	t := c.tr().trace(c.params["traceId"])
	if t == nil {
		return nil, notFound("Trace not found within authorized project")
	}
	g, err := traceFields(c.q.Get("fields"))
	if err != nil {
		return nil, err
	}
	v := c.traceBase(t, g["io"])
	v.HTMLPath = ptr("/project/" + c.p.ID + "/traces/" + t.ID)
	obs := slices.Clone(c.tr().traceObservations(t.ID))
	slices.Reverse(obs) // oldest first
	views := []obsV1{}
	if g["observations"] {
		for _, o := range obs {
			views = append(views, c.obsV1(o))
		}
	}
	v.Observations = views
	scores := []map[string]any{}
	if g["scores"] {
		for _, s := range c.p.scoreIndex().ofTrace(t.ID) {
			// ScoreV1 has no CORRECTION variant.
			if s.DataType != DataCorrection {
				scores = append(scores, c.scoreV2(s, true))
			}
		}
	}
	v.Scores = scores
	lat, cost := -1.0, -1.0
	if g["metrics"] {
		lat, cost = traceMetrics(obs)
	}
	v.Latency, v.TotalCost = &lat, &cost
	return v, nil
}

// hSessions serves GET /api/public/sessions.
func hSessions(c *call) (any, error) {
	pr, err := parsePage(c.q, 50, 100)
	if err != nil {
		return nil, err
	}
	from, err := timeParam(c.q, "fromTimestamp")
	if err != nil {
		return nil, err
	}
	to, err := timeParam(c.q, "toTimestamp")
	if err != nil {
		return nil, err
	}
	envs := multiParam(c.q, "environment")
	sessions := c.p.Sessions()
	slices.Reverse(sessions) // newest first
	return listPage(sessions, pr, func(s *Session) bool {
		return (from.IsZero() || !s.CreatedAt.Before(from)) && (to.IsZero() || s.CreatedAt.Before(to)) &&
			(len(envs) == 0 || slices.Contains(envs, envOr(s.Environment)))
	}, func(s *Session) any { return c.sessionJSON(s) }), nil
}

// hSession serves GET /api/public/sessions/{sessionId} with its traces.
func hSession(c *call) (any, error) {
	id := c.params["sessionId"]
	var sess *Session
	for _, s := range c.p.Sessions() {
		if s.ID == id {
			sess = s
		}
	}
	if sess == nil {
		return nil, notFound("Session not found within authorized project")
	}
	traces := []traceJSON{}
	for _, t := range c.sessionTraces(id) {
		traces = append(traces, c.traceBase(t, true))
	}
	m := c.sessionJSON(sess)
	m["traces"] = traces
	return m, nil
}

// sessionTraces returns a session's traces, oldest first.
func (c *call) sessionTraces(id string) []*Trace {
	tr := c.tr()
	var out []*Trace
	if c.p.lazy != nil {
		for _, k := range c.p.lazy.sessionTraces[id] {
			out = append(out, tr.traceAt(k))
		}
	} else {
		for i, n := 0, tr.traceLen(); i < n; i++ {
			if t := tr.traceAt(i); t.SessionID != nil && *t.SessionID == id {
				out = append(out, t)
			}
		}
	}
	slices.SortFunc(out, func(a, b *Trace) int { return a.Timestamp.Compare(b.Timestamp) })
	return out
}
