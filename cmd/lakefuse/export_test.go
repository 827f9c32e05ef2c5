package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/hive"
	"github.com/lakefuse/lakefuse/internal/lftest"
	"github.com/lakefuse/lakefuse/internal/lftest/lftesting"
	"github.com/lakefuse/lakefuse/schema"
)

// buildLakefuse builds the binary into the test's temporary directory.
func buildLakefuse(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "lakefuse")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// lakeRowsByKey reads every live row of every table, keyed by table and row key.
func lakeRowsByKey(t *testing.T, dir string) map[string]map[string]any {
	t.Helper()
	ctx := context.Background()
	l := openLake(t, dir)
	out := map[string]map[string]any{}
	for _, tab := range schema.Tables() {
		out[tab.Name] = map[string]any{}
		err := l.Scan(ctx, tab.Name, hive.ScanOptions{VerifyChecksum: true}, func(bt hive.Batch) error {
			d, err := schema.NewDecoder(tab, bt.Record.Schema())
			if err != nil {
				return err
			}
			for i := 0; i < int(bt.Record.NumRows()); i++ {
				row := tab.NewRow()
				if err := d.Decode(bt.Record, i, row); err != nil {
					return err
				}
				k, _ := tab.RowKey(row)
				if _, dup := out[tab.Name][k]; dup {
					t.Errorf("%s: table %s: row %q twice", dir, tab.Name, k)
				}
				out[tab.Name][k] = row
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	strays, err := l.Strays(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range strays {
		t.Errorf("%s: %s is in a table directory but not in the lake (%s)", dir, s.Key, s.Reason)
	}
	return out
}

func sameLakes(t *testing.T, got, want map[string]map[string]any) {
	t.Helper()
	for table, w := range want {
		g := got[table]
		if len(g) != len(w) {
			t.Errorf("table %s: %d rows, want %d", table, len(g), len(w))
		}
		bad := 0
		for k, wr := range w {
			if !reflect.DeepEqual(g[k], wr) {
				if bad++; bad <= 3 {
					t.Errorf("table %s: row %q differs:\n got %+v\nwant %+v", table, k, g[k], wr)
				}
			}
		}
	}
}

// killProject is big enough that an export takes a while and spans many
// windows and checkpoints.
func killProject() *lftest.Project {
	return lftest.Generate(31, lftest.Size{Traces: 500, ObservationsPerTrace: 8, PayloadBytes: 2000, MaxPayloadBytes: 20 << 10,
		Days: 12, ScoresPerTrace: 1, Sessions: 20, Users: 8})
}

// TestExportKillResume kills the exporting process with SIGKILL at random
// moments; running the same command again resumes, and the final lake
// equals the lake of an uninterrupted export.
func TestExportKillResume(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs many exports")
	}
	bin := buildLakefuse(t)
	for _, mode := range []lftest.Mode{lftest.V4, lftest.V3} {
		t.Run(mode.String(), func(t *testing.T) {
			s, k := lftesting.ServeProject(t, lftest.Options{Mode: mode}, killProject())
			env := append(os.Environ(), "LANGFUSE_PUBLIC_KEY="+k.PublicKey, "LANGFUSE_SECRET_KEY="+k.SecretKey,
				"LANGFUSE_BASE_URL="+s.URL(), "LAKEFUSE_LOG_LEVEL=warn")
			args := func(dir string) []string { return []string{"export", dir, "--to", "2026-03-08"} }
			start := func(dir string) *exec.Cmd {
				cmd := exec.Command(bin, args(dir)...)
				cmd.Env = env
				cmd.Stdout, cmd.Stderr = new(strings.Builder), new(strings.Builder)
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				return cmd
			}
			ref := filepath.Join(t.TempDir(), "ref")
			begin := time.Now()
			cmd := start(ref)
			if err := cmd.Wait(); err != nil {
				t.Fatalf("uninterrupted export: %v\n%s", err, cmd.Stderr)
			}
			full := time.Since(begin)
			want := lakeRowsByKey(t, ref)

			rng := rand.New(rand.NewPCG(uint64(mode), 42))
			kills := 0
			for trial := 0; trial < 4; trial++ {
				dir := filepath.Join(t.TempDir(), fmt.Sprintf("trial-%d", trial))
				for attempt := 0; ; attempt++ {
					cmd := start(dir)
					if attempt < 3 {
						time.Sleep(time.Duration(rng.Int64N(int64(full))))
						if err := cmd.Process.Signal(syscall.SIGKILL); err == nil {
							kills++
						}
						_ = cmd.Wait()
						continue
					}
					if err := cmd.Wait(); err != nil {
						t.Fatalf("trial %d: final run: %v\n%s", trial, err, cmd.Stderr)
					}
					break
				}
				sameLakes(t, lakeRowsByKey(t, dir), want)
			}
			if kills < 6 {
				t.Errorf("only %d runs were killed before they finished: the test did not interrupt enough", kills)
			}
		})
	}
}

// TestExportErrors: clear errors, a non-zero exit and no manifest for bad
// keys, an unreachable host, a page that keeps failing and a lake that
// refuses writes; after the cause is gone, the same command completes.
func TestExportErrors(t *testing.T) {
	s, k := lftesting.ServeProject(t, lftest.Options{Mode: lftest.V4}, lftest.Generate(5, lftest.SizeSmall))
	keys := []string{"--public-key", k.PublicKey, "--secret-key", k.SecretKey, "--base-url", s.URL(), "--to", "2026-03-08"}
	noManifest := func(t *testing.T, dir string) {
		t.Helper()
		if m, _ := filepath.Glob(filepath.Join(dir, "_lakefuse", "manifests", "*.json")); len(m) > 0 {
			t.Errorf("a failed export committed %v", m)
		}
	}
	t.Run("bad keys", func(t *testing.T) {
		dir := t.TempDir()
		code, _, stderr := run(t, "export", dir, "--public-key", k.PublicKey, "--secret-key", "sk-lf-not-the-secret", "--base-url", s.URL())
		t.Log(stderr)
		if code != 1 || !strings.Contains(stderr, "rejected the API keys") || strings.Contains(stderr, "sk-lf-not-the-secret") {
			t.Errorf("exit %d, stderr %s", code, stderr)
		}
		noManifest(t, dir)
	})
	t.Run("unreachable", func(t *testing.T) {
		dir := t.TempDir()
		code, _, stderr := run(t, "export", dir, "--public-key", "pk-lf-1", "--secret-key", "sk-lf-1", "--base-url", "http://127.0.0.1:1", "--max-retries", "1")
		t.Log(stderr)
		if code != 1 || !strings.Contains(stderr, "cannot reach") {
			t.Errorf("exit %d, stderr %s", code, stderr)
		}
		noManifest(t, dir)
	})
	t.Run("page fails for good", func(t *testing.T) {
		dir := t.TempDir()
		s.SetFaults(lftest.Faults{Rates: map[lftest.FaultKind]float64{lftest.Fault502: 1}, Match: func(r *http.Request) bool {
			return r.URL.Path == "/api/public/v3/scores" && strings.HasPrefix(r.URL.Query().Get("fromTimestamp"), "2026-03-03")
		}})
		code, _, stderr := run(t, append([]string{"export", dir, "--max-retries", "1"}, keys...)...)
		t.Log(stderr)
		if code != 1 || !strings.Contains(stderr, "scores") || !strings.Contains(stderr, "502") || !strings.Contains(stderr, "resume") {
			t.Errorf("exit %d, stderr %s", code, stderr)
		}
		noManifest(t, dir)
		s.SetFaults(lftest.Faults{})
		if code, stdout, stderr := run(t, append([]string{"export", dir}, keys...)...); code != 0 || !strings.Contains(stdout, "resumed") {
			t.Errorf("rerun: exit %d\n%s\n%s", code, stdout, stderr)
		}
	})
	t.Run("lake refuses writes", func(t *testing.T) {
		// A file where the lake's directory should be refuses every write,
		// even for root.
		parent := t.TempDir()
		blocker := filepath.Join(parent, "lake")
		if err := os.WriteFile(blocker, []byte("not a directory"), 0o600); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(blocker, "inner")
		code, _, stderr := run(t, append([]string{"export", dir}, keys...)...)
		t.Log(stderr)
		if code != 1 || !strings.Contains(stderr, blocker) {
			t.Errorf("exit %d, stderr %s", code, stderr)
		}
		if err := os.Remove(blocker); err != nil {
			t.Fatal(err)
		}
		if code, stdout, stderr := run(t, append([]string{"export", dir}, keys...)...); code != 0 {
			t.Errorf("rerun: exit %d\n%s\n%s", code, stdout, stderr)
		}
		noManifest(t, parent) // nothing was ever committed outside the lake
	})
	t.Run("bad flags", func(t *testing.T) {
		for _, args := range [][]string{
			{"--from", "yesterday"}, {"--tables", "traces,nope"}, {"--from", "2026-03-05", "--to", "2026-03-01"},
			{"--incremental", "--from", "2026-03-01"},
		} {
			code, _, stderr := run(t, append(append([]string{"export", t.TempDir()}, keys...), args...)...)
			if code != 2 {
				t.Errorf("%v: exit %d, want 2; stderr %s", args, code, stderr)
			}
		}
	})
}

// TestExportCommand exports with flags and environment, then again
// incrementally; the summary names every table.
func TestExportCommand(t *testing.T) {
	s, k := lftesting.ServeProject(t, lftest.Options{Mode: lftest.V4}, lftest.Generate(6, lftest.SizeSmall))
	dir := t.TempDir()
	t.Setenv("LANGFUSE_PUBLIC_KEY", k.PublicKey)
	t.Setenv("LANGFUSE_SECRET_KEY", k.SecretKey)
	t.Setenv("LANGFUSE_HOST", s.URL())
	code, stdout, stderr := run(t, "export", dir, "--to", "2026-03-08")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, name := range schema.Names() {
		if !strings.Contains(stdout, name) {
			t.Errorf("summary lacks table %s:\n%s", name, stdout)
		}
	}
	before := lakeRowsByKey(t, dir)
	code, stdout, stderr = run(t, "export", dir, "--incremental", "--lookback", "24h")
	if code != 0 {
		t.Fatalf("incremental: exit %d\n%s\n%s", code, stdout, stderr)
	}
	sameLakes(t, lakeRowsByKey(t, dir), before)
	code, stdout, _ = run(t, "export", dir, "--tables", "prompts", "--json")
	if code != 0 || !strings.Contains(stdout, `"prompts"`) {
		t.Errorf("--tables prompts --json: exit %d\n%s", code, stdout)
	}
	var names []string
	for name := range before {
		names = append(names, name)
	}
	sort.Strings(names)
	if len(names) != len(schema.Names()) {
		t.Errorf("tables %v", names)
	}
}

// TestDemo runs the demo offline into a directory.
func TestDemo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	code, stdout, stderr := run(t, "demo", "--dir", dir)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"observations", "read_parquet('" + dir + "/observations/**/*.parquet'", "runs (1 committed)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("demo output lacks %q:\n%s", want, stdout)
		}
	}
	rows := lakeRowsByKey(t, dir)
	for _, tab := range schema.Tables() {
		if len(rows[tab.Name]) == 0 {
			t.Errorf("demo lake has no %s", tab.Name)
		}
	}
	// A second demo into the same directory replaces the first one's rows.
	if code, _, stderr := run(t, "demo", "--dir", dir); code != 0 {
		t.Fatalf("second demo: exit %d\n%s", code, stderr)
	}
	sameLakes(t, lakeRowsByKey(t, dir), rows)
}
