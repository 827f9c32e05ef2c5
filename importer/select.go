package importer

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"time"

	"github.com/lakefuse/lakefuse/internal/selection"
	"github.com/lakefuse/lakefuse/schema"
)

// This file applies Options.Filter, Options.From and Options.To to a lake:
// the traces they select travel with their observations, scores, sessions,
// comments, queue items, run items and media (package selection); every
// other row is left in the lake and counted nowhere. The selection is
// computed before anything is sent, by scanning only the columns it needs,
// so that the plan and the preflight show what will really be sent.

// ErrPartialLake: the lake lacks field groups (exported with --fields) and
// the import was not told that is fine.
var ErrPartialLake = errors.New("lake exported without some fields")

// checkPartial refuses a lake whose observations lack field groups, unless
// Options.AllowPartial: imported, it would make a destination whose
// observations have no input, output or metadata, with nothing telling
// anyone why.
func (im *importer) checkPartial() error {
	omitted := im.lake.OmittedFields(im.project)
	if len(omitted) == 0 || im.o.AllowPartial {
		if len(omitted) > 0 {
			im.log.Warn("importing a lake exported without some field groups", "omitted", strings.Join(omitted, ","))
		}
		return nil
	}
	return fmt.Errorf("%w: its observations were exported without the field groups %s (their columns are null); "+
		"pass --allow-partial to import it anyway", ErrPartialLake, strings.Join(omitted, ","))
}

// filtering reports whether the import selects traces.
func (im *importer) filtering() bool {
	return !im.o.Filter.Empty() || !im.o.From.IsZero() || !im.o.To.IsZero()
}

// inWindow reports whether a trace's time lies in [From, To).
func (im *importer) inWindow(t time.Time) bool {
	return (im.o.From.IsZero() || !t.Before(im.o.From)) && (im.o.To.IsZero() || t.Before(im.o.To))
}

// selectTraces computes im.sel: the traces meeting the filter whose time
// (the trace row's timestamp, else its earliest observation) lies in the
// window, and their observations and sessions.
func (im *importer) selectTraces(ctx context.Context) error {
	var m *selection.Matcher
	if !im.o.Filter.Empty() {
		m = selection.NewMatcher(im.o.Filter)
	}
	start := map[string]time.Time{}
	first := func(id string, t time.Time) {
		if s, ok := start[id]; !ok || t.Before(s) {
			start[id] = t
		}
	}
	traceCols := []string{"id", "timestamp", "name", "user_id", "session_id", "release", "environment", "tags"}
	fromRows := map[string]bool{}
	err := columns(ctx, im, traceCols, func(t *schema.Trace) error {
		if m != nil {
			m.Trace(t)
		}
		start[t.ID] = t.Timestamp // the trace row decides its time
		fromRows[t.ID] = true
		return nil
	})
	if err != nil {
		return err
	}
	obsCols := []string{"id", "trace_id", "start_time", "type", "level", "user_id", "session_id", "trace_name", "tags", "release", "environment"}
	err = columns(ctx, im, obsCols, func(o *schema.Observation) error {
		if o.TraceID == nil {
			return nil
		}
		if m != nil {
			m.Observation(o)
		}
		if !fromRows[*o.TraceID] {
			first(*o.TraceID, o.StartTime)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if m != nil && slices.ContainsFunc(im.o.Filter.Criteria(), func(c selection.Criterion) bool { return c.Name == selection.CritScoreName }) {
		err = columns(ctx, im, []string{"name", "trace_id"}, func(s *schema.Score) error { m.Score(s); return nil })
		if err != nil {
			return err
		}
	}
	picked := map[string]bool{}
	if m != nil {
		picked = m.Selected()
	} else {
		for id := range start {
			picked[id] = true
		}
	}
	for id := range picked {
		if t, ok := start[id]; !ok || !im.inWindow(t) {
			delete(picked, id)
		}
	}
	set := selection.NewSet(picked)
	// Learn the observations and sessions of the selected traces.
	if err := columns(ctx, im, []string{"id", "session_id"}, func(t *schema.Trace) error { set.Keep(t); return nil }); err != nil {
		return err
	}
	if err := columns(ctx, im, []string{"id", "trace_id", "session_id"}, func(o *schema.Observation) error { set.Keep(o); return nil }); err != nil {
		return err
	}
	im.sel = set
	im.log.Info("traces selected", "filter", im.o.Filter.String(), "traces", len(set.Traces), "of", len(start))
	return nil
}

// keepRow reports whether a decoded row belongs to the selection (always,
// without one). The Set learnt the observations and sessions up front, so
// the order of the steps does not matter.
func (im *importer) keepRow(row any) bool {
	if im.sel == nil {
		return true
	}
	return im.sel.Keep(row)
}

// linkColumns are the columns Set.Keep reads, added to column projections
// while a selection is active.
var linkColumns = map[string][]string{
	"traces":                 {"id", "session_id"},
	"observations":           {"id", "trace_id", "session_id"},
	"scores":                 {"trace_id", "observation_id", "session_id"},
	"sessions":               {"id"},
	"comments":               {"object_type", "object_id"},
	"annotation_queue_items": {"object_type", "object_id"},
	"dataset_run_items":      {"trace_id"},
	"media":                  {"trace_id", "observation_id", "dataset_item_id"},
}

func (im *importer) withLinks(table string, cols []string) []string {
	if im.sel == nil || cols == nil {
		return cols
	}
	out := slices.Clone(cols)
	for _, c := range linkColumns[table] {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// countSelected counts the selected rows of every trace-linked table, for
// the plan and the results.
func (im *importer) countSelected(ctx context.Context) error {
	im.selRows = map[string]int64{}
	count := func(table string) func(row any) {
		return func(row any) {
			if im.sel.Keep(row) {
				im.selRows[table]++
			}
		}
	}
	var errs []error
	for _, t := range selection.KeepOrder {
		if len(im.files(t)) == 0 {
			continue
		}
		tab, err := schema.Lookup(t)
		if err != nil {
			return err
		}
		fn := count(t)
		errs = append(errs, scanColumns(ctx, im, tab, linkColumns[t], fn))
	}
	return errors.Join(errs...)
}

// scanColumns decodes the given columns of a table's rows as tab's row type.
func scanColumns(ctx context.Context, im *importer, tab *schema.Table, cols []string, fn func(row any)) error {
	switch tab.Name {
	case "traces":
		return columns(ctx, im, cols, func(r *schema.Trace) error { fn(r); return nil })
	case "observations":
		return columns(ctx, im, cols, func(r *schema.Observation) error { fn(r); return nil })
	case "scores":
		return columns(ctx, im, cols, func(r *schema.Score) error { fn(r); return nil })
	case "sessions":
		return columns(ctx, im, cols, func(r *schema.Session) error { fn(r); return nil })
	case "comments":
		return columns(ctx, im, cols, func(r *schema.Comment) error { fn(r); return nil })
	case "annotation_queue_items":
		return columns(ctx, im, cols, func(r *schema.AnnotationQueueItem) error { fn(r); return nil })
	case "dataset_run_items":
		return columns(ctx, im, cols, func(r *schema.DatasetRunItem) error { fn(r); return nil })
	case "media":
		return columns(ctx, im, cols, func(r *schema.MediaReference) error { fn(r); return nil })
	}
	return fmt.Errorf("no selection for table %s", tab.Name)
}

// fresh reports whether the ledger has nothing: no import into this
// destination ran from this lake before.
func (l *ledger) fresh() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.rows) == 0 && len(l.ids) == 0 && len(l.done) == 0 && len(l.intents) == 0
}

// traceHashes is a set of trace ids, 8 bytes each.
type traceHashes struct {
	seed maphash.Seed
	m    map[uint64]struct{}
}

func newTraceHashes() *traceHashes {
	return &traceHashes{seed: maphash.MakeSeed(), m: map[uint64]struct{}{}}
}

func (h *traceHashes) add(id string) { h.m[maphash.String(h.seed, id)] = struct{}{} }

func (h *traceHashes) has(id string) bool { _, ok := h.m[maphash.String(h.seed, id)]; return ok }
