package langsmith

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/internal/lsfixture"
)

const project2 = "bbbbbbbb-bbbb-4ccc-8ddd-eeeeeeeeeeee"

// TestSourceLevels converts from every level of the layout, on disk, with
// both path spellings, padded and unpadded numbers, several exports and
// projects, and objects that are not run files.
func TestSourceLevels(t *testing.T) {
	ctx := t.Context()
	root := t.TempDir()
	b, err := bucket.Open(ctx, root, bucket.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := generate(lsfixture.GenOptions{Seed: 29, Runs: 150, TraceEvery: 3 * time.Hour, SessionID: project, TenantID: tenant})
	cs := generate(lsfixture.GenOptions{Seed: 31, Runs: 100, TraceEvery: 3 * time.Hour, SessionID: project, TenantID: tenant, Start: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)})
	p2 := generate(lsfixture.GenOptions{Seed: 37, Runs: 60, SessionID: project2, TenantID: tenant})
	la := lsfixture.Layout{ExportID: export1, TenantID: tenant, SessionID: project, Padded: true}
	lc := lsfixture.Layout{ExportID: export2, TenantID: tenant, SessionID: project, Resource: true}
	lp := lsfixture.Layout{ExportID: export2, TenantID: tenant, SessionID: project2, Resource: true}
	// Several files per day in the first export.
	for d, rs := range byDay(a) {
		half := len(rs) / 2
		put(t, b, la.Key(d, 0), rs[:half], lsfixture.V1())
		put(t, b, la.Key(d, 1), rs[half:], lsfixture.V1())
	}
	putExport(t, b, lc, cs, lsfixture.V2Beta())
	putExport(t, b, lp, p2, lsfixture.V2Beta())
	valid := parquetBytes(t, a[:3], lsfixture.V1())
	putBytes(t, b, "tmp/lakefuse-validation.parquet", valid)
	putBytes(t, b, "export_id="+export1+"/README.txt", []byte("notes"))
	putBytes(t, b, "export_id="+export1+"/tenant_id="+tenant+"/session_id="+project+"/resource=feedback/year=2026/month=3/day=1/f.parquet", valid)

	first := day(a[0].StartTime)
	firstDay := 0
	for _, r := range a {
		if day(r.StartTime).Equal(first) {
			firstDay++
		}
	}
	sessionDir := filepath.Join(root, "export_id="+export1, "tenant_id="+tenant, "session_id="+project)
	cases := []struct {
		dir      string
		runs     int
		projects []string
		ignored  int
	}{
		{root, len(a) + len(cs) + len(p2), []string{project, project2}, 3},
		{filepath.Join(root, "export_id="+export1), len(a), []string{project}, 2},
		{filepath.Join(root, "export_id="+export2), len(cs) + len(p2), []string{project, project2}, 0},
		{filepath.Join(root, "export_id="+export1, "tenant_id="+tenant), len(a), []string{project}, 1},
		{sessionDir, len(a), []string{project}, 1},
		{filepath.Join(sessionDir, "runs"), len(a), []string{project}, 0},
		{filepath.Join(sessionDir, "runs", "year=2026"), len(a), []string{project}, 0},
		{filepath.Join(sessionDir, "runs", "year=2026", "month=03"), len(a), []string{project}, 0},
		{filepath.Join(sessionDir, "runs", "year=2026", "month=03", fmt.Sprintf("day=%02d", first.Day())), firstDay, []string{project}, 0},
	}
	all := append(append(append([]lsfixture.Run{}, a...), cs...), p2...)
	for _, tc := range cases {
		rel, _ := filepath.Rel(root, tc.dir)
		t.Run(rel, func(t *testing.T) {
			src, err := bucket.Open(ctx, tc.dir, bucket.Options{})
			if err != nil {
				t.Fatal(err)
			}
			l, st := convert(t, src, tc.dir, Options{})
			if int(st.Runs) != tc.runs || len(l.obs) != tc.runs || st.Ignored != tc.ignored {
				t.Fatalf("%d runs, %d ignored; want %d, %d", st.Runs, st.Ignored, tc.runs, tc.ignored)
			}
			if fmt.Sprint(st.Projects) != fmt.Sprint(tc.projects) || fmt.Sprint(st.Tenants) != fmt.Sprint([]string{tenant}) {
				t.Fatalf("projects %v tenants %v", st.Projects, st.Tenants)
			}
			for _, r := range all {
				o, ok := l.obs[spanHex(r.ID)]
				if !ok {
					continue
				}
				if got := l.projects["observations/"+o.ID]; got != r.SessionID {
					t.Fatalf("run %s in project %s, want %s", r.ID, got, r.SessionID)
				}
			}
		})
	}
}

func TestParsePath(t *testing.T) {
	var p pathInfo
	if err := parsePath("pre/fix/export_id=e1/tenant_id=t%2F1/session_id=s/resource=runs/year=2026/month=3/day=09/x.parquet", &p); err != nil {
		t.Fatal(err)
	}
	if p.exportID != "e1" || p.tenantID != "t/1" || p.sessionID != "s" || p.resource != "runs" || p.year != 2026 || p.month != 3 || p.day != 9 || p.tmp {
		t.Fatalf("%+v", p)
	}
	if err := parsePath("year=twenty", &p); err == nil {
		t.Fatal("year=twenty parsed")
	}
	if got := locationPath("s3://bucket/a/export_id=e/x"); got != "a/export_id=e/x" {
		t.Fatal(got)
	}
	if got := locationPath("/data/export_id=e"); got != "/data/export_id=e" {
		t.Fatal(got)
	}
}
