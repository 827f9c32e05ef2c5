package selection

import (
	"slices"
	"strings"

	"github.com/lakefuse/lakefuse/schema"
)

// Set is what a filter selected: the traces, and, learnt while their rows
// pass, their observations and sessions. Keep decides each row of a
// trace-linked table; rows of other tables are always kept.
//
// Tables must pass in dependency order: traces and observations before
// scores, sessions, comments, annotation queue items, dataset run items and
// media (an observation comment or a session is known only once its rows
// passed).
type Set struct {
	Traces       map[string]bool `json:"traces"`
	Observations map[string]bool `json:"observations,omitempty"`
	Sessions     map[string]bool `json:"sessions,omitempty"`
}

// NewSet returns the set of the selected traces.
func NewSet(traces map[string]bool) *Set {
	return &Set{Traces: traces, Observations: map[string]bool{}, Sessions: map[string]bool{}}
}

// Init makes the maps a checkpoint may have left out.
func (s *Set) Init() {
	if s.Traces == nil {
		s.Traces = map[string]bool{}
	}
	if s.Observations == nil {
		s.Observations = map[string]bool{}
	}
	if s.Sessions == nil {
		s.Sessions = map[string]bool{}
	}
}

func (s *Set) trace(id *string) bool { return id != nil && s.Traces[*id] }

// Keep reports whether row belongs to the selection, and learns the
// observations and sessions of kept traces and observations. A nil Set
// keeps everything.
func (s *Set) Keep(row any) bool {
	if s == nil {
		return true
	}
	switch r := row.(type) {
	case *schema.Trace:
		if !s.Traces[r.ID] {
			return false
		}
		if r.SessionID != nil {
			learn(s.Sessions, *r.SessionID)
		}
		return true
	case *schema.Observation:
		if !s.trace(r.TraceID) {
			return false
		}
		learn(s.Observations, r.ID)
		if r.SessionID != nil {
			learn(s.Sessions, *r.SessionID)
		}
		return true
	case *schema.Score:
		return s.trace(r.TraceID) || (r.ObservationID != nil && s.Observations[*r.ObservationID]) ||
			(r.TraceID == nil && r.ObservationID == nil && r.SessionID != nil && s.Sessions[*r.SessionID])
	case *schema.Session:
		return s.Sessions[r.ID]
	case *schema.Comment:
		return s.object(r.ObjectType, r.ObjectID)
	case *schema.AnnotationQueueItem:
		return s.object(r.ObjectType, r.ObjectID)
	case *schema.DatasetRunItem:
		return s.Traces[r.TraceID]
	case *schema.MediaReference:
		if r.DatasetItemID != nil {
			return true // follows the dataset item, chosen by --tables
		}
		return s.trace(r.TraceID) || (r.ObservationID != nil && s.Observations[*r.ObservationID])
	}
	return true
}

// learn adds id to m. The id is copied: a row's strings may be views of a
// record batch whose memory is reused once the reader moves on.
func learn(m map[string]bool, id string) {
	if !m[id] {
		m[strings.Clone(id)] = true
	}
}

// object decides a comment or queue item by what it points at; comments on
// prompts are kept (prompts are chosen by --tables).
func (s *Set) object(kind, id string) bool {
	switch kind {
	case "TRACE":
		return s.Traces[id]
	case "OBSERVATION":
		return s.Observations[id]
	case "SESSION":
		return s.Sessions[id]
	}
	return true
}

// KeepMedia reports whether media referenced from a trace or observation
// should be fetched: only for selected ones.
func (s *Set) KeepMedia(traceID, obsID *string) bool {
	if s == nil {
		return true
	}
	return s.trace(traceID) || (obsID != nil && s.Observations[*obsID])
}

// SelectRows applies f to rows held in memory (table name → rows of
// pointers to schema row types) and returns the rows kept: the reference
// the streaming implementations of the exporter and the importer are tested
// against. Tables missing from order are kept whole.
func SelectRows(f *Filter, rows map[string][]any) map[string][]any {
	m := NewMatcher(f)
	for _, r := range rows["traces"] {
		m.Trace(r.(*schema.Trace))
	}
	for _, r := range rows["observations"] {
		m.Observation(r.(*schema.Observation))
	}
	for _, r := range rows["scores"] {
		m.Score(r.(*schema.Score))
	}
	set := NewSet(m.Selected())
	out := map[string][]any{}
	for _, t := range KeepOrder {
		for _, r := range rows[t] {
			if set.Keep(r) {
				out[t] = append(out[t], r)
			}
		}
	}
	for t, rs := range rows {
		if _, ok := out[t]; !ok && !slices.Contains(KeepOrder, t) {
			out[t] = rs
		}
	}
	return out
}

// KeepOrder is the order in which tables must pass Set.Keep.
var KeepOrder = []string{"traces", "observations", "sessions", "scores", "comments", "annotation_queue_items", "dataset_run_items", "media"}
