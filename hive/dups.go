package hive

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"slices"
	"sort"

	"github.com/lakefuse/lakefuse/schema"
)

// Duplicate is a row key that more than one live row of a table holds: in
// two committed files (of two runs that did not supersede each other), or
// twice in one file.
type Duplicate struct {
	Table     string
	ProjectID string
	// Key is the row's key columns (schema.Table.Key), joined by NUL.
	Key string
	// Files holds one entry per copy of the row, in path order.
	Files []string
	// Runs are the runs that wrote those files.
	Runs []string
}

// dupMemRows bounds the (hash, file) pairs Duplicates keeps in memory at
// once (16 bytes each); above it they are spread over temporary files by
// hash and each file is checked alone.
var dupMemRows = 4 << 20

type keyHash struct {
	h    uint64
	file uint32
}

// Duplicates finds rows of table that appear more than once among the live
// files. Files a committed run superseded are not live, so a supersede the
// manifests record is never a duplicate. Memory stays bounded whatever the
// table's size: a first pass keeps 64-bit hashes of the keys (spilled to
// disk by hash range above dupMemRows), and a second pass reads the files
// behind colliding hashes again to compare real keys. At most limit
// duplicates are returned (all when limit <= 0), with the total count.
func (l *Lake) Duplicates(ctx context.Context, table string, limit int) ([]Duplicate, int, error) {
	t, err := schema.Lookup(table)
	if err != nil {
		return nil, 0, err
	}
	files := l.Files(table)
	if len(files) == 0 {
		return nil, 0, nil
	}
	seed := maphash.MakeSeed()
	keyOf := func(project, key string) uint64 {
		var h maphash.Hash
		h.SetSeed(seed)
		h.WriteString(project)
		h.WriteByte(0)
		h.WriteString(key)
		return h.Sum64()
	}
	parts := int(l.Rows(table)/int64(dupMemRows)) + 1
	sp, err := newSpill(parts)
	if err != nil {
		return nil, 0, err
	}
	defer sp.close()
	for i, f := range files {
		err := scanKeys(ctx, l, t, f, func(key string) error {
			return sp.add(keyHash{keyOf(f.ProjectID, key), uint32(i)})
		})
		if err != nil {
			return nil, 0, err
		}
	}
	// Hashes seen more than once, and the files that hold them.
	suspects := map[uint64]bool{}
	suspectFiles := map[uint32]bool{}
	err = sp.each(func(part []keyHash) error {
		slices.SortFunc(part, func(a, b keyHash) int {
			if a.h < b.h {
				return -1
			} else if a.h > b.h {
				return 1
			}
			return 0
		})
		for i := 1; i < len(part); i++ {
			if part[i].h == part[i-1].h {
				suspects[part[i].h] = true
				suspectFiles[part[i].file] = true
				suspectFiles[part[i-1].file] = true
			}
		}
		return nil
	})
	if err != nil || len(suspects) == 0 {
		return nil, 0, err
	}
	type where struct {
		project, key string
	}
	seen := map[where][]int{}
	for i, f := range files {
		if !suspectFiles[uint32(i)] {
			continue
		}
		err := scanKeys(ctx, l, t, f, func(key string) error {
			if suspects[keyOf(f.ProjectID, key)] {
				w := where{f.ProjectID, key}
				seen[w] = append(seen[w], i)
			}
			return nil
		})
		if err != nil {
			return nil, 0, err
		}
	}
	var out []Duplicate
	for w, idx := range seen {
		if len(idx) < 2 {
			continue // a hash collision, not a duplicate
		}
		d := Duplicate{Table: table, ProjectID: w.project, Key: w.key}
		for _, i := range idx {
			d.Files = append(d.Files, files[i].Path)
			if r := RunOfFile(files[i].Path); !slices.Contains(d.Runs, r) {
				d.Runs = append(d.Runs, r)
			}
		}
		sort.Strings(d.Files)
		sort.Strings(d.Runs)
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ProjectID != out[j].ProjectID {
			return out[i].ProjectID < out[j].ProjectID
		}
		return out[i].Key < out[j].Key
	})
	n := len(out)
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, n, nil
}

// scanKeys calls fn with the key of every row of f, reading only the key
// columns.
func scanKeys(ctx context.Context, l *Lake, t *schema.Table, f FileEntry, fn func(key string) error) error {
	return ScanFile(ctx, l.b, f, ScanOptions{Columns: t.Key}, func(b Batch) error {
		d, err := schema.NewDecoder(t, b.Record.Schema())
		if err != nil {
			return fmt.Errorf("%s/%s: %w", l.b, f.Path, err)
		}
		row := t.NewRow()
		for i := 0; i < int(b.Record.NumRows()); i++ {
			if err := d.Decode(b.Record, i, row); err != nil {
				return fmt.Errorf("%s/%s: %w", l.b, f.Path, err)
			}
			k, err := t.RowKey(row)
			if err != nil {
				return err
			}
			if err := fn(k); err != nil {
				return err
			}
		}
		return nil
	})
}

// spill keeps (hash, file) pairs in memory, or, with several parts, in
// temporary files chosen by hash, so that each part fits in memory.
type spill struct {
	mem   []keyHash
	files []*os.File
	bufs  []*bufio.Writer
}

func newSpill(parts int) (*spill, error) {
	s := &spill{}
	if parts <= 1 {
		return s, nil
	}
	for range parts {
		f, err := os.CreateTemp("", "lakefuse-dups-*")
		if err != nil {
			s.close()
			return nil, fmt.Errorf("duplicate check: %w", err)
		}
		_ = os.Remove(f.Name()) // unlinked: gone when closed, even after a crash
		s.files = append(s.files, f)
		s.bufs = append(s.bufs, bufio.NewWriterSize(f, 64<<10))
	}
	return s, nil
}

func (s *spill) add(k keyHash) error {
	if s.files == nil {
		s.mem = append(s.mem, k)
		return nil
	}
	var rec [12]byte
	binary.LittleEndian.PutUint64(rec[:8], k.h)
	binary.LittleEndian.PutUint32(rec[8:], k.file)
	_, err := s.bufs[k.h%uint64(len(s.files))].Write(rec[:])
	return err
}

func (s *spill) each(fn func([]keyHash) error) error {
	if s.files == nil {
		return fn(s.mem)
	}
	var part []keyHash
	for i, f := range s.files {
		if err := s.bufs[i].Flush(); err != nil {
			return err
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		r := bufio.NewReaderSize(f, 64<<10)
		part = part[:0]
		var rec [12]byte
		for {
			_, err := io.ReadFull(r, rec[:])
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("duplicate check: %w", err)
			}
			part = append(part, keyHash{binary.LittleEndian.Uint64(rec[:8]), binary.LittleEndian.Uint32(rec[8:])})
		}
		if err := fn(part); err != nil {
			return err
		}
	}
	return nil
}

func (s *spill) close() {
	for _, f := range s.files {
		_ = f.Close()
	}
}
