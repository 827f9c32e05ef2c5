package lfexport

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/hive"
	"github.com/lakefuse/lakefuse/internal/lftest"
)

// TestContinuousMonth: a month of hourly incremental cycles on a fake
// clock, while late rows arrive (timestamps up to 30 hours old when they
// appear) and rows are updated, ends equal to one full export of the final
// state: every row once, each in its newest version.
func TestContinuousMonth(t *testing.T) {
	if testing.Short() {
		t.Skip("720 export cycles")
	}
	const days = 30
	p := lftest.Generate(21, lftest.Size{Traces: 60, ObservationsPerTrace: 3, PayloadBytes: 200, Days: days,
		ScoresPerTrace: 1, Sessions: 5, Users: 3})
	s, k := serve(t, lftest.V4, p)
	var mu sync.Mutex
	clock := lftest.DefaultEnd.Add(-days * 24 * time.Hour)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	b := bucket.NewMemory()
	late, updated := 0, 0
	onCycle := func(cycle int, res *Result, err error) {
		if err != nil {
			t.Fatalf("cycle %d: %v", cycle, err)
		}
		n := now()
		// Every 7 hours a trace arrives late, stamped 1 to 30 hours ago.
		if cycle%7 == 0 {
			at := n.Add(-time.Duration(1+cycle%30) * time.Hour)
			id := fmt.Sprintf("late-%04d", cycle)
			end := at.Add(time.Second)
			if err := p.UpsertTrace(&lftest.Trace{ID: id, Timestamp: at, Name: ptr("late"), Environment: "default",
				CreatedAt: at, UpdatedAt: n}); err != nil {
				t.Fatal(err)
			}
			if err := p.AddObservations(&lftest.Observation{ID: id + "-obs", TraceID: id, Type: lftest.TypeSpan, StartTime: at, EndTime: &end,
				Level: lftest.LevelDefault, Environment: "default", Name: ptr("late " + id), Input: lftest.JSONPayload(`{"late":true}`),
				CreatedAt: at, UpdatedAt: n}); err != nil {
				t.Fatal(err)
			}
			late++
		}
		// Every 11 hours a score of the last day gets a new comment (score
		// ingestion upserts by id).
		if cycle%11 == 0 {
			for _, sc := range p.Scores() {
				if sc.Timestamp.Before(n) && n.Sub(sc.Timestamp) < 40*time.Hour {
					s2 := *sc
					s2.Comment = ptr(fmt.Sprintf("updated in cycle %d", cycle))
					s2.UpdatedAt = n
					p.AddScores(&s2)
					updated++
					break
				}
			}
		}
	}
	sleep := func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		clock = clock.Add(d)
		mu.Unlock()
		return nil
	}
	c := client(t, s, k)
	begin := time.Now()
	err := Continuous(context.Background(), b, Options{Client: c, Now: now, Tables: []string{"traces", "observations", "scores", "sessions"}},
		Schedule{Every: time.Hour, Cycles: days * 24, Sleep: sleep, OnCycle: onCycle})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d hourly cycles in %v; %d late traces, %d updates", days*24, time.Since(begin), late, updated)
	if late < 90 || updated < 40 {
		t.Fatalf("only %d late traces and %d updates", late, updated)
	}
	l, err := hive.Open(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Manifests) != days*24 {
		t.Errorf("%d committed runs, want one per cycle (%d)", len(l.Manifests), days*24)
	}

	full := bucket.NewMemory()
	export(t, full, Options{Client: c, Now: now, Tables: []string{"traces", "observations", "scores", "sessions"}})
	want := readLake(t, full)
	got := readLake(t, b)
	for _, table := range []string{"traces", "observations", "scores", "sessions"} {
		if len(got[table]) != len(want[table]) {
			t.Errorf("%s: %d rows, the full export has %d", table, len(got[table]), len(want[table]))
		}
		bad := 0
		for key, w := range want[table] {
			if !reflect.DeepEqual(got[table][key], w) {
				if bad++; bad <= 3 {
					t.Errorf("%s %q differs:\n got %+v\nwant %+v", table, key, got[table][key], w)
				}
			}
		}
	}
}
