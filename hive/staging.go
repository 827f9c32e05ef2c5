package hive

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
)

// StagingDir holds the data files of runs that have not finished
// committing: _lakefuse/staging/<run>/<path in the lake>. Plain globs over
// a table (<table>/**/*.parquet) never reach them, so readers never see
// rows of a run that did not commit.
const StagingDir = MetaDir + "/staging/"

// StagingKey is where run writes the file whose place in the lake is p.
func StagingKey(run, p string) string { return StagingDir + run + "/" + p }

// splitStaging returns the run and the lake path of a staging key.
func splitStaging(key string) (run, p string, ok bool) {
	rest, ok := strings.CutPrefix(key, StagingDir)
	if !ok {
		return "", "", false
	}
	run, p, ok = strings.Cut(rest, "/")
	return run, p, ok && ValidRunID(run)
}

// PublishStats says what moving a run's files into place cost.
type PublishStats struct {
	Files    int
	Bytes    int64
	Deleted  int // superseded files deleted
	Duration time.Duration
}

// publish moves a committed run's staged files into place and deletes the
// files it supersedes, partition by partition: a partition's new files
// first, then its old ones, so that a glob reader in between may see a
// partition's rows in both versions for a moment but never misses one, and
// a run killed in between leaves old rows, never missing ones. Files
// already in place are skipped, so publish can finish an interrupted one.
func publish(ctx context.Context, b bucket.Bucket, files []FileEntry, removed []string) (PublishStats, error) {
	start := time.Now()
	var st PublishStats
	newIn := map[string][]FileEntry{}
	oldIn := map[string][]string{}
	for _, f := range files {
		newIn[path.Dir(f.Path)] = append(newIn[path.Dir(f.Path)], f)
	}
	for _, p := range removed {
		oldIn[path.Dir(p)] = append(oldIn[path.Dir(p)], p)
	}
	dirs := make([]string, 0, len(newIn)+len(oldIn))
	for d := range newIn {
		dirs = append(dirs, d)
	}
	for d := range oldIn {
		if _, ok := newIn[d]; !ok {
			dirs = append(dirs, d)
		}
	}
	sort.Strings(dirs)
	for _, d := range dirs {
		for _, f := range newIn[d] {
			err := b.Move(ctx, StagingKey(RunOfFile(f.Path), f.Path), f.Path)
			if errors.Is(err, bucket.ErrNotFound) {
				if _, serr := b.Stat(ctx, f.Path); serr == nil {
					continue // moved before
				}
			}
			if err != nil {
				return st, fmt.Errorf("move %s/%s into place: %w", b, f.Path, err)
			}
			st.Files++
			st.Bytes += f.Size
		}
		for _, p := range oldIn[d] {
			if err := b.Delete(ctx, p); err != nil {
				return st, fmt.Errorf("delete superseded %s/%s: %w", b, p, err)
			}
			st.Deleted++
		}
	}
	st.Duration = time.Since(start)
	return st, nil
}

// Publish finishes the commits of runs that were interrupted while their
// files moved into place: each staged file of a committed run moves to its
// path, and files superseded by a committed run are deleted. Run it while
// holding the lease; Clean runs it first.
func Publish(ctx context.Context, l *Lake) (PublishStats, error) {
	committed := map[string]*Manifest{}
	for _, m := range l.Manifests {
		committed[m.RunID] = m
	}
	pending := map[string]bool{}
	err := l.b.List(ctx, StagingDir, func(a bucket.Attrs) error {
		if run, _, ok := splitStaging(a.Key); ok && committed[run] != nil {
			pending[run] = true
		}
		return nil
	})
	if err != nil {
		return PublishStats{}, fmt.Errorf("list %s/%s: %w", l.b, StagingDir, err)
	}
	var total PublishStats
	runs := make([]string, 0, len(pending))
	for r := range pending {
		runs = append(runs, r)
	}
	sort.Strings(runs)
	for _, r := range runs {
		m := committed[r]
		var files []FileEntry
		for _, f := range m.Files {
			if l.Live(f.Path) {
				files = append(files, f)
			}
		}
		var removed []string
		for _, p := range m.Removed {
			if !l.Live(p) {
				removed = append(removed, p)
			}
		}
		st, err := publish(ctx, l.b, files, removed)
		total.Files += st.Files
		total.Bytes += st.Bytes
		total.Deleted += st.Deleted
		if err != nil {
			return total, fmt.Errorf("finish the commit of run %s: %w", r, err)
		}
		// Staged files the manifest no longer makes live (superseded by a
		// later run before they were moved) are not part of the lake.
		err = l.b.List(ctx, StagingDir+r+"/", func(a bucket.Attrs) error {
			return l.b.Delete(ctx, a.Key)
		})
		if err != nil {
			return total, fmt.Errorf("finish the commit of run %s: %w", r, err)
		}
	}
	return total, nil
}

// Staged lists the objects under StagingDir: files of committed runs not
// yet moved into place (Publish moves them) and files of runs that never
// committed (Clean deletes them unless the run may resume).
func (l *Lake) Staged(ctx context.Context) ([]Stray, error) {
	committed := map[string]bool{}
	for _, m := range l.Manifests {
		committed[m.RunID] = true
	}
	var out []Stray
	err := l.b.List(ctx, StagingDir, func(a bucket.Attrs) error {
		run, p, ok := splitStaging(a.Key)
		s := Stray{Key: a.Key, Run: run}
		switch {
		case !ok:
			s.Reason = "not written by lakefuse"
		case committed[run] && l.Live(p):
			s.Reason = "run " + run + " committed; not yet moved into place (the next export or compact moves it)"
		case committed[run]:
			s.Reason = "run " + run + " committed without it"
		default:
			s.Reason = "its run " + run + " has not committed"
		}
		out = append(out, s)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s/%s: %w", l.b, StagingDir, err)
	}
	return out, nil
}

// openFile opens a live file where it is: in place, or still staged when
// its run's commit has not moved it yet.
func openFile(ctx context.Context, b bucket.Bucket, f FileEntry) (bucket.Object, error) {
	obj, err := b.Open(ctx, f.Path)
	if errors.Is(err, bucket.ErrNotFound) {
		if run := RunOfFile(f.Path); run != "" {
			if o, serr := b.Open(ctx, StagingKey(run, f.Path)); serr == nil {
				return o, nil
			}
		}
	}
	return obj, err
}
