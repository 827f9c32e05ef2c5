package importer

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"strings"
	"sync"

	lf "github.com/lakefuse/lakefuse/internal/langfuse"
	"github.com/lakefuse/lakefuse/schema"
)

// lakeFromV3 reports a lake exported from a Langfuse v3 server (its traces
// are entities with their own input and output).
func (im *importer) lakeFromV3() bool { return im.lakeFrom(lf.V3) }

// lakeFrom reports a lake exported from a Langfuse server of generation g.
func (im *importer) lakeFrom(g lf.Generation) bool {
	for _, m := range im.lake.Manifests {
		if m.Kind == "export" && m.Source.Kind == "langfuse" && m.Source.ServerVersion == g.String() &&
			(im.project == "" || m.Source.ProjectID == "" || m.Source.ProjectID == im.project) {
			return true
		}
	}
	return false
}

// traceAttrs are the trace-level attributes sent on every span of a trace.
type traceAttrs struct {
	name, user, session, release, version *string
	tags                                  []string
	public                                bool
	// placeholder: the trace gets a placeholder root t-<traceId> in the
	// destination, which keeps its input and output (traceIndex.placeholders).
	placeholder bool
	payloadOff  int64 // offset of the trace's I/O and metadata in the spill file; -1: none
	payloadLen  int32
	rec         int64 // offset of the trace's record in the spill file; -1: no traces row
	seen        bool  // an observation of the trace was met (recorded in the index too)
}

// traceIndex finds the traces row of each observation's trace. The rows
// are written to a temporary file as they are read; memory holds only a
// hash of each trace id with the offset of its record (about 20 bytes a
// trace, against 150 when the attributes were kept in memory: the index
// must not grow the importer past its memory bound on big lakes) and a
// small cache of recently used traces, which serves nearly every lookup
// because a trace's observations lie close together in the lake.
type traceIndex struct {
	// placeholders: traces with input or output get a placeholder root.
	// Set for a lake exported from Langfuse v3 going into v4, which keeps
	// no trace I/O of its own: the direct-write path ignores
	// langfuse.trace.input/output (OtelIngestionProcessor.ts processToEvent),
	// and a root's own I/O would hide the trace's. Langfuse's own migration
	// keeps it on the placeholder (createRootSpansFromTraces.ts).
	placeholders bool
	// perRow: the lake's observation rows carry their own trace attributes
	// (exported from v4, which keeps them per row).
	perRow    bool
	mu        sync.Mutex
	hash      func(string) uint64 // maphash; tests force collisions
	cacheSize int
	at        map[uint64]int64 // hash of a trace id -> record offset<<1 | seen
	dup       map[string]int64 // ids whose hash an earlier id has (practically never)
	cache     map[string]*traceAttrs
	spill     *os.File
	off       int64
	buf       []byte
}

// traceCacheSize bounds the cache: a few MB of attributes.
const traceCacheSize = 16 << 10

func newTraceIndex() (*traceIndex, error) {
	f, err := os.CreateTemp("", "lakefuse-import-traces-*")
	if err != nil {
		return nil, fmt.Errorf("create a temporary file for the trace index: %w", err)
	}
	seed := maphash.MakeSeed()
	return &traceIndex{hash: func(s string) uint64 { return maphash.String(seed, s) }, cacheSize: traceCacheSize, at: map[uint64]int64{}, dup: map[string]int64{},
		cache: map[string]*traceAttrs{}, spill: f}, nil
}

// buildTraceIndex reads the traces table once.
func (im *importer) buildTraceIndex(ctx context.Context) (*traceIndex, error) {
	ix, err := newTraceIndex()
	if err != nil {
		return nil, err
	}
	ix.placeholders = im.gen == lf.V4 && im.lakeFromV3()
	ix.perRow = im.lakeFrom(lf.V4)
	if err := each(ctx, im, ix.add); err != nil {
		ix.close()
		return nil, err
	}
	return ix, nil
}

func (ix *traceIndex) close() {
	if ix != nil && ix.spill != nil {
		name := ix.spill.Name()
		_ = ix.spill.Close()
		_ = os.Remove(name)
	}
}

func (ix *traceIndex) write(b []byte) (int64, error) {
	off := ix.off
	if _, err := ix.spill.WriteAt(b, off); err != nil {
		return 0, fmt.Errorf("write the trace index: %w", err)
	}
	ix.off += int64(len(b))
	return off, nil
}

// add indexes a traces row; a later row of the same id replaces an earlier.
func (ix *traceIndex) add(t *schema.Trace) error {
	payloadOff, payloadLen := int64(-1), 0
	if t.Input != nil || t.Output != nil || t.Metadata != nil {
		ix.buf = appendSpill(ix.buf[:0], tracePayload{t.Input, t.Output, t.Metadata})
		off, err := ix.write(ix.buf)
		if err != nil {
			return err
		}
		payloadOff, payloadLen = off, len(ix.buf)
	}
	b := append(ix.buf[:0], 0, 0, 0, 0) // length, filled in below
	b = appendOpt(b, &t.ID)
	for _, s := range []*string{t.Name, t.UserID, t.SessionID, t.Release, t.Version} {
		b = appendOpt(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(t.Tags)))
	for i := range t.Tags {
		b = appendOpt(b, &t.Tags[i])
	}
	flags := byte(0)
	if t.Public {
		flags |= 1
	}
	if ix.placeholders && (t.Input != nil || t.Output != nil) {
		flags |= 2
	}
	b = append(b, flags)
	b = binary.AppendVarint(b, payloadOff)
	b = binary.AppendUvarint(b, uint64(payloadLen))
	binary.LittleEndian.PutUint32(b, uint32(len(b)-4))
	ix.buf = b
	off, err := ix.write(b)
	if err != nil {
		return err
	}
	h := ix.hash(t.ID)
	if _, ok := ix.dup[t.ID]; ok {
		ix.dup[t.ID] = off << 1
		return nil
	}
	if prev, ok := ix.at[h]; ok {
		a, err := ix.read(prev >> 1)
		if err != nil {
			return err
		}
		if a.id != t.ID {
			ix.dup[t.ID] = off << 1
			return nil
		}
	}
	ix.at[h] = off << 1
	return nil
}

// find reads the record of a trace id; nil when the id has no traces row.
// seen tells whether an observation of the trace was met.
func (ix *traceIndex) find(id string) (r *traceRecord, seen bool, err error) {
	v, ok := ix.dup[id]
	if !ok {
		if v, ok = ix.at[ix.hash(id)]; !ok {
			return nil, false, nil
		}
	}
	if r, err = ix.read(v >> 1); err != nil || r.id != id { // another id with the same hash
		return nil, false, err
	}
	return r, v&1 != 0, nil
}

func (ix *traceIndex) markSeen(id string) {
	if v, ok := ix.dup[id]; ok {
		ix.dup[id] = v | 1
		return
	}
	ix.at[ix.hash(id)] |= 1
}

type traceRecord struct {
	id string
	traceAttrs
}

// read decodes the record at off.
func (ix *traceIndex) read(off int64) (*traceRecord, error) {
	buf := make([]byte, 512)
	n, err := ix.spill.ReadAt(buf, off)
	if n < 4 {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("read the trace index: %w", err)
	}
	size := int(binary.LittleEndian.Uint32(buf)) + 4
	if size > n {
		if size > len(buf) {
			buf = append(buf[:n], make([]byte, size-n)...)
		}
		if _, err := ix.spill.ReadAt(buf[n:size], off+int64(n)); err != nil {
			return nil, fmt.Errorf("read the trace index: %w", err)
		}
	}
	d := spillReader{b: buf[4:size]}
	r := &traceRecord{}
	r.rec = off
	if id := d.opt(); id != nil {
		r.id = *id
	}
	for _, f := range []**string{&r.name, &r.user, &r.session, &r.release, &r.version} {
		*f = d.opt()
	}
	if nt := d.uvarint(); nt > 0 && nt <= uint64(len(d.b)) {
		r.tags = make([]string, nt)
		for i := range r.tags {
			if s := d.opt(); s != nil {
				r.tags[i] = *s
			}
		}
	}
	flags := d.byte()
	r.public, r.placeholder = flags&1 != 0, flags&2 != 0
	r.payloadOff = d.varint()
	r.payloadLen = int32(d.uvarint())
	if d.err {
		return nil, errors.New("the trace index is corrupt")
	}
	return r, nil
}

// attrsFor returns the trace attributes of an observation: the traces row,
// or the trace context a v4 observation row carries, and marks the trace
// as having observations.
func (ix *traceIndex) attrsFor(o *schema.Observation) (*traceAttrs, error) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	id := ""
	if o.TraceID != nil {
		id = *o.TraceID
	}
	a := ix.cache[id]
	if a == nil {
		r, seen, err := ix.find(id)
		if err != nil {
			return nil, err
		}
		if r != nil {
			a = &r.traceAttrs
			a.seen = seen
		} else {
			// Copies: the row's strings may be views of its record batch,
			// which the cache must not keep alive.
			a = &traceAttrs{name: clonePtr(o.TraceName), user: clonePtr(o.UserID), session: clonePtr(o.SessionID),
				release: clonePtr(o.Release), payloadOff: -1, rec: -1}
			if o.Tags != nil {
				a.tags = make([]string, len(o.Tags))
				for i, t := range o.Tags {
					a.tags[i] = strings.Clone(t)
				}
			}
			if o.Public != nil {
				a.public = *o.Public
			}
		}
		if len(ix.cache) >= ix.cacheSize {
			clear(ix.cache)
		}
		ix.cache[strings.Clone(id)] = a // id may be a view of the row's batch
	}
	if !a.seen {
		a.seen = true
		if a.rec >= 0 {
			ix.markSeen(id)
		}
	}
	return a, nil
}

// row returns the attributes of the traces row with this id and whether an
// observation of it was met.
func (ix *traceIndex) row(id string) (*traceAttrs, bool, error) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	r, seen, err := ix.find(id)
	if err != nil || r == nil {
		return nil, false, err
	}
	return &r.traceAttrs, seen, nil
}

func (ix *traceIndex) payload(t *traceAttrs) (*tracePayload, error) {
	if t.payloadOff < 0 {
		return &tracePayload{}, nil
	}
	buf := make([]byte, t.payloadLen)
	if _, err := ix.spill.ReadAt(buf, t.payloadOff); err != nil {
		return nil, fmt.Errorf("read trace payload spill: %w", err)
	}
	return parseSpill(buf)
}

func clonePtr(s *string) *string {
	if s == nil {
		return nil
	}
	c := strings.Clone(*s)
	return &c
}

type tracePayload struct {
	Input, Output, Metadata *string
}

// appendOpt appends an optional string: a presence byte, then the length
// as a uvarint and the bytes.
func appendOpt(b []byte, s *string) []byte {
	if s == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	b = binary.AppendUvarint(b, uint64(len(*s)))
	return append(b, *s...)
}

// appendSpill encodes a trace payload for the spill file (cheaper than
// JSON, which cost as much as a tenth of the span building).
func appendSpill(b []byte, p tracePayload) []byte {
	for _, f := range []*string{p.Input, p.Output, p.Metadata} {
		b = appendOpt(b, f)
	}
	return b
}

func parseSpill(b []byte) (*tracePayload, error) {
	var p tracePayload
	d := spillReader{b: b}
	p.Input, p.Output, p.Metadata = d.opt(), d.opt(), d.opt()
	if d.err {
		return nil, errors.New("trace payload spill is truncated")
	}
	return &p, nil
}

// spillReader decodes what appendOpt and binary.Append* wrote; err is set
// on truncated input.
type spillReader struct {
	b   []byte
	err bool
}

func (d *spillReader) byte() byte {
	if len(d.b) == 0 {
		d.err = true
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *spillReader) uvarint() uint64 {
	v, k := binary.Uvarint(d.b)
	if k <= 0 {
		d.err = true
		return 0
	}
	d.b = d.b[k:]
	return v
}

func (d *spillReader) varint() int64 {
	v, k := binary.Varint(d.b)
	if k <= 0 {
		d.err = true
		return 0
	}
	d.b = d.b[k:]
	return v
}

func (d *spillReader) opt() *string {
	if d.byte() == 0 || d.err {
		return nil
	}
	n := d.uvarint()
	if d.err || n > uint64(len(d.b)) {
		d.err = true
		return nil
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return &s
}
