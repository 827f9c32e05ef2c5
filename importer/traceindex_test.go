package importer

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/schema"
)

func sp(s string) *string { return &s }

// TestTraceIndex checks lookups through hash collisions, replaced rows,
// records longer than one read, cache eviction and the seen marks.
func TestTraceIndex(t *testing.T) {
	for _, collide := range []bool{false, true} {
		t.Run(fmt.Sprintf("collide=%v", collide), func(t *testing.T) {
			ix, err := newTraceIndex()
			if err != nil {
				t.Fatal(err)
			}
			defer ix.close()
			if collide {
				ix.hash = func(s string) uint64 { return uint64(len(s) % 3) }
			}
			ix.cacheSize = 7
			want := map[string]*schema.Trace{}
			for i := range 200 {
				tr := &schema.Trace{ID: fmt.Sprintf("trace-%d", i), Timestamp: time.Unix(int64(i), 0).UTC(), Name: sp(fmt.Sprintf("name %d ✓", i)),
					Public: i%2 == 0, Tags: []string{"a", fmt.Sprint(i)}}
				switch i % 5 {
				case 0:
					tr.Input, tr.Output = sp(`{"q":"こんにちは"}`), sp("")
				case 1:
					tr.UserID, tr.SessionID, tr.Release, tr.Version = sp("u"), sp("s"), sp("r"), sp("")
				case 2:
					tr.Tags = []string{strings.Repeat("long tag ", 100), ""} // a record over one 512-byte read
					tr.Metadata = sp(`{"m":1}`)
				case 3:
					tr.Tags = nil
				}
				if err := ix.add(tr); err != nil {
					t.Fatal(err)
				}
				want[tr.ID] = tr
			}
			// A later row of the same trace replaces the earlier one.
			again := &schema.Trace{ID: "trace-7", Name: sp("renamed")}
			if err := ix.add(again); err != nil {
				t.Fatal(err)
			}
			want["trace-7"] = again

			check := func(id string, a *traceAttrs) {
				t.Helper()
				tr := want[id]
				got := []any{a.name, a.user, a.session, a.release, a.version, a.public}
				exp := []any{tr.Name, tr.UserID, tr.SessionID, tr.Release, tr.Version, tr.Public}
				if !reflect.DeepEqual(got, exp) || !reflect.DeepEqual(a.tags, tr.Tags) && (len(a.tags) != 0 || len(tr.Tags) != 0) {
					t.Fatalf("%s: attributes %v %v, want %v %v", id, got, a.tags, exp, tr.Tags)
				}
				p, err := ix.payload(a)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(p, &tracePayload{tr.Input, tr.Output, tr.Metadata}) {
					t.Fatalf("%s: payload %+v", id, p)
				}
			}
			// Observations of every third trace, each looked up twice, far
			// apart, so that the small cache is emptied in between.
			for round := range 2 {
				for i := 0; i < 200; i += 3 {
					id := fmt.Sprintf("trace-%d", i)
					a, err := ix.attrsFor(&schema.Observation{TraceID: &id, TraceName: sp("ignored: the row wins")})
					if err != nil {
						t.Fatal(err)
					}
					if !a.seen {
						t.Fatalf("round %d: %s not marked seen", round, id)
					}
					check(id, a)
				}
			}
			// An observation whose trace has no row uses its own context.
			orphan := "no-such-trace"
			a, err := ix.attrsFor(&schema.Observation{TraceID: &orphan, TraceName: sp("from the observation"), Tags: []string{"x"}})
			if err != nil {
				t.Fatal(err)
			}
			if a.name == nil || *a.name != "from the observation" || a.payloadOff != -1 || !reflect.DeepEqual(a.tags, []string{"x"}) {
				t.Fatalf("orphan attributes %+v", a)
			}
			for i := range 200 {
				id := fmt.Sprintf("trace-%d", i)
				a, seen, err := ix.row(id)
				if err != nil || a == nil {
					t.Fatalf("%s: %v %v", id, a, err)
				}
				if seen != (i%3 == 0) {
					t.Fatalf("%s: seen %v", id, seen)
				}
				check(id, a)
			}
			if a, _, err := ix.row(orphan); a != nil || err != nil {
				t.Fatalf("a trace without a row: %v %v", a, err)
			}
			if collide && len(ix.dup) == 0 {
				t.Fatal("the forced collisions did not reach the overflow map")
			}
		})
	}
}
