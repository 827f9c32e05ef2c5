package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/hive"
	"github.com/lakefuse/lakefuse/importer"
	"github.com/lakefuse/lakefuse/report"
)

// ReportCmd writes a lake's HTML report.
type ReportCmd struct {
	Location string `arg:"" help:"The lake: a path, file://, s3://bucket/prefix, gs://bucket/prefix or az://container/prefix."`
	Output   string `short:"o" help:"Where to write the report." default:"report.html" type:"path"`
	Compare  string `help:"Show this result file of import, migrate or verify --against-* (written with --report-json)." type:"existingfile" placeholder:"FILE"`
	BucketFlags
}

// Run reads the lake once and writes one self-contained HTML file.
func (c *ReportCmd) Run(g *Globals) error {
	var cmp *report.Result
	if c.Compare != "" {
		r, err := report.ReadResult(c.Compare)
		if err != nil {
			return &exitError{2, err}
		}
		cmp = r
	}
	b, err := c.Open(g, c.Location)
	if err != nil {
		return err
	}
	defer b.Close()
	l, err := hive.Open(g.Ctx, b)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := writeReport(g.Ctx, l, cmp, c.Output); err != nil {
		return err
	}
	g.Log.Debug("report written", "seconds", time.Since(start).Seconds())
	fmt.Fprintf(g.Stdout, "wrote %s\n", c.Output)
	return nil
}

// writeReport collects the lake's figures and writes the page to path
// (atomically: a temporary file renamed).
func writeReport(ctx context.Context, l *hive.Lake, cmp *report.Result, path string) error {
	d, err := report.Collect(ctx, l, l.Bucket().String())
	if err != nil {
		return err
	}
	d.Tool, d.Comparison = toolVersion(), cmp
	return report.WriteFile(path, d)
}

// ReportJSONFlag is the --report-json flag of import, migrate and verify.
type ReportJSONFlag struct {
	ReportJSON string `name:"report-json" help:"Also write the per-table result as JSON to this file (for lakefuse report --compare)." type:"path" placeholder:"FILE"`
}

// writeImport writes an import's per-table counts, when asked. A failure to
// write is reported beside the import's own error, never instead of it.
func (f ReportJSONFlag) writeImport(g *Globals, command string, lake *hive.Lake, sum *importer.Summary, runErr error) error {
	if f.ReportJSON == "" || sum == nil || sum.DryRun {
		return runErr
	}
	r := &report.Result{Command: command, Lake: lake.Bucket().String(), Finished: time.Now().UTC(), OK: runErr == nil,
		Project: &report.Project{ID: sum.Destination.ID, Name: sum.Destination.Name}}
	if runErr != nil {
		r.Error = runErr.Error()
	}
	for _, t := range sum.Results {
		r.Tables = append(r.Tables, report.TableResult{Table: t.Table, LakeRows: t.Rows, Sent: t.Sent, Already: t.Already,
			Skipped: t.Skipped, Failed: t.Failed, Requests: t.Requests})
	}
	return f.write(g, r, runErr)
}

// writeCompare writes a comparison of a lake with a live project, when
// asked.
func (f ReportJSONFlag) writeCompare(g *Globals, lake *hive.Lake, against string, tables []report.TableResult, diffs int, runErr error) error {
	if f.ReportJSON == "" {
		return runErr
	}
	return f.write(g, compareResult(lake, against, tables, diffs, runErr), runErr)
}

// compareResult is the Result of comparing lake with a live project.
func compareResult(lake *hive.Lake, against string, tables []report.TableResult, diffs int, err error) *report.Result {
	r := &report.Result{Format: report.ResultFormat, Version: report.ResultVersion, Command: "verify", Against: against,
		Lake: lake.Bucket().String(), Finished: time.Now().UTC(), OK: err == nil && diffs == 0, Tables: tables}
	if err != nil {
		r.Error = err.Error()
	} else if diffs > 0 {
		r.Error = fmt.Sprintf("%d differences", diffs)
	}
	return r
}

func (f ReportJSONFlag) write(g *Globals, r *report.Result, runErr error) error {
	if err := report.WriteResult(f.ReportJSON, r); err != nil {
		if runErr != nil {
			return fmt.Errorf("%w (and --report-json: %v)", runErr, err)
		}
		return err
	}
	fmt.Fprintf(g.Stdout, "wrote %s\n", f.ReportJSON)
	return runErr
}

// tableResult is one table's comparison of a lake with a live project.
type tableResult = report.TableResult

// demoReportPath is where the demo writes its report, below its directory:
// under the lake's own _lakefuse/, so that verify, ls and clean do not take
// it for a stray data file and SQL globs over tables never see it.
var demoReportPath = filepath.Join(hive.MetaDir, "report.html")

// demoReport writes the demo lake's report, with the round trip's
// comparison, and prints where.
func demoReport(g *Globals, b bucket.Bucket, cmp *report.Result, path string) error {
	lake, err := hive.Open(g.Ctx, b)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := writeReport(g.Ctx, lake, cmp, path); err != nil {
		return err
	}
	fmt.Fprintf(g.Stdout, "\nReport: %s\n", path)
	return nil
}
