package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/internal/lftest"
	"github.com/lakefuse/lakefuse/internal/lftest/lftesting"
)

// leaseEnv serves killProject and returns the environment of a child export.
func leaseEnv(t *testing.T) []string {
	t.Helper()
	s, k := lftesting.ServeProject(t, lftest.Options{Mode: lftest.V4}, killProject())
	return append(os.Environ(), "LANGFUSE_PUBLIC_KEY="+k.PublicKey, "LANGFUSE_SECRET_KEY="+k.SecretKey,
		"LANGFUSE_BASE_URL="+s.URL(), "LAKEFUSE_LOG_LEVEL=warn")
}

func startExport(t *testing.T, bin string, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = new(strings.Builder), new(strings.Builder)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// noStaged fails t when files are left in the lake's staging area.
func noStaged(t *testing.T, dir string) {
	t.Helper()
	var left []string
	_ = filepath.WalkDir(filepath.Join(dir, "_lakefuse", "staging"), func(p string, d os.DirEntry, err error) error {
		// A local writer killed mid-file leaves its temporary file, which
		// no listing, glob or lakefuse reader sees.
		if err == nil && !d.IsDir() && !strings.HasPrefix(d.Name(), ".lakefuse-tmp-") {
			left = append(left, p)
		}
		return nil
	})
	if len(left) > 0 {
		t.Errorf("%d staged file(s) left, e.g. %s", len(left), left[0])
	}
}

// TestExportConcurrent: two exports started together into one lake both
// succeed one after the other (the second waits for the lease), and the
// lake holds every row once and verifies; without --wait the second one
// refuses, naming the holder.
func TestExportConcurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs several exports")
	}
	bin := buildLakefuse(t)
	env := leaseEnv(t)
	ref := filepath.Join(t.TempDir(), "ref")
	if cmd := startExport(t, bin, env, "export", ref, "--to", "2026-03-08"); cmd.Wait() != nil {
		t.Fatalf("reference export: %s", cmd.Stderr)
	}
	want := lakeRowsByKey(t, ref)

	dir := filepath.Join(t.TempDir(), "lake")
	args := []string{"export", dir, "--to", "2026-03-08", "--wait", "5m"}
	a, b := startExport(t, bin, env, args...), startExport(t, bin, env, args...)
	for _, c := range []*exec.Cmd{a, b} {
		if err := c.Wait(); err != nil {
			t.Fatalf("concurrent export: %v\n%s", err, c.Stderr)
		}
	}
	sameLakes(t, lakeRowsByKey(t, dir), want)
	noStaged(t, dir)
	if code, out, errOut := run(t, "verify", dir); code != 0 {
		t.Fatalf("verify: exit %d\n%s\n%s", code, out, errOut)
	}

	// Without --wait the second run refuses at once and names the first.
	a = startExport(t, bin, env, "export", dir, "--to", "2026-03-08")
	waitForLease(t, dir)
	if code, out, errOut := run(t, "ls", dir); code != 0 || !strings.Contains(out, "in use by lakefuse export (host ") {
		t.Errorf("ls during an export: exit %d\n%s\n%s", code, out, errOut)
	}
	second := startExport(t, bin, env, "export", dir, "--to", "2026-03-08")
	secondErr := second.Wait()
	if err := a.Wait(); err != nil {
		t.Fatalf("first export: %v\n%s", err, a.Stderr)
	}
	errOut := second.Stderr.(*strings.Builder).String()
	host, _ := os.Hostname()
	if secondErr == nil || second.ProcessState.ExitCode() != 1 || !strings.Contains(errOut, "in use by another run") || !strings.Contains(errOut, "lakefuse export (host "+host) ||
		!strings.Contains(errOut, "pid ") || !strings.Contains(errOut, "started ") {
		t.Errorf("second export: %v, stderr %s", secondErr, errOut)
	}
	sameLakes(t, lakeRowsByKey(t, dir), want)
}

// waitForLease waits until a run holds the lease of the lake in dir.
func waitForLease(t *testing.T, dir string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m, _ := filepath.Glob(filepath.Join(dir, "_lakefuse", "staging", "*", "*")); len(m) > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no run took the lease and staged a file within 30s")
}

// TestExportTakeover: a run killed with SIGKILL while it holds the lease
// blocks the lake until the lease expires; the next run then takes over,
// cleans up and resumes, and the lake equals an uninterrupted export.
func TestExportTakeover(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs several exports")
	}
	bin := buildLakefuse(t)
	env := leaseEnv(t)
	ref := filepath.Join(t.TempDir(), "ref")
	if cmd := startExport(t, bin, env, "export", ref, "--to", "2026-03-08"); cmd.Wait() != nil {
		t.Fatalf("reference export: %s", cmd.Stderr)
	}
	want := lakeRowsByKey(t, ref)

	dir := filepath.Join(t.TempDir(), "lake")
	args := []string{"export", dir, "--to", "2026-03-08", "--lease-ttl", "2s"}
	killed := startExport(t, bin, env, args...)
	waitForLease(t, dir)
	if err := killed.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = killed.Wait()
	begin := time.Now()
	next := startExport(t, bin, env, append(args, "--wait", "1m")...)
	if err := next.Wait(); err != nil {
		t.Fatalf("run after the kill: %v\n%s", err, next.Stderr)
	}
	if took := time.Since(begin); took > 45*time.Second {
		t.Errorf("the takeover took %v", took)
	}
	if !strings.Contains(next.Stderr.(*strings.Builder).String(), "took over the lease") {
		t.Errorf("the run did not say it took over a dead run's lease:\n%s", next.Stderr)
	}
	sameLakes(t, lakeRowsByKey(t, dir), want)
	noStaged(t, dir)
	if code, out, errOut := run(t, "verify", dir); code != 0 {
		t.Fatalf("verify: exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestVerifyDuplicates: two runs that wrote the same rows without one
// superseding the other (as two exports did before the lease) fail verify,
// which names both runs.
func TestVerifyDuplicates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lake")
	writeSampleLake(t, dir)
	if code, out, _ := run(t, "verify", dir); code != 0 {
		t.Fatalf("verify of one run: %d %s", code, out)
	}
	writeSampleLake(t, dir)
	l := openLake(t, dir)
	code, out, errOut := run(t, "verify", dir)
	if code != 1 || !strings.Contains(errOut, "more than once") {
		t.Fatalf("verify: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, m := range l.Manifests {
		if !strings.Contains(out, m.RunID) {
			t.Errorf("verify does not name run %s:\n%s", m.RunID, out)
		}
	}
	if !strings.Contains(out, "FAIL observations: 40 row(s) in more than one live file") {
		t.Errorf("verify output:\n%s", out)
	}
}

// TestExportEvery: export --incremental --every runs cycles, each one
// committed run, and stops cleanly (exit 0) on SIGTERM between cycles.
func TestExportEvery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildLakefuse(t)
	env := leaseEnv(t)
	dir := filepath.Join(t.TempDir(), "lake")
	if cmd := startExport(t, bin, env, "export", dir, "--every", "1s"); cmd.Wait() == nil || cmd.ProcessState.ExitCode() != 2 {
		t.Fatalf("--every without --incremental: %v %s", cmd.ProcessState, cmd.Stderr)
	}
	cmd := startExport(t, bin, env, "export", dir, "--incremental", "--every", "1s")
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if m, _ := filepath.Glob(filepath.Join(dir, "_lakefuse", "manifests", "*.json")); len(m) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("fewer than 3 cycles in 2 minutes: %s", cmd.Stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Stop it while it waits for the next cycle: right after a commit.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("after SIGTERM: %v\n%s\n%s", err, cmd.Stdout, cmd.Stderr)
	}
	if out := cmd.Stdout.(*strings.Builder).String(); !strings.Contains(out, "stopped; 0 cycle(s) failed") {
		t.Errorf("output:\n%s", out)
	}
	if code, out, errOut := run(t, "verify", dir); code != 0 {
		t.Fatalf("verify: exit %d\n%s\n%s", code, out, errOut)
	}
	noStaged(t, dir)
}
