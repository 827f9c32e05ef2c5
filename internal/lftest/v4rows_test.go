package lftest_test

import (
	"strings"
	"testing"

	"github.com/lakefuse/lakefuse/internal/lftest"
)

// byTraceV2 reads every v2 observation with its trace context and groups
// the rows by trace id.
func byTraceV2(t *testing.T, c *client) map[string][]map[string]any {
	rows := walkCursor(t, c, "/api/public/v2/observations", vals("limit", "1000", "fields", "core,basic,io,trace_context"))
	out := map[string][]map[string]any{}
	for _, r := range rows {
		id := r["traceId"].(string)
		out[id] = append(out[id], r)
	}
	return out
}

// TestV2RowsCarryTheirOwnTraceContext: v4 keeps user, session, tags,
// release and trace name per row; a session set only on a child span is
// on that row and not on the root.
func TestV2RowsCarryTheirOwnTraceContext(t *testing.T) {
	_, c := serve(t, lftest.V4)
	childOnly := map[string]int{}
	for id, rows := range byTraceV2(t, c) {
		for _, key := range []string{"sessionId", "userId"} {
			var rootHas bool
			var childHas int
			for _, r := range rows {
				if r[key] == nil {
					continue
				}
				if r["parentObservationId"] == nil {
					rootHas = true
				} else {
					childHas++
				}
			}
			if !rootHas && childHas > 0 && childHas < len(rows)-1 {
				childOnly[key]++
				_ = id
			}
		}
	}
	if childOnly["sessionId"] == 0 || childOnly["userId"] == 0 {
		t.Errorf("traces where only some child rows carry the session / user: %v, want both > 0", childOnly)
	}
}

// TestAggregateTrace: trace-level values follow Langfuse's aggregation over
// the rows.
func TestAggregateTrace(t *testing.T) {
	p := smallProject()
	n := 0
	p.EachTrace(func(tr *lftest.Trace) bool {
		obs := p.TraceObservations(tr.ID)
		agg := lftest.AggregateTrace(obs)
		var rootSession *string
		for _, o := range obs {
			if o.ParentObservationID == "" {
				rootSession = o.SessionID
			}
		}
		if rootSession == nil && tr.SessionID != nil {
			n++
			if agg.SessionID == nil || *agg.SessionID != *tr.SessionID {
				t.Errorf("trace %s: aggregated session %v, want the child's %q", tr.ID, agg.SessionID, *tr.SessionID)
			}
		}
		return true
	})
	if n == 0 {
		t.Fatal("no trace with a child-only session")
	}
}

// TestPlaceholderRoots: V4 serves the t-<traceId> root of traces migrated
// from the v3 tables, with the trace's name, input and output and no end
// time, and the former root as its child; V3 serves neither.
func TestPlaceholderRoots(t *testing.T) {
	p, c := serve(t, lftest.V4)
	found := 0
	for id, rows := range byTraceV2(t, c) {
		var ph map[string]any
		for _, r := range rows {
			if r["id"] == lftest.PlaceholderID(id) {
				ph = r
			}
		}
		if ph == nil {
			continue
		}
		found++
		tr := p.Trace(id)
		if ph["type"] != "SPAN" || ph["parentObservationId"] != nil || ph["endTime"] != nil {
			t.Errorf("placeholder %s: type %v parent %v end %v, want SPAN, null, null", ph["id"], ph["type"], ph["parentObservationId"], ph["endTime"])
		}
		if s, ok := tr.Input.Text(); ok && ph["input"] != s {
			t.Errorf("placeholder %s: input %v, want the trace's", ph["id"], ph["input"])
		}
		if tr.Name != nil && *tr.Name != "" && ph["name"] != *tr.Name {
			t.Errorf("placeholder %s: name %v, want %q", ph["id"], ph["name"], *tr.Name)
		}
		children := 0
		for _, r := range rows {
			if r["parentObservationId"] == ph["id"] {
				children++
			}
			if r["id"] != ph["id"] && r["parentObservationId"] == nil {
				t.Errorf("trace %s: row %s has no parent besides the placeholder", id, r["id"])
			}
		}
		if children == 0 {
			t.Errorf("placeholder %s has no children", ph["id"])
		}
	}
	if found == 0 {
		t.Fatal("no placeholder roots served in V4 mode")
	}

	_, c3 := serve(t, lftest.V3)
	for _, r := range walkPages(t, c3, "/api/public/observations", nil, 100) {
		if strings.HasPrefix(r["id"].(string), "t-") {
			t.Fatalf("V3 serves placeholder %s", r["id"])
		}
	}
}
