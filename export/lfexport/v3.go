package lfexport

import (
	"context"
	"errors"
	"time"

	lf "github.com/lakefuse/lakefuse/internal/langfuse"
	"github.com/lakefuse/lakefuse/schema"
)

// traceFields are the trace field groups the export needs: the ids of a
// trace's observations and scores are left out (their tables have them).
var traceFields = []string{"core", "io", "metrics"}

func (e *exporter) tasksV3() []task {
	return append(e.commonTasks(),
		task{name: "dataset_runs", tables: []string{"dataset_runs", "dataset_run_items"}, run: e.datasetRunsV3},
		task{name: "scores", tables: []string{"scores"}, run: e.scoresV2},
		task{name: "sessions", tables: []string{"sessions"}, run: e.sessionsV3},
		task{name: "traces", tables: []string{"traces", "media"}, run: e.tracesV3},
		task{name: "observations", tables: []string{"observations", "media"}, run: e.observationsV1},
	)
}

// firstTime runs a one-item listing and returns the time of its item.
func firstTime[T any](ctx context.Context, list func(fn func([]T) error) error, at func(*T) time.Time) (time.Time, bool, error) {
	var t time.Time
	found := false
	err := list(func(page []T) error {
		t, found = at(&page[0]), true
		return errStop
	})
	if err != nil && !errors.Is(err, errStop) {
		return t, false, err
	}
	return t, found, nil
}

func (e *exporter) tracesV3(ctx context.Context) error {
	probe := func(ctx context.Context, from, end time.Time) (time.Time, bool, error) {
		q := lf.TracesQuery{PageOptions: lf.PageOptions{Limit: 1}, Fields: []string{"core"}, FromTimestamp: from, ToTimestamp: end, OrderBy: "timestamp.desc"}
		return firstTime(ctx, func(fn func([]lf.Trace) error) error { return e.c.ListTraces(ctx, q, fn) },
			func(t *lf.Trace) time.Time { return t.Timestamp })
	}
	list := func(ctx context.Context, from, to time.Time) (int, error) {
		n := 0
		q := lf.TracesQuery{Fields: traceFields, FromTimestamp: from, ToTimestamp: to, OrderBy: "timestamp.desc"}
		err := pipeline(ctx, func(ctx context.Context, fn func([]lf.Trace) error) error { return e.c.ListTraces(ctx, q, fn) },
			func(page []lf.Trace) error {
				for i := range page {
					r := traceV3(&page[i])
					if err := e.add(ctx, schema.Traces, r); err != nil {
						return err
					}
					e.markReExported(r.ID)
					if err := e.addIOMediaRefs(ctx, r.Input, r.Output, r.Metadata, &r.ID, nil); err != nil {
						return err
					}
				}
				n += len(page)
				return nil
			})
		return n, err
	}
	return e.walk(ctx, "traces", probe, list, nil)
}

func (e *exporter) observationsV1(ctx context.Context) error {
	probe := func(ctx context.Context, from, end time.Time) (time.Time, bool, error) {
		q := lf.ObservationsV1Query{PageOptions: lf.PageOptions{Limit: 1}, FromStartTime: from, ToStartTime: end}
		return firstTime(ctx, func(fn func([]lf.ObservationV1) error) error { return e.c.ListObservationsV1(ctx, q, fn) },
			func(o *lf.ObservationV1) time.Time { return o.StartTime })
	}
	list := func(ctx context.Context, from, to time.Time) (int, error) {
		n := 0
		q := lf.ObservationsV1Query{FromStartTime: from, ToStartTime: to}
		err := pipeline(ctx, func(ctx context.Context, fn func([]lf.ObservationV1) error) error {
			return e.c.ListObservationsV1(ctx, q, fn)
		}, func(page []lf.ObservationV1) error {
			for i := range page {
				r, err := observationV1(&page[i])
				if err != nil {
					return err
				}
				if err := e.add(ctx, schema.Observations, r); err != nil {
					return err
				}
				e.markReExported(r.ID)
				if err := e.addIOMediaRefs(ctx, r.Input, r.Output, r.Metadata, r.TraceID, &r.ID); err != nil {
					return err
				}
			}
			n += len(page)
			return nil
		})
		return n, err
	}
	return e.walk(ctx, "observations", probe, list, nil)
}

func (e *exporter) sessionsV3(ctx context.Context) error {
	probe := func(ctx context.Context, from, end time.Time) (time.Time, bool, error) {
		q := lf.SessionsQuery{PageOptions: lf.PageOptions{Limit: 1}, FromTimestamp: from, ToTimestamp: end}
		return firstTime(ctx, func(fn func([]lf.Session) error) error { return e.c.ListSessions(ctx, q, fn) },
			func(s *lf.Session) time.Time { return s.CreatedAt })
	}
	list := func(ctx context.Context, from, to time.Time) (int, error) {
		n := 0
		q := lf.SessionsQuery{FromTimestamp: from, ToTimestamp: to}
		err := e.c.ListSessions(ctx, q, func(page []lf.Session) error {
			for i := range page {
				if err := e.add(ctx, schema.Sessions, sessionV3(&page[i])); err != nil {
					return err
				}
			}
			n += len(page)
			return nil
		})
		return n, err
	}
	return e.walk(ctx, "sessions", probe, list, nil)
}

func (e *exporter) scoresV2(ctx context.Context) error {
	probe := func(ctx context.Context, from, end time.Time) (time.Time, bool, error) {
		q := lf.ScoresV2Query{PageOptions: lf.PageOptions{Limit: 1}, Fields: []string{"score"}, FromTimestamp: from, ToTimestamp: end}
		return firstTime(ctx, func(fn func([]lf.ScoreV2) error) error { return e.c.ListScoresV2(ctx, q, fn) },
			func(s *lf.ScoreV2) time.Time { return s.Timestamp })
	}
	list := func(ctx context.Context, from, to time.Time) (int, error) {
		n := 0
		q := lf.ScoresV2Query{Fields: []string{"score"}, FromTimestamp: from, ToTimestamp: to}
		err := e.c.ListScoresV2(ctx, q, func(page []lf.ScoreV2) error {
			for i := range page {
				if err := e.add(ctx, schema.Scores, scoreV2(&page[i])); err != nil {
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

// datasetRunsV3 walks datasets, their runs and the runs' items.
func (e *exporter) datasetRunsV3(ctx context.Context) error {
	type ds struct{ id, name string }
	var all []ds
	err := e.c.ListDatasets(ctx, lf.PageOptions{}, func(page []lf.Dataset) error {
		for _, d := range page {
			all = append(all, ds{d.ID, d.Name})
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, d := range all {
		var runs []string
		err := e.c.ListDatasetRuns(ctx, d.name, lf.PageOptions{}, func(page []lf.DatasetRun) error {
			for i := range page {
				if err := e.add(ctx, schema.DatasetRuns, datasetRunV3(&page[i])); err != nil {
					return err
				}
				runs = append(runs, page[i].Name)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if !e.tables["dataset_run_items"] {
			continue
		}
		for _, run := range runs {
			err := e.c.ListDatasetRunItems(ctx, d.id, run, lf.PageOptions{}, func(page []lf.DatasetRunItem) error {
				for i := range page {
					if err := e.add(ctx, schema.DatasetRunItems, datasetRunItemV3(&page[i], d.id)); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}
