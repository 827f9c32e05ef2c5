package hive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/lakefuse/lakefuse/bucket"
)

// Partitions returns the partitions of table that hold live files, in
// (project, date) order.
func (l *Lake) Partitions(table string) []Partition {
	seen := map[Partition]bool{}
	for _, f := range l.files {
		if f.Table == table {
			seen[f.Partition()] = true
		}
	}
	out := make([]Partition, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sortPartitions(out)
	return out
}

func sortPartitions(ps []Partition) {
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].ProjectID != ps[j].ProjectID {
			return ps[i].ProjectID < ps[j].ProjectID
		}
		return ps[i].Date < ps[j].Date
	})
}

// ListPartitions lists the partitions of table as they are stored in b,
// whether or not a manifest lists their files.
func ListPartitions(ctx context.Context, b bucket.Bucket, table string) ([]Partition, error) {
	seen := map[Partition]bool{}
	err := b.List(ctx, table+"/", func(a bucket.Attrs) error {
		t, p, _, err := ParsePath(a.Key)
		if err != nil || t != table {
			return nil // not a data file; ls reports such objects separately
		}
		seen[p] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s/%s/: %w", b, table, err)
	}
	out := make([]Partition, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sortPartitions(out)
	return out, nil
}

// Stray is an object in a table directory that is not a live data file.
type Stray struct {
	Key string
	// Run is the run that wrote it ("" when the name is not lakefuse's).
	Run string
	// Reason says why it is not live.
	Reason string
}

// Strays lists objects under table directories that are not live: files of
// runs that never committed (crashed, aborted, or still running), files
// superseded by a later run but not yet deleted, and foreign objects.
func (l *Lake) Strays(ctx context.Context) ([]Stray, error) {
	committed := map[string]bool{}
	for _, m := range l.Manifests {
		committed[m.RunID] = true
	}
	var out []Stray
	err := l.b.List(ctx, "", func(a bucket.Attrs) error {
		if !isDataKey(a.Key) || l.Live(a.Key) {
			return nil
		}
		run := RunOfFile(a.Key)
		s := Stray{Key: a.Key, Run: run}
		switch {
		case run == "":
			s.Reason = "not written by lakefuse"
		case l.removed[a.Key]:
			s.Reason = "superseded by a later run"
		case committed[run]:
			s.Reason = "not listed in its run's manifest"
		default:
			s.Reason = "its run " + run + " never committed"
		}
		out = append(out, s)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", l.b, err)
	}
	return out, nil
}

// Clean first finishes interrupted commits (Publish), then deletes data
// files that no committed manifest lists (leftovers of crashed or aborted
// runs, staged or in place, and superseded files), except files of the runs
// in keep and of runs that have a checkpoint (they may still resume).
// Objects whose names lakefuse does not write are never deleted. It returns
// the deleted keys. Run it only while holding the lake's lease: then no
// other live run can still commit what it deletes.
func Clean(ctx context.Context, l *Lake, keep ...string) ([]string, error) {
	if _, err := Publish(ctx, l); err != nil {
		return nil, err
	}
	keepRun := map[string]bool{}
	for _, k := range keep {
		keepRun[k] = true
	}
	err := l.b.List(ctx, CheckpointDir, func(a bucket.Attrs) error {
		name := strings.TrimSuffix(strings.TrimPrefix(a.Key, CheckpointDir), ".json")
		keepRun[name] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list checkpoints in %s: %w", l.b, err)
	}
	strays, err := l.Strays(ctx)
	if err != nil {
		return nil, err
	}
	staged, err := l.Staged(ctx)
	if err != nil {
		return nil, err
	}
	strays = append(strays, staged...)
	var deleted []string
	for _, s := range strays {
		if s.Run == "" || keepRun[s.Run] {
			continue
		}
		if err := l.b.Delete(ctx, s.Key); err != nil {
			return deleted, fmt.Errorf("clean %s/%s: %w", l.b, s.Key, err)
		}
		deleted = append(deleted, s.Key)
	}
	return deleted, nil
}

// Checkpoint is a resumable run's saved progress: the writer's state plus
// whatever the source needs to continue (cursors, finished windows).
type Checkpoint struct {
	Run    RunState        `json:"run"`
	Source json.RawMessage `json:"source,omitempty"`
}

// CheckpointKey is where a run's checkpoint lives.
func CheckpointKey(runID string) string { return CheckpointDir + runID + ".json" }

// SaveCheckpoint stores c atomically, replacing the previous one.
func SaveCheckpoint(ctx context.Context, b bucket.Bucket, c *Checkpoint) error {
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return putObject(ctx, b, CheckpointKey(c.Run.RunID), data)
}

// LoadCheckpoint reads a run's checkpoint; bucket.ErrNotFound when there is
// none.
func LoadCheckpoint(ctx context.Context, b bucket.Bucket, runID string) (*Checkpoint, error) {
	data, err := getObject(ctx, b, CheckpointKey(runID), maxManifestBytes)
	if err != nil {
		return nil, err
	}
	var c Checkpoint
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("checkpoint %s/%s: %w: %v", b, CheckpointKey(runID), ErrCorrupt, err)
	}
	return &c, nil
}

// Checkpoints lists the run ids that have a checkpoint, oldest first.
func Checkpoints(ctx context.Context, b bucket.Bucket) ([]string, error) {
	var ids []string
	err := b.List(ctx, CheckpointDir, func(a bucket.Attrs) error {
		id := strings.TrimSuffix(strings.TrimPrefix(a.Key, CheckpointDir), ".json")
		if ValidRunID(id) {
			ids = append(ids, id)
		}
		return nil
	})
	sort.Strings(ids)
	return ids, err
}

// DeleteCheckpoint removes a run's checkpoint (after it committed, or when
// it is abandoned).
func DeleteCheckpoint(ctx context.Context, b bucket.Bucket, runID string) error {
	err := b.Delete(ctx, CheckpointKey(runID))
	if errors.Is(err, bucket.ErrNotFound) {
		return nil
	}
	return err
}
