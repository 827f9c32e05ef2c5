package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/export/langsmith"
	"github.com/lakefuse/lakefuse/hive"
)

// ConvertCmd converts other tools' exports.
type ConvertCmd struct {
	Langsmith ConvertLangsmithCmd `cmd:"" help:"Convert a LangSmith bulk export (Parquet runs) into a lake."`
}

// ConvertLangsmithCmd converts a LangSmith bulk export.
type ConvertLangsmithCmd struct {
	Source   string `arg:"" help:"The LangSmith bulk export: a path, s3:// or gs:// location at any level of export_id=…/tenant_id=…/session_id=…/."`
	Location string `arg:"" help:"The lake to write."`

	Feedback        string `help:"Raw LangSmith feedback to convert into scores: a JSON array or JSON lines, as the feedback API returns it (a path, or an s3:// or gs:// object). Replaces the feedback_stats aggregates." placeholder:"FILE"`
	Environment     string `help:"Langfuse environment of the converted rows." default:"default"`
	NoFeedbackStats bool   `name:"no-feedback-stats" help:"Keep feedback_stats only in metadata instead of turning their averages into scores."`
	KeepTokenEvents bool   `help:"Keep every streaming new_token event in the metadata (default: their count and first and last times)."`
	Replace         bool   `help:"Supersede earlier LangSmith conversions of the same projects in LOCATION (default: refuse to write them twice)."`
	JSON            bool   `help:"Print the summary as JSON."`
	Redact          string `help:"Redact every row with this policy (YAML or JSON, see docs/privacy.md) before it is written." placeholder:"POLICY"`
	BucketFlags
	LeaseFlags

	SourceS3Endpoint  string `name:"source-s3-endpoint" help:"S3 endpoint of SOURCE when it differs from LOCATION's (default: --s3-endpoint)." env:"LAKEFUSE_SOURCE_S3_ENDPOINT"`
	SourceS3PathStyle bool   `name:"source-s3-path-style" help:"Address SOURCE's buckets path-style (default: --s3-path-style)." env:"LAKEFUSE_SOURCE_S3_PATH_STYLE"`
	SourceS3Region    string `name:"source-s3-region" help:"S3 region of SOURCE (default: --s3-region)."`
}

// errConflict: LOCATION already holds the projects being converted.
var errConflict = errors.New("LOCATION already holds these projects")

// Run converts SOURCE into LOCATION in one lake run and prints a summary.
func (c *ConvertLangsmithCmd) Run(g *Globals) error {
	ctx := g.Ctx
	srcFlags := BucketFlags{S3Endpoint: c.SourceS3Endpoint, S3PathStyle: c.SourceS3PathStyle || c.S3PathStyle, S3Region: c.SourceS3Region,
		GCSHMAC: c.GCSHMAC, GCSEndpoint: c.GCSEndpoint, AzureEndpoint: c.AzureEndpoint}
	if srcFlags.S3Endpoint == "" {
		srcFlags.S3Endpoint = c.S3Endpoint
	}
	if srcFlags.S3Region == "" {
		srcFlags.S3Region = c.S3Region
	}
	src, err := srcFlags.Open(g, c.Source)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	defer src.Close()
	opts := langsmith.Options{
		Environment: c.Environment, NoStatsScores: c.NoFeedbackStats, KeepTokenEvents: c.KeepTokenEvents, Logger: g.Log,
	}
	if c.Feedback != "" {
		opts.Feedback = c.feedbackFile(g, srcFlags)
	}
	conv, err := langsmith.Open(ctx, src, c.Source, opts)
	if err != nil {
		return err
	}
	dst, err := c.Open(g, c.Location)
	if err != nil {
		return err
	}
	defer dst.Close()
	lease, ctx, err := hive.AcquireLease(ctx, dst, c.LeaseFlags.Options(g, "lakefuse convert langsmith"))
	if err != nil {
		return err
	}
	defer func() { _ = lease.Release(g.Ctx) }()
	if l, err := hive.Load(ctx, dst); err != nil {
		return err
	} else if _, err := hive.Clean(ctx, l); err != nil {
		return fmt.Errorf("clean up leftovers of earlier runs: %w", err)
	}
	superseded, err := c.conflicts(ctx, dst, conv.Projects())
	if err != nil {
		return err
	}
	source := hive.Source{Kind: "langsmith", URL: c.Source}
	if p := conv.Projects(); len(p) == 1 {
		source.ProjectID = p[0]
	}
	ro := hive.RunOptions{
		Kind: "convert", Source: source, Tool: hive.Tool{Name: "lakefuse", Version: toolVersion()}, Logger: g.Log, Lease: lease,
	}
	red, err := loadRedactor(c.Redact)
	if err != nil {
		return err
	}
	if red != nil {
		ro.Transform, ro.Redaction = red.Row, redactionInfo(red)
	}
	run, err := hive.NewRun(ctx, dst, ro)
	if err != nil {
		return err
	}
	run.Remove(superseded...)
	st, err := conv.Convert(ctx, run)
	if err != nil {
		if aerr := run.Abort(context.WithoutCancel(ctx)); aerr != nil {
			g.Log.Warn("could not remove the partial conversion", "location", dst.String(), "err", aerr)
		}
		return err
	}
	if _, err := run.Commit(ctx); err != nil {
		_ = run.Abort(context.WithoutCancel(ctx))
		return err
	}
	out, err := summarise(ctx, dst, false)
	if err != nil {
		return err
	}
	if c.JSON {
		enc := json.NewEncoder(g.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Conversion *langsmith.Stats `json:"conversion"`
			Lake       *lsOutput        `json:"lake"`
		}{st, out})
	}
	if err := printConversion(g.Stdout, c.Source, dst.String(), st, len(superseded)); err != nil {
		return err
	}
	if red != nil {
		printRedaction(g.Stdout, red.PolicyHash(), red.Counts())
	}
	fmt.Fprintln(g.Stdout)
	return printSummary(g.Stdout, out, false)
}

// conflicts refuses to convert projects that LOCATION already holds, which
// would duplicate their rows, unless --replace lets this run supersede
// earlier LangSmith conversions of them. It returns the files to supersede.
func (c *ConvertLangsmithCmd) conflicts(ctx context.Context, dst bucket.Bucket, projects []string) ([]string, error) {
	l, err := hive.Load(ctx, dst)
	if err != nil {
		return nil, err
	}
	converting := map[string]bool{}
	for _, p := range projects {
		converting[p] = true
	}
	var superseded, runs, foreign []string
	for _, m := range l.Manifests {
		hit := false
		for _, f := range m.Files {
			if !converting[f.ProjectID] || !l.Live(f.Path) {
				continue
			}
			hit = true
			if m.Kind == "convert" && m.Source.Kind == "langsmith" {
				superseded = append(superseded, f.Path)
			}
		}
		if hit {
			runs = append(runs, m.RunID)
			if m.Kind != "convert" || m.Source.Kind != "langsmith" {
				foreign = append(foreign, m.RunID+" ("+m.Kind+" from "+m.Source.Kind+")")
			}
		}
	}
	switch {
	case len(foreign) > 0:
		return nil, fmt.Errorf("%s: %w: run %s wrote rows of the same project ids and is not a LangSmith conversion; convert into another location", dst, errConflict, strings.Join(foreign, ", "))
	case len(runs) > 0 && !c.Replace:
		return nil, fmt.Errorf("%s: %w: run %s converted them before; converting again would duplicate their rows. Pass --replace to supersede it, or convert into another location", dst, errConflict, strings.Join(runs, ", "))
	}
	slices.Sort(superseded)
	return superseded, nil
}

// feedbackFile opens --feedback: a local path, or an object in a bucket.
func (c *ConvertLangsmithCmd) feedbackFile(g *Globals, flags BucketFlags) *langsmith.FeedbackFile {
	name := c.Feedback
	return &langsmith.FeedbackFile{Name: name, Open: func(ctx context.Context) (io.ReadCloser, error) {
		if !strings.Contains(name, "://") || strings.HasPrefix(name, "file://") {
			p := strings.TrimPrefix(name, "file://")
			return os.Open(p)
		}
		i := strings.LastIndex(name, "/")
		if i < 0 || i == len(name)-1 || strings.HasSuffix(name[:i], ":/") {
			return nil, fmt.Errorf("%q names no object: give bucket and key, e.g. s3://bucket/feedback.jsonl", name)
		}
		b, err := flags.Open(g, name[:i])
		if err != nil {
			return nil, err
		}
		obj, err := b.Open(ctx, name[i+1:])
		if err != nil {
			_ = b.Close()
			return nil, err
		}
		return &objectReader{SectionReader: io.NewSectionReader(obj, 0, obj.Size()), obj: obj, b: b}, nil
	}}
}

type objectReader struct {
	*io.SectionReader
	obj bucket.Object
	b   bucket.Bucket
}

func (r *objectReader) Close() error { return errors.Join(r.obj.Close(), r.b.Close()) }

func printConversion(w io.Writer, source, location string, st *langsmith.Stats, superseded int) error {
	fmt.Fprintf(w, "converted LangSmith export %s into %s\n\n", source, location)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  files read\t%d (%s) in %d project-days; %d other objects ignored\n", st.Files, humanBytes(st.Bytes), st.Groups, st.Ignored)
	fmt.Fprintf(tw, "  projects\t%d (%s); tenants %d; exports %d\n", len(st.Projects), strings.Join(first(st.Projects, 3), ", "), len(st.Tenants), len(st.Exports))
	fmt.Fprintf(tw, "  runs read\t%d\n", st.RunsRead)
	fmt.Fprintf(tw, "  duplicates dropped\t%d (the same run in several exports: the complete, latest row is kept)\n", st.Duplicates)
	fmt.Fprintf(tw, "  runs converted\t%d\n", st.Runs)
	fmt.Fprintf(tw, "  orphans\t%d (parent in no export: kept as top-level observations)\n", st.Orphans)
	fmt.Fprintf(tw, "  traces without root\t%d (root run in no export: trace row made from the first orphan)\n", st.RootlessTraces)
	fmt.Fprintf(tw, "  rows written\ttraces %d, observations %d, scores %d, sessions %d\n", st.Traces, st.Observations, st.Scores, st.Sessions)
	if st.StatsScores > 0 {
		fmt.Fprintf(tw, "  feedback_stats\t%d scores (averages of LangSmith's per-run aggregates)\n", st.StatsScores)
	}
	if st.FeedbackRead > 0 {
		var skipped int64
		for _, n := range st.FeedbackSkipped {
			skipped += n
		}
		fmt.Fprintf(tw, "  feedback\t%d read, %d scores, %d duplicates, %d skipped\n", st.FeedbackRead, st.FeedbackScores, st.FeedbackDuplicates, skipped)
		reasons := make([]string, 0, len(st.FeedbackSkipped))
		for r := range st.FeedbackSkipped {
			reasons = append(reasons, r)
		}
		slices.Sort(reasons)
		for _, r := range reasons {
			fmt.Fprintf(tw, "  \t  %d skipped: %s\n", st.FeedbackSkipped[r], r)
		}
	}
	if superseded > 0 {
		fmt.Fprintf(tw, "  superseded\t%d files of earlier conversions\n", superseded)
	}
	return tw.Flush()
}

func first(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(slices.Clip(s[:n]), fmt.Sprintf("… %d more", len(s)-n))
}
