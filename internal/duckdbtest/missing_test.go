//go:build !duckdb

package duckdbtest

import (
	"os"
	"testing"
)

func TestDuckDB(t *testing.T) {
	if os.Getenv("CI") == "true" {
		t.Fatal("DuckDB tests were not built: run go test with -tags duckdb (see README)")
	}
	t.Skip("DuckDB tests need -tags duckdb (cgo, builds DuckDB once, about 2 minutes)")
}
