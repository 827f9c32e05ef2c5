package lfexport

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/hive"
	lf "github.com/lakefuse/lakefuse/internal/langfuse"
	"github.com/lakefuse/lakefuse/internal/lftest"
	"github.com/lakefuse/lakefuse/internal/lftest/lftesting"
	"github.com/lakefuse/lakefuse/schema"
)

func sha256b64(b []byte) string {
	s := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(s[:])
}

// serve starts a validated test server with a generated project.
func serve(t testing.TB, mode lftest.Mode, p *lftest.Project) (*lftest.Server, lftesting.Keys) {
	t.Helper()
	return lftesting.ServeProject(t, lftest.Options{Mode: mode}, p)
}

// client returns a client of the test server with instant backoff and many
// retries, for fault injection.
func client(t testing.TB, s *lftest.Server, k lftesting.Keys) *lf.Client {
	t.Helper()
	return clientFor(t, s.URL(), keys{k.ProjectID, k.PublicKey, k.SecretKey})
}

type keys struct{ ProjectID, PublicKey, SecretKey string }

func clientFor(t testing.TB, url string, k keys) *lf.Client {
	t.Helper()
	c, err := lf.New(lf.Config{BaseURL: url, PublicKey: k.PublicKey, SecretKey: k.SecretKey, MaxRetries: 30,
		Backoff: func(int) time.Duration { return time.Millisecond }, MaxWait: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// export runs an export with small files so that tests exercise rolling.
func export(t testing.TB, b bucket.Bucket, o Options) *Result {
	t.Helper()
	if o.Now == nil {
		o.Now = func() time.Time { return lftest.DefaultEnd.Add(time.Hour) }
	}
	res, err := Export(context.Background(), b, o)
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	return res
}

// readLake decodes every live row of the lake, keyed like the oracle.
func readLake(t testing.TB, b bucket.Bucket) expected {
	t.Helper()
	ctx := context.Background()
	l, err := hive.Open(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	got := expected{}
	for _, tab := range schema.Tables() {
		err := l.Scan(ctx, tab.Name, hive.ScanOptions{VerifyChecksum: true}, func(bt hive.Batch) error {
			d, err := schema.NewDecoder(tab, bt.Record.Schema())
			if err != nil {
				return err
			}
			for i := 0; i < int(bt.Record.NumRows()); i++ {
				row := tab.NewRow()
				if err := d.Decode(bt.Record, i, row); err != nil {
					return err
				}
				k, _ := tab.RowKey(row)
				if _, dup := got[tab.Name][k]; dup {
					t.Errorf("table %s: duplicate row %q", tab.Name, k)
				}
				got.add(tab, row)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return got
}
