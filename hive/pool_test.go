package hive

import (
	"bytes"
	"context"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/schema"
)

func TestPoolAllocator(t *testing.T) {
	p := NewPoolAllocator()
	small := p.Allocate(100)
	if len(small) != 100 {
		t.Fatalf("small buffer of %d bytes", len(small))
	}
	b := p.Allocate(100 << 10)
	if len(b) != 100<<10 || cap(b) != 128<<10 {
		t.Fatalf("len %d cap %d, want 100 KiB in a 128 KiB class", len(b), cap(b))
	}
	for i := range b {
		b[i] = 0xff
	}
	// Reallocate within the capacity keeps the contents and zeroes the rest.
	b = p.Reallocate(120<<10, b)
	if b[100<<10-1] != 0xff || b[100<<10] != 0 || b[len(b)-1] != 0 {
		t.Fatal("Reallocate within the capacity: contents not kept or growth not zeroed")
	}
	// Beyond it, the contents move to a larger class.
	b = p.Reallocate(200<<10, b)
	if cap(b) != 256<<10 || b[0] != 0xff || b[120<<10] != 0 {
		t.Fatalf("Reallocate to a larger class: cap %d", cap(b))
	}
	for i := range b {
		b[i] = 0xee
	}
	p.Free(b)
	// A freed buffer comes back zeroed (sync.Pool may drop it; then it is new).
	c := p.Allocate(150 << 10)
	if !bytes.Equal(c, make([]byte, 150<<10)) {
		t.Fatal("a reused buffer is not zeroed")
	}
	p.Free(small) // not pooled, no panic
}

// TestScanPooled: a scan through the pool gives the rows a plain scan gives
// and allocates a fraction of what it allocates.
func TestScanPooled(t *testing.T) {
	ctx := context.Background()
	b := bucket.NewMemory()
	evs := genEvents(3000)
	wide := `{"text":"` + string(bytes.Repeat([]byte("x"), 8<<10)) + `"}`
	for i := range evs {
		evs[i].Body = ptr(wide)
	}
	writeRun(t, b, RunOptions{Kind: "test"}, []string{"p1"}, evs)
	l, err := Open(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	read := func(mem *PoolAllocator) (rows []event, alloc uint64) {
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		opts := ScanOptions{}
		if mem != nil {
			opts.Mem = mem
		}
		err := l.Scan(ctx, eventTable.Name, opts, func(bt Batch) error {
			d, err := schema.NewDecoder(eventTable, bt.Record.Schema())
			if err != nil {
				return err
			}
			for i := 0; i < int(bt.Record.NumRows()); i++ {
				var e event
				if err := d.Decode(bt.Record, i, &e); err != nil {
					return err
				}
				e.ID = string([]byte(e.ID)) // copies: the batch is reused
				e.Body = ptr(string([]byte(*e.Body)))
				for j, tag := range e.Tags {
					e.Tags[j] = string([]byte(tag))
				}
				if e.Comment != nil {
					e.Comment = ptr(string([]byte(*e.Comment)))
				}
				e.Usage, e.Cost = cloneKeys(e.Usage), cloneKeys(e.Cost) // map keys too
				rows = append(rows, e)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&ms1)
		return rows, ms1.TotalAlloc - ms0.TotalAlloc
	}
	want, plain := read(nil)
	pool := NewPoolAllocator()
	read(pool) // fills the pool
	got, pooled := read(pool)
	if len(got) != len(evs) || !reflect.DeepEqual(got, want) {
		t.Fatalf("pooled scan: %d rows, equal to the plain scan: %v", len(got), reflect.DeepEqual(got, want))
	}
	t.Logf("allocated %d KiB plain, %d KiB pooled", plain>>10, pooled>>10)
	if raceEnabled {
		t.Log("race detector on: sync.Pool drops buffers at random, the allocation bound is not checked")
		return
	}
	if pooled > plain*2/3 {
		t.Errorf("the pooled scan allocated %d KiB, the plain one %d KiB", pooled>>10, plain>>10)
	}
}

func cloneKeys[V any](m map[string]V) map[string]V {
	if m == nil {
		return nil
	}
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[strings.Clone(k)] = v
	}
	return out
}
