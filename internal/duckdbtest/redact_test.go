//go:build duckdb

package duckdbtest

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/hive"
	"github.com/lakefuse/lakefuse/redact"
	"github.com/lakefuse/lakefuse/schema"
)

// TestDuckDBRedactedLake writes traces and observations with personal data
// through a run that redacts them (as export and convert do) and checks
// with DuckDB that no raw value is left, every JSON column still parses,
// the placeholders are queryable and hashed ids still join.
func TestDuckDBRedactedLake(t *testing.T) {
	p, err := redact.ParsePolicy([]byte(`
version: 1
hmac_key_env: K
hash_ids: [trace, user]
tables:
  observations:
    input: {hash: ["$.customer"], drop: [password]}
`))
	if err != nil {
		t.Fatal(err)
	}
	red, err := redact.New(p, func(string) string { return "duckdb-test-key-0123456789" })
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "lake")
	ctx := context.Background()
	b, err := bucket.Open(ctx, dir, bucket.Options{})
	if err != nil {
		t.Fatal(err)
	}
	run, err := hive.NewRun(ctx, b, hive.RunOptions{Kind: "test", Transform: red.Row,
		Redaction: &hive.Redaction{PolicySHA256: red.PolicyHash(), Detectors: red.DetectorNames(), HMACKeyEnv: "K"}})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := func(v string) *string { return &v }
	for i := 0; i < 50; i++ {
		tid := fmt.Sprintf("trace-%03d", i)
		if err := run.Append(ctx, schema.Traces, "proj", &schema.Trace{ID: tid, Timestamp: at, UserID: s(fmt.Sprintf("user-%d", i%5)),
			Input: s(`"hello"`), Environment: "default"}); err != nil {
			t.Fatal(err)
		}
		in := fmt.Sprintf(`{"customer":{"name":"Quux %d"},"password":"pw-%d","text":"mail bob%d@example.com or call +44 20 7946 0958, card 4111-1111-1111-1111"}`, i, i, i)
		if err := run.Append(ctx, schema.Observations, "proj", &schema.Observation{ID: fmt.Sprintf("obs-%03d", i), TraceID: s(tid),
			Type: "SPAN", StartTime: at, Level: "DEFAULT", Environment: "default", Input: s(in), UserID: s(fmt.Sprintf("user-%d", i%5))}); err != nil {
			t.Fatal(err)
		}
	}
	m, err := run.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m.Redaction == nil || m.Redaction.PolicySHA256 != red.PolicyHash() {
		t.Fatalf("manifest redaction %+v", m.Redaction)
	}
	db := open(t)
	obs, traces := glob(dir, "observations"), glob(dir, "traces")
	for _, c := range []struct {
		q    string
		want int64
	}{
		{"SELECT count(*) FROM " + obs + " WHERE input LIKE '%example.com%' OR input LIKE '%Quux%' OR input LIKE '%pw-%' OR input LIKE '%4111%' OR input LIKE '%7946%'", 0},
		{"SELECT count(*) FROM " + obs + " WHERE NOT json_valid(input)", 0},
		{"SELECT count(*) FROM " + obs + " WHERE json_extract_string(input, '$.customer') LIKE '[HMAC:%]'", 50},
		{"SELECT count(*) FROM " + obs + " WHERE json_extract(input, '$.password') IS NULL", 50},
		{"SELECT count(*) FROM " + obs + " WHERE json_extract_string(input, '$.text') = 'mail [REDACTED:email] or call [REDACTED:phone], card [REDACTED:credit_card]'", 50},
		{"SELECT count(*) FROM " + obs + " o JOIN " + traces + " t ON o.trace_id = t.id AND o.user_id = t.user_id", 50},
		{"SELECT count(*) FROM " + traces + " WHERE id LIKE 'trace-%' OR user_id LIKE 'user-%'", 0},
		{"SELECT count(DISTINCT user_id) FROM " + traces, 5},
	} {
		var n int64
		if err := db.QueryRow(c.q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", c.q, err)
		}
		if n != c.want {
			t.Errorf("%s: %d, want %d", c.q, n, c.want)
		}
	}
}
