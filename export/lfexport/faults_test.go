package lfexport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/hive"
	lf "github.com/lakefuse/lakefuse/internal/langfuse"
	"github.com/lakefuse/lakefuse/internal/lftest"
	"github.com/lakefuse/lakefuse/internal/lftest/lftesting"
	"github.com/lakefuse/lakefuse/schema"
)

// With 20% of requests failing in every injected way, the lake is the
// same as without faults.
func TestExportUnderFaults(t *testing.T) {
	for _, mode := range []lftest.Mode{lftest.V4, lftest.V3} {
		t.Run(mode.String(), func(t *testing.T) {
			p := lftest.Generate(21, lftest.SizeSmall)
			faults := lftest.Faults{Seed: 5, RetryAfter: time.Millisecond, SlowDelay: 20 * time.Millisecond, Rates: map[lftest.FaultKind]float64{
				lftest.Fault429: 0.04, lftest.Fault500: 0.03, lftest.Fault502: 0.03, lftest.Fault503: 0.03,
				lftest.FaultReset: 0.03, lftest.FaultSlow: 0.01, lftest.FaultTruncate: 0.03}}
			s, k := lftesting.ServeProject(t, lftest.Options{Mode: mode, Faults: faults}, p)
			b := bucket.NewMemory()
			export(t, b, Options{Client: client(t, s, k)})
			st := s.Stats()
			n := 0
			for _, c := range st.Faults {
				n += c
			}
			if n < st.Total/10 {
				t.Fatalf("only %d of %d requests failed: the test does not exercise faults", n, st.Total)
			}
			want := expectV4(p, true)
			if mode == lftest.V3 {
				want = expectV3(p, true)
			}
			compareLake(t, readLake(t, b), want)
		})
	}
}

// failingBucket refuses writes to keys with a prefix until healed.
type failingBucket struct {
	bucket.Bucket
	prefix string
	broken bool
}

var errRefused = errors.New("bucket refuses writes (test)")

func (f *failingBucket) NewWriter(ctx context.Context, key string) (bucket.Writer, error) {
	if f.broken && strings.HasPrefix(key, f.prefix) {
		return nil, fmt.Errorf("write %s: %w", key, errRefused)
	}
	return f.Bucket.NewWriter(ctx, key)
}

// Move refuses like NewWriter: data files reach their table's directory by
// a move from the run's staging area.
func (f *failingBucket) Move(ctx context.Context, src, dst string) error {
	if f.broken && strings.HasPrefix(dst, f.prefix) {
		return fmt.Errorf("move to %s: %w", dst, errRefused)
	}
	return f.Bucket.Move(ctx, src, dst)
}

func noManifest(t *testing.T, b bucket.Bucket) {
	t.Helper()
	l, err := hive.Load(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Manifests) != 0 {
		t.Fatalf("a failed export committed %d manifest(s)", len(l.Manifests))
	}
}

// Failures end the export with an error naming the cause, commit nothing,
// and a rerun completes to the same lake as an undisturbed export.
func TestExportFailures(t *testing.T) {
	p := lftest.Generate(4, lftest.SizeSmall)
	s, k := serve(t, lftest.V4, p)
	ctx := context.Background()

	t.Run("bad keys", func(t *testing.T) {
		c, err := lf.New(lf.Config{BaseURL: s.URL(), PublicKey: "pk-lf-wrong", SecretKey: "sk-lf-wrong-secret"})
		if err != nil {
			t.Fatal(err)
		}
		b := bucket.NewMemory()
		_, err = Export(ctx, b, Options{Client: c})
		if !errors.Is(err, lf.ErrUnauthorized) || strings.Contains(err.Error(), "sk-lf-wrong-secret") {
			t.Fatalf("err = %v, want ErrUnauthorized without the secret", err)
		}
		noManifest(t, b)
	})
	t.Run("unreachable", func(t *testing.T) {
		c, err := lf.New(lf.Config{BaseURL: "http://127.0.0.1:1", PublicKey: "pk-lf-x", SecretKey: "sk-lf-x",
			Backoff: func(int) time.Duration { return time.Millisecond }})
		if err != nil {
			t.Fatal(err)
		}
		b := bucket.NewMemory()
		if _, err = Export(ctx, b, Options{Client: c}); !errors.Is(err, lf.ErrUnreachable) {
			t.Fatalf("err = %v, want ErrUnreachable", err)
		}
		noManifest(t, b)
	})
	t.Run("page fails for good", func(t *testing.T) {
		b := bucket.NewMemory()
		// The observations of one day fail every time; the days after it
		// (the walk goes newest first) are exported and checkpointed.
		s.SetFaults(lftest.Faults{Rates: map[lftest.FaultKind]float64{lftest.Fault500: 1}, Match: func(r *http.Request) bool {
			q := r.URL.Query()
			return r.URL.Path == "/api/public/v2/observations" && q.Get("limit") == "1000" && strings.HasPrefix(q.Get("fromStartTime"), "2026-03-04")
		}})
		c, err := lf.New(lf.Config{BaseURL: s.URL(), PublicKey: k.PublicKey, SecretKey: k.SecretKey, MaxRetries: 2,
			Backoff: func(int) time.Duration { return time.Millisecond }})
		if err != nil {
			t.Fatal(err)
		}
		_, err = Export(ctx, b, Options{Client: c, MaxWindowRows: 1 << 30, Now: fixedNow})
		if !errors.Is(err, lf.ErrServer) || !strings.Contains(err.Error(), "observations") {
			t.Fatalf("err = %v, want a server error naming the observations", err)
		}
		noManifest(t, b)
		s.SetFaults(lftest.Faults{})
		res := export(t, b, Options{Client: client(t, s, k)})
		if res.Resumed == "" {
			t.Error("the rerun did not resume the checkpoint")
		}
		compareLake(t, readLake(t, b), expectV4(p, true))
	})
	t.Run("bucket refuses writes", func(t *testing.T) {
		for _, prefix := range []string{"observations/", "_lakefuse/checkpoints/", "_lakefuse/manifests/", "_media/"} {
			t.Run(prefix, func(t *testing.T) {
				b := &failingBucket{Bucket: bucket.NewMemory(), prefix: prefix, broken: true}
				_, err := Export(ctx, b, Options{Client: client(t, s, k), Now: fixedNow})
				if !errors.Is(err, errRefused) {
					t.Fatalf("err = %v, want the bucket's refusal", err)
				}
				if prefix == "observations/" {
					// Data files reach their directory after the commit
					// point: the run is committed, its move unfinished.
					if !errors.Is(err, hive.ErrUnpublished) {
						t.Fatalf("err = %v, want ErrUnpublished", err)
					}
				} else {
					noManifest(t, b)
				}
				b.broken = false
				export(t, b, Options{Client: client(t, s, k)})
				compareLake(t, readLake(t, b), expectV4(p, true))
			})
		}
	})
}

func fixedNow() time.Time { return lftest.DefaultEnd.Add(time.Hour) }

// A run killed after its manifest was written but before it deleted its
// checkpoint is committed: the next export starts afresh instead of
// failing to resume it.
func TestCheckpointOfCommittedRun(t *testing.T) {
	p := lftest.Generate(4, lftest.SizeSmall)
	s, k := serve(t, lftest.V4, p)
	ctx := context.Background()
	b := bucket.NewMemory()
	res := export(t, b, Options{Client: client(t, s, k)})
	// Put back a checkpoint of the committed run, as a kill before its
	// deletion leaves it.
	tables := schema.Names()
	sort.Strings(tables)
	src, _ := json.Marshal(state{Format: stateFormat, Request: request{URL: client(t, s, k).BaseURL(), ProjectID: res.ProjectID, Tables: tables}})
	if err := hive.SaveCheckpoint(ctx, b, &hive.Checkpoint{Run: hive.RunState{RunID: res.Manifest.RunID}, Source: src}); err != nil {
		t.Fatal(err)
	}
	export(t, b, Options{Client: client(t, s, k)})
	compareLake(t, readLake(t, b), expectV4(p, true))
	if ids, _ := hive.Checkpoints(ctx, b); len(ids) != 0 {
		t.Errorf("checkpoints left: %v", ids)
	}
}
