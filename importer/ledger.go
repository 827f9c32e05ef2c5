package importer

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/hive"
)

// The ledger is what the destination accepted, per destination project, kept
// next to the lake (or in --state-dir). It is a series of small JSON
// segments, each written atomically, so it works on S3 and GCS as well as on
// a disk, and a kill -9 loses at most the segment being written.
//
// Every write whose effect the destination would not deduplicate is recorded
// twice: an intent before the request is sent and a completion after the
// answer. An intent without completion is a request whose fate is unknown;
// the importer looks it up in the destination before anything is resent.

// entry is one ledger record.
type entry struct {
	K    string `json:"k"`              // id, rows, intent, done, meta
	Kind string `json:"kind,omitempty"` // id kind, table or task
	Src  string `json:"src,omitempty"`
	Dst  string `json:"dst,omitempty"`
	File string `json:"file,omitempty"` // lake file of a row range
	From int64  `json:"from,omitempty"` // rows [From, To) of File
	To   int64  `json:"to,omitempty"`
	// Key names an intent; a later entry with the same Key completes it.
	Key   string   `json:"key,omitempty"`
	Probe []string `json:"probe,omitempty"` // what to look up for an unknown outcome
	Note  string   `json:"note,omitempty"`
}

const (
	segmentPrefix = "seg-"
	idmapPrefix   = "idmap-"
	// compactAfter segments are folded into one when the ledger is opened.
	compactAfter = 256
)

type rowRange struct{ from, to int64 }

type ledger struct {
	b      bucket.Bucket
	prefix string // ends with "/"

	mu      sync.Mutex
	seq     int
	ids     map[string]map[string]string
	rows    map[string][]rowRange
	intents map[string]entry
	done    map[string]bool
	meta    map[string]string
	segs    []string
	ack     ack             // the newest accepted request of this run that has a probe
	sent    map[string]bool // intents written by this run
}

// ack is a request the destination accepted in this run, with what to look
// up to see it (waitIngested learns the destination's ingestion lag from it).
type ack struct {
	probe []string
	at    time.Time
}

func openLedger(ctx context.Context, b bucket.Bucket, prefix string) (*ledger, error) {
	l := &ledger{b: b, prefix: prefix, ids: map[string]map[string]string{}, rows: map[string][]rowRange{},
		intents: map[string]entry{}, done: map[string]bool{}, meta: map[string]string{}, sent: map[string]bool{}}
	var keys []string
	err := b.List(ctx, prefix+segmentPrefix, func(a bucket.Attrs) error {
		keys = append(keys, a.Key)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the import ledger in %s/%s: %w", b, prefix, err)
	}
	sort.Strings(keys)
	for _, k := range keys {
		data, err := readAll(ctx, b, k)
		if err != nil {
			return nil, fmt.Errorf("read the import ledger segment %s/%s: %w", b, k, err)
		}
		var seg struct {
			Entries []entry `json:"entries"`
		}
		if err := json.Unmarshal(data, &seg); err != nil {
			return nil, fmt.Errorf("import ledger segment %s/%s is damaged (%v): move the directory %s away to start over, "+
				"knowing that observations already sent would then be sent again", b, k, err, prefix)
		}
		for _, e := range seg.Entries {
			l.apply(e)
		}
		var n int
		if _, err := fmt.Sscanf(strings.TrimPrefix(k, prefix), segmentPrefix+"%d.json", &n); err == nil && n > l.seq {
			l.seq = n
		}
	}
	l.segs = keys
	if len(keys) > compactAfter {
		if err := l.compact(ctx); err != nil {
			return nil, err
		}
	}
	return l, nil
}

func readAll(ctx context.Context, b bucket.Bucket, key string) ([]byte, error) {
	obj, err := b.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	return io.ReadAll(io.NewSectionReader(obj, 0, obj.Size()))
}

// apply folds e into the state. Applying an entry twice changes nothing, so
// a segment that survives a crashed compaction is harmless.
func (l *ledger) apply(e entry) {
	if e.Key != "" && e.K != "intent" {
		delete(l.intents, e.Key)
	}
	switch e.K {
	case "id":
		m := l.ids[e.Kind]
		if m == nil {
			m = map[string]string{}
			l.ids[e.Kind] = m
		}
		m[e.Src] = e.Dst
	case "rows":
		l.rows[e.File] = addRange(l.rows[e.File], rowRange{e.From, e.To})
	case "intent":
		l.intents[e.Key] = e
	case "done":
		l.done[e.Kind] = true
	case "meta":
		l.meta[e.Kind] = e.Dst
	}
}

func addRange(rs []rowRange, r rowRange) []rowRange {
	rs = append(rs, r)
	slices.SortFunc(rs, func(a, b rowRange) int { return int(a.from - b.from) })
	out := rs[:1]
	for _, x := range rs[1:] {
		last := &out[len(out)-1]
		if x.from <= last.to {
			last.to = max(last.to, x.to)
			continue
		}
		out = append(out, x)
	}
	return out
}

// write appends a segment with the entries and applies them.
func (l *ledger) write(ctx context.Context, es ...entry) error {
	if len(es) == 0 {
		return nil
	}
	data, err := json.Marshal(struct {
		Entries []entry `json:"entries"`
	}{es})
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.seq++
	key := fmt.Sprintf("%s%s%010d.json", l.prefix, segmentPrefix, l.seq)
	l.mu.Unlock()
	if err := put(ctx, l.b, key, data); err != nil {
		return fmt.Errorf("record progress in the import ledger: %w", err)
	}
	now := time.Now()
	l.mu.Lock()
	for _, e := range es {
		switch in, ok := l.intents[e.Key]; {
		case e.K == "intent" && e.Key != "":
			l.sent[e.Key] = true
		case ok && e.K != "cancel" && len(in.Probe) > 0 && l.sent[e.Key]:
			l.ack = ack{probe: in.Probe, at: now}
		}
		l.apply(e)
	}
	l.segs = append(l.segs, key)
	l.mu.Unlock()
	return nil
}

// writeIDMap records id mappings that are derived, not assigned (observation
// and trace ids): kept for people and audits, never read back.
func (l *ledger) writeIDMap(ctx context.Context, lines []byte) error {
	if len(lines) == 0 {
		return nil
	}
	l.mu.Lock()
	l.seq++
	key := fmt.Sprintf("%s%s%010d.jsonl", l.prefix, idmapPrefix, l.seq)
	l.mu.Unlock()
	return put(ctx, l.b, key, lines)
}

func put(ctx context.Context, b bucket.Bucket, key string, data []byte) error {
	w, err := b.NewWriter(ctx, key)
	if err != nil {
		return fmt.Errorf("write %s/%s: %w", b, key, err)
	}
	if _, err := io.Copy(w, bytes.NewReader(data)); err != nil {
		_ = w.Abort()
		return fmt.Errorf("write %s/%s: %w", b, key, err)
	}
	if err := w.Commit(); err != nil {
		return fmt.Errorf("write %s/%s: %w", b, key, err)
	}
	return nil
}

// compact folds every segment into one; the old ones are deleted after the
// new one is committed.
func (l *ledger) compact(ctx context.Context) error {
	var es []entry
	for _, kind := range sortedKeys(l.meta) {
		es = append(es, entry{K: "meta", Kind: kind, Dst: l.meta[kind]})
	}
	for _, kind := range sortedKeys(l.ids) {
		for _, src := range sortedKeys(l.ids[kind]) {
			es = append(es, entry{K: "id", Kind: kind, Src: src, Dst: l.ids[kind][src]})
		}
	}
	for _, f := range sortedKeys(l.rows) {
		for _, r := range l.rows[f] {
			es = append(es, entry{K: "rows", File: f, From: r.from, To: r.to})
		}
	}
	for _, k := range sortedKeys(l.done) {
		es = append(es, entry{K: "done", Kind: k})
	}
	for _, k := range sortedKeys(l.intents) {
		es = append(es, l.intents[k])
	}
	old := l.segs
	l.segs = nil
	if err := l.write(ctx, es...); err != nil {
		return err
	}
	var errs []error
	for _, k := range old {
		if err := l.b.Delete(ctx, k); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (l *ledger) id(kind, src string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	d, ok := l.ids[kind][src]
	return d, ok
}

// kind returns a copy of the ids recorded under kind.
func (l *ledger) kind(kind string) map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]string, len(l.ids[kind]))
	for k, v := range l.ids[kind] {
		out[k] = v
	}
	return out
}

func (l *ledger) isDone(task string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.done[task]
}

// accepted reports whether row of file was accepted.
func (l *ledger) accepted(file string, row int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.rows[file] {
		if row >= r.from && row < r.to {
			return true
		}
	}
	return false
}

// acceptedRows counts the accepted rows of file.
func (l *ledger) acceptedRows(file string) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var n int64
	for _, r := range l.rows[file] {
		n += r.to - r.from
	}
	return n
}

// files lists the files with accepted rows.
func (l *ledger) files() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return sortedKeys(l.rows)
}

// lastAck returns the newest request of this run whose intent had a probe
// and that the destination accepted.
func (l *ledger) lastAck() (ack, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ack, l.ack.probe != nil
}

// intent returns the open intent with the key, if any.
func (l *ledger) intent(key string) (entry, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.intents[key]
	return e, ok
}

// Ledger kinds of what an import did on purpose: "skipped:<table>" maps a
// lake row key to why it was not sent, "created:<table>" a destination row
// key the import created that the lake does not have (prompt placeholders).
const (
	skippedPrefix = "skipped:"
	createdPrefix = "created:"
)

// Deliberate is what an import did on purpose that makes the destination
// differ from the lake, as its ledger records it. Row keys are those of
// verify: a score's id, a prompt's name@version.
type Deliberate struct {
	// Skipped: table -> lake row key -> why it was not imported.
	Skipped map[string]map[string]string
	// Created: table -> destination row key -> what it is.
	Created map[string]map[string]string
}

// StatePrefix is where an import into the destination project keeps its
// ledger in the lake's bucket unless told otherwise.
func StatePrefix(destProjectID string) string {
	return hive.MetaDir + "/imports/" + safeSegment(destProjectID) + "/"
}

// ReadDeliberate reads what the import ledger under prefix of b recorded as
// skipped or created on purpose. A missing ledger is empty.
func ReadDeliberate(ctx context.Context, b bucket.Bucket, prefix string) (*Deliberate, error) {
	l, err := openLedger(ctx, b, prefix)
	if err != nil {
		return nil, err
	}
	d := &Deliberate{Skipped: map[string]map[string]string{}, Created: map[string]map[string]string{}}
	for kind, m := range l.ids {
		switch {
		case strings.HasPrefix(kind, skippedPrefix):
			d.Skipped[strings.TrimPrefix(kind, skippedPrefix)] = m
		case strings.HasPrefix(kind, createdPrefix):
			d.Created[strings.TrimPrefix(kind, createdPrefix)] = m
		}
	}
	return d, nil
}

// rowLog records in the ledger rows whose repetition is harmless, a
// segment per rowLogBatch rows instead of one per row. Such rows are
// media references, as POST /api/public/media upserts the media record and
// its trace or observation link (web/src/features/media/server/
// mediaService.ts createMediaUploadUrl: findUnique by project and SHA-256,
// upsertMediaRecord, then linkMediaToTraceOrObservation in
// packages/shared/src/server/media/mediaService.ts, an INSERT ... ON
// CONFLICT DO NOTHING); dataset items, upserted by id; and scores the
// import skips and the placeholder roots a v3 destination takes as traces,
// which send nothing and are skipped again. A row done but
// not yet recorded when the import stops is done once more on the next run
// and changes nothing. A segment per row was a file written, synced and
// renamed per row: 67k media references at a million observations (a
// third of the demo's import, issue 11) and 5k skipped scores, and as many
// PUTs to a bucket.
type rowLog struct {
	led  *ledger
	kind string
	mu   sync.Mutex
	rows []entry
	with []entry // recorded with the rows (add's)
}

// rowLogBatch is the rows a rowLog segment records at most.
const rowLogBatch = 512

func (im *importer) newRowLog(kind string) *rowLog { return &rowLog{led: im.led, kind: kind} }

// add records row of file as done, with the entries that go with it;
// every rowLogBatch rows it writes them.
func (r *rowLog) add(ctx context.Context, file string, row int64, with ...entry) error {
	r.mu.Lock()
	r.rows = append(r.rows, entry{K: "rows", Kind: r.kind, File: file, From: row, To: row + 1})
	r.with = append(r.with, with...)
	if len(r.rows) < rowLogBatch {
		r.mu.Unlock()
		return nil
	}
	return r.take(ctx)
}

// flush writes the rows not yet written.
func (r *rowLog) flush(ctx context.Context) error {
	r.mu.Lock()
	return r.take(ctx)
}

// take writes what is pending, adjacent rows of a file as one range; it is
// called with r.mu held and releases it.
func (r *rowLog) take(ctx context.Context) error {
	rows, with := r.rows, r.with
	r.rows, r.with = nil, nil
	r.mu.Unlock()
	if len(rows) == 0 {
		return nil
	}
	slices.SortFunc(rows, func(a, b entry) int {
		if c := cmp.Compare(a.File, b.File); c != 0 {
			return c
		}
		return cmp.Compare(a.From, b.From)
	})
	out := rows[:1]
	for _, e := range rows[1:] {
		if last := &out[len(out)-1]; last.File == e.File && last.To == e.From {
			last.To = e.To
			continue
		}
		out = append(out, e)
	}
	return r.led.write(ctx, append(out, with...)...)
}
