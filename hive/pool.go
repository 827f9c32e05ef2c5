package hive

import (
	"math/bits"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// PoolAllocator is an Arrow allocator that keeps the buffers Arrow frees
// (4 KiB and larger, in power-of-two classes) for the next batch instead
// of leaving them to the garbage collector: a scan of wide rows allocates
// three to four times the data it decodes, batch after batch (issue 11).
//
// Memory it hands out is reused once Arrow releases it, so it suits readers
// that keep nothing of a batch after their callback returns: strings
// decoded from a batch alias its buffers (schema.Decoder) and must be
// copied to outlive it.
type PoolAllocator struct {
	classes [64]sync.Pool
}

// minPooled is the smallest buffer PoolAllocator keeps.
const minPooled = 4 << 10

// NewPoolAllocator returns an empty pool.
func NewPoolAllocator() *PoolAllocator { return &PoolAllocator{} }

// Allocate returns a zeroed buffer of size bytes.
func (p *PoolAllocator) Allocate(size int) []byte {
	if size < minPooled {
		return memory.DefaultAllocator.Allocate(size)
	}
	c := bits.Len(uint(size - 1))
	if v := p.classes[c].Get(); v != nil {
		b := (*v.(*[]byte))[:size]
		clear(b)
		return b
	}
	return make([]byte, size, 1<<c)
}

// Reallocate grows or shrinks b to size bytes, keeping its contents.
func (p *PoolAllocator) Reallocate(size int, b []byte) []byte {
	if size <= cap(b) {
		old := len(b)
		b = b[:size]
		if size > old {
			clear(b[old:])
		}
		return b
	}
	nb := p.Allocate(size)
	copy(nb, b)
	p.Free(b)
	return nb
}

// Free returns b to the pool; buffers of other sizes are left to the
// garbage collector.
func (p *PoolAllocator) Free(b []byte) {
	c := cap(b)
	if c < minPooled || c&(c-1) != 0 {
		return
	}
	b = b[:c]
	if poisonFreed {
		for i := range b {
			b[i] = poisonByte
		}
	}
	p.classes[bits.Len(uint(c-1))].Put(&b)
}

// poisonFreed overwrites every buffer returned to a pool in test binaries:
// a string kept from a batch after Arrow released it (a view of memory the
// next batch reuses) then reads as 0xA5 bytes, invalid UTF-8 that no id or
// payload matches, in every test whose reads are pooled, rather than only
// when a later batch happens to reuse that buffer.
var poisonFreed = testing.Testing()

const poisonByte = 0xA5
