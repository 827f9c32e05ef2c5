package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/hive"
	"github.com/lakefuse/lakefuse/importer"
	lf "github.com/lakefuse/lakefuse/internal/langfuse"
	"github.com/lakefuse/lakefuse/redact"
	"github.com/lakefuse/lakefuse/schema"
)

// ImportFlags are the flags import and migrate share.
type ImportFlags struct {
	Tables           string        `help:"Comma-separated tables to import (default: all)." placeholder:"LIST"`
	DryRun           bool          `name:"dry-run" help:"Print the plan (rows, requests, bytes per table) and send nothing."`
	Yes              bool          `help:"Do not ask for confirmation on a terminal."`
	AllowSameProject bool          `name:"allow-same-project" help:"Allow importing into the project the lake was exported from (duplicates every observation)."`
	OnPromptConflict string        `name:"on-prompt-conflict" help:"When a prompt exists in the destination with other content: stop, skip it, or append the lake's versions after the destination's." enum:"stop,skip,append" default:"stop"`
	StateDir         string        `name:"state-dir" help:"Where the import ledger lives (default: LOCATION/_lakefuse/imports/<destination project id>/)." placeholder:"LOCATION"`
	SourceProject    string        `name:"source-project" help:"The project to import when the lake holds several."`
	RewriteIDs       bool          `name:"rewrite-ids" help:"Replace trace and observation ids that are not OTel hex by deterministic hex ids (recorded in the ledger), for destinations that refuse them. By default every id is kept."`
	Concurrency      int           `help:"Requests in flight." default:"4"`
	Wait             time.Duration `help:"How long to wait for Langfuse to show data it accepted (unknown outcomes, objects of comments)." default:"2m"`
	MaxBatchSpans    int           `name:"max-batch-spans" hidden:"" help:"Spans per OTLP request (default 5000; tests use small batches)."`
	Compress         string        `help:"Compression of the OTLP requests: gzip, none, or auto (gzip unless the destination is this machine: localhost, 127.0.0.0/8, ::1)." enum:"auto,gzip,none" default:"auto"`
	ReportJSONFlag
	From          string `help:"Import only traces from this time (RFC 3339 or YYYY-MM-DD, UTC)." placeholder:"TIME"`
	To            string `help:"Import only traces before this time." placeholder:"TIME"`
	AllowPartial  bool   `name:"allow-partial" help:"Import a lake exported without some field groups (--fields); their columns arrive empty."`
	YesOldData    bool   `name:"yes-old-data" help:"Import rows older than the destination's retention, which Langfuse deletes soon after."`
	AllowNonEmpty bool   `name:"allow-non-empty" help:"Import into a destination project that already holds data (--yes implies it)."`
	FilterFlags

	redactor *redact.Redactor // set by import --redact
}

// ImportCmd imports a lake.
type ImportCmd struct {
	Location string `arg:"" help:"The lake to import: a path, file://, s3://bucket/prefix, gs://bucket/prefix or az://container/prefix."`
	Redact   string `help:"Redact every row read from the lake with this policy (YAML or JSON, see docs/privacy.md): the destination gets a scrubbed copy of a raw lake." placeholder:"POLICY"`
	ImportFlags
	LangfuseFlags
	BucketFlags
}

// Run imports the lake into the project of the Langfuse keys.
func (c *ImportCmd) Run(g *Globals) error {
	client, err := c.Client(g, c.Concurrency, func(cfg *lf.Config) { cfg.Compression = c.Compress })
	if err != nil {
		return &exitError{2, err}
	}
	if c.redactor, err = loadRedactor(c.Redact); err != nil {
		return err
	}
	b, err := c.Open(g, c.Location)
	if err != nil {
		return err
	}
	defer b.Close()
	return runImport(g, b, client, c.ImportFlags, c.BucketFlags)
}

// runImport imports the lake in b into the destination of client.
func runImport(g *Globals, b bucket.Bucket, client *lf.Client, f ImportFlags, bf BucketFlags) error {
	tables, err := parseTables(f.Tables)
	if err != nil {
		return &exitError{2, err}
	}
	lake, err := hive.Open(g.Ctx, b)
	if err != nil {
		return err
	}
	filter, err := f.Filter()
	if err != nil {
		return &exitError{2, err}
	}
	from, err := parseTime("--from", f.From)
	if err != nil {
		return &exitError{2, err}
	}
	to, err := parseTime("--to", f.To)
	if err != nil {
		return &exitError{2, err}
	}
	conflict := f.OnPromptConflict
	if conflict == "stop" {
		conflict = importer.PromptConflictStop
	}
	o := importer.Options{Client: client, Lake: lake, SourceProject: f.SourceProject, Tables: tables, DryRun: f.DryRun,
		OnPromptConflict: conflict, AllowSameProject: f.AllowSameProject, RewriteIDs: f.RewriteIDs, Concurrency: f.Concurrency, Wait: f.Wait, Logger: g.Log,
		MaxBatchSpans: f.MaxBatchSpans, Redactor: f.redactor,
		Filter: filter, From: from, To: to, AllowPartial: f.AllowPartial, YesOldData: f.YesOldData, AllowNonEmpty: f.AllowNonEmpty || f.Yes}
	if f.StateDir != "" {
		sb, err := bf.Open(g, f.StateDir)
		if err != nil {
			return err
		}
		defer sb.Close()
		o.State, o.StatePrefix = sb, ""
	}
	o.Confirm = func(dest *lf.Project, gen lf.Generation, p *importer.Plan) (bool, error) {
		fmt.Fprintf(g.Stdout, "Destination: project %q (id %s, organization %q) at %s, Langfuse %s\n",
			dest.Name, dest.ID, dest.Organization.Name, client.BaseURL(), gen)
		printPlan(g.Stdout, lake, p)
		printPreflight(g.Stdout, p)
		if f.DryRun || f.Yes || !g.Interactive {
			return true, nil
		}
		fmt.Fprintf(g.Stdout, "Import into %q? [y/N] ", dest.Name)
		line, _ := bufio.NewReader(g.Stdin).ReadString('\n')
		return strings.EqualFold(strings.TrimSpace(line), "y") || strings.EqualFold(strings.TrimSpace(line), "yes"), nil
	}
	p := startProgress(g)
	o.Progress = p.Update
	sum, err := importer.Run(g.Ctx, o)
	p.Stop()
	if sum != nil && !f.DryRun && len(sum.Results) > 0 {
		printImport(g.Stdout, sum)
	}
	err = f.writeImport(g, "import", lake, sum, err)
	switch {
	case errors.Is(err, importer.ErrOptions):
		return &exitError{2, err}
	case errors.Is(err, importer.ErrNotConfirmed):
		return fmt.Errorf("nothing imported: %w", err)
	case errors.Is(err, importer.ErrPreflight), errors.Is(err, importer.ErrPartialLake):
		if errors.Is(err, importer.ErrPreflight) && sum != nil && sum.Plan != nil {
			printPlan(g.Stdout, lake, sum.Plan)
			printPreflight(g.Stdout, sum.Plan)
		}
		return err // a rerun refuses alike: the flags named decide
	case errors.Is(err, importer.ErrDamagedLake):
		return err // a rerun meets the same files
	case err != nil && sum != nil && rerunHelps(err):
		// sum is nil when the import failed before it began (keys, project,
		// lake): there is no ledger to continue from.
		return fmt.Errorf("%w\nwhat the destination accepted is in the ledger: run the same command again to continue", err)
	case err != nil:
		return err
	}
	if f.DryRun {
		fmt.Fprintln(g.Stdout, "dry run: nothing was sent")
		return nil
	}
	fmt.Fprintf(g.Stdout, "imported %s into %q (%s)\n", lake.Bucket(), sum.Destination.Name, sum.Destination.ID)
	return nil
}

// rerunHelps reports whether running the same import again can get further:
// after network trouble, server errors, rate limits, unknown outcomes or an
// interruption it can; after an error that the same keys, lake and flags will
// meet again it cannot, and saying so would send the user in a loop.
func rerunHelps(err error) bool {
	for _, permanent := range []error{
		lf.ErrUnauthorized, lf.ErrBadRequest, lf.ErrTooLarge, lf.ErrBadResponse, lf.ErrInvalidConfig,
		importer.ErrOptions, importer.ErrSameProject, importer.ErrPromptConflict, importer.ErrNotConfirmed, importer.ErrLakeChanged,
		hive.ErrNoLake, hive.ErrNewerSchema, hive.ErrCorrupt,
		bucket.ErrPermission, bucket.ErrNoBucket, bucket.ErrBadCredentials, bucket.ErrBadLocation,
	} {
		if errors.Is(err, permanent) {
			return false
		}
	}
	return true
}

// parseTables reads a --tables list; "" means every table. A list that
// names no table (",") is refused rather than read as "all".
func parseTables(s string) ([]string, error) {
	var out []string
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		if _, err := schema.Lookup(t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	if s != "" && len(out) == 0 {
		return nil, fmt.Errorf("--tables %q names no table: give table names separated by commas (see lakefuse schema), or leave --tables out for every table", s)
	}
	return out, nil
}

func printPlan(w io.Writer, lake *hive.Lake, p *importer.Plan) {
	fmt.Fprintf(w, "Plan for %s (source project %s):\n", lake.Bucket(), p.SourceProject)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "table\trows\talready imported\trequests (est.)\tlake bytes\t")
	for _, t := range p.Tables {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t\n", t.Table, t.Rows, t.Done, t.Requests, t.LakeBytes)
	}
	_ = tw.Flush()
}

func printImport(w io.Writer, s *importer.Summary) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "table\trows\tsent\talready\tskipped\tfailed\trequests\t")
	for _, r := range s.Results {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t\n", r.Table, r.Rows, r.Sent, r.Already, r.Skipped, r.Failed, r.Requests)
	}
	_ = tw.Flush()
	if s.RedactionPolicy != "" {
		printRedaction(w, s.RedactionPolicy, s.Redacted)
	}
	for _, sf := range s.Shortfalls {
		fmt.Fprintf(w, "MISSING in the destination after the import: %s\n", sf)
	}
	for _, r := range s.Results {
		for i, n := range r.Notes {
			if i == 10 {
				fmt.Fprintf(w, "note: %s: … and %d more\n", r.Table, len(r.Notes)-10)
				break
			}
			fmt.Fprintf(w, "note: %s: %s\n", r.Table, n)
		}
	}
}
