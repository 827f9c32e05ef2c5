//go:build duckdb

package duckdbtest

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/export/lfexport"
	lf "github.com/lakefuse/lakefuse/internal/langfuse"
	"github.com/lakefuse/lakefuse/internal/lftest"
	"github.com/lakefuse/lakefuse/internal/lftest/lftesting"
	"github.com/lakefuse/lakefuse/internal/selection"
)

func exportTo(t *testing.T, dir string, c *lf.Client, o lfexport.Options) {
	t.Helper()
	b, err := bucket.Open(context.Background(), dir, bucket.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o.Client = c
	o.Now = func() time.Time { return lftest.DefaultEnd.Add(time.Hour) }
	if _, err := lfexport.Export(context.Background(), b, o); err != nil {
		t.Fatal(err)
	}
}

// TestDuckDBSelectedLake reads a filtered export without io and metadata
// with DuckDB: the traces are exactly those a SQL version of the filter
// picks from a full export of the same project (any row of a trace counts),
// nothing in the lake points at a trace that is not there, and the left-out
// columns exist and are null.
func TestDuckDBSelectedLake(t *testing.T) {
	for _, mode := range []lftest.Mode{lftest.V4, lftest.V3} {
		t.Run(mode.String(), func(t *testing.T) {
			s, k := lftesting.ServeProject(t, lftest.Options{Mode: mode}, lftest.Generate(7, lftest.SizeSmall))
			c, err := lf.New(lf.Config{BaseURL: s.URL(), PublicKey: k.PublicKey, SecretKey: k.SecretKey})
			if err != nil {
				t.Fatal(err)
			}
			full, sel := filepath.Join(t.TempDir(), "full"), filepath.Join(t.TempDir(), "sel")
			exportTo(t, full, c, lfexport.Options{})
			f := &selection.Filter{UserIDs: []string{"user-1", "bob"}, Levels: []string{"ERROR", "WARNING"}, TagsAny: []string{"prod", "タグ"}}
			exportTo(t, sel, c, lfexport.Options{Filter: f, OmitFields: []string{"io", "metadata"}})
			db := open(t)
			q := func(query string, args ...any) int64 {
				t.Helper()
				var n int64
				if err := db.QueryRow(fmt.Sprintf(query, args...)).Scan(&n); err != nil {
					t.Fatalf("%s: %v", query, err)
				}
				return n
			}
			ft, fo := glob(full, "traces"), glob(full, "observations")
			want := fmt.Sprintf(`SELECT id FROM %[1]s t WHERE
				(t.user_id IN ('user-1','bob') OR EXISTS (SELECT 1 FROM %[2]s o WHERE o.trace_id = t.id AND o.user_id IN ('user-1','bob')))
				AND EXISTS (SELECT 1 FROM %[2]s o WHERE o.trace_id = t.id AND o.level IN ('ERROR','WARNING'))
				AND (list_has_any(t.tags, ['prod','タグ']) OR EXISTS (SELECT 1 FROM %[2]s o WHERE o.trace_id = t.id AND list_has_any(o.tags, ['prod','タグ'])))`, ft, fo)
			st, so := glob(sel, "traces"), glob(sel, "observations")
			nWant := q("SELECT count(*) FROM (%s)", want)
			if nWant == 0 || nWant == q("SELECT count(*) FROM %s", ft) {
				t.Fatalf("the filter selects %d traces: not a test", nWant)
			}
			if d := q("SELECT count(*) FROM ((%s) EXCEPT (SELECT id FROM %s))", want, st) + q("SELECT count(*) FROM ((SELECT id FROM %s) EXCEPT (%s))", st, want); d != 0 {
				t.Errorf("%d traces differ from the SQL selection", d)
			}
			if got, w := q("SELECT count(*) FROM %s", so), q("SELECT count(*) FROM %s WHERE trace_id IN (%s)", fo, want); got != w {
				t.Errorf("%d observations, want every one of the selected traces: %d", got, w)
			}
			for name, query := range map[string]string{
				"observations without their trace": fmt.Sprintf("SELECT count(*) FROM %s WHERE trace_id NOT IN (SELECT id FROM %s)", so, st),
				"scores on other traces": fmt.Sprintf("SELECT count(*) FROM %s WHERE trace_id IS NOT NULL AND trace_id NOT IN (SELECT id FROM %s)",
					glob(sel, "scores"), st),
				"comments on other observations": fmt.Sprintf("SELECT count(*) FROM %s WHERE object_type = 'OBSERVATION' AND object_id NOT IN (SELECT id FROM %s)",
					glob(sel, "comments"), so),
				"media of other traces": fmt.Sprintf("SELECT count(*) FROM %s WHERE dataset_item_id IS NULL AND trace_id NOT IN (SELECT id FROM %s)",
					glob(sel, "media"), st),
				"io or metadata in observations": fmt.Sprintf("SELECT count(input) + count(output) + count(metadata) FROM %s", so),
				"io or metadata in traces":       fmt.Sprintf("SELECT count(input) + count(output) + count(metadata) FROM %s", st),
			} {
				if n := q("%s", query); n != 0 {
					t.Errorf("%s: %d", name, n)
				}
			}
			if q("SELECT count(start_time) FROM %s", so) == 0 || q("SELECT count(usage_details) FROM %s", so) == 0 {
				t.Errorf("kept groups are empty too")
			}
			types := describe(t, db, so)
			for _, c := range []string{"input", "output", "metadata"} {
				if types[c] == "" {
					t.Errorf("column %s is gone from observations; it must stay, null", c)
				}
			}
		})
	}
}
