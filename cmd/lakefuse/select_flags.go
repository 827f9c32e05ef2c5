package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/lakefuse/lakefuse/importer"
	"github.com/lakefuse/lakefuse/internal/selection"
)

// FilterFlags select traces, on export and on import (see docs/privacy.md).
// Values are comma-separated alternatives; flags combine with AND.
type FilterFlags struct {
	TraceName       []string `name:"trace-name" help:"Only traces with one of these names." placeholder:"NAME,…"`
	UserID          []string `name:"user-id" help:"Only traces of one of these users." placeholder:"ID,…"`
	SessionID       []string `name:"session-id" help:"Only traces of one of these sessions." placeholder:"ID,…"`
	Tags            []string `name:"tags" help:"Only traces with at least one of these tags." placeholder:"TAG,…"`
	AllTags         []string `name:"all-tags" help:"Only traces with all of these tags." placeholder:"TAG,…"`
	Environment     []string `name:"environment" help:"Only traces from one of these environments." placeholder:"ENV,…"`
	Release         []string `name:"release" help:"Only traces of one of these releases." placeholder:"RELEASE,…"`
	ObservationType []string `name:"observation-type" help:"Only traces with an observation of one of these types (GENERATION, TOOL, …)." placeholder:"TYPE,…"`
	Level           []string `name:"level" help:"Only traces with an observation at one of these levels (DEBUG, DEFAULT, WARNING, ERROR)." placeholder:"LEVEL,…"`
	ScoreName       []string `name:"score-name" help:"Only traces with a score of one of these names." placeholder:"NAME,…"`
}

// Filter returns the selection filter, nil when no flag is set.
func (f FilterFlags) Filter() (*selection.Filter, error) {
	sf := &selection.Filter{TraceNames: f.TraceName, UserIDs: f.UserID, SessionIDs: f.SessionID, TagsAny: f.Tags, TagsAll: f.AllTags,
		Environments: f.Environment, Releases: f.Release, ObservationTypes: f.ObservationType, Levels: f.Level, ScoreNames: f.ScoreName}
	if err := sf.Normalize(); err != nil {
		return nil, err
	}
	if sf.Empty() {
		return nil, nil
	}
	return sf, nil
}

// printPreflight prints the preflight after the plan.
func printPreflight(w io.Writer, p *importer.Plan) {
	if p.Filter != "" {
		fmt.Fprintf(w, "Selection: %s\n", p.Filter)
	}
	pf := p.Preflight
	if pf == nil {
		return
	}
	fmt.Fprintln(w, "Preflight:")
	if pf.RetentionDays > 0 {
		fmt.Fprintf(w, "  destination retention: %d days (rows before %s are deleted by Langfuse): %d traces, %d observations, %d scores to send are older\n",
			pf.RetentionDays, pf.Cutoff.Format(time.DateOnly), pf.Old["traces"], pf.Old["observations"], pf.Old["scores"])
	} else {
		fmt.Fprintln(w, "  destination retention: none (data is kept)")
	}
	u := pf.Units
	fmt.Fprintf(w, "  billable units (est.): %d = %d traces + %d observations", u.Total(), u.Traces, u.Observations)
	if u.RootSpans > 0 {
		fmt.Fprintf(w, " (%d of them root spans for traces without observations)", u.RootSpans)
	}
	fmt.Fprintf(w, " + %d scores (scores Langfuse would drop are skipped and not billed)\n", u.Scores)
	if ne := pf.NonEmpty(); len(ne) > 0 {
		fmt.Fprintf(w, "  destination already holds: %s\n", strings.Join(ne, ", "))
	} else {
		fmt.Fprintln(w, "  destination is empty in the tables to write")
	}
	for _, pr := range pf.Problems {
		fmt.Fprintf(w, "  REFUSED: %s\n", pr)
	}
}

// printSelections lists the runs that left something out, so that nobody
// takes a filtered or partial lake for a full copy.
func printSelections(w io.Writer, runs []lsRun) {
	for _, r := range runs {
		if r.Selection.Empty() {
			continue
		}
		var parts []string
		if f, err := selection.FromMap(r.Selection.Filter); err == nil && !f.Empty() {
			parts = append(parts, "filter "+f.String())
		}
		if len(r.Selection.OmittedFields) > 0 {
			parts = append(parts, "without field groups "+strings.Join(r.Selection.OmittedFields, ","))
		}
		fmt.Fprintf(w, "  run %s is partial: %s\n", r.RunID, strings.Join(parts, "; "))
	}
}
