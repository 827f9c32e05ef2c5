package lftest

import (
	"encoding/json"
	"time"
)

// Mode selects which generation of the Langfuse read API the server imitates.
type Mode int

const (
	// V4 imitates Langfuse v4 (Cloud, or self-hosted with
	// LANGFUSE_MIGRATION_V4_WRITE_MODE=events_only): v2 observations, v3 scores
	// and experiments; the legacy tracing reads answer 404.
	V4 Mode = iota + 1
	// V3 imitates self-hosted Langfuse v3: traces, v1 observations, sessions,
	// v2 scores and dataset runs; GET /api/public/v2/observations answers 404.
	V3
)

func (m Mode) String() string {
	switch m {
	case V3:
		return "v3"
	case V4:
		return "v4"
	}
	return "unknown"
}

// Observation types, levels, score data types and sources, as Langfuse spells them.
const (
	TypeSpan       = "SPAN"
	TypeGeneration = "GENERATION"
	TypeEvent      = "EVENT"
	TypeAgent      = "AGENT"
	TypeTool       = "TOOL"
	TypeChain      = "CHAIN"
	TypeRetriever  = "RETRIEVER"
	TypeEvaluator  = "EVALUATOR"
	TypeEmbedding  = "EMBEDDING"
	TypeGuardrail  = "GUARDRAIL"

	LevelDebug   = "DEBUG"
	LevelDefault = "DEFAULT"
	LevelWarning = "WARNING"
	LevelError   = "ERROR"

	DataNumeric     = "NUMERIC"
	DataBoolean     = "BOOLEAN"
	DataCategorical = "CATEGORICAL"
	DataText        = "TEXT"
	DataCorrection  = "CORRECTION"

	SourceAPI        = "API"
	SourceEval       = "EVAL"
	SourceAnnotation = "ANNOTATION"
)

// ObservationTypes lists every observation type in the order of the spec.
var ObservationTypes = []string{TypeSpan, TypeGeneration, TypeEvent, TypeAgent, TypeTool,
	TypeChain, TypeRetriever, TypeEvaluator, TypeEmbedding, TypeGuardrail}

// ScoreDataTypes lists every score data type of the spec.
var ScoreDataTypes = []string{DataNumeric, DataBoolean, DataCategorical, DataText, DataCorrection}

// Payload is an input, output, metadata or model-parameters value in the form
// Langfuse's events table keeps it: the JSON text of an object, array, number
// or boolean, a bare string, or null. APIs that parse I/O (traces, v1
// observations) turn text that parses as JSON into JSON and return anything
// else as a string; v2 observations return the text itself.
//
// A Payload can be generated on demand, so that a large project does not hold
// its payloads in memory.
type Payload struct {
	text string
	set  bool
	str  bool // a bare string rather than JSON text
	gen  func() string
}

// NullPayload is the null value.
func NullPayload() Payload { return Payload{} }

// TextPayload is a value stored as the bare string s.
func TextPayload(s string) Payload { return Payload{text: s, set: true, str: true} }

// JSONPayload is a value stored as the JSON text raw, kept verbatim.
func JSONPayload(raw string) Payload { return Payload{text: raw, set: true} }

// ValuePayload marshals v (which must be JSON-serialisable) and stores the text.
// nil becomes the null payload.
func ValuePayload(v any) Payload {
	if v == nil {
		return Payload{}
	}
	b, err := marshalJSON(v)
	if err != nil {
		// Only the generator and tests build payloads from Go values; a value
		// that cannot be marshalled is a programming error there.
		panic("lftest: payload is not JSON-serialisable: " + err.Error())
	}
	return Payload{text: string(b), set: true}
}

// lazyPayload is produced by gen each time it is read.
func lazyPayload(gen func() string) Payload { return Payload{set: true, gen: gen} }

// Text returns the stored text and false for null.
func (p Payload) Text() (string, bool) {
	if !p.set {
		return "", false
	}
	if p.gen != nil {
		return p.gen(), true
	}
	return p.text, true
}

// IsNull reports whether the value is null.
func (p Payload) IsNull() bool { return !p.set }

// parsed returns the value as the parsing APIs return it: JSON text as JSON,
// any other text as a JSON string, null as null.
func (p Payload) parsed() json.RawMessage {
	s, ok := p.Text()
	if !ok {
		return json.RawMessage("null")
	}
	if json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	b, _ := marshalJSON(s)
	return b
}

// value returns the exact JSON value, as Postgres-backed entities (datasets,
// prompts, models) return their JSON columns: a text payload is a JSON string.
func (p Payload) value() json.RawMessage {
	s, ok := p.Text()
	switch {
	case !ok:
		return json.RawMessage("null")
	case p.str || !json.Valid([]byte(s)):
		b, _ := marshalJSON(s)
		return b
	}
	return json.RawMessage(s)
}

// raw returns the value as v2 observations return it: the stored text as a
// JSON string, or null.
func (p Payload) raw() *string {
	s, ok := p.Text()
	if !ok {
		return nil
	}
	return &s
}

// Trace holds the trace-level attributes that Langfuse v4 denormalises onto
// every observation row of the trace (name, user, session, tags, release,
// public, environment) plus the fields the v3 trace entity has on its own
// (timestamp, input, output, metadata). See the package documentation for how
// the two read APIs derive from it.
type Trace struct {
	ID          string
	Timestamp   time.Time
	Name        *string
	UserID      *string
	SessionID   *string
	Release     *string
	Version     *string
	Environment string
	Tags        []string
	Public      bool
	Bookmarked  bool
	Input       Payload
	Output      Payload
	Metadata    Payload
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Observation is one row of the v4 events table. Like the real row it
// carries its own trace context (trace name, user, session, release, tags,
// public, plus Version and Environment): v4 keeps these per row, and rows of
// one trace may disagree (a session set only on a child span). Trace-level
// values are aggregated over the rows (AggregateTrace), as Langfuse does
// (packages/shared/src/server/queries/clickhouse-sql/event-query-builder.ts).
type Observation struct {
	ID                  string
	TraceID             string
	ParentObservationID string // "" for a root observation
	Type                string
	Name                *string
	StartTime           time.Time
	EndTime             *time.Time
	CompletionStartTime *time.Time
	Level               string
	StatusMessage       *string
	Version             *string
	Environment         string
	// AppRoot marks an observation the SDK flagged as the logical root
	// (langfuse.internal.is_app_root) even though it has a parent.
	AppRoot              bool
	Bookmarked           bool
	Input                Payload
	Output               Payload
	Metadata             Payload
	Model                *string // providedModelName
	InternalModelID      *string
	ModelParameters      Payload
	UsageDetails         map[string]int64
	CostDetails          map[string]float64
	UsagePricingTierName *string
	PromptID             *string
	PromptName           *string
	PromptVersion        *int
	CreatedAt            time.Time
	UpdatedAt            time.Time

	// The row's own trace context (events table columns trace_name,
	// user_id, session_id, release, tags, public).
	TraceName *string
	UserID    *string
	SessionID *string
	Release   *string
	Tags      []string
	Public    bool
	// Placeholder marks the root row Langfuse v4 synthesises for a trace of
	// its v3 tables: id "t-<traceId>", type SPAN, no end time, the trace's
	// name, input, output and metadata; the former roots are its children
	// (worker/src/backgroundMigrations/createRootSpansFromTraces.ts,
	// packages/shared/src/server/repositories/definitions.ts
	// convertTraceToStagingObservation). V3 mode does not serve it.
	Placeholder bool

	traceHash uint32 // xxHash32 of TraceID: the second sort key of v2 observations
	// buf, for a row read from a spill file, is the pooled buffer its
	// strings are views of (releaseRows).
	buf *[]byte
}

// IsRoot reports whether the observation is a logical root.
func (o *Observation) IsRoot() bool { return o.ParentObservationID == "" || o.AppRoot }

// PlaceholderID is the id of the placeholder root of a trace migrated from
// Langfuse's v3 tables: "t-" + the trace id (definitions.ts).
func PlaceholderID(traceID string) string { return "t-" + traceID }

// SetTraceContext sets the row's own trace context from the trace
// attributes its span carried (t may be partial: nil fields stay unset).
func (o *Observation) SetTraceContext(t *Trace) {
	o.TraceName, o.UserID, o.SessionID, o.Release = t.Name, t.UserID, t.SessionID, t.Release
	o.Tags, o.Public = t.Tags, t.Public
}

// servedTraceName is the traceName the v2 observations API returns for the
// row: its trace_name, else its own name when it is a root, an empty string being none
// (packages/shared/src/eventsTable.ts eventsTableTraceNameSql and
// normalizeEventsTraceName).
func (o *Observation) servedTraceName() *string {
	if o.TraceName != nil && *o.TraceName != "" {
		return o.TraceName
	}
	if o.IsRoot() && o.Name != nil && *o.Name != "" {
		return o.Name
	}
	return nil
}

// Score is a score on a trace, observation, session or dataset run.
type Score struct {
	ID       string
	Name     string
	DataType string
	// Value is the number of NUMERIC, BOOLEAN (1/0) and CATEGORICAL scores.
	Value float64
	// StringValue is the label of BOOLEAN and CATEGORICAL scores and the text
	// of TEXT and CORRECTION scores.
	StringValue   *string
	Source        string
	Timestamp     time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
	TraceID       *string
	ObservationID *string
	SessionID     *string
	DatasetRunID  *string
	Comment       *string
	Metadata      Payload
	ConfigID      *string
	QueueID       *string
	AuthorUserID  *string
	Environment   string
}

// Session is a session as the v3 sessions API reports it.
type Session struct {
	ID          string
	CreatedAt   time.Time
	Environment string
}

// ChatMessage is one message of a chat prompt: a role and content, or a
// placeholder (Placeholder set, Role and Content empty).
type ChatMessage struct {
	Role        string
	Content     string
	Placeholder string
}

// PromptVersion is one version of a prompt.
type PromptVersion struct {
	ID            string
	Name          string
	Version       int
	Type          string // "text" or "chat"
	Text          string
	Messages      []ChatMessage
	Config        Payload
	Labels        []string
	Tags          []string
	CommitMessage *string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	CreatedBy     string
}

// ConfigCategory is a category of a CATEGORICAL or BOOLEAN score config.
type ConfigCategory struct {
	Value float64
	Label string
}

// ScoreConfig is a score configuration.
type ScoreConfig struct {
	ID          string
	Name        string
	DataType    string
	IsArchived  bool
	MinValue    *float64
	MaxValue    *float64
	Categories  []ConfigCategory
	Description *string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// PricingCondition is a condition of a pricing tier: a usage condition
// (UsageDetailPattern set) or an attribute condition (Source set).
type PricingCondition struct {
	UsageDetailPattern string
	Operator           string
	Value              float64
	CaseSensitive      bool
	Source             string
	Key                string
	Values             []string
}

// PricingTier is a set of prices that applies under conditions.
type PricingTier struct {
	ID         string
	Name       string
	IsDefault  bool
	Priority   int
	Conditions []PricingCondition
	Prices     map[string]float64
}

// Model is a model definition with prices, custom or Langfuse-managed.
type Model struct {
	ID                string
	ModelName         string
	MatchPattern      string
	StartDate         *time.Time
	Unit              *string
	TokenizerID       *string
	TokenizerConfig   Payload
	IsLangfuseManaged bool
	CreatedAt         time.Time
	PricingTiers      []PricingTier
}

// defaultPrices returns the prices of the default tier.
func (m *Model) defaultPrices() map[string]float64 {
	for _, t := range m.PricingTiers {
		if t.IsDefault {
			return t.Prices
		}
	}
	return nil
}

// Dataset is a dataset.
type Dataset struct {
	ID                   string
	Name                 string
	Description          *string
	Metadata             Payload
	InputSchema          Payload
	ExpectedOutputSchema Payload
	CreatedAt            time.Time
	UpdatedAt            time.Time
}

// DatasetItem is an item of a dataset.
type DatasetItem struct {
	ID                  string
	DatasetID           string
	Status              string // ACTIVE or ARCHIVED
	Input               Payload
	ExpectedOutput      Payload
	Metadata            Payload
	SourceTraceID       *string
	SourceObservationID *string
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// DatasetRun is a dataset run; Langfuse v4 calls it an experiment and uses the
// same id.
type DatasetRun struct {
	ID          string
	Name        string
	Description *string
	Metadata    Payload
	DatasetID   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// DatasetRunItem links a dataset item to the trace (and optionally the
// observation) that a run produced for it. In v4 it is an experiment item.
type DatasetRunItem struct {
	ID            string
	RunID         string
	DatasetItemID string
	TraceID       string
	ObservationID *string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Comment is a comment on a trace, observation, session or prompt version.
type Comment struct {
	ID           string
	ObjectType   string // TRACE, OBSERVATION, SESSION, PROMPT
	ObjectID     string
	Content      string
	AuthorUserID *string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// AnnotationQueue is an annotation queue.
type AnnotationQueue struct {
	ID             string
	Name           string
	Description    *string
	ScoreConfigIDs []string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// AnnotationQueueItem is an item of an annotation queue.
type AnnotationQueueItem struct {
	ID          string
	QueueID     string
	ObjectID    string
	ObjectType  string // TRACE, OBSERVATION, SESSION
	Status      string // PENDING, COMPLETED
	CompletedAt *time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Media is an uploaded media object. Its ID is derived from its bytes (MediaID).
type Media struct {
	ID          string
	ContentType string
	Bytes       []byte
	UploadedAt  time.Time
}
