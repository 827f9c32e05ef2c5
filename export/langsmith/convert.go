package langsmith

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/hive"
	"github.com/lakefuse/lakefuse/schema"
)

// FeedbackFile is a file of raw LangSmith feedback records. Open is called
// twice: the conversion reads the file once before the runs (to learn which
// runs it needs) and once after.
type FeedbackFile struct {
	Name string // for messages
	Open func(ctx context.Context) (io.ReadCloser, error)
}

// Options configure a conversion. The zero value is usable.
type Options struct {
	// Environment is the Langfuse environment of every row (default
	// "default"): LangSmith has no such notion.
	Environment string
	// Feedback, if set, is converted into scores, and feedback_stats
	// aggregates are then not (they would count the same feedback twice).
	Feedback *FeedbackFile
	// NoStatsScores keeps feedback_stats in metadata only, even without a
	// feedback file.
	NoStatsScores bool
	// KeepTokenEvents keeps every new_token event in the metadata instead
	// of a count and the first and last times.
	KeepTokenEvents bool
	// BatchRows is the rows per record batch read (default 1024).
	BatchRows int64
	Mem       memory.Allocator
	Logger    *slog.Logger
}

// Stats counts what a conversion read and wrote.
type Stats struct {
	Files    int   `json:"files"`
	Bytes    int64 `json:"bytes"`
	Ignored  int   `json:"ignored_objects"`
	Groups   int   `json:"project_days"`
	RunsRead int64 `json:"runs_read"`
	// Duplicates are rows dropped because another row of the same run (in
	// another export, or the same) won: complete before pending, then the
	// later export.
	Duplicates int64 `json:"duplicates_dropped"`
	Runs       int64 `json:"runs_converted"`
	// Orphans are runs whose parent is in no export of SOURCE.
	Orphans int64 `json:"orphans"`
	// RootlessTraces are traces whose root run is in no export; their trace
	// row is made from their first orphan.
	RootlessTraces int64 `json:"rootless_traces"`
	Traces         int64 `json:"traces"`
	Observations   int64 `json:"observations"`
	Scores         int64 `json:"scores"`
	Sessions       int64 `json:"sessions"`
	// StatsScores are scores made from feedback_stats aggregates.
	StatsScores        int64            `json:"feedback_stats_scores"`
	FeedbackRead       int64            `json:"feedback_read"`
	FeedbackScores     int64            `json:"feedback_scores"`
	FeedbackDuplicates int64            `json:"feedback_duplicates"`
	FeedbackSkipped    map[string]int64 `json:"feedback_skipped,omitempty"`
	Projects           []string         `json:"projects"`
	Tenants            []string         `json:"tenants"`
	Exports            []string         `json:"exports"`
}

// cand is a row that may be a run's winning row.
type cand struct {
	file     int32
	complete bool
	row      int64
	end      int64
}

// Converter converts one SOURCE. Open plans and checks; Convert writes.
type Converter struct {
	src      bucket.Bucket
	location string
	opts     Options
	log      *slog.Logger
	list     *listing
	hasher   idHasher
	// ids holds every run id that will be converted, for the orphan
	// check: 8 bytes and some map overhead per run, the only state that
	// grows with the whole export.
	ids    map[uint64]struct{}
	losers map[*srcFile]map[int64]struct{}
	stats  Stats
	used   bool

	projects, tenants, exports map[string]bool
}

// Open lists SOURCE and reads the id, end_time and status columns of every
// run file, to check every file's schema before anything is written and to
// choose, per project and day, which row of a duplicated run wins.
func Open(ctx context.Context, src bucket.Bucket, location string, opts Options) (*Converter, error) {
	if opts.Environment == "" {
		opts.Environment = "default"
	}
	if opts.BatchRows <= 0 {
		opts.BatchRows = 1024
	}
	if opts.Mem == nil {
		opts.Mem = memory.DefaultAllocator
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Converter{
		src: src, location: strings.TrimSuffix(location, "/"), opts: opts, log: opts.Logger, hasher: newIDHasher(),
		ids: map[uint64]struct{}{}, losers: map[*srcFile]map[int64]struct{}{},
		projects: map[string]bool{}, tenants: map[string]bool{}, exports: map[string]bool{},
	}
	l, err := discover(ctx, src, c.location)
	if err != nil {
		return nil, err
	}
	c.list = l
	c.stats.Files, c.stats.Bytes, c.stats.Ignored, c.stats.Groups = l.files, l.bytes, l.ignored, len(l.groups)
	if l.files == 0 {
		return nil, fmt.Errorf("%s: %w: no *.parquet files of runs under it (a bulk export has export_id=…/tenant_id=…/session_id=…/runs/year=…/month=…/day=…/*.parquet; tmp/ and %d other objects were ignored)", c.location, ErrNoRuns, l.ignored)
	}
	for _, g := range l.groups {
		if err := c.index(ctx, g); err != nil {
			return nil, err
		}
	}
	if c.stats.RunsRead == 0 {
		return nil, fmt.Errorf("%s: %w: its %d run files hold no rows", c.location, ErrNoRuns, l.files)
	}
	c.stats.Projects = slices.Sorted(maps.Keys(c.projects))
	c.stats.Tenants = slices.Sorted(maps.Keys(c.tenants))
	c.stats.Exports = slices.Sorted(maps.Keys(c.exports))
	return c, nil
}

func (c *Converter) where(f *srcFile) string { return c.location + "/" + f.key }

// Projects are the LangSmith projects (session ids) in SOURCE: the
// project_id partitions the conversion writes.
func (c *Converter) Projects() []string { return c.stats.Projects }

// Stats are the counts so far (after Open: files, runs read, duplicates).
func (c *Converter) Stats() Stats { return c.stats }

func pending(status string) bool {
	return strings.EqualFold(status, "pending") || strings.EqualFold(status, "running")
}

// index reads the identity columns of a group's files and records the rows
// that lose to another row of the same run.
func (c *Converter) index(ctx context.Context, g *group) error {
	best := map[uint64]cand{}
	lose := func(f *srcFile, row int64) {
		m := c.losers[f]
		if m == nil {
			m = map[int64]struct{}{}
			c.losers[f] = m
		}
		m[row] = struct{}{}
		c.stats.Duplicates++
	}
	better := func(a, b cand) bool {
		if a.complete != b.complete {
			return a.complete
		}
		if ma, mb := g.files[a.file].modTime, g.files[b.file].modTime; !ma.Equal(mb) {
			return ma.After(mb)
		}
		if a.end != b.end {
			return a.end > b.end
		}
		if a.file != b.file {
			return a.file > b.file
		}
		return a.row > b.row
	}
	for fi, f := range g.files {
		fr, err := openFile(ctx, c.src, c.where(f), f.key, c.opts.Mem, c.opts.BatchRows)
		if err != nil {
			return err
		}
		if f.sessionID == "" && !fr.has("session_id") {
			fr.close()
			return fmt.Errorf("%s: %w: cannot tell the LangSmith project: no session_id= in the path and no session_id column (point SOURCE at the export, above session_id=…)", c.where(f), ErrSchema)
		}
		if f.exportID != "" {
			c.exports[f.exportID] = true
		}
		var row int64
		err = fr.read(ctx, []string{"id", "end_time", "status", "session_id", "tenant_id"}, func(rec arrow.RecordBatch) error {
			v := newView(fr, rec)
			for i := 0; i < int(rec.NumRows()); i++ {
				id, ok := v.id(i)
				if !ok || id == "" {
					return fmt.Errorf("%s row %d: %w: id is null", c.where(f), row+int64(i), ErrBadRun)
				}
				end, hasEnd, err := v.end(i)
				if err != nil {
					return fmt.Errorf("%s row %d (run %s): %w: %w", c.where(f), row+int64(i), id, ErrBadRun, err)
				}
				status, _ := v.status(i)
				project := f.sessionID
				if project == "" {
					project, _ = v.session(i)
					if project == "" {
						return fmt.Errorf("%s row %d (run %s): %w: session_id is null and the path has no session_id=", c.where(f), row+int64(i), id, ErrBadRun)
					}
				}
				if !c.projects[project] {
					c.projects[strings.Clone(project)] = true
				}
				tenant := f.tenantID
				if tenant == "" {
					tenant, _ = v.tenant(i)
				}
				if tenant != "" && !c.tenants[tenant] {
					c.tenants[strings.Clone(tenant)] = true
				}
				cd := cand{file: int32(fi), row: row + int64(i), complete: hasEnd && !pending(status)}
				if hasEnd {
					cd.end = end.UnixNano()
				}
				h := c.hasher.sum(id)
				if prev, dup := best[h]; dup {
					if better(cd, prev) {
						best[h] = cd
						lose(g.files[prev.file], prev.row)
					} else {
						lose(f, cd.row)
					}
					continue
				}
				best[h] = cd
			}
			row += rec.NumRows()
			return nil
		})
		fr.close()
		if err != nil {
			return err
		}
		c.stats.RunsRead += row
	}
	// A run in two project-days (its start_time changed between exports,
	// which LangSmith does not do) keeps its first: its rows cannot be
	// compared without holding both.
	for h, cd := range best {
		if _, seen := c.ids[h]; seen {
			lose(g.files[cd.file], cd.row)
			continue
		}
		c.ids[h] = struct{}{}
	}
	return nil
}

// hasID reports whether the canonical run id is converted.
func (c *Converter) hasID(id string) bool {
	_, ok := c.ids[c.hasher.sumOf(id)]
	return ok
}

// sessionKey is a Langfuse session of a project.
type sessionKey struct{ project, id string }

// rowOut is one converted run on its way to the lake.
type rowOut struct {
	project string
	m       mapped
	// rootless is the trace row made from this run when it is the first
	// orphan of a trace without a root run.
	rootless *schema.Trace
	scores   []schema.Score
}

// outBatch is the rows converted from one record batch. Their strings point
// into the record and into arena, so both live until the rows are written.
type outBatch struct {
	rec   arrow.RecordBatch
	rows  []rowOut
	arena []byte
	// sync asks the writer to finish the lake's open files (after a
	// project-day) instead of writing rows.
	sync bool
}

// pipelineDepth bounds the batches in flight between converting and
// writing, and so the memory they hold.
const pipelineDepth = 3

// writer is the state of one Convert call. Converting (reading, mapping,
// bookkeeping) runs in the calling goroutine; appending to the lake, which
// encodes and compresses Parquet, runs in another, so the two use both of
// a small machine's cores.
type writer struct {
	c        *Converter
	run      *hive.Run
	stats    *Stats
	sessions map[sessionKey]time.Time
	// rootless holds the trace ids (hashed) of traces without a root run
	// whose trace row was made.
	rootless    map[uint64]struct{}
	needs       map[uint64]feedbackTarget
	statsScores bool
	mp          mapper
	r           run
	lastLog     time.Time

	free chan *outBatch
	work chan *outBatch
	done chan error
}

// Convert writes every run into run, then the sessions and feedback, and
// records the conversion in run's notes. The caller commits or aborts run.
// A Converter converts once.
func (c *Converter) Convert(ctx context.Context, run *hive.Run) (*Stats, error) {
	if c.used {
		return nil, fmt.Errorf("convert %s: this Converter already converted; Open a new one", c.location)
	}
	c.used = true
	w := &writer{
		c: c, run: run, stats: &c.stats, sessions: map[sessionKey]time.Time{}, rootless: map[uint64]struct{}{},
		statsScores: !c.opts.NoStatsScores && c.opts.Feedback == nil, lastLog: time.Now(),
		mp: mapper{opts: mapOptions{environment: c.opts.Environment, keepTokenEvents: c.opts.KeepTokenEvents}},
	}
	for _, t := range []*schema.Table{schema.Traces, schema.Observations, schema.Scores, schema.Sessions} {
		run.Touch(t.Name)
	}
	if c.opts.Feedback != nil {
		if err := w.feedbackNeeds(ctx); err != nil {
			return nil, err
		}
	}
	if err := w.runs(ctx); err != nil {
		return nil, err
	}
	if err := w.writeSessions(ctx); err != nil {
		return nil, err
	}
	if c.opts.Feedback != nil {
		if err := w.feedback(ctx); err != nil {
			return nil, err
		}
	}
	w.notes()
	s := c.stats
	return &s, nil
}

// runs converts every group, handing batches of rows to a writing
// goroutine.
func (w *writer) runs(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	w.free = make(chan *outBatch, pipelineDepth)
	w.work = make(chan *outBatch, pipelineDepth)
	w.done = make(chan error, 1)
	for range pipelineDepth {
		w.free <- &outBatch{}
	}
	go func() {
		var err error
		for b := range w.work {
			if err == nil {
				if err = w.write(ctx, b); err != nil {
					cancel(err)
				}
			}
			w.recycle(b)
		}
		w.done <- err
	}()
	var err error
	for _, g := range w.c.list.groups {
		if err = w.group(ctx, g); err != nil {
			break
		}
		b, gerr := w.batch(ctx)
		if gerr != nil {
			err = gerr
			break
		}
		b.sync = true
		w.work <- b
	}
	close(w.work)
	werr := <-w.done
	if werr != nil {
		return werr
	}
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
			return cause
		}
		return err
	}
	return nil
}

// batch takes a free batch, waiting for the writer if all are in flight.
func (w *writer) batch(ctx context.Context) (*outBatch, error) {
	select {
	case b := <-w.free:
		return b, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

func (w *writer) recycle(b *outBatch) {
	if b.rec != nil {
		b.rec.Release()
		b.rec = nil
	}
	clear(b.rows) // drop references to the record's and arena's strings
	b.rows = b.rows[:0]
	b.sync = false
	w.free <- b
}

// write appends a batch's rows to the lake.
func (w *writer) write(ctx context.Context, b *outBatch) error {
	if b.sync {
		w.c.log.Debug("project-day written")
		return w.run.Sync(ctx)
	}
	for i := range b.rows {
		r := &b.rows[i]
		if err := w.run.Append(ctx, schema.Observations, r.project, &r.m.obs); err != nil {
			return err
		}
		if r.m.trace != nil {
			if err := w.run.Append(ctx, schema.Traces, r.project, r.m.trace); err != nil {
				return err
			}
		}
		if r.rootless != nil {
			if err := w.run.Append(ctx, schema.Traces, r.project, r.rootless); err != nil {
				return err
			}
		}
		for j := range r.scores {
			if err := w.run.Append(ctx, schema.Scores, r.project, &r.scores[j]); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *writer) group(ctx context.Context, g *group) error {
	c := w.c
	c.log.Debug("converting", "group", g.String(), "files", len(g.files))
	for _, f := range g.files {
		fr, err := openFile(ctx, c.src, c.where(f), f.key, c.opts.Mem, c.opts.BatchRows)
		if err != nil {
			return err
		}
		losers := c.losers[f]
		var row int64
		err = fr.read(ctx, nil, func(rec arrow.RecordBatch) error {
			b, err := w.batch(ctx)
			if err != nil {
				return err
			}
			rec.Retain()
			b.rec = rec
			w.mp.arena = b.arena[:0]
			v := newView(fr, rec)
			n := int(rec.NumRows())
			if cap(b.rows) < n {
				b.rows = make([]rowOut, 0, n)
			}
			for i := 0; i < n; i++ {
				if _, lost := losers[row+int64(i)]; lost {
					continue
				}
				if err := v.fill(i, &w.r); err != nil {
					err = fmt.Errorf("%s row %d: %w", c.where(f), row+int64(i), err)
					w.recycle(b)
					return err
				}
				b.rows = b.rows[:len(b.rows)+1]
				if err := w.convert(v, f, &b.rows[len(b.rows)-1]); err != nil {
					err = fmt.Errorf("%s row %d (run %s): %w", c.where(f), row+int64(i), w.r.id, err)
					w.recycle(b)
					return err
				}
			}
			b.arena = w.mp.arena
			w.mp.arena = nil
			row += int64(n)
			w.work <- b
			if time.Since(w.lastLog) > 10*time.Second {
				w.lastLog = time.Now()
				c.log.Info("converting", "group", g.String(), "runs", c.stats.Runs, "of", c.stats.RunsRead-c.stats.Duplicates)
			}
			return ctx.Err()
		})
		fr.close()
		if err != nil {
			return err
		}
	}
	return nil
}

// convert maps the run in w.r into out and does the bookkeeping that spans
// runs: orphans, traces without root, sessions, feedback targets.
func (w *writer) convert(v *view, f *srcFile, out *rowOut) error {
	c, r := w.c, &w.r
	res, err := r.resolve(v, c.hasID)
	if err != nil {
		return err
	}
	out.project = cmp.Or(f.sessionID, r.sessionID)
	tenant := cmp.Or(f.tenantID, r.tenantID)
	w.mp.mapRun(r, res, out.project, tenant, f.exportID, &out.m)
	w.stats.Runs++
	w.stats.Observations++
	if out.m.trace != nil {
		w.traceRow(out.project, out.m.trace, out.m.session)
	}
	if res.orphan {
		w.stats.Orphans++
		if !c.hasID(res.traceID) {
			h := c.hasher.sumOf(res.traceID)
			if _, done := w.rootless[h]; !done {
				w.rootless[h] = struct{}{}
				w.stats.RootlessTraces++
				out.rootless = rootlessTrace(&out.m, out.project, tenant, c.opts.Environment)
				w.traceRow(out.project, out.rootless, out.m.session)
			}
		}
	}
	if w.statsScores && r.fbStats != "" {
		err := statsScores(r, &out.m.res, c.opts.Environment, func(s *schema.Score) error {
			w.stats.StatsScores++
			w.stats.Scores++
			out.scores = append(out.scores, *s)
			return nil
		})
		if err != nil {
			return err
		}
	}
	if len(w.needs) > 0 {
		h := c.hasher.sumOf(res.id)
		if _, ok := w.needs[h]; ok {
			w.needs[h] = feedbackTarget{found: true, root: res.root, trace: res.traceHex, project: strings.Clone(out.project)}
		}
	}
	return nil
}

// rootlessTrace is the trace row of a trace whose root run is in no
// export, made from its first orphan run: the trace's own name, input and
// output are lost with the root, so only what the orphan says is set.
func rootlessTrace(m *mapped, project, tenant string, env string) *schema.Trace {
	var o obj
	o.begin()
	o.key("langsmith")
	o.begin()
	o.str("trace_id", m.res.traceID)
	o.boolean("root_run_missing", true)
	o.str("first_run_id", m.res.id)
	if project != "" {
		o.str("session_id", project)
	}
	if tenant != "" {
		o.str("tenant_id", tenant)
	}
	o.end()
	o.end()
	meta := string(o.b)
	t := &schema.Trace{ID: m.res.traceHex, Timestamp: m.res.start, Environment: env, Metadata: &meta}
	if m.session != "" {
		t.SessionID = &m.session
	}
	if m.user != "" {
		t.UserID = &m.user
	}
	return t
}

// traceRow counts a trace row and its session.
func (w *writer) traceRow(project string, t *schema.Trace, session string) {
	w.stats.Traces++
	if session != "" {
		k := sessionKey{project, session}
		if first, ok := w.sessions[k]; !ok || t.Timestamp.Before(first) {
			if !ok {
				k = sessionKey{strings.Clone(project), strings.Clone(session)}
			}
			w.sessions[k] = t.Timestamp
		}
	}
}

// writeSessions writes a sessions row per Langfuse session: created_at is
// the start of its earliest trace.
func (w *writer) writeSessions(ctx context.Context) error {
	keys := slices.SortedFunc(maps.Keys(w.sessions), func(a, b sessionKey) int {
		return cmp.Or(cmp.Compare(a.project, b.project), cmp.Compare(a.id, b.id))
	})
	for _, k := range keys {
		s := schema.Session{ID: k.id, CreatedAt: w.sessions[k], Environment: w.c.opts.Environment}
		if err := w.run.Append(ctx, schema.Sessions, k.project, &s); err != nil {
			return err
		}
		w.stats.Sessions++
	}
	return nil
}

func (w *writer) openFeedback(ctx context.Context, fn func(n int, rec *feedbackRecord, raw json.RawMessage) error) error {
	fb := w.c.opts.Feedback
	rc, err := fb.Open(ctx)
	if err != nil {
		return fmt.Errorf("feedback %s: %w", fb.Name, err)
	}
	defer rc.Close()
	return readFeedback(ctx, rc, fb.Name, fn)
}

// feedbackNeeds reads the feedback file once to learn which runs it scores,
// so that converting the runs can note each one's trace and place.
func (w *writer) feedbackNeeds(ctx context.Context) error {
	w.needs = map[uint64]feedbackTarget{}
	return w.openFeedback(ctx, func(_ int, rec *feedbackRecord, _ json.RawMessage) error {
		if rec.RunID != nil && *rec.RunID != "" {
			w.needs[w.c.hasher.sum(*rec.RunID)] = feedbackTarget{}
		}
		return nil
	})
}

func (w *writer) feedback(ctx context.Context) error {
	c := w.c
	seen := map[uint64]struct{}{}
	defaultProject := ""
	if len(c.stats.Projects) == 1 {
		defaultProject = c.stats.Projects[0]
	}
	err := w.openFeedback(ctx, func(n int, rec *feedbackRecord, raw json.RawMessage) error {
		w.stats.FeedbackRead++
		var target feedbackTarget
		if rec.RunID != nil {
			target = w.needs[c.hasher.sum(*rec.RunID)]
		}
		s, project, err := feedbackScore(rec, raw, target, defaultProject, c.opts.Environment)
		if errors.Is(err, errSkip) {
			if w.stats.FeedbackSkipped == nil {
				w.stats.FeedbackSkipped = map[string]int64{}
			}
			reason := strings.TrimPrefix(err.Error(), errSkip.Error()+": ")
			w.stats.FeedbackSkipped[reason]++
			c.log.Debug("feedback skipped", "file", c.opts.Feedback.Name, "record", n, "id", rec.ID, "reason", reason)
			return nil
		}
		if err != nil {
			return fmt.Errorf("feedback %s record %d: %w", c.opts.Feedback.Name, n, err)
		}
		h := c.hasher.sum(rec.ID)
		if _, dup := seen[h]; dup {
			w.stats.FeedbackDuplicates++
			return nil
		}
		seen[h] = struct{}{}
		if err := w.run.Append(ctx, schema.Scores, project, s); err != nil {
			return err
		}
		w.stats.FeedbackScores++
		w.stats.Scores++
		return nil
	})
	return err
}

// notes records the conversion in the manifest.
func (w *writer) notes() {
	s := w.stats
	set := w.run.SetNote
	set("langsmith.id_scheme", idScheme)
	set("langsmith.tenants", strings.Join(s.Tenants, ","))
	set("langsmith.projects", strings.Join(s.Projects, ","))
	set("langsmith.exports", strings.Join(s.Exports, ","))
	set("langsmith.files", strconv.Itoa(s.Files))
	set("langsmith.runs_read", strconv.FormatInt(s.RunsRead, 10))
	set("langsmith.duplicates_dropped", strconv.FormatInt(s.Duplicates, 10))
	set("langsmith.orphans", strconv.FormatInt(s.Orphans, 10))
	set("langsmith.rootless_traces", strconv.FormatInt(s.RootlessTraces, 10))
	if w.statsScores {
		set("langsmith.feedback_stats", "scores are averages of LangSmith feedback_stats (aggregates), metadata.langsmith.aggregate=true")
	}
	if w.c.opts.Feedback != nil {
		set("langsmith.feedback", fmt.Sprintf("%s: %d read, %d scores, %d duplicates, %d skipped",
			w.c.opts.Feedback.Name, s.FeedbackRead, s.FeedbackScores, s.FeedbackDuplicates, sum(s.FeedbackSkipped)))
	}
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}
