//go:build duckdb

package report_test

import (
	"database/sql"
	"fmt"
	"testing"

	_ "github.com/marcboeker/go-duckdb/v2"

	"github.com/lakefuse/lakefuse/report"
)

// reference asks DuckDB for the answers, reading the lake with a plain glob
// and hive partitioning as an analyst would.
func reference(t *testing.T, dir string) *answers {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	src := func(table string) string {
		return fmt.Sprintf("read_parquet('%s/%s/**/*.parquet', hive_partitioning = true)", dir, table)
	}
	query := func(q string, scan func(r *sql.Rows) error) {
		t.Helper()
		rows, err := db.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	a := newAnswers("DuckDB")
	var day, s string
	var n int64
	var f float64
	query(`SELECT CAST(dt AS VARCHAR), count(*) FROM `+src("traces")+` GROUP BY ALL`, func(r *sql.Rows) error {
		err := r.Scan(&day, &n)
		a.traces[day] = n
		return err
	})
	names := map[string]int64{}
	query(`SELECT CASE WHEN name IS NULL THEN '`+report.Unnamed+`' WHEN name = '' THEN '`+report.EmptyName+`' ELSE name END, count(*)
		FROM `+src("traces")+` GROUP BY ALL`, func(r *sql.Rows) error {
		err := r.Scan(&s, &n)
		names[s] = n
		return err
	})
	a.traceNames = sortNames(names)
	obs := src("observations")
	query(`SELECT CAST(dt AS VARCHAR), type, count(*) FROM `+obs+` GROUP BY ALL`, func(r *sql.Rows) error {
		err := r.Scan(&day, &s, &n)
		inc(a.obsByType, day, s, n)
		a.observations += n
		return err
	})
	query(`SELECT CAST(dt AS VARCHAR), level, count(*) FROM `+obs+` GROUP BY ALL`, func(r *sql.Rows) error {
		err := r.Scan(&day, &s, &n)
		inc(a.levels, day, s, n)
		return err
	})
	query(`SELECT CAST(dt AS VARCHAR), coalesce(provided_model_name, '`+report.NoModel+`'), fsum(total_cost)
		FROM `+obs+` WHERE total_cost IS NOT NULL GROUP BY ALL`, func(r *sql.Rows) error {
		err := r.Scan(&day, &s, &f)
		inc(a.costByModel, day, s, f)
		a.cost += f
		return err
	})
	query(`SELECT CAST(dt AS VARCHAR),
		coalesce(sum(list_sum([e.value FOR e IN map_entries(usage_details) IF e.key = 'input' OR starts_with(e.key, 'input_')])), 0),
		coalesce(sum(list_sum([e.value FOR e IN map_entries(usage_details) IF e.key = 'output' OR starts_with(e.key, 'output_')])), 0)
		FROM `+obs+` GROUP BY ALL`, func(r *sql.Rows) error {
		var in, out int64
		err := r.Scan(&day, &in, &out)
		a.tokensIn[day], a.tokensOut[day] = in, out
		return err
	})
	query(`SELECT count(*) FROM `+obs+` WHERE type = 'GENERATION'`, func(r *sql.Rows) error { return r.Scan(&a.generations) })
	query(`WITH g AS (SELECT CAST(dt AS VARCHAR) AS day, greatest(0, epoch_us(end_time) - epoch_us(start_time)) AS us
			FROM `+obs+` WHERE type = 'GENERATION' AND end_time IS NOT NULL)
		SELECT day, quantile_disc(us, 0.5), quantile_disc(us, 0.9), quantile_disc(us, 0.99) FROM g GROUP BY ALL`, func(r *sql.Rows) error {
		var p50, p90, p99 int64
		err := r.Scan(&day, &p50, &p90, &p99)
		a.latencyMs[day] = [3]float64{float64(p50) / 1000, float64(p90) / 1000, float64(p99) / 1000}
		return err
	})
	scores := src("scores")
	query(`SELECT name, count(*) FROM `+scores+` GROUP BY ALL`, func(r *sql.Rows) error {
		err := r.Scan(&s, &n)
		a.scoreCount[s] = n
		return err
	})
	query(`SELECT name, value FROM `+scores+` WHERE data_type = 'NUMERIC' AND value IS NOT NULL`, func(r *sql.Rows) error {
		err := r.Scan(&s, &f)
		a.scoreValues[s] = append(a.scoreValues[s], f)
		return err
	})
	query(`SELECT name, coalesce(string_value, CAST(value AS VARCHAR), '`+report.Unnamed+`'), count(*) FROM `+scores+`
		WHERE data_type IN ('BOOLEAN', 'CATEGORICAL') GROUP BY ALL`, func(r *sql.Rows) error {
		var v string
		err := r.Scan(&s, &v, &n)
		inc(a.scoreCats, s, v, n)
		return err
	})
	return a
}
