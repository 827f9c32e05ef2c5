package lfexport

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/internal/lftest"
	"github.com/lakefuse/lakefuse/schema"
)

// The oracle: what the lake must hold for a test-server project, built from
// the server's store (lftest.Project) and Langfuse's documented read
// semantics, independently of the exporter's code.

type expected map[string]map[string]any // table → row key → *row

func (x expected) add(t *schema.Table, row any) {
	if x[t.Name] == nil {
		x[t.Name] = map[string]any{}
	}
	k, err := t.RowKey(row)
	if err != nil {
		panic(err)
	}
	x[t.Name][k] = row
}

func envOr(e string) string {
	if e == "" {
		return "default"
	}
	return e
}

func optStr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// parsedJSON is a stored value as the parsing APIs return it, and as the
// exporter stores v4's raw strings: JSON text as is, other text as a JSON
// string, null as NULL.
func parsedJSON(p lftest.Payload) *string {
	s, ok := p.Text()
	if !ok {
		return nil
	}
	if json.Valid([]byte(s)) {
		return &s
	}
	b, _ := json.Marshal(s)
	return ptr(string(b))
}

// valueJSON is a Postgres-backed JSON column: the value, a text payload as a
// JSON string.
func valueJSON(p lftest.Payload) *string {
	if p.IsNull() {
		return nil
	}
	return parsedJSON(p)
}

// metadataStrings is metadata as Langfuse v4 keeps it: top-level keys with
// string values (non-strings as their JSON text); other JSON under "metadata".
func metadataStrings(p lftest.Payload) map[string]string {
	out := map[string]string{}
	s, ok := p.Text()
	if !ok {
		return out
	}
	var m map[string]json.RawMessage
	if json.Unmarshal([]byte(s), &m) != nil {
		out["metadata"] = s
		return out
	}
	for k, raw := range m {
		var str string
		if raw[0] == '"' && json.Unmarshal(raw, &str) == nil {
			out[k] = str
			continue
		}
		var buf bytes.Buffer
		_ = json.Compact(&buf, raw)
		out[k] = buf.String()
	}
	return out
}

func metadataV4(p lftest.Payload) *string {
	b, _ := json.Marshal(metadataStrings(p))
	return ptr(string(b))
}

// metadataV3 is metadata as the legacy APIs return it: each stored string
// parsed back when it is JSON.
func metadataV3(p lftest.Payload) *string {
	out := map[string]json.RawMessage{}
	for k, v := range metadataStrings(p) {
		if json.Valid([]byte(v)) {
			out[k] = json.RawMessage(v)
		} else {
			b, _ := json.Marshal(v)
			out[k] = b
		}
	}
	b, _ := json.Marshal(out)
	return ptr(string(b))
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func costTotal(c map[string]float64) *float64 {
	if len(c) == 0 {
		return nil
	}
	if t, ok := c["total"]; ok {
		return &t
	}
	sum := 0.0
	for _, k := range slices.Sorted(maps.Keys(c)) {
		sum += c[k]
	}
	return &sum
}

func seconds(from time.Time, to *time.Time) *float64 {
	if to == nil {
		return nil
	}
	return ptr(float64(to.Sub(from).Milliseconds()) / 1000)
}

func defaultPrices(models []*lftest.Model, id *string) (in, out, total *float64) {
	if id == nil {
		return nil, nil, nil
	}
	for _, m := range models {
		if m.ID != *id {
			continue
		}
		for _, t := range m.PricingTiers {
			if t.IsDefault {
				get := func(k string) *float64 {
					if v, ok := t.Prices[k]; ok {
						return &v
					}
					return nil
				}
				return get("input"), get("output"), get("total")
			}
		}
	}
	return nil, nil, nil
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

// expectV4 is the lake of a full v4 export of p.
func expectV4(p *lftest.Project, media bool) expected {
	x := expected{}
	models := p.Models()
	sessions := map[string]*schema.Session{}
	traces := map[string]bool{}
	p.EachObservation(func(o *lftest.Observation, _ *lftest.Trace) bool {
		in, out, total := defaultPrices(models, o.InternalModelID)
		var params *string
		if !o.ModelParameters.IsNull() {
			params = parsedJSON(o.ModelParameters)
		}
		row := &schema.Observation{
			ID: o.ID, TraceID: ptr(o.TraceID), ParentObservationID: optStr(o.ParentObservationID), IsRootObservation: ptr(o.IsRoot()),
			Type: o.Type, Name: o.Name, StartTime: o.StartTime, EndTime: o.EndTime, CompletionStartTime: o.CompletionStartTime,
			Level: o.Level, StatusMessage: o.StatusMessage, Version: o.Version, Environment: envOr(o.Environment),
			Input: parsedJSON(o.Input), Output: parsedJSON(o.Output), Metadata: metadataV4(o.Metadata),
			ProvidedModelName: o.Model, ModelID: o.InternalModelID, ModelParameters: params,
			UsageDetails: usageOrEmpty(o.UsageDetails), CostDetails: costOrEmpty(o.CostDetails), TotalCost: costTotal(o.CostDetails),
			InputPrice: in, OutputPrice: out, TotalPrice: total, UsagePricingTierName: o.UsagePricingTierName,
			PromptID: o.PromptID, PromptName: o.PromptName, PromptVersion: int64Ptr(o.PromptVersion),
			Latency: seconds(o.StartTime, o.EndTime), TimeToFirstToken: seconds(o.StartTime, o.CompletionStartTime),
			// Each row keeps its own trace context (v4 keeps it per row).
			UserID: o.UserID, SessionID: o.SessionID, TraceName: servedTraceName(o), Tags: orEmpty(o.Tags), Release: o.Release,
			Public: ptr(o.Public), Bookmarked: ptr(o.Bookmarked), CreatedAt: ptr(o.CreatedAt), UpdatedAt: ptr(o.UpdatedAt),
		}
		if o.Placeholder {
			row.PlaceholderRoot = ptr(true)
		}
		x.add(schema.Observations, row)
		if o.ParentObservationID == "" && !traces[o.TraceID] {
			traces[o.TraceID] = true
			// The trace aggregates all its rows as Langfuse does.
			a := lftest.AggregateTrace(p.TraceObservations(o.TraceID))
			x.add(schema.Traces, &schema.Trace{ID: a.ID, Timestamp: a.Timestamp, Name: a.Name, UserID: a.UserID, SessionID: a.SessionID,
				Release: a.Release, Version: a.Version, Environment: envOr(a.Environment), Tags: orEmpty(a.Tags), Public: a.Public,
				Input: parsedJSON(a.Input), Output: parsedJSON(a.Output)})
		}
		if o.SessionID != nil {
			s := sessions[*o.SessionID]
			if s == nil || o.StartTime.Before(s.CreatedAt) {
				sessions[*o.SessionID] = &schema.Session{ID: *o.SessionID, CreatedAt: o.StartTime, Environment: envOr(o.Environment)}
			}
		}
		for _, f := range []struct {
			name string
			v    *string
		}{{"input", row.Input}, {"output", row.Output}, {"metadata", row.Metadata}} {
			expectMedia(x, p, f.v, f.name, row.TraceID, &row.ID, nil, media)
		}
		return true
	})
	for _, s := range sessions {
		x.add(schema.Sessions, s)
	}
	for _, s := range p.Scores() {
		r := &schema.Score{ID: s.ID, Timestamp: s.Timestamp, Name: s.Name, DataType: s.DataType, Source: s.Source,
			Comment: s.Comment, Metadata: metadataV4(s.Metadata), ConfigID: s.ConfigID, QueueID: s.QueueID,
			AuthorUserID: s.AuthorUserID, Environment: envOr(s.Environment), CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
		switch s.DataType {
		case lftest.DataNumeric:
			r.Value = ptr(s.Value)
		case lftest.DataBoolean:
			r.Value = ptr(s.Value)
			r.StringValue = ptr(map[bool]string{true: "True", false: "False"}[s.Value == 1])
		case lftest.DataCorrection:
			r.Value, r.StringValue = ptr(0.0), ptr(strOr(s.StringValue, ""))
		default:
			r.StringValue = ptr(strOr(s.StringValue, ""))
		}
		switch {
		case s.DatasetRunID != nil:
			r.DatasetRunID = s.DatasetRunID
		case s.ObservationID != nil:
			r.ObservationID, r.TraceID = s.ObservationID, s.TraceID
		case s.SessionID != nil:
			r.SessionID = s.SessionID
		case s.TraceID != nil:
			r.TraceID = s.TraceID
		}
		x.add(schema.Scores, r)
	}
	expectExperiments(x, p)
	expectCommon(x, p, media)
	return x
}

// expectExperiments mirrors the v4 experiments: runs with at least one item
// whose trace exists, aggregated over the items' root observations.
func expectExperiments(x expected, p *lftest.Project) {
	items := map[string]*lftest.DatasetItem{}
	for _, it := range p.DatasetItems() {
		items[it.ID] = it
	}
	for _, r := range p.DatasetRuns() {
		var start, end time.Time
		n := 0
		for _, ri := range p.DatasetRunItems() {
			if ri.RunID != r.ID {
				continue
			}
			obs := p.TraceObservations(ri.TraceID)
			if p.Trace(ri.TraceID) == nil || len(obs) == 0 {
				continue
			}
			root := obs[len(obs)-1]
			for _, o := range obs {
				if o.ParentObservationID == "" {
					root = o
				}
			}
			n++
			e := root.StartTime
			if root.EndTime != nil {
				e = *root.EndTime
			}
			if start.IsZero() || root.StartTime.Before(start) {
				start = root.StartTime
			}
			if e.After(end) {
				end = e
			}
			row := &schema.DatasetRunItem{ID: root.ID, DatasetRunID: r.ID, DatasetRunName: r.Name, DatasetItemID: ri.DatasetItemID,
				DatasetID: ptr(r.DatasetID), TraceID: root.TraceID, ObservationID: ptr(root.ID)}
			if it := items[ri.DatasetItemID]; it != nil {
				row.ExperimentItemVersion = ptr(it.UpdatedAt)
				row.ExpectedOutput = parsedJSON(it.ExpectedOutput)
				row.ExperimentItemMetadata = objectJSON(it.Metadata)
			}
			x.add(schema.DatasetRunItems, row)
		}
		if n == 0 {
			continue
		}
		x.add(schema.DatasetRuns, &schema.DatasetRun{ID: r.ID, Name: r.Name, Description: r.Description, Metadata: objectJSON(r.Metadata),
			DatasetID: ptr(r.DatasetID), StartTime: ptr(start), EndTime: ptr(end), ItemCount: ptr(int64(n))})
	}
}

// objectJSON is a JSON object value, or NULL for anything else.
func objectJSON(p lftest.Payload) *string {
	v := valueJSON(p)
	if v == nil || !strings.HasPrefix(strings.TrimSpace(*v), "{") {
		return nil
	}
	return v
}

// expectV3 is the lake of a full v3 export of p.
func expectV3(p *lftest.Project, media bool) expected {
	x := expected{}
	models := p.Models()
	p.EachTrace(func(t *lftest.Trace) bool {
		obs := p.TraceObservations(t.ID)
		var first, last time.Time
		cost := 0.0
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
			if c := costTotal(o.CostDetails); c != nil {
				cost += *c
			}
		}
		latency := 0.0
		if !first.IsZero() {
			latency = float64(last.Sub(first).Milliseconds()) / 1000
		}
		row := &schema.Trace{ID: t.ID, Timestamp: t.Timestamp, Name: t.Name, UserID: t.UserID, SessionID: t.SessionID,
			Release: t.Release, Version: t.Version, Environment: envOr(t.Environment), Tags: orEmpty(t.Tags), Public: t.Public,
			Input: parsedJSON(t.Input), Output: parsedJSON(t.Output), Metadata: metadataV3(t.Metadata),
			HTMLPath: ptr(fmt.Sprintf("/project/%s/traces/%s", p.ID, t.ID)), Latency: ptr(latency), TotalCost: ptr(cost),
			CreatedAt: ptr(t.CreatedAt), UpdatedAt: ptr(t.UpdatedAt)}
		x.add(schema.Traces, row)
		for _, f := range []struct {
			name string
			v    *string
		}{{"input", row.Input}, {"output", row.Output}, {"metadata", row.Metadata}} {
			expectMedia(x, p, f.v, f.name, &row.ID, nil, nil, media)
		}
		return true
	})
	p.EachObservation(func(o *lftest.Observation, t *lftest.Trace) bool {
		// A v3 server has no placeholder roots: their children are roots.
		if o.Placeholder {
			return true
		}
		if o.ParentObservationID == lftest.PlaceholderID(o.TraceID) {
			c := *o
			c.ParentObservationID = ""
			o = &c
		}
		in, out, total := defaultPrices(models, o.InternalModelID)
		uin, uout, utot := usageTotals(o.UsageDetails)
		usage, _ := json.Marshal(map[string]any{"input": uin, "output": uout, "total": utot, "unit": "TOKENS"})
		row := &schema.Observation{
			ID: o.ID, TraceID: ptr(o.TraceID), ParentObservationID: optStr(o.ParentObservationID),
			Type: o.Type, Name: o.Name, StartTime: o.StartTime, EndTime: o.EndTime, CompletionStartTime: o.CompletionStartTime,
			Level: o.Level, StatusMessage: o.StatusMessage, Version: o.Version, Environment: envOr(o.Environment),
			Input: parsedJSON(o.Input), Output: parsedJSON(o.Output), Metadata: metadataV3(o.Metadata),
			ProvidedModelName: o.Model, ModelID: o.InternalModelID, ModelParameters: parsedJSON(o.ModelParameters),
			UsageDetails: usageOrEmpty(o.UsageDetails), CostDetails: costOrEmpty(o.CostDetails),
			CalculatedTotalCost: costTotal(o.CostDetails), Usage: ptr(string(usage)),
			InputPrice: in, OutputPrice: out, TotalPrice: total, UsagePricingTierName: o.UsagePricingTierName,
			PromptID: o.PromptID, PromptName: o.PromptName, PromptVersion: int64Ptr(o.PromptVersion),
			Latency: seconds(o.StartTime, o.EndTime), TimeToFirstToken: seconds(o.StartTime, o.CompletionStartTime),
			CreatedAt: ptr(o.CreatedAt), UpdatedAt: ptr(o.UpdatedAt),
		}
		if v, ok := o.CostDetails["input"]; ok {
			row.CalculatedInputCost = &v
		}
		if v, ok := o.CostDetails["output"]; ok {
			row.CalculatedOutputCost = &v
		}
		x.add(schema.Observations, row)
		for _, f := range []struct {
			name string
			v    *string
		}{{"input", row.Input}, {"output", row.Output}, {"metadata", row.Metadata}} {
			expectMedia(x, p, f.v, f.name, row.TraceID, &row.ID, nil, media)
		}
		return true
	})
	for _, s := range p.Sessions() {
		x.add(schema.Sessions, &schema.Session{ID: s.ID, CreatedAt: s.CreatedAt, Environment: envOr(s.Environment)})
	}
	for _, s := range p.Scores() {
		r := &schema.Score{ID: s.ID, Timestamp: s.Timestamp, Name: s.Name, DataType: s.DataType, Source: s.Source,
			Comment: s.Comment, Metadata: metadataV3(s.Metadata), ConfigID: s.ConfigID, QueueID: s.QueueID,
			AuthorUserID: s.AuthorUserID, Environment: envOr(s.Environment), CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt,
			TraceID: s.TraceID, ObservationID: s.ObservationID, SessionID: s.SessionID, DatasetRunID: s.DatasetRunID}
		switch s.DataType {
		case lftest.DataText:
			r.StringValue = ptr(strOr(s.StringValue, ""))
		case lftest.DataNumeric:
			r.Value = ptr(s.Value)
		default:
			r.Value, r.StringValue = ptr(s.Value), ptr(strOr(s.StringValue, ""))
		}
		x.add(schema.Scores, r)
	}
	datasets := map[string]*lftest.Dataset{}
	for _, d := range p.Datasets() {
		datasets[d.ID] = d
	}
	runs := map[string]*lftest.DatasetRun{}
	for _, r := range p.DatasetRuns() {
		runs[r.ID] = r
		x.add(schema.DatasetRuns, &schema.DatasetRun{ID: r.ID, Name: r.Name, Description: r.Description, Metadata: valueJSON(r.Metadata),
			DatasetID: ptr(r.DatasetID), DatasetName: ptr(datasets[r.DatasetID].Name), CreatedAt: ptr(r.CreatedAt), UpdatedAt: ptr(r.UpdatedAt)})
	}
	for _, it := range p.DatasetRunItems() {
		r := runs[it.RunID]
		x.add(schema.DatasetRunItems, &schema.DatasetRunItem{ID: it.ID, DatasetRunID: it.RunID, DatasetRunName: r.Name,
			DatasetItemID: it.DatasetItemID, DatasetID: ptr(r.DatasetID), TraceID: it.TraceID, ObservationID: it.ObservationID,
			CreatedAt: ptr(it.CreatedAt), UpdatedAt: ptr(it.UpdatedAt)})
	}
	expectCommon(x, p, media)
	return x
}

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

func expectMedia(x expected, p *lftest.Project, text *string, field string, traceID, obsID, itemID *string, media bool) {
	for _, ref := range findMediaRefs(text) {
		x.add(schema.Media, mediaExpect(p, ref, traceID, obsID, itemID, field, media))
	}
}

func mediaExpect(p *lftest.Project, ref mediaRef, traceID, obsID, itemID *string, field string, media bool) *schema.MediaReference {
	r := &schema.MediaReference{ID: ref.ID, ContentType: ref.ContentType, TraceID: traceID, ObservationID: obsID,
		DatasetItemID: itemID, Field: ptr(field), JSONPath: ptr(ref.JSONPath)}
	if m := p.Media(ref.ID); m != nil && media {
		r.ContentType = m.ContentType
		r.ContentLength = ptr(int64(len(m.Bytes)))
		r.UploadedAt = ptr(m.UploadedAt)
		r.Path = ptr("_media/" + m.ID)
		sum := sha256b64(m.Bytes)
		r.SHA256 = &sum
	}
	return r
}

// expectCommon adds the entities both generations serve alike.
func expectCommon(x expected, p *lftest.Project, media bool) {
	for _, v := range p.Prompts() {
		var body string
		if v.Type == "chat" {
			msgs := []map[string]any{}
			for _, m := range v.Messages {
				if m.Placeholder != "" {
					msgs = append(msgs, map[string]any{"type": "placeholder", "name": m.Placeholder})
				} else {
					msgs = append(msgs, map[string]any{"role": m.Role, "content": m.Content})
				}
			}
			b, _ := json.Marshal(msgs)
			body = string(b)
		} else {
			b, _ := json.Marshal(v.Text)
			body = string(b)
		}
		x.add(schema.Prompts, &schema.Prompt{ID: ptr(v.ID), Name: v.Name, Version: int64(v.Version), Type: v.Type, Prompt: body,
			Config: valueJSON(v.Config), Labels: orEmpty(v.Labels), Tags: orEmpty(v.Tags), CommitMessage: v.CommitMessage,
			CreatedBy: ptr(v.CreatedBy), CreatedAt: ptr(v.CreatedAt), UpdatedAt: ptr(v.UpdatedAt)})
	}
	for _, c := range p.ScoreConfigs() {
		r := &schema.ScoreConfig{ID: c.ID, Name: c.Name, DataType: c.DataType, IsArchived: c.IsArchived, MinValue: c.MinValue,
			MaxValue: c.MaxValue, Description: c.Description, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
		if c.Categories != nil {
			cats := []map[string]any{}
			for _, ct := range c.Categories {
				cats = append(cats, map[string]any{"value": ct.Value, "label": ct.Label})
			}
			b, _ := json.Marshal(cats)
			r.Categories = ptr(string(b))
		}
		x.add(schema.ScoreConfigs, r)
	}
	for _, m := range p.Models() {
		if m.IsLangfuseManaged {
			continue
		}
		in, out, total := defaultPrices([]*lftest.Model{m}, &m.ID)
		r := &schema.Model{ID: m.ID, ModelName: m.ModelName, MatchPattern: m.MatchPattern, StartDate: m.StartDate, Unit: m.Unit,
			InputPrice: in, OutputPrice: out, TotalPrice: total, TokenizerID: m.TokenizerID, TokenizerConfig: valueJSON(m.TokenizerConfig),
			CreatedAt: m.CreatedAt, Prices: map[string]float64{}}
		tiers := []map[string]any{}
		for _, t := range m.PricingTiers {
			if t.IsDefault {
				maps.Copy(r.Prices, t.Prices)
			}
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
		b, _ := json.Marshal(tiers)
		r.PricingTiers = ptr(string(b))
		x.add(schema.Models, r)
	}
	names := map[string]string{}
	for _, d := range p.Datasets() {
		names[d.ID] = d.Name
		x.add(schema.Datasets, &schema.Dataset{ID: d.ID, Name: d.Name, Description: d.Description, Metadata: valueJSON(d.Metadata),
			InputSchema: valueJSON(d.InputSchema), ExpectedOutputSchema: valueJSON(d.ExpectedOutputSchema), CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt})
	}
	for _, it := range p.DatasetItems() {
		r := &schema.DatasetItem{ID: it.ID, DatasetID: it.DatasetID, DatasetName: names[it.DatasetID], Status: it.Status,
			Input: valueJSON(it.Input), ExpectedOutput: valueJSON(it.ExpectedOutput), Metadata: valueJSON(it.Metadata),
			SourceTraceID: it.SourceTraceID, SourceObservationID: it.SourceObservationID, CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt}
		x.add(schema.DatasetItems, r)
		for _, f := range []struct {
			name string
			v    *string
		}{{"input", r.Input}, {"expectedOutput", r.ExpectedOutput}, {"metadata", r.Metadata}} {
			for _, ref := range findMediaRefs(f.v) {
				if p.Media(ref.ID) == nil {
					continue // dataset items list only resolvable references
				}
				x.add(schema.Media, mediaExpect(p, ref, nil, nil, &it.ID, f.name, media))
			}
		}
	}
	for _, c := range p.Comments() {
		x.add(schema.Comments, &schema.Comment{ID: c.ID, ObjectType: c.ObjectType, ObjectID: c.ObjectID, Content: c.Content,
			AuthorUserID: c.AuthorUserID, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt})
	}
	for _, q := range p.AnnotationQueues() {
		x.add(schema.AnnotationQueues, &schema.AnnotationQueue{ID: q.ID, Name: q.Name, Description: q.Description,
			ScoreConfigIDs: orEmpty(q.ScoreConfigIDs), CreatedAt: q.CreatedAt, UpdatedAt: q.UpdatedAt})
	}
	for _, it := range p.AnnotationQueueItems() {
		x.add(schema.AnnotationQueueItems, &schema.AnnotationQueueItem{ID: it.ID, QueueID: it.QueueID, ObjectID: it.ObjectID,
			ObjectType: it.ObjectType, Status: it.Status, CompletedAt: it.CompletedAt, CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt})
	}
}

// compareLake checks that got (the lake's rows) equals want, table by table
// and field by field. JSON columns compare as JSON values; times as
// instants; nil and empty lists and maps are the same.
func compareLake(t *testing.T, got, want expected) {
	t.Helper()
	tables := map[string]bool{}
	for k := range got {
		tables[k] = true
	}
	for k := range want {
		tables[k] = true
	}
	names := slices.Sorted(maps.Keys(tables))
	for _, name := range names {
		g, w := got[name], want[name]
		if len(g) != len(w) {
			t.Errorf("table %s: %d rows in the lake, want %d", name, len(g), len(w))
		}
		var diffs []string
		for _, k := range slices.Sorted(maps.Keys(w)) {
			gr, ok := g[k]
			if !ok {
				diffs = append(diffs, fmt.Sprintf("missing row %q", k))
				continue
			}
			diffs = append(diffs, diffRow(k, gr, w[k])...)
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				diffs = append(diffs, fmt.Sprintf("unexpected row %q", k))
			}
		}
		sort.Strings(diffs)
		for i, d := range diffs {
			if i == 15 {
				t.Errorf("table %s: ... %d more differences", name, len(diffs)-15)
				break
			}
			t.Errorf("table %s: %s", name, d)
		}
	}
}

func diffRow(key string, got, want any) []string {
	gv, wv := reflect.ValueOf(got).Elem(), reflect.ValueOf(want).Elem()
	var out []string
	for i := 0; i < gv.NumField(); i++ {
		f := gv.Type().Field(i)
		tag := f.Tag.Get("lake")
		if tag == "" {
			continue
		}
		if !equalField(gv.Field(i), wv.Field(i), strings.HasSuffix(tag, ",json")) {
			out = append(out, fmt.Sprintf("row %q column %s: got %s, want %s", key, strings.Split(tag, ",")[0], show(gv.Field(i)), show(wv.Field(i))))
		}
	}
	return out
}

func show(v reflect.Value) string {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "NULL"
		}
		v = v.Elem()
	}
	s := fmt.Sprintf("%v", v.Interface())
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func equalField(g, w reflect.Value, isJSON bool) bool {
	if g.Kind() == reflect.Pointer {
		if g.IsNil() || w.IsNil() {
			return g.IsNil() == w.IsNil()
		}
		g, w = g.Elem(), w.Elem()
	}
	switch gi := g.Interface().(type) {
	case time.Time:
		// The API has millisecond precision; the store may have more.
		return gi.Equal(w.Interface().(time.Time).Truncate(time.Millisecond))
	case string:
		if isJSON {
			return sameJSON(gi, w.Interface().(string))
		}
	}
	if (g.Kind() == reflect.Slice || g.Kind() == reflect.Map) && g.Len() == 0 && w.Len() == 0 {
		return true
	}
	return reflect.DeepEqual(g.Interface(), w.Interface())
}

func sameJSON(a, b string) bool {
	if a == b {
		return true
	}
	var x, y any
	da, db := json.NewDecoder(strings.NewReader(a)), json.NewDecoder(strings.NewReader(b))
	da.UseNumber()
	db.UseNumber()
	if da.Decode(&x) != nil || db.Decode(&y) != nil {
		return false
	}
	return reflect.DeepEqual(normNumbers(x), normNumbers(y))
}

// normNumbers compares numbers by value: 1 and 1.0 are the same JSON number.
func normNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return x.String()
		}
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = normNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normNumbers(e)
		}
	}
	return v
}

// servedTraceName is the traceName v2 observations return for o: its
// trace name, else a root's own name; "" is none (eventsTable.ts).
func servedTraceName(o *lftest.Observation) *string {
	if o.TraceName != nil && *o.TraceName != "" {
		return o.TraceName
	}
	if o.IsRoot() && o.Name != nil && *o.Name != "" {
		return o.Name
	}
	return nil
}
