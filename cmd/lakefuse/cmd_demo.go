package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/export/lfexport"
	"github.com/lakefuse/lakefuse/hive"
	lf "github.com/lakefuse/lakefuse/internal/langfuse"
	"github.com/lakefuse/lakefuse/internal/lftest"
	"github.com/lakefuse/lakefuse/report"
)

// DemoCmd runs the whole job offline.
type DemoCmd struct {
	Dir  string `help:"Where to write the demo lake." default:"lakefuse-demo"`
	Seed int64  `help:"Seed of the generated project." default:"1"`
	// Redact exports through a redaction policy, then imports the redacted
	// lake: the privacy walk-through of docs/privacy.md.
	Redact string `help:"Redact the export with this policy (see docs/privacy.md)." placeholder:"POLICY"`

	// Hidden knobs for benchmarks: a lazily generated project of exactly
	// this many observations, served from this process.
	Observations int    `hidden:"" help:"Generate a lazy project with this many observations (benchmarks)."`
	PayloadBytes int    `hidden:"" help:"Mean input plus output bytes of a generated observation (with --observations)." default:"2048"`
	Tables       string `hidden:"" help:"Tables to export (default: all)."`
	NoMedia      bool   `hidden:"" name:"no-media" help:"Do not download media."`
}

// Run starts the built-in Langfuse-compatible server (v4 API) with a
// generated project, exports it into Dir, and summarises the lake.
func (c *DemoCmd) Run(g *Globals) error {
	abs, err := filepath.Abs(c.Dir)
	if err != nil {
		return err
	}
	size := lftest.SizeSmall
	if c.Observations > 0 {
		size = lftest.SizeBench(c.Observations, c.PayloadBytes)
	}
	red, err := loadRedactor(c.Redact)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.Stdout, "Starting a Langfuse-compatible server (v4 API) with a generated project…\n")
	srv := lftest.NewServer(lftest.Options{Mode: lftest.V4, Logger: g.Log})
	defer srv.Close()
	srcID, pk, sk := srv.AddGeneratedProject(lftest.Generate(c.Seed, size))
	client, err := lf.New(lf.Config{BaseURL: srv.URL(), PublicKey: pk, SecretKey: sk, Logger: g.Log,
		UserAgent: "lakefuse/" + toolVersion() + " (demo)"})
	if err != nil {
		return err
	}
	b, err := bucket.Open(g.Ctx, abs, bucket.Options{Logger: g.Log})
	if err != nil {
		return err
	}
	defer b.Close()
	var tables []string
	if c.Tables != "" {
		tables = splitList(c.Tables)
	}
	fmt.Fprintf(g.Stdout, "Exporting it into %s…\n\n", abs)
	// The generated data ends at lftest.DefaultEnd; exporting "until now"
	// would work the same but name a moving window.
	err = runExport(g, b, lfexport.Options{Client: client, Tables: tables, NoMedia: c.NoMedia, Logger: g.Log,
		To: lftest.DefaultEnd.Add(24 * time.Hour), Tool: hive.Tool{Name: "lakefuse", Version: toolVersion()}, Redactor: red}, false)
	if err != nil {
		return err
	}
	// The rest of the demo needs the lake and the second project only: the
	// source project's scores, sessions and indexes would stay in this
	// process's heap through the import and the read-back (issue 11).
	if err := srv.RemoveProject(srcID); err != nil {
		return err
	}
	out, err := summarise(g.Ctx, b, false)
	if err != nil {
		return err
	}
	fmt.Fprintln(g.Stdout)
	if err := printSummary(g.Stdout, out, false); err != nil {
		return err
	}
	cmp, err := demoRoundTrip(g, srv, b)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.Stdout, `
Try it in DuckDB:

  SELECT o.dt, o.type, count(*) AS observations, round(sum(o.total_cost), 4) AS cost_usd
  FROM read_parquet('%[1]s/observations/**/*.parquet', hive_partitioning = true) o
  GROUP BY ALL ORDER BY ALL;

  SELECT t.name, count(*) AS traces, avg(s.value) AS avg_quality
  FROM read_parquet('%[1]s/traces/**/*.parquet', hive_partitioning = true) t
  LEFT JOIN read_parquet('%[1]s/scores/**/*.parquet', hive_partitioning = true) s
    ON s.trace_id = t.id AND s.name = 'quality'
  GROUP BY ALL ORDER BY traces DESC;
`, abs)
	return demoReport(g, b, cmp, filepath.Join(abs, demoReportPath))
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// demoRoundTrip imports the demo lake into a second project of the same
// server and compares that project with the lake.
func demoRoundTrip(g *Globals, srv *lftest.Server, b bucket.Bucket) (*report.Result, error) {
	id, pk, sk := srv.AddProject("demo import")
	// Its observations live in a temporary file until the project closes.
	defer srv.Project(id).Close()
	client, err := lf.New(lf.Config{BaseURL: srv.URL(), PublicKey: pk, SecretKey: sk, Logger: g.Log,
		UserAgent: "lakefuse/" + toolVersion() + " (demo)"})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(g.Stdout, "\nImporting the lake into a second project…\n")
	// The second project is new on every run: its ledger must not be the
	// one a previous demo left in the lake.
	state, err := os.MkdirTemp("", "lakefuse-demo-ledger-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(state)
	importStart := time.Now()
	if err := runImport(g, b, client, ImportFlags{Yes: true, OnPromptConflict: "stop", Concurrency: demoConcurrency(), Wait: 10 * time.Second, StateDir: state}, BucketFlags{}); err != nil {
		return nil, err
	}
	importTook := time.Since(importStart)
	verifyStart := time.Now()
	lake, err := hive.Open(g.Ctx, b)
	if err != nil {
		return nil, err
	}
	sb, err := bucket.NewLocal(state)
	if err != nil {
		return nil, err
	}
	defer sb.Close()
	rows, compared, diffs, err := verifyLive(g.Ctx, g.Stdout, lake, client, true, false, nil, sb)
	if err != nil {
		return nil, err
	}
	if diffs > 0 {
		return nil, fmt.Errorf("round trip: %d differences between the lake and the imported project", diffs)
	}
	fmt.Fprintf(g.Stdout, "round trip verified: %d rows across %d tables (import %s, read-back and compare %s)\n",
		rows, len(compared), importTook.Round(100*time.Millisecond), time.Since(verifyStart).Round(100*time.Millisecond))
	return compareResult(lake, "destination", compared, diffs, nil), nil
}

// demoConcurrency is the import's concurrency in the demo: the destination
// runs in this process, so more requests in flight than cores only hold
// more batches in memory (at 300,000 observations on 2 cores, 4 in flight
// took as long as 2 and peaked 13 MiB higher).
func demoConcurrency() int { return min(4, max(runtime.GOMAXPROCS(0), 2)) }
