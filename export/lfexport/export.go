package lfexport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/hive"
	lf "github.com/lakefuse/lakefuse/internal/langfuse"
	"github.com/lakefuse/lakefuse/internal/selection"
	"github.com/lakefuse/lakefuse/redact"
	"github.com/lakefuse/lakefuse/schema"
)

// Defaults.
const (
	// DefaultLookback is how far before the previous run's end an
	// incremental export starts reading again, to catch rows that Langfuse
	// stored late (its non-OTLP paths lag by minutes, batch SDKs by hours)
	// and rows updated after the previous run.
	DefaultLookback = 48 * time.Hour
	// DefaultMaxWindowRows: after a window with more rows than this, the
	// walk uses shorter windows (6 h, then 1 h) to bound the work a crash
	// repeats and the memory of one window's trace bookkeeping.
	DefaultMaxWindowRows = 250_000
	// DefaultConcurrency bounds parallel prompt, queue item and media fetches.
	DefaultConcurrency = 4
)

// Errors callers branch on.
var (
	// ErrOptions: the options are invalid.
	ErrOptions = errors.New("invalid export options")
	// ErrIncomplete wraps a failure after the run began: nothing was
	// committed, and running the same export again resumes from the last
	// checkpoint.
	ErrIncomplete = errors.New("export incomplete, nothing committed; the same command resumes from the last checkpoint")
)

// Options configures Export.
type Options struct {
	// Client talks to the Langfuse project (required).
	Client *lf.Client
	// Tables to export; nil or empty means all.
	Tables []string
	// From and To bound the time-partitioned tables (zero: from the
	// beginning, until now). They are widened to whole UTC days so that the
	// run owns every dt partition it writes.
	From, To time.Time
	// Incremental starts from the end of the last committed export of the
	// same project minus Lookback (default DefaultLookback).
	Incremental bool
	Lookback    time.Duration
	// NoMedia skips downloading media bytes (media rows keep the id and
	// content type only).
	NoMedia bool
	// Concurrency bounds parallel fetches of prompt versions, queue items
	// and media (default DefaultConcurrency).
	Concurrency int
	// MaxWindowRows: see DefaultMaxWindowRows.
	MaxWindowRows int
	// HTTPClient downloads media from signed URLs (default: a plain client
	// with a 5 minute timeout; no Langfuse credentials are sent).
	HTTPClient *http.Client
	Logger     *slog.Logger
	// Stats receives live counters (optional).
	Stats *Stats
	// Tool is recorded in the manifest.
	Tool hive.Tool
	// Run tunes the writer (file and row group sizes); RunID, Kind,
	// Source, Window and Logger are set by Export.
	Run hive.RunOptions
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Redactor, when set, scrubs every row before it is written (see
	// package redact); media referenced only from removed values are not
	// exported.
	Redactor *redact.Redactor
	// Manifests caches the lake's manifests between exports into the same
	// lake by one process (Continuous sets it); nil reads them every time.
	Manifests *hive.ManifestCache
	// Lease tunes the lake's lease, which the export holds from before it
	// reads the lake until after it commits (Holder defaults to
	// "lakefuse export"); Lease.Wait is how long to wait for another run.
	Lease hive.LeaseOptions
	// Filter selects traces (nil or empty: all); see filter.go.
	Filter *selection.Filter
	// OmitFields are observation field groups whose columns stay null
	// (see selection.ParseFields).
	OmitFields []string
	// Shard, when set, exports one part of the window as one shard of a
	// sharded export (see doc.go, Shards).
	Shard *Shard
	// Rows, when set, receives every row instead of the lake: the run then
	// commits no data files (media bytes are still copied into the bucket).
	// verify reads a live project this way, without writing Parquet and
	// reading it back. It may be called from several goroutines.
	Rows func(t *schema.Table, row any) error
}

func (o *Options) validate() error {
	var errs []error
	if o.Client == nil {
		errs = append(errs, errors.New("no Langfuse client"))
	}
	for _, t := range o.Tables {
		if _, err := schema.Lookup(t); err != nil {
			errs = append(errs, err)
		}
	}
	if !o.From.IsZero() && !o.To.IsZero() && !o.From.Before(o.To) {
		errs = append(errs, fmt.Errorf("--from %s is not before --to %s", o.From.Format(time.RFC3339), o.To.Format(time.RFC3339)))
	}
	if o.Incremental && !o.From.IsZero() {
		errs = append(errs, errors.New("--incremental and --from exclude each other: an incremental export starts where the last one ended"))
	}
	errs = append(errs, o.validateShard()...)
	if err := selection.CheckOmitted(o.OmitFields); err != nil {
		errs = append(errs, err)
	}
	if o.Filter != nil {
		if err := o.Filter.Normalize(); err != nil {
			errs = append(errs, err)
		}
	}
	if o.Lookback < 0 {
		errs = append(errs, fmt.Errorf("lookback %v is negative", o.Lookback))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrOptions, errors.Join(errs...))
	}
	return nil
}

func (o *Options) defaults() {
	if o.Lookback == 0 {
		o.Lookback = DefaultLookback
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.MaxWindowRows <= 0 {
		o.MaxWindowRows = DefaultMaxWindowRows
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 5 * time.Minute}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Tool.Name == "" {
		o.Tool.Name = "lakefuse"
	}
}

// Result describes a committed export.
type Result struct {
	Manifest   *hive.Manifest
	Generation string // v3 or v4
	ProjectID  string
	// Resumed is the run id of the checkpoint this run continued, if any.
	Resumed string
	// Cleaned lists leftover files of dead runs that were deleted.
	Cleaned []string
	// Superseded is the number of earlier files this run replaced.
	Superseded int
	// Redacted counts what the redactor removed, per table, column and
	// detector or rule.
	Redacted []redact.Count `json:",omitempty"`
}

// request is what identifies "the same command" for resuming: the source,
// the tables and the flags that change what is read.
type request struct {
	URL         string    `json:"url"`
	ProjectID   string    `json:"project_id"`
	Tables      []string  `json:"tables"`
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	Incremental bool      `json:"incremental"`
	NoMedia     bool      `json:"no_media"`
	// Filter and OmitFields change what is read, so a checkpoint of another
	// selection is not resumed.
	Filter     map[string][]string `json:"filter,omitempty"`
	OmitFields []string            `json:"omit_fields,omitempty"`
	// Redact is the hash of the redaction policy: a run resumes only with
	// the same policy, so the lake never mixes two.
	Redact string `json:"redact,omitempty"`
	// Shard is set for one shard of a sharded export.
	Shard *Shard `json:"shard,omitempty"`
}

func (r request) sameSource(o request) bool { return r.URL == o.URL && r.ProjectID == o.ProjectID }

func (r request) equal(o request) bool {
	return r.sameSource(o) && slices.Equal(r.Tables, o.Tables) && r.From.Equal(o.From) && r.To.Equal(o.To) &&
		r.Incremental == o.Incremental && r.NoMedia == o.NoMedia && slices.Equal(r.OmitFields, o.OmitFields) &&
		maps.EqualFunc(r.Filter, o.Filter, slices.Equal) && r.Redact == o.Redact &&
		(r.Shard == nil) == (o.Shard == nil) && (r.Shard == nil || *r.Shard == *o.Shard)
}

// sibling reports whether o is the request of another shard than r's: a
// shard leaves such checkpoints alone (their run may be at work now).
func (r request) sibling(o request) bool {
	return r.Shard != nil && (o.Shard == nil || o.Shard.Index != r.Shard.Index)
}

// state is the exporter's part of a checkpoint.
type state struct {
	Format     string    `json:"format"`
	Request    request   `json:"request"`
	Generation string    `json:"generation"`
	From       time.Time `json:"from"` // resolved, day-aligned; zero: the beginning
	To         time.Time `json:"to"`
	// Done lists finished tasks.
	Done []string `json:"done,omitempty"`
	// Walks holds, per windowed task, the lower end of what is done: every
	// row in [Walks[task], To) has been written.
	Walks map[string]time.Time `json:"walks,omitempty"`
	// WindowSize per windowed task, shrunk after large windows.
	WindowSize map[string]time.Duration `json:"window_size,omitempty"`
	// Rootless are v4 traces seen without their root observation so far.
	Rootless map[string]*traceAgg `json:"rootless,omitempty"`
	// Sessions are the v4 sessions derived so far.
	Sessions map[string]*sessionAgg `json:"sessions,omitempty"`
	// ReExported lists the traces and observations read again that media
	// rows of earlier runs refer to (see finishMedia).
	ReExported map[string]bool `json:"re_exported,omitempty"`
	// Sel is what the filter selected (filter.go); nil before the select
	// task ran or without a filter.
	Sel *selection.Set `json:"selection,omitempty"`
	// Shard is the shard and the whole export's window, for a shard.
	Shard *hive.Shard `json:"shard,omitempty"`
}

const stateFormat = "lakefuse.export.langfuse/2"

// init makes the maps a checkpoint may have left out.
func (s *state) init() {
	if s.Walks == nil {
		s.Walks = map[string]time.Time{}
	}
	if s.WindowSize == nil {
		s.WindowSize = map[string]time.Duration{}
	}
	if s.Rootless == nil {
		s.Rootless = map[string]*traceAgg{}
	}
	if s.Sessions == nil {
		s.Sessions = map[string]*sessionAgg{}
	}
	if s.ReExported == nil {
		s.ReExported = map[string]bool{}
	}
	if s.Sel != nil {
		s.Sel.Init()
	}
}

func (s *state) done(task string) bool { return slices.Contains(s.Done, task) }

// exporter is one export run.
type exporter struct {
	o       Options
	c       *lf.Client
	b       bucket.Bucket
	run     *hive.Run
	st      *state
	gen     lf.Generation
	project string
	tables  map[string]bool
	media   *mediaStore
	log     *slog.Logger
	stats   *Stats
	blank   *selection.Blanker

	// oldMedia are media rows of the lake before this run, kept unless
	// their object is exported again (see finishMedia).
	oldMedia []*schema.MediaReference
	// oldSessions are session ids the lake holds in partitions this run does
	// not replace (v4 derives sessions and must not duplicate them).
	oldSessions map[string]bool
}

// Export exports the project of o.Client into the lake in b and commits it.
// On failure nothing is committed; the checkpoint of the last finished unit
// stays, and running the same export again continues from it.
func Export(ctx context.Context, b bucket.Bucket, o Options) (*Result, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	o.defaults()
	e := &exporter{o: o, c: o.Client, b: b, log: o.Logger, stats: o.Stats, blank: selection.NewBlanker(o.OmitFields)}
	e.stats.setPhase("connecting")
	gen, err := e.c.Detect(ctx)
	if err != nil {
		return nil, err
	}
	proj, err := e.c.Project(ctx)
	if err != nil {
		return nil, err
	}
	e.gen, e.project = gen, proj.ID
	e.tables = map[string]bool{}
	tables := o.Tables
	if len(tables) == 0 {
		tables = schema.Names()
	}
	for _, t := range tables {
		e.tables[t] = true
	}
	if o.Shard != nil {
		// The media table is exported by an unsharded run (validateShard
		// refuses it by name), snapshot tables by shard 1 only.
		delete(e.tables, "media")
		if o.Shard.Index != 1 {
			partitionedOnly(e.tables)
		}
	}
	sorted := make([]string, 0, len(e.tables))
	for t := range e.tables {
		sorted = append(sorted, t)
	}
	sort.Strings(sorted)
	req := request{URL: e.c.BaseURL(), ProjectID: proj.ID, Tables: sorted, From: o.From.UTC(), To: o.To.UTC(),
		Incremental: o.Incremental, NoMedia: o.NoMedia, Filter: o.Filter.Map(), OmitFields: slices.Clone(o.OmitFields)}
	if o.Redactor != nil {
		req.Redact = o.Redactor.PolicyHash()
	}
	if o.Shard != nil {
		sh := *o.Shard
		req.Shard = &sh
		// Shards agree on the window they split, and on what "the same
		// command" is when one resumes, by its resolved days.
		whole, _, _, err := e.shardWindow(req)
		if err != nil {
			return nil, err
		}
		req.From, req.To = *whole.From, *whole.To
	}
	e.log.Info("exporting", "url", req.URL, "project", proj.ID, "project_name", proj.Name, "api", gen.String())

	// The lease makes this run the lake's only writer: it plans from a
	// lake no one else changes until it commits, and what it cleans up
	// belongs to runs that can no longer commit.
	lo := o.Lease
	if lo.Holder == "" {
		lo.Holder = "lakefuse export"
	}
	if lo.Logger == nil {
		lo.Logger = o.Logger
	}
	if o.Shard != nil {
		// Shards of one export hold a lease each and run side by side.
		lo.Shard = o.Shard.Index
		lo.Group = e.leaseGroup(req)
		lo.Holder += " --shard " + o.Shard.String()
	}
	lease, ctx, err := hive.AcquireLease(ctx, b, lo)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := lease.Release(ctx); err != nil {
			e.log.Warn("could not release the lake's lease; it expires by itself", "err", err)
		}
	}()
	if prev := lease.TookOver(); prev != nil {
		e.log.Warn("an earlier run stopped without releasing the lake; cleaning up after it", "holder", prev.String())
	}

	lake, err := hive.LoadCached(ctx, b, o.Manifests)
	if err != nil {
		return nil, err
	}
	res := &Result{Generation: gen.String(), ProjectID: proj.ID}
	cp, err := e.findCheckpoint(ctx, req)
	if err != nil {
		return nil, err
	}
	keep := []string{}
	if cp != nil {
		keep = append(keep, cp.Run.RunID)
	}
	if o.Shard != nil {
		// Sibling shards are at work: what looks left over may be theirs.
		// The next run that holds the lake's lease cleans up.
	} else if res.Cleaned, err = hive.Clean(ctx, lake, keep...); err != nil {
		return nil, fmt.Errorf("clean up leftovers of earlier runs: %w", err)
	}
	if len(res.Cleaned) > 0 {
		e.log.Info("deleted files of runs that never committed", "files", len(res.Cleaned))
	}
	runOpts := o.Run
	runOpts.Kind = "export"
	runOpts.Tool = o.Tool
	runOpts.Logger = o.Logger
	runOpts.Lease = lease
	runOpts.Selection = &hive.Selection{Filter: req.Filter, OmittedFields: req.OmitFields}
	runOpts.Source = hive.Source{Kind: "langfuse", URL: req.URL, ProjectID: proj.ID, ProjectName: proj.Name, ServerVersion: gen.String()}
	if red := o.Redactor; red != nil {
		runOpts.Redaction = &hive.Redaction{PolicySHA256: red.PolicyHash(), Detectors: red.DetectorNames(), HMACKeyEnv: red.KeyEnv()}
	}
	if cp != nil {
		var st state
		if err := json.Unmarshal(cp.Source, &st); err != nil {
			return nil, fmt.Errorf("checkpoint of run %s: %w", cp.Run.RunID, err)
		}
		st.init()
		e.st = &st
		runOpts.Window = window(st.From, st.To)
		runOpts.Shard = st.Shard
		if e.run, err = hive.ResumeRun(ctx, b, cp.Run, runOpts); err != nil {
			return nil, err
		}
		res.Resumed = cp.Run.RunID
		if err := e.dropUnsaved(ctx, lake, cp.Run); err != nil {
			return nil, err
		}
		e.log.Info("resuming an interrupted export", "run", cp.Run.RunID, "done", strings.Join(st.Done, ","))
	} else {
		if err := e.plan(lake, req); err != nil {
			return nil, err
		}
		runOpts.Window = window(e.st.From, e.st.To)
		runOpts.Shard = e.st.Shard
		if e.run, err = hive.NewRun(ctx, b, runOpts); err != nil {
			return nil, err
		}
		removed := e.superseded(lake)
		e.run.Remove(removed...)
		res.Superseded = len(removed)
	}
	if err := e.loadOld(ctx, lake); err != nil {
		return nil, err
	}
	e.media = &mediaStore{c: e.c, b: b, run: e.run, http: o.HTTPClient, log: e.log, skip: o.NoMedia, stats: e.stats,
		known: map[string]*mediaInfo{}, listed: map[string]bool{}}
	for _, m := range lake.Manifests {
		for _, me := range m.Media {
			e.media.listed[me.Path] = true
		}
	}
	for _, me := range e.run.State().Media {
		e.media.listed[me.Path] = true
	}
	if err := e.runTasks(ctx); err != nil {
		if cause := context.Cause(ctx); errors.Is(cause, hive.ErrLeaseLost) {
			err = cause
		}
		return nil, fmt.Errorf("%w: %w", ErrIncomplete, err)
	}
	e.stats.setPhase("committing")
	m, err := e.run.Commit(ctx)
	if m == nil {
		return nil, fmt.Errorf("%w: %w", ErrIncomplete, err)
	}
	res.Manifest = m
	if o.Redactor != nil {
		res.Redacted = o.Redactor.Counts()
	}
	if err := hive.DeleteCheckpoint(context.WithoutCancel(ctx), b, m.RunID); err != nil {
		e.log.Warn("could not delete the checkpoint of the committed run", "run", m.RunID, "err", err)
	}
	if err != nil {
		return res, err // committed; only moving files into place failed
	}
	return res, nil
}

func window(from, to time.Time) hive.Window {
	var w hive.Window
	if !from.IsZero() {
		w.From = ptr(from)
	}
	if !to.IsZero() {
		w.To = ptr(to)
	}
	return w
}

// dropUnsaved deletes the files the interrupted run wrote after its last
// checkpoint: the resumed run writes their rows again.
func (e *exporter) dropUnsaved(ctx context.Context, lake *hive.Lake, st hive.RunState) error {
	saved := map[string]bool{}
	for _, f := range st.Files {
		saved[f.Path] = true
	}
	strays, err := lake.Strays(ctx)
	if err != nil {
		return err
	}
	for _, s := range strays {
		if s.Run == st.RunID && !saved[s.Key] {
			if err := e.b.Delete(ctx, s.Key); err != nil {
				return fmt.Errorf("delete unsaved file %s/%s: %w", e.b, s.Key, err)
			}
		}
	}
	// The run's files are staged until it commits.
	prefix := hive.StagingKey(st.RunID, "")
	return e.b.List(ctx, prefix, func(a bucket.Attrs) error {
		if saved[strings.TrimPrefix(a.Key, prefix)] {
			return nil
		}
		if err := e.b.Delete(ctx, a.Key); err != nil {
			return fmt.Errorf("delete unsaved file %s/%s: %w", e.b, a.Key, err)
		}
		return nil
	})
}

// findCheckpoint returns the checkpoint of an interrupted run of the same
// request, and abandons (deletes) checkpoints of the same source with a
// different request: they belong to a command the user no longer runs.
func (e *exporter) findCheckpoint(ctx context.Context, req request) (*hive.Checkpoint, error) {
	ids, err := hive.Checkpoints(ctx, e.b)
	if err != nil {
		return nil, fmt.Errorf("list checkpoints in %s: %w", e.b, err)
	}
	var found *hive.Checkpoint
	for i := len(ids) - 1; i >= 0; i-- {
		cp, err := hive.LoadCheckpoint(ctx, e.b, ids[i])
		if err != nil {
			if errors.Is(err, hive.ErrCorrupt) {
				e.log.Warn("ignoring a damaged checkpoint", "run", ids[i], "err", err)
				continue
			}
			return nil, err
		}
		var st state
		if json.Unmarshal(cp.Source, &st) != nil || st.Format != stateFormat || !st.Request.sameSource(req) {
			continue // another source's run, or another tool's
		}
		if _, err := e.b.Stat(ctx, hive.ManifestKey(ids[i])); err == nil {
			// The run committed and stopped before it deleted its
			// checkpoint: nothing to resume.
			if err := hive.DeleteCheckpoint(ctx, e.b, ids[i]); err != nil {
				return nil, fmt.Errorf("delete checkpoint %s: %w", ids[i], err)
			}
			continue
		}
		if req.sibling(st.Request) {
			continue
		}
		if found == nil && st.Request.equal(req) {
			found = cp
			continue
		}
		e.log.Warn("abandoning the checkpoint of an interrupted export with other options", "run", ids[i])
		if err := hive.DeleteCheckpoint(ctx, e.b, ids[i]); err != nil {
			return nil, fmt.Errorf("delete checkpoint %s: %w", ids[i], err)
		}
	}
	return found, nil
}

func dayStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// plan resolves the time range of a new run.
func (e *exporter) plan(lake *hive.Lake, req request) error {
	st := &state{Format: stateFormat, Request: req, Generation: e.gen.String()}
	st.init()
	now := e.o.Now().UTC()
	st.To = req.To
	if st.To.IsZero() {
		st.To = now
	} else if !st.To.Equal(dayStart(st.To)) && st.To.Before(now) {
		st.To = dayStart(st.To).Add(24 * time.Hour)
	}
	if !req.From.IsZero() {
		st.From = dayStart(req.From)
	}
	if e.o.Shard != nil {
		whole, from, to, err := e.shardWindow(req)
		if err != nil {
			return err
		}
		st.From, st.To = from, to
		st.Shard = &hive.Shard{Index: e.o.Shard.Index, Count: e.o.Shard.Count, Window: whole}
		e.log.Info("sharded export", "shard", e.o.Shard.String(), "window", hive.DateOf(from)+" – "+hive.DateOf(to.Add(-time.Nanosecond)),
			"export_window", hive.DateOf(*whole.From)+" – "+hive.DateOf(whole.To.Add(-time.Nanosecond)))
	}
	if req.Incremental {
		var last *time.Time
		for _, m := range lake.Manifests {
			if m.Kind == "export" && m.Source.Kind == "langfuse" && m.Source.URL == req.URL && m.Source.ProjectID == req.ProjectID && m.Window.To != nil {
				if last == nil || m.Window.To.After(*last) {
					last = m.Window.To
				}
			}
		}
		// A sharded export with a shard missing ends where the first
		// missing shard's days begin: this run exports them.
		for _, g := range lake.IncompleteShards() {
			if g.Source.URL != req.URL || g.Source.ProjectID != req.ProjectID || len(g.Missing) == 0 {
				continue
			}
			f, _ := hive.ShardWindow(*g.Window.From, *g.Window.To, g.Missing[0], g.Count)
			if last != nil && last.After(f) {
				e.log.Info("incremental export: a sharded export is missing a shard; exporting its days", "shards", g.String())
				last = &f
			}
		}
		if last != nil {
			st.From = dayStart(last.Add(-e.o.Lookback))
			e.log.Info("incremental export", "previous_end", last.UTC().Format(time.RFC3339), "from", st.From.Format(time.RFC3339))
		} else {
			e.log.Info("incremental export: no earlier export of this project here; exporting everything")
		}
	}
	if !st.From.IsZero() && !st.From.Before(st.To) {
		return fmt.Errorf("%w: the time range %s – %s is empty", ErrOptions, st.From.Format(time.RFC3339), st.To.Format(time.RFC3339))
	}
	e.st = st
	return nil
}

// superseded lists the live files this run replaces: every file of an
// exported snapshot table of the project, and every file of an exported
// time-partitioned table whose dt lies in the run's range.
func (e *exporter) superseded(lake *hive.Lake) []string {
	var out []string
	// To is exclusive: a run to midnight does not own the day that starts then.
	lo, hi := "", hive.DateOf(e.st.To.Add(-time.Nanosecond))
	if !e.st.From.IsZero() {
		lo = hive.DateOf(e.st.From)
	}
	for name := range e.tables {
		t, _ := schema.Lookup(name)
		for _, f := range lake.Files(name) {
			if f.ProjectID != e.project {
				continue
			}
			if t.Partitioned() && (f.Date < lo || f.Date > hi) {
				continue
			}
			out = append(out, f.Path)
		}
	}
	sort.Strings(out)
	return out
}

// loadOld reads what the run must carry over from the lake: media rows (a
// snapshot table fed by time-partitioned ones) and, for v4, the sessions in
// partitions the run keeps.
func (e *exporter) loadOld(ctx context.Context, lake *hive.Lake) error {
	removed := map[string]bool{}
	for _, p := range e.run.State().Removed {
		removed[p] = true
	}
	if e.tables["media"] {
		for _, f := range lake.Files("media") {
			if f.ProjectID != e.project {
				continue
			}
			err := scanFile(ctx, lake, f, func(r *schema.MediaReference) error {
				if r.DatasetItemID == nil {
					e.oldMedia = append(e.oldMedia, r)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
	}
	if e.gen == lf.V4 && e.tables["sessions"] {
		e.oldSessions = map[string]bool{}
		for _, f := range lake.Files("sessions") {
			if f.ProjectID != e.project || removed[f.Path] || e.siblingPartition(f.Date) {
				continue
			}
			err := scanFile(ctx, lake, f, func(r *schema.Session) error {
				e.oldSessions[r.ID] = true
				return nil
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func scanFile[T any](ctx context.Context, lake *hive.Lake, f hive.FileEntry, fn func(*T) error) error {
	var zero T
	t, err := schema.TableOf(&zero)
	if err != nil {
		return err
	}
	return hive.ScanFile(ctx, lake.Bucket(), f, hive.ScanOptions{}, func(b hive.Batch) error {
		d, err := schema.NewDecoder(t, b.Record.Schema())
		if err != nil {
			return err
		}
		for i := 0; i < int(b.Record.NumRows()); i++ {
			var row T
			if err := d.Decode(b.Record, i, &row); err != nil {
				return fmt.Errorf("%s: %w", f.Path, err)
			}
			if err := fn(&row); err != nil {
				return err
			}
		}
		return nil
	})
}

// task is one resumable unit of work.
type task struct {
	name string
	// tables it writes; the task runs when one of them is exported.
	tables []string
	run    func(ctx context.Context) error
}

func (e *exporter) runTasks(ctx context.Context) error {
	var tasks []task
	if e.gen == lf.V4 {
		tasks = e.tasksV4()
	} else {
		tasks = e.tasksV3()
	}
	tasks = e.orderForSelection(tasks)
	tasks = append(tasks, task{name: "media-carry", tables: []string{"media"}, run: e.finishMedia})
	for _, t := range tasks {
		if e.st.done(t.name) || !slices.ContainsFunc(t.tables, func(n string) bool { return e.tables[n] }) {
			continue
		}
		e.stats.setPhase(t.name)
		e.log.Info("exporting", "task", t.name)
		for _, name := range t.tables {
			if e.tables[name] {
				e.run.Touch(name)
			}
		}
		if err := t.run(ctx); err != nil {
			return err
		}
		e.st.Done = append(e.st.Done, t.name)
		if err := e.checkpoint(ctx); err != nil {
			return err
		}
	}
	return nil
}

// checkpoint stores every row appended so far and the source position that
// goes with it.
func (e *exporter) checkpoint(ctx context.Context) error {
	if err := e.run.Sync(ctx); err != nil {
		return err
	}
	src, err := json.Marshal(e.st)
	if err != nil {
		return err
	}
	if err := hive.SaveCheckpoint(ctx, e.b, &hive.Checkpoint{Run: e.run.State(), Source: src}); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	return nil
}

// add appends a row if its table is exported. It is the one place where
// rows read from the source reach the writer, so the redactor runs here:
// the lake never holds a value the policy removes. The row itself is not
// changed (v4 traces and sessions are derived from the raw rows and
// redacted as rows of their own tables).
func (e *exporter) add(ctx context.Context, t *schema.Table, row any) error {
	// keep first: it learns the selection's observations and sessions from
	// rows of tables that are read but not written.
	if !e.keep(row) {
		return nil
	}
	return e.append(ctx, t, row)
}

// append appends a row if its table is exported, unfiltered.
func (e *exporter) append(ctx context.Context, t *schema.Table, row any) error {
	if !e.tables[t.Name] {
		return nil
	}
	if e.o.Redactor != nil {
		var err error
		if row, err = e.o.Redactor.Row(t, row); err != nil {
			return err
		}
	}
	return e.write(ctx, t, row)
}

// write appends a row as it is: rows of the lake carried over, already
// redacted by the run that wrote them.
func (e *exporter) write(ctx context.Context, t *schema.Table, row any) error {
	if !e.tables[t.Name] {
		return nil
	}
	if e.o.Rows != nil {
		if err := e.o.Rows(t, row); err != nil {
			return err
		}
	} else if err := e.run.Append(ctx, t, e.project, row); err != nil {
		return err
	}
	e.stats.addRows(t.Name, 1)
	return nil
}

// addMediaRefs resolves the media tokens of one field and appends their rows.
func (e *exporter) addMediaRefs(ctx context.Context, text *string, field string, traceID, obsID *string) error {
	if !e.tables["media"] || !e.st.Sel.KeepMedia(traceID, obsID) {
		return nil
	}
	table := "traces"
	if obsID != nil {
		table = "observations"
	}
	for _, ref := range findMediaRefs(text) {
		if e.o.Redactor != nil && !e.o.Redactor.MediaKept(table, field, ref.JSONPath) {
			continue // inside a value the policy removes
		}
		info, err := e.media.resolve(ctx, ref)
		if err != nil {
			return err
		}
		if err := e.add(ctx, schema.Media, mediaRow(ref, info, traceID, obsID, nil, field)); err != nil {
			return err
		}
	}
	return nil
}

// addIOMediaRefs appends the media rows of a trace's or an observation's
// input, output and metadata.
func (e *exporter) addIOMediaRefs(ctx context.Context, input, output, metadata, traceID, obsID *string) error {
	if err := e.addMediaRefs(ctx, input, "input", traceID, obsID); err != nil {
		return err
	}
	if err := e.addMediaRefs(ctx, output, "output", traceID, obsID); err != nil {
		return err
	}
	return e.addMediaRefs(ctx, metadata, "metadata", traceID, obsID)
}

// markReExported notes that the object an old media row refers to was read
// again, so its old row is not carried over.
func (e *exporter) markReExported(id string) {
	if len(e.oldMedia) > 0 {
		e.st.ReExported[id] = true
		if red := e.o.Redactor; red != nil {
			// The lake's media rows hold redacted ids.
			e.st.ReExported[red.Value("media", "observation_id", id)] = true
			e.st.ReExported[red.Value("media", "trace_id", id)] = true
		}
	}
}

// finishMedia carries over media rows of earlier runs whose referencing
// trace or observation this run did not read (it replaces the media table
// as a whole).
func (e *exporter) finishMedia(ctx context.Context) error {
	for _, r := range e.oldMedia {
		if r.ObservationID != nil && e.st.ReExported[*r.ObservationID] {
			continue
		}
		if r.ObservationID == nil && r.TraceID != nil && e.st.ReExported[*r.TraceID] {
			continue
		}
		// Rows of objects this run did not read stay, filter or not, as
		// the run that wrote them redacted them.
		if err := e.write(ctx, schema.Media, r); err != nil {
			return err
		}
	}
	return nil
}

// probeFunc returns the time of the newest item before end (and not
// before from, when set); ok is false when there is none.
type probeFunc func(ctx context.Context, from, end time.Time) (t time.Time, ok bool, err error)

// listFunc lists [from, to) and returns the number of rows it read.
type listFunc func(ctx context.Context, from, to time.Time) (int, error)

var windowSizes = []time.Duration{24 * time.Hour, 6 * time.Hour, time.Hour}

// walk exports a time-partitioned listing window by window, newest first:
// a probe finds the newest item before the part already done, the window
// is the UTC day (or shorter slice of it) that holds it, and each finished
// window is checkpointed. Empty stretches cost one probe, not one window per day.
func (e *exporter) walk(ctx context.Context, name string, probe probeFunc, list listFunc, afterWindow func(ctx context.Context) error) error {
	end, ok := e.st.Walks[name]
	if !ok {
		end = e.st.To
	}
	size := e.st.WindowSize[name]
	if size == 0 {
		size = windowSizes[0]
	}
	for e.st.From.IsZero() || end.After(e.st.From) {
		t, ok, err := probe(ctx, e.st.From, end)
		if err != nil {
			return err
		}
		if !ok || (!e.st.From.IsZero() && t.Before(e.st.From)) {
			break
		}
		start := dayStart(t).Add(t.Sub(dayStart(t)).Truncate(size))
		if start.Before(e.st.From) {
			start = e.st.From
		}
		e.stats.setWalk(e.st.From, e.st.To, end)
		n, err := list(ctx, start, end)
		if err != nil {
			return err
		}
		if afterWindow != nil {
			if err := afterWindow(ctx); err != nil {
				return err
			}
		}
		if n > e.o.MaxWindowRows {
			if i := slices.Index(windowSizes, size); i >= 0 && i+1 < len(windowSizes) {
				size = windowSizes[i+1]
				e.log.Info("large window; using shorter ones", "task", name, "rows", n, "window", size)
			}
		}
		e.st.Walks[name] = start
		e.st.WindowSize[name] = size
		if err := e.checkpoint(ctx); err != nil {
			return err
		}
		end = start
	}
	e.stats.setWalk(e.st.From, e.st.To, e.st.From)
	return nil
}

// inRange reports whether t lies in the run's time range.
func (e *exporter) inRange(t time.Time) bool {
	return (e.st.From.IsZero() || !t.Before(e.st.From)) && t.Before(e.st.To)
}

// siblingPartition reports whether dt lies in the window of this shard's
// sharded export: a sibling shard rewrites it (or this shard does).
func (e *exporter) siblingPartition(dt string) bool {
	sh := e.st.Shard
	if sh == nil || dt == "" {
		return false
	}
	return dt >= hive.DateOf(*sh.Window.From) && dt <= hive.DateOf(sh.Window.To.Add(-time.Nanosecond))
}
