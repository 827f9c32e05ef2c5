package langfuse

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// ---------------------------------------------------------------------------------------------
// Observations

// ObservationsV2Query filters GET /api/public/v2/observations (Langfuse v4). The listing is
// newest first (startTime descending); FromStartTime is inclusive, ToStartTime exclusive.
type ObservationsV2Query struct {
	CursorOptions
	// Fields are the field groups to return; nil means all of ObservationV2FieldGroups (the
	// server's own default is only core and basic).
	Fields []string
	// ExpandMetadata lists metadata keys to return untruncated.
	ExpandMetadata []string

	Name, UserID, SessionID, Type, TraceID, Level, Version string
	// ParentObservationID filters by physical parent; a pointer to "" selects observations
	// without one.
	ParentObservationID        *string
	IsRootObservation          *bool
	Environment                []string
	FromStartTime, ToStartTime time.Time
	// Filter is the JSON filter array; when set, the server ignores the other filters.
	Filter string
}

// ListObservationsV2 hands the matching observations to fn, one page (up to 1000) at a time.
func (c *Client) ListObservationsV2(ctx context.Context, q ObservationsV2Query, fn func(page []ObservationV2) error) error {
	v := url.Values{}
	fields := q.Fields
	if fields == nil {
		fields = ObservationV2FieldGroups
	}
	setCSV(v, "fields", fields)
	setCSV(v, "expandMetadata", q.ExpandMetadata)
	setString(v, "name", q.Name)
	setString(v, "userId", q.UserID)
	setString(v, "sessionId", q.SessionID)
	setString(v, "type", q.Type)
	setString(v, "traceId", q.TraceID)
	setString(v, "level", q.Level)
	setString(v, "version", q.Version)
	if q.ParentObservationID != nil {
		v.Set("parentObservationId", *q.ParentObservationID)
	}
	setBool(v, "isRootObservation", q.IsRootObservation)
	setMulti(v, "environment", q.Environment)
	setTime(v, "fromStartTime", q.FromStartTime)
	setTime(v, "toStartTime", q.ToStartTime)
	setString(v, "filter", q.Filter)
	o := newOp(http.MethodGet, "/api/public/v2/observations", BucketPublicAPI)
	o.query = v
	return listCursor(ctx, c, "observations (v2)", o, q.CursorOptions, maxObservationsLimit, fn)
}

// ObservationsV1Query filters GET /api/public/observations (Langfuse v3).
type ObservationsV1Query struct {
	PageOptions
	Name, UserID, Type, TraceID, Level, ParentObservationID, Version string
	Environment                                                      []string
	FromStartTime, ToStartTime                                       time.Time
	Filter                                                           string
}

// ListObservationsV1 hands the matching observations to fn, one page (up to 100) at a time.
func (c *Client) ListObservationsV1(ctx context.Context, q ObservationsV1Query, fn func(page []ObservationV1) error) error {
	v := url.Values{}
	setString(v, "name", q.Name)
	setString(v, "userId", q.UserID)
	setString(v, "type", q.Type)
	setString(v, "traceId", q.TraceID)
	setString(v, "level", q.Level)
	setString(v, "parentObservationId", q.ParentObservationID)
	setString(v, "version", q.Version)
	setMulti(v, "environment", q.Environment)
	setTime(v, "fromStartTime", q.FromStartTime)
	setTime(v, "toStartTime", q.ToStartTime)
	setString(v, "filter", q.Filter)
	o := newOp(http.MethodGet, "/api/public/observations", BucketLegacy)
	o.query = v
	return listPages(ctx, c, "observations (v1)", o, q.PageOptions, maxLimit, fn)
}

// ---------------------------------------------------------------------------------------------
// Traces and sessions

// TracesQuery filters GET /api/public/traces (Langfuse v3). FromTimestamp is inclusive,
// ToTimestamp exclusive.
type TracesQuery struct {
	PageOptions
	UserID, Name, SessionID    string
	FromTimestamp, ToTimestamp time.Time
	OrderBy                    string // e.g. "timestamp.asc"
	Tags                       []string
	Version, Release           string
	Environment                []string
	Fields                     []string // core, io, scores, observations, metrics; nil: all
	Filter                     string
}

// ListTraces hands the matching traces to fn, one page (up to 100) at a time.
func (c *Client) ListTraces(ctx context.Context, q TracesQuery, fn func(page []Trace) error) error {
	v := url.Values{}
	setString(v, "userId", q.UserID)
	setString(v, "name", q.Name)
	setString(v, "sessionId", q.SessionID)
	setTime(v, "fromTimestamp", q.FromTimestamp)
	setTime(v, "toTimestamp", q.ToTimestamp)
	setString(v, "orderBy", q.OrderBy)
	setMulti(v, "tags", q.Tags)
	setString(v, "version", q.Version)
	setString(v, "release", q.Release)
	setMulti(v, "environment", q.Environment)
	setCSV(v, "fields", q.Fields)
	setString(v, "filter", q.Filter)
	o := newOp(http.MethodGet, "/api/public/traces", BucketLegacy)
	o.query = v
	return listPages(ctx, c, "traces", o, q.PageOptions, maxLimit, fn)
}

// GetTrace returns a trace with its observations and scores. fields nil means all.
func (c *Client) GetTrace(ctx context.Context, id string, fields []string) (*TraceDetails, error) {
	if err := requireNames("get trace", "trace id", id); err != nil {
		return nil, err
	}
	o := newOp(http.MethodGet, escapePath("/api/public/traces", id), BucketLegacy)
	o.query = url.Values{}
	setCSV(o.query, "fields", fields)
	t, err := getOne[TraceDetails](ctx, c, o, fmt.Sprintf("get trace %q", id))
	if err != nil {
		return nil, err
	}
	c.noteDeprecation(ctx, o, t.Deprecation)
	return t, nil
}

// SessionsQuery filters GET /api/public/sessions (Langfuse v3) by creation time.
type SessionsQuery struct {
	PageOptions
	FromTimestamp, ToTimestamp time.Time
	Environment                []string
}

// ListSessions hands the matching sessions to fn, one page at a time.
func (c *Client) ListSessions(ctx context.Context, q SessionsQuery, fn func(page []Session) error) error {
	v := url.Values{}
	setTime(v, "fromTimestamp", q.FromTimestamp)
	setTime(v, "toTimestamp", q.ToTimestamp)
	setMulti(v, "environment", q.Environment)
	o := newOp(http.MethodGet, "/api/public/sessions", BucketLegacy)
	o.query = v
	return listPages(ctx, c, "sessions", o, q.PageOptions, maxLimit, fn)
}

// GetSession returns a session with all its traces.
func (c *Client) GetSession(ctx context.Context, id string) (*SessionWithTraces, error) {
	if err := requireNames("get session", "session id", id); err != nil {
		return nil, err
	}
	o := newOp(http.MethodGet, escapePath("/api/public/sessions", id), BucketLegacy)
	s, err := getOne[SessionWithTraces](ctx, c, o, fmt.Sprintf("get session %q", id))
	if err != nil {
		return nil, err
	}
	c.noteDeprecation(ctx, o, s.Deprecation)
	return s, nil
}

// ---------------------------------------------------------------------------------------------
// Scores

// ScoresV3Query filters GET /api/public/v3/scores. List filters match any of their values.
// FromTimestamp is inclusive, ToTimestamp exclusive.
type ScoresV3Query struct {
	CursorOptions
	// Fields are the optional field groups; nil means all of ScoreV3FieldGroups.
	Fields []string

	IDs, Names, Sources, DataTypes, Environments, ConfigIDs, QueueIDs, AuthorUserIDs []string
	// Values, ValueMin and ValueMax need exactly one of DataTypes.
	Values                                              []string
	ValueMin, ValueMax                                  *float64
	TraceIDs, SessionIDs, ObservationIDs, ExperimentIDs []string
	FromTimestamp, ToTimestamp                          time.Time
}

// ListScoresV3 hands the matching scores to fn, one page (up to 100) at a time.
func (c *Client) ListScoresV3(ctx context.Context, q ScoresV3Query, fn func(page []ScoreV3) error) error {
	v := url.Values{}
	fields := q.Fields
	if fields == nil {
		fields = ScoreV3FieldGroups
	}
	setCSV(v, "fields", fields)
	setCSV(v, "id", q.IDs)
	setCSV(v, "name", q.Names)
	setCSV(v, "source", q.Sources)
	setCSV(v, "dataType", q.DataTypes)
	setCSV(v, "environment", q.Environments)
	setCSV(v, "configId", q.ConfigIDs)
	setCSV(v, "queueId", q.QueueIDs)
	setCSV(v, "authorUserId", q.AuthorUserIDs)
	setCSV(v, "value", q.Values)
	setFloat(v, "valueMin", q.ValueMin)
	setFloat(v, "valueMax", q.ValueMax)
	setCSV(v, "traceId", q.TraceIDs)
	setCSV(v, "sessionId", q.SessionIDs)
	setCSV(v, "observationId", q.ObservationIDs)
	setCSV(v, "experimentId", q.ExperimentIDs)
	setTime(v, "fromTimestamp", q.FromTimestamp)
	setTime(v, "toTimestamp", q.ToTimestamp)
	o := newOp(http.MethodGet, "/api/public/v3/scores", BucketPublicAPI)
	o.query = v
	return listCursor(ctx, c, "scores (v3)", o, q.CursorOptions, maxLimit, fn)
}

// ScoresV2Query filters GET /api/public/v2/scores (Langfuse v3).
type ScoresV2Query struct {
	PageOptions
	UserID, Name                                                       string
	FromTimestamp, ToTimestamp                                         time.Time
	Environment                                                        []string
	Source, DataType                                                   string
	Operator                                                           string // with Value, e.g. ">="
	Value                                                              *float64
	ScoreIDs                                                           []string
	ConfigID, SessionID, DatasetRunID, TraceID, ObservationID, QueueID string
	TraceTags                                                          []string
	Fields                                                             []string // score, trace; nil: both
	Filter                                                             string
}

// ListScoresV2 hands the matching scores to fn, one page (up to 100) at a time.
func (c *Client) ListScoresV2(ctx context.Context, q ScoresV2Query, fn func(page []ScoreV2) error) error {
	v := url.Values{}
	setString(v, "userId", q.UserID)
	setString(v, "name", q.Name)
	setTime(v, "fromTimestamp", q.FromTimestamp)
	setTime(v, "toTimestamp", q.ToTimestamp)
	setMulti(v, "environment", q.Environment)
	setString(v, "source", q.Source)
	setString(v, "dataType", q.DataType)
	setString(v, "operator", q.Operator)
	setFloat(v, "value", q.Value)
	setCSV(v, "scoreIds", q.ScoreIDs)
	setString(v, "configId", q.ConfigID)
	setString(v, "sessionId", q.SessionID)
	setString(v, "datasetRunId", q.DatasetRunID)
	setString(v, "traceId", q.TraceID)
	setString(v, "observationId", q.ObservationID)
	setString(v, "queueId", q.QueueID)
	setMulti(v, "traceTags", q.TraceTags)
	setCSV(v, "fields", q.Fields)
	setString(v, "filter", q.Filter)
	o := newOp(http.MethodGet, "/api/public/v2/scores", BucketLegacy)
	o.query = v
	return listPages(ctx, c, "scores (v2)", o, q.PageOptions, maxLimit, fn)
}

// ListScoreConfigs hands the project's score configs to fn, one page at a time.
func (c *Client) ListScoreConfigs(ctx context.Context, p PageOptions, fn func(page []ScoreConfig) error) error {
	o := newOp(http.MethodGet, "/api/public/score-configs", BucketPublicAPI)
	return listPages(ctx, c, "score configs", o, p, maxLimit, fn)
}

// ---------------------------------------------------------------------------------------------
// Prompts and models

// PromptsQuery filters GET /api/public/v2/prompts.
type PromptsQuery struct {
	PageOptions
	Name, Label, Tag           string
	FromUpdatedAt, ToUpdatedAt time.Time
}

// ListPrompts hands the prompts (one PromptMeta per name, listing its versions) to fn.
func (c *Client) ListPrompts(ctx context.Context, q PromptsQuery, fn func(page []PromptMeta) error) error {
	v := url.Values{}
	setString(v, "name", q.Name)
	setString(v, "label", q.Label)
	setString(v, "tag", q.Tag)
	setTime(v, "fromUpdatedAt", q.FromUpdatedAt)
	setTime(v, "toUpdatedAt", q.ToUpdatedAt)
	o := newOp(http.MethodGet, "/api/public/v2/prompts", BucketPrompts)
	o.query = v
	return listPages(ctx, c, "prompts", o, q.PageOptions, maxLimit, fn)
}

// GetPrompt returns one version of a prompt (version 0: the one labelled production),
// unresolved (resolve=false): dependency tags stay as written.
func (c *Client) GetPrompt(ctx context.Context, name string, version int) (*Prompt, error) {
	if err := requireNames("get prompt", "prompt name", name); err != nil {
		return nil, err
	}
	o := newOp(http.MethodGet, escapePath("/api/public/v2/prompts", name), BucketPrompts)
	o.query = url.Values{"resolve": {"false"}}
	if version > 0 {
		o.query.Set("version", strconv.Itoa(version))
	}
	return getOne[Prompt](ctx, c, o, fmt.Sprintf("get prompt %q version %d", name, version))
}

// ListModels hands the project's models, Langfuse-managed ones included, to fn.
func (c *Client) ListModels(ctx context.Context, p PageOptions, fn func(page []Model) error) error {
	o := newOp(http.MethodGet, "/api/public/models", BucketPublicAPI)
	return listPages(ctx, c, "models", o, p, maxLimit, fn)
}

// ---------------------------------------------------------------------------------------------
// Datasets

// ListDatasets hands the project's datasets to fn.
func (c *Client) ListDatasets(ctx context.Context, p PageOptions, fn func(page []Dataset) error) error {
	o := newOp(http.MethodGet, "/api/public/v2/datasets", BucketDatasets)
	return listPages(ctx, c, "datasets", o, p, maxLimit, fn)
}

// GetDataset returns a dataset by name.
func (c *Client) GetDataset(ctx context.Context, name string) (*Dataset, error) {
	if err := requireNames("get dataset", "dataset name", name); err != nil {
		return nil, err
	}
	o := newOp(http.MethodGet, escapePath("/api/public/v2/datasets", name), BucketDatasets)
	return getOne[Dataset](ctx, c, o, fmt.Sprintf("get dataset %q", name))
}

// DatasetItemsQuery filters GET /api/public/dataset-items.
type DatasetItemsQuery struct {
	PageOptions
	DatasetName, SourceTraceID, SourceObservationID string
	// Version asks for the items as they were at that time (needs DatasetName).
	Version time.Time
}

// ListDatasetItems hands the matching dataset items to fn.
func (c *Client) ListDatasetItems(ctx context.Context, q DatasetItemsQuery, fn func(page []DatasetItem) error) error {
	v := url.Values{}
	setString(v, "datasetName", q.DatasetName)
	setString(v, "sourceTraceId", q.SourceTraceID)
	setString(v, "sourceObservationId", q.SourceObservationID)
	setTime(v, "version", q.Version)
	o := newOp(http.MethodGet, "/api/public/dataset-items", BucketDatasets)
	o.query = v
	return listPages(ctx, c, "dataset items", o, q.PageOptions, maxLimit, fn)
}

// ListDatasetRuns hands the runs of a dataset to fn (Langfuse v3).
func (c *Client) ListDatasetRuns(ctx context.Context, datasetName string, p PageOptions, fn func(page []DatasetRun) error) error {
	if err := requireNames("list dataset runs", "dataset name", datasetName); err != nil {
		return err
	}
	o := newOp(http.MethodGet, escapePath("/api/public/datasets", datasetName, "runs"), BucketDatasets)
	return listPages(ctx, c, fmt.Sprintf("runs of dataset %q", datasetName), o, p, maxLimit, fn)
}

// GetDatasetRun returns a dataset run with its items (Langfuse v3).
func (c *Client) GetDatasetRun(ctx context.Context, datasetName, runName string) (*DatasetRunWithItems, error) {
	if err := requireNames("get dataset run", "dataset name", datasetName, "run name", runName); err != nil {
		return nil, err
	}
	o := newOp(http.MethodGet, escapePath("/api/public/datasets", datasetName, "runs", runName), BucketDatasets)
	r, err := getOne[DatasetRunWithItems](ctx, c, o, fmt.Sprintf("get run %q of dataset %q", runName, datasetName))
	if err != nil {
		return nil, err
	}
	c.noteDeprecation(ctx, o, r.Deprecation)
	return r, nil
}

// ListDatasetRunItems hands the items of one run to fn (Langfuse v3).
func (c *Client) ListDatasetRunItems(ctx context.Context, datasetID, runName string, p PageOptions, fn func(page []DatasetRunItem) error) error {
	if err := requireNames("list dataset run items", "dataset id", datasetID, "run name", runName); err != nil {
		return err
	}
	o := newOp(http.MethodGet, "/api/public/dataset-run-items", BucketDatasets)
	o.query = url.Values{"datasetId": {datasetID}, "runName": {runName}}
	return listPages(ctx, c, fmt.Sprintf("items of run %q", runName), o, p, maxLimit, fn)
}

// ---------------------------------------------------------------------------------------------
// Experiments (Langfuse v4)

// ExperimentsQuery filters GET /api/public/experiments. FromStartTime is required.
type ExperimentsQuery struct {
	CursorOptions
	Fields                     []string // nil: all of ExperimentFieldGroups
	ScoreLimit                 int      // scores per experiment (max 50; 0: server default)
	FromStartTime, ToStartTime time.Time
	IDs, Names, DatasetIDs     []string
	Filter                     string
}

// ListExperiments hands the experiments that ran in the time range to fn.
func (c *Client) ListExperiments(ctx context.Context, q ExperimentsQuery, fn func(page []Experiment) error) error {
	if q.FromStartTime.IsZero() {
		return fmt.Errorf("list experiments: FromStartTime is required: %w", ErrBadRequest)
	}
	v := url.Values{}
	fields := q.Fields
	if fields == nil {
		fields = ExperimentFieldGroups
	}
	setCSV(v, "fields", fields)
	if q.ScoreLimit > 0 {
		v.Set("scoreLimit", strconv.Itoa(q.ScoreLimit))
	}
	setTime(v, "fromStartTime", q.FromStartTime)
	setTime(v, "toStartTime", q.ToStartTime)
	setCSV(v, "id", q.IDs)
	setCSV(v, "name", q.Names)
	setCSV(v, "datasetId", q.DatasetIDs)
	setString(v, "filter", q.Filter)
	o := newOp(http.MethodGet, "/api/public/experiments", BucketPublicAPI)
	o.query = v
	return listCursor(ctx, c, "experiments", o, q.CursorOptions, maxLimit, fn)
}

// ExperimentItemsQuery filters GET /api/public/experiment-items. FromStartTime is required.
type ExperimentItemsQuery struct {
	CursorOptions
	Fields                                                        []string // nil: all of ExperimentItemFieldGroups
	ScoreLimit                                                    int
	FromStartTime, ToStartTime                                    time.Time
	ExperimentIDs, ExperimentNames, ExperimentItemIDs, DatasetIDs []string
	Filter                                                        string
}

// ListExperimentItems hands the experiment items that started in the time range to fn.
func (c *Client) ListExperimentItems(ctx context.Context, q ExperimentItemsQuery, fn func(page []ExperimentItem) error) error {
	if q.FromStartTime.IsZero() {
		return fmt.Errorf("list experiment items: FromStartTime is required: %w", ErrBadRequest)
	}
	v := url.Values{}
	fields := q.Fields
	if fields == nil {
		fields = ExperimentItemFieldGroups
	}
	setCSV(v, "fields", fields)
	if q.ScoreLimit > 0 {
		v.Set("scoreLimit", strconv.Itoa(q.ScoreLimit))
	}
	setTime(v, "fromStartTime", q.FromStartTime)
	setTime(v, "toStartTime", q.ToStartTime)
	setCSV(v, "experimentId", q.ExperimentIDs)
	setCSV(v, "experimentName", q.ExperimentNames)
	setCSV(v, "experimentItemId", q.ExperimentItemIDs)
	setCSV(v, "datasetId", q.DatasetIDs)
	setString(v, "filter", q.Filter)
	o := newOp(http.MethodGet, "/api/public/experiment-items", BucketPublicAPI)
	o.query = v
	return listCursor(ctx, c, "experiment items", o, q.CursorOptions, maxLimit, fn)
}

// ---------------------------------------------------------------------------------------------
// Comments, annotation queues, media

// CommentsQuery filters GET /api/public/comments.
type CommentsQuery struct {
	PageOptions
	ObjectType, ObjectID, AuthorUserID string
}

// ListComments hands the matching comments to fn.
func (c *Client) ListComments(ctx context.Context, q CommentsQuery, fn func(page []Comment) error) error {
	v := url.Values{}
	setString(v, "objectType", q.ObjectType)
	setString(v, "objectId", q.ObjectID)
	setString(v, "authorUserId", q.AuthorUserID)
	o := newOp(http.MethodGet, "/api/public/comments", BucketPublicAPI)
	o.query = v
	return listPages(ctx, c, "comments", o, q.PageOptions, maxLimit, fn)
}

// ListAnnotationQueues hands the project's annotation queues to fn.
func (c *Client) ListAnnotationQueues(ctx context.Context, p PageOptions, fn func(page []AnnotationQueue) error) error {
	o := newOp(http.MethodGet, "/api/public/annotation-queues", BucketAnnotationQueues)
	return listPages(ctx, c, "annotation queues", o, p, maxLimit, fn)
}

// ListAnnotationQueueItems hands the items of a queue to fn; status "" means all.
func (c *Client) ListAnnotationQueueItems(ctx context.Context, queueID, status string, p PageOptions, fn func(page []AnnotationQueueItem) error) error {
	if err := requireNames("list annotation queue items", "queue id", queueID); err != nil {
		return err
	}
	o := newOp(http.MethodGet, escapePath("/api/public/annotation-queues", queueID, "items"), BucketAnnotationQueues)
	o.query = url.Values{}
	setString(o.query, "status", status)
	return listPages(ctx, c, fmt.Sprintf("items of annotation queue %q", queueID), o, p, maxLimit, fn)
}

// GetMedia returns a media record with a signed download URL.
func (c *Client) GetMedia(ctx context.Context, mediaID string) (*Media, error) {
	if err := requireNames("get media", "media id", mediaID); err != nil {
		return nil, err
	}
	o := newOp(http.MethodGet, escapePath("/api/public/media", mediaID), BucketPublicAPI)
	return getOne[Media](ctx, c, o, fmt.Sprintf("get media %q", mediaID))
}

// getOne runs o and decodes one entity; what names it in errors.
func getOne[T any](ctx context.Context, c *Client, o *op, what string) (*T, error) {
	var v T
	if err := c.call(ctx, o, &v); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	noteExtra(ctx, c, []T{v})
	return &v, nil
}
