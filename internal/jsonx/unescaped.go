package jsonx

import (
	"encoding/binary"
	"unsafe"
)

// SkipUnescaped returns the index of the first 8-byte block at or after i
// that holds a byte a JSON string cannot hold as it is: a control character,
// a quote or a backslash. Unlike SkipPlain it passes non-ASCII bytes, for
// callers that check UTF-8 separately (or not at all), so that text in
// Japanese or with emoji is skipped eight bytes at a time too. Only whole
// blocks are skipped: the caller looks at the remaining bytes one by one.
func SkipUnescaped(s string, i int) int {
	return SkipUnescapedBytes(unsafe.Slice(unsafe.StringData(s), len(s)), i)
}

// SkipUnescapedBytes is SkipUnescaped for a byte slice.
func SkipUnescapedBytes(b []byte, i int) int {
	for i+8 <= len(b) {
		x := binary.LittleEndian.Uint64(b[i:])
		q := x ^ (lsb * '"')
		bs := x ^ (lsb * '\\')
		// (v - k·lsb) &^ v has a byte's high bit set only if some byte of v
		// is below k (the classic exact "has a byte less than k" test for
		// k <= 0x80): the &^ v drops the bytes that are >= 0x80 themselves.
		if ((x-lsb*0x20)&^x|(q-lsb)&^q|(bs-lsb)&^bs)&msb != 0 {
			return i
		}
		i += 8
	}
	return i
}
