package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/lakefuse/lakefuse/schema"
)

// SchemaCmd shows tables and columns.
type SchemaCmd struct {
	Table string `arg:"" optional:"" help:"Show only this table."`
	JSON  bool   `help:"Print JSON."`
}

func schemaVersion() int { return schema.Version }

type schemaColumnJSON struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Nullable bool   `json:"nullable"`
	JSON     bool   `json:"json"`
	Doc      string `json:"doc"`
}

type schemaTableJSON struct {
	Name        string             `json:"name"`
	Doc         string             `json:"doc"`
	Partitions  []string           `json:"partitions"`
	TimeColumn  string             `json:"time_column,omitempty"`
	Key         []string           `json:"key"`
	Columns     []schemaColumnJSON `json:"columns"`
	PathPattern string             `json:"path_pattern"`
}

// Run prints the schema.
func (c *SchemaCmd) Run(g *Globals) error {
	tables := schema.Tables()
	if c.Table != "" {
		t, err := schema.Lookup(c.Table)
		if err != nil {
			return err
		}
		tables = []*schema.Table{t}
	}
	if c.JSON {
		out := struct {
			SchemaVersion int               `json:"schema_version"`
			Tables        []schemaTableJSON `json:"tables"`
		}{SchemaVersion: schema.Version}
		for _, t := range tables {
			tj := schemaTableJSON{Name: t.Name, Doc: t.Doc, TimeColumn: t.TimeColumn, Key: t.Key, Partitions: []string{"project_id"},
				PathPattern: t.Name + "/project_id=<id>/part-<run>-<seq>.parquet"}
			if t.Partitioned() {
				tj.Partitions = append(tj.Partitions, "dt")
				tj.PathPattern = t.Name + "/project_id=<id>/dt=<YYYY-MM-DD>/part-<run>-<seq>.parquet"
			}
			for _, col := range t.Columns {
				tj.Columns = append(tj.Columns, schemaColumnJSON{Name: col.Name, Type: schema.TypeName(col), Nullable: col.Nullable, JSON: col.JSON, Doc: col.Doc})
			}
			out.Tables = append(out.Tables, tj)
		}
		enc := json.NewEncoder(g.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	if c.Table == "" {
		fmt.Fprintf(g.Stdout, "lake schema version %d: %d tables (lakefuse schema TABLE for columns)\n\n", schema.Version, len(tables))
		tw := tabwriter.NewWriter(g.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TABLE\tPARTITIONS\tCOLUMNS\tKEY")
		for _, t := range tables {
			parts := "project_id"
			if t.Partitioned() {
				parts += ", dt (" + t.TimeColumn + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%v\n", t.Name, parts, len(t.Columns), t.Key)
		}
		return tw.Flush()
	}
	t := tables[0]
	fmt.Fprintf(g.Stdout, "%s: %s\n\n", t.Name, t.Doc)
	tw := tabwriter.NewWriter(g.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COLUMN\tTYPE\tNULL\tDESCRIPTION")
	for _, col := range t.Columns {
		null := "no"
		if col.Nullable {
			null = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", col.Name, schema.TypeName(col), null, col.Doc)
	}
	return tw.Flush()
}
