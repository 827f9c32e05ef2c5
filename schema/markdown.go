package schema

import (
	"fmt"
	"regexp"
	"strings"
)

// Markdown renders the lake's schema reference, docs/schema.md, from the
// table definitions.
func Markdown() string {
	var b strings.Builder
	b.WriteString("# Lake schema\n\n")
	b.WriteString("<!-- Generated from package schema by `go test ./schema -run TestSchemaDoc -update`. Do not edit. -->\n\n")
	fmt.Fprintf(&b, "Schema version: **%d**. Every Parquet file stores it under the key/value metadata key `%s` "+
		"(and its table name under `%s`); every manifest records it too.\n\n", Version, MetaSchemaVersion, MetaTable)

	b.WriteString("## Layout\n\n")
	b.WriteString("```\n")
	b.WriteString("<location>/\n")
	b.WriteString("  <table>/project_id=<id>/dt=YYYY-MM-DD/part-<run>-<seq>.parquet   time-partitioned tables\n")
	b.WriteString("  <table>/project_id=<id>/part-<run>-<seq>.parquet                 snapshot tables\n")
	b.WriteString("  _media/<media id>                                                 media bytes\n")
	b.WriteString("  _lakefuse/...                                                     manifests, checkpoints, import ledgers\n")
	b.WriteString("```\n\n")
	b.WriteString("- `project_id` and `dt` are Hive partition keys, present only in the path, never as columns. " +
		"`dt` is the UTC date of the table's time column; DuckDB, BigQuery and Spark read it as a DATE.\n")
	b.WriteString("- Read a table with a glob, e.g. `read_parquet('<location>/observations/**/*.parquet', hive_partitioning=true)`.\n")
	b.WriteString("- Column names are the Langfuse API's field names in snake_case. Ids are strings.\n")
	b.WriteString("- `TIMESTAMP(MICROS, UTC)` is Parquet `TIMESTAMP(MICROS, isAdjustedToUTC=true)`.\n")
	b.WriteString("- `STRING (JSON)` columns hold the API's JSON value verbatim as text, with the Parquet JSON logical type; " +
		"a JSON null is a SQL NULL.\n")
	b.WriteString("- A nullable column is null when the source did not return the field; null and empty string are distinct. " +
		"List and map columns are null when the source returned null or nothing, and empty when it returned an empty list or object.\n")
	b.WriteString("- Types, levels and data types keep Langfuse's upper-case values (`GENERATION`, `ERROR`, `NUMERIC`).\n\n")

	b.WriteString("## Tables\n\n")
	b.WriteString("| table | partitioned by | key | columns |\n")
	b.WriteString("|---|---|---|---|\n")
	for _, t := range Tables() {
		fmt.Fprintf(&b, "| [`%s`](#%s) | %s | %s | %d |\n", t.Name, t.Name, partitioning(t), codeList(t.Key), len(t.Columns))
	}
	b.WriteString("\n")

	for _, t := range Tables() {
		fmt.Fprintf(&b, "## %s\n\n", t.Name)
		b.WriteString(text(t.Doc))
		b.WriteString("\n\n")
		if t.Partitioned() {
			fmt.Fprintf(&b, "- Path: `%s/project_id=<id>/dt=YYYY-MM-DD/part-<run>-<seq>.parquet`, dt = UTC date of `%s`\n", t.Name, t.TimeColumn)
		} else {
			fmt.Fprintf(&b, "- Path: `%s/project_id=<id>/part-<run>-<seq>.parquet` (snapshot)\n", t.Name)
		}
		fmt.Fprintf(&b, "- Key: %s\n\n", codeList(t.Key))
		b.WriteString("| column | type | nullable | description |\n")
		b.WriteString("|---|---|---|---|\n")
		for _, c := range t.Columns {
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", c.Name, TypeName(c), nullability(c), cell(c.Doc))
		}
		b.WriteString("\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func partitioning(t *Table) string {
	if t.Partitioned() {
		return "`dt` of `" + t.TimeColumn + "`"
	}
	return "snapshot"
}

func nullability(c Column) string {
	switch {
	case c.Nullable:
		return "yes"
	}
	return "no"
}

func codeList(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = "`" + n + "`"
	}
	return strings.Join(quoted, ", ")
}

// text escapes prose so that Markdown shows it literally: <id> is not an
// HTML tag, and _media at the start of a word does not open emphasis.
func text(s string) string {
	s = strings.NewReplacer("<", "&lt;", ">", "&gt;").Replace(s)
	return wordUnderscore.ReplaceAllString(s, `$1\_`)
}

var wordUnderscore = regexp.MustCompile(`(^|[\s(])_`)

// cell escapes text for a Markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(text(s), "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}
