package main

import (
	"strings"
	"testing"

	"github.com/lakefuse/lakefuse/internal/gcstest"
	"github.com/lakefuse/lakefuse/internal/lftest"
)

// TestRoundTripOnGCS is TestRoundTrip with the lake in a gs:// bucket on the
// GCS emulator (the JSON API driver, as with Application Default
// Credentials): migrate exports, imports and verifies through it, and the
// result differs from the source exactly as it does through a local lake.
func TestRoundTripOnGCS(t *testing.T) {
	srv := gcstest.Start(t)
	srv.Env(t)
	mode := lftest.V4
	rt := newRoundTrip(t, mode)
	bkt := srv.NewBucket(t, "lake")
	rt.lakeA = "gs://" + bkt + "/exports/a"
	code, out, errOut := run(t, rt.migrateArgs()...)
	if code != 0 {
		t.Fatalf("migrate through %s: exit %d\n%s\n%s", rt.lakeA, code, out, errOut)
	}
	checkRoundTrip(t, rt, mode)
	if code, out, errOut := run(t, "verify", rt.lakeA); code != 0 {
		t.Fatalf("verify %s: exit %d\n%s\n%s", rt.lakeA, code, out, errOut)
	}
	code, out, errOut = run(t, "ls", rt.lakeA)
	if code != 0 || !strings.Contains(out, "observations") || !strings.Contains(out, rt.lakeA) {
		t.Fatalf("ls %s: exit %d\n%s\n%s", rt.lakeA, code, out, errOut)
	}
	// Every object is below the location's prefix, and nothing was left in
	// staging.
	keys := srv.Keys(t, bkt)
	if len(keys) < 10 {
		t.Fatalf("only %d objects in the bucket: %q", len(keys), keys)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "exports/a/") || strings.Contains(k, "_staging/") {
			t.Errorf("unexpected object %s", k)
		}
	}
	// A missing bucket: a clear error naming it.
	code, _, errOut = run(t, "ls", "gs://no-such-bucket-lakefuse/x")
	if code != 1 || !strings.Contains(errOut, "no-such-bucket-lakefuse") || !strings.Contains(errOut, "does not exist") {
		t.Fatalf("missing bucket: %d %q", code, errOut)
	}
}
