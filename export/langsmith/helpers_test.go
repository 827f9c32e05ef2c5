package langsmith

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/hive"
	"github.com/lakefuse/lakefuse/internal/lsfixture"
	"github.com/lakefuse/lakefuse/schema"
)

const (
	tenant  = "11111111-2222-4333-8444-555555555555"
	project = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
	export1 = "e0000000-0000-4000-8000-000000000001"
	export2 = "e0000000-0000-4000-8000-000000000002"
)

func layout(exportID string) lsfixture.Layout {
	return lsfixture.Layout{ExportID: exportID, TenantID: tenant, SessionID: project}
}

// lakeRows is a converted lake read back.
type lakeRows struct {
	traces   map[string]schema.Trace
	obs      map[string]schema.Observation
	scores   map[string]schema.Score
	sessions map[string]schema.Session
	projects map[string]string // row id → project_id partition
	manifest *hive.Manifest
}

func readLake(t *testing.T, dst bucket.Bucket) *lakeRows {
	t.Helper()
	ctx := context.Background()
	l, err := hive.Open(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	out := &lakeRows{traces: map[string]schema.Trace{}, obs: map[string]schema.Observation{}, scores: map[string]schema.Score{},
		sessions: map[string]schema.Session{}, projects: map[string]string{}, manifest: l.Manifests[len(l.Manifests)-1]}
	check := func(table, id string, p hive.Partition) {
		if _, dup := out.projects[table+"/"+id]; dup {
			t.Fatalf("%s row %s written twice", table, id)
		}
		out.projects[table+"/"+id] = p.ProjectID
	}
	if err := hive.ScanRows(ctx, l, func(p hive.Partition, r *schema.Trace) error {
		check("traces", r.ID, p)
		out.traces[r.ID] = *r
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := hive.ScanRows(ctx, l, func(p hive.Partition, r *schema.Observation) error {
		check("observations", r.ID, p)
		out.obs[r.ID] = *r
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := hive.ScanRows(ctx, l, func(p hive.Partition, r *schema.Score) error {
		check("scores", r.ID, p)
		out.scores[r.ID] = *r
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := hive.ScanRows(ctx, l, func(p hive.Partition, r *schema.Session) error {
		check("sessions", r.ID, p)
		out.sessions[r.ID] = *r
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// convert converts src (at location) into a new memory lake.
func convert(t *testing.T, src bucket.Bucket, location string, opts Options) (*lakeRows, *Stats) {
	t.Helper()
	st, dst, err := tryConvert(src, location, opts)
	if err != nil {
		t.Fatalf("convert: %v", err)
	}
	return readLake(t, dst), st
}

func tryConvert(src bucket.Bucket, location string, opts Options) (*Stats, bucket.Bucket, error) {
	ctx := context.Background()
	c, err := Open(ctx, src, location, opts)
	if err != nil {
		return nil, nil, err
	}
	dst := bucket.NewMemory()
	run, err := hive.NewRun(ctx, dst, hive.RunOptions{Kind: "convert", Source: hive.Source{Kind: "langsmith", URL: location}})
	if err != nil {
		return nil, nil, err
	}
	st, err := c.Convert(ctx, run)
	if err != nil {
		_ = run.Abort(ctx)
		return nil, nil, err
	}
	if _, err := run.Commit(ctx); err != nil {
		return nil, nil, err
	}
	return st, dst, nil
}

func put(t *testing.T, b bucket.Bucket, key string, runs []lsfixture.Run, f lsfixture.Format) {
	t.Helper()
	if err := lsfixture.PutFile(context.Background(), b, key, runs, f); err != nil {
		t.Fatal(err)
	}
}

func generate(o lsfixture.GenOptions) []lsfixture.Run {
	var out []lsfixture.Run
	for r := range lsfixture.Generate(o) {
		out = append(out, r)
	}
	return out
}

func day(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }

// byDay splits runs by the UTC day of their start, as an export does.
func byDay(runs []lsfixture.Run) map[time.Time][]lsfixture.Run {
	out := map[time.Time][]lsfixture.Run{}
	for _, r := range runs {
		out[day(r.StartTime)] = append(out[day(r.StartTime)], r)
	}
	return out
}

func putExport(t *testing.T, b bucket.Bucket, l lsfixture.Layout, runs []lsfixture.Run, f lsfixture.Format) {
	t.Helper()
	for d, rs := range byDay(runs) {
		put(t, b, l.Key(d, 0), rs, f)
	}
}

func meta(t *testing.T, s *string) map[string]any {
	t.Helper()
	if s == nil {
		t.Fatal("no metadata")
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(*s), &m); err != nil {
		t.Fatalf("metadata %s: %v", *s, err)
	}
	return m
}

func lsMeta(t *testing.T, s *string) map[string]any {
	t.Helper()
	m, ok := meta(t, s)["langsmith"].(map[string]any)
	if !ok {
		t.Fatalf("no langsmith object in %s", *s)
	}
	return m
}

func jsonEqual(t *testing.T, what string, got *string, want string) {
	t.Helper()
	if got == nil {
		if want != "" {
			t.Errorf("%s: null, want %s", what, want)
		}
		return
	}
	var a, b any
	if err := json.Unmarshal([]byte(*got), &a); err != nil {
		t.Errorf("%s: %q is not JSON: %v", what, *got, err)
		return
	}
	if err := json.Unmarshal([]byte(want), &b); err != nil {
		t.Fatalf("%s: want %q is not JSON", what, want)
	}
	ga, _ := json.Marshal(a)
	gb, _ := json.Marshal(b)
	if !bytes.Equal(ga, gb) {
		t.Errorf("%s:\n got %s\nwant %s", what, ga, gb)
	}
}

func str(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

type readCloser struct{ io.Reader }

func (readCloser) Close() error { return nil }

func feedbackFile(data []byte) *FeedbackFile {
	return &FeedbackFile{Name: "feedback.json", Open: func(context.Context) (io.ReadCloser, error) {
		return readCloser{bytes.NewReader(data)}, nil
	}}
}
