package main

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

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
