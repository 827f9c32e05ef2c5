package main

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/export/lfexport"
	"github.com/lakefuse/lakefuse/hive"
	lf "github.com/lakefuse/lakefuse/internal/langfuse"
	"github.com/lakefuse/lakefuse/internal/lftest"
	"github.com/lakefuse/lakefuse/schema"
)

var canonicalCases = []string{
	`{"b":1,"a":[1,2.50,{"z":null,"y":true}],"c":"x"}`,
	` {"a" : 1e3 , "b":-0.0000001} `,
	`[]`, `{}`, `[{}]`, `{"a":{}}`,
	`{"a":"<tag>"}`, `{"a":"\u00e9"}`, `{"é":1}`, `{"a":1,"a":2}`,
	`{"a":1e400}`, `{"a":"tab\there"}`, `[1,2`, `{"a":}`, `[1e21,123456789012345678901234]`,
	`{"messages":[{"role":"user","content":"hi"}],"n":0.1}`,
	`{"a\u0062":"line\nbreak \u2028 \ud800 x","b":["\u00e9t\u00e9", "<&>"],"\u00e9":1,"e":2}`,
	`{"a":1,"\u0061":2}`, `["\x"]`, "[\"\xff\"]", `{"z\"q":1,"z":2}`,
}

// TestCanonicalMatchesJSON checks the fast canonical form against what
// json.Unmarshal and json.Marshal make of the same text.
func TestCanonicalMatchesJSON(t *testing.T) {
	for _, s := range canonicalCases {
		want := s
		if s[0] == '{' || s[0] == '[' {
			want = slowCanonical(s)
		}
		if got := canonical(s); got != want {
			t.Errorf("canonical(%s) = %s, want %s", s, got, want)
		}
	}
}

func FuzzCanonical(f *testing.F) {
	for _, s := range canonicalCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) == 0 || (s[0] != '{' && s[0] != '[') {
			return
		}
		if got, want := canonical(s), slowCanonical(s); got != want {
			t.Errorf("canonical(%q) = %q, want %q", s, got, want)
		}
	})
}

func BenchmarkCanonical(b *testing.B) {
	s := `{"messages":[{"role":"user","content":"hello world, a question of some length about the weather in Paris"}],"temperature":0.7,"n":1}`
	for b.Loop() {
		canonical(s)
	}
}

// BenchmarkCanonicalText: a payload of prose with non-ASCII letters and
// escapes, as the demo's and real chat messages are (appendJSONString).
func BenchmarkCanonicalText(b *testing.B) {
	s := `{"messages":[{"role":"user","content":"` + strings.Repeat(`Grüße aus Köln — “quoted” text,\nline 2 🎉 `, 40) + `"}]}`
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		canonical(s)
	}
}

// TestRowHashPieces checks the allocation-free pieces of hashTable against
// what they replace: hash/fnv's FNV-1a (of keys) and canonical.
func TestRowHashPieces(t *testing.T) {
	for _, s := range append(canonicalCases, "", "plain text", "{not json") {
		h := fnv.New64a()
		_, _ = h.Write([]byte(s))
		if got := fnvString(fnvOffset, s); got != h.Sum64() {
			t.Errorf("fnvString(%q) = %x, want %x", s, got, h.Sum64())
		}
		if got, want := canonicalHash(s, new([]byte), new([]jsonMember)), valueHashString(canonical(s)); got != want {
			t.Errorf("canonicalHash(%q) = %x, want the hash of canonical(s), %x", s, got, want)
		}
		b, text := appendCanonicalOrText([]byte("junk"), s, new([]jsonMember))
		if got := string(b) + text; got != canonical(s) {
			t.Errorf("appendCanonicalOrText(%q) = %q, want %q", s, got, canonical(s))
		}
	}
}

// FuzzJSONString checks appendJSONString against json.Unmarshal then
// json.Marshal of the same quoted string.
func FuzzJSONString(f *testing.F) {
	for _, s := range []string{`"a"`, `"<&>"`, `"\u00e9\n\t\b\f\r\/\\\""`, `"\ud83d\ude00 \ud800 \udc00x \ud800\u0041"`,
		"\"\xff\xfe\"", `"\u2028\u2029 \u0001 \u007f"`, `"\x"`, `"\u12"`, "\"a\x01\"", `"é"`, `"\"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		var v string
		err := json.Unmarshal([]byte(q), &v)
		got, ok := appendJSONString(nil, q)
		if err != nil {
			if ok {
				t.Errorf("appendJSONString(%q) = %q, json.Unmarshal: %v", q, got, err)
			}
			return
		}
		want, _ := json.Marshal(v)
		if ok && string(got) != string(want) {
			t.Errorf("appendJSONString(%q) = %q, want %q", q, got, want)
		}
		if !ok && strings.HasPrefix(q, `"`) && strings.HasSuffix(q, `"`) && len(q) >= 2 && !strings.ContainsAny(q, " \t\r\n") {
			t.Errorf("appendJSONString(%q) refused a valid string", q)
		}
	})
}

// hashes returns the hashes of each table's rows (hashTable's lists), after
// the export ended (liveHashes without a sink keeps them; verify gives it
// one, compareLakes' digests).
func (l *liveHashes) hashes() (map[string]hashList, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]hashList{}
	for name, h := range l.tables {
		out[name] = h.finish()
	}
	return out, nil
}

// TestLiveHashesEqualLake: verify hashes a live project's rows as the
// export gives them (lfexport.Options.Rows into liveHashes) instead of
// exporting them into a scratch lake and scanning it. Both must give the
// same hashes, table by table, for v3 and v4 sources, or verify would
// report rows that a lake holds faithfully.
func TestLiveHashesEqualLake(t *testing.T) {
	for _, mode := range []lftest.Mode{lftest.V3, lftest.V4} {
		t.Run(mode.String(), func(t *testing.T) {
			ctx := context.Background()
			lake, client := exportedLake(t, mode, 7)
			for _, dest := range []bool{false, true} {
				skip := func(table string) map[string]bool { return skipFor(table, dest) }
				lh := newLiveHashes(skip, nil)
				sb, err := bucket.NewLocal(t.TempDir())
				if err != nil {
					t.Fatal(err)
				}
				if _, err := lfexport.Export(ctx, sb, lfexport.Options{Client: client, Rows: lh.add}); err != nil {
					t.Fatal(err)
				}
				sb.Close()
				got, err := lh.hashes()
				if err != nil {
					t.Fatal(err)
				}
				if len(lake.Tables()) < 12 {
					t.Fatalf("the lake has only tables %v", lake.Tables())
				}
				for _, table := range lake.Tables() {
					want, err := hashTable(ctx, lake, table, skip(table), false, false, nil, nil)
					if err != nil {
						t.Fatal(err)
					}
					if len(want.rows) == 0 || !reflect.DeepEqual(got[table], want) {
						t.Errorf("%s (against destination %v): %d hashes from the rows, %d from the lake, equal %v",
							table, dest, len(got[table].rows), len(want.rows), reflect.DeepEqual(got[table], want))
					}
				}
			}
		})
	}
}

// TestHashListCounts: rows that share a key fold into one entry whose
// hash combines theirs and whose count is kept aside (issue 11: 16 bytes
// a row instead of 24).
func TestHashListCounts(t *testing.T) {
	h := &rowHasher{out: []rowHash{{3, 30}, {1, 10}, {2, 20}, {1, 11}, {1, 12}, {2, 21}}}
	l := h.finish()
	want := []rowHash{{1, 10 ^ 11 ^ 12}, {2, 20 ^ 21}, {3, 30}}
	if !reflect.DeepEqual(l.rows, want) {
		t.Fatalf("rows %v, want %v", l.rows, want)
	}
	for i, n := range []int{3, 2, 1} {
		if got := l.count(i); got != n {
			t.Errorf("key %d: count %d, want %d", l.rows[i].key, got, n)
		}
	}
	if len(l.many) != 2 {
		t.Errorf("counted aside: %v, want only the keys of more than one row", l.many)
	}
}

// TestRowTextMatchesFlatten: the compiled row formatter that verify hashes
// with (rowText, issue 11) gives every column of every table the text
// flatten gives it, so the hashes of a lake and of a live project mean
// what they meant when verify went through a map per row: on the rows of
// generated v3 and v4 lakes and on rows with the edge values of each
// column type.
func TestRowTextMatchesFlatten(t *testing.T) {
	check := func(t *testing.T, what string, v reflect.Value) {
		t.Helper()
		want := flatten(v.Elem())
		rt := newRowText(v.Elem().Type())
		rt.fill(v.UnsafePointer())
		if len(rt.vals) != len(want) {
			t.Fatalf("%s: %d values, flatten gives %d", what, len(rt.vals), len(want))
		}
		for col, w := range want {
			if got := rt.get(col); got != w {
				t.Errorf("%s column %s: %q, flatten gives %q", what, col, got, w)
			}
		}
	}
	for _, mode := range []lftest.Mode{lftest.V3, lftest.V4} {
		ctx := context.Background()
		lake, _ := exportedLake(t, mode, 11)
		rows := 0
		for _, table := range lake.Tables() {
			tb, err := schema.Lookup(table)
			if err != nil {
				continue
			}
			err = lake.Scan(ctx, table, hive.ScanOptions{}, func(bt hive.Batch) error {
				d, err := schema.NewDecoder(tb, bt.Record.Schema())
				if err != nil {
					return err
				}
				for i := range int(bt.Record.NumRows()) {
					v := reflect.New(tb.RowType())
					if err := d.Decode(bt.Record, i, v.Interface()); err != nil {
						return err
					}
					check(t, fmt.Sprintf("%s %s row %d", mode, table, i), v)
					rows++
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if rows < 500 {
			t.Fatalf("%s: only %d rows checked", mode, rows)
		}
	}
	str := func(s string) *string { return &s }
	f := func(x float64) *float64 { return &x }
	n := func(x int64) *int64 { return &x }
	yes := true
	ts := time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)
	edge := []*schema.Observation{
		{},
		{ID: "o", TraceID: str(""), TotalCost: f(1e21), InputPrice: f(0.1), OutputPrice: f(math.Inf(-1)), CalculatedTotalCost: f(math.Copysign(0, -1)),
			StartTime: ts, EndTime: &ts, CompletionStartTime: &time.Time{}, UsageDetails: map[string]int64{"b": 2, "a": -1},
			CostDetails: map[string]float64{"x": 1e-7}, Tags: []string{"a b", ""}, PromptVersion: n(-7), IsRootObservation: &yes},
		{StartTime: ts, Tags: []string{}, UsageDetails: map[string]int64{}},
		// The maps and lists rowText formats without fmt: more keys than
		// its array on the stack, floats fmt writes its own way, nil.
		{CostDetails: map[string]float64{"nan": math.NaN(), "inf": math.Inf(1), "-0": math.Copysign(0, -1), "big": 1e21, "small": 1e-5, "int": 3},
			UsageDetails: manyUsage(40), Tags: []string{"タグ 🚀", "[x]", "a=b,c"}},
		{CostDetails: nil, UsageDetails: nil, Tags: nil},
	}
	for i, o := range edge {
		check(t, fmt.Sprintf("edge observation %d", i), reflect.ValueOf(o))
	}
	// A time from an API, in another zone and with nanoseconds, is given
	// as a lake holds it, as writing the row and reading it back would.
	rt := newRowText(reflect.TypeFor[schema.Observation]())
	rt.fill(unsafe.Pointer(&schema.Observation{StartTime: ts.In(time.FixedZone("CET", 3600)).Add(789)}))
	if got, want := rt.get("start_time"), "2026-03-01 12:00:00.123456 +0000 UTC"; got != want {
		t.Errorf("a time in CET with nanoseconds: %q, want %q", got, want)
	}
	check(t, "edge trace", reflect.ValueOf(&schema.Trace{Public: true, Bookmarked: &yes, Timestamp: ts, TotalCost: f(math.NaN())}))
}

// TestCompareReportsEachDifference: compareLakes compares digests of
// both sides' rows first and reads again only the buckets whose digests
// differ (issue 11), and still tells a missing row, an extra one, a changed
// one and a key held a different number of times apart, with their keys,
// and nothing else.
func TestCompareReportsEachDifference(t *testing.T) {
	ctx := context.Background()
	lake, _ := exportedLake(t, lftest.V4, 5)
	const table = "observations"
	skip := skipFor(table, false)
	byHash := map[uint64]string{}
	if _, err := hashTable(ctx, lake, table, skip, false, false, nil, func(h uint64, k string) { byHash[h] = strings.Clone(k) }); err != nil {
		t.Fatal(err)
	}
	liveList := func() hashList {
		l, err := hashTable(ctx, lake, table, skip, false, false, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	same := liveList()
	if len(same.rows) < 10 {
		t.Fatalf("only %d observations", len(same.rows))
	}
	l := liveList()
	missing, changed, twice := l.rows[1].key, l.rows[3].key, l.rows[5].key
	l.rows[3].hash ^= 1
	l.many = map[uint64]int{twice: 2}
	extra := rowHash{key: l.rows[len(l.rows)-1].key + 1, hash: 7}
	l.rows = append(slices.Delete(l.rows, 1, 2), extra)
	byHash[extra.key] = "the-extra-one"
	reads := 0
	lv := &live{
		// The rows of list, a key held twice as a second row of hash 0
		// (the entry's hash is the XOR of its rows').
		rows: func(_ context.Context, _ []string, sink func(string) func(uint64, uint64, string)) error {
			reads++
			f := sink(table)
			for i, r := range l.rows {
				f(r.key, r.hash, byHash[r.key])
				for n := l.count(i); n > 1; n-- {
					f(r.key, 0, byHash[r.key])
				}
			}
			return nil
		},
		keys: func(_ context.Context, fns map[string]func(uint64, string)) error {
			fns[table](extra.key, "the-extra-one")
			return nil
		}}
	var out strings.Builder
	diffs, rows, compared, err := compareLakes(ctx, &out, lake, lv, false, false, []string{table}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diffs != 4 || len(compared) != 1 || compared[0].Missing != 1 || compared[0].Extra != 1 || compared[0].Differing != 2 {
		t.Fatalf("%d differences, %+v\n%s", diffs, compared, out.String())
	}
	if int(rows) != len(same.rows) || compared[0].LakeRows != int64(len(same.rows)) || compared[0].LiveRows != int64(len(same.rows)+1) {
		t.Errorf("rows %d, lake %d, live %d; want %d, %d, %d", rows, compared[0].LakeRows, compared[0].LiveRows, len(same.rows), len(same.rows), len(same.rows)+1)
	}
	if reads != 2 {
		t.Errorf("the live rows were read %d times, want 2 (the digests, then the buckets that differ)", reads)
	}
	for _, want := range []string{
		"DIFF observations: row " + byHash[missing] + " is missing in the live project",
		"DIFF observations: row " + byHash[changed] + " differs",
		"DIFF observations: row " + byHash[twice] + " appears 2 times in the live project, 1 in the lake",
		"DIFF observations: row the-extra-one is in the live project, not in the lake",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in\n%s", want, out.String())
		}
	}
	// Compared with itself, nothing differs, and one read decides it.
	l, reads = liveList(), 0
	diffs, rows, compared, err = compareLakes(ctx, io.Discard, lake, lv, false, false, []string{table}, nil)
	if err != nil || diffs != 0 || reads != 1 || int(rows) != len(same.rows) || compared[0].LiveRows != int64(len(same.rows)) {
		t.Errorf("a lake against its own hashes: %d differences, %d reads, %d rows, %+v, %v", diffs, reads, rows, compared, err)
	}
}

// TestDigestBuckets: a digest's buckets tell which rows differ (a changed
// hash, a row held once more, a missing one), the rows exactRows selects
// stay out of the buckets, and the second pass reads again exactly the
// rows of the buckets that differ.
func TestDigestBuckets(t *testing.T) {
	const rows = 10_000
	exact := exactRows("observations", true, keySet(map[string]string{"skipped-key": "why"}), keySet(map[string]string{"created-key": "why"}))
	for _, c := range []struct {
		name   string
		change func(key, hash uint64) []uint64 // the hashes the live side has for a row
		bad    int                             // buckets that differ
	}{
		{"same", func(_, h uint64) []uint64 { return []uint64{h} }, 0},
		{"changed", func(k, h uint64) []uint64 {
			if k == 77 {
				return []uint64{h ^ 1}
			}
			return []uint64{h}
		}, 1},
		{"twice", func(k, h uint64) []uint64 {
			if k == 5 || k == 9000 {
				return []uint64{h, h}
			}
			return []uint64{h}
		}, 2},
		{"missing", func(k, h uint64) []uint64 {
			if k == 1234 {
				return nil
			}
			return []uint64{h}
		}, 1},
	} {
		lake, live := newDigest(rows), newDigest(rows)
		if len(lake.n) != 256 { // the power of two past 10,000/64
			t.Fatalf("%d buckets for %d rows", len(lake.n), rows)
		}
		ls, vs := lake.sink(exact), live.sink(exact)
		for k := uint64(0); k < rows; k++ {
			h := mix64(k + 1000)
			ls(k, h, "id")
			for _, x := range c.change(k, h) {
				vs(k, x, "id")
			}
		}
		// Placeholder roots, and keys skipped or created by the import, on
		// either side only: kept exactly, not in the buckets.
		vs(keyHash("t-abc"), 1, "t-abc")
		ls(keyHash("skipped-key"), 2, "skipped-key")
		vs(keyHash("created-key"), 3, "created-key")
		if len(lake.exact) != 1 || len(live.exact) != 2 {
			t.Errorf("%s: exact rows %d and %d, want 1 and 2", c.name, len(lake.exact), len(live.exact))
		}
		bad := lake.differs(live)
		n := 0
		for _, b := range bad {
			if b {
				n++
			}
		}
		if n != c.bad {
			t.Errorf("%s: %d buckets differ, want %d", c.name, n, c.bad)
		}
		if c.bad == 0 {
			if bad != nil || lake.agreed(nil) != rows {
				t.Errorf("%s: %v, %d rows agreed", c.name, bad != nil, lake.agreed(nil))
			}
			continue
		}
		again := lake.again(bad, exact)
		for _, k := range []uint64{77, 5, 9000, 1234} {
			want := bad[lake.bucket(k)]
			if again(k, "id") != want {
				t.Errorf("%s: key %d read again %v, its bucket differs %v", c.name, k, !want, want)
			}
		}
		if again(keyHash("t-abc"), "t-abc") {
			t.Errorf("%s: a placeholder root read again", c.name)
		}
		if got := lake.agreed(bad); got >= rows || got < rows-n*200 {
			t.Errorf("%s: %d rows agreed outside %d buckets", c.name, got, n)
		}
	}
}

func manyUsage(n int) map[string]int64 {
	m := map[string]int64{}
	for i := range n {
		m[fmt.Sprintf("k%02d", n-i)] = int64(i*i - 300)
	}
	return m
}

// exportedLake serves a generated project (seed, small) in mode and
// exports it into a local lake; it returns the lake and a client of the
// project (valid until the test ends).
func exportedLake(t *testing.T, mode lftest.Mode, seed int64) (*hive.Lake, *lf.Client) {
	t.Helper()
	ctx := context.Background()
	srv := lftest.NewServer(lftest.Options{Mode: mode})
	t.Cleanup(srv.Close)
	_, pk, sk := srv.AddGeneratedProject(lftest.Generate(seed, lftest.SizeSmall))
	client, err := lf.New(lf.Config{BaseURL: srv.URL(), PublicKey: pk, SecretKey: sk})
	if err != nil {
		t.Fatal(err)
	}
	b, err := bucket.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if _, err := lfexport.Export(ctx, b, lfexport.Options{Client: client}); err != nil {
		t.Fatal(err)
	}
	lake, err := hive.Open(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	return lake, client
}

// flatten turns a row into printable values by column name, every field
// through reflection: the reference TestRowTextMatchesFlatten holds
// rowText's compiled readers to, and what the round-trip tests compare.
func flatten(v reflect.Value) map[string]string {
	m := map[string]string{}
	for i, f := range flattenerOf(v.Type()).fields {
		m[f.name] = flatOtherText(v.Field(i))
	}
	return m
}

// TestCollectRootsMatchesRead: the root inputs compareLakes gathers while
// it hashes the lake's observations (collectRoots) are those the separate
// read of the root observations finds (readRootInputs), and there are some
// (the generated roots carry tool definitions in their metadata).
func TestCollectRootsMatchesRead(t *testing.T) {
	for _, mode := range []lftest.Mode{lftest.V3, lftest.V4} {
		lake, _ := exportedLake(t, mode, 3)
		ctx := context.Background()
		read, err := readRootInputs(ctx, lake)
		if err != nil {
			t.Fatal(err)
		}
		gathered := map[string]uint64{}
		if _, err := hashTable(ctx, lake, "observations", skipFor("observations", true), true, false, collectRoots(gathered), nil); err != nil {
			t.Fatal(err)
		}
		if len(read) == 0 {
			t.Fatalf("mode %v: no root observation's input is reshaped: the test checks nothing", mode)
		}
		want := map[string]uint64{}
		for id, in := range read {
			want[id] = canonicalHash(in, new([]byte), new([]jsonMember))
		}
		if !maps.Equal(want, gathered) {
			t.Errorf("mode %v: hashing gathered %d root inputs, the read found %d", mode, len(gathered), len(read))
		}
		// A trace hashed with the gathered hash of its input is hashed as
		// with the text the read predicts.
		for id, in := range read {
			byText, err := newRowHasher("traces", skipFor("traces", true), true, false, rootInput(map[string]string{id: in}), nil)
			if err != nil {
				t.Fatal(err)
			}
			byHash, _ := newRowHasher("traces", skipFor("traces", true), true, false, rootInputHash(map[string]uint64{id: gathered[id]}), nil)
			before := `"before"`
			tr := &schema.Trace{ID: id, Input: &before}
			if err := byText.hashRow(tr); err != nil {
				t.Fatal(err)
			}
			if err := byHash.hashRow(tr); err != nil {
				t.Fatal(err)
			}
			if a, b := byText.out[0].hash, byHash.out[0].hash; a != b {
				t.Errorf("mode %v: a trace hashes as %x with its predicted input's text, %x with its hash", mode, a, b)
			}
			break
		}
	}
}

// TestRowCountsPast255: a key's count goes on past what its byte holds.
func TestRowCountsPast255(t *testing.T) {
	c := rowCounts{n: make([]uint8, 3)}
	for range 1000 {
		c.add(1)
	}
	c.add(2)
	if c.at(0) != 0 || c.at(1) != 1000 || c.at(2) != 1 {
		t.Fatalf("counts %d %d %d, want 0 1000 1", c.at(0), c.at(1), c.at(2))
	}
}

// TestPlainMultibyte: every sequence of a lead byte and two more bytes is
// taken as it is exactly when it starts with a valid two- or three-byte
// rune other than U+2028 and U+2029.
func TestPlainMultibyte(t *testing.T) {
	b := make([]byte, 3)
	for lead := 0x80; lead < 0x100; lead++ {
		for x := range 256 {
			for y := range 256 {
				b[0], b[1], b[2] = byte(lead), byte(x), byte(y)
				s := string(b)
				r, n := utf8.DecodeRuneInString(s)
				want := 0
				if !(r == utf8.RuneError && n == 1) && (n == 2 || n == 3) && r != '\u2028' && r != '\u2029' {
					want = n
				}
				if got := plainMultibyte(s, 0); got != want {
					t.Fatalf("plainMultibyte(% x) = %d, want %d", b, got, want)
				}
			}
		}
	}
	if got := plainMultibyte("\xe3\x81", 0); got != 0 {
		t.Errorf("a cut rune: %d", got)
	}
}
