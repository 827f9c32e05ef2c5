package schema

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/lakefuse/lakefuse/internal/lfspec"
)

// The spec-coverage test: every property that the Langfuse OpenAPI spec
// declares for an entity that the lake stores must have a column, so that a
// field Langfuse adds to its API fails this test until the lake holds it.

// specEntities maps each table to the component schemas of the spec whose
// properties it holds. oneOf/allOf/anyOf are followed, so "Score" covers all
// of its per-data-type variants.
var specEntities = []struct {
	table   string
	schemas []string
}{
	{"traces", []string{"Trace", "TraceWithDetails", "TraceWithFullDetails"}},
	{"observations", []string{"Observation", "ObservationsView", "ObservationsViewSingle", "ObservationV2"}},
	{"scores", []string{"ScoreV1", "Score", "GetScoresResponseData", "ScoreV3", "ScoreSubjectV3"}},
	{"sessions", []string{"Session", "SessionWithTraces"}},
	{"prompts", []string{"Prompt", "PromptMeta"}},
	{"score_configs", []string{"ScoreConfig"}},
	{"models", []string{"Model"}},
	{"datasets", []string{"Dataset"}},
	{"dataset_items", []string{"DatasetItem"}},
	{"dataset_runs", []string{"DatasetRun", "DatasetRunWithItems", "Experiment"}},
	{"dataset_run_items", []string{"DatasetRunItem", "ExperimentItem"}},
	{"comments", []string{"Comment"}},
	{"annotation_queues", []string{"AnnotationQueue"}},
	{"annotation_queue_items", []string{"AnnotationQueueItem"}},
	{"media", []string{"GetMediaResponse", "DatasetItemMediaReference", "DatasetItemMediaReferenceMedia"}},
}

// specEndpoints are the read endpoints the exporter uses. The entity each
// returns (the items of a paginated `data` array, or the body itself) must be
// one that specEntities maps to the table, so that an endpoint switching to a
// new response schema is noticed.
var specEndpoints = []struct{ path, table string }{
	{"/api/public/traces", "traces"},
	{"/api/public/traces/{traceId}", "traces"},
	{"/api/public/observations", "observations"},
	{"/api/public/observations/{observationId}", "observations"},
	{"/api/public/v2/observations", "observations"},
	{"/api/public/v2/scores", "scores"},
	{"/api/public/v2/scores/{scoreId}", "scores"},
	{"/api/public/v3/scores", "scores"},
	{"/api/public/sessions", "sessions"},
	{"/api/public/sessions/{sessionId}", "sessions"},
	{"/api/public/v2/prompts", "prompts"},
	{"/api/public/v2/prompts/{promptName}", "prompts"},
	{"/api/public/score-configs", "score_configs"},
	{"/api/public/score-configs/{configId}", "score_configs"},
	{"/api/public/models", "models"},
	{"/api/public/models/{id}", "models"},
	{"/api/public/v2/datasets", "datasets"},
	{"/api/public/v2/datasets/{datasetName}", "datasets"},
	{"/api/public/dataset-items", "dataset_items"},
	{"/api/public/dataset-items/{id}", "dataset_items"},
	{"/api/public/datasets/{datasetName}/runs", "dataset_runs"},
	{"/api/public/datasets/{datasetName}/runs/{runName}", "dataset_runs"},
	{"/api/public/experiments", "dataset_runs"},
	{"/api/public/dataset-run-items", "dataset_run_items"},
	{"/api/public/experiment-items", "dataset_run_items"},
	{"/api/public/comments", "comments"},
	{"/api/public/comments/{commentId}", "comments"},
	{"/api/public/annotation-queues", "annotation_queues"},
	{"/api/public/annotation-queues/{queueId}", "annotation_queues"},
	{"/api/public/annotation-queues/{queueId}/items", "annotation_queue_items"},
	{"/api/public/annotation-queues/{queueId}/items/{itemId}", "annotation_queue_items"},
	{"/api/public/media/{mediaId}", "media"},
}

// mapping says where a spec property that has no column of its snake_case
// name (or whose type differs from its column's) is kept. to lists the
// columns that hold it: "col" in the entity's table, "table.col" in another;
// every one must exist. An empty to means the value is deliberately not
// stored, and reason must say why that loses nothing.
type mapping struct {
	to     []string
	reason string
}

// specGlobal applies to every entity.
var specGlobal = map[string]mapping{
	"projectId":    {nil, "partition key project_id: part of every path, never a column"},
	"_deprecation": {nil, "notice that the endpoint is deprecated, attached to the response, not entity data"},
}

// specExceptions are keyed by table, then by "Schema.property" (the schema
// that declares the property) or by "property" (any schema of the table).
var specExceptions = map[string]map[string]mapping{
	"traces": {
		"observations": {[]string{"observations.trace_id"}, "the trace's observations (ids or full objects) are the observations rows with this trace_id"},
		"scores":       {[]string{"scores.trace_id"}, "the trace's scores (ids or full objects) are the scores rows with this trace_id"},
	},
	"observations": {
		"Observation.model":             {[]string{"provided_model_name"}, "v3 name of the value v4 calls providedModelName"},
		"ObservationV2.internalModelId": {[]string{"model_id"}, "v4 returns the matched model id twice, as internalModelId and modelId; v3 only as modelId"},
		"ObservationV2.inputPrice":      {[]string{"input_price"}, "v4 returns prices as decimal strings, v3 as numbers; stored as DOUBLE"},
		"ObservationV2.outputPrice":     {[]string{"output_price"}, "v4 returns prices as decimal strings, v3 as numbers; stored as DOUBLE"},
		"ObservationV2.totalPrice":      {[]string{"total_price"}, "v4 returns prices as decimal strings, v3 as numbers; stored as DOUBLE"},
	},
	"scores": {
		"trace":                        {[]string{"traces.user_id", "traces.tags", "traces.environment", "traces.session_id"}, "v3's optional copy of the scored trace's attributes (fields=trace) is the traces row"},
		"subject":                      {[]string{"trace_id", "observation_id", "session_id", "dataset_run_id"}, "v4's {kind, id, traceId} is flattened into the id column of its kind"},
		"ScoreSubjectV3.kind":          {[]string{"trace_id", "observation_id", "session_id", "dataset_run_id"}, "the kind is which id column holds the subject's id"},
		"ScoreSubjectTraceV3.id":       {[]string{"trace_id"}, "a trace subject's id is the trace id"},
		"ScoreSubjectObservationV3.id": {[]string{"observation_id"}, "an observation subject's id is the observation id"},
		"ScoreSubjectSessionV3.id":     {[]string{"session_id"}, "a session subject's id is the session id"},
		"ScoreSubjectExperimentV3.id":  {[]string{"dataset_run_id"}, "an experiment subject's id is the dataset run id"},
		"BooleanScoreV3.value":         {[]string{"value", "string_value"}, "v4's boolean is stored as v3 does: 1 or 0 in value, True or False in string_value"},
		"CategoricalScoreV3.value":     {[]string{"string_value"}, "v4's category string is v3's stringValue"},
		"TextScoreV3.value":            {[]string{"string_value"}, "v4's text is v3's stringValue"},
		"CorrectionScoreV3.value":      {[]string{"string_value"}, "v4's correction text is v3's stringValue"},
	},
	"sessions": {
		"traces": {[]string{"traces.session_id"}, "the session's traces are the traces rows with this session_id"},
	},
	"prompts": {
		"TextPrompt.prompt":        {[]string{"prompt"}, "the prompt column holds JSON for both types: a JSON string for text prompts"},
		"PromptMeta.versions":      {[]string{"version"}, "one row per version"},
		"PromptMeta.labels":        {[]string{"labels"}, "the list entry's labels are the union of its versions' labels"},
		"PromptMeta.lastUpdatedAt": {[]string{"updated_at"}, "updated_at of the newest version"},
		"PromptMeta.lastConfig":    {[]string{"config"}, "config of the newest version"},
	},
	"models": {
		"Model.prices": {[]string{"prices"}, "map of {price} objects flattened to a map of numbers; price is ModelPrice's only field"},
	},
	"dataset_items": {
		"DatasetItem.mediaReferences": {[]string{"media.dataset_item_id", "media.field", "media.json_path"}, "each resolved reference is a media row"},
	},
	"dataset_runs": {
		"DatasetRunWithItems.datasetRunItems": {[]string{"dataset_run_items.dataset_run_id"}, "the run's items are the dataset_run_items rows with this dataset_run_id"},
		"Experiment.scores":                   {[]string{"scores.dataset_run_id"}, "experiment-level scores are the scores rows with this dataset_run_id"},
	},
	"dataset_run_items": {
		"ExperimentItem.experimentId":          {[]string{"dataset_run_id"}, "v4 name of the run id"},
		"ExperimentItem.experimentName":        {[]string{"dataset_run_name"}, "v4 name of the run name"},
		"ExperimentItem.experimentItemId":      {[]string{"dataset_item_id"}, "v4 name of the dataset item id"},
		"ExperimentItem.experimentDatasetId":   {[]string{"dataset_id"}, "v4 name of the dataset id"},
		"ExperimentItem.experimentDescription": {[]string{"dataset_runs.description"}, "the experiment's description, the same on each of its items"},
		"ExperimentItem.experimentMetadata":    {[]string{"dataset_runs.metadata"}, "the experiment's metadata, the same on each of its items"},
		"ExperimentItem.startTime":             {[]string{"observations.start_time"}, "the item is its root observation, whose id is the item id"},
		"ExperimentItem.endTime":               {[]string{"observations.end_time"}, "the item is its root observation, whose id is the item id"},
		"ExperimentItem.level":                 {[]string{"observations.level"}, "the item is its root observation, whose id is the item id"},
		"ExperimentItem.environment":           {[]string{"observations.environment"}, "the item is its root observation, whose id is the item id"},
		"ExperimentItem.input":                 {[]string{"observations.input"}, "the item is its root observation, whose id is the item id"},
		"ExperimentItem.output":                {[]string{"observations.output"}, "the item is its root observation, whose id is the item id"},
		"ExperimentItem.metadata":              {[]string{"observations.metadata"}, "the item is its root observation, whose id is the item id"},
		"ExperimentItem.scores":                {[]string{"scores.trace_id", "scores.observation_id"}, "item and trace scores are scores rows of the item's trace or root observation"},
	},
	"media": {
		"mediaId":                         {[]string{"id"}, "the media id is the table's id"},
		"url":                             {nil, "signed download URL that expires; the bytes themselves are copied to path"},
		"urlExpiry":                       {nil, "expiry of the signed URL, meaningless once the bytes are copied"},
		"DatasetItemMediaReference.media": {[]string{"id", "content_type", "content_length"}, "the resolved media record, mapped field by field as DatasetItemMediaReferenceMedia"},
		"DatasetItemMediaReference.referenceString": {[]string{"id", "content_type", "dataset_items.input"}, "the token stays verbatim in the item's JSON; its type and id are content_type and id"},
	},
}

// specExtraColumns are columns that no spec property maps to, each with where
// its value comes from.
var specExtraColumns = map[string]map[string]string{
	"traces": {
		"bookmarked": "returned by GET /traces although the spec omits it",
		"created_at": "returned by GET /traces although the spec omits it",
		"updated_at": "returned by GET /traces although the spec omits it",
	},
	"observations": {
		"usage_pricing_tier_id": "returned by v3 GET /observations although the spec omits it",
	},
	"prompts": {
		"id":         "returned by GET /v2/prompts/{name} although the spec omits it; PROMPT comments and observations refer to it",
		"created_by": "returned by GET /v2/prompts/{name} although the spec omits it",
		"created_at": "returned by GET /v2/prompts/{name} although the spec omits it",
	},
	"media": {
		"path":            "where the exporter copied the bytes in the lake",
		"sha256":          "computed by the exporter from the bytes; the upload API needs it",
		"trace_id":        "the trace whose input, output or metadata holds the reference, found by the exporter",
		"observation_id":  "the observation whose input, output or metadata holds the reference, found by the exporter",
		"dataset_item_id": "the dataset item that holds the reference",
	},
}

// specNotNull lists properties the spec marks nullable whose column is not:
// a null would be lost, so each needs a reason why it never occurs.
var specNotNull = map[string]map[string]string{
	"observations": {
		"ObservationV2.level":       "null only when the basic field group is not requested; the exporter requests it",
		"ObservationV2.environment": "null only when the basic field group is not requested; the exporter requests it",
	},
}

// subjectKinds are the v4 score subject kinds that the scores table can hold.
var subjectKinds = []string{"experiment", "observation", "session", "trace"}

func TestSpecCoverage(t *testing.T) {
	sp := loadSpec(t)
	used := map[string]bool{}
	hit := map[string]map[string]bool{}
	checked := map[string]bool{}
	for _, ent := range specEntities {
		tbl, err := Lookup(ent.table)
		if err != nil {
			t.Fatal(err)
		}
		if hit[tbl.Name] == nil {
			hit[tbl.Name] = map[string]bool{}
		}
		for _, schemaName := range ent.schemas {
			props, err := sp.properties(schemaName)
			if err != nil {
				t.Errorf("table %s: %v", tbl.Name, err)
				continue
			}
			for _, p := range props {
				// Trace's properties reach traces through three schemas; report once.
				if k := tbl.Name + "/" + p.owner + "." + p.name; !checked[k] {
					checked[k] = true
					checkProperty(t, sp, tbl, p, used, hit)
				}
			}
		}
	}
	for table, m := range specExceptions {
		for key := range m {
			if !used[table+"/"+key] {
				t.Errorf("table %s: exception %q matches no property of its spec schemas; remove it", table, key)
			}
		}
	}
	for table, m := range specNotNull {
		for key := range m {
			if !used["notnull/"+table+"/"+key] {
				t.Errorf("table %s: not-null exception %q matches no nullable property; remove it", table, key)
			}
		}
	}
	for _, tbl := range Tables() {
		for _, c := range tbl.Columns {
			_, extra := specExtraColumns[tbl.Name][c.Name]
			switch {
			case hit[tbl.Name][c.Name] && extra:
				t.Errorf("table %s: column %s is listed as extra but a spec property maps to it", tbl.Name, c.Name)
			case !hit[tbl.Name][c.Name] && !extra:
				t.Errorf("table %s: column %s matches no spec property and is not listed in specExtraColumns", tbl.Name, c.Name)
			}
		}
	}
	for table, cols := range specExtraColumns {
		tbl, err := Lookup(table)
		if err != nil {
			t.Error(err)
			continue
		}
		for col := range cols {
			if _, ok := tbl.Column(col); !ok {
				t.Errorf("table %s: extra column %s does not exist", table, col)
			}
		}
	}
}

func checkProperty(t *testing.T, sp *spec, tbl *Table, p specProp, used map[string]bool, hit map[string]map[string]bool) {
	t.Helper()
	where := fmt.Sprintf("table %s: spec %s.%s", tbl.Name, p.owner, p.name)
	m, key, ok := exceptionFor(tbl.Name, p)
	if ok {
		used[key] = true
		if m.reason == "" {
			t.Errorf("%s: exception without a reason", where)
		}
		for _, target := range m.to {
			table, col := tbl.Name, target
			if before, after, found := strings.Cut(target, "."); found {
				table, col = before, after
			}
			other, err := Lookup(table)
			if err != nil {
				t.Errorf("%s: exception target %s: %v", where, target, err)
				continue
			}
			if _, ok := other.Column(col); !ok {
				t.Errorf("%s: exception target %s is not a column", where, target)
				continue
			}
			if table == tbl.Name {
				hit[tbl.Name][col] = true
			}
		}
		return
	}
	name := snakeCase(p.name)
	col, ok := tbl.Column(name)
	if !ok {
		t.Errorf("%s (%s) has no column %s: add one, or an entry in specExceptions saying where it is kept", where, sp.kind(p.node), name)
		return
	}
	hit[tbl.Name][name] = true
	if want, got := sp.kind(p.node), TypeName(col); want != got {
		t.Errorf("%s is %s but column %s is %s", where, want, name, got)
	}
	if nullable, _ := p.node["nullable"].(bool); nullable && !col.Nullable {
		nk := p.owner + "." + p.name
		if _, ok := specNotNull[tbl.Name][nk]; ok {
			used["notnull/"+tbl.Name+"/"+nk] = true
		} else {
			t.Errorf("%s is nullable but column %s is not: a null would be lost", where, name)
		}
	}
}

func exceptionFor(table string, p specProp) (mapping, string, bool) {
	if m, ok := specExceptions[table][p.owner+"."+p.name]; ok {
		return m, table + "/" + p.owner + "." + p.name, true
	}
	if m, ok := specExceptions[table][p.name]; ok {
		return m, table + "/" + p.name, true
	}
	if m, ok := specGlobal[p.name]; ok {
		return m, "global/" + p.name, true
	}
	return mapping{}, "", false
}

func TestSpecEndpoints(t *testing.T) {
	sp := loadSpec(t)
	paths, _ := sp.doc["paths"].(map[string]any)
	for _, ep := range specEndpoints {
		name, err := sp.responseEntity(paths, ep.path)
		if err != nil {
			t.Errorf("GET %s: %v", ep.path, err)
			continue
		}
		found := false
		for _, ent := range specEntities {
			if ent.table == ep.table && slices.Contains(ent.schemas, name) {
				found = true
			}
		}
		if !found {
			t.Errorf("GET %s returns %s, which specEntities does not map to table %s", ep.path, name, ep.table)
		}
	}
}

// A new kind of score subject needs a column for its id.
func TestSpecScoreSubjectKinds(t *testing.T) {
	sp := loadSpec(t)
	var kinds []string
	err := sp.walk("ScoreSubjectV3", func(_, prop string, node map[string]any) {
		if prop != "kind" {
			return
		}
		enum, _ := node["enum"].([]any)
		for _, e := range enum {
			kinds = append(kinds, fmt.Sprint(e))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(kinds)
	if !slices.Equal(kinds, subjectKinds) {
		t.Errorf("score subject kinds are %v, the scores table holds %v", kinds, subjectKinds)
	}
}

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{
		"id":                   "id",
		"traceId":              "trace_id",
		"htmlPath":             "html_path",
		"timeToFirstToken":     "time_to_first_token",
		"expectedOutputSchema": "expected_output_schema",
		"_deprecation":         "_deprecation",
	} {
		if got := snakeCase(in); got != want {
			t.Errorf("snakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}

func snakeCase(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// spec is the parsed OpenAPI document.
type spec struct {
	doc     map[string]any
	schemas map[string]any
}

type specProp struct {
	owner string // the component schema that declares the property
	name  string
	node  map[string]any
}

// loadSpec parses Langfuse's OpenAPI spec: the one the repository carries
// (internal/lfspec), or the file $LAKEFUSE_OPENAPI names.
func loadSpec(t *testing.T) *spec {
	t.Helper()
	data, origin, err := lfspec.Load()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("parse %s: %v", origin, err)
	}
	components, _ := doc["components"].(map[string]any)
	schemas, _ := components["schemas"].(map[string]any)
	if len(schemas) == 0 {
		t.Fatalf("%s has no components.schemas", origin)
	}
	return &spec{doc: doc, schemas: schemas}
}

func (s *spec) schema(ref string) (string, map[string]any, error) {
	name := strings.TrimPrefix(ref, "#/components/schemas/")
	n, ok := s.schemas[name].(map[string]any)
	if !ok {
		return "", nil, fmt.Errorf("no schema %s in components.schemas", name)
	}
	return name, n, nil
}

// properties collects the properties of a component schema, following $ref,
// allOf, oneOf and anyOf. A property declared by several variants is listed
// once per declaring schema.
func (s *spec) properties(name string) ([]specProp, error) {
	var out []specProp
	seen := map[string]bool{}
	err := s.walk(name, func(owner, prop string, node map[string]any) {
		if !seen[owner+"."+prop] {
			seen[owner+"."+prop] = true
			out = append(out, specProp{owner: owner, name: prop, node: node})
		}
	})
	return out, err
}

// walk calls fn for every property of a component schema and of the schemas
// it combines, with the component schema that declares the property.
func (s *spec) walk(name string, fn func(owner, prop string, node map[string]any)) error {
	var walk func(owner string, n map[string]any, depth int) error
	walk = func(owner string, n map[string]any, depth int) error {
		if depth > 20 {
			return fmt.Errorf("schema %s: $ref cycle", name)
		}
		if ref, ok := n["$ref"].(string); ok {
			target, tn, err := s.schema(ref)
			if err != nil {
				return err
			}
			return walk(target, tn, depth+1)
		}
		props, _ := n["properties"].(map[string]any)
		keys := make([]string, 0, len(props))
		for k := range props {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			pn, _ := props[k].(map[string]any)
			fn(owner, k, pn)
		}
		for _, comb := range []string{"allOf", "oneOf", "anyOf"} {
			list, _ := n[comb].([]any)
			for _, item := range list {
				in, _ := item.(map[string]any)
				if err := walk(owner, in, depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	_, n, err := s.schema(name)
	if err != nil {
		return err
	}
	return walk(name, n, 0)
}

// kind renders the lake type a property needs, in TypeName's words.
func (s *spec) kind(n map[string]any) string {
	if ref, ok := n["$ref"].(string); ok {
		_, tn, err := s.schema(ref)
		if err != nil {
			return "unknown " + ref
		}
		return s.kind(tn)
	}
	switch n["type"] {
	case "string":
		if n["format"] == "date-time" {
			return "TIMESTAMP(MICROS, UTC)"
		}
		return "STRING"
	case "integer":
		return "INT64"
	case "number":
		return "DOUBLE"
	case "boolean":
		return "BOOLEAN"
	case "array":
		if items, ok := n["items"].(map[string]any); ok && s.kind(items) == "STRING" {
			return "LIST<STRING>"
		}
	case "object":
		if ap, ok := n["additionalProperties"].(map[string]any); ok {
			switch k := s.kind(ap); k {
			case "INT64", "DOUBLE", "STRING":
				return "MAP<STRING, " + k + ">"
			}
		}
	}
	// Objects, arrays of objects, unions and untyped values ("any JSON").
	return "STRING (JSON)"
}

var componentRef = regexp.MustCompile(`^#/components/schemas/[A-Za-z0-9_]+$`)

// responseEntity names the component schema of the entities that GET path
// returns: the items of a paginated data array, or the body itself.
func (s *spec) responseEntity(paths map[string]any, path string) (string, error) {
	op, _ := paths[path].(map[string]any)
	get, _ := op["get"].(map[string]any)
	if get == nil {
		return "", errors.New("not in the spec")
	}
	resp, _ := get["responses"].(map[string]any)
	ok200, _ := resp["200"].(map[string]any)
	content, _ := ok200["content"].(map[string]any)
	js, _ := content["application/json"].(map[string]any)
	sch, _ := js["schema"].(map[string]any)
	ref, _ := sch["$ref"].(string)
	if !componentRef.MatchString(ref) {
		return "", fmt.Errorf("200 response is not a component schema: %v", sch)
	}
	name, n, err := s.schema(ref)
	if err != nil {
		return "", err
	}
	props, _ := n["properties"].(map[string]any)
	data, _ := props["data"].(map[string]any)
	if data["type"] == "array" {
		items, _ := data["items"].(map[string]any)
		iref, _ := items["$ref"].(string)
		if !componentRef.MatchString(iref) {
			return "", fmt.Errorf("%s.data items are not a component schema", name)
		}
		name, _, err = s.schema(iref)
		return name, err
	}
	return name, nil
}

// The lake contract of DESIGN.md: table order, partitioning and keys.
func TestTableContract(t *testing.T) {
	want := []struct {
		name, timeColumn string
		key              []string
	}{
		{"traces", "timestamp", []string{"id"}},
		{"observations", "start_time", []string{"id"}},
		{"scores", "timestamp", []string{"id"}},
		{"sessions", "created_at", []string{"id"}},
		{"prompts", "", []string{"name", "version"}},
		{"score_configs", "", []string{"id"}},
		{"models", "", []string{"id"}},
		{"datasets", "", []string{"id"}},
		{"dataset_items", "", []string{"id"}},
		{"dataset_runs", "", []string{"id"}},
		{"dataset_run_items", "", []string{"id"}},
		{"comments", "created_at", []string{"id"}},
		{"annotation_queues", "", []string{"id"}},
		{"annotation_queue_items", "", []string{"id"}},
		{"media", "", []string{"id", "trace_id", "observation_id", "dataset_item_id", "field", "json_path"}},
	}
	tables := Tables()
	if len(tables) != len(want) {
		t.Fatalf("%d tables, want %d: %v", len(tables), len(want), Names())
	}
	for i, w := range want {
		tbl := tables[i]
		if tbl.Name != w.name || tbl.TimeColumn != w.timeColumn || !slices.Equal(tbl.Key, w.key) {
			t.Errorf("table %d is %s (time %q, key %v), want %s (time %q, key %v)",
				i, tbl.Name, tbl.TimeColumn, tbl.Key, w.name, w.timeColumn, w.key)
		}
	}
}

var columnName = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

func TestTableDocs(t *testing.T) {
	for _, tbl := range Tables() {
		if strings.TrimSpace(tbl.Doc) == "" || strings.Contains(tbl.Doc, "\n") || !strings.HasSuffix(tbl.Doc, ".") {
			t.Errorf("table %s: Doc must be one non-empty paragraph ending in a period", tbl.Name)
		}
		for _, c := range tbl.Columns {
			if !columnName.MatchString(c.Name) {
				t.Errorf("table %s: column %q is not snake_case", tbl.Name, c.Name)
			}
			if c.Doc == "" || strings.ContainsAny(c.Doc, "\n|") || !strings.HasSuffix(c.Doc, ".") {
				t.Errorf("table %s: column %s: doc must be one line ending in a period, without |", tbl.Name, c.Name)
			}
			if strings.HasSuffix(c.Name, "_id") && TypeName(c) != "STRING" {
				t.Errorf("table %s: id column %s is %s, ids are strings", tbl.Name, c.Name, TypeName(c))
			}
		}
	}
}
