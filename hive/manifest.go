package hive

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/schema"
)

// Layout of the lake's own objects.
const (
	MetaDir        = "_lakefuse"
	ManifestDir    = MetaDir + "/manifests/"
	CheckpointDir  = MetaDir + "/checkpoints/"
	MediaDir       = "_media/"
	ManifestFormat = "lakefuse.manifest"
	// ManifestVersion is the version of the manifest's own JSON layout.
	ManifestVersion = 1
)

// Errors callers branch on.
var (
	// ErrNoLake: the location holds no committed manifest.
	ErrNoLake = errors.New("no lakefuse lake here")
	// ErrNewerSchema: the lake was written by a newer lakefuse.
	ErrNewerSchema = errors.New("lake written by a newer lakefuse")
	// ErrCorrupt: a manifest or data file is damaged or does not match its manifest.
	ErrCorrupt = errors.New("lake file damaged")
	// ErrUnpublished: a run committed, but not all its files were moved
	// into place; the next export or compact finishes that.
	ErrUnpublished = errors.New("committed, but not all files are in place yet (the next export or compact finishes it)")
)

// Manifest records one committed run: what ran, against what, and every file
// it wrote. Writing it is the run's commit point: a data file that no
// committed manifest lists is not part of the lake.
type Manifest struct {
	Format          string `json:"format"`
	ManifestVersion int    `json:"manifest_version"`
	SchemaVersion   int    `json:"schema_version"`
	RunID           string `json:"run_id"`
	Kind            string `json:"kind"` // export, convert, sample, compact
	Tool            Tool   `json:"tool"`
	Source          Source `json:"source"`
	Window          Window `json:"window"`
	// Shard is set by one shard of a sharded export: its index, the number
	// of shards and the window of the whole export (Window is the shard's
	// part of it).
	Shard       *Shard    `json:"shard,omitempty"`
	StartedAt   time.Time `json:"started_at"`
	CommittedAt time.Time `json:"committed_at"`
	// Tables summarises Files per table, including tables that the run read
	// and found empty (0 rows), so that "exported, empty" and "not exported"
	// differ.
	Tables map[string]TableSummary `json:"tables"`
	Files  []FileEntry             `json:"files"`
	// Removed lists files of earlier runs that this run supersedes (for
	// example partitions rewritten by an incremental export). They are no
	// longer part of the lake once this manifest is committed.
	Removed []string `json:"removed,omitempty"`
	// Media lists media objects (under _media/) written by this run.
	Media []MediaEntry `json:"media,omitempty"`
	// Notes carries source-specific facts (for example the id mapping of a
	// conversion) as small key/value strings.
	Notes map[string]string `json:"notes,omitempty"`
	// Selection is what the run left out on purpose (selection.go).
	Selection *Selection `json:"selection,omitempty"`
	// Redaction, when set, is the redaction policy the run applied to every
	// row it wrote.
	Redaction *Redaction `json:"redaction,omitempty"`
}

// Redaction identifies a redaction policy: its hash, the detectors it
// enabled and the name of the environment variable of its HMAC key. It
// never holds the key.
type Redaction struct {
	PolicySHA256 string   `json:"policy_sha256"`
	Detectors    []string `json:"detectors,omitempty"`
	HMACKeyEnv   string   `json:"hmac_key_env,omitempty"`
}

// Tool identifies the program that wrote a manifest.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Source describes where a run's rows came from. It never holds a secret.
type Source struct {
	Kind          string `json:"kind"` // langfuse, langsmith, generated
	URL           string `json:"url,omitempty"`
	ProjectID     string `json:"project_id,omitempty"`
	ProjectName   string `json:"project_name,omitempty"`
	ServerVersion string `json:"server_version,omitempty"` // e.g. "v4" or "v3"
}

// Window is the time window a run covered; nil ends are open.
type Window struct {
	From *time.Time `json:"from,omitempty"`
	To   *time.Time `json:"to,omitempty"`
}

// TableSummary totals one table's files in a manifest.
type TableSummary struct {
	Rows  int64 `json:"rows"`
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
}

// FileEntry is one data file of the lake.
type FileEntry struct {
	Path      string     `json:"path"`
	Table     string     `json:"table"`
	ProjectID string     `json:"project_id"`
	Date      string     `json:"dt,omitempty"`
	Rows      int64      `json:"rows"`
	Size      int64      `json:"size"`
	SHA256    string     `json:"sha256"`
	MinTime   *time.Time `json:"min_time,omitempty"`
	MaxTime   *time.Time `json:"max_time,omitempty"`
}

// MediaEntry is one media object stored under _media/.
type MediaEntry struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Partition returns the entry's partition.
func (f FileEntry) Partition() Partition { return Partition{ProjectID: f.ProjectID, Date: f.Date} }

var runIDPattern = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$`)

// NewRunID returns a new run id: the UTC start time and a random suffix, so
// ids sort by start time and never collide.
func NewRunID(now time.Time) string {
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// ValidRunID reports whether id has the form NewRunID produces.
func ValidRunID(id string) bool { return runIDPattern.MatchString(id) }

// ManifestKey is the key of a run's manifest.
func ManifestKey(runID string) string { return ManifestDir + runID + ".json" }

// dataFilePattern matches the names of data files the writer creates.
var dataFilePattern = regexp.MustCompile(`^part-([0-9]{8}T[0-9]{6}Z-[0-9a-f]{6})-([0-9]{5,})\.parquet$`)

// RunOfFile returns the run id encoded in a data file's name, or "" when the
// name is not one the writer creates.
func RunOfFile(key string) string {
	m := dataFilePattern.FindStringSubmatch(path.Base(key))
	if m == nil {
		return ""
	}
	return m[1]
}

// WriteManifest stores m atomically. It is the commit point of a run.
func WriteManifest(ctx context.Context, b bucket.Bucket, m *Manifest) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return putObject(ctx, b, ManifestKey(m.RunID), data)
}

func putObject(ctx context.Context, b bucket.Bucket, key string, data []byte) error {
	w, err := b.NewWriter(ctx, key)
	if err != nil {
		return fmt.Errorf("write %s/%s: %w", b, key, err)
	}
	if _, err := w.Write(data); err != nil {
		_ = w.Abort()
		return fmt.Errorf("write %s/%s: %w", b, key, err)
	}
	if err := w.Commit(); err != nil {
		return fmt.Errorf("write %s/%s: %w", b, key, err)
	}
	return nil
}

func getObject(ctx context.Context, b bucket.Bucket, key string, limit int64) ([]byte, error) {
	obj, err := b.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	if obj.Size() > limit {
		return nil, fmt.Errorf("%s/%s is %d bytes, more than the %d a lakefuse object can be", b, key, obj.Size(), limit)
	}
	data, err := io.ReadAll(io.NewSectionReader(obj, 0, obj.Size()))
	if err != nil {
		return nil, err
	}
	return data, nil
}

// maxManifestBytes bounds what ReadManifest loads; a manifest lists files,
// not rows, so even a huge export stays far below it.
const maxManifestBytes = 256 << 20

// ReadManifest loads and checks the manifest at key.
func ReadManifest(ctx context.Context, b bucket.Bucket, key string) (*Manifest, error) {
	data, err := getObject(ctx, b, key, maxManifestBytes)
	if err != nil {
		return nil, fmt.Errorf("read manifest %s/%s: %w", b, key, err)
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("manifest %s/%s: %w: not valid JSON (%v); move it aside and rerun the run it belongs to", b, key, ErrCorrupt, err)
	}
	if m.Format != ManifestFormat {
		return nil, fmt.Errorf("manifest %s/%s: %w: format is %q, want %q", b, key, ErrCorrupt, m.Format, ManifestFormat)
	}
	if m.ManifestVersion > ManifestVersion {
		return nil, fmt.Errorf("manifest %s/%s: %w: manifest version %d (this lakefuse reads up to %d); upgrade lakefuse to read this lake",
			b, key, ErrNewerSchema, m.ManifestVersion, ManifestVersion)
	}
	if m.SchemaVersion > schema.Version {
		return nil, fmt.Errorf("manifest %s/%s: %w: schema version %d (this lakefuse reads up to %d); upgrade lakefuse to read this lake",
			b, key, ErrNewerSchema, m.SchemaVersion, schema.Version)
	}
	if !ValidRunID(m.RunID) || ManifestKey(m.RunID) != key {
		return nil, fmt.Errorf("manifest %s/%s: %w: run id %q does not match its name", b, key, ErrCorrupt, m.RunID)
	}
	for _, f := range m.Files {
		if RunOfFile(f.Path) != m.RunID {
			return nil, fmt.Errorf("manifest %s/%s: %w: file %q was not written by run %s", b, key, ErrCorrupt, f.Path, m.RunID)
		}
	}
	return &m, nil
}

// Summarise fills m.Tables from m.Files, keeping entries already present
// (tables that were read and found empty).
func (m *Manifest) Summarise() {
	if m.Tables == nil {
		m.Tables = map[string]TableSummary{}
	}
	for name := range m.Tables {
		m.Tables[name] = TableSummary{}
	}
	for _, f := range m.Files {
		s := m.Tables[f.Table]
		s.Rows += f.Rows
		s.Files++
		s.Bytes += f.Size
		m.Tables[f.Table] = s
	}
}

// SortFiles orders files by path, so manifests are reproducible.
func SortFiles(files []FileEntry) {
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
}

// isDataKey reports whether key lies in a table directory (not _lakefuse/ or
// _media/ or another underscore/dot directory that tools use for their own
// state).
func isDataKey(key string) bool {
	return !strings.HasPrefix(key, "_") && !strings.HasPrefix(key, ".")
}
