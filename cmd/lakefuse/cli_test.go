package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lakefuse/lakefuse/hive"
	"github.com/lakefuse/lakefuse/internal/miniotest"
	"github.com/lakefuse/lakefuse/schema"
)

// run runs the CLI in-process.
func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Do(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestVersionAndHelp(t *testing.T) {
	code, out, _ := run(t, "version")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("lake schema version %d", schema.Version)) {
		t.Fatalf("version: %d %q", code, out)
	}
	code, out, _ = run(t, "--help")
	if code != 0 || !strings.Contains(out, "export") || !strings.Contains(out, "convert") {
		t.Fatalf("help: %d %q", code, out)
	}
	if code, _, errOut := run(t, "no-such-command"); code != 2 || !strings.Contains(errOut, "error") {
		t.Fatalf("unknown command: %d %q", code, errOut)
	}
}

// TestCPUProfile checks the hidden --cpu-profile flag writes a profile, and
// names the file when it cannot.
func TestCPUProfile(t *testing.T) {
	prof := filepath.Join(t.TempDir(), "cpu.pprof")
	if code, _, errOut := run(t, "--cpu-profile", prof, "schema"); code != 0 {
		t.Fatalf("schema with --cpu-profile: %d %s", code, errOut)
	}
	if st, err := os.Stat(prof); err != nil || st.Size() == 0 {
		t.Fatalf("profile: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "missing", "cpu.pprof")
	if code, _, errOut := run(t, "--cpu-profile", bad, "schema"); code != 2 || !strings.Contains(errOut, "cpu.pprof") {
		t.Fatalf("unwritable profile: %d %q", code, errOut)
	}
}

func TestSchemaCommand(t *testing.T) {
	code, out, _ := run(t, "schema")
	if code != 0 {
		t.Fatal(code)
	}
	for _, tbl := range schema.Names() {
		if !strings.Contains(out, tbl) {
			t.Errorf("schema output lacks %s", tbl)
		}
	}
	code, out, _ = run(t, "schema", "observations")
	if code != 0 || !strings.Contains(out, "usage_details") || !strings.Contains(out, "MAP<STRING, INT64>") || !strings.Contains(out, "STRING (JSON)") {
		t.Fatalf("schema observations: %q", out)
	}
	code, out, _ = run(t, "schema", "--json")
	var js struct {
		SchemaVersion int `json:"schema_version"`
		Tables        []struct {
			Name    string `json:"name"`
			Columns []struct{ Name, Type string }
		} `json:"tables"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &js) != nil || len(js.Tables) != len(schema.Names()) || js.SchemaVersion != schema.Version {
		t.Fatalf("schema --json: %d %.200q", code, out)
	}
	if code, _, errOut := run(t, "schema", "nope"); code != 1 || !strings.Contains(errOut, `unknown table "nope"`) {
		t.Fatalf("unknown table: %d %q", code, errOut)
	}
}

// writeSampleLake writes a small lake of every table through the demo's
// sample writer (the same code path as export: hive.Run).
func writeSampleLake(t *testing.T, location string, extraArgs ...string) {
	t.Helper()
	args := append([]string{"internal-sample", location}, extraArgs...)
	if code, _, errOut := run(t, args...); code != 0 {
		t.Fatalf("sample lake: %d %s", code, errOut)
	}
}

func TestLsAndVerifyLocal(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lake")
	writeSampleLake(t, dir)
	code, out, errOut := run(t, "ls", dir)
	if code != 0 {
		t.Fatalf("ls: %d %s", code, errOut)
	}
	for _, want := range []string{"observations", "annotation_queue_items", "runs (1 committed)", "total"} {
		if !strings.Contains(out, want) {
			t.Errorf("ls output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = run(t, "ls", "--json", "file://"+dir)
	var js lsOutput
	if code != 0 || json.Unmarshal([]byte(out), &js) != nil {
		t.Fatalf("ls --json: %d %q", code, out)
	}
	if len(js.Tables) != len(schema.Names()) || len(js.Runs) != 1 || js.Tables[1].Rows != 40 {
		t.Fatalf("ls --json: %+v", js)
	}
	if code, out, _ = run(t, "verify", dir); code != 0 || !strings.Contains(out, "all match") {
		t.Fatalf("verify: %d %s", code, out)
	}

	// A stray file (no manifest lists it) is reported, not counted.
	stray := filepath.Join(dir, "observations", "project_id=p", "part-20260101T000000Z-abcdef-00000.parquet")
	_ = os.MkdirAll(filepath.Dir(stray), 0o755)
	if err := os.WriteFile(stray, []byte("PAR1"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, out, _ = run(t, "ls", dir); !strings.Contains(out, "never committed") {
		t.Errorf("stray not reported:\n%s", out)
	}

	// A damaged file fails verify, naming it; ls (manifests only) still works.
	var victim string
	_ = filepath.Walk(filepath.Join(dir, "scores"), func(p string, fi os.FileInfo, err error) error {
		if strings.HasSuffix(p, ".parquet") {
			victim = p
		}
		return nil
	})
	data, _ := os.ReadFile(victim)
	data[len(data)/2] ^= 0xff
	_ = os.WriteFile(victim, data, 0o644)
	code, out, errOut = run(t, "verify", dir)
	if code != 1 || !strings.Contains(out, filepath.Base(victim)) || !strings.Contains(errOut, "failed verification") {
		t.Fatalf("verify damaged: %d\n%s\n%s", code, out, errOut)
	}
}

func TestLsBadLocations(t *testing.T) {
	for _, c := range []struct{ loc, want string }{
		{filepath.Join(t.TempDir(), "missing"), "no lakefuse lake"},
		{"ftp://x/y", "ftp"},
		{"s3://", "bucket"},
	} {
		code, _, errOut := run(t, "ls", c.loc)
		if code != 1 || !strings.Contains(errOut, c.want) {
			t.Errorf("ls %s: %d %q, want %q", c.loc, code, errOut, c.want)
		}
	}
	// A manifest written by a newer lakefuse.
	dir := t.TempDir()
	writeSampleLake(t, dir)
	entries, _ := os.ReadDir(filepath.Join(dir, hive.ManifestDir))
	mpath := filepath.Join(dir, hive.ManifestDir, entries[0].Name())
	raw, _ := os.ReadFile(mpath)
	_ = os.WriteFile(mpath, bytes.Replace(raw, []byte(fmt.Sprintf(`"schema_version": %d`, schema.Version)), []byte(`"schema_version": 99`), 1), 0o644)
	code, _, errOut := run(t, "ls", dir)
	if code != 1 || !strings.Contains(errOut, "upgrade lakefuse") || !strings.Contains(errOut, entries[0].Name()) {
		t.Fatalf("newer manifest: %d %q", code, errOut)
	}
}

func TestLsOnMinIO(t *testing.T) {
	srv := miniotest.Start(t)
	srv.Env(t)
	bkt := srv.NewBucket(t, "lake")
	loc := "s3://" + bkt + "/nested/prefix"
	flags := []string{"--s3-endpoint", srv.Endpoint(), "--s3-path-style"}
	writeSampleLake(t, loc, flags...)
	code, out, errOut := run(t, append([]string{"ls", loc}, flags...)...)
	if code != 0 || !strings.Contains(out, "observations") || !strings.Contains(out, "s3://"+bkt) {
		t.Fatalf("ls on MinIO: %d\n%s\n%s", code, out, errOut)
	}
	if code, out, _ := run(t, append([]string{"verify", loc}, flags...)...); code != 0 {
		t.Fatalf("verify on MinIO: %s", out)
	}
	// A missing bucket and wrong credentials: clear errors, no secret.
	code, _, errOut = run(t, append([]string{"ls", "s3://no-such-bucket-lakefuse/x"}, flags...)...)
	if code != 1 || !strings.Contains(errOut, "no-such-bucket-lakefuse") || !strings.Contains(errOut, "does not exist") {
		t.Fatalf("missing bucket: %d %q", code, errOut)
	}
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-Zq9xv")
	code, _, errOut = run(t, append([]string{"ls", loc}, flags...)...)
	if code != 1 || strings.Contains(errOut, "wrong-secret-Zq9xv") || !strings.Contains(strings.ToLower(errOut), "credentials") {
		t.Fatalf("bad credentials: %d %q", code, errOut)
	}
}
