package importer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/hive"
	"github.com/lakefuse/lakefuse/internal/ctxtime"
	lf "github.com/lakefuse/lakefuse/internal/langfuse"
	"github.com/lakefuse/lakefuse/internal/selection"
	"github.com/lakefuse/lakefuse/redact"
	"github.com/lakefuse/lakefuse/schema"
)

// Defaults.
const (
	// DefaultMaxBatchBytes bounds the protobuf of one OTLP request before
	// compression. Langfuse Cloud accepts 5 MB per request.
	DefaultMaxBatchBytes = 4 << 20
	// DefaultMaxBatchSpans bounds the spans of one OTLP request.
	DefaultMaxBatchSpans = 5000
	// DefaultScoreBatch is the number of score-create events per ingestion
	// request (Langfuse takes batches up to 3.5 MB).
	DefaultScoreBatch = 500
	// DefaultConcurrency is the number of requests in flight.
	DefaultConcurrency = 4
	// DefaultWait bounds how long the importer waits for the destination to
	// show something it accepted (an unknown outcome, the object of a
	// comment): Langfuse ingests asynchronously.
	DefaultWait = 2 * time.Minute
)

// Errors callers branch on.
var (
	// ErrOptions: the options are invalid.
	ErrOptions = errors.New("invalid import options")
	// ErrSameProject: the destination is the project the lake came from.
	ErrSameProject = errors.New("destination is the project the lake was exported from")
	// ErrPromptConflict: a prompt exists in the destination with other content.
	ErrPromptConflict = errors.New("prompt conflict")
	// ErrNotConfirmed: the user did not confirm the import.
	ErrNotConfirmed = errors.New("import not confirmed")
	// ErrIncomplete: some rows were not imported (see the Summary).
	ErrIncomplete = errors.New("import incomplete")
	// ErrDamagedLake: a file of the lake does not match its manifest.
	ErrDamagedLake = errors.New("damaged lake")
	// ErrLakeChanged: files that a resumed import had partly sent are no
	// longer part of the lake.
	ErrLakeChanged = errors.New("lake changed since the import started")
)

// Conflict policies for prompts that already exist with other content.
const (
	PromptConflictStop   = ""
	PromptConflictSkip   = "skip"
	PromptConflictAppend = "append"
)

// Order is the order in which tables are imported. Queues come early and
// their items late because scores refer to queues and queue items to traces;
// dataset run items come before scores because a v3 destination assigns run
// ids that scores on runs must refer to.
var Order = []string{"score_configs", "models", "prompts", "datasets", "dataset_items", "annotation_queues", "media",
	"observations", "dataset_run_items", "scores", "annotation_queue_items", "comments"}

// Options configure an import.
type Options struct {
	// Client talks to the destination project (required).
	Client *lf.Client
	// Lake is the lake to import (required).
	Lake *hive.Lake
	// SourceProject selects the project of a lake that holds several.
	SourceProject string
	// State is where the ledger lives (default: the lake's bucket), under
	// StatePrefix (default _lakefuse/imports/<destination project id>/).
	State       bucket.Bucket
	StatePrefix string
	// Tables to import; nil means all (traces and sessions always travel
	// with observations).
	Tables []string
	// DryRun computes the plan and sends nothing.
	DryRun bool
	// OnPromptConflict: PromptConflictStop, Skip or Append.
	OnPromptConflict string
	// AllowSameProject permits importing into the project the lake came from.
	AllowSameProject bool
	// RewriteIDs replaces trace and observation ids that are not OTel hex
	// by deterministic hex ids (RewriteTraceID, RewriteSpanID), recorded in
	// the ledger, for destinations that refuse them; by default every id
	// travels verbatim (see ids.go).
	RewriteIDs bool
	// Confirm, when set, is asked before anything is sent, with the
	// destination and the plan; false stops with ErrNotConfirmed.
	Confirm func(dest *lf.Project, gen lf.Generation, p *Plan) (bool, error)

	MaxBatchBytes int
	MaxBatchSpans int
	ScoreBatch    int
	Concurrency   int
	// Wait bounds the wait for asynchronous ingestion (default DefaultWait);
	// Poll is the interval of lookups during it (default 2s).
	Wait, Poll time.Duration
	Logger     *slog.Logger
	Now        func() time.Time
	// Progress, when set, receives the rows done so far per table.
	Progress func(table string, done, total int64)

	// Filter, From and To select traces (select.go): only they and what
	// belongs to them are imported.
	Filter   *selection.Filter
	From, To time.Time
	// AllowPartial imports a lake exported without some field groups.
	AllowPartial bool
	// YesOldData imports rows older than the destination's retention.
	YesOldData bool
	// AllowNonEmpty imports into a destination that already holds rows.
	AllowNonEmpty bool
	// Redactor, when set, scrubs every row read from the lake before it is
	// used (see package redact): the destination gets a redacted copy of a
	// raw lake. Media referenced only from removed values are not sent.
	Redactor *redact.Redactor
}

func (o *Options) validate() error {
	var errs []error
	if o.Client == nil {
		errs = append(errs, errors.New("no destination client"))
	}
	if o.Lake == nil {
		errs = append(errs, errors.New("no lake"))
	}
	for _, t := range o.Tables {
		if _, err := schema.Lookup(t); err != nil {
			errs = append(errs, err)
		}
	}
	if o.Filter != nil {
		if err := o.Filter.Normalize(); err != nil {
			errs = append(errs, err)
		}
	}
	if !o.From.IsZero() && !o.To.IsZero() && !o.From.Before(o.To) {
		errs = append(errs, fmt.Errorf("--from %s is not before --to %s", o.From.Format(time.RFC3339), o.To.Format(time.RFC3339)))
	}
	switch o.OnPromptConflict {
	case PromptConflictStop, PromptConflictSkip, PromptConflictAppend:
	default:
		errs = append(errs, fmt.Errorf("--on-prompt-conflict %q: use skip or append", o.OnPromptConflict))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrOptions, errors.Join(errs...))
	}
	return nil
}

func (o *Options) defaults() {
	if o.MaxBatchBytes <= 0 {
		o.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if o.MaxBatchSpans <= 0 {
		o.MaxBatchSpans = DefaultMaxBatchSpans
	}
	if o.ScoreBatch <= 0 {
		o.ScoreBatch = DefaultScoreBatch
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Wait <= 0 {
		o.Wait = DefaultWait
	}
	if o.Poll <= 0 {
		o.Poll = 2 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.State == nil && o.Lake != nil {
		o.State = o.Lake.Bucket()
	}
}

// Plan is what an import will send.
type Plan struct {
	SourceProject string
	Tables        []PlanTable
	// Filter is the selection, when the import filters ("" otherwise).
	Filter string
	// Preflight is the destination check (preflight.go).
	Preflight *Preflight
}

// PlanTable is one table of the plan.
type PlanTable struct {
	Table string
	// Rows in the lake and rows the ledger already has.
	Rows, Done int64
	// Requests is an estimate of the requests still to send.
	Requests int64
	// LakeBytes is the size of the table's Parquet files (compressed).
	LakeBytes int64
}

// Result is one table's outcome.
type Result struct {
	Table    string
	Rows     int64 // rows in the lake
	Sent     int64 // rows sent by this run
	Already  int64 // rows the ledger had from earlier runs
	Skipped  int64 // rows deliberately not imported (see Notes)
	Failed   int64 // rows the destination refused
	Requests int64
	Notes    []string
}

// Summary describes a finished (or dry) import.
type Summary struct {
	Destination lf.Project
	Generation  lf.Generation
	Plan        *Plan
	Results     []*Result
	DryRun      bool
	// Shortfalls is what the read-back at the end found missing in the
	// destination (empty when it kept everything that was sent).
	Shortfalls []Shortfall
	// Redacted counts what the redactor removed, per table, column and
	// detector or rule; RedactionPolicy is the policy's hash.
	Redacted        []redact.Count `json:",omitempty"`
	RedactionPolicy string         `json:",omitempty"`
}

// Rows is the number of rows of the lake covered by the import.
func (s *Summary) Rows() int64 {
	var n int64
	for _, r := range s.Results {
		n += r.Rows
	}
	return n
}

type importer struct {
	o       Options
	c       *lf.Client
	lake    *hive.Lake
	led     *ledger
	gen     lf.Generation
	dest    *lf.Project
	project string // source project id
	tables  map[string]bool
	log     *slog.Logger

	mu      sync.Mutex
	results map[string]*Result

	destConfigs map[string]*lf.ScoreConfig // the destination's score configs, for the scores step

	itemsOnce    sync.Once
	itemDatasets map[string]string // lake dataset item id -> lake dataset id, for media
	itemsErr     error

	sel     *selection.Set   // the selected traces, nil: all (select.go)
	selRows map[string]int64 // selected rows of trace-linked tables

	traces *traceIndex // built for the observations step
	rec    spanRec     // the span being built (one goroutine builds spans)
}

// Run imports the lake into the destination project of o.Client.
func Run(ctx context.Context, o Options) (*Summary, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	o.defaults()
	im := &importer{o: o, c: o.Client, lake: o.Lake, log: o.Logger, results: map[string]*Result{}, tables: map[string]bool{}}
	dest, err := im.c.Project(ctx)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	im.dest = dest
	if im.gen, err = im.c.Detect(ctx); err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	if err := im.pickSource(); err != nil {
		return nil, err
	}
	if err := im.checkSameProject(); err != nil {
		return nil, err
	}
	for _, t := range Order {
		if len(o.Tables) == 0 || slices.Contains(o.Tables, t) ||
			(t == "observations" && (slices.Contains(o.Tables, "traces") || slices.Contains(o.Tables, "sessions"))) {
			im.tables[t] = true
		}
	}
	prefix := o.StatePrefix
	if prefix == "" {
		prefix = StatePrefix(dest.ID)
	}
	if err := im.checkPartial(); err != nil {
		return nil, err
	}
	if im.led, err = openLedger(ctx, o.State, prefix); err != nil {
		return nil, err
	}
	if im.filtering() {
		if err := im.selectTraces(ctx); err != nil {
			return nil, fmt.Errorf("import: select traces: %w", err)
		}
		if err := im.countSelected(ctx); err != nil {
			return nil, fmt.Errorf("import: select traces: %w", err)
		}
	}
	plan := im.plan()
	if plan.Preflight, err = im.preflight(ctx); err != nil {
		return nil, fmt.Errorf("import: preflight: %w", err)
	}
	sum := &Summary{Destination: *dest, Generation: im.gen, Plan: plan, DryRun: o.DryRun}
	if len(plan.Preflight.Problems) > 0 && !o.DryRun {
		return sum, fmt.Errorf("%w: nothing was sent: %s", ErrPreflight, strings.Join(plan.Preflight.Problems, "; "))
	}
	if o.Confirm != nil {
		ok, err := o.Confirm(dest, im.gen, plan)
		if err != nil {
			return sum, err
		}
		if !ok {
			return sum, ErrNotConfirmed
		}
	}
	if err := im.checkFiles(ctx); err != nil {
		return sum, err
	}
	if o.DryRun {
		return sum, nil
	}
	policy := "none"
	if o.Redactor != nil {
		policy = o.Redactor.PolicyHash()
		sum.RedactionPolicy = policy
	}
	if prev, ok := im.led.meta["redaction"]; ok && prev != policy {
		// A resumed import must not mix rows redacted two ways (an id
		// hashed in one batch and not in the next would break joins).
		return sum, fmt.Errorf("%w: this import began with redaction policy %s; resume it with the same --redact (now: %s)", ErrOptions, prev, policy)
	}
	if err := im.led.write(ctx, entry{K: "meta", Kind: "source_project", Dst: im.project},
		entry{K: "meta", Kind: "destination", Dst: im.c.BaseURL() + " " + dest.ID},
		entry{K: "meta", Kind: "redaction", Dst: policy}); err != nil {
		return sum, err
	}
	if err := im.checkLakeUnchanged(); err != nil {
		return sum, err
	}
	steps := map[string]func(context.Context) error{
		"score_configs": im.scoreConfigs, "models": im.models, "prompts": im.prompts, "datasets": im.datasets,
		"dataset_items": im.datasetItems, "annotation_queues": im.queues, "media": im.media,
		"observations": im.observations, "dataset_run_items": im.runItems, "scores": im.scores,
		"annotation_queue_items": im.queueItems, "comments": im.comments,
	}
	for _, t := range Order {
		if !im.tables[t] {
			continue
		}
		stepStart := time.Now()
		err := steps[t](ctx)
		im.log.Debug("import step done", "table", t, "took", time.Since(stepStart).Round(time.Millisecond))
		if err != nil {
			sum.Results = im.resultList()
			return sum, fmt.Errorf("import %s into %s: %w", t, dest.Name, err)
		}
	}
	if im.tables["score_configs"] || im.tables["scores"] {
		if err := im.archiveConfigs(ctx); err != nil {
			sum.Results = im.resultList()
			return sum, fmt.Errorf("import score_configs into %s: %w", dest.Name, err)
		}
	}
	rbStart := time.Now()
	short, err := im.readBack(ctx)
	im.log.Debug("read-back done", "took", time.Since(rbStart).Round(time.Millisecond))
	sum.Shortfalls = short
	sum.Results = im.resultList()
	if o.Redactor != nil {
		sum.Redacted = o.Redactor.Counts()
	}
	if err != nil {
		return sum, fmt.Errorf("import into %s: %w", dest.Name, err)
	}
	var failed int64
	for _, r := range sum.Results {
		failed += r.Failed
	}
	var errs []string
	if failed > 0 {
		errs = append(errs, fmt.Sprintf("the destination refused %d rows (see the summary)", failed))
	}
	for _, s := range short {
		errs = append(errs, "the destination lacks "+s.String())
	}
	if len(errs) > 0 {
		return sum, fmt.Errorf("%w: %s", ErrIncomplete, strings.Join(errs, "; "))
	}
	return sum, nil
}

func safeSegment(s string) string { return url.PathEscape(strings.ReplaceAll(s, "/", "_")) }

func (im *importer) pickSource() error {
	projects := map[string]bool{}
	for _, f := range im.lake.Files("") {
		projects[f.ProjectID] = true
	}
	switch {
	case im.o.SourceProject != "":
		if !projects[im.o.SourceProject] {
			return fmt.Errorf("%w: the lake holds no project %q (it holds %v)", ErrOptions, im.o.SourceProject, sortedKeys(projects))
		}
		im.project = im.o.SourceProject
	case len(projects) > 1:
		return fmt.Errorf("%w: the lake holds %d projects (%v): choose one with --source-project", ErrOptions, len(projects), sortedKeys(projects))
	case len(projects) == 1:
		im.project = sortedKeys(projects)[0]
	}
	return nil
}

// checkSameProject refuses to import into the project a lake run read from.
// It compares the destination's project id (GET /api/public/projects with
// the destination keys) with the source project ids of the lake, whatever
// the URLs say: one deployment has many names (127.0.0.1 and localhost, an
// internal and a public host, a proxy), so URL text proves nothing.
func (im *importer) checkSameProject() error {
	if im.o.AllowSameProject {
		return nil
	}
	from := ""
	if im.project == im.dest.ID {
		from = "the lake holds its rows"
	}
	for _, m := range im.lake.Manifests {
		if m.Source.ProjectID != "" && m.Source.ProjectID == im.dest.ID {
			from = "run " + m.RunID + " exported it"
			if m.Source.URL != "" {
				from += " from " + m.Source.URL
			}
			break
		}
	}
	if from == "" {
		return nil
	}
	return fmt.Errorf("%w: the keys for %s belong to project %q (%s), and %s; "+
		"importing would duplicate every observation: choose another project, or pass --allow-same-project",
		ErrSameProject, im.c.BaseURL(), im.dest.Name, im.dest.ID, from)
}

// checkLakeUnchanged refuses to resume when a file that the ledger had sent
// rows of is no longer live: its rows may have moved into a new file.
func (im *importer) checkLakeUnchanged() error {
	for _, f := range im.led.files() {
		f = strings.TrimPrefix(f, "roots:")
		if !im.lake.Live(f) {
			return fmt.Errorf("%w: %s was partly imported and is no longer in the lake (an export rewrote it); "+
				"import the new rows into a fresh project, or remove the ledger %s to start over", ErrLakeChanged, f, im.led.prefix)
		}
	}
	return nil
}

// checkFiles checks every file the import will read against its manifest
// (size, SHA-256, footer) before anything is sent: a damaged lake found
// halfway would leave a destination with configs, prompts and media but no
// traces.
func (im *importer) checkFiles(ctx context.Context) error {
	var files []hive.FileEntry
	var bytes int64
	for _, t := range Order {
		if !im.tables[t] {
			continue
		}
		for _, f := range im.files(t) {
			files = append(files, f)
			bytes += f.Size
		}
	}
	if len(files) == 0 {
		return nil
	}
	im.log.Info("checking the lake's files against their manifests before sending anything", "files", len(files), "bytes", bytes)
	var bad []error
	for _, f := range files {
		if err := hive.CheckFile(ctx, im.o.Lake.Bucket(), f); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			bad = append(bad, err)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: %d of %d files do not match their manifests; nothing was sent (run lakefuse verify for details): %w",
			ErrDamagedLake, len(bad), len(files), errors.Join(bad...))
	}
	return nil
}

func (im *importer) files(table string) []hive.FileEntry {
	var out []hive.FileEntry
	for _, f := range im.lake.Files(table) {
		if f.ProjectID == im.project {
			out = append(out, f)
		}
	}
	return out
}

func (im *importer) rows(table string) (n, bytes int64) {
	for _, f := range im.files(table) {
		n += f.Rows
		bytes += f.Size
	}
	if im.sel != nil && slices.Contains(selection.KeepOrder, table) {
		n = im.selRows[table]
	}
	return n, bytes
}

func (im *importer) plan() *Plan {
	p := &Plan{SourceProject: im.project}
	if im.filtering() {
		p.Filter = im.o.Filter.String()
		if !im.o.From.IsZero() {
			p.Filter = strings.TrimSpace(p.Filter + " from=" + im.o.From.Format(time.RFC3339))
		}
		if !im.o.To.IsZero() {
			p.Filter = strings.TrimSpace(p.Filter + " to=" + im.o.To.Format(time.RFC3339))
		}
	}
	for _, t := range Order {
		if !im.tables[t] {
			continue
		}
		rows, size := im.rows(t)
		pt := PlanTable{Table: t, Rows: rows, LakeBytes: size}
		for _, f := range im.files(t) {
			pt.Done += im.led.acceptedRows(f.Path)
		}
		if im.led.isDone(t) {
			pt.Done = rows
		}
		left := rows - pt.Done
		switch t {
		case "observations":
			// Parquet compresses I/O about 4x; the requests carry it uncompressed.
			pt.Requests = max(ceilDiv(size*4, int64(im.o.MaxBatchBytes)), ceilDiv(left, int64(im.o.MaxBatchSpans)))
			if left == 0 {
				pt.Requests = 0
			}
		case "scores":
			pt.Requests = ceilDiv(left, int64(im.o.ScoreBatch))
		case "media":
			pt.Requests = left * 3
		default:
			pt.Requests = left
		}
		p.Tables = append(p.Tables, pt)
	}
	return p
}

func ceilDiv(a, b int64) int64 {
	if a <= 0 {
		return 0
	}
	return (a + b - 1) / b
}

func (im *importer) result(table string) *Result {
	im.mu.Lock()
	defer im.mu.Unlock()
	r := im.results[table]
	if r == nil {
		rows, _ := im.rows(table)
		r = &Result{Table: table, Rows: rows}
		im.results[table] = r
	}
	return r
}

func (im *importer) count(table string, fn func(r *Result)) {
	r := im.result(table)
	im.mu.Lock()
	fn(r)
	done := r.Sent + r.Already + r.Skipped + r.Failed
	im.mu.Unlock()
	if im.o.Progress != nil {
		im.o.Progress(table, done, r.Rows)
	}
}

func (im *importer) note(table, format string, args ...any) {
	r := im.result(table)
	im.mu.Lock()
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
	im.mu.Unlock()
}

func (im *importer) resultList() []*Result {
	im.mu.Lock()
	defer im.mu.Unlock()
	var out []*Result
	for _, t := range Order {
		if r := im.results[t]; r != nil {
			out = append(out, r)
		}
	}
	return out
}

// readOpts say how readFile reads a file.
type readOpts struct {
	cols  []string // the columns to decode; nil: all
	batch int64    // rows per record batch; 0: the reader's default
	// alias: every string and binary column is a view of the batch
	// (schema.Decoder.AliasBinary) whose buffers are pooled (scanPool) and
	// reused once fn has seen the batch: fn must copy what it keeps.
	alias bool
	// skip, when set, leaves rows out before they are decoded (rows the
	// ledger has).
	skip func(row int64) bool
}

// readFile decodes the rows of one file of T's table and calls fn with
// each row and its index in the file (every row counts, read or not). It is
// the one place the importer decodes lake rows, so that none escapes the
// selection or the redaction: a row the trace selection leaves out
// (keepRow, on the raw values) is not passed on, and every other row is
// redacted (redactRow) before fn sees it. While a selection is active the
// columns Set.Keep reads are decoded too (withLinks).
func readFile[T any](ctx context.Context, im *importer, f hive.FileEntry, o readOpts, fn func(row int64, r *T) error) error {
	var zero T
	t, err := schema.TableOf(&zero)
	if err != nil {
		return err
	}
	var row int64
	opts := hive.ScanOptions{Columns: im.withLinks(t.Name, o.cols), BatchSize: o.batch}
	if o.alias {
		opts.Mem = scanPool
	}
	return hive.ScanFile(ctx, im.lake.Bucket(), f, opts, func(b hive.Batch) error {
		d, err := schema.NewDecoder(t, b.Record.Schema())
		if err != nil {
			return fmt.Errorf("%s/%s: %w", im.lake.Bucket(), f.Path, err)
		}
		if o.alias {
			d.AliasBinary()
		}
		for i := 0; i < int(b.Record.NumRows()); i, row = i+1, row+1 {
			if o.skip != nil && o.skip(row) {
				continue
			}
			var v T
			if err := d.Decode(b.Record, i, &v); err != nil {
				return fmt.Errorf("%s/%s row %d: %w", im.lake.Bucket(), f.Path, row, err)
			}
			if !im.keepRow(&v) { // not selected (select.go)
				continue
			}
			if err := redactRow(im, t, &v); err != nil {
				return err
			}
			if err := fn(row, &v); err != nil {
				return err
			}
		}
		return nil
	})
}

// scanPool serves the Arrow buffers of the reads whose rows are not kept
// (readOpts.alias): reading a million observations through Arrow's
// builders, which grow each batch's buffers by doubling, allocated 9 GB for
// the garbage collector at a million observations (issue 11).
var scanPool = hive.NewPoolAllocator()

// readRows is readFile over every live file of T's table of the source
// project.
func readRows[T any](ctx context.Context, im *importer, o readOpts, fn func(f hive.FileEntry, row int64, r *T) error) error {
	var zero T
	t, err := schema.TableOf(&zero)
	if err != nil {
		return err
	}
	for _, f := range im.files(t.Name) {
		if err := readFile(ctx, im, f, o, func(row int64, r *T) error { return fn(f, row, r) }); err != nil {
			return err
		}
	}
	return nil
}

// scan decodes every row of table's live files of the source project, with
// the file and row index, skipping files whose rows the ledger has all.
func scan[T any](ctx context.Context, im *importer, fn func(f hive.FileEntry, row int64, r *T) error) error {
	var zero T
	t, err := schema.TableOf(&zero)
	if err != nil {
		return err
	}
	for _, f := range im.files(t.Name) {
		if im.led.acceptedRows(f.Path) >= f.Rows && f.Rows > 0 {
			im.count(t.Name, func(r *Result) { r.Already += f.Rows })
			continue
		}
		if err := readFile(ctx, im, f, readOpts{}, func(row int64, r *T) error { return fn(f, row, r) }); err != nil {
			return err
		}
	}
	return nil
}

// redactRow applies the import's redaction policy to a row just read from
// the lake. readFile, through which every read of rows goes, calls it, so
// everything sent and everything the read-back looks for is redacted alike
// (an id hashed in one table is hashed the same in all).
func redactRow[T any](im *importer, t *schema.Table, v *T) error {
	if im.o.Redactor == nil {
		return nil
	}
	out, err := im.o.Redactor.Row(t, v)
	if err != nil {
		return err
	}
	if o := out.(*T); o != v {
		*v = *o
	}
	return nil
}

// each decodes every row of a table (no ledger skipping), for the small
// tables that build lookups.
func each[T any](ctx context.Context, im *importer, fn func(r *T) error) error {
	return columns(ctx, im, nil, fn)
}

// columns is each for big tables: it decodes only the columns given.
func columns[T any](ctx context.Context, im *importer, cols []string, fn func(r *T) error) error {
	return readRows(ctx, im, readOpts{cols: cols}, func(_ hive.FileEntry, _ int64, r *T) error { return fn(r) })
}

// waitFor polls check until it reports true or the wait bound passes.
func (im *importer) waitFor(ctx context.Context, check func() (bool, error)) (bool, error) {
	deadline := im.o.Now().Add(im.o.Wait)
	for {
		ok, err := check()
		if err != nil || ok {
			return ok, err
		}
		if !im.o.Now().Before(deadline) {
			return false, nil
		}
		if err := ctxtime.Sleep(ctx, im.o.Poll); err != nil {
			return false, err
		}
	}
}

// Bounds of waitIngested: the first re-check comes after firstPoll, the
// interval doubles up to Options.Poll, and after the lag the destination
// showed, the importer waits twice that lag plus lagGrace.
const (
	firstPoll = 50 * time.Millisecond
	lagGrace  = 250 * time.Millisecond
)

// waitIngested is waitFor for a request whose outcome is unknown on a
// destination that ingests asynchronously (OTLP): check looks the request's
// objects up at once, and while they are missing, visible looks up those of
// the newest request this run saw accepted (the ledger's lastAck). Once an
// accepted request has shown up, its lag (from acceptance to visibility)
// bounds how long Langfuse takes to show what it took: the request is
// judged lost after twice that lag (plus lagGrace) with its objects still
// missing, and the --wait bound applies only while no accepted request has
// shown the lag. A lost request then costs about the destination's ingestion
// lag, not --wait.
func (im *importer) waitIngested(ctx context.Context, check func() (bool, error), visible func(probe []string) (bool, error)) (bool, error) {
	start := im.o.Now()
	deadline := start.Add(im.o.Wait)
	lag := time.Duration(-1)
	var measured time.Time // acceptance time of the request lag comes from
	poll := min(firstPoll, im.o.Poll)
	for {
		ok, err := check()
		if err != nil || ok {
			return ok, err
		}
		now := im.o.Now()
		if !now.Before(deadline) || (lag >= 0 && !now.Before(start.Add(2*lag+lagGrace))) {
			return false, nil
		}
		if a, ok := im.led.lastAck(); ok && a.at.After(measured) {
			seen, err := visible(a.probe)
			if err != nil {
				return false, err
			}
			if seen {
				l := max(im.o.Now().Sub(a.at), 0)
				if lag < 0 || l < lag {
					lag = l
				}
				measured = a.at
			}
		}
		next := poll
		if lag >= 0 {
			// Check once more right when the lag has passed.
			next = min(next, max(start.Add(2*lag+lagGrace).Sub(im.o.Now()), time.Millisecond))
		}
		if err := ctxtime.Sleep(ctx, next); err != nil {
			return false, err
		}
		poll = min(2*poll, im.o.Poll)
	}
}

// pool runs independent requests (media, dataset items, comments, queue
// items, score batches) on up to Options.Concurrency goroutines; the
// client's per-bucket slots and rate-limit pauses keep them within
// Langfuse's limits. The first error cancels the pool's context.
type pool struct {
	g   *errgroup.Group
	ctx context.Context
}

func (im *importer) newPool(ctx context.Context) *pool {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(im.o.Concurrency)
	return &pool{g: g, ctx: gctx}
}

// Go runs fn once a goroutine is free; after a failure it runs nothing and
// returns the context's error (Wait returns the failure itself).
func (p *pool) Go(fn func(ctx context.Context) error) error {
	if err := p.ctx.Err(); err != nil {
		return err
	}
	p.g.Go(func() error { return fn(p.ctx) })
	return nil
}

// Wait waits for every request and returns the first failure, else err
// (the error of the loop that fed the pool).
func (p *pool) Wait(err error) error {
	if werr := p.g.Wait(); werr != nil {
		return werr
	}
	return err
}
