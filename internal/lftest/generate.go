package lftest

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// Size says how big a generated project is and what its payloads look like.
type Size struct {
	// Traces is the number of traces (ignored when Observations is set).
	Traces int
	// Observations, when set, is the exact number of observations; the number
	// of traces follows from ObservationsPerTrace.
	Observations int
	// ObservationsPerTrace is the mean number of observations of a trace.
	ObservationsPerTrace int
	// PayloadBytes is the mean size of an observation's input plus output.
	PayloadBytes int
	// MaxPayloadBytes, when larger than PayloadBytes, lets one payload in 25
	// grow up to this size.
	MaxPayloadBytes int
	// Days spreads trace timestamps over this many days before End. It is
	// raised when traces would otherwise be packed too tightly.
	Days int
	// End is the newest possible timestamp; zero means DefaultEnd.
	End time.Time
	// ScoresPerTrace is the mean number of trace and observation scores.
	ScoresPerTrace float64
	// Sessions and Users are the sizes of the session and user pools.
	Sessions, Users int
	// Lazy keeps only an index in memory and regenerates traces, observations
	// and payloads when they are served: the way to serve a million
	// observations. A lazy project's tracing data is read-only.
	Lazy bool
}

// DefaultEnd is the end of the generated time range when Size.End is zero.
var DefaultEnd = time.Date(2026, 3, 7, 0, 0, 0, 0, time.UTC)

// SizeSmall is a project for tests: a few hundred observations, every entity
// and edge case, payloads from about 1 KB up to 100 KB.
var SizeSmall = Size{Traces: 40, ObservationsPerTrace: 8, PayloadBytes: 1500, MaxPayloadBytes: 100 << 10,
	Days: 5, ScoresPerTrace: 1.5, Sessions: 8, Users: 6}

// SizeBench is a lazily generated project of exactly n observations whose
// input plus output is about payloadBytes each.
func SizeBench(n, payloadBytes int) Size {
	return Size{Observations: n, ObservationsPerTrace: 10, PayloadBytes: payloadBytes, MaxPayloadBytes: payloadBytes,
		Days: 7, ScoresPerTrace: 0.5, Sessions: max(1, n/200), Users: 50, Lazy: true}
}

func (s Size) withDefaults() Size {
	if s.ObservationsPerTrace <= 0 {
		s.ObservationsPerTrace = 8
	}
	if s.Observations > 0 {
		s.Traces = 0
	} else if s.Traces <= 0 {
		s.Traces = 1
	}
	if s.PayloadBytes <= 0 {
		s.PayloadBytes = 1024
	}
	if s.Days <= 0 {
		s.Days = 1
	}
	if s.End.IsZero() {
		s.End = DefaultEnd
	}
	if s.Sessions <= 0 {
		s.Sessions = 1
	}
	if s.Users <= 0 {
		s.Users = 1
	}
	return s
}

// plan holds everything a trace is generated from, so that any trace can be
// regenerated alone.
type plan struct {
	seed      uint64
	size      Size
	projectID string
	lazy      bool
	end       time.Time
	gapMs     int64
	counts    []int
	users     []string
	sessions  []string
	envs      []string
	releases  []string
	versions  []string
	genModels []genModel
	embedding genModel
	runs      []*DatasetRun
	prompts   []*PromptVersion
	media     []*Media
	exp       map[int]expLink
}

type genModel struct {
	name    string
	modelID *string
	prices  map[string]float64
}

// expLink makes trace k the trace of an experiment (dataset run) item.
type expLink struct {
	run  *DatasetRun
	item *DatasetItem
}

// Generate builds a deterministic, realistic project: the same seed and size
// always give the same project. It covers every observation type (with trees
// of depth six and more), every score data type, sessions, users, tags,
// environments, releases and versions, null versus empty strings, Japanese
// and emoji text, names with "/", media references with stored media,
// prompts (text and chat, placeholders, labels, tags, commit messages,
// dependencies), score configs (some archived), custom and managed models
// with pricing tiers, datasets with items (some archived), runs and run
// items, comments on every object type and annotation queues with items.
func Generate(seed int64, size Size) *Project {
	size = size.withDefaults()
	pl := &plan{seed: uint64(seed), size: size, lazy: size.Lazy, end: size.End.UTC().Truncate(time.Millisecond), exp: map[int]expLink{}}
	pl.projectID = fmt.Sprintf("proj-%012x", mix64(pl.seed)&0xffffffffffff)
	pl.planCounts()
	p := NewProject(pl.projectID, fmt.Sprintf("generated-%d", seed))
	p.Metadata = map[string]any{"generator": "lftest", "seed": seed}
	retention := 30
	p.RetentionDays = &retention

	pl.users = []string{"user-1", "alice@example.com", "ユーザー-2", "user/with/slash", "bob", "user-6"}[:min(6, size.Users)]
	for i := len(pl.users); i < size.Users; i++ {
		pl.users = append(pl.users, fmt.Sprintf("user-%d", i+1))
	}
	for i := 0; i < size.Sessions; i++ {
		switch i {
		case 1:
			pl.sessions = append(pl.sessions, "chat/セッション-1")
		case 2:
			pl.sessions = append(pl.sessions, "session with spaces")
		default:
			pl.sessions = append(pl.sessions, fmt.Sprintf("session-%04d", i))
		}
	}
	pl.envs = []string{"default", "production", "staging", "dev-jp"}
	pl.releases = []string{"2026.03.1", "2026.02.7", "v4.0.0-rc.1"}
	pl.versions = []string{"1.0.0", "1.1.0", "2.0.0-beta"}

	genConfigs(pl, p)
	genModels(pl, p)
	genPrompts(pl, p)
	genMedia(pl, p)
	genDatasets(pl, p)

	if pl.lazy {
		p.lazy = newLazyTracing(pl)
	} else {
		for k := range pl.counts {
			g := pl.genTrace(k)
			_ = p.UpsertTrace(g.t)
			_ = p.AddObservations(g.obs...)
		}
	}
	genTraceDependents(pl, p)
	return p
}

// planCounts fixes the number of observations of every trace and the spacing
// of traces in time.
func (pl *plan) planCounts() {
	s := pl.size
	m := s.ObservationsPerTrace
	if s.Observations > 0 {
		pattern := []int{max(1, m*2/5), m, max(1, m*8/5), max(1, m*3/5), max(1, m*7/5)}
		for left, k := s.Observations, 0; left > 0; k++ {
			c := min(left, pattern[k%len(pattern)])
			pl.counts = append(pl.counts, c)
			left -= c
		}
	} else {
		for k := 0; k < s.Traces; k++ {
			r := newRand(pl.seed, uint64(k), 0xc0)
			c := 1 + r.IntN(2*m-1)
			switch {
			case k%5 == 1:
				c = max(c, 8) // deep traces: depth >= 6
			case k%11 == 10:
				c = 1
			}
			pl.counts = append(pl.counts, c)
		}
	}
	maxCount := slices.Max(pl.counts)
	days := s.Days
	// Each trace needs room for its observations at distinct milliseconds
	// inside half of its slot.
	for int64(days)*24*3600*1000/int64(len(pl.counts)) < int64(8*maxCount+64) {
		days++
	}
	pl.gapMs = int64(days) * 24 * 3600 * 1000 / int64(len(pl.counts))
}

// traceStartMs is the start of trace k: slot k counted back from the end,
// plus jitter. In materialised projects every seventh trace starts at the
// same millisecond as the previous one, to exercise the tie-breakers.
func (pl *plan) traceStartMs(k int) int64 {
	base := func(k int) int64 {
		r := newRand(pl.seed, uint64(k), 0x57)
		return pl.end.UnixMilli() - int64(k+1)*pl.gapMs + r.Int64N(max(1, pl.gapMs/4))
	}
	if !pl.lazy && k%7 == 6 {
		return base(k - 1)
	}
	return base(k)
}

func (pl *plan) traceDurationMs(k int) int64 {
	r := newRand(pl.seed, uint64(k), 0xd0)
	limit := min(pl.gapMs/2, 90_000)
	lo := int64(4*pl.counts[k] + 32)
	if limit <= lo {
		return lo
	}
	return lo + r.Int64N(limit-lo)
}

// Feistel permutation keyed by the seed: ids look random but map back to the
// trace they belong to, so a lazy project can find a trace by id.
func (pl *plan) perm(key, x uint64, inverse bool) uint64 {
	l, r := uint32(x>>32), uint32(x)
	f := func(v uint32, i int) uint32 { return uint32(mix64(uint64(v) ^ mix64(pl.seed^key) ^ uint64(i)<<40)) }
	if !inverse {
		for i := 0; i < 4; i++ {
			l, r = r, l^f(r, i)
		}
	} else {
		for i := 3; i >= 0; i-- {
			l, r = r^f(l, i), l
		}
	}
	return uint64(l)<<32 | uint64(r)
}

const (
	keyTrace = 0x7ace
	keyObs   = 0x0b5e
	keyTail  = 0x7a11
)

func (pl *plan) uuidStyle(k int) bool { return !pl.lazy && k%6 == 3 }

// hex16 appends x as 16 lowercase hex digits.
func hex16(b []byte, x uint64) []byte {
	const digits = "0123456789abcdef"
	for i := 60; i >= 0; i -= 4 {
		b = append(b, digits[(x>>uint(i))&0xf])
	}
	return b
}

func (pl *plan) traceID(k int) string {
	var buf [32]byte
	id := string(hex16(hex16(buf[:0], pl.perm(keyTrace, uint64(k), false)), mix64(pl.seed^keyTail^uint64(k))))
	if pl.uuidStyle(k) {
		return uuidFormat(id)
	}
	return id
}

func (pl *plan) obsID(k, j int) string {
	var buf [32]byte
	id := hex16(buf[:0], pl.perm(keyObs, uint64(k)<<16|uint64(j), false))
	if pl.uuidStyle(k) {
		return uuidFormat(string(hex16(id, mix64(pl.seed^uint64(k)<<20^uint64(j)))))
	}
	return string(id)
}

func uuidFormat(h string) string {
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// traceIndex maps a (non-UUID) trace id back to its index.
func (pl *plan) traceIndex(id string) (int, bool) {
	if len(id) != 32 {
		return 0, false
	}
	x, err := strconv.ParseUint(id[:16], 16, 64)
	if err != nil {
		return 0, false
	}
	k := pl.perm(keyTrace, x, true)
	if k >= uint64(len(pl.counts)) || pl.traceID(int(k)) != id {
		return 0, false
	}
	return int(k), true
}

// obsTraceIndex maps a (non-UUID) observation id back to its trace index.
func (pl *plan) obsTraceIndex(id string) (int, bool) {
	if len(id) != 16 {
		return 0, false
	}
	x, err := strconv.ParseUint(id, 16, 64)
	if err != nil {
		return 0, false
	}
	v := pl.perm(keyObs, x, true)
	k, j := int(v>>16), int(v&0xffff)
	if v>>16 >= uint64(len(pl.counts)) || j >= pl.counts[k] {
		return 0, false
	}
	return k, true
}

func ptr[T any](v T) *T { return &v }

func ms(v int64) time.Time { return time.UnixMilli(v).UTC() }

var (
	shapeSeq = []string{TypeGeneration, TypeTool, TypeRetriever, TypeEmbedding, TypeGeneration, TypeGuardrail,
		TypeEvent, TypeSpan, TypeEvaluator, TypeChain, TypeTool, TypeGeneration, TypeAgent}
	typeNames = map[string][]string{
		TypeSpan:       {"process-request", "format-output", "後処理"},
		TypeGeneration: {"llm-call", "応答生成 🤖", "summarise"},
		TypeEvent:      {"user-feedback-received", "cache-hit"},
		TypeAgent:      {"support-agent", "planner"},
		TypeTool:       {"lookup_order", "検索ツール"},
		TypeChain:      {"rag-chain", "pipeline/step"},
		TypeRetriever:  {"ドキュメント検索", "vector-search"},
		TypeEvaluator:  {"faithfulness-eval", "toxicity"},
		TypeEmbedding:  {"embed-query"},
		TypeGuardrail:  {"pii-guard", "jailbreak-check"},
	}
	traceNames = []string{"chat-turn", "deep-pipeline", "rag-query", "日本語の会話 🗾", "tool-heavy/agent"}
)

// genTrace generates trace k with its observations in canonical order.
func (pl *plan) genTrace(k int) *genTrace {
	r := newRand(pl.seed, uint64(k), 0x7e)
	n := pl.counts[k]
	start := pl.traceStartMs(k)
	dur := pl.traceDurationMs(k)
	shape := k % 5
	exp, isExp := pl.exp[k]

	t := &Trace{ID: pl.traceID(k), Timestamp: ms(start), Environment: pl.envs[r.IntN(len(pl.envs))],
		CreatedAt: ms(start + dur + 1500), UpdatedAt: ms(start + dur + 4000)}
	switch r.IntN(30) {
	case 0:
	case 1:
		t.Name = ptr("")
	default:
		t.Name = ptr(traceNames[shape])
	}
	if r.IntN(6) != 0 {
		t.UserID = ptr(pl.users[r.IntN(len(pl.users))])
	}
	if r.IntN(4) != 0 {
		t.SessionID = ptr(pl.sessions[r.IntN(len(pl.sessions))])
	}
	if r.IntN(3) != 0 {
		t.Release = ptr(pl.releases[r.IntN(len(pl.releases))])
	}
	if r.IntN(2) == 0 {
		t.Version = ptr(pl.versions[r.IntN(len(pl.versions))])
	}
	switch r.IntN(4) {
	case 0:
		t.Tags = []string{}
	case 1:
		t.Tags = []string{"prod", "rag"}
	case 2:
		t.Tags = []string{"タグ", "🚀", "prod"}
	default:
		t.Tags = []string{"beta"}
	}
	t.Public = r.IntN(10) == 0
	t.Bookmarked = r.IntN(12) == 0
	if r.IntN(12) == 0 {
		t.Metadata = NullPayload()
	} else {
		t.Metadata = lazyPayload(func() string { return genPayloadText(pl.seed, k, 0, fieldTraceMeta, "", 0, "") })
	}
	if isExp {
		t.Name = ptr("experiment: " + exp.run.Name)
		t.SessionID = nil
		t.Environment = "default"
		if exp.run.Name == "ja-run-1" {
			// Langfuse's own prompt experiments use an internal environment
			// that public ingestion cannot reproduce.
			t.Environment = "langfuse-prompt-experiment"
		}
	}

	step := max(1, dur/(2*int64(n)))
	obs := make([]*Observation, n)
	starts := make([]int64, n)
	for j := 0; j < n; j++ {
		o := &Observation{ID: pl.obsID(k, j), TraceID: t.ID, Environment: t.Environment, Level: LevelDefault}
		starts[j] = start + int64(j)*step
		if j >= 2 && r.IntN(6) == 0 {
			starts[j] = starts[j-1] // parallel calls in the same millisecond
		}
		o.StartTime = ms(starts[j])
		switch {
		case j == 0 && isExp:
			o.Type = TypeChain
		case j == 0 && (shape == 0 || shape == 4):
			o.Type = TypeAgent
		case j == 0 && shape == 2:
			o.Type = TypeChain
		case j == 0:
			o.Type = TypeSpan
		case isExp:
			o.Type = TypeGeneration
		default:
			o.Type = shapeSeq[(j-1+k)%len(shapeSeq)]
		}
		if j > 0 {
			parent := j - 1
			if shape != 1 {
				parent = j - 1 - r.IntN(min(j, 3))
			}
			o.ParentObservationID = obs[parent].ID
			o.AppRoot = !pl.lazy && k%9 == 4 && j == 1
		}
		if o.Type != TypeEvent {
			o.EndTime = ptr(ms(start + dur - int64(j)))
		}
		names := typeNames[o.Type]
		switch r.IntN(45) {
		case 0:
		case 1:
			o.Name = ptr("")
		default:
			o.Name = ptr(names[r.IntN(len(names))])
		}
		if j == 0 && isExp {
			o.Name = ptr("experiment-item-run")
		}
		switch r.IntN(30) {
		case 0:
			o.Level, o.StatusMessage = LevelError, ptr("upstream returned 429 Too Many Requests — リトライしてください")
		case 1:
			o.Level, o.StatusMessage = LevelWarning, ptr("slow response")
		case 2, 3:
			o.Level = LevelDebug
		case 4, 5:
			o.StatusMessage = ptr("")
		}
		if r.IntN(2) == 0 {
			o.Version = t.Version
		}
		pl.genPayloads(o, r, k, j)
		if j == 0 && isExp {
			o.Input = exp.item.Input
		}
		switch o.Type {
		case TypeGeneration:
			pl.genGeneration(o, r)
		case TypeEmbedding:
			n := int64(10 + r.IntN(500))
			o.Model = ptr(pl.embedding.name)
			pl.matchModel(o, pl.embedding, map[string]int64{"input": n, "total": n})
		}
		o.CreatedAt = o.StartTime.Add(1500 * time.Millisecond)
		o.UpdatedAt = o.StartTime.Add(3 * time.Second)
		o.traceHash = xxh32String(o.TraceID)
		obs[j] = o
	}
	t.Input, t.Output = obs[0].Input, obs[0].Output
	pl.genRowContext(k, t, obs, isExp)
	if pl.migratedFromV3(k) && !isExp {
		obs = append(obs, placeholderRoot(t, obs[0]))
	}
	slices.SortStableFunc(obs, func(a, b *Observation) int { return cmpKey(keyOf(a), keyOf(b)) })
	return &genTrace{t: t, obs: obs}
}

// Shares of traces whose rows disagree on their trace context, as v4 keeps
// it per row: the session (or the user) is set on a child span and on the
// spans after it only, as when the SDK's propagate_attributes context opens
// below the root (langfuse-python langfuse/_client/propagation.py).
func (pl *plan) childOnlySession(k int) bool { return k%7 == 2 }
func (pl *plan) childOnlyUser(k int) bool    { return k%7 == 5 }

// migratedFromV3 reports whether trace k came from Langfuse's v3 tables and
// so has a placeholder root (materialised projects only: a lazy project's
// observation counts are fixed by its plan).
func (pl *plan) migratedFromV3(k int) bool { return !pl.lazy && k%10 == 8 }

// genRowContext gives every row of trace k its own trace context: the
// trace's values, except on traces where only later spans carry the
// session or the user. The Trace record holds what Langfuse aggregates
// over the rows (a session set on any row is the trace's session).
func (pl *plan) genRowContext(k int, t *Trace, obs []*Observation, isExp bool) {
	for _, o := range obs {
		o.SetTraceContext(t)
	}
	if isExp || len(obs) < 2 {
		return
	}
	// The first span that carries the value: rows are in creation order here.
	from := 1 + int(mix64(pl.seed^uint64(k)<<8^0x5e5)%uint64(len(obs)-1))
	// childOnly gives the trace a value (from pool when it has none) and
	// sets it on the rows from `from` on, none before.
	childOnly := func(traceVal **string, pool []string, rowVal func(*Observation) **string) {
		if *traceVal == nil {
			*traceVal = ptr(pool[k%len(pool)])
		}
		for j, o := range obs {
			if j < from {
				*rowVal(o) = nil
			} else {
				*rowVal(o) = *traceVal
			}
		}
	}
	switch {
	case pl.childOnlySession(k):
		childOnly(&t.SessionID, pl.sessions, func(o *Observation) **string { return &o.SessionID })
	case pl.childOnlyUser(k):
		childOnly(&t.UserID, pl.users, func(o *Observation) **string { return &o.UserID })
	}
}

// placeholderRoot is the row Langfuse v4 gives a trace migrated from its v3
// tables (worker/src/backgroundMigrations/createRootSpansFromTraces.ts;
// convertTraceToStagingObservation in
// packages/shared/src/server/repositories/definitions.ts for traces still
// written through the legacy path): id "t-<traceId>", type SPAN, no parent,
// start time the trace's timestamp, no end time, level DEFAULT, the trace's
// name, environment, version, metadata, input and output, and its trace
// context. The former root becomes its child
// (worker/src/features/eventPropagation/handleEventPropagationJob.ts:
// coalesce(parent_observation_id, concat('t-', trace_id))).
func placeholderRoot(t *Trace, formerRoot *Observation) *Observation {
	o := &Observation{ID: PlaceholderID(t.ID), TraceID: t.ID, Type: TypeSpan, Name: t.Name, StartTime: t.Timestamp,
		Level: LevelDefault, Version: t.Version, Environment: t.Environment, Bookmarked: t.Bookmarked,
		Input: t.Input, Output: t.Output, Metadata: t.Metadata, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt,
		Placeholder: true, traceHash: formerRoot.traceHash}
	o.SetTraceContext(t)
	o.TraceName = t.Name
	formerRoot.ParentObservationID = o.ID
	return o
}

// genPayloads sets input, output and metadata, with null, empty, bare-string
// and media-bearing variants.
func (pl *plan) genPayloads(o *Observation, r interface{ IntN(int) int }, k, j int) {
	size := pl.size.PayloadBytes
	if pl.size.MaxPayloadBytes > size && r.IntN(25) == 0 {
		// Spread large payloads roughly log-uniformly up to the maximum.
		f := float64(r.IntN(1000)) / 1000
		size = int(float64(size) * math.Pow(float64(pl.size.MaxPayloadBytes)/float64(size), f))
	}
	inSize, outSize := size*2/5, size*3/5
	media := ""
	if len(pl.media) > 0 && (k+j)%13 == 5 {
		media = MediaReference(pl.media[(k+j)%len(pl.media)], "base64_data_uri")
	}
	typ := o.Type
	switch v := r.IntN(40); {
	case v == 0 && typ != TypeGeneration:
		o.Input = NullPayload()
	case v == 1:
		o.Input = TextPayload("")
	case v <= 4:
		o.Input = TextPayload("注文 #42 の状況を教えてください 📦")
	default:
		o.Input = lazyPayload(func() string { return genPayloadText(pl.seed, k, j, fieldInput, typ, inSize, media) })
	}
	if typ == TypeEvent {
		o.Output = NullPayload()
	} else {
		o.Output = lazyPayload(func() string { return genPayloadText(pl.seed, k, j, fieldOutput, typ, outSize, "") })
	}
	switch r.IntN(12) {
	case 0:
		o.Metadata = NullPayload()
	case 1:
		o.Metadata = JSONPayload("{}")
	default:
		o.Metadata = lazyPayload(func() string { return genPayloadText(pl.seed, k, j, fieldMetadata, typ, 0, "") })
	}
}

func (pl *plan) genGeneration(o *Observation, r interface{ IntN(int) int }) {
	m := pl.genModels[r.IntN(len(pl.genModels))]
	o.Model = ptr(m.name)
	if r.IntN(5) != 0 {
		o.ModelParameters = JSONPayload(`{"temperature":0.7,"max_tokens":1024,"stream":false}`)
	}
	in, out := int64(50+r.IntN(4000)), int64(10+r.IntN(800))
	usage := map[string]int64{"input": in, "output": out, "total": in + out}
	if r.IntN(3) == 0 {
		usage["input_cached_tokens"] = in / 4
	}
	pl.matchModel(o, m, usage)
	ct := o.StartTime.Add(o.EndTime.Sub(o.StartTime) / 3)
	o.CompletionStartTime = &ct
	if len(pl.prompts) > 0 && r.IntN(3) == 0 {
		pv := pl.prompts[r.IntN(len(pl.prompts))]
		o.PromptID, o.PromptName, o.PromptVersion = ptr(pv.ID), ptr(pv.Name), ptr(pv.Version)
	}
}

// matchModel sets usage, the matched model and the costs its prices give.
func (pl *plan) matchModel(o *Observation, m genModel, usage map[string]int64) {
	o.UsageDetails = usage
	o.CostDetails = map[string]float64{}
	if m.modelID == nil {
		return
	}
	o.InternalModelID = m.modelID
	o.UsagePricingTierName = ptr("Standard")
	total := 0.0
	for _, k := range slices.Sorted(maps.Keys(usage)) { // fixed order: float sums depend on it
		if p, ok := m.prices[k]; ok && k != "total" {
			o.CostDetails[k] = float64(usage[k]) * p
			total += float64(usage[k]) * p
		}
	}
	o.CostDetails["total"] = total
}

func genConfigs(pl *plan, p *Project) {
	at := pl.end.Add(-30 * 24 * time.Hour)
	mk := func(i int, name, dt string) *ScoreConfig {
		c := &ScoreConfig{ID: pl.uuid(0xc0f, i), Name: name, DataType: dt, CreatedAt: at.Add(time.Duration(i) * time.Hour)}
		c.UpdatedAt = c.CreatedAt.Add(time.Minute)
		return c
	}
	quality := mk(0, "quality", DataNumeric)
	quality.MinValue, quality.MaxValue, quality.Description = ptr(0.0), ptr(1.0), ptr("Overall answer quality (0–1)")
	helpful := mk(1, "is_helpful", DataBoolean)
	helpful.Categories = []ConfigCategory{{1, "True"}, {0, "False"}}
	sentiment := mk(2, "sentiment", DataCategorical)
	sentiment.Categories = []ConfigCategory{{0, "negative"}, {1, "neutral"}, {2, "positive"}}
	sentiment.Description = ptr("")
	feedback := mk(3, "feedback", DataText)
	feedback.Description = ptr("自由記述のフィードバック")
	old := mk(4, "old-metric", DataNumeric)
	old.IsArchived = true
	for _, c := range []*ScoreConfig{quality, helpful, sentiment, feedback, old} {
		p.AddScoreConfig(c)
	}
}

func (pl *plan) uuid(kind uint64, i int) string {
	return uuidFormat(fmt.Sprintf("%016x%016x", mix64(pl.seed^kind<<32^uint64(i)), mix64(pl.seed^kind<<33^uint64(i)+7)))
}

func genModels(pl *plan, p *Project) {
	created := pl.end.Add(-60 * 24 * time.Hour)
	tiers := func(id string, in, out float64, extra bool) []PricingTier {
		t := []PricingTier{{ID: id + "-t0", Name: "Standard", IsDefault: true, Priority: 0, Conditions: []PricingCondition{},
			Prices: map[string]float64{"input": in, "output": out, "input_cached_tokens": in / 10}}}
		if extra {
			t = append(t, PricingTier{ID: id + "-t1", Name: "Large context", Priority: 1,
				Conditions: []PricingCondition{{UsageDetailPattern: "input", Operator: "gt", Value: 200000}},
				Prices:     map[string]float64{"input": in * 2, "output": out * 2}},
				PricingTier{ID: id + "-t2", Name: "EU/JP region", Priority: 2,
					Conditions: []PricingCondition{{Source: "metadata", Key: "region", Operator: "in", Values: []string{"eu", "jp"}}},
					Prices:     map[string]float64{"input": in * 1.1, "output": out * 1.1}})
		}
		return t
	}
	tokens := "TOKENS"
	models := []*Model{
		{ID: pl.uuid(0x30d, 0), ModelName: "my-ft-model", MatchPattern: `(?i)^(my-ft-model)(-\d{4})?$`, Unit: &tokens,
			TokenizerID: ptr("openai"), TokenizerConfig: ValuePayload(map[string]any{"tokensPerMessage": 3, "tokenizerModel": "gpt-4o"}),
			CreatedAt: created, PricingTiers: tiers(pl.uuid(0x30d, 0), 0.000003, 0.000012, true)},
		{ID: pl.uuid(0x30d, 1), ModelName: "legacy-embedder", MatchPattern: `(?i)^(legacy-embedder)$`,
			StartDate: ptr(pl.end.Add(-45 * 24 * time.Hour)), CreatedAt: created.Add(time.Hour),
			PricingTiers: tiers(pl.uuid(0x30d, 1), 0.0000001, 0, false)},
		{ID: "managed-gpt-4o", ModelName: "gpt-4o", MatchPattern: `(?i)^(openai\/)?(gpt-4o)(-\d{4}-\d{2}-\d{2})?$`, Unit: &tokens,
			TokenizerID: ptr("openai"), TokenizerConfig: ValuePayload(map[string]any{"tokensPerMessage": 3, "tokensPerName": 1, "tokenizerModel": "gpt-4o"}),
			IsLangfuseManaged: true, CreatedAt: created.Add(-24 * time.Hour), PricingTiers: tiers("managed-gpt-4o", 0.0000025, 0.00001, false)},
		{ID: "managed-claude-3-5-sonnet", ModelName: "claude-3-5-sonnet", MatchPattern: `(?i)^(anthropic\/)?(claude-3-5-sonnet)(-\d{8})?$`,
			Unit: &tokens, IsLangfuseManaged: true, CreatedAt: created.Add(-24 * time.Hour),
			PricingTiers: tiers("managed-claude-3-5-sonnet", 0.000003, 0.000015, false)},
		{ID: "managed-text-embedding-3-small", ModelName: "text-embedding-3-small", MatchPattern: `(?i)^(text-embedding-3-small)$`,
			Unit: &tokens, IsLangfuseManaged: true, CreatedAt: created.Add(-24 * time.Hour),
			PricingTiers: tiers("managed-text-embedding-3-small", 0.00000002, 0, false)},
	}
	for _, m := range models {
		p.AddModel(m)
	}
	match := func(name string) genModel {
		gm := genModel{name: name}
		for _, m := range models {
			if regexp.MustCompile(m.MatchPattern).MatchString(name) {
				gm.modelID, gm.prices = ptr(m.ID), m.defaultPrices()
				break
			}
		}
		return gm
	}
	for _, name := range []string{"gpt-4o-2024-08-06", "claude-3-5-sonnet-20241022", "my-ft-model", "local-llama-3", "gpt-4o-2024-08-06"} {
		pl.genModels = append(pl.genModels, match(name))
	}
	pl.embedding = match("text-embedding-3-small")
}

func genPrompts(pl *plan, p *Project) {
	at := pl.end.Add(-20 * 24 * time.Hour)
	i := 0
	add := func(v *PromptVersion) {
		v.ID = pl.uuid(0x9e0, i)
		v.CreatedAt = at.Add(time.Duration(i) * 7 * time.Hour)
		v.UpdatedAt = v.CreatedAt.Add(time.Duration(i%3) * time.Hour)
		v.CreatedBy = "API"
		if v.Config.IsNull() {
			v.Config = JSONPayload("{}")
		}
		i++
		p.AddPromptVersion(v)
		pl.prompts = append(pl.prompts, v)
	}
	qaTags := []string{"support", "日本語"}
	add(&PromptVersion{Name: "qa-bot", Version: 1, Type: "text", Text: "Answer the question: {{question}}", Labels: []string{}, Tags: qaTags})
	add(&PromptVersion{Name: "qa-bot", Version: 2, Type: "text", Text: "Answer briefly.\nQuestion: {{question}}", Labels: []string{"staging"}, Tags: qaTags, CommitMessage: ptr("shorter answers")})
	add(&PromptVersion{Name: "qa-bot", Version: 3, Type: "text", Text: "Answer briefly and politely 🙇.\nQuestion: {{question}}",
		Labels: []string{"production", "latest"}, Tags: qaTags, CommitMessage: ptr("丁寧な回答"), Config: ValuePayload(map[string]any{"model": "gpt-4o", "temperature": 0.2})})
	add(&PromptVersion{Name: "shared/system-preamble", Version: 1, Type: "text", Text: "You are a careful assistant.", Labels: []string{"production", "latest"}, Tags: []string{}})
	chat := func(v int, labels []string) *PromptVersion {
		return &PromptVersion{Name: "folder/sub/prompt", Version: v, Type: "chat", Labels: labels, Tags: []string{"chat"},
			Messages: []ChatMessage{{Role: "system", Content: "You are {{persona}}. @@@langfusePrompt:name=shared/system-preamble|label=production@@@"},
				{Placeholder: "history"}, {Role: "user", Content: "{{question}} 🤔"}},
			Config: ValuePayload(map[string]any{"model": "claude-3-5-sonnet", "max_tokens": 512, "tools": []any{map[string]any{"name": "lookup_order"}}})}
	}
	add(chat(1, []string{}))
	add(chat(2, []string{"production", "latest"}))
	add(&PromptVersion{Name: "summariser", Version: 1, Type: "text", Text: "@@@langfusePrompt:name=shared/system-preamble|version=1@@@\nSummarise: {{text}}",
		Labels: []string{}, Tags: []string{"summary"}})
	add(&PromptVersion{Name: "summariser", Version: 2, Type: "text", Text: "@@@langfusePrompt:name=shared/system-preamble|label=production@@@\nSummarise in Japanese: {{text}}",
		Labels: []string{"production", "latest"}, Tags: []string{"summary"}, CommitMessage: ptr("use the production preamble")})
	add(&PromptVersion{Name: "ja/挨拶", Version: 1, Type: "text", Text: "こんにちは {{name}} さん 🎌", Labels: []string{"production", "latest"}, Tags: []string{}})
}

func genMedia(pl *plan, p *Project) {
	at := pl.end.Add(-10 * 24 * time.Hour)
	r := newRand(pl.seed, 0x3ed1a)
	blob := func(header []byte, n int) []byte {
		b := append([]byte{}, header...)
		for len(b) < n {
			b = append(b, byte(r.IntN(256)))
		}
		return b
	}
	pl.media = []*Media{
		p.AddMedia("image/png", blob([]byte("\x89PNG\r\n\x1a\n"), 2048), at),
		p.AddMedia("image/jpeg", blob([]byte{0xff, 0xd8, 0xff, 0xe0}, 4096), at.Add(time.Hour)),
		p.AddMedia("application/pdf", blob([]byte("%PDF-1.7\n"), 3000), at.Add(2*time.Hour)),
		p.AddMedia("audio/wav", blob([]byte("RIFF\x00\x00\x00\x00WAVEfmt "), 1500), at.Add(3*time.Hour)),
	}
}

func genDatasets(pl *plan, p *Project) {
	at := pl.end.Add(-15 * 24 * time.Hour)
	type spec struct {
		name, desc string
		items      int
		runs       []string
		meta       Payload
		schema     Payload
	}
	specs := []spec{
		{name: "qa/golden-set", desc: "Golden questions for the support bot", items: 12, runs: []string{"baseline run", "run/2026-03-05 gpt-4o"},
			meta:   ValuePayload(map[string]any{"owner": "ml-team", "tags": []string{"gold"}}),
			schema: ValuePayload(map[string]any{"type": "object", "properties": map[string]any{"question": map[string]any{"type": "string"}}})},
		{name: "eval/日本語-faq", items: 8, runs: []string{"ja-run-1"}},
		{name: "plain", desc: "", items: 0, meta: JSONPayload("{}")},
	}
	var links []expLink
	itemN := 0
	for di, s := range specs {
		d := &Dataset{ID: pl.uuid(0xda7a, di), Name: s.name, Metadata: s.meta, InputSchema: s.schema,
			CreatedAt: at.Add(time.Duration(di) * time.Hour)}
		if s.desc != "" || di == 2 {
			d.Description = ptr(s.desc)
		}
		d.UpdatedAt = d.CreatedAt.Add(time.Hour)
		p.AddDataset(d)
		var items []*DatasetItem
		for i := 0; i < s.items; i++ {
			r := newRand(pl.seed, 0x17e3, uint64(itemN))
			it := &DatasetItem{ID: pl.uuid(0x17e3, itemN), DatasetID: d.ID, Status: "ACTIVE",
				CreatedAt: d.CreatedAt.Add(time.Duration(i+1) * time.Minute)}
			it.UpdatedAt = it.CreatedAt.Add(time.Duration(i) * time.Second)
			if i%5 == 4 {
				it.Status = "ARCHIVED"
			}
			q := map[string]any{"question": filler(r, 60), "lang": []string{"en", "ja"}[i%2]}
			if i%4 == 1 && len(pl.media) > 0 {
				q["image"] = MediaReference(pl.media[i%len(pl.media)], "base64_data_uri")
			}
			it.Input = ValuePayload(q)
			switch i % 3 {
			case 0:
				it.ExpectedOutput = ValuePayload(map[string]any{"answer": filler(r, 40)})
			case 1:
				it.ExpectedOutput = TextPayload("はい、可能です。")
			}
			if i%3 != 2 {
				it.Metadata = ValuePayload(map[string]any{"difficulty": i % 3, "source": "manual"})
			}
			if di == 0 && i < 2 {
				it.SourceTraceID = ptr(pl.traceID(min(6, len(pl.counts)-1)))
				if i == 0 {
					it.SourceObservationID = ptr(pl.obsID(min(6, len(pl.counts)-1), 0))
				}
			}
			items = append(items, it)
			itemN++
		}
		p.AddDatasetItems(items...)
		for ri, name := range s.runs {
			run := &DatasetRun{ID: ExperimentID(pl.projectID, d.ID, name), Name: name, DatasetID: d.ID}
			if ri == 0 {
				run.Description = ptr("first run — 最初の実行")
				run.Metadata = ValuePayload(map[string]any{"model": "gpt-4o", "temperature": 0})
			}
			// The run's items: at most five active items per run.
			n := 0
			for _, it := range items {
				if it.Status == "ACTIVE" && n < 5 {
					links = append(links, expLink{run: run, item: it})
					n++
				}
			}
			pl.runs = append(pl.runs, run)
		}
	}
	stride := max(1, len(pl.counts)/(len(links)+1))
	for i, l := range links {
		k := (stride*(i+1) + 2) % len(pl.counts)
		for _, taken := pl.exp[k]; taken; _, taken = pl.exp[k] {
			k = (k + 1) % len(pl.counts)
		}
		if len(pl.exp) >= len(pl.counts) {
			break
		}
		pl.exp[k] = l
	}
}

// genTraceDependents adds what refers to traces: sessions, scores, run items,
// comments and annotation queues.
func genTraceDependents(pl *plan, p *Project) {
	tr := p.tr()
	runItems := map[string][]*DatasetRunItem{}
	runStart := map[string]time.Time{}
	var firstSession string
	var genIDs []struct{ trace, obs string }
	for k := range pl.counts {
		var g *genTrace
		if pl.lazy {
			g = p.lazy.get(k)
		} else {
			t := tr.trace(pl.traceID(k))
			g = &genTrace{t: t, obs: tr.traceObservations(t.ID)}
		}
		t := g.t
		if t.SessionID != nil && pl.lazy {
			// Traces come newest first, so the last write leaves the session
			// created at its oldest trace.
			p.lazy.sessionTraces[*t.SessionID] = append(p.lazy.sessionTraces[*t.SessionID], k)
			p.AddSession(&Session{ID: *t.SessionID, CreatedAt: t.Timestamp, Environment: t.Environment})
		}
		if t.SessionID != nil && firstSession == "" {
			firstSession = *t.SessionID
		}
		for _, o := range g.obs {
			if o.Type == TypeGeneration && len(genIDs) < 8 {
				genIDs = append(genIDs, struct{ trace, obs string }{t.ID, o.ID})
			}
		}
		pl.genScores(p, k, g)
		if l, ok := pl.exp[k]; ok {
			root := pl.obsID(k, 0)
			ri := &DatasetRunItem{ID: pl.uuid(0x7711, k), RunID: l.run.ID, DatasetItemID: l.item.ID, TraceID: t.ID,
				CreatedAt: t.Timestamp, UpdatedAt: t.Timestamp.Add(time.Second)}
			if k%2 == 0 {
				ri.ObservationID = &root
			}
			runItems[l.run.ID] = append(runItems[l.run.ID], ri)
			if s, ok := runStart[l.run.ID]; !ok || t.Timestamp.Before(s) {
				runStart[l.run.ID] = t.Timestamp
			}
		}
	}
	for _, run := range pl.runs {
		run.CreatedAt = runStart[run.ID]
		if run.CreatedAt.IsZero() {
			run.CreatedAt = pl.end.Add(-time.Hour)
		}
		run.UpdatedAt = run.CreatedAt.Add(time.Hour)
		p.AddDatasetRun(run, runItems[run.ID]...)
		p.AddScores(&Score{ID: pl.uuid(0x5c0e, len(p.scores)), Name: "run_accuracy", DataType: DataNumeric, Value: 0.82,
			Source: SourceAPI, Timestamp: run.UpdatedAt, CreatedAt: run.UpdatedAt, UpdatedAt: run.UpdatedAt,
			DatasetRunID: ptr(run.ID), Environment: "default", Metadata: NullPayload()})
	}
	for i, s := range p.Sessions() {
		if i%2 == 0 {
			at := s.CreatedAt.Add(time.Hour)
			p.AddScores(&Score{ID: pl.uuid(0x5e55, i), Name: "session_satisfaction", DataType: DataNumeric, Value: float64(i%5) + 0.5,
				Source: SourceAnnotation, Timestamp: at, CreatedAt: at, UpdatedAt: at, SessionID: ptr(s.ID),
				AuthorUserID: ptr("reviewer-1"), Environment: s.Environment, Metadata: NullPayload()})
		}
	}
	genComments(pl, p, firstSession, genIDs)
}

var (
	sentimentLabels = []string{"negative", "neutral", "positive"}
	textFeedback    = []string{"とても良い回答でした 👍", "Missing the refund policy.", "", "完璧 ✅"}
)

// genScores adds the trace and observation scores of trace k: every data
// type and source, with and without configs, comments and metadata.
func (pl *plan) genScores(p *Project, k int, g *genTrace) {
	r := newRand(pl.seed, uint64(k), 0x5c)
	n := int(pl.size.ScoresPerTrace)
	if float64(r.IntN(1000))/1000 < pl.size.ScoresPerTrace-float64(n) {
		n++
	}
	configs := p.ScoreConfigs()
	queues := []string{pl.uuid(0x9ee, 0), pl.uuid(0x9ee, 1)}
	t := g.t
	var gen *Observation
	for _, o := range g.obs {
		if o.Type == TypeGeneration {
			gen = o
		}
	}
	for i := 0; i < n; i++ {
		at := t.Timestamp.Add(time.Duration(1+r.IntN(3600)) * time.Second)
		s := &Score{ID: pl.uuid(0x5c0, k<<8|i), Source: SourceAPI, Timestamp: at, CreatedAt: at.Add(time.Second), UpdatedAt: at.Add(2 * time.Second),
			TraceID: ptr(t.ID), Environment: t.Environment, Metadata: NullPayload()}
		obs := g.obs[r.IntN(len(g.obs))]
		switch (k*3 + i) % 5 {
		case 0:
			s.Name, s.DataType, s.Value, s.Source, s.ConfigID = "quality", DataNumeric, float64(r.IntN(1001))/1000, SourceEval, ptr(configs[0].ID)
			s.Metadata = ValuePayload(map[string]any{"evaluator": "faithfulness", "model": "gpt-4o"})
		case 1:
			v := r.IntN(2)
			s.Name, s.DataType, s.Value, s.StringValue = "is_helpful", DataBoolean, float64(v), ptr([]string{"False", "True"}[v])
			s.ObservationID, s.ConfigID = ptr(obs.ID), ptr(configs[1].ID)
		case 2:
			v := r.IntN(3)
			s.Name, s.DataType, s.Value, s.StringValue, s.Source = "sentiment", DataCategorical, float64(v), ptr(sentimentLabels[v]), SourceAnnotation
			s.ConfigID, s.QueueID, s.AuthorUserID = ptr(configs[2].ID), ptr(queues[k%2]), ptr("reviewer-1")
			s.Comment = ptr("looks fine — 問題なし")
		case 3:
			s.Name, s.DataType, s.StringValue = "feedback", DataText, ptr(textFeedback[r.IntN(len(textFeedback))])
			s.Metadata = JSONPayload("{}")
		case 4:
			s.Name, s.DataType, s.Source = "correction", DataCorrection, SourceAnnotation
			s.StringValue = ptr("Corrected answer: " + filler(r, 120))
			target := obs
			if gen != nil {
				target = gen
			}
			s.ObservationID, s.AuthorUserID = ptr(target.ID), ptr("reviewer-2")
		}
		p.AddScores(s)
	}
}

func genComments(pl *plan, p *Project, session string, gens []struct{ trace, obs string }) {
	at := pl.end.Add(-time.Hour)
	var comments []*Comment
	add := func(objType, objID, content string, author *string) {
		i := len(comments)
		c := &Comment{ID: pl.uuid(0xc033, i), ObjectType: objType, ObjectID: objID, Content: content, AuthorUserID: author,
			CreatedAt: at.Add(time.Duration(i) * time.Minute)}
		c.UpdatedAt = c.CreatedAt
		comments = append(comments, c)
	}
	nt := len(pl.counts)
	for k := 0; k < min(3, nt); k++ {
		add("TRACE", pl.traceID(k), []string{"Check this one 👀", "回答が長すぎます", "ok"}[k], []*string{ptr("reviewer-1"), nil, ptr("reviewer-2")}[k])
	}
	for i, g := range gens[:min(2, len(gens))] {
		add("OBSERVATION", g.obs, []string{"Hallucinated order number ❌", "良い"}[i], ptr("reviewer-1"))
	}
	if session != "" {
		add("SESSION", session, "Whole session was handled well. セッション全体 OK 🙆", nil)
	}
	for _, v := range p.Prompts() {
		if v.Name == "qa-bot" && v.Version == 3 {
			add("PROMPT", v.ID, "Production version approved ✅", ptr("reviewer-1"))
		}
	}
	p.AddComments(comments...)

	configs := p.ScoreConfigs()
	queues := []*AnnotationQueue{
		{ID: pl.uuid(0x9ee, 0), Name: "review-queue", Description: ptr("Weekly review of production traces"),
			ScoreConfigIDs: []string{configs[0].ID, configs[2].ID}, CreatedAt: at.Add(-48 * time.Hour)},
		{ID: pl.uuid(0x9ee, 1), Name: "ja-レビュー", ScoreConfigIDs: []string{configs[1].ID}, CreatedAt: at.Add(-47 * time.Hour)},
	}
	for qi, q := range queues {
		q.UpdatedAt = q.CreatedAt.Add(time.Hour)
		var items []*AnnotationQueueItem
		addItem := func(objType, objID string, done bool) {
			i := len(items)
			it := &AnnotationQueueItem{ID: pl.uuid(0x9e1+uint64(qi), i), QueueID: q.ID, ObjectID: objID, ObjectType: objType,
				Status: "PENDING", CreatedAt: q.CreatedAt.Add(time.Duration(i+1) * time.Minute)}
			it.UpdatedAt = it.CreatedAt
			if done {
				it.Status = "COMPLETED"
				c := it.CreatedAt.Add(30 * time.Minute)
				it.CompletedAt, it.UpdatedAt = &c, c
			}
			items = append(items, it)
		}
		for k := 3; k < min(6, nt); k++ {
			addItem("TRACE", pl.traceID(k), k%2 == 0)
		}
		for i, g := range gens[min(2, len(gens)):min(4, len(gens))] {
			addItem("OBSERVATION", g.obs, i == 0)
		}
		if session != "" && qi == 0 {
			addItem("SESSION", session, false)
		}
		p.AddAnnotationQueue(q, items...)
	}
}
