package report_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/export/lfexport"
	"github.com/lakefuse/lakefuse/hive"
	lf "github.com/lakefuse/lakefuse/internal/langfuse"
	"github.com/lakefuse/lakefuse/internal/lftest"
	"github.com/lakefuse/lakefuse/report"
)

// demoLake exports the project `lakefuse demo` generates (seed 1, the small
// size) from the built-in server into a lake in a temporary directory, as
// the demo does.
func demoLake(t *testing.T) (string, *hive.Lake) {
	t.Helper()
	ctx := context.Background()
	srv := lftest.NewServer(lftest.Options{Mode: lftest.V4})
	t.Cleanup(srv.Close)
	_, pk, sk := srv.AddGeneratedProject(lftest.Generate(1, lftest.SizeSmall))
	client, err := lf.New(lf.Config{BaseURL: srv.URL(), PublicKey: pk, SecretKey: sk})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "lake")
	b, err := bucket.Open(ctx, dir, bucket.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if _, err := lfexport.Export(ctx, b, lfexport.Options{Client: client, To: lftest.DefaultEnd.Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	l, err := hive.Open(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	return dir, l
}

// chromium finds a Chromium or Chrome binary; without one the test skips,
// or fails under CI=true (.ci/run installs Debian's chromium).
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("LAKEFUSE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found (CI=true, so this fails instead of skipping): apt-get install chromium, or set LAKEFUSE_CHROMIUM")
	}
	t.Skip("chromium not found: apt-get install chromium, or set LAKEFUSE_CHROMIUM")
	return ""
}

// shown is what the page drew, read back from the browser: each canvas's
// painted pixels and its chart's data, the headline figures and the tables.
type shown struct {
	Charts map[string]struct {
		Painted  int      `json:"painted"`
		Score    string   `json:"score"`
		Labels   []string `json:"labels"`
		Datasets []struct {
			Label string     `json:"label"`
			Data  []*float64 `json:"data"`
		} `json:"datasets"`
	} `json:"charts"`
	KPIs       map[string]string `json:"kpis"`
	Comparison [][]string        `json:"comparison"`
	Tables     [][]string        `json:"tables"`
	Data       report.Data       `json:"data"`
	Texts      []string          `json:"texts"`
}

const readBack = `(() => {
  const out = {charts: {}, kpis: {}};
  for (const c of document.querySelectorAll("canvas")) {
    const ch = Chart.getChart(c);
    const img = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let painted = 0;
    for (let i = 3; i < img.length; i += 4) if (img[i] > 0) painted++;
    out.charts[c.id] = {painted: painted, score: c.dataset.score || "",
      labels: ch ? ch.data.labels.map(String) : null,
      datasets: ch ? ch.data.datasets.map(d => ({label: d.label, data: d.data})) : null};
  }
  for (const k of document.querySelectorAll("[data-kpi]")) out.kpis[k.dataset.kpi] = k.querySelector(".v").textContent;
  const rows = sel => [...document.querySelectorAll(sel)].map(tr => [...tr.children].map(td => td.textContent));
  out.comparison = rows("#comparison-table tbody tr");
  out.tables = rows("#tables tbody tr");
  out.data = JSON.parse(document.getElementById("lakefuse-data").textContent);
  return out;
})()`

// TestReportInChromium renders the demo lake's report in headless Chromium
// and checks that it loads without errors or network requests, that every
// chart drew, and that the figures drawn are the reference's answers for the
// same lake (DuckDB's with -tags duckdb).
func TestReportInChromium(t *testing.T) {
	exe := chromium(t)
	dir, l := demoLake(t)
	ctx := context.Background()
	d, err := report.Collect(ctx, l, dir)
	if err != nil {
		t.Fatal(err)
	}
	d.Comparison = &report.Result{Command: "verify", Against: "destination", Lake: dir, Finished: time.Now().UTC(),
		Project: &report.Project{ID: "proj-dest", Name: "demo import"},
		Tables:  []report.TableResult{{Table: "traces", LakeRows: 40, LiveRows: 39, Missing: 1}, {Table: "scores", LakeRows: 56, LiveRows: 56}}}
	out := filepath.Join(t.TempDir(), "report.html")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := report.Render(f, d); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	tctx, cancel := context.WithTimeout(ctx, 2*time.Minute) // stops the browser too
	defer cancel()
	actx, cancel := chromedp.NewExecAllocator(tctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 900))...)
	defer cancel()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()

	url := "file://" + out
	var mu sync.Mutex
	var problems, requests []string
	err = chromedp.Listen(bctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			requests = append(requests, ev.Request.URL)
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				problems = append(problems, fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " ")))
			}
		case *runtime.EventExceptionThrown:
			desc := ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				desc += " " + ev.ExceptionDetails.Exception.Description
			}
			problems = append(problems, "exception: "+desc)
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError || ev.Entry.Level == log.EntryLevelWarning {
				problems = append(problems, fmt.Sprintf("log %s %s: %s %s", ev.Entry.Level, ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	// Network and Log are enabled by chromedp for every target; Runtime
	// brings the console.
	if _, err := chromedp.Run(bctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, runtime.Enable, cdp.Empty{})
		return err
	})); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(bctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`))); err != nil {
		t.Fatal(err)
	}
	got, err := chromedp.Run(bctx, chromedp.Evaluate[shown](readBack))
	if err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(os.TempDir(), fmt.Sprintf("lakefuse-report-%d.png", time.Now().UnixNano()))
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", shot)

	mu.Lock()
	for _, p := range problems {
		t.Errorf("page: %s", p)
	}
	for _, r := range requests {
		if r != url {
			t.Errorf("page made a network request: %s", r)
		}
	}
	mu.Unlock()

	want := []string{"chart-volume", "chart-cost", "chart-tokens", "chart-latency", "chart-levels", "chart-trace-names"}
	for i := range d.ScoreNames {
		want = append(want, fmt.Sprintf("chart-score-%d", i))
	}
	if len(got.Charts) != len(want) {
		t.Errorf("%d charts on the page, want %d", len(got.Charts), len(want))
	}
	for _, id := range want {
		c, ok := got.Charts[id]
		switch {
		case !ok:
			t.Errorf("%s: missing", id)
		case c.Datasets == nil:
			t.Errorf("%s: no chart", id)
		case c.Painted < 2000:
			t.Errorf("%s: only %d painted pixels", id, c.Painted)
		}
	}
	if len(d.ScoreNames) == 0 || len(d.Days) < 3 || len(d.CostByModel) < 2 {
		t.Fatalf("the demo lake is too thin to test the report: %d score names, %d days, %d models", len(d.ScoreNames), len(d.Days), len(d.CostByModel))
	}
	checkFigures(t, &got, reference(t, dir))

	// The comparison section shows the result's rows.
	if len(got.Comparison) != 2 || strings.Join(got.Comparison[0], "|") != "traces|40|39|1|0|0" {
		t.Errorf("comparison rows: %q", got.Comparison)
	}
	// The glance lists every table with its rows from the manifests.
	if len(got.Tables) != len(l.Tables()) {
		t.Errorf("glance lists %d tables, the lake has %d", len(got.Tables), len(l.Tables()))
	}
	for _, r := range got.Tables {
		if n := l.Rows(r[0]); strings.ReplaceAll(r[1], ",", "") != strconv.FormatInt(n, 10) {
			t.Errorf("glance: %s has %s rows, the manifests say %d", r[0], r[1], n)
		}
	}
}

// answers are the reference figures for a lake, by UTC day (dt).
type answers struct {
	engine       string
	traces       map[string]int64
	obsByType    map[string]map[string]int64
	costByModel  map[string]map[string]float64
	tokensIn     map[string]int64
	tokensOut    map[string]int64
	latencyMs    map[string][3]float64 // p50, p90, p99 (quantile_disc)
	levels       map[string]map[string]int64
	traceNames   []report.NameCount // all, most first, ties by name
	scoreValues  map[string][]float64
	scoreCats    map[string]map[string]int64
	scoreCount   map[string]int64
	observations int64
	generations  int64
	cost         float64
}

func newAnswers(engine string) *answers {
	return &answers{engine: engine, traces: map[string]int64{}, obsByType: map[string]map[string]int64{},
		costByModel: map[string]map[string]float64{}, tokensIn: map[string]int64{}, tokensOut: map[string]int64{},
		latencyMs: map[string][3]float64{}, levels: map[string]map[string]int64{}, scoreValues: map[string][]float64{},
		scoreCats: map[string]map[string]int64{}, scoreCount: map[string]int64{}}
}

func inc[V int64 | float64](m map[string]map[string]V, a, b string, v V) {
	if m[a] == nil {
		m[a] = map[string]V{}
	}
	m[a][b] += v
}

func sortNames(m map[string]int64) []report.NameCount {
	var out []report.NameCount
	for k, v := range m {
		out = append(out, report.NameCount{Name: k, Count: v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func closeTo(a, b, rel float64) bool {
	return math.Abs(a-b) <= rel*math.Max(math.Abs(a), math.Abs(b))+1e-12
}

// checkFigures compares what the page drew with the reference.
func checkFigures(t *testing.T, got *shown, want *answers) {
	t.Helper()
	t.Logf("figures checked against %s", want.engine)
	days := got.Charts["chart-volume"].Labels
	series := func(chart, label string) []*float64 {
		for _, d := range got.Charts[chart].Datasets {
			if d.Label == label {
				return d.Data
			}
		}
		t.Errorf("%s: no series %q", chart, label)
		return make([]*float64, len(days))
	}
	val := func(p *float64) float64 {
		if p == nil {
			return math.NaN()
		}
		return *p
	}
	var wantDays []string
	for d := range want.traces {
		wantDays = append(wantDays, d)
	}
	for d := range want.obsByType {
		if want.traces[d] == 0 {
			wantDays = append(wantDays, d)
		}
	}
	sort.Strings(wantDays)
	if strings.Join(days, ",") != strings.Join(wantDays, ",") {
		t.Fatalf("days %v, want %v", days, wantDays)
	}
	exact := func(what string, got, want float64) {
		if got != want {
			t.Errorf("%s: %v, want %v", what, got, want)
		}
	}

	// Traces and observations per day, by type.
	types := map[string]bool{}
	for _, m := range want.obsByType {
		for k := range m {
			types[k] = true
		}
	}
	if n := len(got.Charts["chart-volume"].Datasets); n != len(types)+1 {
		t.Errorf("chart-volume: %d series, want %d types and traces", n, len(types))
	}
	tr := series("chart-volume", "traces")
	for i, day := range days {
		exact("traces on "+day, val(tr[i]), float64(want.traces[day]))
		for typ := range types {
			exact(typ+" on "+day, val(series("chart-volume", typ)[i]), float64(want.obsByType[day][typ]))
		}
	}
	// Cost per day by model.
	models := map[string]bool{}
	for _, m := range want.costByModel {
		for k := range m {
			models[k] = true
		}
	}
	if n := len(got.Charts["chart-cost"].Datasets); n != len(models) {
		t.Errorf("chart-cost: %d models, want %d", n, len(models))
	}
	for model := range models {
		s := series("chart-cost", model)
		for i, day := range days {
			if g, w := val(s[i]), want.costByModel[day][model]; !closeTo(g, w, 1e-9) {
				t.Errorf("cost of %s on %s: %v, want %v", model, day, g, w)
			}
		}
	}
	// Tokens.
	in, out := series("chart-tokens", "input"), series("chart-tokens", "output")
	for i, day := range days {
		exact("input tokens on "+day, val(in[i]), float64(want.tokensIn[day]))
		exact("output tokens on "+day, val(out[i]), float64(want.tokensOut[day]))
	}
	// Latency percentiles, within the sketch's stated accuracy.
	for k, name := range []string{"p50", "p90", "p99"} {
		s := series("chart-latency", name)
		for i, day := range days {
			w, ok := want.latencyMs[day]
			if !ok {
				if s[i] != nil {
					t.Errorf("latency %s on %s: %v, want none", name, day, *s[i])
				}
				continue
			}
			if g := val(s[i]); !(math.Abs(g-w[k]) <= report.RelativeAccuracy*w[k]+1e-9) {
				t.Errorf("latency %s on %s: %v ms, want %v ms within %v%%", name, day, g, w[k], report.RelativeAccuracy*100)
			}
		}
	}
	// Level shares.
	for _, ds := range got.Charts["chart-levels"].Datasets {
		for i, day := range days {
			var total int64
			for _, n := range want.levels[day] {
				total += n
			}
			w := 100 * float64(want.levels[day][ds.Label]) / float64(total)
			if g := val(ds.Data[i]); !closeTo(g, w, 1e-12) {
				t.Errorf("%s share on %s: %v%%, want %v%%", ds.Label, day, g, w)
			}
		}
	}
	// Top trace names.
	tn := got.Charts["chart-trace-names"]
	wantTop := want.traceNames
	if len(wantTop) > len(tn.Labels) {
		wantTop = wantTop[:len(tn.Labels)]
	}
	if len(tn.Labels) != min(15, len(want.traceNames)) {
		t.Errorf("%d trace names shown, want %d", len(tn.Labels), min(15, len(want.traceNames)))
	}
	for i, w := range wantTop {
		if tn.Labels[i] != w.Name || val(tn.Datasets[0].Data[i]) != float64(w.Count) {
			t.Errorf("trace name %d: %q × %v, want %q × %d", i, tn.Labels[i], val(tn.Datasets[0].Data[i]), w.Name, w.Count)
		}
	}
	// Scores: counts per name, numeric bins, categories.
	if len(got.Data.ScoreNames) != len(want.scoreCount) {
		t.Errorf("%d score names, want %d", len(got.Data.ScoreNames), len(want.scoreCount))
	}
	for i, s := range got.Data.ScoreNames {
		c := got.Charts[fmt.Sprintf("chart-score-%d", i)]
		if c.Score != s.Name {
			t.Errorf("chart-score-%d is for %q, want %q", i, c.Score, s.Name)
		}
		exact("scores named "+s.Name, float64(s.Count), float64(want.scoreCount[s.Name]))
		switch {
		case s.Numeric != nil:
			for j, b := range s.Numeric.Bins {
				var n int64
				for _, v := range want.scoreValues[s.Name] {
					if v >= b.Lo && v < b.Hi {
						n++
					}
				}
				exact(fmt.Sprintf("%s in [%v, %v)", s.Name, b.Lo, b.Hi), val(c.Datasets[0].Data[j]), float64(n))
			}
			if len(s.Numeric.Bins) == 0 || s.Numeric.Count != int64(len(want.scoreValues[s.Name])) {
				t.Errorf("%s: %d numeric values in %d bins, want %d", s.Name, s.Numeric.Count, len(s.Numeric.Bins), len(want.scoreValues[s.Name]))
			}
		case s.Categories != nil:
			if len(c.Labels) != len(want.scoreCats[s.Name]) {
				t.Errorf("%s: categories %v, want %v", s.Name, c.Labels, want.scoreCats[s.Name])
			}
			for j, label := range c.Labels {
				exact(s.Name+" = "+label, val(c.Datasets[0].Data[j]), float64(want.scoreCats[s.Name][label]))
			}
		}
	}
	// Headline figures.
	if g, w := got.KPIs["observations"], strconv.FormatInt(want.observations, 10); g != w {
		t.Errorf("observations shown %q, want %q", g, w)
	}
	if g, w := got.KPIs["generations"], strconv.FormatInt(want.generations, 10); g != w {
		t.Errorf("generations shown %q, want %q", g, w)
	}
	if g, w := got.KPIs["cost"], fmt.Sprintf("$%.2f", want.cost); g != w {
		t.Errorf("cost shown %q, want %q", g, w)
	}
}
