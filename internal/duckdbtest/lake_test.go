//go:build duckdb

package duckdbtest

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/marcboeker/go-duckdb/v2"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/hive"
	"github.com/lakefuse/lakefuse/internal/sample"
	"github.com/lakefuse/lakefuse/schema"
)

// hostile is a project id that must survive Hive escaping and DuckDB's
// decoding unchanged.
const hostile = "../proj/a=b 50% 日本🎉"

func writeLake(t *testing.T) (string, *hive.Manifest) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "lake")
	ctx := context.Background()
	b, err := bucket.Open(ctx, dir, bucket.Options{})
	if err != nil {
		t.Fatal(err)
	}
	run, err := hive.NewRun(ctx, b, hive.RunOptions{Kind: "test"})
	if err != nil {
		t.Fatal(err)
	}
	opts := sample.Options{PayloadBytes: 300, Step: 37 * time.Minute}
	if err := sample.Write(ctx, run, "proj-1", 120, opts); err != nil {
		t.Fatal(err)
	}
	if err := sample.Write(ctx, run, hostile, 30, opts); err != nil {
		t.Fatal(err)
	}
	m, err := run.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return dir, m
}

func open(t *testing.T) *sql.DB {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func glob(dir, table string) string {
	return fmt.Sprintf("read_parquet('%s/%s/**/*.parquet', hive_partitioning = true)", dir, table)
}

func TestDuckDBReadsEveryTable(t *testing.T) {
	dir, m := writeLake(t)
	db := open(t)
	for _, tbl := range schema.Tables() {
		t.Run(tbl.Name, func(t *testing.T) {
			src := glob(dir, tbl.Name)
			var n int64
			if err := db.QueryRow("SELECT count(*) FROM " + src).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if want := m.Tables[tbl.Name].Rows; n != want {
				t.Fatalf("DuckDB counts %d rows, manifest says %d", n, want)
			}
			types := describe(t, db, src)
			if types["project_id"] != "VARCHAR" {
				t.Errorf("project_id is %s, want VARCHAR", types["project_id"])
			}
			if tbl.Partitioned() {
				if types["dt"] != "DATE" {
					t.Errorf("dt is %s, want DATE", types["dt"])
				}
				// dt is the UTC date of the time column.
				var bad int64
				q := fmt.Sprintf("SELECT count(*) FROM %s WHERE dt <> CAST(timezone('UTC', %s) AS DATE)", src, tbl.TimeColumn)
				if err := db.QueryRow(q).Scan(&bad); err != nil || bad != 0 {
					t.Errorf("%d rows whose dt is not the UTC date of %s (%v)", bad, tbl.TimeColumn, err)
				}
			} else if _, ok := types["dt"]; ok {
				t.Errorf("snapshot table has a dt column")
			}
			for _, c := range tbl.Columns {
				got := types[c.Name]
				switch {
				case c.Type == schema.TimestampType && got != "TIMESTAMP WITH TIME ZONE":
					t.Errorf("%s is %s, want TIMESTAMP WITH TIME ZONE", c.Name, got)
				case c.JSON && got != "JSON":
					t.Errorf("%s is %s, want JSON", c.Name, got)
				}
				if got == "" {
					t.Errorf("column %s missing in DuckDB", c.Name)
				}
			}
			var projects []string
			rows, err := db.Query("SELECT DISTINCT project_id FROM " + src + " ORDER BY 1")
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var p string
				_ = rows.Scan(&p)
				projects = append(projects, p)
			}
			rows.Close()
			if strings.Join(projects, "|") != strings.Join([]string{hostile, "proj-1"}, "|") {
				t.Errorf("project ids %q, want %q and proj-1", projects, hostile)
			}
		})
	}
}

func describe(t *testing.T, db *sql.DB, src string) map[string]string {
	t.Helper()
	rows, err := db.Query("DESCRIBE SELECT * FROM " + src)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	out := map[string]string{}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out[fmt.Sprint(vals[0])] = fmt.Sprint(vals[1])
	}
	return out
}

func TestDuckDBQueriesJSON(t *testing.T) {
	dir, _ := writeLake(t)
	db := open(t)
	var text string
	var nested int64
	q := "SELECT input->>'text', CAST(input->'nested'->'list'->>0 AS BIGINT) FROM " + glob(dir, "observations") + " WHERE input IS NOT NULL LIMIT 1"
	if err := db.QueryRow(q).Scan(&text, &nested); err != nil {
		t.Fatal(err)
	}
	if text != `こんにちは 🎉 "quoted"` || nested != 1 {
		t.Fatalf("input->>'text' = %q, nested = %d", text, nested)
	}
	// Maps and lists as Langfuse keys them.
	var input int64
	var tag string
	q = "SELECT usage_details['total'] - usage_details['output'], tags[1] FROM " + glob(dir, "observations") + " WHERE usage_details IS NOT NULL LIMIT 1"
	if err := db.QueryRow(q).Scan(&input, &tag); err != nil {
		t.Fatal(err)
	}
	if tag != "tag-a" {
		t.Fatalf("tags[1] = %q", tag)
	}
	// A time-window query prunes by dt and reads timestamps in UTC.
	var n int64
	q = "SELECT count(*) FROM " + glob(dir, "traces") + " WHERE dt = DATE '2026-03-01' AND timestamp < TIMESTAMPTZ '2026-03-02 00:00:00+00'"
	if err := db.QueryRow(q).Scan(&n); err != nil || n == 0 {
		t.Fatalf("dt query: %d rows, %v", n, err)
	}
}
