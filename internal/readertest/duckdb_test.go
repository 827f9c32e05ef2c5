//go:build duckdb

package readertest

import (
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	_ "github.com/marcboeker/go-duckdb/v2"
)

func init() { extraReaders["duckdb"] = fromDuckDB }

// fromDuckDB reads each table the way the README tells analysts to:
// read_parquet over a glob with hive_partitioning.
func fromDuckDB(t *testing.T, dir string, specs []tableSpec) map[string]summary {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	out := map[string]summary{}
	for _, s := range specs {
		src := fmt.Sprintf("read_parquet('%s/%s/**/*.parquet', hive_partitioning = true)", dir, s.Name)
		var sum summary
		rows, err := db.Query("DESCRIBE SELECT * FROM " + src)
		if err != nil {
			out[s.Name] = summary{Error: err.Error()}
			continue
		}
		for rows.Next() {
			var name, typ string
			var null, key, def, extra sql.NullString
			if err := rows.Scan(&name, &typ, &null, &key, &def, &extra); err != nil {
				t.Fatal(err)
			}
			sum.Columns = append(sum.Columns, name)
			if name == s.JSON && typ != "JSON" {
				t.Errorf("DuckDB reads %s.%s as %s, want JSON", s.Name, name, typ)
			}
		}
		rows.Close()
		slices.Sort(sum.Columns)
		var projects string
		if err := db.QueryRow("SELECT count(*), coalesce(string_agg(DISTINCT project_id, chr(31) ORDER BY project_id), '') FROM "+src).Scan(&sum.Rows, &projects); err != nil {
			t.Fatal(err)
		}
		if projects != "" {
			sum.Projects = strings.Split(projects, "\x1f")
		}
		var parts []string
		for _, k := range s.Key {
			parts = append(parts, fmt.Sprintf("coalesce(CAST(%s AS VARCHAR), '')", k))
		}
		key := "concat_ws(chr(31), " + strings.Join(parts, ", ") + ")"
		cols := []string{key}
		cols = append(cols, orNull(s.JSON, "CAST(%s AS VARCHAR)"), orNull(s.Time, "CAST(epoch_ms(%s) AS VARCHAR)"))
		if s.Partitioned {
			cols = append(cols, "strftime(dt, '%Y-%m-%d')")
		} else {
			cols = append(cols, "NULL")
		}
		q := fmt.Sprintf("SELECT %s FROM %s ORDER BY %s COLLATE \"binary\" LIMIT 1", strings.Join(cols, ", "), src, key)
		if sum.Rows > 0 {
			if err := db.QueryRow(q).Scan(&sum.Key, &sum.JSON, &sum.Time, &sum.Dt); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		out[s.Name] = sum
	}
	return out
}

func orNull(col, format string) string {
	if col == "" {
		return "NULL"
	}
	return fmt.Sprintf(format, col)
}
