package lfexport

import (
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/internal/lftest"
)

// Repeated, windowed and incremental exports into one lake: a plain read of
// every table returns each row once, and the lake follows the server as
// late data arrives.
func TestExportRepeatedAndIncremental(t *testing.T) {
	for _, mode := range []lftest.Mode{lftest.V4, lftest.V3} {
		t.Run(mode.String(), func(t *testing.T) {
			p := lftest.Generate(9, lftest.SizeSmall)
			s, k := serve(t, mode, p)
			b := bucket.NewMemory()
			want := func() expected {
				if mode == lftest.V3 {
					return expectV3(p, true)
				}
				return expectV4(p, true)
			}
			c := client(t, s, k)
			export(t, b, Options{Client: c})
			export(t, b, Options{Client: c}) // the same export again
			compareLake(t, readLake(t, b), want())

			// A window in the middle re-exports two days.
			export(t, b, Options{Client: c, From: lftest.DefaultEnd.Add(-72 * time.Hour), To: lftest.DefaultEnd.Add(-36 * time.Hour)})
			compareLake(t, readLake(t, b), want())

			// Late data: a trace that arrives after the export, inside the lookback.
			late := lftest.DefaultEnd.Add(-5 * time.Hour)
			id := "late-trace-0001"
			if err := p.UpsertTrace(&lftest.Trace{ID: id, Timestamp: late, Name: ptr("late"), SessionID: ptr("late-session"),
				Environment: "default", Tags: []string{"late"}, Input: lftest.JSONPayload(`{"q":"遅延"}`),
				CreatedAt: late, UpdatedAt: late}); err != nil {
				t.Fatal(err)
			}
			if mode == lftest.V3 {
				p.AddSession(&lftest.Session{ID: "late-session", CreatedAt: late, Environment: "default"})
			}
			end := late.Add(time.Second)
			if err := p.AddObservations(
				&lftest.Observation{ID: "late-obs-1", TraceID: id, Type: lftest.TypeSpan, StartTime: late, EndTime: &end, Level: lftest.LevelDefault,
					Environment: "default", Input: lftest.JSONPayload(`{"q":"遅延"}`), CreatedAt: late, UpdatedAt: late},
				&lftest.Observation{ID: "late-obs-2", TraceID: id, ParentObservationID: "late-obs-1", Type: lftest.TypeGeneration, StartTime: end,
					Level: lftest.LevelDefault, Environment: "default", Output: lftest.TextPayload("ok"), CreatedAt: late, UpdatedAt: late},
			); err != nil {
				t.Fatal(err)
			}
			res := export(t, b, Options{Client: c, Incremental: true, Now: func() time.Time { return lftest.DefaultEnd.Add(2 * time.Hour) }})
			if w := res.Manifest.Window.From; w == nil || !w.Equal(lftest.DefaultEnd.Add(-48*time.Hour)) {
				t.Errorf("incremental window starts at %v, want %v (previous end minus 48h, at midnight)", w, lftest.DefaultEnd.Add(-48*time.Hour))
			}
			compareLake(t, readLake(t, b), want())
		})
	}
}
