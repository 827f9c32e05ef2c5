package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/export/lfexport"
	"github.com/lakefuse/lakefuse/hive"
	lf "github.com/lakefuse/lakefuse/internal/langfuse"
	"github.com/lakefuse/lakefuse/internal/lftest"
	"github.com/lakefuse/lakefuse/internal/lsfixture"
	"github.com/lakefuse/lakefuse/internal/miniotest"
	"github.com/lakefuse/lakefuse/schema"
)

const (
	lsTenant  = "11111111-2222-4333-8444-555555555555"
	lsProject = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
	lsExport  = "e0000000-0000-4000-8000-000000000001"
)

// writeLSExport writes the public examples and generated runs as a
// bulk export under location and returns the number of runs.
func writeLSExport(t *testing.T, location string, opts bucket.Options) int {
	t.Helper()
	ctx := context.Background()
	b, err := bucket.Open(ctx, location, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	runs, err := lsfixture.Examples(lsTenant, lsProject)
	if err != nil {
		t.Fatal(err)
	}
	for r := range lsfixture.Generate(lsfixture.GenOptions{Seed: 1, Runs: 400, SessionID: lsProject, TenantID: lsTenant, Threads: 2, StreamTokens: 5, TraceEvery: 2 * time.Hour}) {
		runs = append(runs, r)
	}
	st, err := lsfixture.WriteExport(ctx, b, func(yield func(lsfixture.Run) bool) {
		for _, r := range runs {
			if !yield(r) {
				return
			}
		}
	}, lsfixture.ExportOptions{Layout: lsfixture.Layout{Prefix: "exports", ExportID: lsExport, TenantID: lsTenant, SessionID: lsProject}, Format: lsfixture.V1()})
	if err != nil {
		t.Fatal(err)
	}
	return st.Runs
}

func lsLakeRows(t *testing.T, location string, table string) int64 {
	t.Helper()
	b, err := bucket.Open(context.Background(), location, bucket.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	l, err := hive.Open(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	return l.Rows(table)
}

func TestConvertLangsmith(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "bucket")
	n := writeLSExport(t, src, bucket.Options{})
	lake := filepath.Join(dir, "lake")

	code, out, errOut := run(t, "convert", "langsmith", src+"/exports", lake)
	if code != 0 {
		t.Fatalf("convert: %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"runs read", "duplicates dropped", "orphans", "1 (parent in no export", "rows written", "observations", "langsmith " + src + "/exports"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if got := lsLakeRows(t, lake, "observations"); got != int64(n) {
		t.Fatalf("%d observations, want %d", got, n)
	}

	// Converting the same projects again would duplicate them.
	code, _, errOut = run(t, "convert", "langsmith", src+"/exports", lake)
	if code != 1 || !strings.Contains(errOut, "--replace") || !strings.Contains(errOut, "converted them before") {
		t.Fatalf("second convert: %d %s", code, errOut)
	}
	code, out, errOut = run(t, "convert", "langsmith", src+"/exports", lake, "--replace", "--json")
	if code != 0 {
		t.Fatalf("convert --replace: %d %s", code, errOut)
	}
	var js struct {
		Conversion struct {
			Runs     int64    `json:"runs_converted"`
			Projects []string `json:"projects"`
		} `json:"conversion"`
		Lake struct {
			Runs []struct {
				Kind string `json:"kind"`
			} `json:"runs"`
		} `json:"lake"`
	}
	if err := json.Unmarshal([]byte(out), &js); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if js.Conversion.Runs != int64(n) || len(js.Conversion.Projects) != 1 || len(js.Lake.Runs) != 2 {
		t.Fatalf("json %+v", js)
	}
	if got := lsLakeRows(t, lake, "observations"); got != int64(n) {
		t.Fatalf("%d observations after --replace, want %d", got, n)
	}
}

func TestConvertLangsmithFeedback(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "bucket")
	writeLSExport(t, src, bucket.Options{})
	fb := filepath.Join(dir, "feedback.jsonl")
	rec := `{"id":"f1","created_at":"2024-10-12T00:00:00","run_id":"` + lsfixture.ExampleOpenAIRunID + `","session_id":"` + lsProject + `","key":"helpful","score":1,"feedback_source":{"type":"app"}}`
	if err := os.WriteFile(fb, []byte(string(lsfixture.FeedbackExample())+"\n"+rec+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	lake := filepath.Join(dir, "lake")
	code, out, errOut := run(t, "convert", "langsmith", src, lake, "--feedback", fb)
	if code != 0 {
		t.Fatalf("convert: %d %s", code, errOut)
	}
	// The documented record's run is not in the export and it has no
	// trace_id: it is reported, not converted.
	if !strings.Contains(out, "2 read, 1 scores") || !strings.Contains(out, "1 skipped: its run is not in the export") {
		t.Fatalf("summary:\n%s", out)
	}
	if got := lsLakeRows(t, lake, "scores"); got != 1 {
		t.Fatalf("%d scores", got)
	}
	code, _, errOut = run(t, "convert", "langsmith", src, filepath.Join(dir, "lake2"), "--feedback", filepath.Join(dir, "missing.json"))
	if code != 1 || !strings.Contains(errOut, "missing.json") {
		t.Fatalf("missing feedback file: %d %s", code, errOut)
	}
}

func TestConvertLangsmithNoRuns(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.MkdirAll(filepath.Join(empty, "tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(empty, "tmp", "check.parquet"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := run(t, "convert", "langsmith", empty, filepath.Join(dir, "lake"))
	if code != 1 || !strings.Contains(errOut, empty) || !strings.Contains(errOut, "no LangSmith runs") {
		t.Fatalf("convert: %d %s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "lake")); err == nil {
		t.Error("a lake was written for a source without runs")
	}
}

// TestConvertLangsmithMinIO converts from one MinIO bucket into another
// through the CLI's S3 flags. It skips without a minio binary, and fails
// then when CI=true.
func TestConvertLangsmithMinIO(t *testing.T) {
	srv := miniotest.Start(t)
	srv.Env(t)
	opts := bucket.Options{S3Endpoint: srv.Endpoint(), S3PathStyle: true}
	src := "s3://" + srv.NewBucket(t, "langsmith")
	n := writeLSExport(t, src, opts)
	lake := "s3://" + srv.NewBucket(t, "lake") + "/converted"
	code, out, errOut := run(t, "convert", "langsmith", src+"/exports/export_id="+lsExport, lake, "--s3-endpoint", srv.Endpoint(), "--s3-path-style")
	if code != 0 {
		t.Fatalf("convert: %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = run(t, "ls", lake, "--json", "--s3-endpoint", srv.Endpoint(), "--s3-path-style")
	if code != 0 {
		t.Fatalf("ls: %d %s", code, errOut)
	}
	var ls lsOutput
	if err := json.Unmarshal([]byte(out), &ls); err != nil {
		t.Fatal(err)
	}
	for _, tb := range ls.Tables {
		if tb.Name == "observations" && tb.Rows != int64(n) {
			t.Fatalf("%d observations, want %d", tb.Rows, n)
		}
	}
	if strings.Contains(out+errOut, srv.SecretKey()) {
		t.Fatal("secret key in output")
	}
}

// TestConvertLangsmithThenImport is the whole LangSmith path: a bulk
// export converted into a lake, the lake imported into a Langfuse project
// (the built-in test server), and the project exported again to compare:
// the hierarchy, the times and the types survive.
func TestConvertLangsmithThenImport(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "bucket")
	writeLSExport(t, src, bucket.Options{})
	lake := filepath.Join(dir, "lake")
	if code, out, errOut := run(t, "convert", "langsmith", src, lake); code != 0 {
		t.Fatalf("convert: %d\n%s\n%s", code, out, errOut)
	}
	srv := lftest.NewServer(lftest.Options{Mode: lftest.V4})
	t.Cleanup(srv.Close)
	_, pk, sk := srv.AddProject("from-langsmith")
	if code, out, errOut := run(t, "import", lake, "--yes", "--wait=3s", "--public-key="+pk, "--secret-key="+sk, "--base-url="+srv.URL()); code != 0 {
		t.Fatalf("import: %d\n%s\n%s", code, out, errOut)
	}
	client, err := lf.New(lf.Config{BaseURL: srv.URL(), PublicKey: pk, SecretKey: sk})
	if err != nil {
		t.Fatal(err)
	}
	back, err := bucket.Open(ctx, filepath.Join(dir, "back"), bucket.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lfexport.Export(ctx, back, lfexport.Options{Client: client}); err != nil {
		t.Fatalf("export: %v", err)
	}
	want := lsObservations(t, openLake(t, lake))
	got := lsObservations(t, openLake(t, filepath.Join(dir, "back")))
	if len(got) != len(want) {
		t.Fatalf("%d observations in Langfuse, %d converted", len(got), len(want))
	}
	for id, w := range want {
		g, ok := got[id]
		if !ok {
			t.Fatalf("observation %s (%s) not in Langfuse", id, w.key())
		}
		if g.key() != w.key() {
			t.Errorf("observation %s\n got %s\nwant %s", id, g.key(), w.key())
		}
	}
	traces := map[string]string{}
	if err := hive.ScanRows(ctx, openLake(t, filepath.Join(dir, "back")), func(_ hive.Partition, r *schema.Trace) error {
		traces[r.ID] = fmt.Sprintf("session=%v tags=%v", lsDeref(r.SessionID), r.Tags)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := hive.ScanRows(ctx, openLake(t, lake), func(_ hive.Partition, r *schema.Trace) error {
		got, ok := traces[r.ID]
		tags := r.Tags
		if tags == nil {
			tags = []string{}
		}
		if want := fmt.Sprintf("session=%v tags=%v", lsDeref(r.SessionID), tags); !ok || got != want {
			t.Errorf("trace %s in Langfuse: %q (found %v), want %q", r.ID, got, ok, want)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	scores := map[string]schema.Score{}
	if err := hive.ScanRows(ctx, openLake(t, filepath.Join(dir, "back")), func(_ hive.Partition, r *schema.Score) error {
		scores[r.ID] = *r
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := hive.ScanRows(ctx, openLake(t, lake), func(_ hive.Partition, r *schema.Score) error {
		n++
		g, ok := scores[r.ID]
		if !ok || g.Name != r.Name || *g.Value != *r.Value || *g.TraceID != *r.TraceID || (g.ObservationID == nil) != (r.ObservationID == nil) {
			t.Errorf("score %s in Langfuse: %+v (found %v), want %+v", r.ID, g, ok, *r)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Error("no scores converted")
	}
}

type lsObsKey struct {
	trace, parent, typ, name string
	start, end               time.Time
}

// key prints an observation's place and times. Langfuse keeps times in
// milliseconds (ClickHouse DateTime64(3)); LangSmith has microseconds.
func (k lsObsKey) key() string {
	return fmt.Sprintf("trace=%s parent=%s type=%s name=%q start=%s end=%s", k.trace, k.parent, k.typ, k.name,
		k.start.UTC().Truncate(time.Millisecond).Format(time.RFC3339Nano), k.end.UTC().Truncate(time.Millisecond).Format(time.RFC3339Nano))
}

func lsDeref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func lsObservations(t *testing.T, l *hive.Lake) map[string]lsObsKey {
	t.Helper()
	out := map[string]lsObsKey{}
	err := hive.ScanRows(context.Background(), l, func(_ hive.Partition, o *schema.Observation) error {
		k := lsObsKey{trace: lsDeref(o.TraceID), parent: lsDeref(o.ParentObservationID), typ: o.Type, name: lsDeref(o.Name), start: o.StartTime}
		if o.EndTime != nil {
			k.end = *o.EndTime
		}
		out[o.ID] = k
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
