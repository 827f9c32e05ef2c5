package importer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	lf "github.com/lakefuse/lakefuse/internal/langfuse"
	"github.com/lakefuse/lakefuse/schema"
)

// ErrPreflight: the preflight found something the user must decide first
// (rows older than the destination's retention, a destination that is not
// empty); the error says which flag decides it. Nothing was sent.
var ErrPreflight = errors.New("import preflight")

// destCountCap bounds the rows counted in listings without a total (v2
// observations, v3 scores): counting a big project exactly would take as
// long as exporting it. A count at the cap reads "at least".
const destCountCap = 1000

// Preflight is what the import means for the destination, computed before
// anything is sent.
type Preflight struct {
	// RetentionDays of the destination project; 0: it keeps data forever.
	RetentionDays int
	// Cutoff is now minus the retention; rows before it are deleted by
	// Langfuse's retention job (traces by timestamp, observations by
	// start_time, scores by timestamp) soon after they arrive.
	Cutoff time.Time
	// Old counts, per table, the rows to send that lie before Cutoff.
	Old map[string]int64
	// Units estimates what Langfuse bills for the import: each trace,
	// observation and score ingested is a unit, counted when it is created
	// (worker/src/ee/cloudUsageMetering/handleCloudUsageMeteringJob.ts), so
	// historical rows cost like new ones.
	Units Units
	// Dest counts the destination's rows in the tables to write;
	// DestAtLeast marks counts that stopped at destCountCap.
	Dest        map[string]int64
	DestAtLeast map[string]bool
	// FreshLedger: no earlier import from this lake into the destination
	// (a resumed import finds its own rows there).
	FreshLedger bool
	// Problems are the refusals, each naming the flag that overrides it.
	Problems []string
}

// Units are the billable units of an import.
type Units struct {
	Traces, Observations, Scores int64
	// RootSpans are spans made for traces without observations (counted in
	// Observations).
	RootSpans int64
}

// Total is the sum of the units.
func (u Units) Total() int64 { return u.Traces + u.Observations + u.Scores }

// NonEmpty reports whether the destination holds rows in a table to write.
func (p *Preflight) NonEmpty() []string {
	var out []string
	for _, t := range Order {
		if n := p.Dest[t]; n > 0 {
			s := fmt.Sprintf("%s %d", t, n)
			if p.DestAtLeast[t] {
				s = fmt.Sprintf("%s ≥%d", t, n)
			}
			out = append(out, s)
		}
	}
	return out
}

// preflight measures the lake's rows to send against the destination.
func (im *importer) preflight(ctx context.Context) (*Preflight, error) {
	p := &Preflight{Old: map[string]int64{}, Dest: map[string]int64{}, DestAtLeast: map[string]bool{}, FreshLedger: im.led.fresh()}
	if d := im.dest.RetentionDays; d != nil && *d > 0 {
		p.RetentionDays = *d
		p.Cutoff = im.o.Now().UTC().Add(-time.Duration(*d) * 24 * time.Hour)
	}
	old := func(table string, t time.Time) {
		if !p.Cutoff.IsZero() && t.Before(p.Cutoff) {
			p.Old[table]++
		}
	}
	withObs := newTraceHashes()
	if im.tables["observations"] {
		err := columns(ctx, im, []string{"trace_id", "start_time"}, func(o *schema.Observation) error {
			if !im.keepRow(o) {
				return nil
			}
			p.Units.Observations++
			old("observations", o.StartTime)
			if o.TraceID != nil {
				withObs.add(*o.TraceID)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		err = columns(ctx, im, []string{"id", "timestamp"}, func(t *schema.Trace) error {
			if !im.keepRow(t) {
				return nil
			}
			p.Units.Traces++
			old("traces", t.Timestamp)
			if !withObs.has(t.ID) {
				p.Units.RootSpans++
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		p.Units.Observations += p.Units.RootSpans
	}
	if im.tables["scores"] {
		err := columns(ctx, im, []string{"timestamp"}, func(s *schema.Score) error {
			if !im.keepRow(s) {
				return nil
			}
			p.Units.Scores++
			old("scores", s.Timestamp)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if err := im.countDestination(ctx, p); err != nil {
		return nil, fmt.Errorf("count the destination's rows: %w", err)
	}
	if n := p.Old["traces"] + p.Old["observations"] + p.Old["scores"]; n > 0 && !im.o.YesOldData {
		p.Problems = append(p.Problems, fmt.Sprintf("%d traces, %d observations and %d scores are older than the destination's retention of %d days (before %s): "+
			"Langfuse deletes them soon after the import; pass --yes-old-data to import them anyway, or --from %s to leave them out",
			p.Old["traces"], p.Old["observations"], p.Old["scores"], p.RetentionDays, p.Cutoff.Format(time.DateOnly),
			p.Cutoff.Add(24*time.Hour).Format(time.DateOnly)))
	}
	if ne := p.NonEmpty(); len(ne) > 0 && p.FreshLedger && !im.o.AllowNonEmpty && !im.o.AllowSameProject {
		p.Problems = append(p.Problems, fmt.Sprintf("the destination is not empty (%s): the lake's rows would mix with them; "+
			"pass --allow-non-empty (or --yes) to import into it anyway", strings.Join(ne, ", ")))
	}
	return p, nil
}

// errStop ends a listing early.
var errStop = errors.New("stop")

// countDestination counts the destination's rows in the tables the import
// writes: exactly where the API reports a total, else up to destCountCap.
func (im *importer) countDestination(ctx context.Context, p *Preflight) error {
	total := func(table string) lf.PageOptions {
		return lf.PageOptions{Limit: 1, OnTotal: func(n int) { p.Dest[table] = int64(n) }}
	}
	stop := func(any) error { return errStop }
	capped := func(table string, n int, more bool) {
		p.Dest[table] = int64(n)
		p.DestAtLeast[table] = more
	}
	ignoreStop := func(err error) error {
		if errors.Is(err, errStop) {
			return nil
		}
		return err
	}
	var errs []error
	if im.tables["score_configs"] {
		errs = append(errs, ignoreStop(im.c.ListScoreConfigs(ctx, total("score_configs"), func(x []lf.ScoreConfig) error { return stop(x) })))
	}
	if im.tables["prompts"] {
		errs = append(errs, ignoreStop(im.c.ListPrompts(ctx, lf.PromptsQuery{PageOptions: total("prompts")}, func(x []lf.PromptMeta) error { return stop(x) })))
	}
	if im.tables["datasets"] {
		errs = append(errs, ignoreStop(im.c.ListDatasets(ctx, total("datasets"), func(x []lf.Dataset) error { return stop(x) })))
	}
	if im.tables["annotation_queues"] {
		errs = append(errs, ignoreStop(im.c.ListAnnotationQueues(ctx, total("annotation_queues"), func(x []lf.AnnotationQueue) error { return stop(x) })))
	}
	if im.tables["comments"] {
		errs = append(errs, ignoreStop(im.c.ListComments(ctx, lf.CommentsQuery{PageOptions: total("comments")}, func(x []lf.Comment) error { return stop(x) })))
	}
	if im.tables["observations"] {
		if im.gen == lf.V3 {
			errs = append(errs, ignoreStop(im.c.ListTraces(ctx, lf.TracesQuery{PageOptions: total("traces"), Fields: []string{"core"}}, func(x []lf.Trace) error { return stop(x) })))
			errs = append(errs, ignoreStop(im.c.ListObservationsV1(ctx, lf.ObservationsV1Query{PageOptions: total("observations")}, func(x []lf.ObservationV1) error { return stop(x) })))
		} else {
			n, more := 0, false
			q := lf.ObservationsV2Query{CursorOptions: lf.CursorOptions{Limit: destCountCap}, Fields: []string{"core"}}
			err := im.c.ListObservationsV2(ctx, q, func(x []lf.ObservationV2) error {
				n += len(x)
				more = len(x) == destCountCap
				return errStop // one page
			})
			errs = append(errs, ignoreStop(err))
			capped("observations", n, more)
		}
	}
	if im.tables["scores"] {
		if im.gen == lf.V3 {
			errs = append(errs, ignoreStop(im.c.ListScoresV2(ctx, lf.ScoresV2Query{PageOptions: total("scores"), Fields: []string{"score"}}, func(x []lf.ScoreV2) error { return stop(x) })))
		} else {
			n, more := 0, false
			q := lf.ScoresV3Query{Fields: []string{}}
			err := im.c.ListScoresV3(ctx, q, func(x []lf.ScoreV3) error {
				n += len(x)
				if n >= destCountCap {
					more = true
					return errStop
				}
				return nil
			})
			errs = append(errs, ignoreStop(err))
			capped("scores", n, more)
		}
	}
	return errors.Join(errs...)
}
