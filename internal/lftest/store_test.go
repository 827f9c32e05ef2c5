package lftest

import (
	"encoding/hex"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// storeRow is a written observation of about 2 KB of payload, as the demo
// and the import benchmarks send them.
func storeRow(i int) *Observation {
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	trace := fmt.Sprintf("%032x", i/10)
	end := base.Add(time.Duration(i)*time.Millisecond + time.Second)
	name := fmt.Sprintf("step-%d", i%7)
	parent := ""
	if i%10 != 0 {
		parent = fmt.Sprintf("%016x", i/10*10+1)
	}
	return &Observation{ID: fmt.Sprintf("%016x", i+1), TraceID: trace, ParentObservationID: parent, Type: TypeGeneration, Name: &name,
		StartTime: base.Add(time.Duration(i) * time.Millisecond), EndTime: &end, Level: LevelDefault,
		Input:        JSONPayload(`{"messages":[{"role":"user","content":"` + strings.Repeat("q", 1000) + fmt.Sprint(i) + `"}]}`),
		Output:       TextPayload(strings.Repeat("a", 1000) + fmt.Sprint(i)),
		Metadata:     JSONPayload(`{"k":"v"}`),
		UsageDetails: map[string]int64{"input": 10, "output": int64(i)}, CostDetails: map[string]float64{"total": 0.5},
		CreatedAt: base, UpdatedAt: base, Tags: []string{"a", "b"}}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestStoreMemoryPerObservation checks that a written project does not keep
// its rows in the Go heap: the demo imports a million observations of ~2 KB
// into the in-process server (issue 11), so a row may cost its index, not
// its payload.
func TestStoreMemoryPerObservation(t *testing.T) {
	const n = 20000
	p := NewProject("p", "memory")
	defer p.Close()
	// The marginal cost of n more rows: the first n pay for buffers of a
	// fixed size.
	var heap [2]uint64
	for round := range heap {
		for i := round * n; i < (round+1)*n; i += 500 {
			batch := make([]*Observation, 0, 500)
			for j := i; j < i+500; j++ {
				batch = append(batch, storeRow(j))
			}
			for _, o := range batch {
				// A v4 trace takes its root's input and output (otlp.go).
				if o.ParentObservationID == "" {
					if err := p.UpsertTrace(&Trace{ID: o.TraceID, Name: o.Name, Input: o.Input, Output: o.Output}); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := p.AddObservations(batch...); err != nil {
				t.Fatal(err)
			}
		}
		if got := p.Counts().Observations; got != (round+1)*n { // builds the read index too
			t.Fatalf("%d observations stored, want %d", got, (round+1)*n)
		}
		heap[round] = heapInUse()
	}
	perRow := (int64(heap[1]) - int64(heap[0])) / n
	t.Logf("heap: %d bytes per stored observation", perRow)
	if perRow > 100 {
		t.Errorf("the store keeps %d bytes of heap per observation of ~2 KB; want at most 100 (rows belong on disk, the index is not grown by doubling)", perRow)
	}
	runtime.KeepAlive(p)
}

// TestStoreRoundTrip checks that every field of an observation reads back
// as it was written, and the canonical order, by-id and by-trace reads.
func TestStoreRoundTrip(t *testing.T) {
	p := NewProject("p", "round trip")
	defer p.Close()
	pv, ct := 3, time.Date(2026, 3, 1, 0, 0, 1, 500, time.UTC)
	full := storeRow(7)
	full.ParentObservationID, full.CompletionStartTime, full.StatusMessage = "parent", &ct, ptr("")
	full.Version, full.Environment, full.AppRoot, full.Bookmarked = ptr("v1"), "prod", true, true
	full.Model, full.InternalModelID, full.ModelParameters = ptr("gpt"), ptr("m1"), JSONPayload(`{"t":1}`)
	full.UsagePricingTierName, full.PromptID, full.PromptName, full.PromptVersion = ptr("tier"), ptr("pid"), ptr("pn"), &pv
	full.TraceName, full.UserID, full.SessionID, full.Release, full.Public = ptr("tn"), ptr("u"), ptr("s"), ptr("r"), true
	empty := &Observation{ID: "e", TraceID: full.TraceID, StartTime: full.StartTime, UsageDetails: map[string]int64{}, Tags: []string{}}
	placeholder := &Observation{ID: PlaceholderID(full.TraceID), TraceID: full.TraceID, StartTime: full.StartTime.Add(-time.Second),
		Type: TypeSpan, Placeholder: true, Input: TextPayload("")}
	if err := p.UpsertTrace(&Trace{ID: full.TraceID}); err != nil {
		t.Fatal(err)
	}
	want := []*Observation{full, empty, placeholder}
	var copies []Observation
	for _, o := range want {
		copies = append(copies, *o)
	}
	if err := p.AddObservations(want...); err != nil {
		t.Fatal(err)
	}
	for i, w := range copies {
		w.traceHash = xxh32String(w.TraceID)
		got := p.tr().observation(w.ID)
		if got == nil {
			t.Fatalf("observation %q not found by id", w.ID)
		}
		gv, wv := reflect.ValueOf(*got), reflect.ValueOf(w)
		for f := 0; f < gv.NumField(); f++ {
			if gv.Type().Field(f).Type == reflect.TypeFor[Payload]() {
				continue // compared by text below
			}
			if gv.Type().Field(f).Name == "buf" {
				continue // the buffer the row was read into
			}
			if !gv.Type().Field(f).IsExported() {
				if gv.Field(f).Uint() != wv.Field(f).Uint() {
					t.Errorf("row %d: %s differs", i, gv.Type().Field(f).Name)
				}
				continue
			}
			if g, e := gv.Field(f), wv.Field(f); !reflect.DeepEqual(g.Interface(), e.Interface()) {
				t.Errorf("row %d: %s read back as %v, want %v", i, gv.Type().Field(f).Name, reflect.Indirect(g), reflect.Indirect(e))
			}
		}
		for _, pl := range []struct{ g, w Payload }{{got.Input, w.Input}, {got.Output, w.Output}, {got.Metadata, w.Metadata}, {got.ModelParameters, w.ModelParameters}} {
			gs, gok := pl.g.Text()
			ws, wok := pl.w.Text()
			if gs != ws || gok != wok || pl.g.str != pl.w.str {
				t.Errorf("row %d: payload %q/%v/%v, want %q/%v/%v", i, gs, gok, pl.g.str, ws, wok, pl.w.str)
			}
		}
	}
	var order []string
	p.EachObservation(func(o *Observation, _ *Trace) bool { order = append(order, o.ID); return true })
	if got := strings.Join(order, ","); got != "e,0000000000000008,"+PlaceholderID(full.TraceID) {
		t.Errorf("canonical order %s", got)
	}
	var byTrace []string
	for _, o := range p.TraceObservations(full.TraceID) {
		byTrace = append(byTrace, o.ID)
	}
	if strings.Join(byTrace, ",") != strings.Join(order, ",") {
		t.Errorf("trace observations %v, want %v", byTrace, order)
	}
	v3 := p.trFor(V3)
	if v3.obsLen() != 2 || v3.observation(PlaceholderID(full.TraceID)) != nil {
		t.Errorf("v3 view: %d rows, placeholder served", v3.obsLen())
	}
}

// BenchmarkStoreObservations writes observations of ~2 KB and reads them
// all back in canonical order, as an import and a verifying export do.
func BenchmarkStoreObservations(b *testing.B) {
	rows := make([]*Observation, 10000)
	for i := range rows {
		rows[i] = storeRow(i)
	}
	b.ReportAllocs()
	for b.Loop() {
		p := NewProject("p", "bench")
		for i := 0; i < len(rows); i += 500 {
			batch := make([]*Observation, 500)
			for j := range batch {
				cp := *rows[i+j]
				batch[j] = &cp
			}
			_ = p.UpsertTrace(&Trace{ID: batch[0].TraceID})
			_ = p.AddObservations(batch...)
		}
		tr := p.tr()
		for i := 0; i < tr.obsLen(); i++ {
			if tr.obsAt(i) == nil {
				b.Fatal("nil row")
			}
		}
		p.Close()
	}
	b.ReportMetric(float64(len(rows)*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// TestStoredSpansDoNotPinRequestBody checks that what an OTLP write stores
// (trace, session, experiment run and item, row) does not point into the
// request body: the decoder's strings do, and a million imported
// observations would keep every body of the import alive (issue 11).
func TestStoredSpansDoNotPinRequestBody(t *testing.T) {
	kv := func(k, v string) *commonpb.KeyValue { return &commonpb.KeyValue{Key: k, Value: sv(v)} }
	var spans []*tracepb.Span
	for i := range 50 {
		spans = append(spans, &tracepb.Span{TraceId: []byte{byte(i), 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
			SpanId: []byte{byte(i), 2, 3, 4, 5, 6, 7, 8}, Name: "root", StartTimeUnixNano: 1e18, EndTimeUnixNano: 1e18 + 1e6,
			Attributes: []*commonpb.KeyValue{kv("langfuse.trace.name", "tn"), kv("user.id", "u"), kv("session.id", fmt.Sprint("s", i)),
				kv("langfuse.trace.tags", `["a"]`), kv("langfuse.release", "r"), kv("langfuse.observation.input", strings.Repeat("x", 4000)),
				kv("langfuse.observation.output", "short"), kv("langfuse.experiment.id", "run1"), kv("langfuse.experiment.name", "exp"),
				kv("langfuse.experiment.dataset.id", "ds"), kv("langfuse.experiment.item.id", fmt.Sprint("item", i)),
				kv("langfuse.experiment.item.root_observation_id", hex.EncodeToString([]byte{byte(i), 2, 3, 4, 5, 6, 7, 8}))}})
	}
	body, err := proto.Marshal(&tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{
		ScopeSpans: []*tracepb.ScopeSpans{{Scope: &commonpb.InstrumentationScope{Name: "langfuse-sdk"}, Spans: spans}}}}})
	if err != nil {
		t.Fatal(err)
	}
	p := NewProject("p", "pins")
	defer p.Close()
	decoded, err := decodeOTLP("application/x-protobuf", body)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.ingestSpans(V4, decoded, time.Now()); err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	runtime.AddCleanup(&body[0], func(ch chan struct{}) { close(ch) }, released)
	body, decoded = nil, nil
	for range 20 {
		runtime.GC()
		select {
		case <-released:
			if got := p.Counts(); got.Observations != 50 || got.Traces != 50 || got.DatasetRunItems != 50 {
				t.Fatalf("stored %+v", got)
			}
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatal("the project keeps the OTLP request body alive")
}

// TestTraceRecords: a trace stored as a record in the spill file comes
// back with every field; an update keeps what it does not set (payloads
// too, without storing their text again), an unchanged trace adds nothing
// to the file, and the traces list in timestamp DESC, id DESC order.
func TestTraceRecords(t *testing.T) {
	m := newMemTracing()
	defer m.close()
	at := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
	big := `{"q":"` + strings.Repeat("ü", 500) + `"}`
	full := &Trace{ID: "t1", Timestamp: at, Name: ptr("chat"), UserID: ptr("u-1"), Release: ptr("r1"), Version: ptr(""),
		Environment: "prod", Tags: []string{"a", "b"}, Public: true, Input: JSONPayload(big), Output: TextPayload("short"),
		CreatedAt: at.Add(time.Second), UpdatedAt: at.Add(2 * time.Second)}
	if err := m.upsertTrace(full); err != nil {
		t.Fatal(err)
	}
	text := func(p Payload) string {
		s, ok := p.Text()
		return fmt.Sprintf("%v %v %q", ok, p.str, s)
	}
	same := func(got, want *Trace) {
		t.Helper()
		g, w := *got, *want
		for _, p := range []*Trace{&g, &w} {
			p.Input, p.Output, p.Metadata = Payload{}, Payload{}, Payload{}
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("trace %+v, want %+v", g, w)
		}
		for i, p := range [][2]Payload{{got.Input, want.Input}, {got.Output, want.Output}, {got.Metadata, want.Metadata}} {
			if text(p[0]) != text(p[1]) {
				t.Errorf("payload %d: %s, want %s", i, text(p[0]), text(p[1]))
			}
		}
	}
	same(m.snapshot().trace("t1"), full)

	// An update: fields it sets win, the rest stay.
	out := strings.Repeat("answer ", 40)
	if err := m.upsertTrace(&Trace{ID: "t1", SessionID: ptr("s-1"), Output: TextPayload(out), Bookmarked: true}); err != nil {
		t.Fatal(err)
	}
	want := *full
	want.SessionID, want.Output, want.Bookmarked = ptr("s-1"), TextPayload(out), true
	same(m.snapshot().trace("t1"), &want)

	// The same attributes again (as every span of a trace carries them)
	// store nothing.
	end := m.payloads.end()
	if err := m.upsertTrace(&Trace{ID: "t1", SessionID: ptr("s-1"), Name: ptr("chat")}); err != nil {
		t.Fatal(err)
	}
	if m.payloads.end() != end {
		t.Errorf("an unchanged trace added %d bytes to the file", m.payloads.end()-end)
	}

	// A trace known from observations only has no record until one is
	// stored; the list is newest first, ties by id descending.
	if err := m.addObservations(&Observation{ID: "o1", TraceID: "t0", Type: "SPAN", StartTime: at}); err != nil {
		t.Fatal(err)
	}
	if tr := m.snapshot().trace("t0"); tr != nil {
		t.Errorf("trace t0 without a record: %+v", tr)
	}
	for _, tr := range []*Trace{{ID: "t2", Timestamp: at}, {ID: "t3", Timestamp: at.Add(time.Hour)}, {ID: "t0"}} {
		if err := m.upsertTrace(tr); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.fillTimestamp("t0", at.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	s := m.snapshot()
	var order []string
	for i := range s.traceLen() {
		order = append(order, s.traceAt(i).ID)
	}
	if got := strings.Join(order, " "); got != "t3 t2 t1 t0" {
		t.Errorf("traces in order %s, want t3 t2 t1 t0", got)
	}
	if tr := s.trace("t0"); !tr.Timestamp.Equal(at.Add(-time.Hour)) {
		t.Errorf("t0 timestamp %v, want the observation's start", tr.Timestamp)
	}
}

// TestScoresShareRepeatedValues: scores stored from separate requests
// share one copy of the values they repeat, and keep their own values.
func TestScoresShareRepeatedValues(t *testing.T) {
	p := NewProject("p", "p")
	mk := func(id, label string) *Score {
		return &Score{ID: id, Name: strings.Clone("sentiment"), DataType: DataCategorical, Source: SourceAnnotation,
			Environment: "default", ConfigID: ptr(strings.Clone("cfg-1")), StringValue: ptr(label),
			Comment: ptr(strings.Repeat("long comment ", 10)), Metadata: NullPayload()}
	}
	a, b := mk("s1", "positive"), mk("s2", "negative")
	p.AddScores(a, b)
	if a.ConfigID != b.ConfigID || unsafe.StringData(a.Name) != unsafe.StringData(b.Name) {
		t.Error("repeated values are not shared")
	}
	if *a.StringValue != "positive" || *b.StringValue != "negative" || *a.ConfigID != "cfg-1" {
		t.Errorf("values changed: %q %q %q", *a.StringValue, *b.StringValue, *a.ConfigID)
	}
	if a.Comment == b.Comment {
		t.Error("a long text was interned")
	}
}

// TestObsEntry: the index entry of a stored row stays at 24 bytes and
// keeps offsets up to 1 TiB.
func TestObsEntry(t *testing.T) {
	if n := unsafe.Sizeof(obsEntry{}); n != 24 {
		t.Errorf("obsEntry takes %d bytes, want 24", n)
	}
	for _, off := range []int64{0, 1<<32 - 1, 1 << 32, maxSpillOffset - 1} {
		e := obsEntry{offLo: uint32(off), offHi: uint8(off >> 32)}
		if e.off() != off {
			t.Errorf("offset %d comes back as %d", off, e.off())
		}
	}
}

// TestPackedScores: a stored score keeps every value it was given while
// its unshared values live in one string and its pointers in itself
// (packScore), and the scores of a trace come back in list order from the
// one by-trace list (issue 11: half the live objects of the 1M demo's
// read-back were scores).
func TestPackedScores(t *testing.T) {
	p := NewProject("p", "p")
	long := strings.Repeat("a long comment ", 8)
	ts := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var scores []*Score
	for i := range 300 {
		s := &Score{ID: fmt.Sprintf("score-%03d", i), Name: "q", DataType: DataNumeric, Source: SourceAPI, Environment: "default",
			Timestamp: ts.Add(time.Duration(i%7) * time.Minute), TraceID: ptr(fmt.Sprintf("trace-%02d", i%13)),
			ObservationID: ptr(fmt.Sprintf("obs-%d", i)), Comment: ptr(long + strconv.Itoa(i)), StringValue: ptr("short"),
			Metadata: JSONPayload(fmt.Sprintf(`{"n":%d}`, i))}
		if i%5 == 0 {
			s.TraceID, s.SessionID = nil, ptr("session-1")
		}
		scores = append(scores, s)
	}
	want := make([]Score, len(scores))
	for i, s := range scores {
		want[i] = *s
		for _, f := range []**string{&want[i].TraceID, &want[i].ObservationID, &want[i].SessionID, &want[i].Comment, &want[i].StringValue} {
			if *f != nil {
				*f = ptr(strings.Clone(**f))
			}
		}
		want[i].ID, want[i].Metadata.text = strings.Clone(s.ID), strings.Clone(s.Metadata.text)
	}
	p.AddScores(scores...)
	str := func(v *string) string {
		if v == nil {
			return "<nil>"
		}
		return *v
	}
	for i, s := range p.Scores() {
		w := want[i]
		if s.ID != w.ID || s.Metadata.text != w.Metadata.text || str(s.TraceID) != str(w.TraceID) || str(s.ObservationID) != str(w.ObservationID) ||
			str(s.SessionID) != str(w.SessionID) || str(s.Comment) != str(w.Comment) || str(s.StringValue) != str(w.StringValue) {
			t.Fatalf("score %d changed when stored: %+v, want %+v", i, *s, w)
		}
		// Packed: the observation id follows the id in one string.
		gap := uintptr(unsafe.Pointer(unsafe.StringData(*s.ObservationID))) - uintptr(unsafe.Pointer(unsafe.StringData(s.ID)))
		if gap < uintptr(len(s.ID)) || gap > 256 {
			t.Fatalf("score %d is not packed", i)
		}
	}
	ix := p.scoreIndex()
	for k := range 14 {
		id := fmt.Sprintf("trace-%02d", k)
		var naive []*Score
		for _, s := range ix.sorted {
			if s.TraceID != nil && *s.TraceID == id {
				naive = append(naive, s)
			}
		}
		if got := ix.ofTrace(id); !slices.Equal(got, naive) || (k < 13) != (len(got) > 0) {
			t.Errorf("%s: %d scores from the by-trace list, %d in list order", id, len(got), len(naive))
		}
	}
}
