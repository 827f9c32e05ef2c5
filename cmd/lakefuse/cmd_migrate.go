package main

import (
	"fmt"
	"strings"

	"github.com/lakefuse/lakefuse/export/lfexport"
	"github.com/lakefuse/lakefuse/hive"
	lf "github.com/lakefuse/lakefuse/internal/langfuse"
)

// migrateClient builds the client of one side of a migration; errors name
// that side's variables.
// compression is that of its OTLP requests (lf.Config.Compression).
func migrateClient(g *Globals, baseURL, pk, sk string, concurrency int, hint, compression string) (*lf.Client, error) {
	conc := map[lf.Bucket]int{}
	for _, b := range lf.Buckets() {
		conc[b] = concurrency
	}
	return lf.New(lf.Config{BaseURL: baseURL, PublicKey: pk, SecretKey: sk, Logger: g.Log, KeysHint: hint,
		UserAgent: "lakefuse/" + toolVersion(), Concurrency: conc, Compression: compression})
}

// MigrateCmd exports from one project and imports into another.
type MigrateCmd struct {
	Location string `arg:"" help:"The lake that carries the data between the projects (kept afterwards)."`

	SourcePublicKey string `name:"source-public-key" env:"LANGFUSE_SOURCE_PUBLIC_KEY" help:"Public key of the source project."`
	SourceSecretKey string `name:"source-secret-key" env:"LANGFUSE_SOURCE_SECRET_KEY" help:"Secret key of the source project; prefer the environment variable."`
	SourceHost      string `name:"source-host" env:"LANGFUSE_SOURCE_HOST,LANGFUSE_SOURCE_BASE_URL" default:"https://cloud.langfuse.com" help:"Base URL of the source."`
	DestPublicKey   string `name:"dest-public-key" env:"LANGFUSE_DEST_PUBLIC_KEY" help:"Public key of the destination project."`
	DestSecretKey   string `name:"dest-secret-key" env:"LANGFUSE_DEST_SECRET_KEY" help:"Secret key of the destination project; prefer the environment variable."`
	DestHost        string `name:"dest-host" env:"LANGFUSE_DEST_HOST,LANGFUSE_DEST_BASE_URL" default:"https://cloud.langfuse.com" help:"Base URL of the destination."`
	ImportFlags
	BucketFlags
}

// Run exports the source into LOCATION (unless a committed export of the
// source is already there: the job resumes) and imports it.
func (c *MigrateCmd) Run(g *Globals) error {
	if c.SourcePublicKey != "" && c.SourcePublicKey == c.DestPublicKey &&
		strings.TrimRight(c.SourceHost, "/") == strings.TrimRight(c.DestHost, "/") {
		return &exitError{2, fmt.Errorf("LANGFUSE_SOURCE_* and LANGFUSE_DEST_* name the same project (%s at %s): a migration needs two projects", c.SourcePublicKey, c.SourceHost)}
	}
	src, err := migrateClient(g, c.SourceHost, c.SourcePublicKey, c.SourceSecretKey, c.Concurrency, "LANGFUSE_SOURCE_PUBLIC_KEY/LANGFUSE_SOURCE_SECRET_KEY", "")
	if err != nil {
		return &exitError{2, err}
	}
	dst, err := migrateClient(g, c.DestHost, c.DestPublicKey, c.DestSecretKey, c.Concurrency, "LANGFUSE_DEST_PUBLIC_KEY/LANGFUSE_DEST_SECRET_KEY", c.Compress)
	if err != nil {
		return &exitError{2, err}
	}
	b, err := c.Open(g, c.Location)
	if err != nil {
		return err
	}
	defer b.Close()
	sp, err := src.Project(g.Ctx)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	dp, err := dst.Project(g.Ctx)
	if err != nil {
		return fmt.Errorf("destination: %w", err)
	}
	if sp.ID == dp.ID && strings.TrimRight(c.SourceHost, "/") == strings.TrimRight(c.DestHost, "/") {
		return &exitError{2, fmt.Errorf("the source and destination keys belong to the same project %q (%s): a migration needs two projects", sp.Name, sp.ID)}
	}
	exported := false
	if lake, err := hive.Load(g.Ctx, b); err == nil {
		for _, m := range lake.Manifests {
			if m.Kind == "export" && m.Source.ProjectID == sp.ID {
				exported = true
			}
		}
	}
	if exported && !c.DryRun {
		fmt.Fprintf(g.Stdout, "%s already holds a committed export of %q: continuing with the import\n", b, sp.Name)
	} else if !c.DryRun {
		fmt.Fprintf(g.Stdout, "Exporting %q (%s) from %s into %s\n", sp.Name, sp.ID, src.BaseURL(), b)
		tables, err := parseTables(c.Tables)
		if err != nil {
			return &exitError{2, err}
		}
		// The filter applies to the export too, so only what is selected
		// leaves the source; the import applies it again (a no-op).
		filter, err := c.Filter()
		if err != nil {
			return &exitError{2, err}
		}
		if err := runExport(g, b, lfexport.Options{Client: src, Tables: tables, Concurrency: c.Concurrency, Logger: g.Log,
			Tool: hive.Tool{Name: "lakefuse", Version: toolVersion()}, Filter: filter}, false); err != nil {
			return err
		}
	}
	return runImport(g, b, dst, c.ImportFlags, c.BucketFlags)
}
