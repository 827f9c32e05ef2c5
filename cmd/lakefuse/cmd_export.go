package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/export/lfexport"
	"github.com/lakefuse/lakefuse/hive"
	lf "github.com/lakefuse/lakefuse/internal/langfuse"
	"github.com/lakefuse/lakefuse/internal/selection"
	"github.com/lakefuse/lakefuse/schema"
)

// LangfuseFlags select one Langfuse project, the way the Langfuse SDKs do.
type LangfuseFlags struct {
	PublicKey string `name:"public-key" help:"Langfuse public key (pk-lf-…)." env:"LANGFUSE_PUBLIC_KEY"`
	SecretKey string `name:"secret-key" help:"Langfuse secret key (sk-lf-…); prefer the environment variable." env:"LANGFUSE_SECRET_KEY"`
	BaseURL   string `name:"base-url" help:"Langfuse base URL." env:"LANGFUSE_BASE_URL,LANGFUSE_HOST" default:"https://cloud.langfuse.com"`
	// MaxRetries is how often a failed request (429, 5xx, network error)
	// is retried, with exponential backoff from 50 ms (about 26-51 s in all), before the command fails.
	MaxRetries int `name:"max-retries" help:"Retries of a request that failed with 429, 5xx or a network error (backoff from 50ms, doubling, up to 30s)." default:"10"`
}

// Client builds a Langfuse client for these flags.
// mods change the configuration before the client is made.
func (f LangfuseFlags) Client(g *Globals, concurrency int, mods ...func(*lf.Config)) (*lf.Client, error) {
	conc := map[lf.Bucket]int{}
	for _, b := range lf.Buckets() {
		conc[b] = concurrency
	}
	retries := f.MaxRetries
	if retries == 0 {
		retries = -1 // the client reads 0 as its default
	}
	cfg := lf.Config{BaseURL: f.BaseURL, PublicKey: f.PublicKey, SecretKey: f.SecretKey, Logger: g.Log, MaxRetries: retries,
		UserAgent: "lakefuse/" + toolVersion(), Concurrency: conc,
		KeysHint: "LANGFUSE_PUBLIC_KEY/LANGFUSE_SECRET_KEY (or --public-key/--secret-key)"}
	for _, m := range mods {
		m(&cfg)
	}
	return lf.New(cfg)
}

// ExportCmd exports a Langfuse project.
type ExportCmd struct {
	Location string `arg:"" help:"Where the lake is: a path, file://, s3://bucket/prefix, gs://bucket/prefix or az://container/prefix."`

	Tables      string        `help:"Comma-separated tables to export (default: all; see lakefuse schema)." placeholder:"LIST"`
	From        string        `help:"Export rows from this time (RFC 3339 or YYYY-MM-DD, UTC); widened to the start of its day." placeholder:"TIME"`
	To          string        `help:"Export rows before this time (default: now); a past time is widened to the end of its day." placeholder:"TIME"`
	Incremental bool          `help:"Export what is new since the last export of this project into LOCATION, re-reading --lookback before it."`
	Lookback    time.Duration `help:"How much before the last export's end an incremental export re-reads, for late and updated rows." default:"48h"`
	Shard       string        `help:"Export one part of the window as shard i of n (i/n, counted from 1: 1/4 … 4/4), side by side with the other shards, into one lake. Every shard needs the same --from and --to (default: the start of today, UTC); the window is whole UTC days split into n runs of days. Shard 1 also exports the tables not partitioned by time; media is left to one unsharded --tables media run. job/n takes i from a Kubernetes indexed Job ($JOB_COMPLETION_INDEX + 1). Not with --incremental." placeholder:"i/n"`
	Every       time.Duration `help:"Keep running: an incremental export (one committed run) every this long (e.g. 1h), until SIGTERM or Ctrl-C. Needs --incremental."`
	NoMedia     bool          `name:"no-media" help:"Do not download media bytes into _media/ (media rows are still written)."`
	Concurrency int           `help:"Requests in flight per Langfuse rate-limit bucket, and parallel media and prompt fetches." default:"4"`
	JSON        bool          `help:"Print the summary as JSON."`
	Fields      string        `help:"Observation field groups to export (Langfuse's v2 groups: core,basic,time,io,metadata,model,usage,prompt,metrics; core and basic required). Groups left out keep their columns, null. Default: all." placeholder:"LIST"`
	FilterFlags
	Redact string `help:"Redact every row with this policy (YAML or JSON, see docs/privacy.md) before it is written: the lake never holds what the policy removes." placeholder:"POLICY"`
	LangfuseFlags
	BucketFlags
	LeaseFlags
}

// LeaseFlags tune the lake's lease, which every command that changes a lake
// holds while it works.
type LeaseFlags struct {
	Wait     time.Duration `help:"How long to wait when another run is changing the lake (default: refuse at once, naming it)." default:"0s"`
	LeaseTTL time.Duration `name:"lease-ttl" hidden:"" help:"How long the lake's lease lasts without renewal; a run killed holding it blocks others this long." default:"1m"`
}

// Options returns the lease options for holder.
func (f LeaseFlags) Options(g *Globals, holder string) hive.LeaseOptions {
	return hive.LeaseOptions{Holder: holder, Wait: f.Wait, TTL: f.LeaseTTL, Logger: g.Log}
}

// Run exports and prints a summary.
func (c *ExportCmd) Run(g *Globals) error {
	from, err := parseTime("--from", c.From)
	if err != nil {
		return &exitError{2, err}
	}
	to, err := parseTime("--to", c.To)
	if err != nil {
		return &exitError{2, err}
	}
	tables, err := parseTables(c.Tables)
	if err != nil {
		return &exitError{2, err}
	}
	var shard *lfexport.Shard
	if c.Shard != "" {
		sh, err := lfexport.ParseShard(c.Shard, os.Getenv)
		if err != nil {
			return &exitError{2, err}
		}
		if c.Every > 0 {
			return &exitError{2, fmt.Errorf("--shard and --every exclude each other: a continuous export is incremental, and shards need one fixed window")}
		}
		shard = &sh
	}
	filter, err := c.Filter()
	if err != nil {
		return &exitError{2, err}
	}
	omit, err := selection.ParseFields(c.Fields)
	if err != nil {
		return &exitError{2, err}
	}
	if c.Concurrency < 1 {
		return &exitError{2, fmt.Errorf("--concurrency must be at least 1")}
	}
	client, err := c.Client(g, c.Concurrency)
	if err != nil {
		return &exitError{2, err}
	}
	if c.Every < 0 || c.Every > 0 && !c.Incremental {
		return &exitError{2, fmt.Errorf("--every needs --incremental and a positive interval: each cycle exports what is new since the last one")}
	}
	red, err := loadRedactor(c.Redact)
	if err != nil {
		return err
	}
	b, err := c.Open(g, c.Location)
	if err != nil {
		return err
	}
	defer b.Close()
	if c.Every > 0 {
		return runContinuous(g, b, lfexport.Options{
			Client: client, Tables: tables, Lookback: c.Lookback, NoMedia: c.NoMedia, Concurrency: c.Concurrency, Logger: g.Log,
			Tool: hive.Tool{Name: "lakefuse", Version: toolVersion()}, Lease: c.LeaseFlags.Options(g, "lakefuse export --every "+c.Every.String()),
			Filter: filter, OmitFields: omit, Redactor: red,
		}, c.Every)
	}
	return runExport(g, b, lfexport.Options{
		Client: client, Tables: tables, From: from, To: to, Incremental: c.Incremental, Lookback: c.Lookback,
		NoMedia: c.NoMedia, Concurrency: c.Concurrency, Logger: g.Log, Tool: hive.Tool{Name: "lakefuse", Version: toolVersion()},
		Lease:  c.LeaseFlags.Options(g, "lakefuse export"),
		Filter: filter, OmitFields: omit, Redactor: red, Shard: shard,
	}, c.JSON)
}

// runExport runs an export with progress on a terminal and prints the summary.
func runExport(g *Globals, b bucket.Bucket, o lfexport.Options, asJSON bool) error {
	o.Stats = lfexport.NewStats()
	p := startProgress(g)
	stop := followExport(p, o.Stats)
	res, err := lfexport.Export(g.Ctx, b, o)
	stop()
	p.Stop()
	if err != nil {
		if errors.Is(err, lfexport.ErrOptions) {
			return &exitError{2, err}
		}
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("export into %s interrupted; nothing was committed: run the same command again to resume", b)
		}
		return fmt.Errorf("export into %s: %w", b, err)
	}
	if asJSON {
		return printJSON(g.Stdout, res)
	}
	return printExport(g.Stdout, b, res, o.Stats.Snapshot())
}

// parseTime reads an RFC 3339 time or a YYYY-MM-DD date (UTC).
func parseTime(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%s %q is not a time: use RFC 3339 (2026-03-01T12:00:00Z) or a date (2026-03-01)", flag, s)
}

// followExport shows the export's counts (rows per table, media files)
// through p until the returned func is called.
func followExport(p *progress, st *lfexport.Stats) func() {
	done := make(chan struct{})
	finished := make(chan struct{})
	update := func() {
		s := st.Snapshot()
		for _, t := range s.Tables() {
			p.Update(t, s.Rows[t], s.Totals[t])
		}
		if s.Media > 0 {
			p.Update(mediaFiles, s.Media, 0)
		}
	}
	go func() {
		defer close(finished)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				update()
				return
			case <-tick.C:
				update()
			}
		}
	}()
	return func() { close(done); <-finished }
}

func printExport(w io.Writer, b bucket.Bucket, res *lfexport.Result, s lfexport.Snapshot) error {
	m := res.Manifest
	fmt.Fprintf(w, "exported %s project %s (Langfuse %s API) into %s\n", m.Source.URL, res.ProjectID, res.Generation, b)
	fmt.Fprintf(w, "run %s, window %s", m.RunID, windowString(m.Window))
	if sh := m.Shard; sh != nil {
		fmt.Fprintf(w, ", shard %d/%d of %s", sh.Index, sh.Count, windowString(sh.Window))
	}
	if res.Resumed != "" {
		fmt.Fprintf(w, ", resumed from its checkpoint")
	}
	if res.Superseded > 0 {
		fmt.Fprintf(w, ", replaced %d earlier file(s)", res.Superseded)
	}
	fmt.Fprintf(w, "\n\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "TABLE\tROWS\tFILES\tBYTES\t")
	names := make([]string, 0, len(m.Tables))
	for name := range m.Tables {
		names = append(names, name)
	}
	order := map[string]int{}
	for i, n := range schema.Names() {
		order[n] = i
	}
	sort.Slice(names, func(i, j int) bool { return order[names[i]] < order[names[j]] })
	var rows, bytes int64
	var files int
	for _, name := range names {
		t := m.Tables[name]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t\n", name, t.Rows, t.Files, humanBytes(t.Bytes))
		rows += t.Rows
		files += t.Files
		bytes += t.Bytes
	}
	fmt.Fprintf(tw, "total\t%d\t%d\t%s\t\n", rows, files, humanBytes(bytes))
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(m.Media) > 0 {
		var n int64
		for _, me := range m.Media {
			n += me.Size
		}
		fmt.Fprintf(w, "\nmedia: %d object(s), %s copied to _media/\n", len(m.Media), humanBytes(n))
	}
	if m.Redaction != nil {
		printRedaction(w, m.Redaction.PolicySHA256, res.Redacted)
	}
	secs := s.Elapsed.Seconds()
	fmt.Fprintf(w, "\n%s in %s (%.0f rows/s)\n", humanCount(rows), s.Elapsed.Round(time.Millisecond), float64(s.TotalRows())/max(secs, 0.001))
	return nil
}

func humanCount(n int64) string {
	if n == 1 {
		return "1 row"
	}
	return fmt.Sprintf("%d rows", n)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// runContinuous exports every interval until the context ends (SIGTERM,
// Ctrl-C), one line per cycle. Stopped between cycles it exits 0; stopped
// during one, 1 (that cycle committed nothing and the next start resumes it).
func runContinuous(g *Globals, b bucket.Bucket, o lfexport.Options, every time.Duration) error {
	failed := 0
	err := lfexport.Continuous(g.Ctx, b, o, lfexport.Schedule{Every: every, OnCycle: func(cycle int, res *lfexport.Result, err error) {
		if err != nil {
			failed++
			g.Log.Error("export cycle failed; the next cycle resumes it", "cycle", cycle, "err", err)
			return
		}
		var rows int64
		for _, t := range res.Manifest.Tables {
			rows += t.Rows
		}
		fmt.Fprintf(g.Stdout, "%s cycle %d: run %s, window %s, %d rows, replaced %d file(s)\n", time.Now().UTC().Format(time.RFC3339),
			cycle, res.Manifest.RunID, windowString(res.Manifest.Window), rows, res.Superseded)
	}})
	switch {
	case errors.Is(err, lfexport.ErrOptions):
		return &exitError{2, err}
	case err != nil:
		return fmt.Errorf("export into %s: %w", b, err)
	}
	fmt.Fprintf(g.Stdout, "stopped; %d cycle(s) failed\n", failed)
	return nil
}
