package jsonx

import (
	"math"
	"strconv"
)

// AppendFloat appends the finite float f as encoding/json writes it: the
// shortest representation that reads back as f, in exponent form below
// 1e-6 and from 1e21 on, with "e-07" written "e-7". NaN and infinities
// are not JSON; callers decide what stands for them.
func AppendFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}
