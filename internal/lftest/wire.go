package lftest

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// iso formats like JavaScript's Date.toISOString: UTC, milliseconds, "Z".
func iso(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// isoTime marshals as iso.
type isoTime time.Time

func (t isoTime) MarshalJSON() ([]byte, error) { return []byte(`"` + iso(time.Time(t)) + `"`), nil }

func isoPtr(t *time.Time) *isoTime {
	if t == nil {
		return nil
	}
	v := isoTime(*t)
	return &v
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// metadataStrings is metadata as ClickHouse keeps it (Map(String, String)):
// top-level keys with string values, non-string values as their JSON text.
// Non-object metadata is kept under the key "metadata".
func metadataStrings(p Payload) map[string]string {
	out := map[string]string{}
	s, ok := p.Text()
	if !ok {
		return out
	}
	if p.str {
		out["metadata"] = s
		return out
	}
	if scanObject(s, func(k, raw string) {
		if raw[0] == '"' {
			out[k] = unquoteJSON(raw)
		} else {
			out[k] = compactJSON(raw)
		}
	}) {
		return out
	}
	clear(out)
	out["metadata"] = s
	return out
}

// scanObject calls fn with each top-level key and raw value of the JSON
// object s and reports whether s is a JSON object. It is a fast path for the
// metadata of every served row; values are checked with json.Valid.
func scanObject(s string, fn func(key, raw string)) bool {
	i := skipWS(s, 0)
	if i >= len(s) || s[i] != '{' {
		return false
	}
	i = skipWS(s, i+1)
	if i < len(s) && s[i] == '}' {
		return skipWS(s, i+1) == len(s)
	}
	for {
		if i >= len(s) || s[i] != '"' {
			return false
		}
		end := skipValue(s, i)
		if end < 0 {
			return false
		}
		key := s[i+1 : end-1]
		if !plainJSONString(key) {
			if json.Unmarshal([]byte(s[i:end]), &key) != nil {
				return false
			}
		}
		i = skipWS(s, end)
		if i >= len(s) || s[i] != ':' {
			return false
		}
		i = skipWS(s, i+1)
		end = skipValue(s, i)
		if end < 0 || !validValue(s[i:end]) {
			return false
		}
		fn(key, s[i:end])
		i = skipWS(s, end)
		if i >= len(s) {
			return false
		}
		if s[i] == '}' {
			return skipWS(s, i+1) == len(s)
		}
		if s[i] != ',' {
			return false
		}
		i = skipWS(s, i+1)
	}
}

func skipWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the end of the JSON value starting at i, or -1.
func skipValue(s string, i int) int {
	if i >= len(s) {
		return -1
	}
	switch s[i] {
	case '"':
		for j := i + 1; j < len(s); j++ {
			switch s[j] {
			case '\\':
				j++
			case '"':
				return j + 1
			}
		}
		return -1
	case '{', '[':
		depth := 0
		for j := i; j < len(s); j++ {
			switch s[j] {
			case '"':
				e := skipValue(s, j)
				if e < 0 {
					return -1
				}
				j = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(s) && !strings.ContainsRune(",}] \n\t\r", rune(s[j])) {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

// plainJSONString reports whether s needs no unescaping to be the content
// of a JSON string: no backslash, no control character, valid UTF-8.
func plainJSONString(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' || s[i] < 0x20 {
			return false
		}
	}
	return utf8.ValidString(s)
}

// validValue is json.Valid for the value skipValue found; strings, most
// of metadata, are checked here without a copy.
func validValue(raw string) bool {
	if raw[0] != '"' {
		return json.Valid([]byte(raw))
	}
	for i := 1; i < len(raw)-1; i++ {
		switch c := raw[i]; {
		case c < 0x20:
			return false
		case c == '\\':
			i++
			switch raw[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if _, ok := hex4(raw[i+1:]); !ok {
					return false
				}
				i += 4
			default:
				return false
			}
		}
	}
	return true
}

func unquoteJSON(raw string) string {
	if plainJSONString(raw[1 : len(raw)-1]) {
		return raw[1 : len(raw)-1]
	}
	if s, ok := unquoteEscaped(raw[1 : len(raw)-1]); ok {
		return s
	}
	var s string
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return raw
	}
	return s
}

// unquoteEscaped decodes the content of a valid JSON string with simple
// escapes; ok is false for invalid UTF-8 or a surrogate escape, which
// encoding/json decodes.
func unquoteEscaped(body string) (string, bool) {
	out := make([]byte, 0, len(body))
	for len(body) > 0 {
		esc := strings.IndexByte(body, '\\')
		if esc < 0 {
			esc = len(body)
		}
		out = append(out, body[:esc]...)
		body = body[esc:]
		if len(body) < 2 {
			break
		}
		switch c := body[1]; c {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(body[2:])
			if !ok || utf16.IsSurrogate(r) {
				return "", false
			}
			out = utf8.AppendRune(out, r)
			body = body[4:]
		default: // '"', '\\', '/'
			out = append(out, c)
		}
		body = body[2:]
	}
	if len(body) != 0 || !utf8.Valid(out) {
		return "", false
	}
	return string(out), true
}

func hex4(s string) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[:4]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

func compactJSON(raw string) string {
	if !strings.ContainsAny(raw, " \n\t\r") {
		return raw
	}
	var buf bytes.Buffer
	if json.Compact(&buf, []byte(raw)) != nil {
		return raw
	}
	return buf.String()
}

// metadataParsed is metadata as the legacy APIs return it: each stored
// string value parsed as JSON when it is JSON (parseMetadataCHRecordToDomain).
func metadataParsed(p Payload) json.RawMessage {
	m := metadataStrings(p)
	out := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		if json.Valid([]byte(v)) {
			out[k] = json.RawMessage(v)
		} else {
			b, _ := marshalJSON(v)
			out[k] = b
		}
	}
	b, _ := marshalJSON(out)
	return b
}

// truncRunes cuts s to n characters.
func truncRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

func floatPtr(v float64, ok bool) *float64 {
	if !ok {
		return nil
	}
	return &v
}

// decimalString formats a price as Prisma's Decimal.toString does for the
// values used here.
func decimalString(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// usageTotals returns input, output and total usage as the legacy "usage"
// object reports them.
func usageTotals(u map[string]int64) (in, out, total int64) {
	for k, v := range u {
		switch {
		case k == "total":
			total = v
		case strings.HasPrefix(k, "input"):
			in += v
		case strings.HasPrefix(k, "output"):
			out += v
		}
	}
	if _, ok := u["total"]; !ok {
		total = in + out
	}
	return
}

func costTotal(c map[string]float64) (float64, bool) {
	if len(c) == 0 {
		return 0, false
	}
	if t, ok := c["total"]; ok {
		return t, true
	}
	sum := 0.0
	for _, k := range slices.Sorted(maps.Keys(c)) {
		sum += c[k]
	}
	return sum, true
}

func usageOrEmpty(u map[string]int64) map[string]int64 {
	if u == nil {
		return map[string]int64{}
	}
	return u
}

func costOrEmpty(c map[string]float64) map[string]float64 {
	if c == nil {
		return map[string]float64{}
	}
	return c
}

func latencySeconds(o *Observation) *float64 {
	if o.EndTime == nil {
		return nil
	}
	v := float64(o.EndTime.Sub(o.StartTime).Milliseconds()) / 1000
	return &v
}

func ttftSeconds(o *Observation) *float64 {
	if o.CompletionStartTime == nil {
		return nil
	}
	v := float64(o.CompletionStartTime.Sub(o.StartTime).Milliseconds()) / 1000
	return &v
}

// modelPrices returns the matched model's default input, output and total
// prices.
func (c *call) modelPrices(o *Observation) (in, out, total *float64) {
	if o.InternalModelID == nil {
		return nil, nil, nil
	}
	m := c.model(*o.InternalModelID)
	if m == nil {
		return nil, nil, nil
	}
	pr := m.defaultPrices()
	get := func(k string) *float64 {
		v, ok := pr[k]
		return floatPtr(v, ok)
	}
	return get("input"), get("output"), get("total")
}

// obsV1 is ObservationsView, the v1 observation (traces API, v1 observations).
type obsV1 struct {
	ID                   string             `json:"id"`
	ProjectID            string             `json:"projectId"`
	TraceID              *string            `json:"traceId"`
	Type                 string             `json:"type"`
	Name                 *string            `json:"name"`
	StartTime            isoTime            `json:"startTime"`
	EndTime              *isoTime           `json:"endTime"`
	CompletionStartTime  *isoTime           `json:"completionStartTime"`
	Model                *string            `json:"model"`
	ModelParameters      json.RawMessage    `json:"modelParameters"`
	Input                json.RawMessage    `json:"input"`
	Version              *string            `json:"version"`
	Metadata             json.RawMessage    `json:"metadata"`
	Output               json.RawMessage    `json:"output"`
	Usage                usageV1            `json:"usage"`
	Level                string             `json:"level"`
	StatusMessage        *string            `json:"statusMessage"`
	ParentObservationID  *string            `json:"parentObservationId"`
	PromptID             *string            `json:"promptId"`
	PromptName           *string            `json:"promptName"`
	PromptVersion        *int               `json:"promptVersion"`
	UsageDetails         map[string]int64   `json:"usageDetails"`
	CostDetails          map[string]float64 `json:"costDetails"`
	Environment          string             `json:"environment"`
	ModelID              *string            `json:"modelId"`
	InputPrice           *float64           `json:"inputPrice"`
	OutputPrice          *float64           `json:"outputPrice"`
	TotalPrice           *float64           `json:"totalPrice"`
	CalculatedInputCost  *float64           `json:"calculatedInputCost"`
	CalculatedOutputCost *float64           `json:"calculatedOutputCost"`
	CalculatedTotalCost  *float64           `json:"calculatedTotalCost"`
	Latency              *float64           `json:"latency"`
	TimeToFirstToken     *float64           `json:"timeToFirstToken"`
	UsagePricingTierName *string            `json:"usagePricingTierName"`
	Unit                 string             `json:"unit"`
	PromptTokens         int64              `json:"promptTokens"`
	CompletionTokens     int64              `json:"completionTokens"`
	TotalTokens          int64              `json:"totalTokens"`
	CreatedAt            isoTime            `json:"createdAt"`
	UpdatedAt            isoTime            `json:"updatedAt"`
}

type usageV1 struct {
	Input  int64   `json:"input"`
	Output int64   `json:"output"`
	Total  int64   `json:"total"`
	Unit   *string `json:"unit"`
}

func (c *call) obsV1(o *Observation) obsV1 {
	in, out, total := usageTotals(o.UsageDetails)
	unit := "TOKENS"
	v := obsV1{ID: o.ID, ProjectID: c.p.ID, TraceID: ptr(o.TraceID), Type: o.Type, Name: o.Name,
		StartTime: isoTime(o.StartTime), EndTime: isoPtr(o.EndTime), CompletionStartTime: isoPtr(o.CompletionStartTime),
		Model: o.Model, ModelParameters: o.ModelParameters.parsed(), Input: o.Input.parsed(), Output: o.Output.parsed(),
		Version: o.Version, Metadata: metadataParsed(o.Metadata), Usage: usageV1{in, out, total, &unit},
		Level: o.Level, StatusMessage: o.StatusMessage, PromptID: o.PromptID, PromptName: o.PromptName, PromptVersion: o.PromptVersion,
		UsageDetails: usageOrEmpty(o.UsageDetails), CostDetails: costOrEmpty(o.CostDetails), Environment: envOr(o.Environment),
		ModelID: o.InternalModelID, Latency: latencySeconds(o), TimeToFirstToken: ttftSeconds(o),
		UsagePricingTierName: o.UsagePricingTierName, Unit: unit, PromptTokens: in, CompletionTokens: out, TotalTokens: total,
		CreatedAt: isoTime(o.CreatedAt), UpdatedAt: isoTime(o.UpdatedAt)}
	if o.ParentObservationID != "" {
		v.ParentObservationID = ptr(o.ParentObservationID)
	}
	v.InputPrice, v.OutputPrice, v.TotalPrice = c.modelPrices(o)
	if cIn, ok := o.CostDetails["input"]; ok {
		v.CalculatedInputCost = &cIn
	}
	if cOut, ok := o.CostDetails["output"]; ok {
		v.CalculatedOutputCost = &cOut
	}
	v.CalculatedTotalCost = floatPtr(costTotal(o.CostDetails))
	return v
}

// obsV2JSON is a v2 observation. Each optional field group is an embedded
// pointer: a group that was not requested is nil and its keys are absent,
// while the fields of a requested group are present even when null.
type obsV2JSON struct {
	ID                  string   `json:"id"`
	TraceID             string   `json:"traceId"`
	StartTime           isoTime  `json:"startTime"`
	EndTime             *isoTime `json:"endTime"`
	ProjectID           string   `json:"projectId"`
	ParentObservationID *string  `json:"parentObservationId"`
	Type                string   `json:"type"`
	ModelID             *string  `json:"modelId"`
	InputPrice          *string  `json:"inputPrice"`
	OutputPrice         *string  `json:"outputPrice"`
	TotalPrice          *string  `json:"totalPrice"`
	*v2Basic
	*v2Time
	*v2IO
	*v2Metadata
	*v2Model
	*v2Usage
	*v2Prompt
	*v2Metrics
	*v2TraceContext
}

type v2Basic struct {
	Name              *string `json:"name"`
	Level             string  `json:"level"`
	StatusMessage     *string `json:"statusMessage"`
	Version           *string `json:"version"`
	Environment       string  `json:"environment"`
	Bookmarked        bool    `json:"bookmarked"`
	Public            bool    `json:"public"`
	UserID            *string `json:"userId"`
	SessionID         *string `json:"sessionId"`
	IsRootObservation bool    `json:"isRootObservation"`
}

type v2Time struct {
	CompletionStartTime *isoTime `json:"completionStartTime"`
	CreatedAt           isoTime  `json:"createdAt"`
	UpdatedAt           isoTime  `json:"updatedAt"`
}

type v2IO struct {
	Input  *string `json:"input"`
	Output *string `json:"output"`
}

type v2Metadata struct {
	Metadata map[string]string `json:"metadata"`
}

type v2Model struct {
	ProvidedModelName *string         `json:"providedModelName"`
	InternalModelID   *string         `json:"internalModelId"`
	ModelParameters   json.RawMessage `json:"modelParameters"`
}

type v2Usage struct {
	UsageDetails         map[string]int64   `json:"usageDetails"`
	CostDetails          map[string]float64 `json:"costDetails"`
	TotalCost            *float64           `json:"totalCost"`
	UsagePricingTierName *string            `json:"usagePricingTierName"`
}

type v2Prompt struct {
	PromptID      *string `json:"promptId"`
	PromptName    *string `json:"promptName"`
	PromptVersion *int    `json:"promptVersion"`
}

type v2Metrics struct {
	Latency          *float64 `json:"latency"`
	TimeToFirstToken *float64 `json:"timeToFirstToken"`
}

type v2TraceContext struct {
	Tags      []string `json:"tags"`
	Release   *string  `json:"release"`
	TraceName *string  `json:"traceName"`
}

// obsV2 builds a v2 observation with the requested field groups.
// obsV2 serves a row with its own trace context, as the events table holds
// it (convertEventsObservation in
// packages/shared/src/server/repositories/observations_converters.ts).
func (c *call) obsV2(o *Observation, g fieldGroups, expand metadataExpansion) obsV2JSON {
	v := obsV2JSON{ID: o.ID, TraceID: o.TraceID, StartTime: isoTime(o.StartTime), EndTime: isoPtr(o.EndTime),
		ProjectID: c.p.ID, ParentObservationID: optStr(o.ParentObservationID), Type: o.Type}
	if g["basic"] {
		v.v2Basic = &v2Basic{Name: o.Name, Level: o.Level, StatusMessage: o.StatusMessage, Version: o.Version,
			Environment: envOr(o.Environment), Bookmarked: o.Bookmarked, Public: o.Public, UserID: o.UserID,
			SessionID: o.SessionID, IsRootObservation: o.IsRoot()}
	}
	if g["time"] {
		v.v2Time = &v2Time{CompletionStartTime: isoPtr(o.CompletionStartTime), CreatedAt: isoTime(o.CreatedAt), UpdatedAt: isoTime(o.UpdatedAt)}
	}
	if g["io"] {
		v.v2IO = &v2IO{Input: o.Input.raw(), Output: o.Output.raw()}
	}
	if g["metadata"] {
		md := metadataStrings(o.Metadata)
		// Without io the metadata comes from the truncated events_core table,
		// except for the keys asked for with expandMetadata.
		if !g["io"] && !expand.all {
			for k, val := range md {
				if !expand.keys[k] {
					md[k] = truncRunes(val, 200)
				}
			}
		}
		v.v2Metadata = &v2Metadata{Metadata: md}
	}
	if g["model"] {
		params := json.RawMessage("null")
		if !o.ModelParameters.IsNull() {
			params = o.ModelParameters.parsed()
		}
		v.v2Model = &v2Model{ProvidedModelName: o.Model, InternalModelID: o.InternalModelID, ModelParameters: params}
		v.ModelID = o.InternalModelID
		in, out, total := c.modelPrices(o)
		str := func(f *float64) *string {
			if f == nil {
				return nil
			}
			return ptr(decimalString(*f))
		}
		v.InputPrice, v.OutputPrice, v.TotalPrice = str(in), str(out), str(total)
	}
	if g["usage"] {
		v.v2Usage = &v2Usage{UsageDetails: usageOrEmpty(o.UsageDetails), CostDetails: costOrEmpty(o.CostDetails),
			TotalCost: floatPtr(costTotal(o.CostDetails)), UsagePricingTierName: o.UsagePricingTierName}
	}
	if g["prompt"] {
		v.v2Prompt = &v2Prompt{PromptID: o.PromptID, PromptName: o.PromptName, PromptVersion: o.PromptVersion}
	}
	if g["metrics"] {
		v.v2Metrics = &v2Metrics{Latency: latencySeconds(o), TimeToFirstToken: ttftSeconds(o)}
	}
	if g["trace_context"] {
		v.v2TraceContext = &v2TraceContext{Tags: orEmpty(o.Tags), Release: o.Release, TraceName: o.servedTraceName()}
	}
	return v
}

type fieldGroups map[string]bool

type metadataExpansion struct {
	all  bool
	keys map[string]bool
}

// traceJSON is Trace / TraceWithDetails / TraceWithFullDetails.
type traceJSON struct {
	ID           string          `json:"id"`
	ProjectID    string          `json:"projectId"`
	Timestamp    isoTime         `json:"timestamp"`
	Name         *string         `json:"name"`
	Input        json.RawMessage `json:"input,omitempty"`
	Output       json.RawMessage `json:"output,omitempty"`
	SessionID    *string         `json:"sessionId"`
	Release      *string         `json:"release"`
	Version      *string         `json:"version"`
	UserID       *string         `json:"userId"`
	Metadata     json.RawMessage `json:"metadata,omitempty"`
	Tags         []string        `json:"tags"`
	Public       bool            `json:"public"`
	Environment  string          `json:"environment"`
	CreatedAt    isoTime         `json:"createdAt"`
	UpdatedAt    isoTime         `json:"updatedAt"`
	HTMLPath     *string         `json:"htmlPath,omitempty"`
	Latency      *float64        `json:"latency,omitempty"`
	TotalCost    *float64        `json:"totalCost,omitempty"`
	Observations any             `json:"observations,omitempty"`
	Scores       any             `json:"scores,omitempty"`
}

func (c *call) traceBase(t *Trace, io bool) traceJSON {
	v := traceJSON{ID: t.ID, ProjectID: c.p.ID, Timestamp: isoTime(t.Timestamp), Name: t.Name, SessionID: t.SessionID,
		Release: t.Release, Version: t.Version, UserID: t.UserID, Tags: orEmpty(t.Tags), Public: t.Public,
		Environment: envOr(t.Environment), CreatedAt: isoTime(t.CreatedAt), UpdatedAt: isoTime(t.UpdatedAt)}
	if io {
		v.Input, v.Output, v.Metadata = t.Input.parsed(), t.Output.parsed(), metadataParsed(t.Metadata)
	}
	return v
}

// traceMetrics returns latency in seconds (first start to last end) and the
// summed cost of a trace's observations.
func traceMetrics(obs []*Observation) (latency, cost float64) {
	var first, last time.Time
	for _, o := range obs {
		if first.IsZero() || o.StartTime.Before(first) {
			first = o.StartTime
		}
		end := o.StartTime
		if o.EndTime != nil {
			end = *o.EndTime
		}
		if end.After(last) {
			last = end
		}
		if v, ok := costTotal(o.CostDetails); ok {
			cost += v
		}
	}
	if !first.IsZero() {
		latency = float64(last.Sub(first).Milliseconds()) / 1000
	}
	return latency, cost
}

// scoreV2 converts a score to ScoreV1 (trace details: no session and run
// ids) or Score / GetScoresResponseData (v2).
func (c *call) scoreV2(s *Score, v1 bool) map[string]any {
	m := map[string]any{"id": s.ID, "projectId": c.p.ID, "traceId": s.TraceID, "observationId": s.ObservationID, "name": s.Name,
		"dataType": s.DataType, "source": s.Source, "timestamp": isoTime(s.Timestamp), "createdAt": isoTime(s.CreatedAt),
		"updatedAt": isoTime(s.UpdatedAt), "authorUserId": s.AuthorUserID, "comment": s.Comment, "metadata": metadataParsed(s.Metadata),
		"configId": s.ConfigID, "queueId": s.QueueID, "environment": envOr(s.Environment)}
	if !v1 {
		m["sessionId"], m["datasetRunId"] = s.SessionID, s.DatasetRunID
	}
	switch s.DataType {
	case DataText:
		m["stringValue"] = strOr(s.StringValue, "")
	case DataNumeric:
		m["value"] = s.Value
	default:
		m["value"], m["stringValue"] = s.Value, strOr(s.StringValue, "")
	}
	return m
}

func scoreTraceJSON(t *Trace) any {
	if t == nil {
		return nil
	}
	return map[string]any{"userId": t.UserID, "tags": orEmpty(t.Tags), "environment": ptr(envOr(t.Environment)), "sessionId": t.SessionID}
}

// scoreV3 builds a v3 score with the requested groups.
func (c *call) scoreV3(s *Score, g fieldGroups) map[string]any {
	m := map[string]any{"id": s.ID, "projectId": c.p.ID, "name": s.Name, "dataType": s.DataType, "source": s.Source,
		"timestamp": isoTime(s.Timestamp), "environment": envOr(s.Environment), "createdAt": isoTime(s.CreatedAt),
		"updatedAt": isoTime(s.UpdatedAt)}
	switch s.DataType {
	case DataNumeric:
		m["value"] = s.Value
	case DataBoolean:
		m["value"] = s.Value == 1
	default:
		m["value"] = strOr(s.StringValue, "")
	}
	if g["details"] {
		m["comment"], m["configId"], m["metadata"] = s.Comment, s.ConfigID, metadataStrings(s.Metadata)
	}
	if g["subject"] {
		switch {
		case s.DatasetRunID != nil:
			m["subject"] = map[string]any{"kind": "experiment", "id": *s.DatasetRunID}
		case s.ObservationID != nil:
			sub := map[string]any{"kind": "observation", "id": *s.ObservationID}
			if s.TraceID != nil {
				sub["traceId"] = *s.TraceID
			}
			m["subject"] = sub
		case s.SessionID != nil:
			m["subject"] = map[string]any{"kind": "session", "id": *s.SessionID}
		case s.TraceID != nil:
			m["subject"] = map[string]any{"kind": "trace", "id": *s.TraceID}
		default:
			m["subject"] = nil
		}
	}
	if g["annotation"] {
		m["authorUserId"], m["queueId"] = s.AuthorUserID, s.QueueID
	}
	return m
}

func (c *call) sessionJSON(s *Session) map[string]any {
	return map[string]any{"id": s.ID, "createdAt": isoTime(s.CreatedAt), "projectId": c.p.ID, "environment": envOr(s.Environment)}
}

func (c *call) scoreConfigJSON(s *ScoreConfig) map[string]any {
	var cats any
	if s.Categories != nil {
		list := []map[string]any{}
		for _, ct := range s.Categories {
			list = append(list, map[string]any{"value": ct.Value, "label": ct.Label})
		}
		cats = list
	}
	return map[string]any{"id": s.ID, "name": s.Name, "createdAt": isoTime(s.CreatedAt), "updatedAt": isoTime(s.UpdatedAt),
		"projectId": c.p.ID, "dataType": s.DataType, "isArchived": s.IsArchived, "minValue": s.MinValue, "maxValue": s.MaxValue,
		"categories": cats, "description": s.Description}
}

func (c *call) modelJSON(m *Model) map[string]any {
	pr := m.defaultPrices()
	prices := map[string]any{}
	for _, k := range slices.Sorted(maps.Keys(pr)) {
		prices[k] = map[string]any{"price": pr[k]}
	}
	get := func(k string) *float64 { v, ok := pr[k]; return floatPtr(v, ok) }
	tiers := []any{}
	for _, t := range m.PricingTiers {
		conds := []any{}
		for _, cd := range t.Conditions {
			if cd.Source != "" {
				conds = append(conds, map[string]any{"source": cd.Source, "key": cd.Key, "operator": cd.Operator, "values": orEmpty(cd.Values)})
			} else {
				conds = append(conds, map[string]any{"usageDetailPattern": cd.UsageDetailPattern, "operator": cd.Operator,
					"value": cd.Value, "caseSensitive": cd.CaseSensitive})
			}
		}
		tiers = append(tiers, map[string]any{"id": t.ID, "name": t.Name, "isDefault": t.IsDefault, "priority": t.Priority,
			"conditions": conds, "prices": t.Prices})
	}
	// prismaToApiModelDefinition (web/src/features/public-api/types/models.ts)
	// drops projectId and updatedAt from the row it returns.
	return map[string]any{"id": m.ID, "modelName": m.ModelName, "matchPattern": m.MatchPattern,
		"startDate": isoPtr(m.StartDate), "unit": m.Unit, "inputPrice": get("input"), "outputPrice": get("output"),
		"totalPrice": get("total"), "tokenizerId": m.TokenizerID, "tokenizerConfig": m.TokenizerConfig.value(),
		"isLangfuseManaged": m.IsLangfuseManaged, "createdAt": isoTime(m.CreatedAt), "prices": prices, "pricingTiers": tiers}
}

func (c *call) commentJSON(cm *Comment) map[string]any {
	return map[string]any{"id": cm.ID, "projectId": c.p.ID, "createdAt": isoTime(cm.CreatedAt), "updatedAt": isoTime(cm.UpdatedAt),
		"objectType": cm.ObjectType, "objectId": cm.ObjectID, "content": cm.Content, "authorUserId": cm.AuthorUserID}
}

func queueJSON(q *AnnotationQueue) map[string]any {
	return map[string]any{"id": q.ID, "name": q.Name, "description": q.Description, "scoreConfigIds": orEmpty(q.ScoreConfigIDs),
		"createdAt": isoTime(q.CreatedAt), "updatedAt": isoTime(q.UpdatedAt)}
}

func queueItemJSON(it *AnnotationQueueItem) map[string]any {
	return map[string]any{"id": it.ID, "queueId": it.QueueID, "objectId": it.ObjectID, "objectType": it.ObjectType,
		"status": it.Status, "completedAt": isoPtr(it.CompletedAt), "createdAt": isoTime(it.CreatedAt), "updatedAt": isoTime(it.UpdatedAt)}
}

func (c *call) datasetJSON(d *Dataset) map[string]any {
	return map[string]any{"id": d.ID, "name": d.Name, "description": d.Description, "metadata": d.Metadata.value(),
		"inputSchema": d.InputSchema.value(), "expectedOutputSchema": d.ExpectedOutputSchema.value(), "projectId": c.p.ID,
		"createdAt": isoTime(d.CreatedAt), "updatedAt": isoTime(d.UpdatedAt)}
}

func (c *call) runJSON(r *DatasetRun, datasetName string) map[string]any {
	return map[string]any{"id": r.ID, "name": r.Name, "description": r.Description, "metadata": r.Metadata.value(),
		"datasetId": r.DatasetID, "datasetName": datasetName, "createdAt": isoTime(r.CreatedAt), "updatedAt": isoTime(r.UpdatedAt)}
}

func runItemJSON(it *DatasetRunItem, runName string) map[string]any {
	return map[string]any{"id": it.ID, "datasetRunId": it.RunID, "datasetRunName": runName, "datasetItemId": it.DatasetItemID,
		"traceId": it.TraceID, "observationId": it.ObservationID, "createdAt": isoTime(it.CreatedAt), "updatedAt": isoTime(it.UpdatedAt)}
}
