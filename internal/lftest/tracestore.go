package lftest

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
	"unsafe"
)

// A writable project's traces live in the payload spill file like its
// observations: each version of a trace is one encoded record appended to
// the file, and the heap keeps per trace only its id, timestamp and where
// its latest record is (traceLoc). At a million observations the traces
// as structs took ~60 MB of heap, with their payloads' readers (issue 11).

// traceLoc is where the latest record of a trace is. 24 bytes without
// pointers (a time.Time has one, and took 40): the store and each snapshot
// hold one per trace.
type traceLoc struct {
	ts  int64 // the record's timestamp (the traces' order) in ns since the epoch; noTime: zero
	off int64
	n   uint32 // 0: no record (a trace known only from its observations)
}

// noTime is traceLoc.ts of a record with a zero timestamp.
const noTime = math.MinInt64

func locTime(t time.Time) int64 {
	if t.IsZero() {
		return noTime
	}
	return t.UnixNano()
}

// traceNumber returns the number of trace id, giving it the next one when
// it is new. m.mu is held.
func (m *memTracing) traceNumber(id string) uint32 {
	if num, ok := m.traceNum[id]; ok {
		return num
	}
	id = m.keepID(id) // not the request body it may point into
	num := uint32(len(m.traceIDs))
	m.traceNum[id] = num
	m.traceIDs = append(m.traceIDs, id)
	m.traceHash = append(m.traceHash, xxh32String(id))
	m.locs = append(m.locs, traceLoc{})
	return num
}

// numberOf returns the number of trace id, if it has one.
func (m *memTracing) numberOf(id string) (uint32, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	num, ok := m.traceNum[id]
	return num, ok
}

// keepID copies a trace id into the chunk it shares with other ids: one
// object per 64 KiB of ids rather than one per id for the garbage
// collector to visit (100,000 at a million observations, issue 11).
// Chunks are only appended to. m.mu is held.
func (m *memTracing) keepID(id string) string {
	if id == "" {
		return ""
	}
	if cap(m.idChunk)-len(m.idChunk) < len(id) {
		m.idChunk = make([]byte, 0, max(64<<10, len(id)))
	}
	start := len(m.idChunk)
	m.idChunk = append(m.idChunk, id...)
	return unsafe.String(&m.idChunk[start], len(id))
}

// storedTrace is a trace as its latest record holds it: the record itself
// (what an update that changes nothing would write again) and the
// encodings of its payloads (a merge keeps those the update leaves null
// without copying their text again).
type storedTrace struct {
	t    *Trace // nil: no record
	rec  string
	raws [3]string
}

// traceRecord returns the stored trace number num. m.mu is held.
func (m *memTracing) traceRecord(num uint32) (storedTrace, error) {
	return readTrace(m.payloads, m.locs[num])
}

func readTrace(file *spill, loc traceLoc) (storedTrace, error) {
	if loc.n == 0 {
		return storedTrace{}, nil
	}
	if file == nil {
		return storedTrace{}, fmt.Errorf("lftest: read trace: project closed")
	}
	b, err := file.read(loc.off, int(loc.n))
	if err != nil {
		return storedTrace{}, err
	}
	return decodeTrace(file, unsafe.String(unsafe.SliceData(b), len(b))) // b is ours alone
}

// putTrace stores t as trace number num's latest record; old is what is
// stored now, and old.raws[i], when set, the encoding of t's i-th payload
// (Input, Output, Metadata) to keep. m.mu is held.
func (m *memTracing) putTrace(num uint32, t *Trace, old storedTrace) error {
	if err := m.openSpill(&m.payloads); err != nil {
		return err
	}
	e := obsCodec{b: m.enc[:0]}
	e.str(t.ID)
	e.time(t.Timestamp)
	for _, s := range []*string{t.Name, t.UserID, t.SessionID, t.Release, t.Version} {
		e.strPtr(s)
	}
	e.str(t.Environment)
	e.strs(t.Tags)
	var flags byte
	if t.Public {
		flags |= 1
	}
	if t.Bookmarked {
		flags |= 2
	}
	e.b = append(e.b, flags)
	e.time(t.CreatedAt)
	e.time(t.UpdatedAt)
	for i, p := range []Payload{t.Input, t.Output, t.Metadata} {
		if old.raws[i] != "" {
			e.b = append(e.b, old.raws[i]...)
			continue
		}
		if err := m.encodeTracePayload(&e, p); err != nil {
			return err
		}
	}
	m.enc = e.b
	if old.t != nil && old.rec == string(e.b) {
		return nil // unchanged (most spans of a trace repeat its attributes)
	}
	off, err := m.payloads.append(e.b)
	if err != nil {
		return err
	}
	m.locs[num] = traceLoc{ts: locTime(t.Timestamp), off: off, n: uint32(len(e.b))}
	m.snap = nil
	return nil
}

// Payload encodings of a trace record: as obsCodec.payload (0 null, 1
// JSON, 2 text, then the text), or, for texts longer than inlinePayload,
// 3 (JSON) or 4 (text) and the offset and length of the text in the file.
func (m *memTracing) encodeTracePayload(e *obsCodec, p Payload) error {
	s, ok := p.Text()
	if !ok || len(s) <= inlinePayload {
		e.payload(p)
		return nil
	}
	off, err := m.payloads.append([]byte(s))
	if err != nil {
		return err
	}
	tag := byte(3)
	if p.str {
		tag = 4
	}
	e.b = append(e.b, tag)
	e.b = binary.AppendUvarint(e.b, uint64(off))
	e.b = binary.AppendUvarint(e.b, uint64(len(s)))
	return nil
}

func decodeTrace(file *spill, rec string) (storedTrace, error) {
	d := obsDecoder{s: rec}
	t := &Trace{}
	var raws [3]string
	t.ID = d.str()
	t.Timestamp = d.time(d.byte())
	for _, s := range []**string{&t.Name, &t.UserID, &t.SessionID, &t.Release, &t.Version} {
		if d.byte() == 1 {
			v := d.str()
			*s = &v
		}
	}
	t.Environment = d.str()
	t.Tags = d.strs()
	flags := d.byte()
	t.Public, t.Bookmarked = flags&1 != 0, flags&2 != 0
	t.CreatedAt = d.time(d.byte())
	t.UpdatedAt = d.time(d.byte())
	for i, p := range []*Payload{&t.Input, &t.Output, &t.Metadata} {
		start := d.i
		switch tag := d.byte(); tag {
		case 0, 1, 2:
			*p = d.payloadTagged(tag)
		case 3, 4:
			off, n := int64(d.uvarint()), int(d.uvarint())
			*p = Payload{set: true, str: tag == 4, gen: func() string {
				b, err := file.read(off, n)
				if err != nil {
					panic(fmt.Sprintf("lftest: read stored payload: %v", err))
				}
				return string(b)
			}}
		default:
			d.err = errCorruptRow
		}
		raws[i] = rec[start:min(d.i, len(rec))]
	}
	if d.err != nil {
		return storedTrace{}, fmt.Errorf("lftest: read trace: %w", d.err)
	}
	return storedTrace{t: t, rec: rec, raws: raws}, nil
}
