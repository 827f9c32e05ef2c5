package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/internal/bench"
	"github.com/lakefuse/lakefuse/internal/lftest"
	"github.com/lakefuse/lakefuse/report"
)

func readResult(t *testing.T, path string) (*report.Result, map[string]report.TableResult) {
	t.Helper()
	r, err := report.ReadResult(path)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]report.TableResult{}
	for _, tr := range r.Tables {
		m[tr.Table] = tr
	}
	return r, m
}

// TestReportJSON: migrate (its import) and verify --against-destination
// write their per-table results with --report-json, also when verify finds
// differences, and report --compare shows them.
func TestReportJSON(t *testing.T) {
	rt := newRoundTrip(t, lftest.V4)
	dir := t.TempDir()
	imported := filepath.Join(dir, "import.json")
	if code, out, errOut := run(t, append(rt.migrateArgs(), "--report-json="+imported)...); code != 0 {
		t.Fatalf("migrate: exit %d\n%s\n%s", code, out, errOut)
	}
	r, tables := readResult(t, imported)
	if r.Command != "import" || !r.OK || r.Against != "" || r.Project == nil || r.Project.ID != rt.bID {
		t.Errorf("import result: %+v", r)
	}
	if o := tables["observations"]; o.LakeRows == 0 || o.Sent+o.Already+o.Skipped != o.LakeRows || o.Failed != 0 {
		t.Errorf("observations: %+v", o)
	}

	keys := []string{"--public-key=" + rt.bKeys[0], "--secret-key=" + rt.bKeys[1], "--base-url=" + rt.srv.URL()}
	same := filepath.Join(dir, "same.json")
	if code, out, errOut := run(t, append([]string{"verify", rt.lakeA, "--against-destination", "--report-json", same}, keys...)...); code != 0 {
		t.Fatalf("verify: exit %d\n%s\n%s", code, out, errOut)
	}
	r, tables = readResult(t, same)
	if r.Command != "verify" || r.Against != "destination" || !r.OK || len(tables) < 10 {
		t.Errorf("verify result: %+v", r)
	}
	for _, tr := range r.Tables {
		if tr.Missing+tr.Extra+tr.Differing != 0 || tr.LakeRows != tr.LiveRows && tr.Table != "observations" {
			t.Errorf("%+v", tr)
		}
	}
	if tables["traces"].LakeRows == 0 {
		t.Errorf("traces: %+v", tables["traces"])
	}

	rt.srv.Project(rt.bID).AddScores(&lftest.Score{ID: "extra-score", Name: "late", DataType: lftest.DataNumeric, Value: 1,
		Source: lftest.SourceAPI, Timestamp: lftest.DefaultEnd.Add(-time.Hour), CreatedAt: lftest.DefaultEnd, UpdatedAt: lftest.DefaultEnd,
		TraceID: ptrTo("x"), Environment: "default"})
	diff := filepath.Join(dir, "diff.json")
	if code, out, _ := run(t, append([]string{"verify", rt.lakeA, "--against-destination", "--report-json", diff}, keys...)...); code == 0 {
		t.Fatalf("verify must fail on the extra score\n%s", out)
	}
	r, tables = readResult(t, diff)
	if s := tables["scores"]; r.OK || r.Error == "" || s.Extra != 1 || s.Missing != 0 || s.LiveRows != s.LakeRows+1 {
		t.Errorf("result after an extra score: ok %v, error %q, scores %+v", r.OK, r.Error, s)
	}

	page := filepath.Join(dir, "report.html")
	code, out, errOut := run(t, "report", rt.lakeA, "-o", page, "--compare", diff)
	if code != 0 || !strings.Contains(out, page) {
		t.Fatalf("report: exit %d\n%s\n%s", code, out, errOut)
	}
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"comparison":{"format":"lakefuse.result"`, `"table":"scores"`, `"extra":1`, "Chart.js v4"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("report lacks %s", want)
		}
	}
	if code, _, errOut := run(t, "report", rt.lakeA, "-o", page, "--compare", page); code != 2 || !strings.Contains(errOut, "not a lakefuse result file") {
		t.Errorf("report --compare of an HTML file: exit %d, %s", code, errOut)
	}
	if code, _, errOut := run(t, "report", filepath.Join(dir, "nothing"), "-o", page); code != 1 || !strings.Contains(errOut, "no lakefuse lake") {
		t.Errorf("report of no lake: exit %d, %s", code, errOut)
	}
}

func TestDemoWritesReport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	code, out, errOut := run(t, "demo", "--dir", dir)
	page := filepath.Join(dir, "_lakefuse", "report.html")
	if code != 0 || !strings.Contains(out, "Report: "+page+"\n") {
		t.Fatalf("demo: exit %d, no report line\n%s\n%s", code, out, errOut)
	}
	// The report is no stray file of the lake.
	if code, out, _ := run(t, "verify", dir); code != 0 || strings.Contains(out, "note:") {
		t.Errorf("verify after the demo: exit %d\n%s", code, out)
	}
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), `"against":"destination"`) || !strings.Contains(string(html), `"ok":true`) {
		t.Errorf("the demo report lacks the round trip's comparison")
	}
}

// pageData reads back the figures a report page embeds.
func pageData(t *testing.T, path string) *report.Data {
	t.Helper()
	html, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(html), `<script type="application/json" id="lakefuse-data">`)
	data, _, ok2 := strings.Cut(rest, "</script>")
	if !ok || !ok2 {
		t.Fatal("no embedded data in the page")
	}
	var d report.Data
	if err := json.Unmarshal([]byte(data), &d); err != nil {
		t.Fatal(err)
	}
	return &d
}

// TestReportOfLangsmithConversion: a converted LangSmith export has the
// same tables, so its report has the same figures.
func TestReportOfLangsmithConversion(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "bucket")
	n := writeLSExport(t, src, bucket.Options{})
	lake := filepath.Join(dir, "lake")
	if code, out, errOut := run(t, "convert", "langsmith", src+"/exports", lake); code != 0 {
		t.Fatalf("convert: %d\n%s\n%s", code, out, errOut)
	}
	page := filepath.Join(dir, "r.html")
	if code, out, errOut := run(t, "report", lake, "--output", page); code != 0 {
		t.Fatalf("report: %d\n%s\n%s", code, out, errOut)
	}
	d := pageData(t, page)
	if d.Totals.Observations != int64(n) || d.Totals.Traces == 0 || d.Totals.Generations == 0 || d.Totals.TokensIn == 0 || d.Totals.Errors == 0 {
		t.Errorf("totals %+v, want %d observations and some traces, generations, tokens and errors", d.Totals, n)
	}
	var latencies int
	for _, p := range d.LatencyMs.P50 {
		if p != nil {
			latencies++
		}
	}
	if len(d.Days) == 0 || latencies == 0 || len(d.TopTraceNames) == 0 {
		t.Errorf("%d days, %d with latencies, %d trace names", len(d.Days), latencies, len(d.TopTraceNames))
	}
	t.Logf("totals %+v, %d days, scores %d", d.Totals, len(d.Days), len(d.ScoreNames))
	if len(d.Glance.Sources) != 1 || d.Glance.Sources[0].Kind != "langsmith" || len(d.Glance.Runs) != 1 || d.Glance.Runs[0].Kind != "convert" {
		t.Errorf("glance: %+v", d.Glance)
	}
}

// TestReportBenchmark measures the built binary writing the report of a
// lake of LAKEFUSE_BENCH_REPORT_OBS observations (internal/bench's rows,
// about 2 KB of JSON each, over a week) and fails past 15 s or 300 MiB peak
// RSS. It runs only when the variable is set.
//
//	LAKEFUSE_BENCH_REPORT_OBS=1000000 go test ./cmd/lakefuse -run TestReportBenchmark -v -timeout 30m
func TestReportBenchmark(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("LAKEFUSE_BENCH_REPORT_OBS"))
	if n <= 0 {
		t.Skip("set LAKEFUSE_BENCH_REPORT_OBS to the number of observations")
	}
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		t.Skip("needs /usr/bin/time for the peak RSS")
	}
	bin := buildLakefuse(t)
	lake := filepath.Join(t.TempDir(), "lake")
	if _, err := bench.WriteObservations(context.Background(), lake, n, 2000); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(t.TempDir(), "report.html")
	cmd := exec.Command("/usr/bin/time", "-v", bin, "report", lake, "-o", page)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("report: %v\n%s\n%s", err, out.String(), errOut.String())
	}
	took := time.Since(start)
	cpu, rssMiB := timeVerbose(errOut.String())
	if d := pageData(t, page); d.Totals.Observations != int64(n) {
		t.Errorf("the report counts %d observations, want %d", d.Totals.Observations, n)
	}
	t.Logf("report of %d observations in %v (CPU %.2fs), peak RSS %.0f MiB", n, took.Round(time.Millisecond), cpu, rssMiB)
	if took > 15*time.Second || rssMiB > 300 {
		t.Errorf("want under 15 s and 300 MiB")
	}
}
