package lfexport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lakefuse/lakefuse/hive"
	lf "github.com/lakefuse/lakefuse/internal/langfuse"
	"github.com/lakefuse/lakefuse/schema"
	"golang.org/x/sync/errgroup"
)

// Shard is one of Count processes that export one project together, each
// a part of the window, at the same time, into one lake (see doc.go,
// Shards). Index counts from 1.
type Shard struct {
	Index, Count int
}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// JobIndexEnv is the variable a Kubernetes indexed Job sets to the pod's
// completion index, counted from 0; --shard job/N reads it.
const JobIndexEnv = "JOB_COMPLETION_INDEX"

// ParseShard parses "i/n" (1 ≤ i ≤ n, counted from 1) or "job/n", where
// the index is $JOB_COMPLETION_INDEX + 1 read through getenv.
func ParseShard(s string, getenv func(string) string) (Shard, error) {
	s = strings.TrimSpace(s)
	i, n, ok := strings.Cut(s, "/")
	count, err := strconv.Atoi(n)
	if !ok || err != nil {
		return Shard{}, fmt.Errorf("--shard %q: want i/n, e.g. 1/4 … 4/4 (counted from 1), or job/n in a Kubernetes indexed Job", s)
	}
	if count < 1 {
		return Shard{}, fmt.Errorf("--shard %q: the number of shards must be at least 1", s)
	}
	var idx int
	if i == "job" {
		v := getenv(JobIndexEnv)
		k, err := strconv.Atoi(v)
		if err != nil || k < 0 {
			return Shard{}, fmt.Errorf("--shard %q: $%s is %q, want the pod's completion index (0, 1, …) that a Kubernetes indexed Job sets", s, JobIndexEnv, v)
		}
		idx = k + 1
	} else if idx, err = strconv.Atoi(i); err != nil {
		return Shard{}, fmt.Errorf("--shard %q: want i/n, e.g. 1/4 … 4/4 (counted from 1), or job/n in a Kubernetes indexed Job", s)
	}
	sh := Shard{Index: idx, Count: count}
	if err := sh.check(); err != nil {
		return Shard{}, fmt.Errorf("--shard %q: %w", s, err)
	}
	return sh, nil
}

func (s Shard) check() error {
	switch {
	case s.Count < 1:
		return errors.New("the number of shards must be at least 1")
	case s.Index < 1:
		return fmt.Errorf("shards count from 1 (1/%d … %d/%d); a Kubernetes JOB_COMPLETION_INDEX counts from 0: pass --shard job/%d", s.Count, s.Count, s.Count, s.Count)
	case s.Index > s.Count:
		return fmt.Errorf("shard %d of %d: the index is at most %d", s.Index, s.Count, s.Count)
	}
	return nil
}

// validateShard adds the problems of a sharded export's options to errs.
func (o *Options) validateShard() []error {
	s := o.Shard
	if s == nil {
		return nil
	}
	var errs []error
	if err := s.check(); err != nil {
		errs = append(errs, err)
	}
	if o.Incremental {
		errs = append(errs, errors.New("--shard and --incremental exclude each other: shards must agree on their window without talking, "+
			"and an incremental export's start depends on what the lake holds when each shard starts (a shard that commits first moves it); "+
			"pass the same --from and --to to every shard"))
	}
	if o.From.IsZero() {
		errs = append(errs, errors.New("--shard needs --from (and usually --to): every shard must compute the same window to split"))
	}
	for _, t := range o.Tables {
		if t == "media" {
			errs = append(errs, errors.New("--shard cannot export the media table: it is one snapshot fed by the traces of every shard; "+
				"after the shards, export it with one unsharded run: --tables media and the same --from/--to"))
		}
	}
	return errs
}

// shardWindow resolves the window of the whole sharded export and this
// shard's part of it. Every shard computes the same window from the same
// flags: --from is widened to the start of its UTC day, --to (default:
// the start of the current UTC day) to the end of its day, and that end
// must have passed.
func (e *exporter) shardWindow(req request) (whole hive.Window, from, to time.Time, err error) {
	s := *e.o.Shard
	now := e.o.Now().UTC()
	wf := dayStart(req.From)
	wt := req.To
	if wt.IsZero() {
		wt = dayStart(now)
	} else if !wt.Equal(dayStart(wt)) {
		wt = dayStart(wt).Add(24 * time.Hour)
	}
	if wt.After(now) {
		return whole, from, to, fmt.Errorf("%w: --to %s: a sharded export covers whole UTC days that have ended, and %s has not; pass --to %s or earlier",
			ErrOptions, wt.Format(time.RFC3339), hive.DateOf(wt.Add(-time.Nanosecond)), hive.DateOf(dayStart(now)))
	}
	days := int(wt.Sub(wf) / (24 * time.Hour))
	if days < s.Count {
		return whole, from, to, fmt.Errorf("%w: the window %s – %s has %d days, fewer than %d shards: each shard exports whole UTC days",
			ErrOptions, hive.DateOf(wf), hive.DateOf(wt.Add(-time.Nanosecond)), days, s.Count)
	}
	from, to = hive.ShardWindow(wf, wt, s.Index, s.Count)
	return window(wf, wt), from, to, nil
}

// leaseGroup names the sharded export a shard belongs to: shards of the
// same group run at the same time.
func (e *exporter) leaseGroup(req request) string {
	return fmt.Sprintf("export of project %s from %s, %s – %s in %d shards", req.ProjectID, req.URL,
		hive.DateOf(req.From), hive.DateOf(req.To.Add(-time.Nanosecond)), e.o.Shard.Count)
}

// partitionedOnly leaves snapshot tables to shard 1.
func partitionedOnly(tables map[string]bool) {
	for name := range tables {
		if t, _ := schema.Lookup(name); !t.Partitioned() {
			delete(tables, name)
		}
	}
}

// sessionBatch is how many session ids one request asks about.
const sessionBatch = 100

// sessionsEarlier returns the v4 sessions of ids that have observations
// in the sharded export's window before this shard's part: the shard
// holding the earliest of them writes the session's row. It asks in
// batches, --concurrency at a time: the v2 observations of the batch's
// sessions in that stretch, with a filter (sessionId "any of", startTime;
// a string column takes a stringOptions filter:
// packages/shared/src/server/queries/clickhouse-sql/filterTypeCompatibility.ts).
// Each page names at least one session not found before; the next request
// asks about the others only, so a batch costs one request unless many of
// its sessions have earlier observations.
func (e *exporter) sessionsEarlier(ctx context.Context, ids []string) (map[string]bool, error) {
	sh := e.st.Shard
	if sh == nil || sh.Window.From == nil || !e.st.From.After(*sh.Window.From) {
		return nil, nil
	}
	var mu sync.Mutex
	out := map[string]bool{}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.o.Concurrency)
	for start := 0; start < len(ids); start += sessionBatch {
		left := slices.Clone(ids[start:min(start+sessionBatch, len(ids))])
		g.Go(func() error {
			for len(left) > 0 {
				raw, err := json.Marshal([]filterCond{
					{"stringOptions", "sessionId", "any of", left},
					{"datetime", "startTime", ">=", sh.Window.From.Format(time.RFC3339Nano)},
					{"datetime", "startTime", "<", e.st.From.Format(time.RFC3339Nano)},
				})
				if err != nil {
					return err
				}
				found := map[string]bool{}
				rows := 0
				q := lf.ObservationsV2Query{CursorOptions: lf.CursorOptions{Limit: observationsPage}, Fields: []string{"core", "basic"}, Filter: string(raw)}
				err = e.c.ListObservationsV2(gctx, q, func(page []lf.ObservationV2) error {
					rows = len(page)
					for i := range page {
						if id := page[i].SessionID; id != nil {
							found[*id] = true
						}
					}
					return errStop // one page at a time: then ask about the rest
				})
				if err != nil && !errors.Is(err, errStop) {
					return fmt.Errorf("look for earlier observations of sessions: %w", err)
				}
				next := left[:0]
				for _, id := range left {
					if !found[id] {
						next = append(next, id)
					}
				}
				mu.Lock()
				for id := range found {
					out[id] = true
				}
				mu.Unlock()
				if rows < observationsPage || len(next) == len(left) {
					break // every session with earlier rows was on the page
				}
				left = next
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// traceBatch is how many traces one request of foldLater asks about.
const traceBatch = 100

// foldsLater reports whether this run is a shard with later shards: a v4
// trace it writes may have rows in their days.
func (e *exporter) foldsLater() bool {
	sh := e.st.Shard
	return sh != nil && sh.Window.To != nil && e.st.To.Before(*sh.Window.To)
}

// mayGoOn reports whether the trace may have rows that start at or after
// t: a span of it was still open then (or never sent its end). A child
// that starts after every span of its trace ended is not looked for: the
// SDKs nest child spans inside their parents.
func (a *traceAgg) mayGoOn(t time.Time) bool { return a.Open || !a.End.Before(t) }

// foldLater folds into the aggregates of the traces in aggs their rows in
// the days of later shards, so that a shard writes the row an unsharded
// export of the whole window derives (a tag or user set on a child span
// after the shard's end). One request per batch, for the trace-level field
// groups only (traceId "any of", startTime bounds: a string column takes a
// stringOptions filter,
// packages/shared/src/server/queries/clickhouse-sql/filterTypeCompatibility.ts).
// Parentless rows are left out: a later shard writes the row of a root of
// its own.
func (e *exporter) foldLater(ctx context.Context, aggs map[string]*traceAgg) error {
	if len(aggs) == 0 {
		return nil
	}
	ids := make([]string, 0, len(aggs))
	for id := range aggs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	raw, err := json.Marshal([]filterCond{
		{"stringOptions", "traceId", "any of", ids},
		{"datetime", "startTime", ">=", e.st.To.Format(time.RFC3339Nano)},
		{"datetime", "startTime", "<", e.st.Shard.Window.To.Format(time.RFC3339Nano)},
	})
	if err != nil {
		return err
	}
	q := lf.ObservationsV2Query{CursorOptions: lf.CursorOptions{Limit: observationsPage},
		Fields: []string{"core", "basic", "time", "trace_context"}, Filter: string(raw)}
	err = e.c.ListObservationsV2(ctx, q, func(page []lf.ObservationV2) error {
		for i := range page {
			row, err := observationV2(&page[i])
			if err != nil {
				return err
			}
			if row.TraceID == nil || row.ParentObservationID == nil {
				continue
			}
			if a := aggs[*row.TraceID]; a != nil {
				a.add(row)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read the later rows of %d traces: %w", len(ids), err)
	}
	return nil
}
