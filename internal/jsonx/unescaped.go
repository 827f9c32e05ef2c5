package jsonx

import (
	"encoding/binary"
	"math/bits"
	"unsafe"
)

// SkipUnescaped returns the index of the first byte at or after i that a
// JSON string cannot hold as it is (a control character, a quote or a
// backslash), scanning eight bytes at a time; fewer than eight bytes at the
// end are left for the caller to look at one by one (the result is then at
// most 7 bytes before the end, and those bytes may be clean). Unlike
// SkipPlain it passes non-ASCII bytes, for callers that check UTF-8
// separately (or not at all), so that text in Japanese or with emoji is
// skipped as fast as ASCII.
func SkipUnescaped(s string, i int) int {
	return SkipUnescapedBytes(unsafe.Slice(unsafe.StringData(s), len(s)), i)
}

// SkipUnescapedBytes is SkipUnescaped for a byte slice.
func SkipUnescapedBytes(b []byte, i int) int {
	for i+8 <= len(b) {
		x := binary.LittleEndian.Uint64(b[i:])
		q := x ^ (lsb * '"')
		bs := x ^ (lsb * '\\')
		// (v-k·lsb)&^v has the high bit of the lowest byte of v below k
		// set, and of no byte below it (a borrow only runs upward; the &^v
		// drops bytes that are >= 0x80 themselves), so the lowest flag of
		// the union is the first byte to stop at.
		if m := ((x-lsb*0x20)&^x | (q-lsb)&^q | (bs-lsb)&^bs) & msb; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
		i += 8
	}
	return i
}
