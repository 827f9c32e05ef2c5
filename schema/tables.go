package schema

import "time"

// The tables of the lake, in the order `lakefuse schema` and docs/schema.md
// list them. Each row type holds every field that the Langfuse v3 and v4 read
// APIs return for the entity (tables_test.go checks this against the OpenAPI
// spec), named in snake_case after the API's field name. Where v3 and v4 name
// the same field differently, the column takes the older (v3) name and the
// table's Doc says where the v4 value goes.

// Trace is one row of the traces table.
type Trace struct {
	ID          string     `lake:"id" doc:"Trace id, verbatim from the source (OTel hex, UUID or any client-chosen string)."`
	Timestamp   time.Time  `lake:"timestamp" doc:"When the trace started; its UTC date is the dt partition."`
	Name        *string    `lake:"name" doc:"Trace name."`
	UserID      *string    `lake:"user_id" doc:"Id of the end user the trace belongs to."`
	SessionID   *string    `lake:"session_id" doc:"Id of the session the trace belongs to (see the sessions table)."`
	Release     *string    `lake:"release" doc:"Release of the application that produced the trace."`
	Version     *string    `lake:"version" doc:"Version of the trace (application-defined)."`
	Environment string     `lake:"environment" doc:"Environment the trace came from (lowercase, e.g. default, production)."`
	Tags        []string   `lake:"tags" doc:"Tags of the trace."`
	Public      bool       `lake:"public" doc:"Whether the trace is shared publicly by URL."`
	Bookmarked  *bool      `lake:"bookmarked" doc:"Whether the trace is bookmarked in the Langfuse UI; null when the source did not return it."`
	Input       *string    `lake:"input,json" doc:"Trace input, any JSON."`
	Output      *string    `lake:"output,json" doc:"Trace output, any JSON."`
	Metadata    *string    `lake:"metadata,json" doc:"Trace metadata, any JSON (usually an object)."`
	HTMLPath    *string    `lake:"html_path" doc:"Path of the trace in the source's Langfuse UI (relative to its base URL)."`
	Latency     *float64   `lake:"latency" doc:"Trace latency in seconds as computed by Langfuse; -1 means the source did not compute it."`
	TotalCost   *float64   `lake:"total_cost" doc:"Total cost of the trace's observations in USD as computed by Langfuse; -1 means not computed."`
	CreatedAt   *time.Time `lake:"created_at" doc:"When Langfuse first stored the trace."`
	UpdatedAt   *time.Time `lake:"updated_at" doc:"When Langfuse last updated the trace."`
}

// Traces is the traces table.
var Traces = Define[Trace](Spec{
	Name: "traces",
	Doc: "One row per trace: the top-level record of one request or run of an application, grouping its observations. " +
		"Langfuse v3 returns traces from GET /api/public/traces (and /traces/{id}). " +
		"Langfuse v4 has no trace entity and keeps the trace context per observation row; the exporter derives one row per trace id " +
		"by aggregating its rows as Langfuse does: the earliest start time, the latest non-empty user, session, release, version, " +
		"environment and tags, public if any row is, the latest trace name (else the root's name), the root's input and output " +
		"(the placeholder root's for traces Langfuse migrated from its v3 tables); columns that v4 cannot supply are null. " +
		"The observation ids and score ids that v3 lists on a trace are not repeated here: join observations.trace_id and scores.trace_id. " +
		"Partitioned by the UTC date of timestamp.",
	TimeColumn: "timestamp",
	Key:        []string{"id"},
})

// Observation is one row of the observations table.
type Observation struct {
	ID                   string             `lake:"id" doc:"Observation id (the OTel span id for OTel-ingested data)."`
	TraceID              *string            `lake:"trace_id" doc:"Id of the trace the observation belongs to."`
	ParentObservationID  *string            `lake:"parent_observation_id" doc:"Id of the parent observation; null for a root observation."`
	IsRootObservation    *bool              `lake:"is_root_observation" doc:"Whether the observation is a logical root (no parent, or marked as app root by the SDK); v4 only."`
	PlaceholderRoot      *bool              `lake:"placeholder_root" doc:"True on the root row that Langfuse v4 synthesised for a trace from its v3 tables (id t-<trace_id>, type SPAN, no parent, no end time, the trace's name, input, output and metadata; the trace's former roots are its children). Null on every other row, on rows from v3 sources and in lakes of schema version 1."`
	Type                 string             `lake:"type" doc:"Observation type: SPAN, GENERATION, EVENT, AGENT, TOOL, CHAIN, RETRIEVER, EVALUATOR, EMBEDDING or GUARDRAIL."`
	Name                 *string            `lake:"name" doc:"Observation name."`
	StartTime            time.Time          `lake:"start_time" doc:"When the observation started; its UTC date is the dt partition."`
	EndTime              *time.Time         `lake:"end_time" doc:"When the observation ended."`
	CompletionStartTime  *time.Time         `lake:"completion_start_time" doc:"When the model began to return its completion (first token)."`
	Level                string             `lake:"level" doc:"Level: DEBUG, DEFAULT, WARNING or ERROR."`
	StatusMessage        *string            `lake:"status_message" doc:"Status or error message."`
	Version              *string            `lake:"version" doc:"Version of the observation (application-defined)."`
	Environment          string             `lake:"environment" doc:"Environment the observation came from."`
	Input                *string            `lake:"input,json" doc:"Observation input, any JSON."`
	Output               *string            `lake:"output,json" doc:"Observation output, any JSON."`
	Metadata             *string            `lake:"metadata,json" doc:"Observation metadata, any JSON (usually an object)."`
	ProvidedModelName    *string            `lake:"provided_model_name" doc:"Model name as the application sent it (v3 API field model, v4 providedModelName)."`
	ModelID              *string            `lake:"model_id" doc:"Id of the Langfuse model definition matched for pricing (v4 also returns it as internalModelId)."`
	ModelParameters      *string            `lake:"model_parameters,json" doc:"Model parameters (temperature, max tokens, ...), JSON."`
	UsageDetails         map[string]int64   `lake:"usage_details" doc:"Units consumed by usage type, keyed as Langfuse keys them (input, output, total, input_cached_tokens, ...)."`
	CostDetails          map[string]float64 `lake:"cost_details" doc:"Cost in USD by usage type, keyed like usage_details."`
	TotalCost            *float64           `lake:"total_cost" doc:"Total cost in USD (v4 totalCost)."`
	CalculatedInputCost  *float64           `lake:"calculated_input_cost" doc:"Deprecated v3 field: input cost in USD."`
	CalculatedOutputCost *float64           `lake:"calculated_output_cost" doc:"Deprecated v3 field: output cost in USD."`
	CalculatedTotalCost  *float64           `lake:"calculated_total_cost" doc:"Deprecated v3 field: total cost in USD."`
	Usage                *string            `lake:"usage,json" doc:"Deprecated v3 usage object (input, output, total, unit, inputCost, outputCost, totalCost), verbatim JSON."`
	InputPrice           *float64           `lake:"input_price" doc:"Input price in USD per unit of the matched model."`
	OutputPrice          *float64           `lake:"output_price" doc:"Output price in USD per unit of the matched model."`
	TotalPrice           *float64           `lake:"total_price" doc:"Total price in USD per unit of the matched model."`
	UsagePricingTierID   *string            `lake:"usage_pricing_tier_id" doc:"Id of the model pricing tier applied to the usage."`
	UsagePricingTierName *string            `lake:"usage_pricing_tier_name" doc:"Name of the model pricing tier applied to the usage."`
	PromptID             *string            `lake:"prompt_id" doc:"Id of the linked prompt version."`
	PromptName           *string            `lake:"prompt_name" doc:"Name of the linked prompt."`
	PromptVersion        *int64             `lake:"prompt_version" doc:"Version number of the linked prompt."`
	Latency              *float64           `lake:"latency" doc:"Latency in seconds."`
	TimeToFirstToken     *float64           `lake:"time_to_first_token" doc:"Time to the first token in seconds."`
	UserID               *string            `lake:"user_id" doc:"User id of the trace, denormalised onto the observation (v4 only)."`
	SessionID            *string            `lake:"session_id" doc:"Session id of the trace, denormalised onto the observation (v4 only)."`
	TraceName            *string            `lake:"trace_name" doc:"Name of the trace, denormalised onto the observation (v4 only)."`
	Tags                 []string           `lake:"tags" doc:"Tags of the trace, denormalised onto the observation (v4 only)."`
	Release              *string            `lake:"release" doc:"Release of the trace, denormalised onto the observation (v4 only)."`
	Public               *bool              `lake:"public" doc:"Whether the observation's trace is public (v4 only)."`
	Bookmarked           *bool              `lake:"bookmarked" doc:"Whether the observation is bookmarked (v4 only)."`
	CreatedAt            *time.Time         `lake:"created_at" doc:"When Langfuse first stored the observation."`
	UpdatedAt            *time.Time         `lake:"updated_at" doc:"When Langfuse last updated the observation."`
}

// Observations is the observations table.
var Observations = Define[Observation](Spec{
	Name: "observations",
	Doc: "One row per observation: a span, generation, event or other typed step inside a trace. " +
		"Langfuse v3 returns observations from GET /api/public/observations (ObservationsView); " +
		"Langfuse v4 from GET /api/public/v2/observations with every field group requested. " +
		"The two differ in a few names: v3 model and v4 providedModelName go to provided_model_name, v4 internalModelId " +
		"(the same value as modelId) to model_id; v4 returns prices as decimal strings, stored here as DOUBLE like v3's numbers. " +
		"v4 returns input and output as raw strings; they are stored as the JSON text of the value. " +
		"Columns that only one API version returns are null for rows from the other. " +
		"Partitioned by the UTC date of start_time.",
	TimeColumn: "start_time",
	Key:        []string{"id"},
})

// Score is one row of the scores table.
type Score struct {
	ID            string    `lake:"id" doc:"Score id."`
	Timestamp     time.Time `lake:"timestamp" doc:"When the score was given; its UTC date is the dt partition."`
	Name          string    `lake:"name" doc:"Score name."`
	DataType      string    `lake:"data_type" doc:"NUMERIC, BOOLEAN, CATEGORICAL, TEXT or CORRECTION."`
	Value         *float64  `lake:"value" doc:"Numeric value: the number (NUMERIC), 1 or 0 (BOOLEAN), the category's mapped number (CATEGORICAL, v3 only), 0 (CORRECTION); null when unknown."`
	StringValue   *string   `lake:"string_value" doc:"String value: True or False (BOOLEAN), the category (CATEGORICAL), the text (TEXT, CORRECTION); null for NUMERIC."`
	Source        string    `lake:"source" doc:"Where the score came from: API, ANNOTATION or EVAL."`
	Comment       *string   `lake:"comment" doc:"Comment attached to the score."`
	Metadata      *string   `lake:"metadata,json" doc:"Score metadata, any JSON."`
	ConfigID      *string   `lake:"config_id" doc:"Id of the score config the score follows (see score_configs)."`
	QueueID       *string   `lake:"queue_id" doc:"Id of the annotation queue the score was created in."`
	AuthorUserID  *string   `lake:"author_user_id" doc:"Langfuse user id of the score's author (annotations)."`
	Environment   string    `lake:"environment" doc:"Environment the score came from."`
	TraceID       *string   `lake:"trace_id" doc:"Id of the scored trace, or of the trace of the scored observation."`
	ObservationID *string   `lake:"observation_id" doc:"Id of the scored observation."`
	SessionID     *string   `lake:"session_id" doc:"Id of the scored session."`
	DatasetRunID  *string   `lake:"dataset_run_id" doc:"Id of the scored dataset run (v4: experiment)."`
	CreatedAt     time.Time `lake:"created_at" doc:"When Langfuse first stored the score."`
	UpdatedAt     time.Time `lake:"updated_at" doc:"When Langfuse last updated the score."`
}

// Scores is the scores table.
var Scores = Define[Score](Spec{
	Name: "scores",
	Doc: "One row per score: an evaluation (number, boolean, category, text or correction) attached to a trace, observation, " +
		"session or dataset run. Langfuse v3 returns scores from GET /api/public/v2/scores, whose value is always a number " +
		"plus a stringValue for BOOLEAN, CATEGORICAL, TEXT and CORRECTION; both are kept in value and string_value. " +
		"Langfuse v4 returns them from GET /api/public/v3/scores, whose value is a number (NUMERIC), a boolean " +
		"(BOOLEAN: stored as value 1 or 0 and string_value True or False, as v3 does) or a string (CATEGORICAL, TEXT, " +
		"CORRECTION: stored in string_value, with value null for CATEGORICAL because v4 drops the category's number and 0 for CORRECTION). " +
		"The v4 subject {kind, id, traceId} is flattened: trace to trace_id, observation to observation_id and trace_id, " +
		"session to session_id, experiment to dataset_run_id. From either source, a score's subject is the most specific id set " +
		"(observation_id before trace_id). " +
		"Partitioned by the UTC date of timestamp.",
	TimeColumn: "timestamp",
	Key:        []string{"id"},
})

// Session is one row of the sessions table.
type Session struct {
	ID          string    `lake:"id" doc:"Session id, chosen by the application."`
	CreatedAt   time.Time `lake:"created_at" doc:"When the session was first seen; its UTC date is the dt partition."`
	Environment string    `lake:"environment" doc:"Environment the session came from."`
}

// Sessions is the sessions table.
var Sessions = Define[Session](Spec{
	Name: "sessions",
	Doc: "One row per session: a group of traces sharing a session id (a conversation, a thread). " +
		"Langfuse v3 returns sessions from GET /api/public/sessions; its traces are the traces rows with this session_id. " +
		"Langfuse v4 has no session entity; the exporter derives one row per session id from the v2 observations that carry it " +
		"(created_at is the earliest start time). " +
		"Partitioned by the UTC date of created_at.",
	TimeColumn: "created_at",
	Key:        []string{"id"},
})

// Prompt is one row of the prompts table.
type Prompt struct {
	ID              *string    `lake:"id" doc:"Id of this prompt version (what observations.prompt_id and PROMPT comments refer to)."`
	Name            string     `lake:"name" doc:"Prompt name; may contain / for folders."`
	Version         int64      `lake:"version" doc:"Version number, from 1."`
	Type            string     `lake:"type" doc:"text or chat."`
	Prompt          string     `lake:"prompt,json" doc:"Prompt body as JSON: a string for text prompts, an array of messages and placeholders for chat prompts; unresolved."`
	Config          *string    `lake:"config,json" doc:"Prompt config, any JSON."`
	Labels          []string   `lake:"labels" doc:"Deployment labels on this version (production, latest, ...)."`
	Tags            []string   `lake:"tags" doc:"Tags of the prompt (the same on every version)."`
	CommitMessage   *string    `lake:"commit_message" doc:"Commit message of this version."`
	ResolutionGraph *string    `lake:"resolution_graph,json" doc:"Dependency resolution graph; null when the prompt was read unresolved."`
	CreatedBy       *string    `lake:"created_by" doc:"Who created the version (a user id or API)."`
	CreatedAt       *time.Time `lake:"created_at" doc:"When the version was created."`
	UpdatedAt       *time.Time `lake:"updated_at" doc:"When the version was last updated (labels moved)."`
}

// Prompts is the prompts table.
var Prompts = Define[Prompt](Spec{
	Name: "prompts",
	Doc: "One row per prompt version. Both Langfuse v3 and v4 list prompts with GET /api/public/v2/prompts " +
		"(one entry per name, with its version numbers) and return each version from GET /api/public/v2/prompts/{name}?version=N&resolve=false, " +
		"so prompt bodies keep their @@@langfusePrompt@@@ dependency tags. " +
		"The list entry's lastUpdatedAt and lastConfig are the updated_at and config of the newest version. Snapshot table.",
	Key: []string{"name", "version"},
})

// ScoreConfig is one row of the score_configs table.
type ScoreConfig struct {
	ID          string    `lake:"id" doc:"Score config id."`
	Name        string    `lake:"name" doc:"Name that scores following this config carry."`
	DataType    string    `lake:"data_type" doc:"NUMERIC, BOOLEAN, CATEGORICAL or TEXT."`
	IsArchived  bool      `lake:"is_archived" doc:"Whether the config is archived."`
	MinValue    *float64  `lake:"min_value" doc:"Minimum of a numeric score; null means unbounded."`
	MaxValue    *float64  `lake:"max_value" doc:"Maximum of a numeric score; null means unbounded."`
	Categories  *string   `lake:"categories,json" doc:"Categories of a categorical or boolean score: JSON array of {value, label}."`
	Description *string   `lake:"description" doc:"Description of the config."`
	CreatedAt   time.Time `lake:"created_at" doc:"When the config was created."`
	UpdatedAt   time.Time `lake:"updated_at" doc:"When the config was last updated."`
}

// ScoreConfigs is the score_configs table.
var ScoreConfigs = Define[ScoreConfig](Spec{
	Name: "score_configs",
	Doc: "One row per score config: the name, data type and allowed values that annotation and API scores follow. " +
		"Langfuse v3 and v4 both return them from GET /api/public/score-configs. Snapshot table.",
	Key: []string{"id"},
})

// Model is one row of the models table.
type Model struct {
	ID                string             `lake:"id" doc:"Model definition id."`
	ModelName         string             `lake:"model_name" doc:"Name of the model definition."`
	MatchPattern      string             `lake:"match_pattern" doc:"Regular expression matched against observations' model names."`
	StartDate         *time.Time         `lake:"start_date" doc:"The definition applies to observations after this time only."`
	Unit              *string            `lake:"unit" doc:"Usage unit: CHARACTERS, TOKENS, MILLISECONDS, SECONDS, IMAGES or REQUESTS."`
	InputPrice        *float64           `lake:"input_price" doc:"Deprecated: price in USD per input unit."`
	OutputPrice       *float64           `lake:"output_price" doc:"Deprecated: price in USD per output unit."`
	TotalPrice        *float64           `lake:"total_price" doc:"Deprecated: price in USD per total unit."`
	Prices            map[string]float64 `lake:"prices" doc:"Deprecated: default tier's price in USD per unit by usage type (the API's {type: {price}} flattened)."`
	PricingTiers      *string            `lake:"pricing_tiers,json" doc:"Pricing tiers, verbatim JSON array of {id, name, isDefault, priority, conditions, prices}."`
	TokenizerID       *string            `lake:"tokenizer_id" doc:"Tokenizer applied to matching observations."`
	TokenizerConfig   *string            `lake:"tokenizer_config,json" doc:"Tokenizer configuration, any JSON."`
	IsLangfuseManaged bool               `lake:"is_langfuse_managed" doc:"Whether Langfuse maintains the definition (always false in the lake: only custom models are exported)."`
	CreatedAt         time.Time          `lake:"created_at" doc:"When the definition was created."`
}

// Models is the models table.
var Models = Define[Model](Spec{
	Name: "models",
	Doc: "One row per custom model definition (name pattern and prices that Langfuse uses to compute costs). " +
		"Langfuse v3 and v4 both return them from GET /api/public/models; definitions that Langfuse manages are not exported. " +
		"Snapshot table.",
	Key: []string{"id"},
})

// Dataset is one row of the datasets table.
type Dataset struct {
	ID                   string    `lake:"id" doc:"Dataset id."`
	Name                 string    `lake:"name" doc:"Dataset name, unique in the project."`
	Description          *string   `lake:"description" doc:"Description of the dataset."`
	Metadata             *string   `lake:"metadata,json" doc:"Dataset metadata, any JSON."`
	InputSchema          *string   `lake:"input_schema,json" doc:"JSON Schema that item inputs must follow."`
	ExpectedOutputSchema *string   `lake:"expected_output_schema,json" doc:"JSON Schema that item expected outputs must follow."`
	CreatedAt            time.Time `lake:"created_at" doc:"When the dataset was created."`
	UpdatedAt            time.Time `lake:"updated_at" doc:"When the dataset was last updated."`
}

// Datasets is the datasets table.
var Datasets = Define[Dataset](Spec{
	Name: "datasets",
	Doc:  "One row per dataset. Langfuse v3 and v4 both return them from GET /api/public/v2/datasets. Snapshot table.",
	Key:  []string{"id"},
})

// DatasetItem is one row of the dataset_items table.
type DatasetItem struct {
	ID                  string    `lake:"id" doc:"Dataset item id (client-chosen or generated)."`
	DatasetID           string    `lake:"dataset_id" doc:"Id of the item's dataset."`
	DatasetName         string    `lake:"dataset_name" doc:"Name of the item's dataset."`
	Status              string    `lake:"status" doc:"ACTIVE or ARCHIVED."`
	Input               *string   `lake:"input,json" doc:"Item input, any JSON."`
	ExpectedOutput      *string   `lake:"expected_output,json" doc:"Expected output, any JSON."`
	Metadata            *string   `lake:"metadata,json" doc:"Item metadata, any JSON."`
	SourceTraceID       *string   `lake:"source_trace_id" doc:"Id of the trace the item was created from."`
	SourceObservationID *string   `lake:"source_observation_id" doc:"Id of the observation the item was created from."`
	CreatedAt           time.Time `lake:"created_at" doc:"When the item was created."`
	UpdatedAt           time.Time `lake:"updated_at" doc:"When the item was last updated."`
}

// DatasetItems is the dataset_items table.
var DatasetItems = Define[DatasetItem](Spec{
	Name: "dataset_items",
	Doc: "One row per dataset item, in its current version. Langfuse v3 and v4 both return them from GET /api/public/dataset-items. " +
		"The item's mediaReferences are rows of the media table (dataset_item_id, field, json_path). Snapshot table.",
	Key: []string{"id"},
})

// DatasetRun is one row of the dataset_runs table.
type DatasetRun struct {
	ID          string     `lake:"id" doc:"Dataset run id (v4: experiment id)."`
	Name        string     `lake:"name" doc:"Run name, unique per dataset."`
	Description *string    `lake:"description" doc:"Description of the run."`
	Metadata    *string    `lake:"metadata,json" doc:"Run metadata, any JSON."`
	DatasetID   *string    `lake:"dataset_id" doc:"Id of the run's dataset; null for a v4 experiment without a dataset."`
	DatasetName *string    `lake:"dataset_name" doc:"Name of the run's dataset (v3 only)."`
	CreatedAt   *time.Time `lake:"created_at" doc:"When the run was created (v3 only)."`
	UpdatedAt   *time.Time `lake:"updated_at" doc:"When the run was last updated (v3 only)."`
	StartTime   *time.Time `lake:"start_time" doc:"Start of the earliest item of the experiment (v4 only)."`
	EndTime     *time.Time `lake:"end_time" doc:"End of the latest item of the experiment (v4 only)."`
	ItemCount   *int64     `lake:"item_count" doc:"Number of items in the experiment (v4 only)."`
}

// DatasetRuns is the dataset_runs table.
var DatasetRuns = Define[DatasetRun](Spec{
	Name: "dataset_runs",
	Doc: "One row per dataset run, which Langfuse v4 calls an experiment: one execution of an application over a dataset's items. " +
		"Langfuse v3 returns runs from GET /api/public/datasets/{name}/runs; Langfuse v4 returns experiments from GET /api/public/experiments, " +
		"whose id is the run id that scores and items refer to. " +
		"Experiments are kept in this table rather than a table of their own so that the lake looks the same whichever API it came from; " +
		"the v4-only aggregates start_time, end_time and item_count are computed by Langfuse over the exported time range. Snapshot table.",
	Key: []string{"id"},
})

// DatasetRunItem is one row of the dataset_run_items table.
type DatasetRunItem struct {
	ID                     string     `lake:"id" doc:"Run item id (v4: the experiment item id, which is the id of its root observation)."`
	DatasetRunID           string     `lake:"dataset_run_id" doc:"Id of the run (v4: experimentId)."`
	DatasetRunName         string     `lake:"dataset_run_name" doc:"Name of the run (v4: experimentName)."`
	DatasetItemID          string     `lake:"dataset_item_id" doc:"Id of the dataset item that was run (v4: experimentItemId)."`
	DatasetID              *string    `lake:"dataset_id" doc:"Id of the dataset (v4: experimentDatasetId); null when the experiment has none."`
	TraceID                string     `lake:"trace_id" doc:"Id of the trace that ran the item."`
	ObservationID          *string    `lake:"observation_id" doc:"Id of the observation that ran the item (v4: the root observation, same as id)."`
	ExperimentItemVersion  *time.Time `lake:"experiment_item_version" doc:"Version (valid-from time) of the dataset item that was run (v4 only)."`
	ExpectedOutput         *string    `lake:"expected_output,json" doc:"Expected output the item ran against, any JSON (v4 only; the only copy for experiments without a dataset)."`
	ExperimentItemMetadata *string    `lake:"experiment_item_metadata,json" doc:"Metadata of the item the run used, any JSON (v4 only)."`
	CreatedAt              *time.Time `lake:"created_at" doc:"When the run item was created (v3 only)."`
	UpdatedAt              *time.Time `lake:"updated_at" doc:"When the run item was last updated (v3 only)."`
}

// DatasetRunItems is the dataset_run_items table.
var DatasetRunItems = Define[DatasetRunItem](Spec{
	Name: "dataset_run_items",
	Doc: "One row per dataset run item (v4: experiment item): the link between a run, the dataset item it ran and the trace that ran it. " +
		"Langfuse v3 returns them from GET /api/public/dataset-run-items; Langfuse v4 from GET /api/public/experiment-items, " +
		"whose experiment fields are renamed to the v3 names (experimentId to dataset_run_id, experimentName to dataset_run_name, " +
		"experimentItemId to dataset_item_id, experimentDatasetId to dataset_id). " +
		"The v4 item's start and end time, level, environment, input, output and metadata are those of its root observation " +
		"(observations row with this id) and its experimentDescription and experimentMetadata those of its dataset_runs row. Snapshot table.",
	Key: []string{"id"},
})

// Comment is one row of the comments table.
type Comment struct {
	ID           string    `lake:"id" doc:"Comment id."`
	ObjectType   string    `lake:"object_type" doc:"Kind of object commented on: TRACE, OBSERVATION, SESSION or PROMPT."`
	ObjectID     string    `lake:"object_id" doc:"Id of the object commented on (for PROMPT, a prompt version id)."`
	Content      string    `lake:"content" doc:"Comment text (Markdown)."`
	AuthorUserID *string   `lake:"author_user_id" doc:"Langfuse user id of the author."`
	CreatedAt    time.Time `lake:"created_at" doc:"When the comment was written; its UTC date is the dt partition."`
	UpdatedAt    time.Time `lake:"updated_at" doc:"When the comment was last edited."`
}

// Comments is the comments table.
var Comments = Define[Comment](Spec{
	Name: "comments",
	Doc: "One row per comment on a trace, observation, session or prompt version. " +
		"Langfuse v3 and v4 both return them from GET /api/public/comments. Partitioned by the UTC date of created_at.",
	TimeColumn: "created_at",
	Key:        []string{"id"},
})

// AnnotationQueue is one row of the annotation_queues table.
type AnnotationQueue struct {
	ID             string    `lake:"id" doc:"Queue id."`
	Name           string    `lake:"name" doc:"Queue name."`
	Description    *string   `lake:"description" doc:"Description of the queue."`
	ScoreConfigIDs []string  `lake:"score_config_ids" doc:"Ids of the score configs that annotators fill in."`
	CreatedAt      time.Time `lake:"created_at" doc:"When the queue was created."`
	UpdatedAt      time.Time `lake:"updated_at" doc:"When the queue was last updated."`
}

// AnnotationQueues is the annotation_queues table.
var AnnotationQueues = Define[AnnotationQueue](Spec{
	Name: "annotation_queues",
	Doc: "One row per annotation queue: a work list for human annotators with the score configs they fill in. " +
		"Langfuse v3 and v4 both return them from GET /api/public/annotation-queues. Snapshot table.",
	Key: []string{"id"},
})

// AnnotationQueueItem is one row of the annotation_queue_items table.
type AnnotationQueueItem struct {
	ID          string     `lake:"id" doc:"Queue item id."`
	QueueID     string     `lake:"queue_id" doc:"Id of the queue."`
	ObjectID    string     `lake:"object_id" doc:"Id of the object to annotate."`
	ObjectType  string     `lake:"object_type" doc:"Kind of object to annotate: TRACE, OBSERVATION or SESSION."`
	Status      string     `lake:"status" doc:"PENDING or COMPLETED."`
	CompletedAt *time.Time `lake:"completed_at" doc:"When the item was completed."`
	CreatedAt   time.Time  `lake:"created_at" doc:"When the item was added to the queue."`
	UpdatedAt   time.Time  `lake:"updated_at" doc:"When the item was last updated."`
}

// AnnotationQueueItems is the annotation_queue_items table.
var AnnotationQueueItems = Define[AnnotationQueueItem](Spec{
	Name: "annotation_queue_items",
	Doc: "One row per item of an annotation queue. Langfuse v3 and v4 both return them from " +
		"GET /api/public/annotation-queues/{queueId}/items. Snapshot table.",
	Key: []string{"id"},
})

// MediaReference is one row of the media table.
type MediaReference struct {
	ID            string     `lake:"id" doc:"Media id: the first 22 characters of the URL-safe base64 SHA-256 of the bytes."`
	ContentType   string     `lake:"content_type" doc:"MIME type of the bytes."`
	ContentLength *int64     `lake:"content_length" doc:"Size of the bytes; null when the source has no uploaded bytes for the id."`
	UploadedAt    *time.Time `lake:"uploaded_at" doc:"When the bytes were uploaded to the source."`
	Path          *string    `lake:"path" doc:"Where the bytes are, relative to the lake root (_media/<id>); null when they could not be copied."`
	SHA256        *string    `lake:"sha256" doc:"SHA-256 of the bytes, standard base64 (44 characters, the form the Langfuse upload API takes)."`
	TraceID       *string    `lake:"trace_id" doc:"Id of the referencing trace, or of the trace of the referencing observation."`
	ObservationID *string    `lake:"observation_id" doc:"Id of the referencing observation."`
	DatasetItemID *string    `lake:"dataset_item_id" doc:"Id of the referencing dataset item."`
	Field         *string    `lake:"field" doc:"Field that holds the reference: input, output, metadata or (dataset items) expectedOutput."`
	JSONPath      *string    `lake:"json_path" doc:"JSONPath of the string holding the reference within the field, e.g. $['image']."`
}

// Media is the media table.
var Media = Define[MediaReference](Spec{
	Name: "media",
	Doc: "One row per reference to a media file: an @@@langfuseMedia:type=…|id=…|source=…@@@ token in a trace's, observation's or " +
		"dataset item's input, output, metadata or expected output. Langfuse has no media list: the exporter finds the tokens, " +
		"reads each id once from GET /api/public/media/{mediaId} (v3 and v4) and copies the bytes to _media/<id> in the lake; " +
		"dataset items' mediaReferences supply field and json_path directly. " +
		"The same media id appears once per referencing object and field. Snapshot table.",
	Key: []string{"id", "trace_id", "observation_id", "dataset_item_id", "field", "json_path"},
})
