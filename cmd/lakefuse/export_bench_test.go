package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/internal/lftest"
)

// TestExportBenchmark measures the built binary exporting a generated v4
// project of LAKEFUSE_BENCH_EXPORT_OBS observations (payload
// LAKEFUSE_BENCH_PAYLOAD bytes, default 2048) from the test server, which
// runs in this test process as a Langfuse server would run elsewhere:
// observations per second, HTTP requests per 1,000 observations and the
// exporter's peak RSS (from /usr/bin/time -v). It is a benchmark, not a
// timed test: it runs only when the variable is set.
//
//	LAKEFUSE_BENCH_EXPORT_OBS=1000000 go test ./cmd/lakefuse -run TestExportBenchmark -v -timeout 60m
func TestExportBenchmark(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("LAKEFUSE_BENCH_EXPORT_OBS"))
	if n <= 0 {
		t.Skip("set LAKEFUSE_BENCH_EXPORT_OBS to the number of observations")
	}
	payload := 2048
	if v, err := strconv.Atoi(os.Getenv("LAKEFUSE_BENCH_PAYLOAD")); err == nil && v > 0 {
		payload = v
	}
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		t.Skip("needs /usr/bin/time for the peak RSS")
	}
	bin := buildLakefuse(t)
	src := lftest.NewServer(lftest.Options{Mode: lftest.V4})
	defer src.Close()
	id, pk, sk := src.AddGeneratedProject(lftest.Generate(1, lftest.SizeBench(n, payload)))
	lake := filepath.Join(t.TempDir(), "lake")
	to := lftest.DefaultEnd.Add(24 * time.Hour).Format(time.RFC3339)
	cmd := exec.Command("/usr/bin/time", "-v", bin, "export", lake, "--tables=observations,traces,sessions", "--no-media", "--to="+to)
	cmd.Env = append(os.Environ(), "LANGFUSE_PUBLIC_KEY="+pk, "LANGFUSE_SECRET_KEY="+sk, "LANGFUSE_BASE_URL="+src.URL(), "LAKEFUSE_LOG_LEVEL=warn")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	src.ResetStats()
	start, selfCPU := time.Now(), processCPU()
	if err := cmd.Run(); err != nil {
		t.Fatalf("export: %v\n%s\n%s", err, out.String(), errOut.String())
	}
	took := time.Since(start)
	serverCPU := (processCPU() - selfCPU).Seconds()
	cpu, rssMiB := timeVerbose(errOut.String())
	if got := src.Project(id).Counts().Observations; got != n {
		t.Fatalf("the server holds %d observations, want %d", got, n)
	}
	rows := openLake(t, lake).Rows("observations")
	if rows != int64(n) {
		t.Errorf("the lake holds %d observations, want %d", rows, n)
	}
	total := src.Stats().Total
	t.Logf("exported %d observations in %v: %.0f observations/s (exporter CPU %.1fs, %.0f µs per observation; test server CPU %.1fs), %d HTTP requests (%.2f per 1,000 observations), exporter peak RSS %.0f MiB",
		n, took.Round(time.Millisecond), float64(n)/took.Seconds(), cpu, cpu*1e6/float64(n), serverCPU, total, float64(total)*1000/float64(n), rssMiB)
}

// timeVerbose reads the CPU seconds (user and system) and the peak RSS in
// MiB that /usr/bin/time -v printed.
func timeVerbose(out string) (cpu, rssMiB float64) {
	if m := regexp.MustCompile(`Maximum resident set size \(kbytes\): (\d+)`).FindStringSubmatch(out); m != nil {
		kb, _ := strconv.ParseFloat(m[1], 64)
		rssMiB = kb / 1024
	}
	for _, re := range []string{`User time \(seconds\): ([0-9.]+)`, `System time \(seconds\): ([0-9.]+)`} {
		if m := regexp.MustCompile(re).FindStringSubmatch(out); m != nil {
			v, _ := strconv.ParseFloat(m[1], 64)
			cpu += v
		}
	}
	return cpu, rssMiB
}
