package main

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/hive"
	"github.com/lakefuse/lakefuse/internal/azuritetest"
	"github.com/lakefuse/lakefuse/internal/lftest"
	"github.com/lakefuse/lakefuse/schema"
)

// TestRoundTripAzurite exports a project into an az:// lake on Azurite,
// verifies it, imports it into an empty project and exports that again: the
// az:// lake holds the same rows as a local export of the same project, and
// the round trip differs from the source exactly as a local one does
// (roundTripDifferences). The export authenticates with the account key and
// --azure-endpoint, everything after with a connection string. It skips
// without Azurite, and fails then when CI=true.
func TestRoundTripAzurite(t *testing.T) {
	srv := azuritetest.Start(t)
	rt := newRoundTrip(t, lftest.V4)
	local := filepath.Join(t.TempDir(), "local")
	rt.lakeA = "az://" + srv.NewContainer(t, "lake") + "/nested/prefix"
	source := []string{"--public-key=" + rt.aKeys[0], "--secret-key=" + rt.aKeys[1], "--base-url=" + rt.srv.URL()}
	var outputs []string
	mustRun := func(args ...string) string {
		t.Helper()
		code, out, errOut := run(t, args...)
		outputs = append(outputs, out, errOut)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s\n%s", strings.Join(args, " "), code, out, errOut)
		}
		return out
	}

	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", "")
	t.Setenv("AZURE_STORAGE_SAS_TOKEN", "")
	t.Setenv("AZURE_STORAGE_ACCOUNT", srv.Account())
	t.Setenv("AZURE_STORAGE_KEY", srv.Key())
	mustRun(append([]string{"export", rt.lakeA, "--azure-endpoint", srv.Endpoint()}, source...)...)
	mustRun(append([]string{"export", local}, source...)...)

	srv.Env(t) // from here on the connection string, which names the endpoint
	mustRun("verify", rt.lakeA)
	var ls lsOutput
	if err := json.Unmarshal([]byte(mustRun("ls", rt.lakeA, "--json")), &ls); err != nil {
		t.Fatal(err)
	}
	var observations int64
	for _, tb := range ls.Tables {
		if tb.Name == "observations" {
			observations = tb.Rows
		}
	}
	if observations == 0 {
		t.Fatalf("ls shows no observations: %+v", ls)
	}
	azLake, localLake := openLake(t, rt.lakeA), openLake(t, local)
	for _, table := range schema.Names() {
		if got, want := rowKeys(t, rowsOf(t, azLake, table)), rowKeys(t, rowsOf(t, localLake, table)); !slices.Equal(got, want) {
			t.Errorf("%s: the az:// lake holds %d rows, the local lake %d, or they differ", table, len(got), len(want))
		}
	}

	mustRun("import", rt.lakeA, "--yes", "--wait=3s",
		"--public-key="+rt.bKeys[0], "--secret-key="+rt.bKeys[1], "--base-url="+rt.srv.URL())
	checkRoundTrip(t, rt, lftest.V4)
	t.Logf("%d observations through %s", observations, rt.lakeA)
	for _, out := range outputs {
		if strings.Contains(out, srv.Key()) {
			t.Fatal("the account key in the output")
		}
	}
}

// rowKeys is rows as sorted JSON, for comparing two lakes row by row.
func rowKeys(t *testing.T, rows []map[string]string) []string {
	t.Helper()
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	slices.Sort(out)
	return out
}

// azureKeys lists the lake's blobs under prefix.
func azureKeys(t *testing.T, loc, prefix string) []string {
	t.Helper()
	b, err := bucket.Open(context.Background(), loc, bucket.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var keys []string
	if err := b.List(context.Background(), prefix, func(a bucket.Attrs) error {
		keys = append(keys, a.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestExportConcurrentAzurite: on an az:// lake, an export killed with
// SIGKILL while it stages files is taken over, and two exports started
// together after it both succeed one after the other (the lease is a
// conditional Put Blob); the lake then equals a local export row by row,
// verifies, and keeps nothing in its staging area.
func TestExportConcurrentAzurite(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs several exports")
	}
	srv := azuritetest.Start(t)
	srv.Env(t)
	bin := buildLakefuse(t)
	env := leaseEnv(t)
	ref := filepath.Join(t.TempDir(), "ref")
	if cmd := startExport(t, bin, env, "export", ref, "--to", "2026-03-08"); cmd.Wait() != nil {
		t.Fatalf("reference export: %s", cmd.Stderr)
	}
	want := lakeRowsByKey(t, ref)

	loc := "az://" + srv.NewContainer(t, "concurrent") + "/lake"
	args := []string{"export", loc, "--to", "2026-03-08", "--wait", "5m"}
	killed := startExport(t, bin, env, args...)
	deadline := time.Now().Add(time.Minute)
	for len(azureKeys(t, loc, hive.StagingDir)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the first export staged nothing within a minute")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := killed.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = killed.Wait()

	begin := time.Now()
	a, b := startExport(t, bin, env, args...), startExport(t, bin, env, args...)
	for _, c := range []*exec.Cmd{a, b} {
		if err := c.Wait(); err != nil {
			t.Fatalf("concurrent export: %v\n%s", err, c.Stderr)
		}
	}
	t.Logf("two concurrent exports after a kill took %v", time.Since(begin).Round(time.Millisecond))
	if stderr := a.Stderr.(*strings.Builder).String() + b.Stderr.(*strings.Builder).String(); !strings.Contains(stderr, "took over the lease") {
		t.Errorf("no run said it took over the killed run's lease:\n%s", stderr)
	}
	sameLakes(t, lakeRowsByKey(t, loc), want)
	if left := azureKeys(t, loc, hive.StagingDir); len(left) > 0 {
		t.Errorf("%d staged blob(s) left, e.g. %s", len(left), left[0])
	}
	if code, out, errOut := run(t, "verify", loc); code != 0 {
		t.Fatalf("verify: exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestLsOnAzurite: ls and verify of an az:// lake; a missing container and
// wrong keys get clear errors that hold no secret.
func TestLsOnAzurite(t *testing.T) {
	srv := azuritetest.Start(t)
	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", "")
	t.Setenv("AZURE_STORAGE_SAS_TOKEN", "")
	t.Setenv("AZURE_STORAGE_ACCOUNT", srv.Account())
	t.Setenv("AZURE_STORAGE_KEY", srv.Key())
	t.Setenv("LAKEFUSE_AZURE_ENDPOINT", srv.Endpoint())
	name := srv.NewContainer(t, "lake")
	loc := "az://" + name + "/nested/prefix"
	writeSampleLake(t, loc)
	code, out, errOut := run(t, "ls", loc)
	if code != 0 || !strings.Contains(out, "observations") || !strings.Contains(out, "az://"+name) {
		t.Fatalf("ls on Azurite: %d\n%s\n%s", code, out, errOut)
	}
	if code, out, errOut := run(t, "verify", loc); code != 0 {
		t.Fatalf("verify on Azurite: %s\n%s", out, errOut)
	}
	code, _, errOut = run(t, "ls", "az://no-such-container/x")
	if code != 1 || !strings.Contains(errOut, "no-such-container") || !strings.Contains(errOut, srv.Account()) || !strings.Contains(errOut, "does not exist") {
		t.Fatalf("missing container: %d %q", code, errOut)
	}
	wrong := "d3Jvbmcta2V5LWZvci1hLWxha2VmdXNlLXRlc3Qtb2YtYXp1cml0ZQ=="
	t.Setenv("AZURE_STORAGE_KEY", wrong)
	code, _, errOut = run(t, "ls", loc)
	if code != 1 || strings.Contains(errOut, wrong) || strings.Contains(errOut, srv.Key()) || !strings.Contains(errOut, "AZURE_STORAGE_KEY") {
		t.Fatalf("wrong key: %d %q", code, errOut)
	}
	t.Logf("wrong key: %s", strings.TrimSpace(errOut))
}
