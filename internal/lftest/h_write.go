package lftest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file is the REST write side: /api/public/ingestion (207, score-create)
// and the create endpoints of configs, models, prompts, datasets, items, run
// items, comments, annotation queues and media. Ids and versions are assigned
// where the real server assigns them; client ids are kept where it keeps them.

// statusBody is a handler answer with a status other than 200.
type statusBody struct {
	status int
	body   any
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return uuidFormat(hex.EncodeToString(b[:]))
}

// decodeBodyJSON decodes the request's JSON body into v.
func (c *call) decodeBodyJSON(v any) error {
	body, err := readBody(c.r)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return zodError(zodIssue{"code": "invalid_type", "message": "Invalid JSON body: " + err.Error(), "path": []string{}})
	}
	return nil
}

func required(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return zodError(zodIssue{"code": "invalid_type", "expected": "string", "received": "undefined", "message": "Required", "path": []string{field}})
	}
	return nil
}

// payloadField is a JSON body member as a stored value: absent or null is
// null, a JSON string its text, anything else its JSON text.
func payloadField(raw json.RawMessage) Payload {
	if len(raw) == 0 || string(raw) == "null" {
		return NullPayload()
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return TextPayload(s)
	}
	return JSONPayload(string(raw))
}

// ---------------------------------------------------------------------------------------------
// Ingestion

type ingestionEvent struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Timestamp string          `json:"timestamp"`
	Body      json.RawMessage `json:"body"`
}

type scoreBody struct {
	ID            *string         `json:"id"`
	TraceID       *string         `json:"traceId"`
	SessionID     *string         `json:"sessionId"`
	ObservationID *string         `json:"observationId"`
	DatasetRunID  *string         `json:"datasetRunId"`
	Name          string          `json:"name"`
	Environment   *string         `json:"environment"`
	QueueID       *string         `json:"queueId"`
	Value         json.RawMessage `json:"value"`
	Comment       *string         `json:"comment"`
	Metadata      json.RawMessage `json:"metadata"`
	DataType      *string         `json:"dataType"`
	ConfigID      *string         `json:"configId"`
	Source        *string         `json:"source"`
}

// hIngestion serves POST /api/public/ingestion: 207 with a result per event.
// score-create and sdk-log are processed in both modes (they pass in
// events_only); other event types get a per-event error (lftest does not
// implement the legacy trace and observation events).
func hIngestion(c *call) (any, error) {
	var req struct {
		Batch []json.RawMessage `json:"batch"`
	}
	if err := c.decodeBodyJSON(&req); err != nil {
		return nil, err
	}
	if req.Batch == nil {
		return nil, zodError(zodIssue{"code": "invalid_type", "expected": "array", "received": "undefined", "message": "Required", "path": []string{"batch"}})
	}
	successes, errs := []any{}, []any{}
	fail := func(id string, status int, msg string) {
		errs = append(errs, map[string]any{"id": id, "status": status, "message": msg, "error": msg})
	}
	for _, raw := range req.Batch {
		var ev ingestionEvent
		if err := json.Unmarshal(raw, &ev); err != nil || ev.ID == "" || ev.Type == "" {
			fail(ev.ID, http.StatusBadRequest, "Invalid request data: event needs id, type, timestamp and body")
			continue
		}
		ts, err := time.Parse(time.RFC3339Nano, ev.Timestamp)
		if err != nil {
			fail(ev.ID, http.StatusBadRequest, "Invalid request data: timestamp is not an ISO 8601 datetime")
			continue
		}
		switch ev.Type {
		case "score-create":
			if msg := c.ingestScore(ev.Body, ts); msg != "" {
				fail(ev.ID, http.StatusBadRequest, msg)
				continue
			}
		case "sdk-log":
		case "trace-create":
			if c.s.opts.Mode == V3 {
				if status, msg := c.ingestTraceCreate(ev.Body, ts); msg != "" {
					fail(ev.ID, status, msg)
					continue
				}
				break
			}
			fallthrough
		default:
			msg := "lftest does not implement ingestion event type " + ev.Type + "; use OTLP"
			if c.s.opts.Mode == V4 {
				msg = "Event type " + ev.Type + " is not supported in events_only mode; use the OpenTelemetry endpoint"
			}
			fail(ev.ID, http.StatusBadRequest, msg)
			continue
		}
		successes = append(successes, map[string]any{"id": ev.ID, "status": http.StatusCreated})
	}
	return statusBody{http.StatusMultiStatus, map[string]any{"successes": successes, "errors": errs}}, nil
}

// ingestScore handles a score-create body. It returns an error message for
// what the API refuses at once (the ScoreBody schema of
// packages/shared/src/server/ingestion/types.ts: the event then gets a 400 in
// the 207) or "". What the worker refuses later
// (packages/shared/src/server/ingestion/validateAndInflateScore.ts, called by
// worker/src/services/IngestionService/index.ts, which catches the error and
// skips the insert) also answers success, and the score is not stored:
// web/src/pages/api/public/ingestion.ts has already answered 207.
func (c *call) ingestScore(raw json.RawMessage, ts time.Time) string {
	var b scoreBody
	if err := json.Unmarshal(raw, &b); err != nil {
		return "Invalid request data: " + err.Error()
	}
	if b.Name == "" || len(b.Value) == 0 || string(b.Value) == "null" {
		return "Invalid request data: name and value are required"
	}
	if b.TraceID == nil && b.SessionID == nil && b.DatasetRunID == nil {
		return "Invalid request data: one of traceId, sessionId or datasetRunId is required"
	}
	s := &Score{ID: newUUID(), Name: b.Name, Timestamp: ts.UTC().Truncate(time.Millisecond), CreatedAt: c.now, UpdatedAt: c.now,
		TraceID: b.TraceID, ObservationID: b.ObservationID, SessionID: b.SessionID, DatasetRunID: b.DatasetRunID,
		Comment: b.Comment, ConfigID: b.ConfigID, QueueID: b.QueueID, Source: SourceAPI, Environment: "default",
		Metadata: payloadField(b.Metadata)}
	if b.ID != nil && *b.ID != "" {
		s.ID = *b.ID
	}
	if b.Source != nil {
		if !slices.Contains([]string{SourceAPI, SourceEval, SourceAnnotation}, *b.Source) {
			return "Invalid request data: source must be API, EVAL or ANNOTATION"
		}
		s.Source = *b.Source
	}
	if b.Environment != nil {
		s.Environment = NormalizeEnvironment(*b.Environment)
	}
	var num float64
	var str string
	isNum := json.Unmarshal(b.Value, &num) == nil
	if !isNum && json.Unmarshal(b.Value, &str) != nil {
		return "Invalid request data: value must be a number or a string"
	}
	// The synchronous schema (types.ts ScoreBody, a union by dataType).
	bodyType := ""
	if b.DataType != nil {
		bodyType = *b.DataType
	}
	switch bodyType {
	case "":
	case DataNumeric:
		if !isNum {
			return "Invalid request data: NUMERIC scores need a number value"
		}
	case DataBoolean:
		if !isNum || (num != 0 && num != 1) {
			return "Invalid request data: Value must be a number equal to either 0 or 1 for data type BOOLEAN"
		}
	case DataCategorical, DataCorrection:
		if isNum {
			return "Invalid request data: " + bodyType + " scores need a string value"
		}
		if bodyType == DataCorrection && b.ConfigID != nil {
			return "Invalid request data: CORRECTION scores cannot have a configId"
		}
	case DataText:
		if isNum || len([]rune(str)) < 1 || len([]rune(str)) > textScoreMaxLength {
			return "Invalid request data: TEXT scores need a string value of 1-500 characters"
		}
	default:
		return "Invalid request data: unknown dataType " + bodyType
	}
	cfg, drop := c.workerScoreCheck(&b, bodyType, isNum, num, str)
	if drop != "" {
		c.s.log.Debug("lftest: the worker drops score "+s.ID, "reason", drop)
		return ""
	}
	// inflateScoreBody: the config's data type wins; the config's name replaced the body's.
	dt := bodyType
	if cfg != nil {
		dt = cfg.DataType
		s.Name = cfg.Name
	}
	switch {
	case isNum && dt == DataBoolean:
		s.Value = num
		s.StringValue = ptr(map[bool]string{true: "True", false: "False"}[num == 1])
		dt = DataBoolean
	case isNum:
		s.Value = num
		dt = DataNumeric
	case dt == DataCorrection, dt == DataText:
		s.StringValue = &str
	default:
		dt = DataCategorical
		s.StringValue = &str
		if cfg != nil {
			for _, ct := range cfg.Categories {
				if ct.Label == str {
					s.Value = ct.Value
					break
				}
			}
		}
	}
	s.DataType = dt
	c.p.AddScores(s)
	return ""
}

// textScoreMaxLength is TEXT_SCORE_MAX_LENGTH (packages/shared/src/domain/scores.ts).
const textScoreMaxLength = 500

// workerScoreCheck is validateAndInflateScore
// (packages/shared/src/server/ingestion/validateAndInflateScore.ts), in its
// order: an ANNOTATION score without configId unless CORRECTION
// (isAnnotationScoreMissingConfigId, packages/shared/src/domain/scores.ts);
// the config must exist in the project; then validateConfigAgainstBody: data
// type, archived, and the value against the config's type, min/max and
// categories (ScorePropsAgainstConfig). Without a config, CORRECTION scores
// on sessions or dataset runs are refused (inflateScoreBody). It returns the
// config and, when the worker would drop the score, why.
func (c *call) workerScoreCheck(b *scoreBody, bodyType string, isNum bool, num float64, str string) (*ScoreConfig, string) {
	source := SourceAPI
	if b.Source != nil {
		source = *b.Source
	}
	if source == SourceAnnotation && (b.ConfigID == nil || *b.ConfigID == "") && bodyType != DataCorrection {
		return nil, "configId is required when source is ANNOTATION (except for CORRECTION scores)."
	}
	if b.ConfigID == nil || *b.ConfigID == "" {
		if bodyType == DataCorrection && !isNum {
			if b.SessionID != nil {
				return nil, "CORRECTION scores cannot be associated with sessions. Please associate with a trace or observation instead."
			}
			if b.DatasetRunID != nil {
				return nil, "CORRECTION scores cannot be associated with dataset runs. Please associate with a trace or observation instead."
			}
		}
		return nil, ""
	}
	var cfg *ScoreConfig
	for _, sc := range c.p.ScoreConfigs() {
		if sc.ID == *b.ConfigID {
			cfg = sc
		}
	}
	if cfg == nil {
		return nil, "The configId you provided does not match a valid config in this project"
	}
	if bodyType != "" && bodyType != cfg.DataType {
		return nil, "Data type mismatch based on config: expected " + cfg.DataType + ", got " + bodyType
	}
	if cfg.IsArchived {
		return nil, "Config is archived and cannot be used to create new scores. Please restore the config first."
	}
	switch cfg.DataType {
	case DataNumeric:
		switch {
		case !isNum:
			return nil, "Ingested score body not valid against provided config: value - expected number"
		case cfg.MaxValue != nil && num > *cfg.MaxValue:
			return nil, "Ingested score body not valid against provided config: Value exceeds maximum value of " + jsonNumber(*cfg.MaxValue) + " defined in config"
		case cfg.MinValue != nil && num < *cfg.MinValue:
			return nil, "Ingested score body not valid against provided config: Value is below minimum value of " + jsonNumber(*cfg.MinValue) + " defined in config"
		}
	case DataCategorical:
		if isNum || !slices.ContainsFunc(cfg.Categories, func(ct ConfigCategory) bool { return ct.Label == str }) {
			return nil, "Ingested score body not valid against provided config: Value " + string(b.Value) + " does not map to a valid category. Pass a valid category value."
		}
	case DataBoolean:
		if !isNum || (num != 0 && num != 1) {
			return nil, "Ingested score body not valid against provided config: Value must be either 0 or 1"
		}
	case DataText:
		if isNum || len([]rune(str)) < 1 || len([]rune(str)) > textScoreMaxLength {
			return nil, "Ingested score body not valid against provided config: value - expected a string of 1-500 characters"
		}
	}
	return cfg, ""
}

func jsonNumber(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// ---------------------------------------------------------------------------------------------
// Score configs, models

var configName = regexp.MustCompile(`^[A-Za-z0-9_ .()-]{1,35}$`)

func hCreateScoreConfig(c *call) (any, error) {
	var b struct {
		Name        string           `json:"name"`
		DataType    string           `json:"dataType"`
		Categories  []ConfigCategory `json:"categories"`
		MinValue    *float64         `json:"minValue"`
		MaxValue    *float64         `json:"maxValue"`
		Description *string          `json:"description"`
	}
	if err := c.decodeBodyJSON(&b); err != nil {
		return nil, err
	}
	if !configName.MatchString(b.Name) {
		return nil, badRequest("Invalid score config name: at most 35 characters of letters, digits, space, _ . ( ) -")
	}
	if !slices.Contains([]string{DataNumeric, DataBoolean, DataCategorical, DataText}, b.DataType) {
		return nil, zodError(issueEnum("dataType", []string{DataNumeric, DataBoolean, DataCategorical, DataText}, b.DataType))
	}
	sc := &ScoreConfig{ID: newUUID(), Name: b.Name, DataType: b.DataType, MinValue: b.MinValue, MaxValue: b.MaxValue,
		Description: b.Description, CreatedAt: c.now, UpdatedAt: c.now}
	switch b.DataType {
	case DataCategorical:
		if len(b.Categories) == 0 {
			return nil, badRequest("Categorical score configs need at least one category")
		}
		sc.Categories = b.Categories
	case DataBoolean:
		sc.Categories = []ConfigCategory{{Value: 1, Label: "True"}, {Value: 0, Label: "False"}}
	}
	c.p.AddScoreConfig(sc)
	return c.scoreConfigJSON(sc), nil
}

func hUpdateScoreConfig(c *call) (any, error) {
	var b struct {
		IsArchived  *bool            `json:"isArchived"`
		Name        *string          `json:"name"`
		Categories  []ConfigCategory `json:"categories"`
		MinValue    *float64         `json:"minValue"`
		MaxValue    *float64         `json:"maxValue"`
		Description *string          `json:"description"`
	}
	if err := c.decodeBodyJSON(&b); err != nil {
		return nil, err
	}
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	for i, old := range c.p.scoreConfigs {
		if old.ID != c.params["configId"] {
			continue
		}
		sc := *old
		if b.IsArchived != nil {
			sc.IsArchived = *b.IsArchived
		}
		if b.Name != nil {
			sc.Name = *b.Name
		}
		if b.Categories != nil {
			sc.Categories = b.Categories
		}
		if b.MinValue != nil {
			sc.MinValue = b.MinValue
		}
		if b.MaxValue != nil {
			sc.MaxValue = b.MaxValue
		}
		if b.Description != nil {
			sc.Description = b.Description
		}
		sc.UpdatedAt = c.now
		c.p.scoreConfigs[i] = &sc
		return c.scoreConfigJSON(&sc), nil
	}
	return nil, notFound("Score config not found")
}

func hCreateModel(c *call) (any, error) {
	var b struct {
		ModelName       string          `json:"modelName"`
		MatchPattern    string          `json:"matchPattern"`
		StartDate       *time.Time      `json:"startDate"`
		Unit            *string         `json:"unit"`
		InputPrice      *float64        `json:"inputPrice"`
		OutputPrice     *float64        `json:"outputPrice"`
		TotalPrice      *float64        `json:"totalPrice"`
		TokenizerID     *string         `json:"tokenizerId"`
		TokenizerConfig json.RawMessage `json:"tokenizerConfig"`
		PricingTiers    []struct {
			Name       string             `json:"name"`
			IsDefault  bool               `json:"isDefault"`
			Priority   int                `json:"priority"`
			Conditions []json.RawMessage  `json:"conditions"`
			Prices     map[string]float64 `json:"prices"`
		} `json:"pricingTiers"`
	}
	if err := c.decodeBodyJSON(&b); err != nil {
		return nil, err
	}
	if err := required("modelName", b.ModelName); err != nil {
		return nil, err
	}
	// unit is required on create (PostModelsV1Body in
	// web/src/features/public-api/types/models.ts), though the OpenAPI spec
	// marks it nullable; reads may still return null for older models.
	if b.Unit == nil {
		return nil, zodError(zodIssue{"code": "invalid_value", "message": "Invalid option: expected one of \"TOKENS\"|\"CHARACTERS\"|\"MILLISECONDS\"|\"SECONDS\"|\"REQUESTS\"|\"IMAGES\"", "path": []string{"unit"}})
	}
	if !slices.Contains([]string{"TOKENS", "CHARACTERS", "MILLISECONDS", "SECONDS", "REQUESTS", "IMAGES"}, *b.Unit) {
		return nil, zodError(issueEnum("unit", []string{"TOKENS", "CHARACTERS", "MILLISECONDS", "SECONDS", "REQUESTS", "IMAGES"}, *b.Unit))
	}
	if _, err := regexp.Compile(b.MatchPattern); err != nil || b.MatchPattern == "" {
		return nil, badRequest("matchPattern is not a valid regular expression")
	}
	flat := b.InputPrice != nil || b.OutputPrice != nil || b.TotalPrice != nil
	if flat && len(b.PricingTiers) > 0 {
		return nil, badRequest("Provide either flat prices or pricingTiers, not both")
	}
	id := newUUID()
	m := &Model{ID: id, ModelName: b.ModelName, MatchPattern: b.MatchPattern, StartDate: b.StartDate, Unit: b.Unit,
		TokenizerID: b.TokenizerID, TokenizerConfig: payloadField(b.TokenizerConfig), CreatedAt: c.now}
	if flat {
		pr := map[string]float64{}
		for k, v := range map[string]*float64{"input": b.InputPrice, "output": b.OutputPrice, "total": b.TotalPrice} {
			if v != nil {
				pr[k] = *v
			}
		}
		m.PricingTiers = []PricingTier{{ID: id + "-default", Name: "Standard", IsDefault: true, Conditions: []PricingCondition{}, Prices: pr}}
	}
	for i, t := range b.PricingTiers {
		pt := PricingTier{ID: fmt.Sprintf("%s-t%d", id, i), Name: t.Name, IsDefault: t.IsDefault, Priority: t.Priority,
			Conditions: []PricingCondition{}, Prices: t.Prices}
		for _, raw := range t.Conditions {
			var cd struct {
				UsageDetailPattern string   `json:"usageDetailPattern"`
				Operator           string   `json:"operator"`
				Value              float64  `json:"value"`
				CaseSensitive      bool     `json:"caseSensitive"`
				Source             string   `json:"source"`
				Key                string   `json:"key"`
				Values             []string `json:"values"`
			}
			if err := json.Unmarshal(raw, &cd); err != nil {
				return nil, badRequest("Invalid pricing tier condition: " + err.Error())
			}
			pt.Conditions = append(pt.Conditions, PricingCondition(cd))
		}
		m.PricingTiers = append(m.PricingTiers, pt)
	}
	c.p.AddModel(m)
	return c.modelJSON(m), nil
}

// ---------------------------------------------------------------------------------------------
// Prompts

func hCreatePrompt(c *call) (any, error) {
	var b struct {
		Name          string          `json:"name"`
		Type          string          `json:"type"`
		Prompt        json.RawMessage `json:"prompt"`
		Config        json.RawMessage `json:"config"`
		Labels        []string        `json:"labels"`
		Tags          []string        `json:"tags"`
		CommitMessage *string         `json:"commitMessage"`
	}
	if err := c.decodeBodyJSON(&b); err != nil {
		return nil, err
	}
	if err := required("name", b.Name); err != nil {
		return nil, err
	}
	v := &PromptVersion{ID: newUUID(), Name: b.Name, Type: cmpOr(b.Type, "text"), Config: payloadField(b.Config),
		CommitMessage: b.CommitMessage, CreatedAt: c.now, UpdatedAt: c.now, CreatedBy: "API"}
	if string(v.Config.value()) == "null" {
		v.Config = JSONPayload("{}")
	}
	var texts []string
	switch v.Type {
	case "text":
		if json.Unmarshal(b.Prompt, &v.Text) != nil {
			return nil, badRequest("A text prompt needs a string prompt")
		}
		texts = []string{v.Text}
	case "chat":
		var msgs []struct {
			Type    string `json:"type"`
			Role    string `json:"role"`
			Content string `json:"content"`
			Name    string `json:"name"`
		}
		if json.Unmarshal(b.Prompt, &msgs) != nil {
			return nil, badRequest("A chat prompt needs an array of messages")
		}
		v.Messages = []ChatMessage{}
		for _, m := range msgs {
			if m.Type == "placeholder" {
				v.Messages = append(v.Messages, ChatMessage{Placeholder: m.Name})
				continue
			}
			v.Messages = append(v.Messages, ChatMessage{Role: m.Role, Content: m.Content})
			texts = append(texts, m.Content)
		}
	default:
		return nil, zodError(issueEnum("type", []string{"text", "chat"}, v.Type))
	}
	if slices.Contains(b.Labels, "latest") {
		return nil, badRequest("The label 'latest' is reserved and assigned automatically")
	}
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	latest, tags := 0, []string(nil)
	for _, old := range c.p.prompts {
		if old.Name != b.Name {
			continue
		}
		if old.Type != v.Type {
			return nil, badRequest(fmt.Sprintf("Previous versions of prompt %q are of type %s; a new version cannot be %s", b.Name, old.Type, v.Type))
		}
		latest = max(latest, old.Version)
		tags = old.Tags
	}
	byName := map[string][]*PromptVersion{}
	for _, pv := range c.p.prompts {
		byName[pv.Name] = append(byName[pv.Name], pv)
	}
	for _, t := range texts {
		for _, tag := range promptTag.FindAllString(t, -1) {
			ref, err := parsePromptTag(tag)
			if err != nil {
				return nil, err
			}
			if ref.name == b.Name || findPrompt(byName[ref.name], ref.version, ref.label) == nil {
				return nil, notFound(fmt.Sprintf("Prompt dependency not found: '%s'", ref.name))
			}
		}
	}
	v.Version = latest + 1
	v.Labels = append(slices.Clone(b.Labels), "latest")
	if b.Tags != nil {
		tags = b.Tags
	}
	v.Tags = slices.Clone(tags)
	if v.Tags == nil {
		v.Tags = []string{}
	}
	c.p.movePromptLabels(v, c.now)
	c.p.prompts = append(c.p.prompts, v)
	return c.promptJSON(v), nil
}

// movePromptLabels takes v's labels off the other versions of its prompt and
// gives them v's tags (tags belong to the prompt). p.mu must be held.
func (p *Project) movePromptLabels(v *PromptVersion, now time.Time) {
	for i, old := range p.prompts {
		if old.Name != v.Name || old == v {
			continue
		}
		cp := *old
		cp.Labels = slices.DeleteFunc(slices.Clone(old.Labels), func(l string) bool { return slices.Contains(v.Labels, l) })
		cp.Tags = v.Tags
		if len(cp.Labels) != len(old.Labels) {
			cp.UpdatedAt = now
		}
		p.prompts[i] = &cp
	}
}

func hSetPromptLabels(c *call) (any, error) {
	var b struct {
		NewLabels []string `json:"newLabels"`
	}
	if err := c.decodeBodyJSON(&b); err != nil {
		return nil, err
	}
	if slices.Contains(b.NewLabels, "latest") {
		return nil, badRequest("The label 'latest' is reserved and assigned automatically")
	}
	version, err := strconv.Atoi(c.params["version"])
	if err != nil {
		return nil, badRequest("version must be an integer")
	}
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	for i, old := range c.p.prompts {
		if old.Name != c.params["name"] || old.Version != version {
			continue
		}
		v := *old
		v.Labels = slices.Clone(b.NewLabels)
		if slices.Contains(old.Labels, "latest") {
			v.Labels = append(v.Labels, "latest")
		}
		v.UpdatedAt = c.now
		c.p.prompts[i] = &v
		c.p.movePromptLabels(&v, c.now)
		return c.promptJSON(&v), nil
	}
	return nil, notFound("Prompt not found")
}

// ---------------------------------------------------------------------------------------------
// Datasets, items, run items

func hCreateDataset(c *call) (any, error) {
	var b struct {
		Name                 string          `json:"name"`
		Description          *string         `json:"description"`
		Metadata             json.RawMessage `json:"metadata"`
		InputSchema          json.RawMessage `json:"inputSchema"`
		ExpectedOutputSchema json.RawMessage `json:"expectedOutputSchema"`
	}
	if err := c.decodeBodyJSON(&b); err != nil {
		return nil, err
	}
	if err := required("name", b.Name); err != nil {
		return nil, err
	}
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	d := &Dataset{ID: newUUID(), Name: b.Name, CreatedAt: c.now}
	idx := slices.IndexFunc(c.p.datasets, func(x *Dataset) bool { return x.Name == b.Name })
	if idx >= 0 {
		cp := *c.p.datasets[idx]
		d = &cp
	}
	if b.Description != nil {
		d.Description = b.Description
	}
	for _, f := range []struct {
		dst *Payload
		raw json.RawMessage
	}{{&d.Metadata, b.Metadata}, {&d.InputSchema, b.InputSchema}, {&d.ExpectedOutputSchema, b.ExpectedOutputSchema}} {
		if len(f.raw) > 0 {
			*f.dst = payloadField(f.raw)
		}
	}
	d.UpdatedAt = c.now
	if idx >= 0 {
		c.p.datasets[idx] = d
	} else {
		c.p.datasets = append(c.p.datasets, d)
	}
	return c.datasetJSON(d), nil
}

func hCreateDatasetItem(c *call) (any, error) {
	var b struct {
		DatasetName         string          `json:"datasetName"`
		ID                  *string         `json:"id"`
		Input               json.RawMessage `json:"input"`
		ExpectedOutput      json.RawMessage `json:"expectedOutput"`
		Metadata            json.RawMessage `json:"metadata"`
		SourceTraceID       *string         `json:"sourceTraceId"`
		SourceObservationID *string         `json:"sourceObservationId"`
		Status              *string         `json:"status"`
	}
	if err := c.decodeBodyJSON(&b); err != nil {
		return nil, err
	}
	ds := c.datasetByName(b.DatasetName)
	if ds == nil {
		return nil, notFound("Dataset not found")
	}
	if b.ID != nil && len(*b.ID) > 255 {
		return nil, badRequest("Dataset item id is longer than 255 characters")
	}
	c.p.mu.Lock()
	it := &DatasetItem{ID: newUUID(), DatasetID: ds.ID, Status: "ACTIVE", CreatedAt: c.now}
	idx := -1
	if b.ID != nil {
		it.ID = *b.ID
		idx = slices.IndexFunc(c.p.items, func(x *DatasetItem) bool { return x.ID == *b.ID })
	}
	if idx >= 0 {
		if c.p.items[idx].DatasetID != ds.ID {
			c.p.mu.Unlock()
			return nil, badRequest(fmt.Sprintf("Dataset item %q already exists in another dataset", *b.ID))
		}
		cp := *c.p.items[idx]
		it = &cp
	}
	for _, f := range []struct {
		dst *Payload
		raw json.RawMessage
	}{{&it.Input, b.Input}, {&it.ExpectedOutput, b.ExpectedOutput}, {&it.Metadata, b.Metadata}} {
		if len(f.raw) > 0 {
			*f.dst = payloadField(f.raw)
		}
	}
	if b.SourceTraceID != nil {
		it.SourceTraceID = b.SourceTraceID
	}
	if b.SourceObservationID != nil {
		it.SourceObservationID = b.SourceObservationID
	}
	if b.Status != nil {
		it.Status = *b.Status
	}
	it.UpdatedAt = c.now
	if idx >= 0 {
		c.p.items[idx] = it
	} else {
		c.p.items = append(c.p.items, it)
	}
	c.p.mu.Unlock()
	return c.datasetItemJSON(it), nil
}

// hCreateDatasetRunItem serves POST /api/public/dataset-run-items. v3 stores
// the run (by name) and the item, with a back-dated createdAt if given; v4
// (events_only) stores nothing and answers a synthetic item whose run id is
// the stable experiment id.
func hCreateDatasetRunItem(c *call) (any, error) {
	var b struct {
		RunName        string          `json:"runName"`
		RunDescription *string         `json:"runDescription"`
		Metadata       json.RawMessage `json:"metadata"`
		DatasetItemID  string          `json:"datasetItemId"`
		TraceID        *string         `json:"traceId"`
		ObservationID  *string         `json:"observationId"`
		CreatedAt      *time.Time      `json:"createdAt"`
	}
	if err := c.decodeBodyJSON(&b); err != nil {
		return nil, err
	}
	if err := required("runName", b.RunName); err != nil {
		return nil, err
	}
	var item *DatasetItem
	for _, it := range c.p.DatasetItems() {
		if it.ID == b.DatasetItemID {
			item = it
		}
	}
	if item == nil {
		return nil, notFound("Dataset item not found")
	}
	if b.TraceID == nil && b.ObservationID == nil {
		return nil, badRequest("traceId or observationId is required")
	}
	created := c.now
	if b.CreatedAt != nil {
		created = b.CreatedAt.UTC().Truncate(time.Millisecond)
	}
	traceID := ""
	if b.TraceID != nil {
		traceID = *b.TraceID
	}
	ri := &DatasetRunItem{ID: newUUID(), DatasetItemID: item.ID, TraceID: traceID, ObservationID: b.ObservationID, CreatedAt: created, UpdatedAt: c.now}
	if c.s.opts.Mode == V4 {
		ri.RunID = ExperimentID(c.p.ID, item.DatasetID, b.RunName)
		return runItemJSON(ri, b.RunName), nil
	}
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	var run *DatasetRun
	for _, r := range c.p.runs {
		if r.DatasetID == item.DatasetID && r.Name == b.RunName {
			run = r
		}
	}
	if run == nil {
		run = &DatasetRun{ID: newUUID(), Name: b.RunName, Description: b.RunDescription, Metadata: payloadField(b.Metadata),
			DatasetID: item.DatasetID, CreatedAt: created, UpdatedAt: c.now}
		c.p.runs = append(c.p.runs, run)
	}
	ri.RunID = run.ID
	c.p.runItems = append(c.p.runItems, ri)
	return runItemJSON(ri, run.Name), nil
}

// ---------------------------------------------------------------------------------------------
// Comments, annotation queues

func hCreateComment(c *call) (any, error) {
	var b struct {
		ProjectID    string  `json:"projectId"`
		ObjectType   string  `json:"objectType"`
		ObjectID     string  `json:"objectId"`
		Content      string  `json:"content"`
		AuthorUserID *string `json:"authorUserId"`
	}
	if err := c.decodeBodyJSON(&b); err != nil {
		return nil, err
	}
	if b.ProjectID != c.p.ID {
		return nil, &apiError{http.StatusForbidden, map[string]any{"message": "Access denied: projectId does not match the API key's project"}}
	}
	if b.Content == "" || len([]rune(b.Content)) > 5000 {
		return nil, badRequest("content must have 1 to 5000 characters")
	}
	if !c.objectExists(b.ObjectType, b.ObjectID) {
		return nil, notFound(fmt.Sprintf("No %s with id %s in project %s", strings.ToLower(b.ObjectType), b.ObjectID, c.p.ID))
	}
	cm := &Comment{ID: newUUID(), ObjectType: b.ObjectType, ObjectID: b.ObjectID, Content: b.Content, AuthorUserID: b.AuthorUserID,
		CreatedAt: c.now, UpdatedAt: c.now}
	c.p.AddComments(cm)
	return map[string]any{"id": cm.ID}, nil
}

func (c *call) objectExists(typ, id string) bool {
	switch typ {
	case "TRACE":
		return c.tr().trace(id) != nil
	case "OBSERVATION":
		return c.tr().observation(id) != nil
	case "SESSION":
		c.p.mu.RLock()
		defer c.p.mu.RUnlock()
		return c.p.sessions[id] != nil
	case "PROMPT":
		return slices.ContainsFunc(c.p.Prompts(), func(v *PromptVersion) bool { return v.ID == id })
	}
	return false
}

func hCreateQueue(c *call) (any, error) {
	var b struct {
		Name           string   `json:"name"`
		Description    *string  `json:"description"`
		ScoreConfigIDs []string `json:"scoreConfigIds"`
	}
	if err := c.decodeBodyJSON(&b); err != nil {
		return nil, err
	}
	if err := required("name", b.Name); err != nil {
		return nil, err
	}
	if len(b.ScoreConfigIDs) == 0 {
		return nil, badRequest("scoreConfigIds needs at least one score config id")
	}
	cfgs := c.p.ScoreConfigs()
	for _, id := range b.ScoreConfigIDs {
		if !slices.ContainsFunc(cfgs, func(s *ScoreConfig) bool { return s.ID == id }) {
			return nil, notFound("Score config " + id + " not found")
		}
	}
	q := &AnnotationQueue{ID: newUUID(), Name: b.Name, Description: b.Description, ScoreConfigIDs: b.ScoreConfigIDs, CreatedAt: c.now, UpdatedAt: c.now}
	c.p.AddAnnotationQueue(q)
	return queueJSON(q), nil
}

func hCreateQueueItem(c *call) (any, error) {
	var b struct {
		ObjectID   string  `json:"objectId"`
		ObjectType string  `json:"objectType"`
		Status     *string `json:"status"`
	}
	if err := c.decodeBodyJSON(&b); err != nil {
		return nil, err
	}
	q := c.queue(c.params["queueId"])
	if q == nil {
		return nil, notFound("Annotation queue not found")
	}
	if !slices.Contains([]string{"TRACE", "OBSERVATION", "SESSION"}, b.ObjectType) {
		return nil, zodError(issueEnum("objectType", []string{"TRACE", "OBSERVATION", "SESSION"}, b.ObjectType))
	}
	it := &AnnotationQueueItem{ID: newUUID(), QueueID: q.ID, ObjectID: b.ObjectID, ObjectType: b.ObjectType, Status: "PENDING",
		CreatedAt: c.now, UpdatedAt: c.now}
	if b.Status != nil {
		it.Status = *b.Status
		if it.Status == "COMPLETED" {
			it.CompletedAt = ptr(c.now)
		}
	}
	add(c.p, &c.p.queueItems, it)
	return queueItemJSON(it), nil
}

// ---------------------------------------------------------------------------------------------
// Media

const uploadPathPrefix = "/_media-upload/"

var mediaContentType = regexp.MustCompile(`^[a-z]+/[A-Za-z0-9.+-]+$`)

func hCreateMedia(c *call) (any, error) {
	var b struct {
		TraceID       *string `json:"traceId"`
		ObservationID *string `json:"observationId"`
		DatasetID     *string `json:"datasetId"`
		DatasetItemID *string `json:"datasetItemId"`
		ContentType   string  `json:"contentType"`
		ContentLength int64   `json:"contentLength"`
		SHA256Hash    string  `json:"sha256Hash"`
		Field         string  `json:"field"`
	}
	if err := c.decodeBodyJSON(&b); err != nil {
		return nil, err
	}
	sum, err := base64.StdEncoding.DecodeString(b.SHA256Hash)
	if err != nil || len(sum) != sha256.Size {
		return nil, badRequest("sha256Hash must be the base64 SHA-256 of the bytes (44 characters)")
	}
	// contentLength: z.number().positive().int() (web/src/features/media/validation.ts).
	if !mediaContentType.MatchString(b.ContentType) || b.ContentLength <= 0 {
		return nil, badRequest("Invalid contentType or contentLength (must be positive)")
	}
	if b.TraceID == nil && b.DatasetItemID == nil {
		return nil, badRequest("traceId or datasetItemId is required")
	}
	id := base64.RawURLEncoding.EncodeToString(sum)[:22]
	if c.p.Media(id) != nil {
		return map[string]any{"uploadUrl": nil, "mediaId": id}, nil
	}
	v := url.Values{}
	v.Set("ct", b.ContentType)
	v.Set("len", strconv.FormatInt(b.ContentLength, 10))
	v.Set("sha", b.SHA256Hash)
	path := uploadPathPrefix + url.PathEscape(c.p.ID) + "/" + url.PathEscape(id)
	if c.s.opts.AzureMedia {
		// An Azure SAS URL (StorageService.ts AzureBlobStorageService
		// getSignedUploadUrl: blockBlobClient.generateSasUrl with "w").
		v.Set("sv", "2025-01-05")
		v.Set("sr", "b")
		v.Set("sp", "w")
	}
	v.Set("sig", c.s.mediaSignature(path, v.Encode(), "upload"))
	scheme := "http"
	if c.r.TLS != nil {
		scheme = "https"
	}
	return map[string]any{"uploadUrl": scheme + "://" + c.r.Host + path + "?" + v.Encode(), "mediaId": id}, nil
}

// serveMediaUpload takes the PUT of a presigned upload URL, like S3 with a
// checksum: the bytes must match the SHA-256 and length registered.
func (s *Server) serveMediaUpload(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut {
		s3Error(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.")
		return
	}
	rest := strings.TrimPrefix(r.URL.EscapedPath(), uploadPathPrefix)
	projEsc, idEsc, _ := strings.Cut(rest, "/")
	q := r.URL.Query()
	sig := q.Get("sig")
	q.Del("sig")
	want := s.mediaSignature(uploadPathPrefix+projEsc+"/"+idEsc, q.Encode(), "upload")
	projectID, _ := url.PathUnescape(projEsc)
	p := s.Project(projectID)
	if p == nil || !hmac.Equal([]byte(want), []byte(sig)) {
		s3Error(w, http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
		return
	}
	if q.Get("sr") == "b" && !strings.EqualFold(r.Header.Get("x-ms-blob-type"), "BlockBlob") {
		// Azure Put Blob needs the blob type.
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `<?xml version="1.0" encoding="utf-8"?><Error><Code>MissingRequiredHeader</Code>`+
			`<Message>An HTTP header that's mandatory for this request is not specified.</Message><HeaderName>x-ms-blob-type</HeaderName></Error>`)
		return
	}
	n, _ := strconv.ParseInt(q.Get("len"), 10, 64)
	body, err := io.ReadAll(io.LimitReader(r.Body, n+1))
	if err != nil || int64(len(body)) != n {
		s3Error(w, http.StatusBadRequest, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.")
		return
	}
	sum := sha256.Sum256(body)
	got := base64.StdEncoding.EncodeToString(sum[:])
	if got != q.Get("sha") || (r.Header.Get("x-amz-checksum-sha256") != "" && r.Header.Get("x-amz-checksum-sha256") != got) {
		s3Error(w, http.StatusBadRequest, "BadDigest", "The SHA256 you specified did not match the calculated checksum.")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != q.Get("ct") {
		s3Error(w, http.StatusForbidden, "SignatureDoesNotMatch", "Content-Type does not match the signed upload")
		return
	}
	p.AddMedia(q.Get("ct"), body, s.now())
	w.WriteHeader(http.StatusOK)
}

func hPatchMedia(c *call) (any, error) {
	var b struct {
		UploadedAt       time.Time `json:"uploadedAt"`
		UploadHTTPStatus int       `json:"uploadHttpStatus"`
	}
	if err := c.decodeBodyJSON(&b); err != nil {
		return nil, err
	}
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	m := c.p.media[c.params["mediaId"]]
	if m == nil {
		return nil, notFound("Media asset not found")
	}
	if b.UploadHTTPStatus >= 200 && b.UploadHTTPStatus < 300 && !b.UploadedAt.IsZero() {
		cp := *m
		cp.UploadedAt = b.UploadedAt.UTC()
		c.p.media[m.ID] = &cp
	}
	return statusBody{http.StatusNoContent, nil}, nil
}
