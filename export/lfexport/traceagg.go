package lfexport

import (
	"time"

	"github.com/lakefuse/lakefuse/schema"
)

// traceAgg is a v4 trace being derived from its observation rows. Langfuse
// v4 keeps the trace context per row and aggregates it per trace
// (EVENTS_AGGREGATION_FIELDS in
// packages/shared/src/server/queries/clickhouse-sql/event-query-builder.ts,
// eventsTableTraceNameAggregationSql in packages/shared/src/eventsTable.ts):
//
//   - timestamp: the earliest start time;
//   - user, session, release, version, environment: argMaxIf(x, event_ts, x is not empty),
//     the value of the latest row that has one;
//   - tags: the latest non-empty tags; public: true if any row is;
//   - name: the latest non-empty trace name, else the latest non-empty name
//     of a root row (no parent, or app root);
//   - input, output: those of the latest row without a parent.
//
// The API does not serve event_ts; updatedAt stands for it, and of rows
// with equal updatedAt the first listed wins. It is saved in checkpoints
// (only for traces without a root so far, so without input and output).
type traceAgg struct {
	Start       time.Time `json:"start"`
	Name        *string   `json:"name,omitempty"`
	UserID      *string   `json:"user_id,omitempty"`
	SessionID   *string   `json:"session_id,omitempty"`
	Release     *string   `json:"release,omitempty"`
	Version     *string   `json:"version,omitempty"`
	Environment string    `json:"environment"`
	Tags        []string  `json:"tags,omitempty"`
	Public      bool      `json:"public,omitempty"`
	OwnName     *string   `json:"own_name,omitempty"`
	// End is the latest end time of its rows (their start time when they
	// have none), Open that a span without an end time was met: what a
	// shard needs to tell whether the trace may go on past its days.
	End  time.Time `json:"end,omitzero"`
	Open bool      `json:"open,omitempty"`

	At aggTimes `json:"at"`

	// Set by a row without a parent: the trace's row can be written once
	// the listing has passed rootStart.
	rooted    bool
	rootStart time.Time
	input     *string
	output    *string
}

// aggTimes are the updatedAt of the row each value came from.
type aggTimes struct {
	Name        *time.Time `json:"name,omitempty"`
	OwnName     *time.Time `json:"own_name,omitempty"`
	UserID      *time.Time `json:"user_id,omitempty"`
	SessionID   *time.Time `json:"session_id,omitempty"`
	Release     *time.Time `json:"release,omitempty"`
	Version     *time.Time `json:"version,omitempty"`
	Environment *time.Time `json:"environment,omitempty"`
	Tags        *time.Time `json:"tags,omitempty"`
	root        *time.Time
}

// newer reports whether a row written at at replaces the value picked at
// *cur, and records at if so.
func newer(cur **time.Time, at time.Time) bool {
	if *cur != nil && !at.After(**cur) {
		return false
	}
	t := at
	*cur = &t
	return true
}

func nonEmpty(s *string) bool { return s != nil && *s != "" }

// add folds one row of the trace into the aggregate.
func (a *traceAgg) add(r *schema.Observation) {
	var at time.Time
	if r.UpdatedAt != nil {
		at = *r.UpdatedAt
	}
	if a.Start.IsZero() || r.StartTime.Before(a.Start) {
		a.Start = r.StartTime
	}
	end := r.StartTime
	if r.EndTime != nil {
		end = *r.EndTime
	} else if r.Type != "EVENT" {
		a.Open = true // a span still running, or one whose end was never sent
	}
	if end.After(a.End) {
		a.End = end
	}
	if nonEmpty(r.TraceName) && newer(&a.At.Name, at) {
		a.Name = r.TraceName
	}
	root := r.ParentObservationID == nil
	if (root || (r.IsRootObservation != nil && *r.IsRootObservation)) && nonEmpty(r.Name) && newer(&a.At.OwnName, at) {
		a.OwnName = r.Name
	}
	if nonEmpty(r.UserID) && newer(&a.At.UserID, at) {
		a.UserID = r.UserID
	}
	if nonEmpty(r.SessionID) && newer(&a.At.SessionID, at) {
		a.SessionID = r.SessionID
	}
	if nonEmpty(r.Release) && newer(&a.At.Release, at) {
		a.Release = r.Release
	}
	if nonEmpty(r.Version) && newer(&a.At.Version, at) {
		a.Version = r.Version
	}
	if r.Environment != "" && newer(&a.At.Environment, at) {
		a.Environment = r.Environment
	}
	if len(r.Tags) > 0 && newer(&a.At.Tags, at) {
		a.Tags = r.Tags
	}
	if r.Public != nil && *r.Public {
		a.Public = true
	}
	if root && newer(&a.At.root, at) {
		a.input, a.output = r.Input, r.Output
		if !a.rooted {
			a.rooted, a.rootStart = true, r.StartTime
		}
	}
}

// row is the trace's row. Columns v4 cannot supply (metadata, bookmarked,
// html_path, latency, cost, timestamps) stay null.
func (a *traceAgg) row(id string) *schema.Trace {
	t := &schema.Trace{ID: id, Timestamp: a.Start, Name: a.Name, UserID: a.UserID, SessionID: a.SessionID,
		Release: a.Release, Version: a.Version, Environment: a.Environment, Tags: a.Tags, Public: a.Public,
		Input: a.input, Output: a.output}
	if t.Name == nil {
		t.Name = a.OwnName
	}
	if t.Environment == "" {
		t.Environment = "default"
	}
	if t.Tags == nil {
		t.Tags = []string{}
	}
	return t
}

// isPlaceholderRoot reports whether r is the root Langfuse v4 synthesised
// for a trace of its v3 tables: id "t-<traceId>", no parent, type SPAN
// (convertTraceToStagingObservation in
// packages/shared/src/server/repositories/definitions.ts,
// worker/src/backgroundMigrations/createRootSpansFromTraces.ts).
func isPlaceholderRoot(r *schema.Observation) bool {
	return r.TraceID != nil && r.ParentObservationID == nil && r.Type == "SPAN" &&
		len(r.ID) == len(*r.TraceID)+2 && r.ID[:2] == "t-" && r.ID[2:] == *r.TraceID
}
