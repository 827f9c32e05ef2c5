package langsmith

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
)

// srcFile is one Parquet file of runs in the source.
type srcFile struct {
	key     string
	size    int64
	modTime time.Time
	// Partition values from the path (the SOURCE location and the key);
	// empty when the path does not have them.
	exportID, tenantID, sessionID string
	date                          string // YYYY-MM-DD, or "" without year/month/day
}

// group is the set of files that can hold the same run: the files of one
// project and day, across every export. Runs are partitioned by their
// start_time, which a later export of the same run does not change.
type group struct {
	sessionID string
	tenantID  string
	date      string
	files     []*srcFile
}

func (g *group) String() string {
	s := "project " + cmp.Or(g.sessionID, "(from the session_id column)")
	if g.date != "" {
		s += " day " + g.date
	}
	return s
}

// pathInfo is what the partition segments of a path say.
type pathInfo struct {
	exportID, tenantID, sessionID string
	resource                      string // "runs", "resource=<x>" value, or ""
	year, month, day              int
	tmp                           bool
}

// parsePath reads the key=value segments of a slash-separated path. Values
// are taken as they are, except that year, month and day are numbers with
// or without zero padding.
func parsePath(p string, into *pathInfo) error {
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "tmp" {
			into.tmp = true
			continue
		}
		if seg == "runs" {
			into.resource = "runs"
			continue
		}
		k, v, ok := strings.Cut(seg, "=")
		if !ok {
			continue
		}
		if u, err := url.PathUnescape(v); err == nil {
			v = u
		}
		switch k {
		case "export_id":
			into.exportID = v
		case "tenant_id":
			into.tenantID = v
		case "session_id":
			into.sessionID = v
		case "resource":
			into.resource = v
		case "year", "month", "day":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return fmt.Errorf("partition %s=%q is not a number", k, v)
			}
			switch k {
			case "year":
				into.year = n
			case "month":
				into.month = n
			default:
				into.day = n
			}
		}
	}
	return nil
}

// locationPath is the path part of a location (after the scheme and
// bucket), whose partition segments apply to every key below it.
func locationPath(location string) string {
	if _, rest, ok := strings.Cut(location, "://"); ok {
		_, p, _ := strings.Cut(rest, "/")
		return p
	}
	return location
}

// listing is what discover found.
type listing struct {
	groups  []*group
	files   int
	bytes   int64
	ignored int // objects that are not run files (tmp/, other resources, not Parquet)
}

// discover lists the run files under src: every *.parquet object, at any
// depth, that is not under a tmp/ segment nor in a resource other than runs.
// Files are grouped by project and day and ordered by project, day and key.
func discover(ctx context.Context, src bucket.Bucket, location string) (*listing, error) {
	var base pathInfo
	if err := parsePath(locationPath(location), &base); err != nil {
		return nil, fmt.Errorf("source %s: %w", location, err)
	}
	// Only a tmp/ below SOURCE is the destination's scratch space; the
	// location itself may well be under /tmp.
	base.tmp = false
	out := &listing{}
	byKey := map[[3]string]*group{}
	err := src.List(ctx, "", func(a bucket.Attrs) error {
		info := base
		if err := parsePath(a.Key, &info); err != nil {
			return fmt.Errorf("%s/%s: %w", location, a.Key, err)
		}
		if info.tmp || !strings.HasSuffix(strings.ToLower(a.Key), ".parquet") || info.resource != "" && info.resource != "runs" {
			out.ignored++
			return nil
		}
		f := &srcFile{key: a.Key, size: a.Size, modTime: a.ModTime, exportID: info.exportID, tenantID: info.tenantID, sessionID: info.sessionID}
		if info.year != 0 {
			d := time.Date(info.year, time.Month(max(info.month, 1)), max(info.day, 1), 0, 0, 0, 0, time.UTC)
			if info.month > 12 || info.day > 31 || d.Month() != time.Month(max(info.month, 1)) {
				return fmt.Errorf("%s/%s: partition year=%d/month=%d/day=%d is not a date", location, a.Key, info.year, info.month, info.day)
			}
			f.date = d.Format(time.DateOnly)
		}
		k := [3]string{f.sessionID, f.date, f.tenantID}
		g := byKey[k]
		if g == nil {
			g = &group{sessionID: f.sessionID, tenantID: f.tenantID, date: f.date}
			byKey[k] = g
			out.groups = append(out.groups, g)
		}
		g.files = append(g.files, f)
		out.files++
		out.bytes += a.Size
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", location, err)
	}
	slices.SortFunc(out.groups, func(a, b *group) int {
		return cmp.Or(cmp.Compare(a.sessionID, b.sessionID), cmp.Compare(a.date, b.date), cmp.Compare(a.tenantID, b.tenantID))
	})
	return out, nil
}
