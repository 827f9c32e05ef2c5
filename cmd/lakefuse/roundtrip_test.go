package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/export/lfexport"
	"github.com/lakefuse/lakefuse/hive"
	"github.com/lakefuse/lakefuse/importer"
	lf "github.com/lakefuse/lakefuse/internal/langfuse"
	"github.com/lakefuse/lakefuse/internal/lftest"
	"github.com/lakefuse/lakefuse/schema"
)

// roundTrip is one server with a generated project A and an empty project B.
type roundTrip struct {
	srv          *lftest.Server
	aKeys, bKeys [2]string
	aID, bID     string
	lakeA, lakeB string
}

func newRoundTrip(t *testing.T, mode lftest.Mode) *roundTrip {
	t.Helper()
	srv := lftest.NewServer(lftest.Options{Mode: mode})
	t.Cleanup(srv.Close)
	size := lftest.SizeSmall
	size.Traces = 24
	aID, apk, ask := srv.AddGeneratedProject(lftest.Generate(7, size))
	bID, bpk, bsk := srv.AddProject("B")
	dir := t.TempDir()
	return &roundTrip{srv: srv, aKeys: [2]string{apk, ask}, bKeys: [2]string{bpk, bsk}, aID: aID, bID: bID,
		lakeA: filepath.Join(dir, "a"), lakeB: filepath.Join(dir, "b")}
}

func (rt *roundTrip) migrateArgs() []string {
	return []string{"migrate", rt.lakeA, "--yes", "--wait=3s",
		"--source-public-key=" + rt.aKeys[0], "--source-secret-key=" + rt.aKeys[1], "--source-host=" + rt.srv.URL(),
		"--dest-public-key=" + rt.bKeys[0], "--dest-secret-key=" + rt.bKeys[1], "--dest-host=" + rt.srv.URL()}
}

// exportB exports project B into its own lake.
func (rt *roundTrip) exportB(t *testing.T) *hive.Lake {
	t.Helper()
	ctx := context.Background()
	c, err := lf.New(lf.Config{BaseURL: rt.srv.URL(), PublicKey: rt.bKeys[0], SecretKey: rt.bKeys[1]})
	if err != nil {
		t.Fatal(err)
	}
	b, err := bucket.Open(ctx, rt.lakeB, bucket.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lfexport.Export(ctx, b, lfexport.Options{Client: c}); err != nil {
		t.Fatalf("export B: %v", err)
	}
	l, err := hive.Open(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// openLake opens the lake at loc; its bucket is closed when the test ends.
func openLake(t *testing.T, loc string) *hive.Lake {
	t.Helper()
	b, err := bucket.Open(context.Background(), loc, bucket.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	l, err := hive.Open(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// rowsOf reads a table into maps of column -> printable value.
func rowsOf(t *testing.T, l *hive.Lake, table string) []map[string]string {
	t.Helper()
	tb, err := schema.Lookup(table)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	err = l.Scan(context.Background(), table, hive.ScanOptions{}, func(b hive.Batch) error {
		d, err := schema.NewDecoder(tb, b.Record.Schema())
		if err != nil {
			return err
		}
		for i := 0; i < int(b.Record.NumRows()); i++ {
			v := reflect.New(tb.RowType())
			if err := d.Decode(b.Record, i, v.Interface()); err != nil {
				return err
			}
			out = append(out, flatten(v.Elem()))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// rtKey identifies the same row in A and B (ids travel verbatim).
func rtKey(table string, r map[string]string) string {
	switch table {
	case "prompts":
		return r["name"] + "@" + r["version"]
	case "score_configs", "annotation_queues", "datasets":
		return r["name"]
	case "models":
		return r["model_name"] + "|" + r["match_pattern"]
	case "dataset_runs":
		return r["name"]
	case "dataset_run_items":
		return r["dataset_item_id"] + "|" + r["trace_id"]
	case "comments":
		return r["object_type"] + "|" + r["content"]
	case "annotation_queue_items":
		return r["object_type"] + "|" + r["object_id"] + "|" + r["status"]
	case "media":
		return r["id"] + "|" + r["trace_id"] + "|" + r["observation_id"] + "|" + r["dataset_item_id"] + "|" + r["field"] + "|" + r["json_path"]
	}
	return r["id"]
}

// diffLakes compares every table of A and B and returns the set of
// differences: "table.column" for a differing column, "table: N rows only
// in A/B" for unmatched rows.
func diffLakes(t *testing.T, a, b *hive.Lake) (map[string]int, []string) {
	diffs := map[string]int{}
	var examples []string
	exampled := map[string]int{}
	for _, table := range schema.Names() {
		ra, rb := rowsOf(t, a, table), rowsOf(t, b, table)
		expect, err := expectation(context.Background(), a, v4Lake(b), table) // what the destination stores
		if err != nil {
			t.Fatal(err)
		}
		byKey := map[string]map[string]string{}
		countB := map[string]int{}
		for _, r := range rb {
			k := rtKey(table, r)
			countB[k]++
			byKey[k] = r
		}
		countA := map[string]int{}
		seen := map[string]bool{}
		for _, r := range ra {
			if table == "models" && r["unit"] == "<null>" {
				r["unit"] = importer.DefaultModelUnit
			}
			expect(mapRow(r))
			k := rtKey(table, r)
			countA[k]++
			other := byKey[k]
			if other == nil {
				diffs[table+": rows only in A"]++
				if len(examples) < 40 {
					examples = append(examples, fmt.Sprintf("%s: only in A: %v", table, k))
				}
				continue
			}
			seen[k] = true
			for col, v := range r {
				if col == "id" && (table == "traces" || table == "observations") {
					continue
				}
				if !sameValue(other[col], v) {
					diffs[table+"."+col]++
					if exampled[table+"."+col] < 2 {
						exampled[table+"."+col]++
						examples = append(examples, fmt.Sprintf("%s.%s [%s]: A=%.300q B=%.300q", table, col, k, v, other[col]))
					}
				}
			}
		}
		for k, n := range countB {
			if n > countA[k] && countA[k] > 0 {
				diffs[table+": duplicate rows in B"]++
				examples = append(examples, fmt.Sprintf("%s: %d rows in B, %d in A: %v", table, n, countA[k], k))
			}
			if !seen[k] {
				diffs[table+": rows only in B"]++
				if len(examples) < 40 {
					examples = append(examples, fmt.Sprintf("%s: only in B: %v", table, k))
				}
			}
		}
	}
	return diffs, examples
}

// roundTripDifferences are the columns that differ between a generated
// project's lake and the lake of the project it was imported into. Each is
// documented in docs/migration.md: ids and times the destination assigns,
// values the destination derives (model matching, prices, prompt ids), what
// OTLP ingestion normalises (environment, empty names and ends, metadata
// scope keys, parameter values) and what cannot be set (authors). Rows never
// differ: no row is missing and none is duplicated.
var roundTripDifferences = map[lftest.Mode][]string{
	lftest.V4: {
		"annotation_queue_items.completed_at", "annotation_queue_items.created_at", "annotation_queue_items.id", "annotation_queue_items.queue_id", "annotation_queue_items.updated_at",
		"annotation_queues.created_at", "annotation_queues.id", "annotation_queues.score_config_ids", "annotation_queues.updated_at",
		"comments.author_user_id", "comments.created_at", "comments.id", "comments.object_id", "comments.updated_at",
		"dataset_items.created_at", "dataset_items.dataset_id", "dataset_items.updated_at",
		"dataset_run_items.dataset_id", "dataset_run_items.experiment_item_version", "dataset_runs.dataset_id",
		"datasets.created_at", "datasets.id", "datasets.updated_at", "media.uploaded_at", "models.created_at", "models.id", "models.pricing_tiers",
		"observations.created_at", "observations.end_time", "observations.environment", "observations.input_price", "observations.latency",
		"observations.metadata", "observations.model_id", "observations.model_parameters", "observations.name", "observations.output_price",
		"observations.prompt_id", "observations.updated_at", "observations.usage_pricing_tier_name",
		"prompts.created_at", "prompts.id", "prompts.updated_at", "score_configs.created_at", "score_configs.id", "score_configs.updated_at",
		"scores.author_user_id", "scores.config_id", "scores.created_at", "scores.environment", "scores.queue_id", "scores.updated_at",
		"scores: rows only in A", "traces.environment"},
	lftest.V3: {
		"annotation_queue_items.completed_at", "annotation_queue_items.created_at", "annotation_queue_items.id", "annotation_queue_items.queue_id", "annotation_queue_items.updated_at",
		"annotation_queues.created_at", "annotation_queues.id", "annotation_queues.score_config_ids", "annotation_queues.updated_at",
		"comments.author_user_id", "comments.created_at", "comments.id", "comments.object_id", "comments.updated_at",
		"dataset_items.created_at", "dataset_items.dataset_id", "dataset_items.updated_at",
		"dataset_run_items.dataset_id", "dataset_run_items.dataset_run_id", "dataset_run_items.id", "dataset_run_items.updated_at",
		"dataset_runs.created_at", "dataset_runs.dataset_id", "dataset_runs.id", "dataset_runs.updated_at",
		"datasets.created_at", "datasets.id", "datasets.updated_at", "media.uploaded_at", "models.created_at", "models.id", "models.pricing_tiers",
		"observations.created_at", "observations.end_time", "observations.environment", "observations.input_price", "observations.latency",
		"observations.metadata", "observations.model_id", "observations.model_parameters", "observations.name", "observations.output_price",
		"observations.prompt_id", "observations.updated_at", "observations.usage_pricing_tier_name",
		"prompts.created_at", "prompts.id", "prompts.updated_at", "score_configs.created_at", "score_configs.id", "score_configs.updated_at",
		"scores.author_user_id", "scores.config_id", "scores.created_at", "scores.dataset_run_id", "scores.environment", "scores.queue_id", "scores.updated_at",
		"scores: rows only in A", "traces.created_at", "traces.environment", "traces.html_path", "traces.metadata", "traces.tags", "traces.updated_at"},
}

func checkRoundTrip(t *testing.T, rt *roundTrip, mode lftest.Mode) {
	t.Helper()
	diffs, ex := diffLakes(t, openLake(t, rt.lakeA), rt.exportB(t))
	if mode == lftest.V3 {
		// A v3 session takes the environment of the first trace event that
		// names it (ON CONFLICT DO NOTHING): which of the concurrent
		// requests arrives first decides.
		delete(diffs, "sessions.environment")
	}
	got := sortedDiffs(diffs)
	if !slices.Equal(got, roundTripDifferences[mode]) {
		for _, e := range ex {
			t.Log(e)
		}
		t.Fatalf("round trip differences\n got: %q\nwant: %q", got, roundTripDifferences[mode])
	}
}

func TestRoundTrip(t *testing.T) {
	for _, mode := range []lftest.Mode{lftest.V4, lftest.V3} {
		t.Run(mode.String(), func(t *testing.T) {
			rt := newRoundTrip(t, mode)
			code, out, errOut := run(t, rt.migrateArgs()...)
			if code != 0 {
				t.Fatalf("migrate: exit %d\n%s\n%s", code, out, errOut)
			}
			checkRoundTrip(t, rt, mode)
			// Running the job again sends nothing: the ledger has it all.
			rt.srv.ResetStats()
			if code, out, errOut := run(t, rt.migrateArgs()...); code != 0 {
				t.Fatalf("second migrate: exit %d\n%s\n%s", code, out, errOut)
			}
			if n := rt.srv.Requests("POST /api/public/otel/v1/traces") + rt.srv.Requests("POST /api/public/ingestion"); n != 0 {
				t.Errorf("a repeated migrate sent %d OTLP and ingestion requests, want 0", n)
			}
			checkRoundTrip(t, rt, mode)
		})
	}
}

// TestRoundTripFaults imports with 20% of the requests failing (5xx, 429,
// resets, and responses cut after the server processed the request, whose
// outcome the client cannot know): the result is the same and nothing is
// duplicated.
func TestRoundTripFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: retries wait for the client's backoff")
	}
	for _, mode := range []lftest.Mode{lftest.V4, lftest.V3} {
		t.Run(mode.String(), func(t *testing.T) {
			rt := newRoundTrip(t, mode)
			rt.srv.SetFaults(lftest.Faults{Seed: 42, RetryAfter: time.Millisecond, Rates: map[lftest.FaultKind]float64{
				lftest.Fault429: 0.04, lftest.Fault500: 0.04, lftest.Fault503: 0.04, lftest.FaultReset: 0.04, lftest.FaultTruncate: 0.04}})
			var code int
			var out, errOut string
			for attempt := 0; attempt < 5; attempt++ { // a run may give up; the next one resumes
				if code, out, errOut = run(t, rt.migrateArgs()...); code == 0 {
					break
				}
			}
			if code != 0 {
				t.Fatalf("migrate with faults: exit %d\n%s\n%s", code, out, errOut)
			}
			st := rt.srv.Stats()
			t.Logf("faults injected: %v", st.Faults)
			rt.srv.SetFaults(lftest.Faults{})
			checkRoundTrip(t, rt, mode)
		})
	}
}

// sameValue compares JSON text semantically (key order is not data).
func sameValue(a, b string) bool {
	if a == b {
		return true
	}
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func sortedDiffs(m map[string]int) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestDemoRoundTrip(t *testing.T) {
	code, out, errOut := run(t, "demo", "--dir", filepath.Join(t.TempDir(), "demo"))
	if code != 0 || !strings.Contains(out, "round trip verified: ") {
		t.Fatalf("demo: exit %d, no round trip line\n%s\n%s", code, out, errOut)
	}
	// The line says how long each half of the round trip took.
	if !regexp.MustCompile(`round trip verified: \d+ rows across \d+ tables \(import [0-9.hms]+, read-back and compare [0-9.hms]+\)\n`).MatchString(out) {
		t.Errorf("the round trip line does not give the import's and the read-back's times:\n%s", out)
	}
}

// TestVerifyAgainstLive compares a lake with its source and with the
// project it was imported into, and finds a row added afterwards.
func TestVerifyAgainstLive(t *testing.T) {
	rt := newRoundTrip(t, lftest.V4)
	if code, out, errOut := run(t, rt.migrateArgs()...); code != 0 {
		t.Fatalf("migrate: exit %d\n%s\n%s", code, out, errOut)
	}
	keys := func(k [2]string) []string {
		return []string{"--public-key=" + k[0], "--secret-key=" + k[1], "--base-url=" + rt.srv.URL()}
	}
	if code, out, errOut := run(t, append([]string{"verify", rt.lakeA, "--against-source"}, keys(rt.aKeys)...)...); code != 0 {
		t.Fatalf("verify --against-source: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut := run(t, append([]string{"verify", rt.lakeA, "--against-destination"}, keys(rt.bKeys)...)...)
	if code != 0 || !strings.Contains(out, "no differences") {
		t.Fatalf("verify --against-destination: exit %d\n%s\n%s", code, out, errOut)
	}
	rt.srv.Project(rt.bID).AddScores(&lftest.Score{ID: "extra-score", Name: "late", DataType: lftest.DataNumeric, Value: 1,
		Source: lftest.SourceAPI, Timestamp: lftest.DefaultEnd.Add(-time.Hour), CreatedAt: lftest.DefaultEnd, UpdatedAt: lftest.DefaultEnd,
		TraceID: ptrTo("x"), Environment: "default"})
	code, out, _ = run(t, append([]string{"verify", rt.lakeA, "--against-destination"}, keys(rt.bKeys)...)...)
	if code == 0 || !strings.Contains(out, "DIFF scores: row extra-score is in the live project, not in the lake") {
		t.Fatalf("verify must report the extra score and fail: exit %d\n%s", code, out)
	}
}

func ptrTo[T any](v T) *T { return &v }

// TestRoundTripKillResume kills the importing process with SIGKILL at random
// moments; the same command resumes from the ledger, and B ends up with the
// same rows as after an uninterrupted import: no duplicate observation or
// score (checkRoundTrip fails on any).
func TestRoundTripKillResume(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs many imports")
	}
	bin := buildLakefuse(t)
	for _, mode := range []lftest.Mode{lftest.V4, lftest.V3} {
		t.Run(mode.String(), func(t *testing.T) {
			rt := newRoundTrip(t, mode)
			if code, out, errOut := run(t, "export", rt.lakeA, "--public-key="+rt.aKeys[0], "--secret-key="+rt.aKeys[1], "--base-url="+rt.srv.URL()); code != 0 {
				t.Fatalf("export: exit %d\n%s\n%s", code, out, errOut)
			}
			start := func(keys [2]string, stateDir string) *exec.Cmd {
				cmd := exec.Command(bin, "import", rt.lakeA, "--yes", "--wait=3s", "--state-dir="+stateDir)
				cmd.Env = append(os.Environ(), "LANGFUSE_PUBLIC_KEY="+keys[0], "LANGFUSE_SECRET_KEY="+keys[1],
					"LANGFUSE_BASE_URL="+rt.srv.URL(), "LAKEFUSE_LOG_LEVEL=warn")
				cmd.Stdout, cmd.Stderr = new(strings.Builder), new(strings.Builder)
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				return cmd
			}
			// How long an uninterrupted import takes, into a scratch project.
			_, cpk, csk := rt.srv.AddProject("C")
			begin := time.Now()
			if cmd := start([2]string{cpk, csk}, t.TempDir()); cmd.Wait() != nil {
				t.Fatalf("uninterrupted import: %s", cmd.Stderr)
			}
			full := time.Since(begin)

			rng := rand.New(rand.NewPCG(uint64(mode), 7))
			state := t.TempDir()
			kills := 0
			for attempt := 0; ; attempt++ {
				cmd := start(rt.bKeys, state)
				if attempt < 6 {
					time.Sleep(time.Duration(rng.Int64N(int64(full))))
					if err := cmd.Process.Signal(syscall.SIGKILL); err == nil {
						kills++
					}
					_ = cmd.Wait()
					continue
				}
				if err := cmd.Wait(); err != nil {
					t.Fatalf("final run: %v\n%s\n%s", err, cmd.Stdout, cmd.Stderr)
				}
				break
			}
			t.Logf("%d of 6 runs killed (an uninterrupted import takes %v)", kills, full)
			checkRoundTrip(t, rt, mode)
		})
	}
}

// TestImportDamagedLake damages the file of the last table the import sends
// (comments): the import must refuse before sending anything, naming it.
func TestImportDamagedLake(t *testing.T) {
	rt := newRoundTrip(t, lftest.V4)
	if code, out, errOut := run(t, "export", rt.lakeA, "--public-key="+rt.aKeys[0], "--secret-key="+rt.aKeys[1], "--base-url="+rt.srv.URL()); code != 0 {
		t.Fatalf("export: exit %d\n%s\n%s", code, out, errOut)
	}
	var victim string
	_ = filepath.Walk(filepath.Join(rt.lakeA, "comments"), func(p string, fi os.FileInfo, err error) error {
		if strings.HasSuffix(p, ".parquet") {
			victim = p
		}
		return nil
	})
	if victim == "" {
		t.Fatal("the lake has no comments file")
	}
	data, err := os.ReadFile(victim)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/3] ^= 0x01 // same size, one bit off: only the checksum sees it
	if err := os.WriteFile(victim, data, 0o644); err != nil {
		t.Fatal(err)
	}
	rt.srv.ResetStats()
	code, out, errOut := run(t, "import", rt.lakeA, "--yes", "--wait=3s",
		"--public-key="+rt.bKeys[0], "--secret-key="+rt.bKeys[1], "--base-url="+rt.srv.URL())
	if code == 0 || !strings.Contains(errOut, filepath.Base(victim)) || !strings.Contains(errOut, "nothing was sent") || strings.Contains(errOut, "run the same command again") {
		t.Fatalf("import of a damaged lake: exit %d\n%s\n%s", code, out, errOut)
	}
	for route, n := range rt.srv.Stats().Requests {
		if strings.HasPrefix(route, "POST ") || strings.HasPrefix(route, "PUT ") || strings.HasPrefix(route, "PATCH ") || strings.HasPrefix(route, "DELETE ") {
			t.Errorf("a damaged lake's import sent %d × %s", n, route)
		}
	}
}

// v4Lake reports whether the newest run of l read a Langfuse v4 API.
func v4Lake(l *hive.Lake) bool {
	var v string
	var at time.Time
	for _, m := range l.Manifests {
		if v == "" || m.CommittedAt.After(at) {
			v, at = m.Source.ServerVersion, m.CommittedAt
		}
	}
	return v == "v4"
}
