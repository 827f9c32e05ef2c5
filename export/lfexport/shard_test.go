package lfexport

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/hive"
	lf "github.com/lakefuse/lakefuse/internal/langfuse"
	"github.com/lakefuse/lakefuse/internal/lftest"
	"github.com/lakefuse/lakefuse/schema"
)

func TestParseShard(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "JOB_COMPLETION_INDEX" {
				return v
			}
			return ""
		}
	}
	for _, c := range []struct {
		in, env string
		want    Shard
		err     string
	}{
		{in: "1/4", want: Shard{1, 4}},
		{in: "4/4", want: Shard{4, 4}},
		{in: " 2/3 ", want: Shard{2, 3}},
		{in: "1/1", want: Shard{1, 1}},
		{in: "job/4", env: "0", want: Shard{1, 4}},
		{in: "job/4", env: "3", want: Shard{4, 4}},
		{in: "0/4", err: "count from 1"},
		{in: "5/4", err: "at most 4"},
		{in: "1/0", err: "at least 1"},
		{in: "x", err: "i/n"},
		{in: "1/x", err: "i/n"},
		{in: "-1/4", err: "count from 1"},
		{in: "job/4", env: "", err: "JOB_COMPLETION_INDEX"},
		{in: "job/4", env: "4", err: "at most 4"},
		{in: "job/4", env: "x", err: "JOB_COMPLETION_INDEX"},
	} {
		got, err := ParseShard(c.in, env(c.env))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseShard(%q, JOB_COMPLETION_INDEX=%q) = %v, %v; want an error containing %q", c.in, c.env, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseShard(%q, JOB_COMPLETION_INDEX=%q) = %v, %v; want %v", c.in, c.env, got, err, c.want)
		}
	}
}

// The n parts of a window are disjoint, whole UTC days, and their union is
// the window.
func TestShardWindows(t *testing.T) {
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for days := 1; days <= 10; days++ {
		to := from.AddDate(0, 0, days)
		for n := 1; n <= days; n++ {
			next := from
			for i := 1; i <= n; i++ {
				f, tt := hive.ShardWindow(from, to, i, n)
				if !f.Equal(next) || !tt.After(f) || tt.Sub(f)%(24*time.Hour) != 0 {
					t.Fatalf("%d days, shard %d/%d: [%v, %v), want a non-empty run of whole days from %v", days, i, n, f, tt, next)
				}
				next = tt
			}
			if !next.Equal(to) {
				t.Fatalf("%d days in %d shards end at %v, want %v", days, n, next, to)
			}
		}
	}
}

func TestShardOptionsRefused(t *testing.T) {
	p := lftest.Generate(3, lftest.SizeSmall)
	s, k := serve(t, lftest.V4, p)
	c := client(t, s, k)
	from, to := lftest.DefaultEnd.AddDate(0, 0, -3), lftest.DefaultEnd
	for _, tc := range []struct {
		name string
		o    Options
		err  string
	}{
		{"no from", Options{To: to, Shard: &Shard{1, 2}}, "--from"},
		{"incremental", Options{Incremental: true, Shard: &Shard{1, 2}}, "--incremental"},
		{"more shards than days", Options{From: from, To: to, Shard: &Shard{1, 4}}, "3 days"},
		{"bad index", Options{From: from, To: to, Shard: &Shard{0, 2}}, "count from 1"},
		{"media", Options{From: from, To: to, Tables: []string{"media"}, Shard: &Shard{1, 2}}, "media"},
		{"to in the future", Options{From: from, To: to.Add(30 * time.Hour), Shard: &Shard{1, 2}}, "ended"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Client = c
			tc.o.Now = func() time.Time { return lftest.DefaultEnd.Add(time.Hour) }
			_, err := Export(context.Background(), bucket.NewMemory(), tc.o)
			if !errors.Is(err, ErrOptions) || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err = %v, want ErrOptions naming %q", err, tc.err)
			}
		})
	}
}

// shardWindow is the window of the shard tests: longer than the generated
// data, so that an export of it holds everything.
var shardFrom, shardTo = lftest.DefaultEnd.AddDate(0, 0, -8), lftest.DefaultEnd

// exportShards runs the given shards of n concurrently into b.
func exportShards(t *testing.T, b bucket.Bucket, o Options, n int, which ...int) []*Result {
	t.Helper()
	res := make([]*Result, len(which))
	errs := make([]error, len(which))
	var wg sync.WaitGroup
	for j, i := range which {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := o
			o.Shard = &Shard{Index: i, Count: n}
			o.Lease.Wait = 0 // shards of one export never wait for each other
			o.Now = func() time.Time { return lftest.DefaultEnd.Add(time.Hour) }
			res[j], errs[j] = Export(context.Background(), b, o)
		}()
	}
	wg.Wait()
	for j, err := range errs {
		if err != nil {
			t.Fatalf("shard %d/%d: %v", which[j], n, err)
		}
	}
	return res
}

// Shards 1/4..4/4, run at the same time into one lake, leave the lake one
// unsharded export of the same window leaves: the same rows of every table,
// by key and content, each once.
func TestShardsEqualUnsharded(t *testing.T) {
	for _, mode := range []lftest.Mode{lftest.V4, lftest.V3} {
		t.Run(mode.String(), func(t *testing.T) {
			p := lftest.Generate(11, lftest.SizeSmall)
			s, k := serve(t, mode, p)
			c := client(t, s, k)

			whole := bucket.NewMemory()
			export(t, whole, Options{Client: c, From: shardFrom, To: shardTo})
			want := readLake(t, whole)

			b := bucket.NewMemory()
			// An earlier unsharded export: the shards replace it.
			export(t, b, Options{Client: c, From: shardFrom, To: shardTo})
			res := exportShards(t, b, Options{Client: c, From: shardFrom, To: shardTo}, 4, 1, 2, 3, 4)
			for i, r := range res {
				sh := r.Manifest.Shard
				if sh == nil || sh.Index != i+1 || sh.Count != 4 || !sh.Window.From.Equal(shardFrom) || !sh.Window.To.Equal(shardTo) {
					t.Errorf("shard %d's manifest records %+v", i+1, sh)
				}
				for name := range r.Manifest.Tables {
					if tab, _ := schema.Lookup(name); !tab.Partitioned() && i != 0 {
						t.Errorf("shard %d/4 exported the snapshot table %s; only shard 1 does", i+1, name)
					}
				}
			}
			// The media table is a snapshot fed by every shard's traces: it
			// is exported by one unsharded run after the shards.
			export(t, b, Options{Client: c, From: shardFrom, To: shardTo, Tables: []string{"media"}})
			got := readLake(t, b)
			compareLake(t, got, want)
			l, err := hive.Open(context.Background(), b)
			if err != nil {
				t.Fatal(err)
			}
			for _, tab := range schema.Names() {
				if _, n, err := l.Duplicates(context.Background(), tab, 1); err != nil || n > 0 {
					t.Errorf("table %s: %d duplicates, err %v", tab, n, err)
				}
			}
			if gaps := l.IncompleteShards(); len(gaps) > 0 {
				t.Errorf("incomplete sharded exports reported: %+v", gaps)
			}
		})
	}
}

// A sharded export with a shard missing is reported, naming the shard and
// its days, until the shard commits.
func TestShardMissingReported(t *testing.T) {
	p := lftest.Generate(12, lftest.SizeSmall)
	s, k := serve(t, lftest.V4, p)
	c := client(t, s, k)
	b := bucket.NewMemory()
	o := Options{Client: c, From: shardFrom, To: shardTo, Tables: []string{"observations", "traces", "scores", "prompts"}}
	exportShards(t, b, o, 4, 1, 2, 4)
	l, err := hive.Open(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	gaps := l.IncompleteShards()
	if len(gaps) != 1 || len(gaps[0].Missing) != 1 || gaps[0].Missing[0] != 3 || gaps[0].Count != 4 {
		t.Fatalf("gaps = %+v, want shard 3/4 missing", gaps)
	}
	msg := gaps[0].String()
	f3, t3 := hive.ShardWindow(shardFrom, shardTo, 3, 4)
	for _, want := range []string{"3/4", hive.DateOf(f3), hive.DateOf(t3.Add(-time.Nanosecond))} {
		if !strings.Contains(msg, want) {
			t.Errorf("report %q does not name %s", msg, want)
		}
	}
	exportShards(t, b, o, 4, 3)
	if l, err = hive.Open(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if gaps := l.IncompleteShards(); len(gaps) > 0 {
		t.Errorf("after shard 3 committed: %+v", gaps)
	}
}

// An incremental export after a sharded one with a shard missing starts
// before the missing shard's days, and the lake is whole again.
func TestShardMissingFilledByIncremental(t *testing.T) {
	p := lftest.Generate(13, lftest.SizeSmall)
	s, k := serve(t, lftest.V4, p)
	c := client(t, s, k)
	b := bucket.NewMemory()
	tables := []string{"observations", "traces", "sessions", "scores", "prompts"}
	exportShards(t, b, Options{Client: c, From: shardFrom, To: shardTo, Tables: tables}, 4, 1, 3, 4)
	res := export(t, b, Options{Client: c, Incremental: true, Tables: tables})
	f2, _ := hive.ShardWindow(shardFrom, shardTo, 2, 4)
	if w := res.Manifest.Window.From; w == nil || w.After(f2.Add(-DefaultLookback)) {
		t.Errorf("incremental window starts at %v, want at most %v (the missing shard's start minus the lookback)", w, f2.Add(-DefaultLookback))
	}
	l, err := hive.Open(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	if gaps := l.IncompleteShards(); len(gaps) > 0 {
		t.Errorf("after the incremental export: %+v", gaps)
	}
	whole := bucket.NewMemory()
	export(t, whole, Options{Client: c, From: shardFrom, To: shardTo, Tables: tables})
	compareLake(t, readLake(t, b), readLake(t, whole))
}

// A sharded export and an unsharded one exclude each other; so do shards of
// two different sharded exports.
func TestShardLeases(t *testing.T) {
	ctx := context.Background()
	b := bucket.NewMemory()
	group := "project p, 2026-03-01 – 2026-03-05, 4 shards"
	s1, _, err := hive.AcquireLease(ctx, b, hive.LeaseOptions{Holder: "shard 1", Shard: 1, Group: group})
	if err != nil {
		t.Fatal(err)
	}
	// A sibling shard runs alongside.
	s2, _, err := hive.AcquireLease(ctx, b, hive.LeaseOptions{Holder: "shard 2", Shard: 2, Group: group})
	if err != nil {
		t.Fatalf("sibling shard: %v", err)
	}
	// The same shard twice, a shard of another export and an unsharded run are refused.
	for _, o := range []hive.LeaseOptions{
		{Holder: "shard 1 again", Shard: 1, Group: group},
		{Holder: "other export", Shard: 3, Group: "another window"},
		{Holder: "unsharded"},
	} {
		if _, _, err := hive.AcquireLease(ctx, b, o); !errors.Is(err, hive.ErrLeaseHeld) || !strings.Contains(err.Error(), "shard ") {
			t.Errorf("%s: err = %v, want ErrLeaseHeld naming a shard's holder", o.Holder, err)
		}
	}
	if err := s1.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s2.Release(ctx); err != nil {
		t.Fatal(err)
	}
	whole, _, err := hive.AcquireLease(ctx, b, hive.LeaseOptions{Holder: "unsharded"})
	if err != nil {
		t.Fatalf("after the shards: %v", err)
	}
	if _, _, err := hive.AcquireLease(ctx, b, hive.LeaseOptions{Holder: "shard", Shard: 1, Group: group}); !errors.Is(err, hive.ErrLeaseHeld) || !strings.Contains(err.Error(), "unsharded") {
		t.Errorf("shard while an unsharded run holds the lake: err = %v", err)
	}
	if err := whole.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := hive.AcquireLease(ctx, b, hive.LeaseOptions{Holder: "shard", Shard: 1, Group: group}); err != nil {
		t.Errorf("shard after the unsharded run: %v", err)
	}
}

// A shard that fails while its siblings run is resumed by the same command:
// the siblings neither clean up its files nor abandon its checkpoint.
func TestShardResumesBesideSiblings(t *testing.T) {
	p := lftest.Generate(14, lftest.SizeSmall)
	s, k := serve(t, lftest.V4, p)
	ctx := context.Background()
	f3, _ := hive.ShardWindow(shardFrom, shardTo, 3, 4)
	day := hive.DateOf(f3) // shard 3's older day; its newer one is done first
	s.SetFaults(lftest.Faults{Rates: map[lftest.FaultKind]float64{lftest.Fault500: 1}, Match: func(r *http.Request) bool {
		q := r.URL.Query()
		return r.URL.Path == "/api/public/v2/observations" && q.Get("limit") == "1000" && strings.HasPrefix(q.Get("fromStartTime"), day)
	}})
	failing, err := lf.New(lf.Config{BaseURL: s.URL(), PublicKey: k.PublicKey, SecretKey: k.SecretKey, MaxRetries: 2,
		Backoff: func(int) time.Duration { return time.Millisecond }})
	if err != nil {
		t.Fatal(err)
	}
	b := bucket.NewMemory()
	o := Options{From: shardFrom, To: shardTo, Now: fixedNow}
	o3 := o
	o3.Client, o3.Shard = failing, &Shard{3, 4}
	if _, err := Export(ctx, b, o3); !errors.Is(err, ErrIncomplete) {
		t.Fatalf("shard 3/4 with failing requests: %v", err)
	}
	// The siblings start after it failed: its checkpoint and staged files
	// are there for them to see.
	exportShards(t, b, Options{Client: client(t, s, k), From: shardFrom, To: shardTo}, 4, 1, 2, 4)
	l, err := hive.Open(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if gaps := l.IncompleteShards(); len(gaps) != 1 || !slices.Equal(gaps[0].Missing, []int{3}) {
		t.Fatalf("gaps = %+v, want shard 3 missing", gaps)
	}
	s.SetFaults(lftest.Faults{})
	o.Client, o.Shard = client(t, s, k), &Shard{3, 4}
	res, err := Export(ctx, b, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Resumed == "" {
		t.Error("shard 3 did not resume its checkpoint")
	}
	export(t, b, Options{Client: client(t, s, k), From: shardFrom, To: shardTo, Tables: []string{"media"}})
	whole := bucket.NewMemory()
	export(t, whole, Options{Client: client(t, s, k), From: shardFrom, To: shardTo})
	compareLake(t, readLake(t, b), readLake(t, whole))
}

// A shard refuses while a shard of another sharded export (another window)
// is at work.
func TestShardOfAnotherExportRefused(t *testing.T) {
	p := lftest.Generate(3, lftest.SizeSmall)
	s, k := serve(t, lftest.V4, p)
	ctx := context.Background()
	b := bucket.NewMemory()
	other, _, err := hive.AcquireLease(ctx, b, hive.LeaseOptions{Holder: "lakefuse export --shard 2/2", Shard: 2, Group: "export of another window"})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Release(ctx)
	_, err = Export(ctx, b, Options{Client: client(t, s, k), From: shardFrom, To: shardTo, Shard: &Shard{1, 2}, Now: fixedNow})
	if !errors.Is(err, hive.ErrLeaseHeld) || !strings.Contains(err.Error(), "another window") {
		t.Fatalf("err = %v, want ErrLeaseHeld naming the other export", err)
	}
}

// A v4 trace whose root lies in one shard's days and whose child, in a later
// shard's days, carries trace-level values of its own (a tag, a newer user)
// gets the row an unsharded export derives: the shard holding the root folds
// in the trace's later rows.
func TestShardTraceAcrossBoundary(t *testing.T) {
	p := lftest.Generate(15, lftest.SizeSmall)
	_, t3 := hive.ShardWindow(shardFrom, shardTo, 2, 4) // shard 2 ends where shard 3 begins
	root := t3.Add(-time.Hour)
	child := t3.Add(2 * time.Hour)
	end := child.Add(time.Minute) // the root span encloses its child, as an agent's run does
	if err := p.AddObservations(
		&lftest.Observation{ID: "edge-root", TraceID: "edge-trace", Type: lftest.TypeSpan, Name: ptr("agent"), StartTime: root, EndTime: &end,
			Level: lftest.LevelDefault, Environment: "default", TraceName: ptr("edge"), UserID: ptr("u-early"), SessionID: ptr("edge-session"),
			CreatedAt: root, UpdatedAt: root},
		&lftest.Observation{ID: "edge-child", TraceID: "edge-trace", ParentObservationID: "edge-root", Type: lftest.TypeGeneration,
			StartTime: child, Level: lftest.LevelDefault, Environment: "default", UserID: ptr("u-late"), Tags: []string{"late-tag"},
			Public: true, Release: ptr("r2"), CreatedAt: child, UpdatedAt: child},
	); err != nil {
		t.Fatal(err)
	}
	s, k := serve(t, lftest.V4, p)
	c := client(t, s, k)
	tables := []string{"observations", "traces", "sessions"}
	whole := bucket.NewMemory()
	export(t, whole, Options{Client: c, From: shardFrom, To: shardTo, Tables: tables})
	want := readLake(t, whole)
	if tr, ok := want["traces"]["edge-trace"].(*schema.Trace); !ok || tr.UserID == nil || *tr.UserID != "u-late" || !slices.Equal(tr.Tags, []string{"late-tag"}) {
		t.Fatalf("the unsharded export's trace row is %+v: the test does not exercise a trace across shards", want["traces"]["edge-trace"])
	}
	b := bucket.NewMemory()
	exportShards(t, b, Options{Client: c, From: shardFrom, To: shardTo, Tables: tables}, 4, 1, 2, 3, 4)
	compareLake(t, readLake(t, b), want)
}
