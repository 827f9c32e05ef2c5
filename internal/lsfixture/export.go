package lsfixture

import (
	"context"
	"fmt"
	"iter"
	"maps"
	"slices"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
)

// ExportOptions shapes a written export.
type ExportOptions struct {
	Layout Layout
	Format Format
	// RowsPerFile starts a new file of the same day after this many rows
	// (default 50000), so busy days have several files, as real ones do.
	RowsPerFile int
}

// ExportStats counts what WriteExport wrote.
type ExportStats struct {
	Runs  int
	Files int
	Keys  []string
}

// WriteExport writes runs into b as one export: a file per day (by each
// run's start_time, in UTC) or several for busy days. Runs must come trace by
// trace with non-decreasing trace starts, as Generate yields them: a day's
// files are written once a later day's trace begins, so memory holds about
// one day (at most RowsPerFile runs per open day).
func WriteExport(ctx context.Context, b bucket.Bucket, runs iter.Seq[Run], o ExportOptions) (ExportStats, error) {
	if o.RowsPerFile <= 0 {
		o.RowsPerFile = 50000
	}
	var st ExportStats
	days := map[time.Time][]Run{}
	fileNo := map[time.Time]int{}
	flush := func(day time.Time) error {
		rs := days[day]
		if len(rs) == 0 {
			return nil
		}
		key := o.Layout.Key(day, fileNo[day])
		fileNo[day]++
		if err := PutFile(ctx, b, key, rs, o.Format); err != nil {
			return err
		}
		st.Files++
		st.Keys = append(st.Keys, key)
		days[day] = rs[:0]
		return nil
	}
	for r := range runs {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		day := r.StartTime.UTC().Truncate(24 * time.Hour)
		if r.IsRoot {
			for _, d := range sortedDays(days) {
				if d.Before(day) {
					if err := flush(d); err != nil {
						return st, err
					}
					delete(days, d)
				}
			}
		}
		days[day] = append(days[day], r)
		st.Runs++
		if len(days[day]) >= o.RowsPerFile {
			if err := flush(day); err != nil {
				return st, err
			}
		}
	}
	for _, d := range sortedDays(days) {
		if err := flush(d); err != nil {
			return st, err
		}
	}
	return st, nil
}

func sortedDays(days map[time.Time][]Run) []time.Time {
	return slices.SortedFunc(maps.Keys(days), time.Time.Compare)
}

// PutFile writes runs as one Parquet object at key.
func PutFile(ctx context.Context, b bucket.Bucket, key string, runs []Run, f Format) error {
	w, err := b.NewWriter(ctx, key)
	if err != nil {
		return err
	}
	if err := Write(w, runs, f); err != nil {
		_ = w.Abort()
		return fmt.Errorf("write %s: %w", key, err)
	}
	return w.Commit()
}

// PutBytes stores data at key (for objects that are not run files).
func PutBytes(ctx context.Context, b bucket.Bucket, key string, data []byte) error {
	w, err := b.NewWriter(ctx, key)
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		_ = w.Abort()
		return err
	}
	return w.Commit()
}
