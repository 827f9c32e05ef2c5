package lftest

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

var scoreColumns = map[string]column[*Score]{
	"id":            func(s *Score) any { return s.ID },
	"name":          func(s *Score) any { return s.Name },
	"timestamp":     func(s *Score) any { return s.Timestamp },
	"source":        func(s *Score) any { return s.Source },
	"dataType":      func(s *Score) any { return s.DataType },
	"value":         func(s *Score) any { return s.Value },
	"stringValue":   func(s *Score) any { return s.StringValue },
	"traceId":       func(s *Score) any { return s.TraceID },
	"observationId": func(s *Score) any { return s.ObservationID },
	"sessionId":     func(s *Score) any { return s.SessionID },
	"datasetRunId":  func(s *Score) any { return s.DatasetRunID },
	"environment":   func(s *Score) any { return envOr(s.Environment) },
	"configId":      func(s *Score) any { return s.ConfigID },
	"queueId":       func(s *Score) any { return s.QueueID },
	"authorUserId":  func(s *Score) any { return s.AuthorUserID },
	"metadata":      func(s *Score) any { return metadataStrings(s.Metadata) },
}

func eqPtr(p *string, v string) bool { return p != nil && *p == v }

// hScoresV2 serves GET /api/public/v2/scores (v3).
func hScoresV2(c *call) (any, error) {
	q := c.q
	pr, err := parsePage(q, 50, 100)
	if err != nil {
		return nil, err
	}
	withTrace := true
	if f := q.Get("fields"); f != "" {
		withTrace = slices.Contains(listParam(q, "fields"), "trace")
	}
	var keep func(*Score) bool
	if raw := q.Get("filter"); raw != "" {
		conds, err := parseFilter(raw, scoreColumns)
		if err != nil {
			return nil, err
		}
		keep = func(s *Score) bool { return matchFilter(s, conds, scoreColumns) }
	} else if keep, err = c.scoreV2Filter(); err != nil {
		return nil, err
	}
	tr := c.tr()
	return listPage(c.p.scoreIndex().sorted, pr, keep, func(s *Score) any {
		m := c.scoreV2(s, false)
		if withTrace {
			var t *Trace
			if s.TraceID != nil {
				t = tr.trace(*s.TraceID)
			}
			m["trace"] = scoreTraceJSON(t)
		}
		return m
	}), nil
}

func (c *call) scoreV2Filter() (func(*Score) bool, error) {
	q := c.q
	from, err := timeParam(q, "fromTimestamp")
	if err != nil {
		return nil, err
	}
	to, err := timeParam(q, "toTimestamp")
	if err != nil {
		return nil, err
	}
	source, err := enumParam(q, "source", []string{SourceAnnotation, SourceAPI, SourceEval})
	if err != nil {
		return nil, err
	}
	dataType, err := enumParam(q, "dataType", ScoreDataTypes)
	if err != nil {
		return nil, err
	}
	op := q.Get("operator")
	var value float64
	if op != "" || q.Get("value") != "" {
		if !slices.Contains([]string{"<", ">", "<=", ">=", "!=", "="}, op) {
			return nil, zodError(issueEnum("operator", []string{"<", ">", "<=", ">=", "!=", "="}, op))
		}
		if value, err = strconv.ParseFloat(q.Get("value"), 64); err != nil {
			return nil, zodError(issueNaN("value"))
		}
	}
	name, userID, configID, sessionID, runID, traceID, queueID :=
		q.Get("name"), q.Get("userId"), q.Get("configId"), q.Get("sessionId"), q.Get("datasetRunId"), q.Get("traceId"), q.Get("queueId")
	ids, obsIDs := listParam(q, "scoreIds"), listParam(q, "observationId")
	envs, tags := multiParam(q, "environment"), multiParam(q, "traceTags")
	tr := c.tr()
	return func(s *Score) bool {
		switch {
		case !from.IsZero() && s.Timestamp.Before(from), !to.IsZero() && !s.Timestamp.Before(to),
			name != "" && s.Name != name, source != "" && s.Source != source, dataType != "" && s.DataType != dataType,
			configID != "" && !eqPtr(s.ConfigID, configID), sessionID != "" && !eqPtr(s.SessionID, sessionID),
			runID != "" && !eqPtr(s.DatasetRunID, runID), traceID != "" && !eqPtr(s.TraceID, traceID),
			queueID != "" && !eqPtr(s.QueueID, queueID),
			len(ids) > 0 && !slices.Contains(ids, s.ID),
			len(obsIDs) > 0 && (s.ObservationID == nil || !slices.Contains(obsIDs, *s.ObservationID)),
			len(envs) > 0 && !slices.Contains(envs, envOr(s.Environment)),
			op != "" && !cmpScore(op, s.Value, value):
			return false
		}
		if userID != "" || len(tags) > 0 {
			var t *Trace
			if s.TraceID != nil {
				t = tr.trace(*s.TraceID)
			}
			if t == nil || (userID != "" && !eqPtr(t.UserID, userID)) || !hasAllTags(t.Tags, tags) {
				return false
			}
		}
		return true
	}, nil
}

func cmpScore(op string, a, b float64) bool {
	if op == "!=" {
		return a != b
	}
	return cmpOp(op, a, b)
}

// hScoresV1 serves GET /api/public/scores, the v1 list the real server still
// answers without documenting it: trace scores only, in the ScoreV1 shape.
func hScoresV1(c *call) (any, error) {
	pr, err := parsePage(c.q, 50, 100)
	if err != nil {
		return nil, err
	}
	keep, err := c.scoreV2Filter()
	if err != nil {
		return nil, err
	}
	return listPage(c.p.scoreIndex().sorted, pr, func(s *Score) bool {
		return s.TraceID != nil && s.DataType != DataCorrection && keep(s)
	}, func(s *Score) any { return c.scoreV2(s, true) }), nil
}

// hScoreV2 serves GET /api/public/v2/scores/{scoreId}.
func hScoreV2(c *call) (any, error) {
	for _, s := range c.p.scoreIndex().sorted {
		if s.ID == c.params["scoreId"] {
			return c.scoreV2(s, false), nil
		}
	}
	return nil, notFound("Score not found")
}

var scoreV3Groups = []string{"details", "subject", "annotation"}

// hScoresV3 serves GET /api/public/v3/scores: cursor pagination by
// (timestamp, id) descending.
func hScoresV3(c *call) (any, error) {
	q := c.q
	limit, err := intParam(q, "limit", 50, 1, 100)
	if err != nil {
		return nil, err
	}
	groups := fieldGroups{}
	for _, f := range listParam(q, "fields") {
		if !slices.Contains(scoreV3Groups, f) {
			return nil, badRequest("Invalid fields group: " + f + ". Allowed: details, subject, annotation")
		}
		groups[f] = true
	}
	keep, err := c.scoreV3Filter()
	if err != nil {
		return nil, err
	}
	var afterT time.Time
	afterID := ""
	if cur := q.Get("cursor"); cur != "" {
		if afterT, afterID, err = decodeTimeIDCursor(cur, 0); err != nil {
			return nil, err
		}
	}
	var rows []*Score
	for _, s := range c.p.scoreIndex().sorted {
		if afterID != "" && !(s.Timestamp.Before(afterT) || (s.Timestamp.Equal(afterT) && s.ID < afterID)) {
			continue
		}
		if keep(s) {
			rows = append(rows, s)
			if len(rows) > limit {
				break
			}
		}
	}
	meta := map[string]any{"limit": limit}
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		meta["cursor"] = encodeTimeIDCursor(0, last.Timestamp, last.ID)
	}
	data := make([]map[string]any, 0, len(rows))
	for _, s := range rows {
		data = append(data, c.scoreV3(s, groups))
	}
	return map[string]any{"data": data, "meta": meta}, nil
}

func upperList(q map[string][]string, name string) []string {
	vals := listParam(q, name)
	for i := range vals {
		vals[i] = strings.ToUpper(vals[i])
	}
	return vals
}

func (c *call) scoreV3Filter() (func(*Score) bool, error) {
	q := c.q
	from, err := timeParam(q, "fromTimestamp")
	if err != nil {
		return nil, err
	}
	to, err := timeParam(q, "toTimestamp")
	if err != nil {
		return nil, err
	}
	ids, names, envs := listParam(q, "id"), listParam(q, "name"), listParam(q, "environment")
	sources, dataTypes := upperList(q, "source"), upperList(q, "dataType")
	configs, queues, authors := listParam(q, "configId"), listParam(q, "queueId"), listParam(q, "authorUserId")
	traces, sessions, observations, experiments := listParam(q, "traceId"), listParam(q, "sessionId"), listParam(q, "observationId"), listParam(q, "experimentId")
	for _, dt := range dataTypes {
		if !slices.Contains(ScoreDataTypes, dt) {
			return nil, badRequest("Invalid dataType: " + dt)
		}
	}
	switch {
	case len(observations) > 0 && len(traces) == 0:
		return nil, badRequest("observationId requires traceId, because observation ids are scoped to a trace")
	case len(sessions) > 0 && (len(traces) > 0 || len(observations) > 0 || len(experiments) > 0):
		return nil, badRequest("sessionId cannot be combined with traceId, observationId or experimentId")
	case len(experiments) > 0 && (len(traces) > 0 || len(observations) > 0):
		return nil, badRequest("experimentId cannot be combined with traceId or observationId")
	}
	values := listParam(q, "value")
	minV, maxV := math.Inf(-1), math.Inf(1)
	hasRange := q.Get("valueMin") != "" || q.Get("valueMax") != ""
	if len(values) > 0 || hasRange {
		if len(dataTypes) != 1 {
			return nil, badRequest("value, valueMin and valueMax require exactly one dataType")
		}
		if hasRange && dataTypes[0] != DataNumeric {
			return nil, badRequest("valueMin and valueMax require dataType NUMERIC")
		}
		if len(values) > 0 && !slices.Contains([]string{DataNumeric, DataBoolean, DataCategorical}, dataTypes[0]) {
			return nil, badRequest("value requires dataType NUMERIC, BOOLEAN or CATEGORICAL")
		}
		for _, v := range values {
			if dataTypes[0] == DataBoolean && v != "true" && v != "false" {
				return nil, badRequest("BOOLEAN values must be true or false")
			}
			if f, err := strconv.ParseFloat(v, 64); dataTypes[0] == DataNumeric && (err != nil || math.IsInf(f, 0) || math.IsNaN(f)) {
				return nil, badRequest("NUMERIC values must be finite numbers")
			}
		}
		for name, dst := range map[string]*float64{"valueMin": &minV, "valueMax": &maxV} {
			if v := q.Get(name); v != "" {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil {
					return nil, zodError(issueNaN(name))
				}
				*dst = f
			}
		}
	}
	in := func(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }
	inPtr := func(list []string, p *string) bool { return len(list) == 0 || (p != nil && slices.Contains(list, *p)) }
	return func(s *Score) bool {
		if !from.IsZero() && s.Timestamp.Before(from) || !to.IsZero() && !s.Timestamp.Before(to) {
			return false
		}
		if !in(ids, s.ID) || !in(names, s.Name) || !in(envs, envOr(s.Environment)) || !in(sources, s.Source) ||
			!in(dataTypes, s.DataType) || !inPtr(configs, s.ConfigID) || !inPtr(queues, s.QueueID) ||
			!inPtr(authors, s.AuthorUserID) || !inPtr(traces, s.TraceID) || !inPtr(sessions, s.SessionID) ||
			!inPtr(observations, s.ObservationID) || !inPtr(experiments, s.DatasetRunID) {
			return false
		}
		if len(values) > 0 {
			ok := false
			for _, v := range values {
				switch s.DataType {
				case DataNumeric:
					f, _ := strconv.ParseFloat(v, 64)
					ok = ok || s.Value == f
				case DataBoolean:
					ok = ok || (v == "true") == (s.Value == 1)
				default:
					ok = ok || strOr(s.StringValue, "") == v
				}
			}
			if !ok {
				return false
			}
		}
		return !hasRange || (s.Value >= minV && s.Value <= maxV)
	}, nil
}
