package langsmith

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// parseTime reads a time written as text. LangSmith and its SDKs write ISO
// 8601, often naive ("2024-04-29T00:49:12.090000"), which means UTC; other
// tools use a space instead of T, a "+00" offset, a " UTC" suffix, or epoch
// numbers. The result is always in UTC.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("empty time")
	}
	if isNumber(s) {
		return epochText(s)
	}
	s = strings.TrimSuffix(s, " UTC")
	if len(s) > 10 && (s[10] == ' ' || s[10] == 't') {
		s = s[:10] + "T" + s[11:]
	}
	// RFC 3339 wants ±hh:mm; PostgreSQL writes ±hh and others ±hhmm.
	if n := len(s); n > 19 && isSign(s[n-3]) && isDigits(s[n-2:]) {
		s += ":00"
	} else if n > 19 && isSign(s[n-5]) && isDigits(s[n-4:]) {
		s = s[:n-2] + ":" + s[n-2:]
	}
	layout := "2006-01-02T15:04:05.999999999"
	switch {
	case strings.HasSuffix(s, "Z") || strings.HasSuffix(s, "z") || hasOffset(s):
		t, err := time.Parse(time.RFC3339Nano, strings.Replace(s, "z", "Z", 1))
		if err != nil {
			return time.Time{}, fmt.Errorf("time %q is not ISO 8601", s)
		}
		return t.UTC(), nil
	case len(s) == 10:
		layout = "2006-01-02"
	case len(s) == 16:
		layout = "2006-01-02T15:04"
	}
	t, err := time.ParseInLocation(layout, s, time.UTC)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q is not ISO 8601", s)
	}
	return t, nil
}

// hasOffset reports whether s ends in a ±hh:mm offset.
func hasOffset(s string) bool {
	n := len(s)
	return n > 19 && (s[n-6] == '+' || s[n-6] == '-') && s[n-3] == ':'
}

func isSign(c byte) bool { return c == '+' || c == '-' }

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isNumber(s string) bool {
	digits := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' || c == '-' && i == 0 || c == 'e' || c == 'E' || c == '+':
		default:
			return false
		}
	}
	return digits > 0
}

// epochTime reads a number of seconds, milliseconds, microseconds or
// nanoseconds since 1970, telling them apart by magnitude (see epochUnit).
func epochTime(v float64) (time.Time, error) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return time.Time{}, fmt.Errorf("time %v is not a number", v)
	}
	a := math.Abs(v)
	var ns float64
	switch {
	case a >= 1e17:
		ns = v
	case a >= 1e14:
		ns = v * 1e3
	case a >= 1e11:
		ns = v * 1e6
	default:
		ns = v * 1e9
	}
	if math.Abs(ns) > math.MaxInt64 {
		return time.Time{}, fmt.Errorf("time %v is out of range", v)
	}
	return time.Unix(0, int64(ns)).UTC(), nil
}

// epochText reads an epoch number written as text, exactly when it is an
// integer or a plain decimal fraction.
func epochText(s string) (time.Time, error) {
	whole, frac, hasFrac := strings.Cut(s, ".")
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || hasFrac && !isDigits(frac) {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("time %q: %w", s, err)
		}
		return epochTime(f)
	}
	t, err := epochInt(n)
	if err != nil || !hasFrac {
		return t, err
	}
	// The fraction is of the unit that the integer part is in.
	if len(frac) > 9 {
		frac = frac[:9]
	}
	f, _ := strconv.ParseInt(frac, 10, 64)
	for i := len(frac); i < 9; i++ {
		f *= 10
	}
	d := time.Duration(f) * epochUnit(n) / time.Second
	if strings.HasPrefix(whole, "-") {
		d = -d
	}
	return t.Add(d), nil
}

// epochUnit tells the unit of an epoch number by its magnitude: any time
// after 1973 has 12 or more digits in ms, 15 in µs and 18 in ns, and times
// before 1973 do not occur in LLM traces.
func epochUnit(v int64) time.Duration {
	if v < 0 {
		v = -v
	}
	switch {
	case v >= 1e17:
		return time.Nanosecond
	case v >= 1e14:
		return time.Microsecond
	case v >= 1e11:
		return time.Millisecond
	}
	return time.Second
}

// epochInt is epochTime for integers, exact for nanoseconds.
func epochInt(v int64) (time.Time, error) {
	if v == math.MinInt64 {
		return time.Time{}, fmt.Errorf("time %d is out of range", v)
	}
	switch epochUnit(v) {
	case time.Nanosecond:
		return time.Unix(0, v).UTC(), nil
	case time.Microsecond:
		return time.UnixMicro(v).UTC(), nil
	case time.Millisecond:
		return time.UnixMilli(v).UTC(), nil
	}
	return time.Unix(v, 0).UTC(), nil
}

// dottedOrder is a parsed dotted_order: per level, the run's start time (a
// sort key, not an exact time: the JS SDK puts a counter in the last digits)
// and id, root first.
type dottedLevel struct {
	t  time.Time
	id string
}

// parseDottedOrder splits "<ts>Z<uuid>.<ts>Z<uuid>…". It tolerates empty
// segments (a trailing dot), 32-hex ids and 0 to 9 fractional digits. ok
// is false when a segment does not parse.
func parseDottedOrder(d string) (levels []dottedLevel, ok bool) {
	for part := range strings.SplitSeq(d, ".") {
		if part == "" {
			continue
		}
		z := strings.IndexByte(part, 'Z')
		if z < 15 || part[8] != 'T' {
			return nil, false
		}
		ts, id := part[:z], part[z+1:]
		if len(id) != 32 && len(id) != 36 {
			return nil, false
		}
		t, err := time.ParseInLocation("20060102T150405", ts[:15], time.UTC)
		if err != nil {
			return nil, false
		}
		frac := ts[15:]
		if len(frac) > 9 {
			return nil, false
		}
		if frac != "" {
			n, err := strconv.Atoi(frac)
			if err != nil || n < 0 {
				return nil, false
			}
			for i := len(frac); i < 9; i++ {
				n *= 10
			}
			t = t.Add(time.Duration(n))
		}
		c, isUUID := canonicalID(id)
		if !isUUID {
			return nil, false
		}
		levels = append(levels, dottedLevel{t: t, id: c})
	}
	return levels, len(levels) > 0
}
