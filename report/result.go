package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// ResultFormat names the JSON file that import, migrate and verify
// --against-source/--against-destination write with --report-json.
const (
	ResultFormat  = "lakefuse.result"
	ResultVersion = 1
)

// Result is the outcome of an import (or migrate) or of a comparison of a
// lake with a live project, per table. `lakefuse report --compare FILE`
// shows it beside the lake's charts.
type Result struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	// Command is import, migrate or verify.
	Command string `json:"command"`
	// Against is what the lake was compared with: "destination" (after an
	// import, ids mapped) or "source"; "" for an import's own counts.
	Against  string    `json:"against,omitempty"`
	Lake     string    `json:"lake"`
	Project  *Project  `json:"project,omitempty"`
	Finished time.Time `json:"finished"`
	// OK is false when the command failed or found differences; Error says
	// why.
	OK     bool          `json:"ok"`
	Error  string        `json:"error,omitempty"`
	Tables []TableResult `json:"tables"`
}

// Project names the live project of a Result.
type Project struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
	URL  string `json:"url,omitempty"`
}

// TableResult is one table's row. A comparison (verify) fills LiveRows,
// Missing, Extra and Differing; an import fills Sent, Already, Skipped and
// Failed.
type TableResult struct {
	Table    string `json:"table"`
	LakeRows int64  `json:"lake_rows"`
	// LiveRows are the rows of the live project.
	LiveRows int64 `json:"live_rows"`
	// Missing: rows of the lake that the project lacks; Extra: rows of the
	// project that the lake lacks; Differing: rows in both whose compared
	// fields (or number of copies) differ.
	Missing   int64 `json:"missing"`
	Extra     int64 `json:"extra"`
	Differing int64 `json:"differing"`
	// Import: rows sent by this run, accepted by earlier runs (the ledger),
	// deliberately not imported, and refused by the destination.
	Sent     int64 `json:"sent"`
	Already  int64 `json:"already"`
	Skipped  int64 `json:"skipped"`
	Failed   int64 `json:"failed"`
	Requests int64 `json:"requests,omitempty"`
}

// WriteResult writes r to path as JSON, atomically (a temporary file
// renamed), filling Format and Version.
func WriteResult(path string, r *Result) error {
	r.Format, r.Version = ResultFormat, ResultVersion
	if r.Tables == nil {
		r.Tables = []TableResult{}
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(path, ".lakefuse-result-*", 0o600, func(w io.Writer) error {
		_, err := w.Write(append(data, '\n'))
		return err
	})
}

// writeAtomic writes path through write into a temporary file beside it,
// which gets mode perm and is renamed into place only when everything
// succeeded: a reader never sees half a file.
func writeAtomic(path, pattern string, perm os.FileMode, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), pattern)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	err = write(tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), perm)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// ErrNotResult: the file is not a lakefuse result file.
var ErrNotResult = errors.New("not a lakefuse result file (write one with --report-json)")

// ReadResult reads a file WriteResult wrote.
func ReadResult(path string) (*Result, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Result
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %w: %v", path, ErrNotResult, err)
	}
	if r.Format != ResultFormat {
		return nil, fmt.Errorf("%s: %w", path, ErrNotResult)
	}
	if r.Version > ResultVersion {
		return nil, fmt.Errorf("%s: result format version %d is newer than this lakefuse reads (%d)", path, r.Version, ResultVersion)
	}
	return &r, nil
}
