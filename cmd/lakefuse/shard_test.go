package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Bad --shard values are refused before anything is read, each with a
// message that says what is wanted.
func TestShardFlagRefused(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("JOB_COMPLETION_INDEX", "")
	for _, c := range []struct{ shard, want string }{
		{"0/4", "count from 1"},
		{"5/4", "at most 4"},
		{"1/0", "at least 1"},
		{"x", "i/n"},
		{"job/4", "JOB_COMPLETION_INDEX"},
	} {
		code, _, errOut := run(t, "export", dir, "--shard", c.shard, "--from", "2026-03-01", "--to", "2026-03-05")
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("--shard %s: exit %d, %q; want 2 and %q", c.shard, code, errOut, c.want)
		}
	}
}

// TestShardProcesses: four processes export shards 1/4..4/4 of one window
// at the same time into one lake, then one unsharded run the media table;
// the lake equals an unsharded export's, verifies, and ls names the shards.
// With a shard missing, verify fails and ls says which.
func TestShardProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs several exports")
	}
	bin := buildLakefuse(t)
	env := leaseEnv(t)
	window := []string{"--from", "2026-02-21", "--to", "2026-03-07"} // 14 days: 3, 4, 3 and 4 per shard
	ref := filepath.Join(t.TempDir(), "ref")
	if cmd := startExport(t, bin, env, append([]string{"export", ref}, window...)...); cmd.Wait() != nil {
		t.Fatalf("reference export: %s", cmd.Stderr)
	}
	want := lakeRowsByKey(t, ref)

	shards := func(dir string, which ...string) {
		t.Helper()
		var cmds []*exec.Cmd
		for _, i := range which {
			cmds = append(cmds, startExport(t, bin, env, append([]string{"export", dir, "--shard", i + "/4"}, window...)...))
		}
		for i, c := range cmds {
			if err := c.Wait(); err != nil {
				t.Fatalf("shard %s/4: %v\n%s", which[i], err, c.Stderr)
			}
		}
	}
	dir := filepath.Join(t.TempDir(), "lake")
	shards(dir, "1", "2", "3", "4")
	if cmd := startExport(t, bin, env, append([]string{"export", dir, "--tables", "media"}, window...)...); cmd.Wait() != nil {
		t.Fatalf("media export: %s", cmd.Stderr)
	}
	sameLakes(t, lakeRowsByKey(t, dir), want)
	noStaged(t, dir)
	if code, out, errOut := run(t, "verify", dir); code != 0 {
		t.Fatalf("verify: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ := run(t, "ls", dir)
	if code != 0 || !strings.Contains(out, "(shard 4/4)") || strings.Contains(out, "incomplete") {
		t.Errorf("ls: exit %d\n%s", code, out)
	}

	part := filepath.Join(t.TempDir(), "part")
	shards(part, "1", "2", "4")
	code, out, errOut := run(t, "verify", part)
	if code == 0 || !strings.Contains(out, "shard 3/4 (2026-02-28 – 2026-03-02)") || !strings.Contains(errOut, "lack a shard") {
		t.Errorf("verify with shard 3/4 missing: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = run(t, "ls", part)
	if code != 0 || !strings.Contains(out, "incomplete: 1 sharded export") || !strings.Contains(out, "shard 3/4") {
		t.Errorf("ls with shard 3/4 missing: exit %d\n%s", code, out)
	}
}
