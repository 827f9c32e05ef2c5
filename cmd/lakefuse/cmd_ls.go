package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/hive"
)

// LsCmd summarises a lake from its manifests.
type LsCmd struct {
	Location string `arg:"" help:"The lake: a path, file://, s3://bucket/prefix, gs://bucket/prefix or az://container/prefix."`
	JSON     bool   `help:"Print JSON."`
	Long     bool   `short:"l" help:"List every partition and file."`
	BucketFlags
}

type lsTable struct {
	Name       string           `json:"name"`
	Partitions int              `json:"partitions"`
	Files      int              `json:"files"`
	Rows       int64            `json:"rows"`
	Bytes      int64            `json:"bytes"`
	MinDate    string           `json:"min_dt,omitempty"`
	MaxDate    string           `json:"max_dt,omitempty"`
	Detail     []hive.FileEntry `json:"file_list,omitempty"`
}

type lsRun struct {
	RunID  string      `json:"run_id"`
	Kind   string      `json:"kind"`
	Source hive.Source `json:"source"`
	Window hive.Window `json:"window"`
	// Shard is set for one shard of a sharded export.
	Shard       *hive.Shard `json:"shard,omitempty"`
	Tool        hive.Tool   `json:"tool"`
	StartedAt   time.Time   `json:"started_at"`
	CommittedAt time.Time   `json:"committed_at"`
	Files       int         `json:"files"`
	Rows        int64       `json:"rows"`
	Removed     int         `json:"removed,omitempty"`
	// Selection is what the run left out on purpose (filter, field groups).
	Selection *hive.Selection `json:"selection,omitempty"`
	// Redaction is the policy the run applied, if any.
	Redaction *hive.Redaction `json:"redaction,omitempty"`
}

type lsStray struct {
	Key    string `json:"key"`
	Reason string `json:"reason"`
}

type lsOutput struct {
	Location      string    `json:"location"`
	SchemaVersion int       `json:"schema_version"`
	Tables        []lsTable `json:"tables"`
	Runs          []lsRun   `json:"runs"`
	Media         int       `json:"media_objects"`
	Strays        []lsStray `json:"not_in_lake,omitempty"`
	// Staged are files under _lakefuse/staging/: of a run at work or dead,
	// or of a committed run whose files are not all moved into place yet.
	Staged []lsStray `json:"staged,omitempty"`
	// InUse is the run holding the lake's lease, if any.
	InUse string `json:"in_use_by,omitempty"`
	// InUseShards are the shards of a sharded export at work.
	InUseShards []string `json:"in_use_by_shards,omitempty"`
	// IncompleteShards are sharded exports some of whose shards have not
	// committed.
	IncompleteShards []string `json:"incomplete_sharded_exports,omitempty"`
}

// Run prints the summary.
func (c *LsCmd) Run(g *Globals) error {
	b, err := c.Open(g, c.Location)
	if err != nil {
		return err
	}
	defer b.Close()
	out, err := summarise(g.Ctx, b, c.Long)
	if err != nil {
		return err
	}
	if c.JSON {
		enc := json.NewEncoder(g.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	return printSummary(g.Stdout, out, c.Long)
}

func summarise(ctx context.Context, b bucket.Bucket, long bool) (*lsOutput, error) {
	l, err := hive.Open(ctx, b)
	if err != nil {
		return nil, err
	}
	out := &lsOutput{Location: b.String(), SchemaVersion: schemaVersion()}
	for _, name := range l.Tables() {
		t := lsTable{Name: name, Partitions: len(l.Partitions(name))}
		for _, f := range l.Files(name) {
			t.Files++
			t.Rows += f.Rows
			t.Bytes += f.Size
			if f.Date != "" && (t.MinDate == "" || f.Date < t.MinDate) {
				t.MinDate = f.Date
			}
			if f.Date > t.MaxDate {
				t.MaxDate = f.Date
			}
			if long {
				t.Detail = append(t.Detail, f)
			}
		}
		out.Tables = append(out.Tables, t)
	}
	media := map[string]bool{}
	for _, m := range l.Manifests {
		r := lsRun{RunID: m.RunID, Kind: m.Kind, Source: m.Source, Window: m.Window, Shard: m.Shard, Tool: m.Tool,
			StartedAt: m.StartedAt, CommittedAt: m.CommittedAt, Files: len(m.Files), Removed: len(m.Removed), Selection: m.Selection,
			Redaction: m.Redaction}
		for _, f := range m.Files {
			r.Rows += f.Rows
		}
		for _, me := range m.Media {
			media[me.Path] = true
		}
		out.Runs = append(out.Runs, r)
	}
	out.Media = len(media)
	strays, err := l.Strays(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range strays {
		out.Strays = append(out.Strays, lsStray{Key: s.Key, Reason: s.Reason})
	}
	staged, err := l.Staged(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range staged {
		out.Staged = append(out.Staged, lsStray{Key: s.Key, Reason: s.Reason})
	}
	if lease, err := hive.CurrentLease(ctx, l.Bucket(), time.Now()); err == nil && lease != nil {
		out.InUse = lease.String()
	}
	if shards, err := hive.CurrentShardLeases(ctx, l.Bucket(), time.Now()); err == nil {
		for _, s := range shards {
			out.InUseShards = append(out.InUseShards, s.String())
		}
	}
	for _, g := range l.IncompleteShards() {
		out.IncompleteShards = append(out.IncompleteShards, g.String())
	}
	return out, nil
}

func printSummary(w io.Writer, out *lsOutput, long bool) error {
	fmt.Fprintf(w, "lake %s (schema version %d)\n\n", out.Location, out.SchemaVersion)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "TABLE\tPARTITIONS\tFILES\tROWS\tBYTES\tDATES\t")
	var rows, bytes int64
	var files int
	for _, t := range out.Tables {
		dates := ""
		if t.MinDate != "" {
			dates = t.MinDate + ".." + t.MaxDate
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\t\n", t.Name, t.Partitions, t.Files, t.Rows, humanBytes(t.Bytes), dates)
		rows += t.Rows
		bytes += t.Bytes
		files += t.Files
	}
	fmt.Fprintf(tw, "total\t\t%d\t%d\t%s\t\t\n", files, rows, humanBytes(bytes))
	if err := tw.Flush(); err != nil {
		return err
	}
	if out.Media > 0 {
		fmt.Fprintf(w, "\nmedia objects: %d (under _media/)\n", out.Media)
	}
	fmt.Fprintf(w, "\nruns (%d committed):\n", len(out.Runs))
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  RUN\tKIND\tSOURCE\tWINDOW\tCOMMITTED\tFILES\tROWS")
	for _, r := range out.Runs {
		src := r.Source.Kind
		if r.Source.URL != "" {
			src += " " + r.Source.URL
		}
		if r.Source.ProjectID != "" {
			src += " project " + r.Source.ProjectID
		}
		if r.Source.ServerVersion != "" {
			src += " (" + r.Source.ServerVersion + ")"
		}
		kind := r.Kind
		if r.Shard != nil {
			kind += fmt.Sprintf(" (shard %d/%d)", r.Shard.Index, r.Shard.Count)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%d\t%d\n", r.RunID, kind, src, windowString(r.Window),
			r.CommittedAt.Format(time.RFC3339), r.Files, r.Rows)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	printSelections(w, out.Runs)
	for _, r := range out.Runs {
		if rd := r.Redaction; rd != nil {
			fmt.Fprintf(w, "  run %s was redacted: policy %s", r.RunID, rd.PolicySHA256)
			if len(rd.Detectors) > 0 {
				fmt.Fprintf(w, ", detectors %s", strings.Join(rd.Detectors, ","))
			}
			if rd.HMACKeyEnv != "" {
				fmt.Fprintf(w, ", HMAC key from $%s", rd.HMACKeyEnv)
			}
			fmt.Fprintln(w)
		}
	}
	if long {
		for _, t := range out.Tables {
			fmt.Fprintf(w, "\n%s:\n", t.Name)
			for _, f := range t.Detail {
				fmt.Fprintf(w, "  %s  %d rows  %s\n", f.Path, f.Rows, humanBytes(f.Size))
			}
		}
	}
	if out.InUse != "" {
		fmt.Fprintf(w, "\nin use by %s\n", out.InUse)
	}
	for _, s := range out.InUseShards {
		fmt.Fprintf(w, "\nin use by %s\n", s)
	}
	if len(out.IncompleteShards) > 0 {
		fmt.Fprintf(w, "\nincomplete: %d sharded export(s) lack a shard (run it again, or an unsharded or incremental export of its days):\n", len(out.IncompleteShards))
		for _, s := range out.IncompleteShards {
			fmt.Fprintf(w, "  %s\n", s)
		}
	}
	if len(out.Staged) > 0 {
		fmt.Fprintf(w, "\n%d staged file(s) under %s:\n", len(out.Staged), hive.StagingDir)
		for i, s := range out.Staged {
			if i == 10 && !long {
				fmt.Fprintf(w, "  … and %d more (ls -l lists all)\n", len(out.Staged)-10)
				break
			}
			fmt.Fprintf(w, "  %s (%s)\n", s.Key, s.Reason)
		}
	}
	if len(out.Strays) > 0 {
		fmt.Fprintf(w, "\n%d object(s) in table directories are not part of the lake:\n", len(out.Strays))
		for i, s := range out.Strays {
			if i == 10 && !long {
				fmt.Fprintf(w, "  … and %d more (ls -l lists all)\n", len(out.Strays)-10)
				break
			}
			fmt.Fprintf(w, "  %s (%s)\n", s.Key, s.Reason)
		}
	}
	return nil
}

func windowString(w hive.Window) string {
	f := func(t *time.Time) string {
		if t == nil {
			return "…"
		}
		return t.UTC().Format(time.RFC3339)
	}
	if w.From == nil && w.To == nil {
		return "all"
	}
	return f(w.From) + " – " + f(w.To)
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
