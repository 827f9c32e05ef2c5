package hive

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/schema"
)

// A run's Transform sees every row before it is written, and its
// Redaction is recorded in the manifest.
func TestRunTransformAndRedaction(t *testing.T) {
	ctx := context.Background()
	b := bucket.NewMemory()
	red := &Redaction{PolicySHA256: "sha256:abc", Detectors: []string{"email"}, HMACKeyEnv: "K"}
	seen := 0
	m := writeRun(t, b, RunOptions{Kind: "test", Redaction: red, Transform: func(tb *schema.Table, row any) (any, error) {
		ev, ok := row.(*event)
		if !ok {
			return row, nil // writeRun's snapshot table
		}
		seen++
		e := *ev
		c := "scrubbed"
		e.Comment = &c
		return &e, nil
	}}, []string{"p"}, genEvents(20))
	if seen != 20 {
		t.Fatalf("Transform saw %d rows, want 20", seen)
	}
	if m.Redaction == nil || m.Redaction.PolicySHA256 != "sha256:abc" || m.Redaction.HMACKeyEnv != "K" {
		t.Fatalf("manifest redaction %+v", m.Redaction)
	}
	l, err := Open(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(l.Manifests[0])
	if !strings.Contains(string(js), `"redaction":{"policy_sha256":"sha256:abc"`) {
		t.Fatalf("stored manifest: %s", js)
	}
	err = ScanRows(ctx, l, func(_ Partition, e *event) error {
		if e.Comment == nil || *e.Comment != "scrubbed" {
			t.Fatalf("row %s written untransformed", e.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
