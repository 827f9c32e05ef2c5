package lfexport

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/lakefuse/lakefuse/internal/jsonx"
	lf "github.com/lakefuse/lakefuse/internal/langfuse"
	"github.com/lakefuse/lakefuse/schema"
)

// Conversions from the Langfuse wire types to lake rows. JSON-valued fields
// keep the bytes the API sent; only the null value becomes a SQL NULL.

// jsonText returns a JSON value as lake text: nil for an absent member or a
// JSON null, the bytes otherwise.
func jsonText(raw json.RawMessage) *string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	s := string(raw)
	return &s
}

// rawIO turns a v2 observation's input or output, which the API sends as a
// JSON string holding the stored text, into lake JSON text: stored text that
// is JSON is kept as it is, any other text (a bare string) becomes a JSON
// string. This is how the v3 APIs parse the same stored value, so the lake
// holds the same JSON from either generation. The text may share raw's
// bytes, so raw must not change afterwards.
func rawIO(raw json.RawMessage) (*string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] != '"' {
		// A server that already parsed the value: keep it.
		s := string(raw)
		return &s, nil
	}
	b, ok := unquote(raw)
	if !ok {
		var text string
		if err := json.Unmarshal(raw, &text); err != nil {
			return nil, fmt.Errorf("input/output is not a JSON string: %w", err)
		}
		b = []byte(text)
	}
	// b is either raw's content or a new buffer, and raw belongs to a
	// decoded page that nothing changes: the text can share its bytes
	// rather than copy a payload of kilobytes once more per row.
	text := unsafe.String(unsafe.SliceData(b), len(b))
	if lf.ValidJSON(b) {
		return &text, nil
	}
	s, err := marshalString(text)
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// unquote decodes the JSON string raw as encoding/json does (the result
// may share raw's bytes), for the
// escapes that stored text holds; ok is false for anything else (invalid
// UTF-8, a lone surrogate, invalid JSON), which encoding/json then decodes
// or rejects. Every observation's input and output pass through here.
func unquote(raw []byte) (s []byte, ok bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return nil, false
	}
	body := raw[1 : len(raw)-1]
	esc := bytes.IndexByte(body, '\\')
	if esc < 0 {
		if bytes.IndexByte(body, '"') >= 0 || hasControl(body) || !utf8.Valid(body) {
			return nil, false
		}
		return body, true
	}
	out := make([]byte, 0, len(body))
	for len(body) > 0 {
		// Copy up to the next byte that does not stand for itself, found in
		// one pass (stored JSON text has an escaped quote every few bytes):
		// a backslash starts an escape, a quote or a control character is
		// invalid.
		i := jsonx.SkipUnescapedBytes(body, 0)
		for i < len(body) && body[i] >= 0x20 && body[i] != '"' && body[i] != '\\' {
			i++
		}
		out = append(out, body[:i]...)
		body = body[i:]
		if len(body) == 0 {
			break
		}
		if body[0] != '\\' || len(body) < 2 {
			return nil, false
		}
		switch c := body[1]; c {
		case '"', '\\', '/':
			out = append(out, c)
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
				if !ok || len(body) < 12 || body[6] != '\\' || body[7] != 'u' {
					return nil, false
				}
				r2, ok := hex4(body[8:])
				if r = utf16.DecodeRune(r, r2); !ok || r == utf8.RuneError {
					return nil, false
				}
				body = body[6:]
			}
			out = utf8.AppendRune(out, r)
			body = body[4:]
		default:
			return nil, false
		}
		body = body[2:]
	}
	if !utf8.Valid(out) {
		return nil, false
	}
	return out, true
}

func hasControl(b []byte) bool {
	// Whole blocks without a control character, quote or backslash first.
	for _, c := range b[jsonx.SkipUnescapedBytes(b, 0):] {
		if c < 0x20 {
			return true
		}
	}
	return false
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
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

// marshalString encodes s as a JSON string without HTML escaping, so text
// with <, > and & stays readable.
func marshalString(s string) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return "", err
	}
	return string(bytes.TrimRight(buf.Bytes(), "\n")), nil
}

func marshalJSON(v any) (*string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	s := string(bytes.TrimRight(buf.Bytes(), "\n"))
	return &s, nil
}

// decimal parses a v4 price (a decimal string) into a float.
func decimal(s *string, what string) (*float64, error) {
	if s == nil {
		return nil, nil
	}
	v, err := strconv.ParseFloat(*s, 64)
	if err != nil {
		return nil, fmt.Errorf("%s %q is not a decimal number", what, *s)
	}
	return &v, nil
}

func int64Ptr(p *int) *int64 {
	if p == nil {
		return nil
	}
	v := int64(*p)
	return &v
}

func strOr(p *string, def string) string {
	if p == nil {
		return def
	}
	return *p
}

func utc(t time.Time) time.Time { return t.UTC() }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC()
	return &v
}

func ptr[T any](v T) *T { return &v }

// observationV2 converts a v2 observation (every field group requested).
var placeholderTrue = true

// observationV2 converts a v2 observation; the placeholder root of a trace
// from Langfuse's v3 tables is marked (placeholder_root).
func observationV2(o *lf.ObservationV2) (*schema.Observation, error) {
	in, err := rawIO(o.Input)
	if err != nil {
		return nil, fmt.Errorf("observation %s input: %w", o.ID, err)
	}
	out, err := rawIO(o.Output)
	if err != nil {
		return nil, fmt.Errorf("observation %s output: %w", o.ID, err)
	}
	r := &schema.Observation{
		ID: o.ID, TraceID: o.TraceID, ParentObservationID: o.ParentObservationID, IsRootObservation: o.IsRootObservation,
		Type: o.Type, Name: o.Name, StartTime: utc(o.StartTime), EndTime: utcPtr(o.EndTime),
		CompletionStartTime: utcPtr(o.CompletionStartTime), Level: strOr(o.Level, "DEFAULT"), StatusMessage: o.StatusMessage,
		Version: o.Version, Environment: strOr(o.Environment, "default"), Input: in, Output: out, Metadata: jsonText(o.Metadata),
		ProvidedModelName: o.ProvidedModelName, ModelID: o.ModelID, ModelParameters: jsonText(o.ModelParameters),
		UsageDetails: o.UsageDetails, CostDetails: o.CostDetails, TotalCost: o.TotalCost,
		UsagePricingTierName: o.UsagePricingTierName, PromptID: o.PromptID, PromptName: o.PromptName,
		PromptVersion: int64Ptr(o.PromptVersion), Latency: o.Latency, TimeToFirstToken: o.TimeToFirstToken,
		UserID: o.UserID, SessionID: o.SessionID, TraceName: o.TraceName, Tags: o.Tags, Release: o.Release,
		Public: o.Public, Bookmarked: o.Bookmarked, CreatedAt: utcPtr(o.CreatedAt), UpdatedAt: utcPtr(o.UpdatedAt),
	}
	if r.ModelID == nil {
		r.ModelID = o.InternalModelID
	}
	if isPlaceholderRoot(r) {
		r.PlaceholderRoot = &placeholderTrue
	}
	if r.InputPrice, err = decimal(o.InputPrice, "inputPrice"); err != nil {
		return nil, fmt.Errorf("observation %s: %w", o.ID, err)
	}
	if r.OutputPrice, err = decimal(o.OutputPrice, "outputPrice"); err != nil {
		return nil, fmt.Errorf("observation %s: %w", o.ID, err)
	}
	if r.TotalPrice, err = decimal(o.TotalPrice, "totalPrice"); err != nil {
		return nil, fmt.Errorf("observation %s: %w", o.ID, err)
	}
	if id, ok := o.Extra["usagePricingTierId"]; ok {
		var s *string
		if json.Unmarshal(id, &s) == nil {
			r.UsagePricingTierID = s
		}
	}
	return r, nil
}

func observationV1(o *lf.ObservationV1) (*schema.Observation, error) {
	r := &schema.Observation{
		ID: o.ID, TraceID: o.TraceID, ParentObservationID: o.ParentObservationID, Type: o.Type, Name: o.Name,
		StartTime: utc(o.StartTime), EndTime: utcPtr(o.EndTime), CompletionStartTime: utcPtr(o.CompletionStartTime),
		Level: o.Level, StatusMessage: o.StatusMessage, Version: o.Version, Environment: o.Environment,
		Input: jsonText(o.Input), Output: jsonText(o.Output), Metadata: jsonText(o.Metadata),
		ProvidedModelName: o.Model, ModelID: o.ModelID, ModelParameters: jsonText(o.ModelParameters),
		UsageDetails: o.UsageDetails, CostDetails: o.CostDetails,
		CalculatedInputCost: o.CalculatedInputCost, CalculatedOutputCost: o.CalculatedOutputCost,
		CalculatedTotalCost: o.CalculatedTotalCost, InputPrice: o.InputPrice, OutputPrice: o.OutputPrice,
		TotalPrice: o.TotalPrice, PromptID: o.PromptID, PromptName: o.PromptName, PromptVersion: int64Ptr(o.PromptVersion),
		Latency: o.Latency, TimeToFirstToken: o.TimeToFirstToken,
	}
	if o.Usage != nil {
		// The deprecated usage object is kept as sent, unknown members
		// included; members that were null or absent stay out.
		u := o.Usage
		m := map[string]any{"input": u.Input, "output": u.Output, "total": u.Total}
		for k, v := range map[string]any{"unit": u.Unit, "inputCost": u.InputCost, "outputCost": u.OutputCost, "totalCost": u.TotalCost} {
			if !reflect.ValueOf(v).IsNil() {
				m[k] = v
			}
		}
		for k, v := range u.Extra {
			m[k] = v
		}
		var err error
		if r.Usage, err = marshalJSON(m); err != nil {
			return nil, err
		}
	}
	for k, dst := range map[string]**time.Time{"createdAt": &r.CreatedAt, "updatedAt": &r.UpdatedAt} {
		if raw, ok := o.Extra[k]; ok {
			var t *time.Time
			if err := json.Unmarshal(raw, &t); err == nil {
				*dst = utcPtr(t)
			}
		}
	}
	for k, dst := range map[string]**string{"usagePricingTierName": &r.UsagePricingTierName, "usagePricingTierId": &r.UsagePricingTierID} {
		if raw, ok := o.Extra[k]; ok {
			var s *string
			if err := json.Unmarshal(raw, &s); err == nil {
				*dst = s
			}
		}
	}
	if raw, ok := o.Extra["totalCost"]; ok {
		var f *float64
		if err := json.Unmarshal(raw, &f); err == nil {
			r.TotalCost = f
		}
	}
	return r, nil
}

func traceV3(t *lf.Trace) *schema.Trace {
	r := &schema.Trace{
		ID: t.ID, Timestamp: utc(t.Timestamp), Name: t.Name, UserID: t.UserID, SessionID: t.SessionID, Release: t.Release,
		Version: t.Version, Environment: t.Environment, Tags: t.Tags, Public: t.Public, Input: jsonText(t.Input),
		Output: jsonText(t.Output), Metadata: jsonText(t.Metadata), Latency: t.Latency, TotalCost: t.TotalCost,
	}
	if r.Tags == nil {
		r.Tags = []string{}
	}
	if t.HTMLPath != "" {
		r.HTMLPath = ptr(t.HTMLPath)
	}
	for k, dst := range map[string]**time.Time{"createdAt": &r.CreatedAt, "updatedAt": &r.UpdatedAt} {
		if raw, ok := t.Extra[k]; ok {
			var v *time.Time
			if err := json.Unmarshal(raw, &v); err == nil {
				*dst = utcPtr(v)
			}
		}
	}
	if raw, ok := t.Extra["bookmarked"]; ok {
		var b *bool
		if err := json.Unmarshal(raw, &b); err == nil {
			r.Bookmarked = b
		}
	}
	return r
}

// scoreV3 converts a v4 score; see the scores table's doc for the value
// mapping.
func scoreV3(s *lf.ScoreV3) *schema.Score {
	r := &schema.Score{
		ID: s.ID, Timestamp: utc(s.Timestamp), Name: s.Name, DataType: s.DataType, Source: s.Source,
		Comment: s.Comment, Metadata: jsonText(s.Metadata), ConfigID: s.ConfigID, QueueID: s.QueueID,
		AuthorUserID: s.AuthorUserID, Environment: s.Environment, CreatedAt: utc(s.CreatedAt), UpdatedAt: utc(s.UpdatedAt),
	}
	switch {
	case s.Value.Number != nil:
		r.Value = ptr(*s.Value.Number)
	case s.Value.Bool != nil:
		if *s.Value.Bool {
			r.Value, r.StringValue = ptr(1.0), ptr("True")
		} else {
			r.Value, r.StringValue = ptr(0.0), ptr("False")
		}
	case s.Value.String != nil:
		r.StringValue = ptr(*s.Value.String)
		if s.DataType == "CORRECTION" {
			r.Value = ptr(0.0)
		}
	}
	if sub := s.Subject; sub != nil {
		switch sub.Kind {
		case "trace":
			r.TraceID = ptr(sub.ID)
		case "observation":
			r.ObservationID, r.TraceID = ptr(sub.ID), sub.TraceID
		case "session":
			r.SessionID = ptr(sub.ID)
		case "experiment":
			r.DatasetRunID = ptr(sub.ID)
		}
	}
	return r
}

func scoreV2(s *lf.ScoreV2) *schema.Score {
	return &schema.Score{
		ID: s.ID, Timestamp: utc(s.Timestamp), Name: s.Name, DataType: s.DataType, Value: s.Value, StringValue: s.StringValue,
		Source: s.Source, Comment: s.Comment, Metadata: jsonText(s.Metadata), ConfigID: s.ConfigID, QueueID: s.QueueID,
		AuthorUserID: s.AuthorUserID, Environment: s.Environment, TraceID: s.TraceID, ObservationID: s.ObservationID,
		SessionID: s.SessionID, DatasetRunID: s.DatasetRunID, CreatedAt: utc(s.CreatedAt), UpdatedAt: utc(s.UpdatedAt),
	}
}

func sessionV3(s *lf.Session) *schema.Session {
	return &schema.Session{ID: s.ID, CreatedAt: utc(s.CreatedAt), Environment: s.Environment}
}

func promptRow(p *lf.Prompt, meta *lf.PromptMeta) (*schema.Prompt, error) {
	body := jsonText(p.Prompt)
	if body == nil {
		return nil, fmt.Errorf("prompt %q version %d has no prompt body", p.Name, p.Version)
	}
	r := &schema.Prompt{
		Name: p.Name, Version: int64(p.Version), Type: p.Type, Prompt: *body, Config: jsonText(p.Config),
		Labels: p.Labels, Tags: p.Tags, CommitMessage: p.CommitMessage, ResolutionGraph: jsonText(p.ResolutionGraph),
	}
	if r.Labels == nil {
		r.Labels = []string{}
	}
	if r.Tags == nil {
		r.Tags = meta.Tags
	}
	if p.ID != "" {
		r.ID = &p.ID
	}
	r.CreatedBy, r.CreatedAt, r.UpdatedAt = p.CreatedBy, utcPtr(p.CreatedAt), utcPtr(p.UpdatedAt)
	if r.UpdatedAt == nil && isLatest(meta, p.Version) {
		r.UpdatedAt = ptr(meta.LastUpdatedAt.UTC())
	}
	return r, nil
}

func isLatest(meta *lf.PromptMeta, v int) bool {
	for _, x := range meta.Versions {
		if x > v {
			return false
		}
	}
	return true
}

func scoreConfigRow(c *lf.ScoreConfig) (*schema.ScoreConfig, error) {
	r := &schema.ScoreConfig{
		ID: c.ID, Name: c.Name, DataType: c.DataType, IsArchived: c.IsArchived, MinValue: c.MinValue, MaxValue: c.MaxValue,
		Description: c.Description, CreatedAt: utc(c.CreatedAt), UpdatedAt: utc(c.UpdatedAt),
	}
	if c.Categories != nil {
		cats := make([]map[string]any, 0, len(c.Categories))
		for _, ct := range c.Categories {
			m := map[string]any{"value": ct.Value, "label": ct.Label}
			for k, v := range ct.Extra {
				m[k] = v
			}
			cats = append(cats, m)
		}
		var err error
		if r.Categories, err = marshalJSON(cats); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func modelRow(m *lf.Model) (*schema.Model, error) {
	r := &schema.Model{
		ID: m.ID, ModelName: m.ModelName, MatchPattern: m.MatchPattern, StartDate: utcPtr(m.StartDate), Unit: m.Unit,
		InputPrice: m.InputPrice, OutputPrice: m.OutputPrice, TotalPrice: m.TotalPrice, TokenizerID: m.TokenizerID,
		TokenizerConfig: jsonText(m.TokenizerConfig), IsLangfuseManaged: m.IsLangfuseManaged, CreatedAt: utc(m.CreatedAt),
	}
	if m.Prices != nil {
		r.Prices = make(map[string]float64, len(m.Prices))
		for k, p := range m.Prices {
			r.Prices[k] = p.Price
		}
	}
	if m.PricingTiers != nil {
		tiers := make([]map[string]any, 0, len(m.PricingTiers))
		for _, t := range m.PricingTiers {
			tm := map[string]any{"id": t.ID, "name": t.Name, "isDefault": t.IsDefault, "priority": t.Priority,
				"conditions": t.Conditions, "prices": t.Prices}
			if t.Conditions == nil {
				tm["conditions"] = nil
			}
			for k, v := range t.Extra {
				tm[k] = v
			}
			tiers = append(tiers, tm)
		}
		var err error
		if r.PricingTiers, err = marshalJSON(tiers); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func datasetRow(d *lf.Dataset) *schema.Dataset {
	return &schema.Dataset{
		ID: d.ID, Name: d.Name, Description: d.Description, Metadata: jsonText(d.Metadata), InputSchema: jsonText(d.InputSchema),
		ExpectedOutputSchema: jsonText(d.ExpectedOutputSchema), CreatedAt: utc(d.CreatedAt), UpdatedAt: utc(d.UpdatedAt),
	}
}

func datasetItemRow(it *lf.DatasetItem) *schema.DatasetItem {
	return &schema.DatasetItem{
		ID: it.ID, DatasetID: it.DatasetID, DatasetName: it.DatasetName, Status: it.Status, Input: jsonText(it.Input),
		ExpectedOutput: jsonText(it.ExpectedOutput), Metadata: jsonText(it.Metadata), SourceTraceID: it.SourceTraceID,
		SourceObservationID: it.SourceObservationID, CreatedAt: utc(it.CreatedAt), UpdatedAt: utc(it.UpdatedAt),
	}
}

func datasetRunV3(r *lf.DatasetRun) *schema.DatasetRun {
	return &schema.DatasetRun{
		ID: r.ID, Name: r.Name, Description: r.Description, Metadata: jsonText(r.Metadata), DatasetID: ptr(r.DatasetID),
		DatasetName: ptr(r.DatasetName), CreatedAt: ptr(r.CreatedAt.UTC()), UpdatedAt: ptr(r.UpdatedAt.UTC()),
	}
}

func datasetRunItemV3(it *lf.DatasetRunItem, datasetID string) *schema.DatasetRunItem {
	return &schema.DatasetRunItem{
		ID: it.ID, DatasetRunID: it.DatasetRunID, DatasetRunName: it.DatasetRunName, DatasetItemID: it.DatasetItemID,
		DatasetID: ptr(datasetID), TraceID: it.TraceID, ObservationID: it.ObservationID,
		CreatedAt: ptr(it.CreatedAt.UTC()), UpdatedAt: ptr(it.UpdatedAt.UTC()),
	}
}

func experimentRow(e *lf.Experiment) *schema.DatasetRun {
	return &schema.DatasetRun{
		ID: e.ID, Name: e.Name, Description: e.Description, Metadata: jsonText(e.Metadata), DatasetID: e.DatasetID,
		StartTime: ptr(e.StartTime.UTC()), EndTime: ptr(e.EndTime.UTC()), ItemCount: ptr(int64(e.ItemCount)),
	}
}

func experimentItemRow(it *lf.ExperimentItem) (*schema.DatasetRunItem, error) {
	// Like the observations' input and output, the expected output comes as
	// the stored text in a JSON string.
	expected, err := rawIO(it.ExpectedOutput)
	if err != nil {
		return nil, fmt.Errorf("experiment item %s expectedOutput: %w", it.ID, err)
	}
	return &schema.DatasetRunItem{
		ID: it.ID, DatasetRunID: it.ExperimentID, DatasetRunName: it.ExperimentName, DatasetItemID: it.ExperimentItemID,
		DatasetID: it.ExperimentDatasetID, TraceID: it.TraceID, ObservationID: ptr(it.ID),
		ExperimentItemVersion: utcPtr(it.ExperimentItemVersion), ExpectedOutput: expected,
		ExperimentItemMetadata: jsonText(it.ExperimentItemMetadata),
	}, nil
}

func commentRow(c *lf.Comment) *schema.Comment {
	return &schema.Comment{
		ID: c.ID, ObjectType: c.ObjectType, ObjectID: c.ObjectID, Content: c.Content, AuthorUserID: c.AuthorUserID,
		CreatedAt: utc(c.CreatedAt), UpdatedAt: utc(c.UpdatedAt),
	}
}

func queueRow(q *lf.AnnotationQueue) *schema.AnnotationQueue {
	ids := q.ScoreConfigIDs
	if ids == nil {
		ids = []string{}
	}
	return &schema.AnnotationQueue{ID: q.ID, Name: q.Name, Description: q.Description, ScoreConfigIDs: ids,
		CreatedAt: utc(q.CreatedAt), UpdatedAt: utc(q.UpdatedAt)}
}

func queueItemRow(it *lf.AnnotationQueueItem) *schema.AnnotationQueueItem {
	return &schema.AnnotationQueueItem{ID: it.ID, QueueID: it.QueueID, ObjectID: it.ObjectID, ObjectType: it.ObjectType,
		Status: it.Status, CompletedAt: utcPtr(it.CompletedAt), CreatedAt: utc(it.CreatedAt), UpdatedAt: utc(it.UpdatedAt)}
}
