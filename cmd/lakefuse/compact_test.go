package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/hive"
	"github.com/lakefuse/lakefuse/internal/sample"
	"github.com/lakefuse/lakefuse/schema"
)

var compactTables = []*schema.Table{schema.Observations, schema.Traces, schema.Scores}

// smallFileLake writes runs runs of perRun disjoint rows per table, each
// run spread over the same five days: every partition gets a small file
// from every run, as hourly incremental exports of a busy project leave.
func smallFileLake(t *testing.T, dir string, runs, perRun int) {
	t.Helper()
	ctx := context.Background()
	b, err := bucket.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	step := 5 * 24 * time.Hour / time.Duration(perRun)
	for r := range runs {
		run, err := hive.NewRun(ctx, b, hive.RunOptions{Kind: "test"})
		if err != nil {
			t.Fatal(err)
		}
		opts := sample.Options{PayloadBytes: 200, Step: step,
			Start: base.Add(time.Duration(r)*time.Minute - time.Duration(r*perRun)*step)}
		for _, tab := range compactTables {
			g := sample.New(tab, opts)
			row := tab.NewRow()
			for i := r * perRun; i < (r+1)*perRun; i++ {
				g.Row(i, row)
				if err := run.Append(ctx, tab, "proj", row); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := run.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// liveRows reads the rows of the compacted tables through the manifests,
// keyed by table and row key, failing on a row seen twice.
func liveRows(t *testing.T, dir string) map[string]any {
	t.Helper()
	ctx := context.Background()
	l := openLake(t, dir)
	out := map[string]any{}
	for _, tab := range compactTables {
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
				k = tab.Name + "/" + k
				if _, dup := out[k]; dup {
					t.Errorf("row %s twice", k)
				}
				out[k] = row
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// globRows counts the rows of every Parquet file under a table's directory,
// as read_parquet('<dir>/<table>/**/*.parquet') does.
func globRows(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	b, err := bucket.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, tab := range compactTables {
		err := b.List(ctx, tab.Name+"/", func(a bucket.Attrs) error {
			if !strings.HasSuffix(a.Key, ".parquet") {
				return nil
			}
			return hive.ScanFile(ctx, b, hive.FileEntry{Path: a.Key, Table: tab.Name}, hive.ScanOptions{Columns: []string{"id"}}, func(bt hive.Batch) error {
				out[tab.Name] += bt.Record.NumRows()
				return nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
}

// TestCompactKill kills `lakefuse compact` with SIGKILL at random moments:
// after every kill the lake verifies and its manifests list every row once
// with the same content; the next compaction finishes the job, after which
// globs see every row once, one file per partition.
func TestCompactKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and compacts many times")
	}
	bin := buildLakefuse(t)
	src := filepath.Join(t.TempDir(), "src")
	smallFileLake(t, src, 10, 300)
	want := liveRows(t, src)
	wantGlob := globRows(t, src)
	if l := openLake(t, src); len(l.Files(schema.Observations.Name)) < 50 {
		t.Fatalf("only %d observation files", len(l.Files(schema.Observations.Name)))
	}
	compact := func(dir string) *exec.Cmd {
		cmd := exec.Command(bin, "compact", dir, "--target-size", "64MiB")
		cmd.Env = append(os.Environ(), "LAKEFUSE_LOG_LEVEL=warn")
		cmd.Stdout, cmd.Stderr = new(strings.Builder), new(strings.Builder)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	ref := filepath.Join(t.TempDir(), "ref")
	copyDir(t, src, ref)
	begin := time.Now()
	if cmd := compact(ref); cmd.Wait() != nil {
		t.Fatalf("compact: %s", cmd.Stderr)
	}
	full := time.Since(begin)
	t.Logf("an uninterrupted compaction takes %v", full)

	check := func(dir, when string) {
		t.Helper()
		if got := liveRows(t, dir); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: %d live rows, want %d, or their content differs", when, len(got), len(want))
		}
		if code, out, errOut := run(t, "verify", dir); code != 0 {
			t.Fatalf("%s: verify: exit %d\n%s\n%s", when, code, out, errOut)
		}
	}
	rng := rand.New(rand.NewPCG(13, 1))
	kills, globBad := 0, 0
	for trial := range 4 {
		dir := filepath.Join(t.TempDir(), fmt.Sprintf("trial-%d", trial))
		copyDir(t, src, dir)
		for attempt := 0; attempt < 3; attempt++ {
			cmd := compact(dir)
			time.Sleep(time.Duration(rng.Int64N(int64(full) * 5 / 4)))
			if cmd.Process.Signal(syscall.SIGKILL) == nil {
				kills++
			}
			_ = cmd.Wait()
			check(dir, fmt.Sprintf("trial %d, after kill %d", trial, attempt))
			if g := globRows(t, dir); !reflect.DeepEqual(g, wantGlob) {
				globBad++
				t.Logf("trial %d, kill %d: globs see %v rows before the next run finishes the commit (want %v)", trial, attempt, g, wantGlob)
			}
		}
		if cmd := compact(dir); cmd.Wait() != nil {
			t.Fatalf("trial %d: final compaction: %s", trial, cmd.Stderr)
		}
		check(dir, fmt.Sprintf("trial %d, final", trial))
		if g := globRows(t, dir); !reflect.DeepEqual(g, wantGlob) {
			t.Fatalf("trial %d: globs see %v rows, want %v", trial, g, wantGlob)
		}
		l := openLake(t, dir)
		for _, tab := range compactTables {
			if f, p := len(l.Files(tab.Name)), len(l.Partitions(tab.Name)); f != p {
				t.Errorf("trial %d: %s has %d files in %d partitions", trial, tab.Name, f, p)
			}
		}
		if s, _ := l.Strays(context.Background()); len(s) > 0 {
			t.Errorf("trial %d: strays %v", trial, s)
		}
		if s, _ := l.Staged(context.Background()); len(s) > 0 {
			t.Errorf("trial %d: staged %v", trial, s)
		}
	}
	t.Logf("%d kills; globs differed right after %d of them", kills, globBad)
	if kills < 8 {
		t.Errorf("only %d compactions were killed before they finished", kills)
	}
}
