//go:build duckdb

package langsmith

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/marcboeker/go-duckdb/v2"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/hive"
	"github.com/lakefuse/lakefuse/internal/lsfixture"
)

// TestDuckDBQueries runs the queries of docs/langsmith.md on a converted
// lake with a real DuckDB.
func TestDuckDBQueries(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "lake")
	src := bucket.NewMemory()
	ex, err := lsfixture.Examples(tenant, project)
	if err != nil {
		t.Fatal(err)
	}
	runs := append(ex, generate(lsfixture.GenOptions{Seed: 47, Runs: 800, Threads: 3, TraceEvery: time.Hour, SessionID: project, TenantID: tenant})...)
	putExport(t, src, layout(export1), runs, lsfixture.V1())
	c, err := Open(ctx, src, "mem://src", Options{})
	if err != nil {
		t.Fatal(err)
	}
	dst, err := bucket.Open(ctx, dir, bucket.Options{})
	if err != nil {
		t.Fatal(err)
	}
	run, err := hive.NewRun(ctx, dst, hive.RunOptions{Kind: "convert"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Convert(ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := run.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	obs := "read_parquet('" + dir + "/observations/**/*.parquet', hive_partitioning = true)"
	traces := "read_parquet('" + dir + "/traces/**/*.parquet', hive_partitioning = true)"

	var n, days int64
	if err := db.QueryRow(`SELECT sum(n), count(DISTINCT dt) FROM (SELECT dt, type, count(*) AS n FROM `+obs+` GROUP BY ALL)`).Scan(&n, &days); err != nil {
		t.Fatal(err)
	}
	if n != st.Observations || days < 2 {
		t.Fatalf("%d observations over %d days, want %d", n, days, st.Observations)
	}

	var model string
	var input, output int64
	var usd float64
	err = db.QueryRow(`SELECT provided_model_name AS model, sum(usage_details['input']) AS input, sum(usage_details['output']) AS output, sum(total_cost) AS usd
		FROM `+obs+` WHERE type IN ('GENERATION', 'EMBEDDING') AND provided_model_name = 'gpt-4o-mini' GROUP BY ALL ORDER BY usd DESC`).Scan(&model, &input, &output, &usd)
	if err != nil {
		t.Fatal(err)
	}
	var wantIn, wantOut int64
	for _, r := range runs {
		if r.RunType == "llm" && r.PromptTokens != nil && r.Extra != nil && strings.Contains(*r.Extra, `"ls_model_name":"gpt-4o-mini"`) {
			wantIn += *r.PromptTokens - *r.PromptTokens/2
			wantOut += *r.CompletionTokens
		}
	}
	if wantIn == 0 || input < wantIn || output < wantOut || usd <= 0 {
		t.Fatalf("%s: input %d output %d usd %v; want at least %d, %d", model, input, output, usd, wantIn, wantOut)
	}

	rows, err := db.Query(`SELECT id, json_extract_string(metadata, '$.langsmith.run_id') AS run_id, json_extract_string(metadata, '$.langsmith.parent_run_id') AS parent_run_id
		FROM ` + obs + ` WHERE json_extract_string(metadata, '$.langsmith.orphan') = 'true'`)
	if err != nil {
		t.Fatal(err)
	}
	var orphans []string
	for rows.Next() {
		var id, runID, parent string
		if err := rows.Scan(&id, &runID, &parent); err != nil {
			t.Fatal(err)
		}
		orphans = append(orphans, runID)
		if id != spanHex(runID) || parent == "" {
			t.Errorf("orphan %s %s %s", id, runID, parent)
		}
	}
	if len(orphans) != 1 || orphans[0] != lsfixture.ExampleFormatRunID {
		t.Fatalf("orphans %v", orphans)
	}

	var sessions int64
	if err := db.QueryRow(`SELECT count(*) FROM (SELECT session_id, count(*) AS traces, min(timestamp) AS first FROM ` + traces + ` WHERE session_id IS NOT NULL GROUP BY ALL)`).Scan(&sessions); err != nil {
		t.Fatal(err)
	}
	if sessions != 3 {
		t.Fatalf("%d sessions", sessions)
	}
	var partitionProject string
	if err := db.QueryRow(`SELECT DISTINCT project_id FROM ` + traces).Scan(&partitionProject); err != nil || partitionProject != project {
		t.Fatalf("project_id %q: %v", partitionProject, err)
	}
}
