package selection

import (
	"reflect"
	"slices"
	"testing"

	"github.com/lakefuse/lakefuse/schema"
)

func sp(s string) *string { return &s }

func TestParseFields(t *testing.T) {
	for _, tc := range []struct {
		in      string
		omitted []string
		bad     bool
	}{
		{"", nil, false},
		{"core,basic,time,io,metadata,model,usage,prompt,metrics", nil, false},
		{"core, basic ,TIME,usage", []string{"io", "metadata", "model", "prompt", "metrics"}, false},
		{"core,basic,time,model,usage,prompt,metrics", []string{"io", "metadata"}, false},
		{"core,io", nil, true},
		{"core,basic,tools", nil, true},
	} {
		got, err := ParseFields(tc.in)
		if (err != nil) != tc.bad || !slices.Equal(got, tc.omitted) {
			t.Errorf("ParseFields(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.omitted, tc.bad)
		}
	}
	if CheckOmitted([]string{"basic"}) == nil || CheckOmitted([]string{"nope"}) == nil || CheckOmitted([]string{"io", "usage"}) != nil {
		t.Error("CheckOmitted accepts required or unknown groups, or refuses valid ones")
	}
}

func TestFilterNormalizeAndMap(t *testing.T) {
	f := &Filter{ObservationTypes: []string{"generation", " TOOL", "tool"}, Levels: []string{"error"}, UserIDs: []string{"b", "a", "a", ""}}
	if err := f.Normalize(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.ObservationTypes, []string{"GENERATION", "TOOL"}) || !slices.Equal(f.UserIDs, []string{"a", "b"}) || !slices.Equal(f.Levels, []string{"ERROR"}) {
		t.Errorf("normalized %+v", f)
	}
	back, err := FromMap(f.Map())
	if err != nil || !reflect.DeepEqual(back, f) {
		t.Errorf("FromMap(Map()) = %+v, %v; want %+v", back, err, f)
	}
	if err := (&Filter{Levels: []string{"LOUD"}, ObservationTypes: []string{"BLOB"}}).Normalize(); err == nil {
		t.Error("unknown level and type accepted")
	}
	if !(&Filter{}).Empty() || (*Filter)(nil).String() != "" {
		t.Error("an empty filter is not empty")
	}
}

// Criteria on trace attributes are met by any row of the trace; all
// criteria must be met; tags_all needs one row with all the tags.
func TestMatcherAnyRow(t *testing.T) {
	f := &Filter{UserIDs: []string{"alice"}, Levels: []string{"ERROR"}, TagsAll: []string{"a", "b"}}
	m := NewMatcher(f)
	tr := func(id string) *string { return &id }
	// t1: user on a child row only, error on another, tags on the trace.
	m.Trace(&schema.Trace{ID: "t1", Tags: []string{"a", "b"}})
	m.Observation(&schema.Observation{TraceID: tr("t1"), UserID: sp("alice"), Level: "DEFAULT"})
	m.Observation(&schema.Observation{TraceID: tr("t1"), Level: "ERROR"})
	// t2: tags split over two rows: not all on one.
	m.Observation(&schema.Observation{TraceID: tr("t2"), UserID: sp("alice"), Level: "ERROR", Tags: []string{"a"}})
	m.Observation(&schema.Observation{TraceID: tr("t2"), Tags: []string{"b"}})
	// t3: no error.
	m.Trace(&schema.Trace{ID: "t3", UserID: sp("alice"), Tags: []string{"b", "a", "c"}})
	m.Observation(&schema.Observation{TraceID: tr("t3"), Level: "WARNING"})
	if got := m.Selected(); !reflect.DeepEqual(got, map[string]bool{"t1": true}) {
		t.Errorf("selected %v, want t1", got)
	}
	m = NewMatcher(&Filter{ScoreNames: []string{"q"}})
	m.Score(&schema.Score{Name: "q", TraceID: tr("t9")})
	m.Score(&schema.Score{Name: "other", TraceID: tr("t8")})
	m.Score(&schema.Score{Name: "q", SessionID: sp("s")})
	if got := m.Selected(); !reflect.DeepEqual(got, map[string]bool{"t9": true}) {
		t.Errorf("selected %v, want t9", got)
	}
}

// A selected trace brings everything attached to it, in KeepOrder.
func TestSetKeep(t *testing.T) {
	s := NewSet(map[string]bool{"t1": true})
	rows := []struct {
		row  any
		keep bool
	}{
		{&schema.Trace{ID: "t1", SessionID: sp("s1")}, true},
		{&schema.Trace{ID: "t2", SessionID: sp("s2")}, false},
		{&schema.Observation{ID: "o1", TraceID: sp("t1")}, true},
		{&schema.Observation{ID: "o2", TraceID: sp("t2")}, false},
		{&schema.Session{ID: "s1"}, true},
		{&schema.Session{ID: "s2"}, false},
		{&schema.Score{TraceID: sp("t1")}, true},
		{&schema.Score{ObservationID: sp("o1")}, true},
		{&schema.Score{SessionID: sp("s1")}, true},
		{&schema.Score{SessionID: sp("s2")}, false},
		{&schema.Score{DatasetRunID: sp("r")}, false},
		{&schema.Comment{ObjectType: "OBSERVATION", ObjectID: "o1"}, true},
		{&schema.Comment{ObjectType: "OBSERVATION", ObjectID: "o2"}, false},
		{&schema.Comment{ObjectType: "PROMPT", ObjectID: "p"}, true},
		{&schema.AnnotationQueueItem{ObjectType: "SESSION", ObjectID: "s2"}, false},
		{&schema.DatasetRunItem{TraceID: "t1"}, true},
		{&schema.MediaReference{TraceID: sp("t2"), ObservationID: sp("o2")}, false},
		{&schema.MediaReference{DatasetItemID: sp("i")}, true},
		{&schema.Prompt{Name: "p"}, true},
	}
	for i, r := range rows {
		if got := s.Keep(r.row); got != r.keep {
			t.Errorf("row %d %T: keep %v, want %v", i, r.row, got, r.keep)
		}
	}
	var nilSet *Set
	if !nilSet.Keep(&schema.Trace{ID: "x"}) || !nilSet.KeepMedia(nil, nil) {
		t.Error("a nil set drops rows")
	}
}

func TestBlanker(t *testing.T) {
	o := &schema.Observation{ID: "o", Input: sp("i"), Output: sp("o"), Metadata: sp("{}"), PromptName: sp("p"), Name: sp("n")}
	NewBlanker([]string{"io", "prompt"}).Observation(o)
	if o.Input != nil || o.Output != nil || o.PromptName != nil || o.Metadata == nil || o.Name == nil {
		t.Errorf("blanked %+v", o)
	}
	if NewBlanker(nil) != nil {
		t.Error("a blanker with nothing to blank")
	}
}
