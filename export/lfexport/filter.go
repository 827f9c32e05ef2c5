package lfexport

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	lf "github.com/lakefuse/lakefuse/internal/langfuse"
	"github.com/lakefuse/lakefuse/internal/selection"
	"github.com/lakefuse/lakefuse/schema"
)

// This file selects what leaves (Options.Filter, Options.OmitFields); see
// package selection for the semantics.
//
// A filtered run starts with a "select" task that asks the server, one
// listing per criterion and with the server's own filters, which traces
// meet it (v4: v2 observations with a `filter` over traceName, userId,
// sessionId, traceTags, environment, release, type and level, core fields
// only; v3: the traces list's name, userId, sessionId, tags, environment
// and release parameters, v1 observations' type and level; scores by name
// from the v3 or v2 scores list). The traces meeting all criteria form the
// selection, saved in the checkpoint. The tables are then read as usual and
// rows outside the selection are dropped as they stream by (add); tasks
// that write traces and observations run first, so that the observations
// and sessions of the selected traces are known when scores, sessions,
// comments and queue items are read. Media of dropped rows are not fetched.

// selecting reports whether the run filters traces.
func (e *exporter) selecting() bool { return !e.o.Filter.Empty() }

// orderForSelection moves the tasks that write traces and observations
// first (stable otherwise) and puts the select task before them.
func (e *exporter) orderForSelection(tasks []task) []task {
	if !e.selecting() {
		return tasks
	}
	first := func(t task) bool {
		return slices.Contains(t.tables, "traces") || slices.Contains(t.tables, "observations")
	}
	var a, b []task
	for _, t := range tasks {
		if first(t) || t.name == "derived" {
			// They run whenever a trace-linked table is exported: the
			// observations and sessions of the selected traces are learnt
			// from their rows even when they are not written.
			t.tables = append(slices.Clone(t.tables), selection.KeepOrder...)
			a = append(a, t)
		} else {
			b = append(b, t)
		}
	}
	sel := task{name: "select", tables: schema.Names(), run: e.selectTraces}
	return append(append([]task{sel}, a...), b...)
}

// selectTraces computes the selection with the server's filters.
func (e *exporter) selectTraces(ctx context.Context) error {
	m := selection.NewMatcher(e.o.Filter)
	for _, c := range e.o.Filter.Criteria() {
		meet := func(id string) { m.Meet(c.Name, id) }
		var err error
		if e.gen == lf.V4 {
			err = e.selectV4(ctx, c, meet)
		} else {
			err = e.selectV3(ctx, c, meet)
		}
		if err != nil {
			return fmt.Errorf("select traces by %s: %w", c.Name, err)
		}
	}
	e.st.Sel = selection.NewSet(m.Selected())
	e.log.Info("traces selected by the filter", "filter", e.o.Filter.String(), "traces", len(e.st.Sel.Traces))
	return nil
}

// filterCond is one condition of Langfuse's `filter` query parameter
// (packages/shared/src/interfaces/filters.ts).
type filterCond struct {
	Type     string `json:"type"`
	Column   string `json:"column"`
	Operator string `json:"operator"`
	Value    any    `json:"value"`
}

// selectV4 lists the v2 observations that meet criterion c. Columns of the
// events table's filter (packages/shared/src/eventsTable.ts): traceName,
// type, level, environment (stringOptions), traceTags (arrayOptions),
// userId, sessionId, release (string, one value per listing).
func (e *exporter) selectV4(ctx context.Context, c selection.Criterion, meet func(string)) error {
	if c.Name == selection.CritScoreName {
		q := lf.ScoresV3Query{Fields: []string{"subject"}, Names: c.Values, FromTimestamp: e.st.From}
		return e.c.ListScoresV3(ctx, q, func(page []lf.ScoreV3) error {
			for i := range page {
				if r := scoreV3(&page[i]); r.TraceID != nil {
					meet(*r.TraceID)
				}
			}
			return nil
		})
	}
	var conds [][]filterCond
	switch c.Name {
	case selection.CritTraceName, selection.CritObservationType, selection.CritLevel, selection.CritEnvironment:
		col := map[string]string{selection.CritTraceName: "traceName", selection.CritObservationType: "type",
			selection.CritLevel: "level", selection.CritEnvironment: "environment"}[c.Name]
		conds = append(conds, []filterCond{{"stringOptions", col, "any of", c.Values}})
	case selection.CritTagsAny:
		conds = append(conds, []filterCond{{"arrayOptions", "traceTags", "any of", c.Values}})
	case selection.CritTagsAll:
		conds = append(conds, []filterCond{{"arrayOptions", "traceTags", "all of", c.Values}})
	case selection.CritUserID, selection.CritSessionID, selection.CritRelease:
		col := map[string]string{selection.CritUserID: "userId", selection.CritSessionID: "sessionId", selection.CritRelease: "release"}[c.Name]
		for _, v := range c.Values {
			conds = append(conds, []filterCond{{"string", col, "=", v}})
		}
	default:
		return fmt.Errorf("criterion %s has no v4 listing", c.Name)
	}
	for _, cond := range conds {
		// The time bounds go into the filter too: a `filter` replaces the
		// simple parameters on some versions and merges with them on others.
		if !e.st.From.IsZero() {
			cond = append(cond, filterCond{"datetime", "startTime", ">=", e.st.From.Format(time.RFC3339Nano)})
		}
		cond = append(cond, filterCond{"datetime", "startTime", "<", e.st.To.Format(time.RFC3339Nano)})
		raw, err := json.Marshal(cond)
		if err != nil {
			return err
		}
		q := lf.ObservationsV2Query{CursorOptions: lf.CursorOptions{Limit: observationsPage}, Fields: []string{"core"}, Filter: string(raw)}
		err = e.c.ListObservationsV2(ctx, q, func(page []lf.ObservationV2) error {
			for i := range page {
				if page[i].TraceID != nil {
					meet(*page[i].TraceID)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// selectV3 lists the traces, v1 observations or v2 scores that meet
// criterion c with the list endpoints' own parameters.
func (e *exporter) selectV3(ctx context.Context, c selection.Criterion, meet func(string)) error {
	traces := func(q lf.TracesQuery) error {
		q.Fields, q.FromTimestamp, q.ToTimestamp = []string{"core"}, e.st.From, e.st.To
		return e.c.ListTraces(ctx, q, func(page []lf.Trace) error {
			for i := range page {
				meet(page[i].ID)
			}
			return nil
		})
	}
	observations := func(q lf.ObservationsV1Query) error {
		q.FromStartTime, q.ToStartTime = e.st.From, e.st.To
		return e.c.ListObservationsV1(ctx, q, func(page []lf.ObservationV1) error {
			for i := range page {
				if page[i].TraceID != nil {
					meet(*page[i].TraceID)
				}
			}
			return nil
		})
	}
	switch c.Name {
	case selection.CritEnvironment:
		// Observations carry their own environment: any row counts.
		if err := traces(lf.TracesQuery{Environment: c.Values}); err != nil {
			return err
		}
		return observations(lf.ObservationsV1Query{Environment: c.Values})
	case selection.CritTagsAll:
		// The traces list keeps traces with all the given tags.
		return traces(lf.TracesQuery{Tags: c.Values})
	}
	// The other parameters take one value: one listing per value.
	for _, v := range c.Values {
		var err error
		switch c.Name {
		case selection.CritTraceName:
			err = traces(lf.TracesQuery{Name: v})
		case selection.CritUserID:
			err = traces(lf.TracesQuery{UserID: v})
		case selection.CritSessionID:
			err = traces(lf.TracesQuery{SessionID: v})
		case selection.CritRelease:
			err = traces(lf.TracesQuery{Release: v})
		case selection.CritTagsAny:
			err = traces(lf.TracesQuery{Tags: []string{v}})
		case selection.CritObservationType:
			err = observations(lf.ObservationsV1Query{Type: v})
		case selection.CritLevel:
			err = observations(lf.ObservationsV1Query{Level: v})
		case selection.CritScoreName:
			q := lf.ScoresV2Query{Fields: []string{"score"}, Name: v, FromTimestamp: e.st.From}
			err = e.c.ListScoresV2(ctx, q, func(page []lf.ScoreV2) error {
				for i := range page {
					if page[i].TraceID != nil {
						meet(*page[i].TraceID)
					}
				}
				return nil
			})
		default:
			return fmt.Errorf("criterion %s has no v3 listing", c.Name)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// observationFields are the v2 field groups to request: all but the ones
// left out, except that metadata needs io (without it the server truncates
// metadata values to 200 characters) and that core, basic and
// trace_context are always needed (they carry the trace context traces and
// sessions are derived from). nil: all.
func (e *exporter) observationFields() []string {
	if len(e.o.OmitFields) == 0 {
		return nil
	}
	var out []string
	for _, g := range lf.ObservationV2FieldGroups {
		if g == "io" && !e.blank.Omits("metadata") {
			out = append(out, g)
			continue
		}
		if !e.blank.Omits(g) {
			out = append(out, g)
		}
	}
	return out
}

// keep applies the selection and the field groups to a row about to be
// written; false drops it. Without a filter e.st.Sel is nil (only the
// select task sets it, and a checkpoint is resumed only with the same
// filter), and a nil Set keeps every row.
func (e *exporter) keep(row any) bool {
	switch r := row.(type) {
	case *schema.Observation:
		e.blank.Observation(r)
	case *schema.Trace:
		e.blank.Trace(r)
	}
	return e.st.Sel.Keep(row)
}
