package lfexport

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	lf "github.com/lakefuse/lakefuse/internal/langfuse"
	"github.com/lakefuse/lakefuse/schema"
)

// epoch is the lower bound of listings that require one (experiments) when
// the run has none.
var epoch = time.Unix(0, 0).UTC()

// observationsPage is the page size of v2 observations: the API's maximum,
// so that a thousand observations cost one request.
const observationsPage = 1000

func (e *exporter) tasksV4() []task {
	return append(e.commonTasks(),
		task{name: "experiments", tables: []string{"dataset_runs"}, run: e.experiments},
		task{name: "experiment-items", tables: []string{"dataset_run_items"}, run: e.experimentItems},
		task{name: "scores", tables: []string{"scores"}, run: e.scoresV3},
		task{name: "observations", tables: []string{"observations", "traces", "sessions", "media"}, run: e.observationsV2},
		task{name: "derived", tables: []string{"traces", "sessions"}, run: e.derivedV4},
	)
}

// Experiments and their items are snapshot tables, re-exported whole by
// every run: they are listed over all time, whatever the run's range.

func (e *exporter) experiments(ctx context.Context) error {
	q := lf.ExperimentsQuery{FromStartTime: epoch}
	return e.c.ListExperiments(ctx, q, func(page []lf.Experiment) error {
		for i := range page {
			if err := e.add(ctx, schema.DatasetRuns, experimentRow(&page[i])); err != nil {
				return err
			}
		}
		return nil
	})
}

func (e *exporter) experimentItems(ctx context.Context) error {
	q := lf.ExperimentItemsQuery{FromStartTime: epoch}
	return e.c.ListExperimentItems(ctx, q, func(page []lf.ExperimentItem) error {
		for i := range page {
			r, err := experimentItemRow(&page[i])
			if err != nil {
				return err
			}
			if err := e.add(ctx, schema.DatasetRunItems, r); err != nil {
				return err
			}
		}
		return nil
	})
}

func (e *exporter) scoresV3(ctx context.Context) error {
	probe := func(ctx context.Context, from, end time.Time) (time.Time, bool, error) {
		var t time.Time
		var found bool
		q := lf.ScoresV3Query{CursorOptions: lf.CursorOptions{Limit: 1}, Fields: []string{}, FromTimestamp: from, ToTimestamp: end}
		err := e.c.ListScoresV3(ctx, q, func(page []lf.ScoreV3) error {
			t, found = page[0].Timestamp, true
			return errStop
		})
		if err != nil && !errors.Is(err, errStop) {
			return t, false, err
		}
		return t, found, nil
	}
	list := func(ctx context.Context, from, to time.Time) (int, error) {
		n := 0
		q := lf.ScoresV3Query{FromTimestamp: from, ToTimestamp: to}
		err := e.c.ListScoresV3(ctx, q, func(page []lf.ScoreV3) error {
			for i := range page {
				if err := e.add(ctx, schema.Scores, scoreV3(&page[i])); err != nil {
					return err
				}
			}
			n += len(page)
			return nil
		})
		return n, err
	}
	return e.walk(ctx, "scores", probe, list, nil)
}

// errStop ends a listing early from its callback.
var errStop = errors.New("stop listing")

// sessionAgg is a v4 session derived from observations: the earliest start
// time seen and the environment of that observation.
type sessionAgg struct {
	CreatedAt   time.Time `json:"created_at"`
	Environment string    `json:"environment"`
}

// windowV4 is the trace bookkeeping of one window of v2 observations. The
// listing runs newest first, so a trace's root (its earliest observation)
// comes after its children: open holds the traces met and not yet written
// (those overlapping the current position), rooted the open traces whose
// root was met, in listing order, and emitted the traces whose row is
// written. A rooted trace is written once the listing passes its root's
// start time, so that rows starting with the root count too.
type windowV4 struct {
	open    map[string]*traceAgg
	rooted  []string
	emitted map[string]bool
	// pending are rooted traces of a shard that wait for their rows in
	// later shards' days (foldLater) before they are written.
	pending []pendingTrace
}

type pendingTrace struct {
	id  string
	agg *traceAgg
}

func (e *exporter) observationsV2(ctx context.Context) error {
	deriveTraces := e.tables["traces"]
	probe := func(ctx context.Context, from, end time.Time) (time.Time, bool, error) {
		var t time.Time
		var found bool
		q := lf.ObservationsV2Query{CursorOptions: lf.CursorOptions{Limit: 1}, Fields: []string{"core"}, FromStartTime: from, ToStartTime: end}
		err := e.c.ListObservationsV2(ctx, q, func(page []lf.ObservationV2) error {
			t, found = page[0].StartTime, true
			return errStop
		})
		if err != nil && !errors.Is(err, errStop) {
			return t, false, err
		}
		return t, found, nil
	}
	list := func(ctx context.Context, from, to time.Time) (int, error) {
		w := &windowV4{open: map[string]*traceAgg{}, emitted: map[string]bool{}}
		n := 0
		q := lf.ObservationsV2Query{CursorOptions: lf.CursorOptions{Limit: observationsPage}, Fields: e.observationFields(),
			FromStartTime: from, ToStartTime: to}
		err := pipeline(ctx, func(ctx context.Context, fn func([]lf.ObservationV2) error) error {
			return e.c.ListObservationsV2(ctx, q, fn)
		}, func(page []lf.ObservationV2) error {
			for i := range page {
				if err := e.observationV2(ctx, &page[i], w, deriveTraces); err != nil {
					return err
				}
			}
			n += len(page)
			return nil
		})
		if err != nil {
			return n, err
		}
		if err := e.emitRooted(ctx, w, time.Time{}); err != nil {
			return n, err
		}
		// Traces whose root was not in this window: their root is older (a
		// trace across midnight) or missing; carry them on.
		for id, a := range w.open {
			e.st.Rootless[id] = a
		}
		return n, nil
	}
	return e.walk(ctx, "observations", probe, list, nil)
}

func (e *exporter) observationV2(ctx context.Context, o *lf.ObservationV2, w *windowV4, deriveTraces bool) error {
	row, err := observationV2(o)
	if err != nil {
		return err
	}
	e.markReExported(row.ID)
	if !e.keep(row) {
		return nil // not selected: no trace, session or media either
	}
	if err := e.append(ctx, schema.Observations, row); err != nil {
		return err
	}
	if err := e.addIOMediaRefs(ctx, row.Input, row.Output, row.Metadata, row.TraceID, &row.ID); err != nil {
		return err
	}
	if row.SessionID != nil && e.tables["sessions"] {
		s := e.st.Sessions[*row.SessionID]
		if s == nil {
			e.st.Sessions[*row.SessionID] = &sessionAgg{CreatedAt: row.StartTime, Environment: row.Environment}
		} else if row.StartTime.Before(s.CreatedAt) {
			s.CreatedAt, s.Environment = row.StartTime, row.Environment
		}
	}
	if !deriveTraces || row.TraceID == nil {
		return nil
	}
	if err := e.emitRooted(ctx, w, row.StartTime); err != nil {
		return err
	}
	tid := *row.TraceID
	if w.emitted[tid] {
		return nil // a row starting before its trace's root
	}
	a := w.open[tid]
	if a == nil {
		// Met in a newer window (a trace across midnight), or new.
		if a = e.st.Rootless[tid]; a != nil {
			delete(e.st.Rootless, tid)
		} else {
			a = &traceAgg{}
		}
		w.open[tid] = a
	}
	wasRooted := a.rooted
	a.add(row)
	if a.rooted && !wasRooted {
		w.rooted = append(w.rooted, tid)
	}
	return nil
}

// emitRooted writes the rooted traces whose root started after before
// (all of them when before is zero): no row listed from here on can start
// with or after their root.
func (e *exporter) emitRooted(ctx context.Context, w *windowV4, before time.Time) error {
	n := 0
	for _, tid := range w.rooted {
		a := w.open[tid]
		if !before.IsZero() && !before.Before(a.rootStart) {
			break
		}
		n++
		w.emitted[tid] = true
		delete(w.open, tid)
		if e.foldsLater() && a.mayGoOn(e.st.To) {
			w.pending = append(w.pending, pendingTrace{tid, a})
			if len(w.pending) < traceBatch {
				continue
			}
			if err := e.writePending(ctx, w); err != nil {
				return err
			}
			continue
		}
		if err := e.add(ctx, schema.Traces, a.row(tid)); err != nil {
			return err
		}
	}
	w.rooted = w.rooted[n:]
	if before.IsZero() {
		return e.writePending(ctx, w) // the window ends: nothing waits past its checkpoint
	}
	return nil
}

// writePending folds the later rows of the pending traces in and writes them.
func (e *exporter) writePending(ctx context.Context, w *windowV4) error {
	if len(w.pending) == 0 {
		return nil
	}
	aggs := make(map[string]*traceAgg, len(w.pending))
	for _, p := range w.pending {
		aggs[p.id] = p.agg
	}
	if err := e.foldLater(ctx, aggs); err != nil {
		return err
	}
	for _, p := range w.pending {
		if err := e.add(ctx, schema.Traces, p.agg.row(p.id)); err != nil {
			return err
		}
	}
	w.pending = w.pending[:0]
	return nil
}

// derivedV4 writes what needs the whole walk: traces that never showed a
// root observation, and the sessions.
func (e *exporter) derivedV4(ctx context.Context) error {
	if e.tables["traces"] {
		ids := make([]string, 0, len(e.st.Rootless))
		for id := range e.st.Rootless {
			ids = append(ids, id)
		}
		// In time order, so that the writer fills one dt partition after another.
		slices.SortFunc(ids, func(a, b string) int {
			if c := e.st.Rootless[a].Start.Compare(e.st.Rootless[b].Start); c != 0 {
				return c
			}
			return strings.Compare(a, b)
		})
		var mine []string
		for _, id := range ids {
			skip, err := e.rootElsewhere(ctx, id)
			if err != nil {
				return err
			}
			if !skip {
				mine = append(mine, id)
			}
		}
		for start := 0; start < len(mine); start += traceBatch {
			batch := mine[start:min(start+traceBatch, len(mine))]
			if e.foldsLater() {
				aggs := map[string]*traceAgg{}
				for _, id := range batch {
					if a := e.st.Rootless[id]; a.mayGoOn(e.st.To) {
						aggs[id] = a
					}
				}
				if err := e.foldLater(ctx, aggs); err != nil {
					return err
				}
			}
			for _, id := range batch {
				if err := e.add(ctx, schema.Traces, e.st.Rootless[id].row(id)); err != nil {
					return err
				}
			}
		}
	}
	if e.tables["sessions"] {
		ids := make([]string, 0, len(e.st.Sessions))
		for id := range e.st.Sessions {
			ids = append(ids, id)
		}
		slices.SortFunc(ids, func(a, b string) int {
			if c := e.st.Sessions[a].CreatedAt.Compare(e.st.Sessions[b].CreatedAt); c != 0 {
				return c
			}
			return strings.Compare(a, b)
		})
		earlier, err := e.sessionsEarlier(ctx, ids)
		if err != nil {
			return err
		}
		for _, id := range ids {
			s := e.st.Sessions[id]
			var row any = &schema.Session{ID: id, CreatedAt: s.CreatedAt, Environment: s.Environment}
			if e.o.Redactor != nil {
				var err error
				if row, err = e.o.Redactor.Row(schema.Sessions, row); err != nil {
					return err
				}
			}
			if e.oldSessions[row.(*schema.Session).ID] {
				continue // the lake has it in a partition this run keeps
			}
			if earlier[id] {
				continue // an earlier shard writes it
			}
			if err := e.write(ctx, schema.Sessions, row); err != nil {
				return err
			}
		}
	}
	return nil
}

// rootElsewhere reports whether a trace seen without a root observation
// has its row elsewhere: a root observation outside what this run read
// (written by the run that read it), or observations before the run's
// range (the trace began before it).
func (e *exporter) rootElsewhere(ctx context.Context, traceID string) (bool, error) {
	found := false
	stop := func(page []lf.ObservationV2) error { found = true; return errStop }
	roots := ""
	q := lf.ObservationsV2Query{CursorOptions: lf.CursorOptions{Limit: 1}, Fields: []string{"core"}, TraceID: traceID,
		ParentObservationID: &roots}
	if err := e.c.ListObservationsV2(ctx, q, stop); err != nil && !errors.Is(err, errStop) {
		return false, fmt.Errorf("look for the root of trace %s: %w", traceID, err)
	}
	if found || e.st.From.IsZero() {
		return found, nil
	}
	q = lf.ObservationsV2Query{CursorOptions: lf.CursorOptions{Limit: 1}, Fields: []string{"core"}, TraceID: traceID,
		ToStartTime: e.st.From}
	if err := e.c.ListObservationsV2(ctx, q, stop); err != nil && !errors.Is(err, errStop) {
		return false, fmt.Errorf("look for earlier observations of trace %s: %w", traceID, err)
	}
	return found, nil
}

// pipeline runs a listing in one goroutine and hands its pages to handle in
// another, so that fetching and decoding the next page overlaps with
// writing the current one. Pages stay in order; at most two are in memory
// besides the one being written.
func pipeline[T any](ctx context.Context, list func(ctx context.Context, fn func([]T) error) error, handle func([]T) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pages := make(chan []T, 1)
	listErr := make(chan error, 1)
	go func() {
		defer close(pages)
		listErr <- list(ctx, func(p []T) error {
			select {
			case pages <- p:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	var herr error
	for p := range pages {
		if herr != nil {
			continue // drain so the lister can finish
		}
		if herr = handle(p); herr != nil {
			cancel()
		}
	}
	lerr := <-listErr
	if herr != nil {
		return herr
	}
	return lerr
}
