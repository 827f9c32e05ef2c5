package importer

import (
	"fmt"
	"slices"
	"testing"
)

// TestIDSet: expected ids counted once however often they are added, each
// seen id counted once, and a shortfall names the missing ones, with their
// lake ids for the first keptLakeIDs only.
func TestIDSet(t *testing.T) {
	s := newIDSet()
	n := keptLakeIDs + 50
	for i := range n {
		s.add(fmt.Sprintf("dst-%d", i), fmt.Sprintf("lake-%d", i))
	}
	s.add("dst-7", "lake-7") // again
	if got := s.remaining(); got != n {
		t.Fatalf("remaining %d, want %d", got, n)
	}
	for i := range n {
		if i != 3 && i != n-1 {
			s.seen(fmt.Sprintf("dst-%d", i))
		}
	}
	s.seen("dst-5")        // twice
	s.seen("not-expected") // never added
	if got := s.remaining(); got != 2 {
		t.Fatalf("remaining %d, want 2", got)
	}
	var missing map[uint64]string
	sf := s.shortfall("observations", func(m map[uint64]string) []string { missing = m; return someMissing(m) })
	if sf == nil || sf.Missing != 2 || sf.Expected != int64(n) {
		t.Fatalf("shortfall %+v, want 2 of %d", sf, n)
	}
	want := map[uint64]string{idHash("dst-3"): "lake-3", idHash(fmt.Sprintf("dst-%d", n-1)): ""}
	if len(missing) != 2 || missing[idHash("dst-3")] != want[idHash("dst-3")] || missing[idHash(fmt.Sprintf("dst-%d", n-1))] != "" {
		t.Errorf("missing %v, want %v (no lake id past the first %d)", missing, want, keptLakeIDs)
	}
	if !slices.Equal(sf.Examples, []string{"lake-3"}) {
		t.Errorf("examples %v, want [lake-3]", sf.Examples)
	}
	s.seen("dst-3")
	s.seen(fmt.Sprintf("dst-%d", n-1))
	if s.shortfall("observations", someMissing) != nil {
		t.Error("a shortfall after every id was seen")
	}
}
