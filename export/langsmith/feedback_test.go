package langsmith

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/internal/lsfixture"
	"github.com/lakefuse/lakefuse/schema"
)

const gradedRunID = "e26174e5-2190-4566-b970-7c3d9a621baa" // the feedback example's run

func feedbackRecords(t *testing.T) []json.RawMessage {
	t.Helper()
	recs := []json.RawMessage{lsfixture.FeedbackExample()}
	for _, s := range []string{
		`{"id":"f1","created_at":"2024-05-06T10:00:00Z","run_id":"` + lsfixture.ExampleOpenAIRunID + `","trace_id":"` + lsfixture.ExampleOpenAIRunID + `","key":"helpful","score":true,"feedback_source":{"type":"model"}}`,
		`{"id":"f2","created_at":"2024-05-06T10:00:01","run_id":"` + lsfixture.ExampleChildID + `","key":"category","score":null,"value":"great","feedback_source":{"type":"api"}}`,
		`{"id":"f3","created_at":"2024-05-06T10:00:02","run_id":"99999999-9999-4999-8999-999999999999","trace_id":"88888888-8888-4888-8888-888888888888","key":"x","score":0.25}`,
		`{"id":"f4","created_at":"2024-05-06T10:00:03","run_id":"77777777-7777-4777-8777-777777777777","key":"y","score":1}`,
		`{"id":"f5","created_at":"2024-05-06T10:00:04","run_id":null,"feedback_thread_id":"thread-9","session_id":"` + project + `","key":"thread_quality","score":4}`,
		`{"id":"f6","created_at":"2024-05-06T10:00:05","run_id":"` + lsfixture.ExampleParentID + `","key":"fix","correction":{"output":"better"}}`,
		`{"id":"f7","created_at":"2024-05-06T10:00:06","run_id":"` + lsfixture.ExampleGrandchildID + `","key":"note","comment":"just a note"}`,
		`{"id":"f8","created_at":"2024-05-06T10:00:07","run_id":"` + lsfixture.ExampleGrandchildID + `","key":"empty"}`,
		`{"id":"f1","created_at":"2024-05-06T10:00:00Z","run_id":"` + lsfixture.ExampleOpenAIRunID + `","key":"helpful","score":true}`,
		`{"id":"f9","created_at":"2024-05-06T10:00:08","key":"project_level","score":1}`,
		`{"id":"f10","created_at":"2024-05-06T10:00:09","modified_at":"2024-05-07T00:00:00","run_id":"` + gradedRunID + `","key":"structured","value":{"a":1}}`,
	} {
		recs = append(recs, json.RawMessage(s))
	}
	return recs
}

func feedbackExport(t *testing.T) bucket.Bucket {
	t.Helper()
	ex, err := lsfixture.Examples(tenant, project)
	if err != nil {
		t.Fatal(err)
	}
	parent := lsfixture.ExampleParentID
	start := time.Date(2024, 9, 19, 17, 16, 48, 600000000, time.UTC)
	end := start.Add(time.Second)
	ex = append(ex, lsfixture.Run{
		ID: gradedRunID, TenantID: tenant, SessionID: project, TraceID: parent, ParentRunID: &parent, Name: "graded", RunType: "llm",
		StartTime: start, EndTime: &end, Status: "success", ParentRunIDs: []string{parent},
		DottedOrder: "20240919T171648521691Z" + parent + "." + lsfixture.DottedSegment(start, gradedRunID),
	})
	src := bucket.NewMemory()
	putExport(t, src, layout(export1), ex, lsfixture.V1())
	return src
}

func TestFeedback(t *testing.T) {
	recs := feedbackRecords(t)
	array, _ := json.MarshalIndent(recs, "", "  ")
	var lines bytes.Buffer
	for _, r := range recs {
		var c bytes.Buffer
		_ = json.Compact(&c, r)
		lines.Write(c.Bytes())
		lines.WriteByte('\n')
	}
	for name, data := range map[string][]byte{"json array": array, "json lines": lines.Bytes()} {
		t.Run(name, func(t *testing.T) {
			l, st := convert(t, feedbackExport(t), "mem://src", Options{Feedback: feedbackFile(data)})
			if st.FeedbackRead != 12 || st.FeedbackScores != 8 || st.FeedbackDuplicates != 1 || sum(st.FeedbackSkipped) != 3 || st.StatsScores != 0 || st.Scores != 8 {
				t.Fatalf("stats %+v", st)
			}
			for _, reason := range []string{"its run is not in the export and the record has no trace_id", "no score, value, correction or comment", "feedback on neither a run nor a thread"} {
				if st.FeedbackSkipped[reason] != 1 {
					t.Errorf("skipped %v, want one %q", st.FeedbackSkipped, reason)
				}
			}
			parentTrace := hexOf(lsfixture.ExampleParentID)
			check := func(id, dataType string, value *float64, sv string, trace, obs string, source string) schema.Score {
				t.Helper()
				s, ok := l.scores[id]
				if !ok {
					t.Fatalf("no score %s", id)
				}
				if s.DataType != dataType || (value == nil) != (s.Value == nil) || value != nil && *value != *s.Value || str(s.StringValue) != sv ||
					str(s.TraceID) != trace || str(s.ObservationID) != obs || s.Source != source || l.projects["scores/"+id] != project {
					t.Errorf("score %s: %+v (value %v, string %s, trace %s, obs %s)", id, s, deref(s.Value), str(s.StringValue), str(s.TraceID), str(s.ObservationID))
				}
				return s
			}
			one, zero, quarter, four := 1.0, 0.0, 0.25, 4.0
			doc := check("62104630-c7f5-41dc-8ee2-0acee5c14224", "NUMERIC", &one, "<nil>", parentTrace, spanHex(gradedRunID), "ANNOTATION")
			if !doc.Timestamp.Equal(mustTime(t, "2024-05-05T23:23:11.077838Z")) || !doc.UpdatedAt.Equal(mustTime(t, "2024-05-05T23:23:11.232962Z")) ||
				str(doc.Comment) != "I gave this score because the answer was correct." || doc.Name != "correctness" {
				t.Errorf("documented feedback %+v", doc)
			}
			if m := lsMeta(t, doc.Metadata); m["feedback_source"].(map[string]any)["user_id"] != "ad52b092-1346-42f4-a934-6e5521562fab" {
				t.Errorf("metadata %v", m)
			}
			check("f1", "BOOLEAN", &one, "True", hexOf(lsfixture.ExampleOpenAIRunID), "<nil>", "EVAL")
			check("f2", "CATEGORICAL", nil, "great", parentTrace, spanHex(lsfixture.ExampleChildID), "API")
			check("f3", "NUMERIC", &quarter, "<nil>", "88888888888848888888888888888888", spanHex("99999999-9999-4999-8999-999999999999"), "API")
			s5 := check("f5", "NUMERIC", &four, "<nil>", "<nil>", "<nil>", "API")
			if str(s5.SessionID) != "thread-9" {
				t.Errorf("thread score session %s", str(s5.SessionID))
			}
			check("f6", "CORRECTION", &zero, `{"output":"better"}`, parentTrace, "<nil>", "API")
			check("f7", "TEXT", nil, "just a note", parentTrace, spanHex(lsfixture.ExampleGrandchildID), "API")
			check("f10", "TEXT", nil, `{"a":1}`, parentTrace, spanHex(gradedRunID), "API")
		})
	}
}

func TestFeedbackFileErrors(t *testing.T) {
	for name, data := range map[string]string{
		"truncated array": `[{"id":"a","key":"k","score":1,"run_id":"x","created_at":"2024-01-01"}, {"id":`,
		"not objects":     `[1, 2]`,
		"garbage":         `hello`,
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := tryConvert(feedbackExport(t), "mem://src", Options{Feedback: feedbackFile([]byte(data))})
			if err == nil || !strings.Contains(err.Error(), "feedback.json") || !strings.Contains(err.Error(), "record") {
				t.Fatalf("error %v", err)
			}
		})
	}
	t.Run("empty file", func(t *testing.T) {
		_, st, err := tryConvert(feedbackExport(t), "mem://src", Options{Feedback: feedbackFile(nil)})
		if err != nil || st == nil {
			t.Fatalf("empty feedback file: %v", err)
		}
	})
}
