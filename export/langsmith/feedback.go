package langsmith

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/lakefuse/lakefuse/internal/jsonx"
	"github.com/lakefuse/lakefuse/schema"
)

// statsScores turns a run's feedback_stats into scores. The export has
// only these aggregates (n, avg, … per feedback key), not the feedback
// itself, so each numeric key becomes one NUMERIC score whose value is the
// average; the comment says so and the metadata keeps the whole aggregate.
// Keys without a numeric average (string feedback, counted in values) stay
// only in the observation's metadata. Scores of a root run score the trace.
func statsScores(r *run, res *resolved, env string, emit func(*schema.Score) error) error {
	ts := r.end
	if ts.IsZero() {
		ts = res.start
	}
	var err error
	jsonx.Members(r.fbStats, func(k, v string) bool {
		key, ok := unquote(k)
		if !ok || key == "" {
			return true
		}
		var st struct {
			N   *float64 `json:"n"`
			Avg *float64 `json:"avg"`
		}
		if json.Unmarshal(bytesOf(v), &st) != nil || st.Avg == nil {
			return true
		}
		comment := "LangSmith feedback_stats: average of all feedback with this key (an aggregate, not a single score)"
		if st.N != nil {
			comment = fmt.Sprintf("LangSmith feedback_stats: average of %s feedback values (an aggregate, not a single score)", strconv.FormatFloat(*st.N, 'f', -1, 64))
		}
		var o obj
		o.begin()
		o.key("langsmith")
		o.begin()
		o.boolean("aggregate", true)
		o.str("run_id", res.id)
		o.str("trace_id", res.traceID)
		o.str("key", key)
		o.raw("feedback_stats", v)
		o.end()
		o.end()
		meta := string(o.b)
		avg := *st.Avg
		s := &schema.Score{
			ID: derivedUUID("feedback_stats", res.id, key), Timestamp: ts, Name: strings.Clone(key), DataType: "NUMERIC", Value: &avg,
			Source: "API", Comment: &comment, Metadata: &meta, Environment: env, TraceID: &res.traceHex,
			CreatedAt: ts, UpdatedAt: ts,
		}
		if !res.root {
			s.ObservationID = &res.obsID
		}
		err = emit(s)
		return err == nil
	})
	return err
}

// feedbackRecord is a LangSmith feedback record as the feedback API (and
// the SDK's list_feedback) returns it.
type feedbackRecord struct {
	ID               string          `json:"id"`
	CreatedAt        json.RawMessage `json:"created_at"`
	ModifiedAt       json.RawMessage `json:"modified_at"`
	RunID            *string         `json:"run_id"`
	TraceID          *string         `json:"trace_id"`
	SessionID        *string         `json:"session_id"`
	Key              string          `json:"key"`
	Score            json.RawMessage `json:"score"`
	Value            json.RawMessage `json:"value"`
	Comment          *string         `json:"comment"`
	Correction       json.RawMessage `json:"correction"`
	IsRoot           *bool           `json:"is_root"`
	FeedbackThreadID *string         `json:"feedback_thread_id"`
	FeedbackSource   *struct {
		Type string `json:"type"`
	} `json:"feedback_source"`
}

// readFeedback streams the records of a feedback file: a JSON array (what
// the API returns), JSON lines, or concatenated objects. raw is the record
// as it was written.
func readFeedback(ctx context.Context, rd io.Reader, name string, fn func(n int, rec *feedbackRecord, raw json.RawMessage) error) error {
	br := bufio.NewReaderSize(rd, 1<<16)
	var first byte
	for {
		c, err := br.ReadByte()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read feedback %s: %w", name, err)
		}
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != 0xef && c != 0xbb && c != 0xbf {
			first = c
			_ = br.UnreadByte()
			break
		}
	}
	dec := json.NewDecoder(br)
	dec.UseNumber()
	inArray := first == '['
	if inArray {
		if _, err := dec.Token(); err != nil {
			return fmt.Errorf("feedback %s: %w", name, err)
		}
	}
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if inArray && !dec.More() {
			break
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if err == io.EOF && !inArray {
				return nil
			}
			return fmt.Errorf("feedback %s record %d: %w (want a JSON array or JSON lines of LangSmith feedback)", name, n, err)
		}
		var rec feedbackRecord
		if err := json.Unmarshal(raw, &rec); err != nil || len(bytes.TrimSpace(raw)) == 0 || raw[0] != '{' {
			return fmt.Errorf("feedback %s record %d: not a LangSmith feedback object", name, n)
		}
		if err := fn(n, &rec, raw); err != nil {
			return err
		}
	}
	return nil
}

// errSkip marks a feedback record that has nothing a Langfuse score can
// take; it is counted, not fatal.
var errSkip = errors.New("skipped")

// feedbackTarget is what the converted runs tell about a feedback's run.
type feedbackTarget struct {
	found   bool
	root    bool
	trace   string // lake trace id
	project string
}

// feedbackScore converts one record. target is what the conversion knows
// about the record's run (zero when the run is not in the export).
func feedbackScore(rec *feedbackRecord, raw json.RawMessage, target feedbackTarget, defaultProject, env string) (*schema.Score, string, error) {
	if rec.ID == "" {
		return nil, "", fmt.Errorf("%w: no id", errSkip)
	}
	if rec.Key == "" {
		return nil, "", fmt.Errorf("%w: no key", errSkip)
	}
	var ts time.Time
	for _, t := range []json.RawMessage{rec.CreatedAt, rec.ModifiedAt} {
		if v, ok := eventTime(string(t)); ok {
			ts = v
			break
		}
	}
	if ts.IsZero() {
		return nil, "", fmt.Errorf("%w: no created_at", errSkip)
	}
	updated := ts
	if v, ok := eventTime(string(rec.ModifiedAt)); ok {
		updated = v
	}
	s := &schema.Score{ID: rec.ID, Timestamp: ts, Name: rec.Key, Environment: env, CreatedAt: ts, UpdatedAt: updated}
	project := target.project
	if project == "" && rec.SessionID != nil {
		project = *rec.SessionID
	}
	if project == "" {
		project = defaultProject
	}
	switch {
	case rec.RunID != nil && *rec.RunID != "":
		runID, _ := canonicalID(*rec.RunID)
		switch {
		case target.found:
			s.TraceID = &target.trace
		case rec.TraceID != nil && *rec.TraceID != "":
			t := traceHex(*rec.TraceID)
			s.TraceID = &t
		default:
			return nil, "", fmt.Errorf("%w: its run is not in the export and the record has no trace_id", errSkip)
		}
		root := target.root
		if !target.found {
			tid, _ := canonicalID(derefOr(rec.TraceID))
			root = rec.IsRoot != nil && *rec.IsRoot || runID == tid
		}
		if !root {
			obs := spanHex(runID)
			s.ObservationID = &obs
		}
	case rec.FeedbackThreadID != nil && *rec.FeedbackThreadID != "":
		s.SessionID = rec.FeedbackThreadID
	default:
		return nil, "", fmt.Errorf("%w: feedback on neither a run nor a thread", errSkip)
	}
	if project == "" {
		return nil, "", fmt.Errorf("%w: cannot tell its LangSmith project (no session_id)", errSkip)
	}
	if err := scoreValue(rec, s); err != nil {
		return nil, "", err
	}
	if rec.Comment != nil && *rec.Comment != "" {
		s.Comment = rec.Comment
	}
	s.Source = "API"
	if rec.FeedbackSource != nil {
		switch rec.FeedbackSource.Type {
		case "app":
			s.Source = "ANNOTATION"
		case "model", "auto_eval":
			s.Source = "EVAL"
		}
	}
	var o obj
	o.begin()
	o.raw("langsmith", compact(raw))
	o.end()
	meta := string(o.b)
	s.Metadata = &meta
	return s, project, nil
}

func compact(v json.RawMessage) string {
	var buf bytes.Buffer
	if json.Compact(&buf, v) != nil {
		return string(bytes.TrimSpace(v))
	}
	return buf.String()
}

func derefOr(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func isNull(b json.RawMessage) bool {
	b = bytes.TrimSpace(b)
	return len(b) == 0 || string(b) == "null"
}

// scoreValue maps score and value: a number is NUMERIC, a boolean BOOLEAN
// (1 or 0, "True" or "False"), a string CATEGORICAL, an object or array TEXT
// (its JSON); without either, a correction is a CORRECTION and a lone
// comment TEXT.
func scoreValue(rec *feedbackRecord, s *schema.Score) error {
	v := rec.Score
	if isNull(v) {
		v = rec.Value
	}
	v = bytes.TrimSpace(v)
	switch {
	case !isNull(v) && (v[0] == 't' || v[0] == 'f'):
		b := v[0] == 't'
		f, str := 0.0, "False"
		if b {
			f, str = 1, "True"
		}
		s.DataType, s.Value, s.StringValue = "BOOLEAN", &f, &str
	case !isNull(v) && v[0] == '"':
		str, _ := unquote(string(v))
		str = strings.Clone(str)
		s.DataType, s.StringValue = "CATEGORICAL", &str
	case !isNull(v) && (v[0] == '{' || v[0] == '['):
		str := compact(v)
		s.DataType, s.StringValue = "TEXT", &str
	case !isNull(v):
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return fmt.Errorf("%w: score %s is not a number", errSkip, v)
		}
		s.DataType, s.Value = "NUMERIC", &f
	case !isNull(rec.Correction):
		str, ok := unquote(string(rec.Correction))
		if !ok {
			str = compact(rec.Correction)
		}
		zero := 0.0
		s.DataType, s.Value, s.StringValue = "CORRECTION", &zero, &str
	case rec.Comment != nil && *rec.Comment != "":
		s.DataType, s.StringValue = "TEXT", rec.Comment
	default:
		return fmt.Errorf("%w: no score, value, correction or comment", errSkip)
	}
	return nil
}
