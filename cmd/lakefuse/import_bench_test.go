package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/export/lfexport"
	lf "github.com/lakefuse/lakefuse/internal/langfuse"
	"github.com/lakefuse/lakefuse/internal/lftest"
)

// TestImportBenchmark measures the built binary importing a lake of
// LAKEFUSE_BENCH_OBS observations (payload LAKEFUSE_BENCH_PAYLOAD bytes,
// default 1024) into the test server: spans per second, HTTP requests per
// 1,000 observations and peak RSS (from /usr/bin/time -v). It is a
// benchmark, not a timed test: it runs only when the variable is set.
//
//	LAKEFUSE_BENCH_OBS=1000000 go test ./cmd/lakefuse -run TestImportBenchmark -v -timeout 60m
func TestImportBenchmark(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("LAKEFUSE_BENCH_OBS"))
	if n <= 0 {
		t.Skip("set LAKEFUSE_BENCH_OBS to the number of observations")
	}
	payload := 1024
	if v, err := strconv.Atoi(os.Getenv("LAKEFUSE_BENCH_PAYLOAD")); err == nil && v > 0 {
		payload = v
	}
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		t.Skip("needs /usr/bin/time for the peak RSS")
	}
	bin := buildLakefuse(t)
	ctx := context.Background()
	lake := filepath.Join(t.TempDir(), "lake")
	if d := os.Getenv("LAKEFUSE_BENCH_LAKE"); d != "" {
		lake = d // reuse a lake between runs
	}
	if _, err := os.Stat(filepath.Join(lake, "_lakefuse", "manifests")); err != nil {
		src := lftest.NewServer(lftest.Options{})
		_, pk, sk := src.AddGeneratedProject(lftest.Generate(1, lftest.SizeBench(n, payload)))
		c, err := lf.New(lf.Config{BaseURL: src.URL(), PublicKey: pk, SecretKey: sk})
		if err != nil {
			t.Fatal(err)
		}
		b, err := bucket.Open(ctx, lake, bucket.Options{})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if _, err := lfexport.Export(ctx, b, lfexport.Options{Client: c, Tables: []string{"traces", "observations"}, NoMedia: true,
			To: lftest.DefaultEnd.Add(24 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		src.Close()
		t.Logf("lake of %d observations written in %v", n, time.Since(start))
	}

	dst := lftest.NewServer(lftest.Options{})
	defer dst.Close()
	id, pk, sk := dst.AddProject("bench")
	// gzip, as to a destination across a network (to this machine the
	// import's default sends the spans uncompressed).
	compress := cmp.Or(os.Getenv("LAKEFUSE_BENCH_COMPRESS"), "gzip")
	cmd := exec.Command("/usr/bin/time", "-v", bin, "import", lake, "--yes", "--tables=observations", "--state-dir="+t.TempDir(), "--compress="+compress)
	cmd.Env = append(os.Environ(), "LANGFUSE_PUBLIC_KEY="+pk, "LANGFUSE_SECRET_KEY="+sk, "LANGFUSE_BASE_URL="+dst.URL(), "LAKEFUSE_LOG_LEVEL=warn")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start, selfCPU := time.Now(), processCPU()
	if err := cmd.Run(); err != nil {
		t.Fatalf("import: %v\n%s\n%s", err, out.String(), errOut.String())
	}
	took := time.Since(start)
	// This process's CPU time during the import is the test server's (and
	// its HTTP stack's); the importer's is the child's, from /usr/bin/time.
	serverCPU := (processCPU() - selfCPU).Seconds()
	otlp := dst.Requests("POST /api/public/otel/v1/traces")
	total := dst.Stats().Total
	if got := dst.Project(id).Counts().Observations; got != n {
		t.Errorf("the destination holds %d observations, want %d", got, n)
	}
	cpu, rssMiB := timeVerbose(errOut.String())
	// The server runs in this process and shares the machine's cores; the
	// importer's own CPU time says what it would do with a core to itself.
	report := fmt.Sprintf("imported %d observations in %v: %.0f spans/s (importer CPU %.1fs: %.0f spans per CPU-second; test server CPU %.1fs), %d OTLP requests (%.2f per 1,000 observations), %d HTTP requests in all (%.2f per 1,000), peak RSS %.0f MiB",
		n, took.Round(time.Millisecond), float64(n)/took.Seconds(), cpu, float64(n)/cpu, serverCPU, otlp, float64(otlp)*1000/float64(n), total, float64(total)*1000/float64(n), rssMiB)
	t.Log(report)
}

// processCPU is the user and system CPU time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchFaults are the faults of the faulted benchmark and of
// TestFaultsWithinThreeTimesClean: 20% of the /api/public requests fail
// (500, 502, 503, connection reset, and a response cut after the server
// acted). No 429s: Langfuse's Retry-After is whole seconds and pauses the
// whole rate-limit bucket, so each injected 429 costs a second by design
// (TestRoundTripFaults has them).
func benchFaults(seed int64) lftest.Faults {
	return lftest.Faults{Seed: seed, Rates: map[lftest.FaultKind]float64{
		lftest.Fault500: 0.04, lftest.Fault502: 0.04, lftest.Fault503: 0.04, lftest.FaultReset: 0.04, lftest.FaultTruncate: 0.04}}
}

// faultRun is one export and import of a generated project, timed.
type faultRun struct {
	export, imp time.Duration
	requests    int
	faults      map[lftest.FaultKind]int
	counts      lftest.Counts
}

// runThroughFaults exports a project generated with size from a server with
// faults f into a new lake and imports the lake into a second project of a
// server with the same faults, in process, with the command's defaults
// (--wait included).
func runThroughFaults(t *testing.T, size lftest.Size, f lftest.Faults, args ...string) (faultRun, string) {
	t.Helper()
	var r faultRun
	src := lftest.NewServer(lftest.Options{})
	defer src.Close()
	_, apk, ask := src.AddGeneratedProject(lftest.Generate(1, size))
	lake := filepath.Join(t.TempDir(), "lake")
	src.SetFaults(f)
	start := time.Now()
	if code, out, errOut := run(t, "--log-level="+cmp.Or(os.Getenv("LAKEFUSE_BENCH_LOG"), "info"), "export", lake, "--public-key="+apk, "--secret-key="+ask, "--base-url="+src.URL(), "--to="+lftest.DefaultEnd.Add(24*time.Hour).Format(time.RFC3339)); code != 0 {
		t.Fatalf("export: exit %d\n%s\n%s", code, out, errOut)
	} else if os.Getenv("LAKEFUSE_BENCH_LOG") != "" {
		t.Logf("export output:\n%s\n%s", out, errOut)
	}
	r.export = time.Since(start)
	dst := lftest.NewServer(lftest.Options{})
	t.Cleanup(dst.Close)
	bID, bpk, bsk := dst.AddProject("B")
	dst.SetFaults(f)
	start = time.Now()
	code, out, errOut := run(t, append([]string{"--log-level=" + cmp.Or(os.Getenv("LAKEFUSE_BENCH_LOG"), "info"), "import", lake, "--yes", "--public-key=" + bpk, "--secret-key=" + bsk, "--base-url=" + dst.URL()}, args...)...)
	if code != 0 {
		t.Fatalf("import: exit %d\n%s\n%s", code, out, errOut)
	}
	r.imp = time.Since(start)
	if os.Getenv("LAKEFUSE_BENCH_LOG") != "" {
		t.Logf("import output:\n%s\n%s", out, errOut)
	}
	st := dst.Stats()
	r.requests, r.faults = st.Total, st.Faults
	for k, v := range src.Stats().Faults {
		r.faults[k] += v
	}
	r.counts = dst.Project(bID).Counts()
	return r, lake
}

// TestFaultsBenchmark exports and imports a lazily generated project of
// LAKEFUSE_BENCH_FAULTS_OBS observations (with media references) cleanly
// and through 20% injected faults, and reports both times. It is a
// benchmark, not a timed test: it runs only when the variable is set.
//
//	LAKEFUSE_BENCH_FAULTS_OBS=50000 go test ./cmd/lakefuse -run TestFaultsBenchmark -v -timeout 60m
func TestFaultsBenchmark(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("LAKEFUSE_BENCH_FAULTS_OBS"))
	if n <= 0 {
		t.Skip("set LAKEFUSE_BENCH_FAULTS_OBS to the number of observations")
	}
	size := lftest.SizeBench(n, 1024)
	clean, _ := runThroughFaults(t, size, lftest.Faults{})
	if os.Getenv("LAKEFUSE_BENCH_CLEAN_ONLY") != "" {
		t.Logf("clean: export %v, import %v", clean.export, clean.imp)
		return
	}
	t.Logf("clean: export %v, import %v, %d import requests", clean.export.Round(time.Millisecond), clean.imp.Round(time.Millisecond), clean.requests)
	faulted, _ := runThroughFaults(t, size, benchFaults(42))
	t.Logf("20%% faults: export %v, import %v, %d import requests, faults %v", faulted.export.Round(time.Millisecond), faulted.imp.Round(time.Millisecond), faulted.requests, faulted.faults)
	t.Logf("through faults / clean: export %.1f×, import %.1f×, export and import %.1f×",
		faulted.export.Seconds()/clean.export.Seconds(), faulted.imp.Seconds()/clean.imp.Seconds(),
		(faulted.export+faulted.imp).Seconds()/(clean.export+clean.imp).Seconds())
	if faulted.counts != clean.counts {
		t.Errorf("the destination holds %+v through faults, %+v after a clean run", faulted.counts, clean.counts)
	}
}
