package importer

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestInSlices: the parts are consecutive, whole milliseconds inside, and
// cover [from, to) exactly; a narrow window is one part; an error of any
// part is returned.
func TestInSlices(t *testing.T) {
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	to := from.Add(7*24*time.Hour + 3*time.Millisecond)
	var mu sync.Mutex
	var parts [][2]time.Time
	err := inSlices(context.Background(), from, to, 4, func(_ context.Context, a, b time.Time) error {
		mu.Lock()
		defer mu.Unlock()
		parts = append(parts, [2]time.Time{a, b})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(parts, func(x, y [2]time.Time) int { return x[0].Compare(y[0]) })
	if len(parts) != 4 || !parts[0][0].Equal(from) || !parts[3][1].Equal(to) {
		t.Fatalf("parts %v of [%v, %v)", parts, from, to)
	}
	for i := 1; i < len(parts); i++ {
		if !parts[i][0].Equal(parts[i-1][1]) || parts[i][0].Nanosecond()%int(time.Millisecond) != 0 {
			t.Errorf("part %d starts at %v, the one before ends at %v", i, parts[i][0], parts[i-1][1])
		}
	}
	n := 0
	_ = inSlices(context.Background(), from, from.Add(2*time.Millisecond), 4, func(context.Context, time.Time, time.Time) error { n++; return nil })
	if n != 1 {
		t.Errorf("a 2 ms window in %d parts, want 1", n)
	}
	boom := errors.New("boom")
	err = inSlices(context.Background(), from, to, 3, func(_ context.Context, a, _ time.Time) error {
		if a.Equal(from) {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Errorf("error %v, want boom", err)
	}
}
