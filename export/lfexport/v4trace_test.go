package lfexport

import (
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/internal/lftest"
	"github.com/lakefuse/lakefuse/schema"
)

// TestV4TracesAggregateRows: v4 keeps the trace context per row. The
// traces table aggregates it as Langfuse does (a session or user set only
// on a child span is the trace's; the latest value wins), the sessions
// table has the child-only session, each observation keeps its own values,
// and a placeholder root t-<traceId> gives its trace name, input and
// output and is marked in the lake.
func TestV4TracesAggregateRows(t *testing.T) {
	p := lftest.NewProject("proj-agg", "agg")
	at := lftest.DefaultEnd.Add(-30 * time.Hour)
	sec := func(n int) time.Time { return at.Add(time.Duration(n) * time.Second) }
	endp := func(n int) *time.Time { e := sec(n); return &e }
	const ta, tb = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	for _, tr := range []*lftest.Trace{{ID: ta, Timestamp: sec(0)}, {ID: tb, Timestamp: sec(100), Name: ptr("legacy-trace")}} {
		if err := p.UpsertTrace(tr); err != nil {
			t.Fatal(err)
		}
	}
	obs := []*lftest.Observation{
		{ID: "a-root", TraceID: ta, Type: lftest.TypeAgent, Name: ptr("root-span"), StartTime: sec(0), EndTime: endp(9),
			UserID: ptr("u1"), Release: ptr("r1"), Tags: []string{"x"}, Input: lftest.JSONPayload(`{"q":"a"}`)},
		{ID: "a-child-1", TraceID: ta, ParentObservationID: "a-root", Type: lftest.TypeSpan, StartTime: sec(1), EndTime: endp(2),
			SessionID: ptr("s-child"), UserID: ptr("u1")},
		{ID: "a-child-2", TraceID: ta, ParentObservationID: "a-child-1", Type: lftest.TypeGeneration, StartTime: sec(2), EndTime: endp(3),
			SessionID: ptr("s-child"), UserID: ptr("u2"), Version: ptr("v7")},
		{ID: lftest.PlaceholderID(tb), TraceID: tb, Type: lftest.TypeSpan, Name: ptr("legacy-trace"), StartTime: sec(100),
			TraceName: ptr("legacy-trace"), Input: lftest.JSONPayload(`{"question":"old"}`), Output: lftest.TextPayload("answer"),
			Placeholder: true},
		{ID: "b-former-root", TraceID: tb, ParentObservationID: lftest.PlaceholderID(tb), Type: lftest.TypeAgent, Name: ptr("agent"),
			StartTime: sec(100), EndTime: endp(104), TraceName: ptr("legacy-trace"), Input: lftest.JSONPayload(`{"q":"inner"}`)},
	}
	for i, o := range obs {
		o.Level, o.Environment = lftest.LevelDefault, "default"
		o.CreatedAt, o.UpdatedAt = sec(200+i), sec(200+i) // later rows were written later
	}
	if err := p.AddObservations(obs...); err != nil {
		t.Fatal(err)
	}
	s, k := serve(t, lftest.V4, p)
	b := bucket.NewMemory()
	export(t, b, Options{Client: client(t, s, k)})
	got := readLake(t, b)

	trA, _ := got["traces"][ta].(*schema.Trace)
	if trA == nil {
		t.Fatal("trace A missing")
	}
	if str(trA.SessionID) != "s-child" || str(trA.UserID) != "u2" || str(trA.Name) != "root-span" ||
		str(trA.Version) != "v7" || str(trA.Release) != "r1" || str(trA.Input) != `{"q":"a"}` {
		t.Errorf("trace A: session %q user %q name %q version %q release %q input %q; want s-child, u2 (latest), root-span, v7, r1, the root's",
			str(trA.SessionID), str(trA.UserID), str(trA.Name), str(trA.Version), str(trA.Release), str(trA.Input))
	}
	if _, ok := got["sessions"]["s-child"]; !ok {
		t.Error("sessions: s-child (set on child spans only) missing")
	}
	if r := got["observations"]["a-root"].(*schema.Observation); r.SessionID != nil || str(r.UserID) != "u1" {
		t.Errorf("root row: session %v user %q, want its own (null, u1)", r.SessionID, str(r.UserID))
	}

	trB, _ := got["traces"][tb].(*schema.Trace)
	if trB == nil {
		t.Fatal("trace B missing")
	}
	if str(trB.Name) != "legacy-trace" || str(trB.Input) != `{"question":"old"}` || str(trB.Output) != `"answer"` || !trB.Timestamp.Equal(sec(100)) {
		t.Errorf("trace B: name %q input %q output %q at %v, want the placeholder's", str(trB.Name), str(trB.Input), str(trB.Output), trB.Timestamp)
	}
	ph := got["observations"][lftest.PlaceholderID(tb)].(*schema.Observation)
	if ph.PlaceholderRoot == nil || !*ph.PlaceholderRoot {
		t.Errorf("placeholder row: placeholder_root %v, want true", ph.PlaceholderRoot)
	}
	for _, id := range []string{"b-former-root", "a-root"} {
		if r := got["observations"][id].(*schema.Observation); r.PlaceholderRoot != nil {
			t.Errorf("row %s: placeholder_root %v, want null", id, *r.PlaceholderRoot)
		}
	}
}

func str(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
