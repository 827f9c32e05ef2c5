package hive

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultPartition is the value Hive and Spark write for a null or empty
// partition value; DuckDB reads it back as the literal string.
const DefaultPartition = "__HIVE_DEFAULT_PARTITION__"

// DateLayout is the layout of dt= partition values.
const DateLayout = "2006-01-02"

// needsEscape reports whether Hive's FileUtils.escapePathName (and Spark's
// ExternalCatalogUtils, which copies it) escapes byte c. Beyond Hive's set we
// escape NUL, DEL and every byte of invalid UTF-8, because object stores and
// file systems refuse them.
func needsEscape(c byte) bool {
	if c < 0x20 || c == 0x7f {
		return true
	}
	switch c {
	case '"', '#', '%', '\'', '*', '/', ':', '=', '?', '\\', '{', '[', ']', '^':
		return true
	}
	return false
}

const hexDigits = "0123456789ABCDEF"

// Escape encodes a partition value the way Hive and Spark do: the bytes of
// needsEscape as %XX (upper-case hex), everything else, including spaces and
// non-ASCII letters, verbatim. Invalid UTF-8 bytes are escaped too. The empty
// string becomes DefaultPartition.
func Escape(v string) string {
	if v == "" {
		return DefaultPartition
	}
	var sb strings.Builder
	for i := 0; i < len(v); {
		c := v[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(v[i:])
			if r == utf8.RuneError && size == 1 {
				sb.WriteByte('%')
				sb.WriteByte(hexDigits[c>>4])
				sb.WriteByte(hexDigits[c&15])
				i++
				continue
			}
			sb.WriteString(v[i : i+size])
			i += size
			continue
		}
		if needsEscape(c) {
			sb.WriteByte('%')
			sb.WriteByte(hexDigits[c>>4])
			sb.WriteByte(hexDigits[c&15])
		} else {
			sb.WriteByte(c)
		}
		i++
	}
	return sb.String()
}

// Unescape reverses Escape. Like Hive's unescapePathName it decodes every
// well-formed %XX (either case) and leaves a malformed % sequence as it is.
// DefaultPartition decodes to "".
func Unescape(s string) string {
	if s == DefaultPartition {
		return ""
	}
	if !strings.Contains(s, "%") {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				sb.WriteByte(hi<<4 | lo)
				i += 2
				continue
			}
		}
		sb.WriteByte(s[i])
	}
	return sb.String()
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// Segment builds one key=value path segment.
func Segment(key, value string) string { return Escape(key) + "=" + Escape(value) }

// ParseSegment splits a key=value path segment and unescapes both parts.
func ParseSegment(seg string) (key, value string, err error) {
	k, v, ok := strings.Cut(seg, "=")
	if !ok || k == "" {
		return "", "", fmt.Errorf("%q is not a key=value partition segment", seg)
	}
	return Unescape(k), Unescape(v), nil
}

// Partition identifies one partition of a table.
type Partition struct {
	ProjectID string
	// Date is the dt= value (YYYY-MM-DD) for time-partitioned tables, "" for
	// snapshot tables.
	Date string
}

// DateOf returns the dt= value for a row time: its UTC date.
func DateOf(t time.Time) string { return t.UTC().Format(DateLayout) }

// Dir is the partition's directory below the lake root, without a trailing
// slash: <table>/project_id=<id>[/dt=<date>].
func (p Partition) Dir(table string) string {
	d := table + "/" + Segment("project_id", p.ProjectID)
	if p.Date != "" {
		d += "/" + Segment("dt", p.Date)
	}
	return d
}

func (p Partition) String() string {
	if p.Date == "" {
		return "project_id=" + p.ProjectID
	}
	return "project_id=" + p.ProjectID + " dt=" + p.Date
}

// ParsePath splits a lake data file key (<table>/project_id=…[/dt=…]/<file>)
// into its table, partition and file name.
func ParsePath(key string) (table string, p Partition, file string, err error) {
	parts := strings.Split(key, "/")
	if len(parts) < 3 || len(parts) > 4 {
		return "", Partition{}, "", fmt.Errorf("%q is not a lake data file path (<table>/project_id=<id>[/dt=<date>]/<file>)", key)
	}
	table, file = parts[0], parts[len(parts)-1]
	k, v, err := ParseSegment(parts[1])
	if err != nil {
		return "", Partition{}, "", fmt.Errorf("lake path %q: %w", key, err)
	}
	if k != "project_id" {
		return "", Partition{}, "", fmt.Errorf("lake path %q: want project_id=, found %s=", key, k)
	}
	p.ProjectID = v
	if len(parts) == 4 {
		k, v, err := ParseSegment(parts[2])
		if err != nil {
			return "", Partition{}, "", fmt.Errorf("lake path %q: %w", key, err)
		}
		if k != "dt" {
			return "", Partition{}, "", fmt.Errorf("lake path %q: want dt=, found %s=", key, k)
		}
		if _, err := time.Parse(DateLayout, v); err != nil {
			return "", Partition{}, "", fmt.Errorf("lake path %q: dt=%s is not a YYYY-MM-DD date", key, v)
		}
		p.Date = v
	}
	return table, p, file, nil
}
