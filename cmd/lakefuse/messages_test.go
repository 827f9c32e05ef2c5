package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/internal/lftest"
)

// rerunHint is how a failed import says that running it again continues.
const rerunHint = "run the same command again"

func TestEmptyTableListRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lake")
	writeSampleLake(t, dir)
	keys := []string{"--public-key=pk-lf-1", "--secret-key=sk-lf-1", "--base-url=http://127.0.0.1:1"}
	for _, args := range [][]string{
		append([]string{"export", dir, "--tables", ","}, keys...),
		append([]string{"export", dir, "--tables", " , "}, keys...),
		append([]string{"import", dir, "--tables", ","}, keys...),
		{"verify", dir, "--tables", ","},
	} {
		code, _, errOut := run(t, args...)
		if code != 2 || !strings.Contains(errOut, "--tables") || !strings.Contains(errOut, "names no table") {
			t.Errorf("%q: exit %d %q, want exit 2 naming the empty --tables", args, code, errOut)
		}
	}
}

func TestLakePathUnderAFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	loc := filepath.Join(file, "lake")
	for _, args := range [][]string{
		{"ls", loc},
		{"verify", loc},
		{"export", loc, "--public-key=pk-lf-1", "--secret-key=sk-lf-1", "--base-url=http://127.0.0.1:1"},
	} {
		code, _, errOut := run(t, args...)
		if code == 0 || !strings.Contains(errOut, file+" is a file") || strings.Contains(errOut, "not found") {
			t.Errorf("%q: exit %d %q, want it to say %s is a file", args, code, errOut, file)
		}
	}
}

func TestManifestVersionMessage(t *testing.T) {
	dir := t.TempDir()
	writeSampleLake(t, dir)
	entries, _ := os.ReadDir(filepath.Join(dir, "_lakefuse", "manifests"))
	mpath := filepath.Join(dir, "_lakefuse", "manifests", entries[0].Name())
	raw, _ := os.ReadFile(mpath)
	patched := strings.Replace(string(raw), `"manifest_version": 1`, `"manifest_version": 99`, 1)
	if patched == string(raw) {
		t.Fatalf("no manifest_version in %s", raw)
	}
	_ = os.WriteFile(mpath, []byte(patched), 0o644)
	code, _, errOut := run(t, "ls", dir)
	if code != 1 || !strings.Contains(errOut, "manifest version 99") || strings.Contains(errOut, "schema version") {
		t.Fatalf("ls: %d %q, want it to name manifest version 99", code, errOut)
	}
}

// exportA exports project A of rt into rt.lakeA through base.
func (rt *roundTrip) exportA(t *testing.T, base string) {
	t.Helper()
	if code, _, errOut := run(t, "export", rt.lakeA, "--public-key="+rt.aKeys[0], "--secret-key="+rt.aKeys[1], "--base-url="+base); code != 0 {
		t.Fatalf("export A: %d %s", code, errOut)
	}
}

// A failed import ends with the rerun hint only where running it again can
// help: not after wrong keys, a refused destination or bad input.
func TestImportRerunHintOnlyWhereItHelps(t *testing.T) {
	rt := newRoundTrip(t, lftest.V4)
	rt.exportA(t, rt.srv.URL())
	base := "--base-url=" + rt.srv.URL()
	for _, c := range []struct {
		name string
		args []string
	}{
		{"wrong keys", []string{"--public-key=pk-lf-wrong", "--secret-key=sk-lf-wrong", base}},
		{"same project", []string{"--public-key=" + rt.aKeys[0], "--secret-key=" + rt.aKeys[1], base}},
		{"unknown source project", []string{"--public-key=" + rt.bKeys[0], "--secret-key=" + rt.bKeys[1], base, "--source-project=nope"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, errOut := run(t, append([]string{"import", rt.lakeA, "--yes", "--wait=1s"}, c.args...)...)
			if code == 0 || strings.Contains(errOut, rerunHint) {
				t.Fatalf("exit %d %q: a rerun cannot help here", code, errOut)
			}
		})
	}

	// A refused port: export and import give up alike, in seconds, and say
	// why; there is nothing to continue.
	for _, cmd := range []string{"export", "import"} {
		t.Run("refused port/"+cmd, func(t *testing.T) {
			start := time.Now()
			code, _, errOut := run(t, cmd, rt.lakeA, "--public-key=pk-lf-1", "--secret-key=sk-lf-1", "--base-url=http://127.0.0.1:1")
			took := time.Since(start)
			if code == 0 || strings.Contains(errOut, rerunHint) || !strings.Contains(errOut, "gave up after 3 attempts") || !strings.Contains(errOut, "never answered") {
				t.Fatalf("exit %d %q", code, errOut)
			}
			if took > 10*time.Second {
				t.Errorf("%s gave up after %v, want seconds", cmd, took)
			}
		})
	}

	t.Run("rate limited", func(t *testing.T) {
		srv := lftest.NewServer(lftest.Options{Faults: lftest.Faults{
			Rates: map[lftest.FaultKind]float64{lftest.Fault429: 1},
			Match: func(r *http.Request) bool { return r.Method == http.MethodPost },
		}})
		t.Cleanup(srv.Close)
		_, pk, sk := srv.AddGeneratedProject(lftest.Generate(3, lftest.SizeSmall))
		_, bpk, bsk := srv.AddProject("B")
		lake := filepath.Join(t.TempDir(), "lake")
		if code, _, errOut := run(t, "export", lake, "--public-key="+pk, "--secret-key="+sk, "--base-url="+srv.URL()); code != 0 {
			t.Fatalf("export: %d %s", code, errOut)
		}
		code, _, errOut := run(t, "import", lake, "--yes", "--wait=1s", "--max-retries=0",
			"--public-key="+bpk, "--secret-key="+bsk, "--base-url="+srv.URL())
		if code == 0 || !strings.Contains(errOut, rerunHint) {
			t.Fatalf("exit %d %q: a rerun helps after rate limiting", code, errOut)
		}
	})
}

// The same-project guard compares project ids, not URL text: a lake
// exported through 127.0.0.1 is refused when imported through localhost
// with the same keys.
func TestSameProjectGuardHostAlias(t *testing.T) {
	rt := newRoundTrip(t, lftest.V4)
	rt.exportA(t, rt.srv.URL())
	before := rt.srv.Stats()
	alias := strings.Replace(rt.srv.URL(), "127.0.0.1", "localhost", 1)
	code, _, errOut := run(t, "import", rt.lakeA, "--yes", "--wait=1s",
		"--public-key="+rt.aKeys[0], "--secret-key="+rt.aKeys[1], "--base-url="+alias)
	if code == 0 || !strings.Contains(errOut, "project the lake was exported from") || !strings.Contains(errOut, "--allow-same-project") {
		t.Fatalf("import through %s: exit %d %q, want a refusal", alias, code, errOut)
	}
	after := rt.srv.Stats()
	for route, n := range after.Requests {
		if strings.HasPrefix(route, "POST") && n != before.Requests[route] {
			t.Errorf("%s was called %d times by a refused import", route, n-before.Requests[route])
		}
	}
}
