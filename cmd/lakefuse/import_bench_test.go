package main

import (
	"bytes"
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
	cmd := exec.Command("/usr/bin/time", "-v", bin, "import", lake, "--yes", "--tables=observations", "--state-dir="+t.TempDir())
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
