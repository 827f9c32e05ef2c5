package lftest

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"
)

// The written observations of a project live outside the Go heap: each row
// is encoded (obsCodec) and appended to a spill file, and the heap keeps a
// small fixed-size index entry per row (obsEntry) plus the ids in one byte
// arena. A row is decoded again when it is served. `lakefuse demo` imports
// a million observations of ~2 KB into this server in its own process, so
// rows in the heap would cost gigabytes (issue 11).

// spill is an append-only file of encoded rows. The file is removed as soon
// as it is open (where the system allows), so nothing is left behind when
// the process dies; Close releases it.
type spill struct {
	mu   sync.Mutex
	f    *os.File
	size int64  // bytes in the file
	buf  []byte // appended, not yet written
	err  error
}

const spillBuffer = 1 << 20

func newSpill() (*spill, error) {
	f, err := os.CreateTemp("", "lftest-rows-*")
	if err != nil {
		return nil, fmt.Errorf("lftest: spill file: %w", err)
	}
	if os.Remove(f.Name()) != nil {
		// Windows cannot remove an open file; Close removes it.
		return &spill{f: f}, nil
	}
	return &spill{f: f}, nil
}

// append stores b and returns its offset.
func (s *spill) append(b []byte) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return 0, s.err
	}
	off := s.size + int64(len(s.buf))
	if len(s.buf)+len(b) > spillBuffer && len(s.buf) > 0 {
		if s.err = s.flush(); s.err != nil {
			return 0, s.err
		}
	}
	if len(b) > spillBuffer {
		if _, s.err = s.f.WriteAt(b, s.size); s.err != nil {
			return 0, s.err
		}
		s.size += int64(len(b))
		return off, nil
	}
	if s.buf == nil {
		s.buf = make([]byte, 0, spillBuffer)
	}
	s.buf = append(s.buf, b...)
	return off, nil
}

func (s *spill) flush() error {
	if _, err := s.f.WriteAt(s.buf, s.size); err != nil {
		return fmt.Errorf("lftest: write spill file: %w", err)
	}
	s.size += int64(len(s.buf))
	s.buf = s.buf[:0]
	return nil
}

// read returns the n bytes at off in a new buffer.
func (s *spill) read(off int64, n int) ([]byte, error) {
	return s.readInto(make([]byte, n), off)
}

// readInto reads len(out) bytes at off into out.
func (s *spill) readInto(out []byte, off int64) ([]byte, error) {
	s.mu.Lock()
	size := s.size
	if off >= size {
		copy(out, s.buf[off-size:])
		s.mu.Unlock()
		return out, nil
	}
	s.mu.Unlock()
	// Bytes below size are in the file and never change.
	if _, err := s.f.ReadAt(out, off); err != nil {
		return nil, fmt.Errorf("lftest: read spill file: %w", err)
	}
	return out, nil
}

// end returns the offset the next row gets.
func (s *spill) end() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.size + int64(len(s.buf))
}

func (s *spill) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = nil
	err := s.f.Close()
	if rmErr := os.Remove(s.f.Name()); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) && err == nil {
		err = rmErr
	}
	return err
}

// idArena holds the ids of the stored rows back to back in chunks of
// arenaChunk bytes that are never moved (a growing slice would be copied,
// and briefly held twice); an id never straddles two chunks.
type idArena struct {
	chunks [][]byte
}

const arenaChunk = 1 << 20

func (a *idArena) add(id string) uint32 {
	if len(a.chunks) == 0 || len(a.chunks[len(a.chunks)-1])+len(id) > arenaChunk {
		a.chunks = append(a.chunks, make([]byte, 0, arenaChunk))
	}
	k := len(a.chunks) - 1
	off := uint32(k*arenaChunk + len(a.chunks[k]))
	a.chunks[k] = append(a.chunks[k], id...)
	return off
}

// obsCodec encodes an Observation as bytes: the fixed fields first, every
// string as a varint length and bytes, times as nanoseconds since the epoch
// (UTC), pointers and nil-able maps and slices with a presence byte.
type obsCodec struct{ b []byte }

func (e *obsCodec) str(s string) {
	e.b = binary.AppendUvarint(e.b, uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *obsCodec) strPtr(s *string) {
	if s == nil {
		e.b = append(e.b, 0)
		return
	}
	e.b = append(e.b, 1)
	e.str(*s)
}

func (e *obsCodec) time(t time.Time) {
	if t.IsZero() {
		e.b = append(e.b, 0)
		return
	}
	e.b = append(e.b, 1)
	e.b = binary.AppendVarint(e.b, t.Unix())
	e.b = binary.AppendUvarint(e.b, uint64(t.Nanosecond()))
}

func (e *obsCodec) timePtr(t *time.Time) {
	if t == nil {
		e.b = append(e.b, 2)
		return
	}
	e.time(*t)
}

// count writes the header of a nil-able list or map: 0 for nil, else its
// length plus one.
func (e *obsCodec) count(null bool, n int) {
	if null {
		e.b = append(e.b, 0)
		return
	}
	e.b = binary.AppendUvarint(e.b, uint64(n)+1)
}

// strs writes a nil-able list of strings: its count, then each string.
func (e *obsCodec) strs(l []string) {
	e.count(l == nil, len(l))
	for _, s := range l {
		e.str(s)
	}
}

// encodeMap writes a nil-able map: its count, then each key and its value
// (put).
func encodeMap[V any](e *obsCodec, m map[string]V, put func(V)) {
	e.count(m == nil, len(m))
	for k, v := range m {
		e.str(k)
		put(v)
	}
}

func (e *obsCodec) payload(p Payload) {
	s, ok := p.Text()
	switch {
	case !ok:
		e.b = append(e.b, 0)
		return
	case p.str:
		e.b = append(e.b, 2)
	default:
		e.b = append(e.b, 1)
	}
	e.str(s)
}

func encodeObservation(b []byte, o *Observation) []byte {
	e := obsCodec{b: b}
	var flags byte
	for i, f := range []bool{o.AppRoot, o.Bookmarked, o.Public, o.Placeholder} {
		if f {
			flags |= 1 << i
		}
	}
	e.b = append(e.b, flags)
	for _, s := range []string{o.ID, o.TraceID, o.ParentObservationID, o.Type, o.Level, o.Environment} {
		e.str(s)
	}
	for _, s := range []*string{o.Name, o.StatusMessage, o.Version, o.Model, o.InternalModelID, o.UsagePricingTierName,
		o.PromptID, o.PromptName, o.TraceName, o.UserID, o.SessionID, o.Release} {
		e.strPtr(s)
	}
	e.time(o.StartTime)
	e.timePtr(o.EndTime)
	e.timePtr(o.CompletionStartTime)
	e.time(o.CreatedAt)
	e.time(o.UpdatedAt)
	if o.PromptVersion == nil {
		e.b = append(e.b, 0)
	} else {
		e.b = append(e.b, 1)
		e.b = binary.AppendVarint(e.b, int64(*o.PromptVersion))
	}
	encodeMap(&e, o.UsageDetails, func(v int64) { e.b = binary.AppendVarint(e.b, v) })
	encodeMap(&e, o.CostDetails, func(v float64) { e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(v)) })
	e.strs(o.Tags)
	// Payloads last: they are most of the bytes.
	for _, p := range []Payload{o.Input, o.Output, o.Metadata, o.ModelParameters} {
		e.payload(p)
	}
	return e.b
}

// obsDecoder reads an encoding; strings are substrings of one copy of it.
type obsDecoder struct {
	s   string
	i   int
	err error
}

var errCorruptRow = errors.New("lftest: corrupt stored row")

func (d *obsDecoder) uvarint() uint64 {
	v, n := uvarintString(d.s[min(d.i, len(d.s)):])
	if n <= 0 {
		d.err, d.i = errCorruptRow, len(d.s)
		return 0
	}
	d.i += n
	return v
}

func (d *obsDecoder) varint() int64 {
	u := d.uvarint()
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x
}

func uvarintString(s string) (uint64, int) {
	var x uint64
	var shift uint
	for i := 0; i < len(s) && i < binary.MaxVarintLen64; i++ {
		b := s[i]
		if b < 0x80 {
			return x | uint64(b)<<shift, i + 1
		}
		x |= uint64(b&0x7f) << shift
		shift += 7
	}
	return 0, 0
}

func (d *obsDecoder) byte() byte {
	if d.i >= len(d.s) {
		d.err = errCorruptRow
		return 0
	}
	d.i++
	return d.s[d.i-1]
}

func (d *obsDecoder) str() string {
	n := int(d.uvarint())
	if n < 0 || d.i+n > len(d.s) {
		d.err, d.i = errCorruptRow, len(d.s)
		return ""
	}
	d.i += n
	return d.s[d.i-n : d.i]
}

// strs reads what obsCodec.strs wrote.
func (d *obsDecoder) strs() []string {
	n := int(d.uvarint())
	if n == 0 {
		return nil
	}
	l := make([]string, n-1)
	for i := range l {
		l[i] = d.str()
	}
	return l
}

func (d *obsDecoder) time(tag byte) time.Time {
	if tag == 0 {
		return time.Time{}
	}
	sec := d.varint()
	return time.Unix(sec, int64(d.uvarint())).UTC()
}

func (d *obsDecoder) payload() Payload { return d.payloadTagged(d.byte()) }

// payloadTagged reads the text of a payload whose tag was read (0 null,
// 1 JSON, 2 text).
func (d *obsDecoder) payloadTagged(tag byte) Payload {
	switch tag {
	case 0:
		return Payload{}
	case 2:
		return TextPayload(d.str())
	}
	return JSONPayload(d.str())
}

// decodeObservation decodes an encoding; the row's strings are views of b,
// which the caller hands over (it must never change afterwards): a copy
// of every row served was half of what the server allocated when a
// million rows were read back (issue 11).
func decodeObservation(b []byte) (*Observation, error) {
	d := obsDecoder{s: unsafe.String(unsafe.SliceData(b), len(b))}
	// One allocation for the row and its optional values.
	type row struct {
		o         Observation
		strs      [12]string
		times     [2]time.Time
		promptVer int
	}
	r := &row{}
	o := &r.o
	flags := d.byte()
	o.AppRoot, o.Bookmarked, o.Public, o.Placeholder = flags&1 != 0, flags&2 != 0, flags&4 != 0, flags&8 != 0
	for _, s := range []*string{&o.ID, &o.TraceID, &o.ParentObservationID, &o.Type, &o.Level, &o.Environment} {
		*s = d.str()
	}
	for i, s := range []**string{&o.Name, &o.StatusMessage, &o.Version, &o.Model, &o.InternalModelID, &o.UsagePricingTierName,
		&o.PromptID, &o.PromptName, &o.TraceName, &o.UserID, &o.SessionID, &o.Release} {
		if d.byte() == 1 {
			r.strs[i] = d.str()
			*s = &r.strs[i]
		}
	}
	o.StartTime = d.time(d.byte())
	for i, t := range []**time.Time{&o.EndTime, &o.CompletionStartTime} {
		if tag := d.byte(); tag != 2 {
			r.times[i] = d.time(tag)
			*t = &r.times[i]
		}
	}
	o.CreatedAt = d.time(d.byte())
	o.UpdatedAt = d.time(d.byte())
	if d.byte() == 1 {
		r.promptVer = int(d.varint())
		o.PromptVersion = &r.promptVer
	}
	if n := int(d.uvarint()); n > 0 {
		o.UsageDetails = make(map[string]int64, n-1)
		for range n - 1 {
			k := d.str()
			o.UsageDetails[k] = d.varint()
		}
	}
	if n := int(d.uvarint()); n > 0 {
		o.CostDetails = make(map[string]float64, n-1)
		for range n - 1 {
			k := d.str()
			if d.i+8 > len(d.s) {
				return nil, errCorruptRow
			}
			o.CostDetails[k] = math.Float64frombits(binary.LittleEndian.Uint64([]byte(d.s[d.i : d.i+8])))
			d.i += 8
		}
	}
	o.Tags = d.strs()
	o.Input, o.Output, o.Metadata, o.ModelParameters = d.payload(), d.payload(), d.payload(), d.payload()
	if d.err != nil {
		return nil, d.err
	}
	o.traceHash = xxh32String(o.TraceID)
	return o, nil
}

// memTracing keeps a writable project's traces in memory and its
// observations in a spill file with an index in memory. Writers append;
// readers work on an immutable snapshot that is rebuilt on the first read
// after a write: the rows written since the last snapshot are sorted and
// merged into its order, so a read after each write costs O(rows), not a
// full sort. Stored rows never change.
type memTracing struct {
	mu        sync.Mutex
	payloads  *spill            // trace records and large trace payloads (tracestore.go)
	traceNum  map[string]uint32 // trace id -> number, in order of first row or record
	traceIDs  []string          // by number
	idChunk   []byte            // the current chunk of keepID
	traceHash []uint32          // xxHash32 of the id, by number
	locs      []traceLoc        // by number
	rows      *spill            // nil until the first row
	idx       entries           // write order
	ids       idArena
	enc       []byte
	snap      *memSnap
	last      *memSnap // the latest snapshot, even after writes: what the next merges into
}

// obsEntry is what the heap keeps of a stored observation: its sort key
// (start, its trace's hash by the trace's number, and the id in the
// arena), where its encoding is (it ends where the next row's begins), and
// its trace's number. 24 bytes: at a million rows every byte is a MB of the
// demo's heap (issue 11).
type obsEntry struct {
	startMs int64
	offLo   uint32 // the offset of the encoded row in the spill file: offLo | offHi<<32
	idOff   uint32
	trace   uint32
	idLen   uint16
	offHi   uint8
	flags   uint8
}

func (e *obsEntry) off() int64 { return int64(e.offLo) | int64(e.offHi)<<32 }

// maxSpillOffset is where the 40-bit offsets of obsEntry end (1 TiB).
const maxSpillOffset = 1 << 40

const entryPlaceholder = 1

// entries holds the index in chunks of entryChunk that are never moved: a
// slice grown by doubling would be copied, and held twice meanwhile, at a
// million rows tens of MB (issue 11).
type entries struct {
	chunks [][]obsEntry
	n      int
}

const entryChunk = 1 << 16

func (x *entries) add(e obsEntry) {
	if x.n%entryChunk == 0 {
		x.chunks = append(x.chunks, make([]obsEntry, 0, entryChunk))
	}
	k := len(x.chunks) - 1
	x.chunks[k] = append(x.chunks[k], e)
	x.n++
}

func (x *entries) at(i uint32) *obsEntry { return &x.chunks[i/entryChunk][i%entryChunk] }

// view is the first n entries as they are now; later adds do not change
// them (they write past n).
func (x *entries) view() entries { return entries{chunks: slices.Clone(x.chunks), n: x.n} }

// memSnap is an immutable view of a memTracing.
type memSnap struct {
	m       *memTracing
	idx     entries    // the store's first n entries
	end     int64      // end of the last row in the spill file
	ids     [][]byte   // the arena's chunks
	locs    []traceLoc // by trace number, as they were
	thash   []uint32   // xxHash32 of each trace's id, by number
	order   []uint32   // numbers of the traces with a record, newest first
	obs     []uint32   // canonical order
	byID    []uint32   // by id, then write order
	nTraces int

	// byTrace is the canonical order within each trace:
	// byTrace[traceRow[k]:traceRow[k+1]] are trace k's rows. Built on first
	// use (groupByTrace): reading a project through the list APIs never
	// needs it (4 bytes a row, issue 11).
	groupOnce sync.Once
	byTrace   []uint32
	traceRow  []uint32
	v3view    bool

	placeholders bool
	v3once       sync.Once
	v3snap       *memSnap
}

func newMemTracing() *memTracing {
	return &memTracing{traceNum: map[string]uint32{}}
}

// openSpill creates the spill file *s on first use; it is closed when m
// is closed or collected. m.mu is held.
func (m *memTracing) openSpill(s **spill) error {
	if *s != nil {
		return nil
	}
	sp, err := newSpill()
	if err != nil {
		return err
	}
	*s = sp
	runtime.AddCleanup(m, func(s *spill) { _ = s.close() }, sp)
	return nil
}

// addObservations appends observations; like Langfuse v4 it does not
// deduplicate by id.
func (m *memTracing) addObservations(obs ...*Observation) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.openSpill(&m.rows); err != nil {
		return err
	}
	for _, o := range obs {
		if len(o.ID) > math.MaxUint16 {
			return fmt.Errorf("lftest: add observation: id of %d bytes", len(o.ID))
		}
		o.traceHash = xxh32String(o.TraceID)
		m.enc = encodeObservation(m.enc[:0], o)
		off, err := m.rows.append(m.enc)
		if err != nil {
			return err
		}
		num := m.traceNumber(o.TraceID)
		if off >= maxSpillOffset {
			return fmt.Errorf("lftest: add observation: the spill file passed %d bytes", int64(maxSpillOffset))
		}
		e := obsEntry{startMs: o.StartTime.UnixMilli(), offLo: uint32(off), offHi: uint8(off >> 32), idOff: m.ids.add(o.ID), trace: num,
			idLen: uint16(len(o.ID))}
		if o.Placeholder {
			e.flags |= entryPlaceholder
		}
		m.idx.add(e)
	}
	m.snap = nil
	return nil
}

// inlinePayload is the size up to which a trace record holds its payload
// itself (larger ones it names by their place in the spill file).
const inlinePayload = 64

func (m *memTracing) close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var err error
	for _, s := range []**spill{&m.rows, &m.payloads} {
		if *s != nil {
			err = errors.Join(err, (*s).close())
			*s = nil
		}
	}
	return err
}

// snapshot returns the current immutable view, rebuilding it after writes.
func (m *memTracing) snapshot() *memSnap {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.snap != nil {
		return m.snap
	}
	s := &memSnap{m: m, idx: m.idx.view(), ids: slices.Clone(m.ids.chunks), locs: slices.Clone(m.locs), nTraces: len(m.traceNum),
		thash: m.traceHash} // appended to, never changed
	if m.rows != nil {
		s.end = m.rows.end()
	}
	for i := range s.idx.n {
		if s.idx.at(uint32(i)).flags&entryPlaceholder != 0 {
			s.placeholders = true
			break
		}
	}
	// Merge the rows written since the last snapshot into its orders.
	var prevObs, prevByID []uint32
	if m.last != nil {
		prevObs, prevByID = m.last.obs, m.last.byID
	}
	n0 := len(prevObs)
	fresh := make([]uint32, 0, s.idx.n-n0)
	for i := n0; i < s.idx.n; i++ {
		fresh = append(fresh, uint32(i))
	}
	byKey := func(a, b uint32) int {
		if c := s.cmpKey(a, b); c != 0 {
			return c
		}
		return cmp.Compare(a, b) // write order among equal keys
	}
	byID := func(a, b uint32) int {
		if c := bytes.Compare(s.id(a), s.id(b)); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	}
	slices.SortFunc(fresh, byKey)
	s.obs = mergeSorted(prevObs, fresh, byKey)
	slices.SortFunc(fresh, byID)
	s.byID = mergeSorted(prevByID, fresh, byID)
	for k, loc := range s.locs {
		if loc.n > 0 {
			s.order = append(s.order, uint32(k))
		}
	}
	ids := m.traceIDs // ids of numbers below len(s.locs) never change
	slices.SortFunc(s.order, func(a, b uint32) int {
		// timestamp DESC, id DESC
		if c := cmp.Compare(s.locs[b].ts, s.locs[a].ts); c != 0 {
			return c
		}
		return strings.Compare(ids[b], ids[a])
	})
	m.snap, m.last = s, s
	return s
}

// mergeSorted merges two sorted lists; of equal elements a's come first.
func mergeSorted(a, b []uint32, cmp func(x, y uint32) int) []uint32 {
	out := make([]uint32, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if cmp(b[j], a[i]) < 0 {
			out = append(out, b[j])
			j++
		} else {
			out = append(out, a[i])
			i++
		}
	}
	return append(append(out, a[i:]...), b[j:]...)
}

func (s *memSnap) id(r uint32) []byte {
	e := s.idx.at(r)
	c := s.ids[e.idOff/arenaChunk]
	o := e.idOff % arenaChunk
	return c[o : o+uint32(e.idLen)]
}

// cmpKey compares rows in canonical (descending) order.
func (s *memSnap) cmpKey(a, b uint32) int {
	x, y := s.idx.at(a), s.idx.at(b)
	switch {
	case x.startMs != y.startMs:
		return -cmp.Compare(x.startMs, y.startMs)
	case s.thash[x.trace] != s.thash[y.trace]:
		return -cmp.Compare(s.thash[x.trace], s.thash[y.trace])
	}
	return -bytes.Compare(s.id(a), s.id(b))
}

func (s *memSnap) key(r uint32) obsKey {
	e := s.idx.at(r)
	return obsKey{startMs: e.startMs, hash: s.thash[e.trace], id: string(s.id(r))}
}

// row decodes stored row r; a v3 view serves the children of a placeholder
// root as roots.
func (s *memSnap) row(r uint32) *Observation {
	end := s.end
	if int(r)+1 < s.idx.n {
		end = s.idx.at(r + 1).off()
	}
	off := s.idx.at(r).off()
	buf := rowBufs.Get().(*[]byte)
	if n := int(end - off); cap(*buf) < n {
		*buf = make([]byte, n)
	} else {
		*buf = (*buf)[:n]
	}
	b, err := s.m.readInto(*buf, off)
	if err == nil {
		var o *Observation
		if o, err = decodeObservation(b); err == nil {
			o.buf = buf
			if s.v3view && o.ParentObservationID != "" && o.ParentObservationID == PlaceholderID(o.TraceID) {
				o.ParentObservationID = ""
			}
			return o
		}
	}
	// The spill file is this process's own; failing to read it back is
	// as fatal as losing memory.
	panic(fmt.Sprintf("lftest: read stored observation: %v", err))
}

// groupByTrace builds byTrace and traceRow once: the canonical order
// grouped by trace (a counting sort).
func (s *memSnap) groupByTrace() {
	s.groupOnce.Do(func() {
		s.traceRow = make([]uint32, s.nTraces+1)
		for _, r := range s.obs {
			s.traceRow[s.idx.at(r).trace+1]++
		}
		for k := 1; k <= s.nTraces; k++ {
			s.traceRow[k] += s.traceRow[k-1]
		}
		s.byTrace = make([]uint32, len(s.obs))
		fill := slices.Clone(s.traceRow[:s.nTraces])
		for _, r := range s.obs {
			t := s.idx.at(r).trace
			s.byTrace[fill[t]] = r
			fill[t]++
		}
	})
}

func (m *memTracing) readInto(out []byte, off int64) ([]byte, error) {
	m.mu.Lock()
	rows := m.rows
	m.mu.Unlock()
	if rows == nil {
		return nil, errors.New("project closed")
	}
	return rows.readInto(out, off)
}

// rowBufs holds the buffers stored rows are read into (memSnap.row): a
// page of the v2 observations API reads a thousand rows of kilobytes each,
// and the read-backs of `lakefuse demo` read a million twice (5 GB of
// garbage, issue 11). A row's strings are views of its buffer, which
// releaseRows returns once nothing of the row is needed; rows never
// released leave theirs to the garbage collector.
var rowBufs = sync.Pool{New: func() any { return new([]byte) }}

// releaseRows returns the buffers of rows read from a spill file to
// rowBufs: the rows must not be used afterwards. In test binaries the
// buffers are overwritten first, so that a row used after its release
// shows up in every test.
func releaseRows(rows []*Observation) {
	for _, o := range rows {
		if o.buf == nil {
			continue
		}
		if poisonRows {
			b := *o.buf
			for i := range b {
				b[i] = 0xA5
			}
		}
		rowBufs.Put(o.buf)
		o.buf = nil
	}
}

var poisonRows = testing.Testing()

// v3 returns the view of a Langfuse v3 server: the trace's own tables have
// no placeholder roots, so they are left out and their children are roots
// again (the inverse of createRootSpansFromTraces.ts). Built once per
// snapshot, and only when a placeholder exists.
func (s *memSnap) v3() *memSnap {
	if !s.placeholders {
		return s
	}
	s.v3once.Do(func() {
		v := &memSnap{m: s.m, idx: s.idx, end: s.end, ids: s.ids, locs: s.locs, thash: s.thash, order: s.order, nTraces: s.nTraces,
			v3view: true}
		keep := func(list []uint32) []uint32 {
			out := make([]uint32, 0, len(list))
			for _, r := range list {
				if s.idx.at(r).flags&entryPlaceholder == 0 {
					out = append(out, r)
				}
			}
			return out
		}
		v.obs, v.byID = keep(s.obs), keep(s.byID)
		// v's own groupByTrace groups its obs: the same rows in the same
		// canonical order, trace by trace.
		s.v3snap = v
	})
	return s.v3snap
}

func (s *memSnap) obsLen() int              { return len(s.obs) }
func (s *memSnap) obsAt(i int) *Observation { return s.row(s.obs[i]) }
func (s *memSnap) keyAt(i int) obsKey       { return s.key(s.obs[i]) }
func (s *memSnap) traceLen() int            { return len(s.order) }
func (s *memSnap) traceAt(i int) *Trace     { return s.traceRecord(s.order[i]) }

func (s *memSnap) trace(id string) *Trace {
	k, ok := s.m.numberOf(id)
	if !ok || int(k) >= len(s.locs) {
		return nil
	}
	return s.traceRecord(k)
}

// traceRecord decodes trace number k as the snapshot saw it.
func (s *memSnap) traceRecord(k uint32) *Trace {
	s.m.mu.Lock()
	file := s.m.payloads
	s.m.mu.Unlock()
	st, err := readTrace(file, s.locs[k])
	if err != nil {
		// The spill file is this process's own: as fatal as lost memory.
		panic(fmt.Sprintf("lftest: read stored trace: %v", err))
	}
	return st.t
}

func (s *memSnap) traceObservations(id string) []*Observation {
	k, ok := s.m.numberOf(id)
	if !ok || int(k) >= s.nTraces {
		return nil
	}
	s.groupByTrace()
	rows := s.byTrace[s.traceRow[k]:s.traceRow[k+1]]
	if len(rows) == 0 {
		return nil
	}
	out := make([]*Observation, len(rows))
	for i, r := range rows {
		out[i] = s.row(r)
	}
	return out
}

// observation returns the row with the id that comes first in canonical
// order (v4 keeps duplicates).
func (s *memSnap) observation(id string) *Observation {
	want := []byte(id)
	i, _ := slices.BinarySearchFunc(s.byID, want, func(r uint32, w []byte) int { return bytes.Compare(s.id(r), w) })
	best := -1
	for ; i < len(s.byID) && bytes.Equal(s.id(s.byID[i]), want); i++ {
		if r := s.byID[i]; best < 0 || s.cmpKey(r, uint32(best)) < 0 {
			best = int(r)
		}
	}
	if best < 0 {
		return nil
	}
	return s.row(uint32(best))
}
