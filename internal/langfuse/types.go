package langfuse

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Wire types of the Langfuse public API (reference/langfuse/openapi.yml), read and write.
//
// Conventions: JSON-valued fields (input, output, metadata, modelParameters, config, prompt,
// schemas) are json.RawMessage, kept byte for byte; an absent member stays nil and a JSON null
// becomes the four bytes "null". Timestamps are time.Time. Members the spec marks nullable or
// optional are pointers (slices and maps are nil when absent), so null, absent and empty stay
// distinct. Every read type keeps the members it does not declare in Extra.

// ---------------------------------------------------------------------------------------------
// Envelopes

// pageMeta is the meta of page/limit lists.
type pageMeta struct {
	Page       int `json:"page"`
	Limit      int `json:"limit"`
	TotalItems int `json:"totalItems"`
	TotalPages int `json:"totalPages"`
}

type pageResponse[T any] struct {
	Data        []T          `json:"data"`
	Meta        pageMeta     `json:"meta"`
	Deprecation *Deprecation `json:"_deprecation"`
}

type cursorResponse[T any] struct {
	Data []T `json:"data"`
	Meta struct {
		Cursor *string `json:"cursor"`
	} `json:"meta"`
}

// Deprecation is the `_deprecation` notice of deprecated endpoints.
type Deprecation struct {
	Message     string  `json:"message"`
	Replacement *string `json:"replacement"`
	DocsURL     *string `json:"docsUrl"`
	SunsetAt    *string `json:"sunsetAt"`
	Extra       `json:"-"`
}

func (x *Deprecation) UnmarshalJSON(b []byte) error {
	type plain Deprecation
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// ---------------------------------------------------------------------------------------------
// Observations

// ObservationV2FieldGroups are all field groups of GET /v2/observations.
var ObservationV2FieldGroups = []string{"core", "basic", "time", "io", "metadata", "model", "usage", "prompt", "metrics", "trace_context"}

// ObservationV2 is an observation of GET /api/public/v2/observations (Langfuse v4). Members
// outside the requested field groups are absent (nil).
type ObservationV2 struct {
	// core
	ID                  string     `json:"id"`
	TraceID             *string    `json:"traceId"`
	StartTime           time.Time  `json:"startTime"`
	EndTime             *time.Time `json:"endTime"`
	ProjectID           string     `json:"projectId"`
	ParentObservationID *string    `json:"parentObservationId"`
	Type                string     `json:"type"`
	// basic
	Name              *string `json:"name"`
	Level             *string `json:"level"`
	StatusMessage     *string `json:"statusMessage"`
	Version           *string `json:"version"`
	Environment       *string `json:"environment"`
	Bookmarked        *bool   `json:"bookmarked"`
	Public            *bool   `json:"public"`
	UserID            *string `json:"userId"`
	SessionID         *string `json:"sessionId"`
	IsRootObservation *bool   `json:"isRootObservation"`
	// time
	CompletionStartTime *time.Time `json:"completionStartTime"`
	CreatedAt           *time.Time `json:"createdAt"`
	UpdatedAt           *time.Time `json:"updatedAt"`
	// io: Langfuse v4 returns input and output as JSON strings holding the serialized value.
	Input  json.RawMessage `json:"input"`
	Output json.RawMessage `json:"output"`
	// metadata: an object whose values are strings (truncated to 200 characters unless io is
	// requested too).
	Metadata json.RawMessage `json:"metadata"`
	// model
	ProvidedModelName *string         `json:"providedModelName"`
	InternalModelID   *string         `json:"internalModelId"`
	ModelParameters   json.RawMessage `json:"modelParameters"`
	// usage
	UsageDetails         map[string]int64   `json:"usageDetails"`
	CostDetails          map[string]float64 `json:"costDetails"`
	TotalCost            *float64           `json:"totalCost"`
	UsagePricingTierName *string            `json:"usagePricingTierName"`
	// prompt
	PromptID      *string `json:"promptId"`
	PromptName    *string `json:"promptName"`
	PromptVersion *int    `json:"promptVersion"`
	// metrics (seconds)
	Latency          *float64 `json:"latency"`
	TimeToFirstToken *float64 `json:"timeToFirstToken"`
	// always present, null unless model is requested; prices are decimal strings
	ModelID     *string `json:"modelId"`
	InputPrice  *string `json:"inputPrice"`
	OutputPrice *string `json:"outputPrice"`
	TotalPrice  *string `json:"totalPrice"`
	// trace_context
	TraceName *string  `json:"traceName"`
	Tags      []string `json:"tags"`
	Release   *string  `json:"release"`

	Extra `json:"-"`
}

func (x *ObservationV2) UnmarshalJSON(b []byte) error {
	type plain ObservationV2
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// Usage is the deprecated usage object of v1 observations.
type Usage struct {
	Input      int64    `json:"input"`
	Output     int64    `json:"output"`
	Total      int64    `json:"total"`
	Unit       *string  `json:"unit"`
	InputCost  *float64 `json:"inputCost"`
	OutputCost *float64 `json:"outputCost"`
	TotalCost  *float64 `json:"totalCost"`
	Extra      `json:"-"`
}

func (x *Usage) UnmarshalJSON(b []byte) error {
	type plain Usage
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// ObservationV1 is an ObservationsView of GET /api/public/observations and of trace details
// (Langfuse v3).
type ObservationV1 struct {
	ID                   string             `json:"id"`
	TraceID              *string            `json:"traceId"`
	Type                 string             `json:"type"`
	Name                 *string            `json:"name"`
	StartTime            time.Time          `json:"startTime"`
	EndTime              *time.Time         `json:"endTime"`
	CompletionStartTime  *time.Time         `json:"completionStartTime"`
	Model                *string            `json:"model"`
	ModelParameters      json.RawMessage    `json:"modelParameters"`
	Input                json.RawMessage    `json:"input"`
	Version              *string            `json:"version"`
	Metadata             json.RawMessage    `json:"metadata"`
	Output               json.RawMessage    `json:"output"`
	Usage                *Usage             `json:"usage"`
	Level                string             `json:"level"`
	StatusMessage        *string            `json:"statusMessage"`
	ParentObservationID  *string            `json:"parentObservationId"`
	PromptID             *string            `json:"promptId"`
	UsageDetails         map[string]int64   `json:"usageDetails"`
	CostDetails          map[string]float64 `json:"costDetails"`
	Environment          string             `json:"environment"`
	PromptName           *string            `json:"promptName"`
	PromptVersion        *int               `json:"promptVersion"`
	ModelID              *string            `json:"modelId"`
	InputPrice           *float64           `json:"inputPrice"`
	OutputPrice          *float64           `json:"outputPrice"`
	TotalPrice           *float64           `json:"totalPrice"`
	CalculatedInputCost  *float64           `json:"calculatedInputCost"`
	CalculatedOutputCost *float64           `json:"calculatedOutputCost"`
	CalculatedTotalCost  *float64           `json:"calculatedTotalCost"`
	Latency              *float64           `json:"latency"`
	TimeToFirstToken     *float64           `json:"timeToFirstToken"`

	Extra `json:"-"`
}

func (x *ObservationV1) UnmarshalJSON(b []byte) error {
	type plain ObservationV1
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// ---------------------------------------------------------------------------------------------
// Traces and sessions (Langfuse v3)

// TraceBase holds the members of the spec's Trace schema, shared by the trace types.
type TraceBase struct {
	ID          string          `json:"id"`
	Timestamp   time.Time       `json:"timestamp"`
	Name        *string         `json:"name"`
	Input       json.RawMessage `json:"input"`
	Output      json.RawMessage `json:"output"`
	SessionID   *string         `json:"sessionId"`
	Release     *string         `json:"release"`
	Version     *string         `json:"version"`
	UserID      *string         `json:"userId"`
	Metadata    json.RawMessage `json:"metadata"`
	Tags        []string        `json:"tags"`
	Public      bool            `json:"public"`
	Environment string          `json:"environment"`
}

// Trace is an element of GET /api/public/traces (TraceWithDetails).
type Trace struct {
	TraceBase
	HTMLPath     string   `json:"htmlPath"`
	Latency      *float64 `json:"latency"`
	TotalCost    *float64 `json:"totalCost"`
	Observations []string `json:"observations"` // ids
	Scores       []string `json:"scores"`       // ids

	Extra `json:"-"`
}

func (x *Trace) UnmarshalJSON(b []byte) error {
	type plain Trace
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// TraceDetails is GET /api/public/traces/{id} (TraceWithFullDetails).
type TraceDetails struct {
	TraceBase
	HTMLPath     string          `json:"htmlPath"`
	Latency      *float64        `json:"latency"`
	TotalCost    *float64        `json:"totalCost"`
	Observations []ObservationV1 `json:"observations"`
	Scores       []ScoreV1       `json:"scores"`
	Deprecation  *Deprecation    `json:"_deprecation"`

	Extra `json:"-"`
}

func (x *TraceDetails) UnmarshalJSON(b []byte) error {
	type plain TraceDetails
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// SessionTrace is a trace inside SessionWithTraces.
type SessionTrace struct {
	TraceBase
	Extra `json:"-"`
}

func (x *SessionTrace) UnmarshalJSON(b []byte) error {
	type plain SessionTrace
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// Session is an element of GET /api/public/sessions.
type Session struct {
	ID          string    `json:"id"`
	CreatedAt   time.Time `json:"createdAt"`
	ProjectID   string    `json:"projectId"`
	Environment string    `json:"environment"`

	Extra `json:"-"`
}

func (x *Session) UnmarshalJSON(b []byte) error {
	type plain Session
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// SessionWithTraces is GET /api/public/sessions/{id}.
type SessionWithTraces struct {
	ID          string         `json:"id"`
	CreatedAt   time.Time      `json:"createdAt"`
	ProjectID   string         `json:"projectId"`
	Environment string         `json:"environment"`
	Traces      []SessionTrace `json:"traces"`
	Deprecation *Deprecation   `json:"_deprecation"`

	Extra `json:"-"`
}

func (x *SessionWithTraces) UnmarshalJSON(b []byte) error {
	type plain SessionWithTraces
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// ---------------------------------------------------------------------------------------------
// Scores

// ScoreValue is the polymorphic value of a v3 score: a number (NUMERIC), a boolean (BOOLEAN)
// or a string (CATEGORICAL, TEXT, CORRECTION). At most one field is set; none for null.
type ScoreValue struct {
	Number *float64
	Bool   *bool
	String *string
}

func (v *ScoreValue) UnmarshalJSON(b []byte) error {
	*v = ScoreValue{}
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return fmt.Errorf("score value is empty")
	}
	switch b[0] {
	case 'n':
		if string(b) != "null" {
			break
		}
		return nil
	case 't', 'f':
		var x bool
		if err := json.Unmarshal(b, &x); err != nil {
			return fmt.Errorf("score value: %w", err)
		}
		v.Bool = &x
		return nil
	case '"':
		var x string
		if err := json.Unmarshal(b, &x); err != nil {
			return fmt.Errorf("score value: %w", err)
		}
		v.String = &x
		return nil
	default:
		var x float64
		if err := json.Unmarshal(b, &x); err != nil {
			break
		}
		v.Number = &x
		return nil
	}
	return fmt.Errorf("score value must be a number, boolean or string, got %.40s", b)
}

func (v ScoreValue) MarshalJSON() ([]byte, error) {
	switch {
	case v.Number != nil:
		return json.Marshal(*v.Number)
	case v.Bool != nil:
		return json.Marshal(*v.Bool)
	case v.String != nil:
		return json.Marshal(*v.String)
	}
	return []byte("null"), nil
}

// IsNull reports whether the value is JSON null or absent.
func (v ScoreValue) IsNull() bool { return v.Number == nil && v.Bool == nil && v.String == nil }

// ScoreV3FieldGroups are all optional field groups of GET /v3/scores.
var ScoreV3FieldGroups = []string{"details", "subject", "annotation"}

// ScoreV3 is an element of GET /api/public/v3/scores.
type ScoreV3 struct {
	ID          string     `json:"id"`
	ProjectID   string     `json:"projectId"`
	Name        string     `json:"name"`
	DataType    string     `json:"dataType"` // NUMERIC, BOOLEAN, CATEGORICAL, TEXT, CORRECTION
	Value       ScoreValue `json:"value"`
	Source      string     `json:"source"` // API, EVAL, ANNOTATION
	Timestamp   time.Time  `json:"timestamp"`
	Environment string     `json:"environment"`
	CreatedAt   time.Time  `json:"createdAt"`
	UpdatedAt   time.Time  `json:"updatedAt"`
	// details
	Comment  *string         `json:"comment"`
	ConfigID *string         `json:"configId"`
	Metadata json.RawMessage `json:"metadata"`
	// annotation
	AuthorUserID *string `json:"authorUserId"`
	QueueID      *string `json:"queueId"`
	// subject
	Subject *ScoreSubject `json:"subject"`

	Extra `json:"-"`
}

func (x *ScoreV3) UnmarshalJSON(b []byte) error {
	type plain ScoreV3
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// ScoreSubject is what a v3 score is attached to.
type ScoreSubject struct {
	Kind    string  `json:"kind"` // trace, observation, session, experiment
	ID      string  `json:"id"`
	TraceID *string `json:"traceId"` // observations only
	Extra   `json:"-"`
}

func (x *ScoreSubject) UnmarshalJSON(b []byte) error {
	type plain ScoreSubject
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// ScoreV2 is an element of GET /api/public/v2/scores (Langfuse v3).
type ScoreV2 struct {
	ID            string          `json:"id"`
	TraceID       *string         `json:"traceId"`
	SessionID     *string         `json:"sessionId"`
	ObservationID *string         `json:"observationId"`
	DatasetRunID  *string         `json:"datasetRunId"`
	Name          string          `json:"name"`
	Source        string          `json:"source"`
	Timestamp     time.Time       `json:"timestamp"`
	CreatedAt     time.Time       `json:"createdAt"`
	UpdatedAt     time.Time       `json:"updatedAt"`
	AuthorUserID  *string         `json:"authorUserId"`
	Comment       *string         `json:"comment"`
	Metadata      json.RawMessage `json:"metadata"`
	ConfigID      *string         `json:"configId"`
	QueueID       *string         `json:"queueId"`
	Environment   string          `json:"environment"`
	DataType      string          `json:"dataType"`
	Value         *float64        `json:"value"`       // absent for TEXT
	StringValue   *string         `json:"stringValue"` // BOOLEAN, CATEGORICAL, TEXT, CORRECTION
	Trace         *ScoreTrace     `json:"trace"`       // fields=trace

	Extra `json:"-"`
}

func (x *ScoreV2) UnmarshalJSON(b []byte) error {
	type plain ScoreV2
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// ScoreTrace is the trace summary attached to v2 scores.
type ScoreTrace struct {
	UserID      *string  `json:"userId"`
	Tags        []string `json:"tags"`
	Environment *string  `json:"environment"`
	SessionID   *string  `json:"sessionId"`
	Extra       `json:"-"`
}

func (x *ScoreTrace) UnmarshalJSON(b []byte) error {
	type plain ScoreTrace
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// ScoreV1 is a score inside trace details.
type ScoreV1 struct {
	ID            string          `json:"id"`
	TraceID       string          `json:"traceId"`
	Name          string          `json:"name"`
	Source        string          `json:"source"`
	ObservationID *string         `json:"observationId"`
	Timestamp     time.Time       `json:"timestamp"`
	CreatedAt     time.Time       `json:"createdAt"`
	UpdatedAt     time.Time       `json:"updatedAt"`
	AuthorUserID  *string         `json:"authorUserId"`
	Comment       *string         `json:"comment"`
	Metadata      json.RawMessage `json:"metadata"`
	ConfigID      *string         `json:"configId"`
	QueueID       *string         `json:"queueId"`
	Environment   string          `json:"environment"`
	DataType      string          `json:"dataType"`
	Value         *float64        `json:"value"`
	StringValue   *string         `json:"stringValue"`

	Extra `json:"-"`
}

func (x *ScoreV1) UnmarshalJSON(b []byte) error {
	type plain ScoreV1
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// ScoreConfig is an element of GET /api/public/score-configs.
type ScoreConfig struct {
	ID          string           `json:"id"`
	Name        string           `json:"name"`
	CreatedAt   time.Time        `json:"createdAt"`
	UpdatedAt   time.Time        `json:"updatedAt"`
	ProjectID   string           `json:"projectId"`
	DataType    string           `json:"dataType"` // NUMERIC, BOOLEAN, CATEGORICAL, TEXT
	IsArchived  bool             `json:"isArchived"`
	MinValue    *float64         `json:"minValue"`
	MaxValue    *float64         `json:"maxValue"`
	Categories  []ConfigCategory `json:"categories"`
	Description *string          `json:"description"`

	Extra `json:"-"`
}

func (x *ScoreConfig) UnmarshalJSON(b []byte) error {
	type plain ScoreConfig
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// ConfigCategory is a category of a CATEGORICAL (or BOOLEAN) score config.
type ConfigCategory struct {
	Value float64 `json:"value"`
	Label string  `json:"label"`
	Extra `json:"-"`
}

func (x *ConfigCategory) UnmarshalJSON(b []byte) error {
	type plain ConfigCategory
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// ---------------------------------------------------------------------------------------------
// Prompts

// PromptMeta is an element of GET /api/public/v2/prompts.
type PromptMeta struct {
	Name          string          `json:"name"`
	Type          string          `json:"type"` // text or chat
	Versions      []int           `json:"versions"`
	Labels        []string        `json:"labels"`
	Tags          []string        `json:"tags"`
	LastUpdatedAt time.Time       `json:"lastUpdatedAt"`
	LastConfig    json.RawMessage `json:"lastConfig"`

	Extra `json:"-"`
}

func (x *PromptMeta) UnmarshalJSON(b []byte) error {
	type plain PromptMeta
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// Prompt is one prompt version, GET /api/public/v2/prompts/{name}.
type Prompt struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
	Type    string `json:"type"` // text or chat
	// Prompt is a JSON string (text) or an array of chat messages and placeholders (chat),
	// verbatim; with resolve=false dependency tags (@@@langfusePrompt:…@@@) are kept.
	Prompt          json.RawMessage `json:"prompt"`
	Config          json.RawMessage `json:"config"`
	Labels          []string        `json:"labels"`
	Tags            []string        `json:"tags"`
	CommitMessage   *string         `json:"commitMessage"`
	ResolutionGraph json.RawMessage `json:"resolutionGraph"`

	// The spec's Prompt stops above, but Langfuse answers with the whole
	// prompt row (packages/shared/prisma/schema.prisma model Prompt, spread
	// by packages/shared/src/server/services/PromptService/index.ts and
	// web/src/features/prompts/server/handlers/promptNameHandler.ts), so
	// these always arrive. ID is what PROMPT comments refer to.
	ID        string     `json:"id"`
	ProjectID string     `json:"projectId"`
	CreatedAt *time.Time `json:"createdAt"`
	UpdatedAt *time.Time `json:"updatedAt"`
	CreatedBy *string    `json:"createdBy"`
	// IsActive is deprecated: the handler sets it to whether labels include
	// "production".
	IsActive *bool `json:"isActive"`

	Extra `json:"-"`
}

func (x *Prompt) UnmarshalJSON(b []byte) error {
	type plain Prompt
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// Text returns the body of a text prompt.
func (x *Prompt) Text() (string, error) {
	var s string
	if err := json.Unmarshal(x.Prompt, &s); err != nil {
		return "", fmt.Errorf("prompt %q version %d is not a text prompt: %w", x.Name, x.Version, err)
	}
	return s, nil
}

// Messages returns the messages of a chat prompt.
func (x *Prompt) Messages() ([]ChatMessage, error) {
	var m []ChatMessage
	if err := json.Unmarshal(x.Prompt, &m); err != nil {
		return nil, fmt.Errorf("prompt %q version %d is not a chat prompt: %w", x.Name, x.Version, err)
	}
	return m, nil
}

// ChatMessage is a message of a chat prompt: a role and content, or (Type "placeholder") a
// named slot filled at compile time.
type ChatMessage struct {
	Type    *string `json:"type,omitempty"` // chatmessage, placeholder, or absent
	Role    string  `json:"role,omitempty"`
	Content string  `json:"content,omitempty"`
	Name    string  `json:"name,omitempty"` // placeholders
	Extra   `json:"-"`
}

func (x *ChatMessage) UnmarshalJSON(b []byte) error {
	type plain ChatMessage
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// IsPlaceholder reports whether m is a placeholder slot.
func (m ChatMessage) IsPlaceholder() bool { return m.Type != nil && *m.Type == "placeholder" }

// ---------------------------------------------------------------------------------------------
// Models

// Model is an element of GET /api/public/models.
type Model struct {
	ID                string                `json:"id"`
	ModelName         string                `json:"modelName"`
	MatchPattern      string                `json:"matchPattern"`
	StartDate         *time.Time            `json:"startDate"`
	Unit              *string               `json:"unit"`
	InputPrice        *float64              `json:"inputPrice"`
	OutputPrice       *float64              `json:"outputPrice"`
	TotalPrice        *float64              `json:"totalPrice"`
	TokenizerID       *string               `json:"tokenizerId"`
	TokenizerConfig   json.RawMessage       `json:"tokenizerConfig"`
	IsLangfuseManaged bool                  `json:"isLangfuseManaged"`
	CreatedAt         time.Time             `json:"createdAt"`
	Prices            map[string]ModelPrice `json:"prices"`
	PricingTiers      []PricingTier         `json:"pricingTiers"`

	Extra `json:"-"`
}

func (x *Model) UnmarshalJSON(b []byte) error {
	type plain Model
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// ModelPrice is the price of one usage type of the default tier.
type ModelPrice struct {
	Price float64 `json:"price"`
	Extra `json:"-"`
}

func (x *ModelPrice) UnmarshalJSON(b []byte) error {
	type plain ModelPrice
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// PricingTier is a conditional price list of a model.
type PricingTier struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	IsDefault bool   `json:"isDefault"`
	Priority  int    `json:"priority"`
	// Conditions is an array of usage and attribute conditions, verbatim, so that it can be
	// sent back unchanged when the model is created elsewhere.
	Conditions json.RawMessage    `json:"conditions"`
	Prices     map[string]float64 `json:"prices"`

	Extra `json:"-"`
}

func (x *PricingTier) UnmarshalJSON(b []byte) error {
	type plain PricingTier
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// ---------------------------------------------------------------------------------------------
// Datasets

// Dataset is an element of GET /api/public/v2/datasets.
type Dataset struct {
	ID                   string          `json:"id"`
	Name                 string          `json:"name"`
	Description          *string         `json:"description"`
	Metadata             json.RawMessage `json:"metadata"`
	InputSchema          json.RawMessage `json:"inputSchema"`
	ExpectedOutputSchema json.RawMessage `json:"expectedOutputSchema"`
	ProjectID            string          `json:"projectId"`
	CreatedAt            time.Time       `json:"createdAt"`
	UpdatedAt            time.Time       `json:"updatedAt"`

	Extra `json:"-"`
}

func (x *Dataset) UnmarshalJSON(b []byte) error {
	type plain Dataset
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// DatasetItem is an element of GET /api/public/dataset-items.
type DatasetItem struct {
	ID                  string                      `json:"id"`
	Status              string                      `json:"status"` // ACTIVE, ARCHIVED
	Input               json.RawMessage             `json:"input"`
	ExpectedOutput      json.RawMessage             `json:"expectedOutput"`
	Metadata            json.RawMessage             `json:"metadata"`
	SourceTraceID       *string                     `json:"sourceTraceId"`
	SourceObservationID *string                     `json:"sourceObservationId"`
	DatasetID           string                      `json:"datasetId"`
	DatasetName         string                      `json:"datasetName"`
	CreatedAt           time.Time                   `json:"createdAt"`
	UpdatedAt           time.Time                   `json:"updatedAt"`
	MediaReferences     []DatasetItemMediaReference `json:"mediaReferences"`

	Extra `json:"-"`
}

func (x *DatasetItem) UnmarshalJSON(b []byte) error {
	type plain DatasetItem
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// DatasetItemMediaReference is a media token found in a dataset item, resolved.
type DatasetItemMediaReference struct {
	Field           string            `json:"field"` // input, expectedOutput, metadata
	ReferenceString string            `json:"referenceString"`
	JSONPath        string            `json:"jsonPath"`
	Media           MediaReferenceURL `json:"media"`
	Extra           `json:"-"`
}

func (x *DatasetItemMediaReference) UnmarshalJSON(b []byte) error {
	type plain DatasetItemMediaReference
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// MediaReferenceURL is the resolved media of a reference, with a signed download URL.
type MediaReferenceURL struct {
	MediaID       string `json:"mediaId"`
	ContentType   string `json:"contentType"`
	ContentLength int64  `json:"contentLength"`
	URL           string `json:"url"`
	URLExpiry     string `json:"urlExpiry"`
	Extra         `json:"-"`
}

func (x *MediaReferenceURL) UnmarshalJSON(b []byte) error {
	type plain MediaReferenceURL
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// DatasetRun is an element of GET /api/public/datasets/{name}/runs (Langfuse v3).
type DatasetRun struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Description *string         `json:"description"`
	Metadata    json.RawMessage `json:"metadata"`
	DatasetID   string          `json:"datasetId"`
	DatasetName string          `json:"datasetName"`
	CreatedAt   time.Time       `json:"createdAt"`
	UpdatedAt   time.Time       `json:"updatedAt"`

	Extra `json:"-"`
}

func (x *DatasetRun) UnmarshalJSON(b []byte) error {
	type plain DatasetRun
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// DatasetRunWithItems is GET /api/public/datasets/{name}/runs/{run}.
type DatasetRunWithItems struct {
	ID              string           `json:"id"`
	Name            string           `json:"name"`
	Description     *string          `json:"description"`
	Metadata        json.RawMessage  `json:"metadata"`
	DatasetID       string           `json:"datasetId"`
	DatasetName     string           `json:"datasetName"`
	CreatedAt       time.Time        `json:"createdAt"`
	UpdatedAt       time.Time        `json:"updatedAt"`
	DatasetRunItems []DatasetRunItem `json:"datasetRunItems"`
	Deprecation     *Deprecation     `json:"_deprecation"`

	Extra `json:"-"`
}

func (x *DatasetRunWithItems) UnmarshalJSON(b []byte) error {
	type plain DatasetRunWithItems
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// DatasetRunItem links a dataset item to the trace (and observation) of a run.
type DatasetRunItem struct {
	ID             string    `json:"id"`
	DatasetRunID   string    `json:"datasetRunId"`
	DatasetRunName string    `json:"datasetRunName"`
	DatasetItemID  string    `json:"datasetItemId"`
	TraceID        string    `json:"traceId"`
	ObservationID  *string   `json:"observationId"`
	CreatedAt      time.Time `json:"createdAt"`
	UpdatedAt      time.Time `json:"updatedAt"`

	Extra `json:"-"`
}

func (x *DatasetRunItem) UnmarshalJSON(b []byte) error {
	type plain DatasetRunItem
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// ---------------------------------------------------------------------------------------------
// Experiments (Langfuse v4)

// ExperimentFieldGroups and ExperimentItemFieldGroups are all field groups of the experiment
// endpoints.
var (
	ExperimentFieldGroups     = []string{"core", "metadata", "scores"}
	ExperimentItemFieldGroups = []string{"core", "dataset", "io", "metadata", "itemMetadata", "experimentMetadata", "scores"}
)

// Experiment is an element of GET /api/public/experiments. Start, end and item count cover
// the requested time range only.
type Experiment struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Description *string         `json:"description"`
	StartTime   time.Time       `json:"startTime"`
	EndTime     time.Time       `json:"endTime"`
	ItemCount   int             `json:"itemCount"`
	DatasetID   *string         `json:"datasetId"`
	Metadata    json.RawMessage `json:"metadata"`
	Scores      []ScoreV3       `json:"scores"`

	Extra `json:"-"`
}

func (x *Experiment) UnmarshalJSON(b []byte) error {
	type plain Experiment
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// ExperimentItem is an element of GET /api/public/experiment-items.
type ExperimentItem struct {
	ID                     string          `json:"id"`
	TraceID                string          `json:"traceId"`
	StartTime              time.Time       `json:"startTime"`
	EndTime                *time.Time      `json:"endTime"`
	Level                  string          `json:"level"`
	Environment            string          `json:"environment"`
	ExperimentID           string          `json:"experimentId"`
	ExperimentName         string          `json:"experimentName"`
	ExperimentItemID       string          `json:"experimentItemId"`
	ExperimentDatasetID    *string         `json:"experimentDatasetId"`
	ExperimentItemVersion  *time.Time      `json:"experimentItemVersion"`
	Input                  json.RawMessage `json:"input"`
	Output                 json.RawMessage `json:"output"`
	ExpectedOutput         json.RawMessage `json:"expectedOutput"`
	Metadata               json.RawMessage `json:"metadata"`
	ExperimentItemMetadata json.RawMessage `json:"experimentItemMetadata"`
	ExperimentMetadata     json.RawMessage `json:"experimentMetadata"`
	ExperimentDescription  *string         `json:"experimentDescription"`
	Scores                 []ScoreV3       `json:"scores"`

	Extra `json:"-"`
}

func (x *ExperimentItem) UnmarshalJSON(b []byte) error {
	type plain ExperimentItem
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// ---------------------------------------------------------------------------------------------
// Comments, annotation queues, media

// Comment is an element of GET /api/public/comments.
type Comment struct {
	ID           string    `json:"id"`
	ProjectID    string    `json:"projectId"`
	CreatedAt    time.Time `json:"createdAt"`
	UpdatedAt    time.Time `json:"updatedAt"`
	ObjectType   string    `json:"objectType"` // TRACE, OBSERVATION, SESSION, PROMPT
	ObjectID     string    `json:"objectId"`
	Content      string    `json:"content"`
	AuthorUserID *string   `json:"authorUserId"`

	Extra `json:"-"`
}

func (x *Comment) UnmarshalJSON(b []byte) error {
	type plain Comment
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// AnnotationQueue is an element of GET /api/public/annotation-queues.
type AnnotationQueue struct {
	ID             string    `json:"id"`
	Name           string    `json:"name"`
	Description    *string   `json:"description"`
	ScoreConfigIDs []string  `json:"scoreConfigIds"`
	CreatedAt      time.Time `json:"createdAt"`
	UpdatedAt      time.Time `json:"updatedAt"`

	Extra `json:"-"`
}

func (x *AnnotationQueue) UnmarshalJSON(b []byte) error {
	type plain AnnotationQueue
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// AnnotationQueueItem is an element of GET /api/public/annotation-queues/{id}/items.
type AnnotationQueueItem struct {
	ID          string     `json:"id"`
	QueueID     string     `json:"queueId"`
	ObjectID    string     `json:"objectId"`
	ObjectType  string     `json:"objectType"` // TRACE, OBSERVATION, SESSION
	Status      string     `json:"status"`     // PENDING, COMPLETED
	CompletedAt *time.Time `json:"completedAt"`
	CreatedAt   time.Time  `json:"createdAt"`
	UpdatedAt   time.Time  `json:"updatedAt"`

	Extra `json:"-"`
}

func (x *AnnotationQueueItem) UnmarshalJSON(b []byte) error {
	type plain AnnotationQueueItem
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// Media is GET /api/public/media/{id}: metadata and a signed download URL.
type Media struct {
	MediaID       string    `json:"mediaId"`
	ContentType   string    `json:"contentType"`
	ContentLength int64     `json:"contentLength"`
	UploadedAt    time.Time `json:"uploadedAt"`
	URL           string    `json:"url"`
	URLExpiry     string    `json:"urlExpiry"`

	Extra `json:"-"`
}

func (x *Media) UnmarshalJSON(b []byte) error {
	type plain Media
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// ---------------------------------------------------------------------------------------------
// Projects, health

// Project is the project of the API keys, GET /api/public/projects.
type Project struct {
	ID            string          `json:"id"`
	Name          string          `json:"name"`
	Organization  Organization    `json:"organization"`
	Metadata      json.RawMessage `json:"metadata"`
	RetentionDays *int            `json:"retentionDays"` // nil or 0: no retention

	Extra `json:"-"`
}

func (x *Project) UnmarshalJSON(b []byte) error {
	type plain Project
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// Organization owns projects.
type Organization struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Extra `json:"-"`
}

func (x *Organization) UnmarshalJSON(b []byte) error {
	type plain Organization
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// Health is GET /api/public/health.
type Health struct {
	Version string `json:"version"`
	Status  string `json:"status"`
	Extra   `json:"-"`
}

func (x *Health) UnmarshalJSON(b []byte) error {
	type plain Health
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// ---------------------------------------------------------------------------------------------
// Ingestion and OTLP

// IngestionEvent is one event of a POST /api/public/ingestion batch. The event id
// deduplicates deliveries of the same event; Body.id names the entity.
type IngestionEvent struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"` // e.g. score-create
	Timestamp time.Time       `json:"timestamp"`
	Body      json.RawMessage `json:"body"`
	Metadata  json.RawMessage `json:"metadata,omitempty"`
}

// ScoreBody is the body of a score-create ingestion event. The envelope's timestamp becomes
// the score's timestamp and Source may be API, EVAL or ANNOTATION.
type ScoreBody struct {
	ID            *string `json:"id,omitempty"`
	TraceID       *string `json:"traceId,omitempty"`
	SessionID     *string `json:"sessionId,omitempty"`
	ObservationID *string `json:"observationId,omitempty"`
	DatasetRunID  *string `json:"datasetRunId,omitempty"`
	Name          string  `json:"name"`
	Environment   *string `json:"environment,omitempty"`
	QueueID       *string `json:"queueId,omitempty"`
	// Value is a number for NUMERIC and BOOLEAN (1 or 0) scores and a string for CATEGORICAL,
	// TEXT and CORRECTION scores.
	Value    json.RawMessage `json:"value"`
	Comment  *string         `json:"comment,omitempty"`
	Metadata json.RawMessage `json:"metadata,omitempty"`
	DataType *string         `json:"dataType,omitempty"`
	ConfigID *string         `json:"configId,omitempty"`
	Source   *string         `json:"source,omitempty"`
}

// IngestionResponse is the 207 answer of POST /api/public/ingestion: per event, success or
// error.
type IngestionResponse struct {
	Successes []IngestionSuccess `json:"successes"`
	Errors    []IngestionError   `json:"errors"`
	Extra     `json:"-"`
}

func (x *IngestionResponse) UnmarshalJSON(b []byte) error {
	type plain IngestionResponse
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// IngestionSuccess is an accepted event.
type IngestionSuccess struct {
	ID     string `json:"id"`
	Status int    `json:"status"`
	Extra  `json:"-"`
}

func (x *IngestionSuccess) UnmarshalJSON(b []byte) error {
	type plain IngestionSuccess
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// IngestionError is a refused event.
type IngestionError struct {
	ID      string          `json:"id"`
	Status  int             `json:"status"`
	Message *string         `json:"message"`
	Error   json.RawMessage `json:"error"`
	Extra   `json:"-"`
}

func (x *IngestionError) UnmarshalJSON(b []byte) error {
	type plain IngestionError
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// OTLPResponse is the answer of POST /api/public/otel/v1/traces. Langfuse answers {} and
// validates spans asynchronously; an OTLP partialSuccess is kept if a server sends one.
type OTLPResponse struct {
	PartialSuccess *OTLPPartialSuccess `json:"partialSuccess"`
	Extra          `json:"-"`
}

func (x *OTLPResponse) UnmarshalJSON(b []byte) error {
	type plain OTLPResponse
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// OTLPPartialSuccess reports spans the server rejected.
type OTLPPartialSuccess struct {
	RejectedSpans int64  `json:"rejectedSpans"`
	ErrorMessage  string `json:"errorMessage"`
	Extra         `json:"-"`
}

func (x *OTLPPartialSuccess) UnmarshalJSON(b []byte) error {
	// Protobuf JSON sends int64 as a string.
	var p struct {
		RejectedSpans flexInt `json:"rejectedSpans"`
		ErrorMessage  string  `json:"errorMessage"`
		Extra         `json:"-"`
	}
	if err := decodeObject(b, &p, &p.Extra); err != nil {
		return err
	}
	*x = OTLPPartialSuccess{RejectedSpans: int64(p.RejectedSpans), ErrorMessage: p.ErrorMessage, Extra: p.Extra}
	return nil
}

// flexInt reads an integer sent as a number or, as protobuf JSON does for int64, a string.
type flexInt int64

func (n *flexInt) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(b, `"`))
	if s == "null" || s == "" {
		*n = 0
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("integer expected, got %.40s", b)
	}
	*n = flexInt(v)
	return nil
}

// ---------------------------------------------------------------------------------------------
// Write requests

// CreateScoreConfigRequest is the body of POST /api/public/score-configs.
type CreateScoreConfigRequest struct {
	Name        string           `json:"name"`
	DataType    string           `json:"dataType"`
	Categories  []ConfigCategory `json:"categories,omitempty"`
	MinValue    *float64         `json:"minValue,omitempty"`
	MaxValue    *float64         `json:"maxValue,omitempty"`
	Description *string          `json:"description,omitempty"`
}

// UpdateScoreConfigRequest is the body of PATCH /api/public/score-configs/{id}.
type UpdateScoreConfigRequest struct {
	IsArchived  *bool            `json:"isArchived,omitempty"`
	Name        *string          `json:"name,omitempty"`
	Categories  []ConfigCategory `json:"categories,omitempty"`
	MinValue    *float64         `json:"minValue,omitempty"`
	MaxValue    *float64         `json:"maxValue,omitempty"`
	Description *string          `json:"description,omitempty"`
}

// CreateModelRequest is the body of POST /api/public/models. Give either the flat prices or
// PricingTiers.
type CreateModelRequest struct {
	ModelName       string             `json:"modelName"`
	MatchPattern    string             `json:"matchPattern"`
	StartDate       *time.Time         `json:"startDate,omitempty"`
	Unit            *string            `json:"unit,omitempty"`
	InputPrice      *float64           `json:"inputPrice,omitempty"`
	OutputPrice     *float64           `json:"outputPrice,omitempty"`
	TotalPrice      *float64           `json:"totalPrice,omitempty"`
	PricingTiers    []PricingTierInput `json:"pricingTiers,omitempty"`
	TokenizerID     *string            `json:"tokenizerId,omitempty"`
	TokenizerConfig json.RawMessage    `json:"tokenizerConfig,omitempty"`
}

// PricingTierInput is a pricing tier of CreateModelRequest.
type PricingTierInput struct {
	Name       string             `json:"name"`
	IsDefault  bool               `json:"isDefault"`
	Priority   int                `json:"priority"`
	Conditions json.RawMessage    `json:"conditions"`
	Prices     map[string]float64 `json:"prices"`
}

// CreatePromptRequest is the body of POST /api/public/v2/prompts: a new version of the prompt
// Name (the server assigns version = latest + 1).
type CreatePromptRequest struct {
	Name          string          `json:"name"`
	Type          string          `json:"type"`   // text or chat
	Prompt        json.RawMessage `json:"prompt"` // a JSON string (text) or message array (chat)
	Config        json.RawMessage `json:"config,omitempty"`
	Labels        []string        `json:"labels,omitempty"`
	Tags          []string        `json:"tags,omitempty"`
	CommitMessage *string         `json:"commitMessage,omitempty"`
}

// CreateDatasetRequest is the body of POST /api/public/v2/datasets (an upsert by name).
type CreateDatasetRequest struct {
	Name                 string          `json:"name"`
	Description          *string         `json:"description,omitempty"`
	Metadata             json.RawMessage `json:"metadata,omitempty"`
	InputSchema          json.RawMessage `json:"inputSchema,omitempty"`
	ExpectedOutputSchema json.RawMessage `json:"expectedOutputSchema,omitempty"`
}

// CreateDatasetItemRequest is the body of POST /api/public/dataset-items (an upsert when ID is
// given).
type CreateDatasetItemRequest struct {
	DatasetName         string          `json:"datasetName"`
	Input               json.RawMessage `json:"input,omitempty"`
	ExpectedOutput      json.RawMessage `json:"expectedOutput,omitempty"`
	Metadata            json.RawMessage `json:"metadata,omitempty"`
	SourceTraceID       *string         `json:"sourceTraceId,omitempty"`
	SourceObservationID *string         `json:"sourceObservationId,omitempty"`
	ID                  *string         `json:"id,omitempty"`
	Status              *string         `json:"status,omitempty"`
}

// CreateDatasetRunItemRequest is the body of POST /api/public/dataset-run-items (Langfuse v3;
// v4 accepts it but stores nothing).
type CreateDatasetRunItemRequest struct {
	RunName        string          `json:"runName"`
	RunDescription *string         `json:"runDescription,omitempty"`
	Metadata       json.RawMessage `json:"metadata,omitempty"`
	DatasetItemID  string          `json:"datasetItemId"`
	ObservationID  *string         `json:"observationId,omitempty"`
	TraceID        *string         `json:"traceId,omitempty"`
	DatasetVersion *time.Time      `json:"datasetVersion,omitempty"`
	CreatedAt      *time.Time      `json:"createdAt,omitempty"`
}

// CreateCommentRequest is the body of POST /api/public/comments.
type CreateCommentRequest struct {
	ProjectID    string  `json:"projectId"`
	ObjectType   string  `json:"objectType"`
	ObjectID     string  `json:"objectId"`
	Content      string  `json:"content"`
	AuthorUserID *string `json:"authorUserId,omitempty"`
}

type createCommentResponse struct {
	ID string `json:"id"`
}

// CreateAnnotationQueueRequest is the body of POST /api/public/annotation-queues.
type CreateAnnotationQueueRequest struct {
	Name           string   `json:"name"`
	Description    *string  `json:"description,omitempty"`
	ScoreConfigIDs []string `json:"scoreConfigIds"`
}

// CreateAnnotationQueueItemRequest is the body of POST /api/public/annotation-queues/{id}/items.
type CreateAnnotationQueueItemRequest struct {
	ObjectID   string  `json:"objectId"`
	ObjectType string  `json:"objectType"`
	Status     *string `json:"status,omitempty"`
}

// MediaUploadRequest is the body of POST /api/public/media: the media of a trace or
// observation field, or of a dataset item field.
type MediaUploadRequest struct {
	TraceID       *string `json:"traceId,omitempty"`
	ObservationID *string `json:"observationId,omitempty"`
	DatasetID     *string `json:"datasetId,omitempty"`
	DatasetItemID *string `json:"datasetItemId,omitempty"`
	ContentType   string  `json:"contentType"`
	ContentLength int64   `json:"contentLength"`
	SHA256Hash    string  `json:"sha256Hash"` // base64 of the SHA-256 of the bytes
	Field         string  `json:"field"`      // input, output, metadata, expectedOutput
}

// MediaUploadResponse says where to PUT the bytes; UploadURL is nil when Langfuse already has
// them. MediaID is derived from the bytes, so identical media keep their id across projects.
type MediaUploadResponse struct {
	UploadURL *string `json:"uploadUrl"`
	MediaID   string  `json:"mediaId"`
	Extra     `json:"-"`
}

func (x *MediaUploadResponse) UnmarshalJSON(b []byte) error {
	type plain MediaUploadResponse
	return decodeObject(b, (*plain)(x), &x.Extra)
}

// PatchMediaRequest is the body of PATCH /api/public/media/{id}: the result of the upload.
type PatchMediaRequest struct {
	UploadedAt       time.Time `json:"uploadedAt"`
	UploadHTTPStatus int       `json:"uploadHttpStatus"`
	UploadHTTPError  *string   `json:"uploadHttpError,omitempty"`
	UploadTimeMs     *int64    `json:"uploadTimeMs,omitempty"`
}
