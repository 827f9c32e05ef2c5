package lftest

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestXXH32(t *testing.T) {
	// Reference values of xxHash32 with seed 0 (as ClickHouse's xxHash32).
	for in, want := range map[string]uint32{
		"":    0x02cc5d05,
		"a":   0x550d7456,
		"abc": 0x32d153ff,
		"Nobody inspects the spammish repetition": 0xe2293b2f,
	} {
		if got := xxh32String(in); got != want {
			t.Errorf("xxh32(%q) = %#x, want %#x", in, got, want)
		}
	}
}

func TestMatchRoute(t *testing.T) {
	for _, tc := range []struct {
		method, path, pattern string
		params                map[string]string
	}{
		{"GET", "/api/public/v2/prompts/folder%2Fsub%2Fprompt", "/api/public/v2/prompts/{promptName+}", map[string]string{"promptName": "folder/sub/prompt"}},
		{"GET", "/api/public/v2/prompts/folder/sub/prompt", "/api/public/v2/prompts/{promptName+}", map[string]string{"promptName": "folder/sub/prompt"}},
		{"GET", "/api/public/v2/prompts", "/api/public/v2/prompts", map[string]string{}},
		{"GET", "/api/public/datasets/qa%2Fgold/runs/run%2F1%20x", "/api/public/datasets/{datasetName}/runs/{runName}",
			map[string]string{"datasetName": "qa/gold", "runName": "run/1 x"}},
		{"GET", "/api/public/annotation-queues/q/items/i", "/api/public/annotation-queues/{queueId}/items/{itemId}",
			map[string]string{"queueId": "q", "itemId": "i"}},
		{"GET", "/api/public/traces/", "/api/public/traces", map[string]string{}},
	} {
		rt, params, _ := matchRoute(tc.method, tc.path)
		if rt == nil || rt.pattern != tc.pattern {
			t.Errorf("%s: route %v, want %s", tc.path, rt, tc.pattern)
			continue
		}
		for k, v := range tc.params {
			if params[k] != v {
				t.Errorf("%s: %s = %q, want %q", tc.path, k, params[k], v)
			}
		}
	}
	if rt, _, allowed := matchRoute("PUT", "/api/public/models"); rt != nil || len(allowed) == 0 {
		t.Errorf("PUT models: route %v, allowed %v", rt, allowed)
	}
	if rt, _, allowed := matchRoute("GET", "/api/public/nope"); rt != nil || len(allowed) != 0 {
		t.Errorf("unknown path: %v %v", rt, allowed)
	}
}

func TestGeneratedIDsMapBack(t *testing.T) {
	pl := &plan{seed: 99, lazy: true, counts: []int{3, 5, 70000 % 4096, 1}}
	for k, n := range pl.counts {
		if got, ok := pl.traceIndex(pl.traceID(k)); !ok || got != k {
			t.Errorf("trace %d: index %d %v", k, got, ok)
		}
		for j := 0; j < n; j++ {
			if got, ok := pl.obsTraceIndex(pl.obsID(k, j)); !ok || got != k {
				t.Fatalf("observation %d/%d: trace %d %v", k, j, got, ok)
			}
		}
	}
	for _, bad := range []string{"", "zz", "0123456789abcdef0123456789abcdef", pl.traceID(9)} {
		if _, ok := pl.traceIndex(bad); ok {
			t.Errorf("traceIndex(%q) accepted", bad)
		}
	}
	if _, ok := pl.obsTraceIndex(pl.obsID(1, 7)); ok {
		t.Error("observation beyond the trace's count accepted")
	}
}

func TestPatchSchema(t *testing.T) {
	var tree any
	_ = json.Unmarshal([]byte(`{"components":{"schemas":{"X":{"type":"object","properties":{
		"a":{"$ref":"#/components/schemas/Y","nullable":true,"description":"d"},
		"b":{"description":"anything"},
		"c":{"type":"string","const":"in"},
		"d":{"$ref":"#/components/schemas/Y","description":"kept as ref"}}}}},
		"paths":{"/x":{"get":{"parameters":[{"name":"p","in":"query","schema":{"$ref":"#/components/schemas/Y","nullable":true}}]}}}}`), &tree)
	patchSpecTree(tree, false)
	b, _ := json.Marshal(tree)
	want := `{"components":{"schemas":{"X":{"properties":{"a":{"allOf":[{"$ref":"#/components/schemas/Y"}],"nullable":true},"b":{"description":"anything","nullable":true},"c":{"enum":["in"],"type":"string"},"d":{"$ref":"#/components/schemas/Y"}},"type":"object"}}},"paths":{"/x":{"get":{"parameters":[{"in":"query","name":"p","schema":{"allOf":[{"$ref":"#/components/schemas/Y"}],"nullable":true}}]}}}}`
	if string(b) != want {
		t.Errorf("patched:\n%s\nwant:\n%s", b, want)
	}
}

func TestSearchAfterSkipsTies(t *testing.T) {
	m := newMemTracing()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, id := range []string{"a", "b", "c", "c", "d"} {
		m.addObservations(&Observation{ID: id, TraceID: "t", StartTime: base.Add(time.Duration(i/2) * time.Millisecond)})
	}
	s := m.snapshot()
	for i := 0; i < s.obsLen(); i++ {
		k := keyOf(s.obsAt(i))
		j := searchAfter(s, k)
		if j < s.obsLen() && !k.before(keyOf(s.obsAt(j))) {
			t.Errorf("after %v comes %v", k, keyOf(s.obsAt(j)))
		}
		if j > 0 && keyOf(s.obsAt(j-1)) != k && k.before(keyOf(s.obsAt(j-1))) {
			t.Errorf("after %v skipped %v", k, keyOf(s.obsAt(j-1)))
		}
	}
}

func FuzzDecodeObsCursor(f *testing.F) {
	f.Add(encodeObsCursor(&Observation{ID: "x", TraceID: "t", StartTime: time.Unix(1, 0)}))
	f.Add("e30=")
	f.Add("%%%")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := decodeObsCursor(s)
		if err == nil && k.id == "" {
			t.Errorf("accepted cursor %q without an id", s)
		}
	})
}

func FuzzTimeIDCursor(f *testing.F) {
	f.Add(encodeTimeIDCursor(1, time.Unix(5, 0), "id"), 1)
	f.Add("", 0)
	f.Fuzz(func(t *testing.T, s string, version int) {
		tm, id, err := decodeTimeIDCursor(s, version)
		if err != nil {
			return
		}
		again, id2, err := decodeTimeIDCursor(encodeTimeIDCursor(version, tm, id), version)
		if err != nil || !again.Equal(tm.Truncate(time.Millisecond)) || id2 != id {
			t.Errorf("cursor %q does not round-trip", s)
		}
	})
}

func FuzzMatchRoute(f *testing.F) {
	for _, r := range routes {
		f.Add(r.pattern)
	}
	f.Add("/api/public/v2/prompts/a%2")
	f.Fuzz(func(t *testing.T, path string) {
		rt, params, _ := matchRoute("GET", path)
		if rt != nil && len(params) != countParams(rt.pattern) {
			t.Errorf("%q matched %s with params %v", path, rt.pattern, params)
		}
	})
}

func countParams(p string) int {
	n := 0
	for _, c := range p {
		if c == '{' {
			n++
		}
	}
	return n
}

func FuzzParseFilter(f *testing.F) {
	f.Add(`[{"type":"string","column":"id","operator":"=","value":"x"}]`)
	f.Add(`[{"type":"null","column":"endTime","operator":"is null"}]`)
	f.Add(`[{"type":"arrayOptions","column":"tags","operator":"all of","value":["a"]}]`)
	f.Add(`{}`)
	o := &Observation{ID: "x", TraceID: "t", Type: TypeSpan, StartTime: time.Unix(1, 0)}
	f.Fuzz(func(t *testing.T, raw string) {
		conds, err := parseFilter(raw, obsColumns)
		if err != nil {
			return
		}
		matchFilter(obsRow{o: o}, conds, obsColumns) // must not panic
	})
}

// metadataReference is metadataStrings written plainly with encoding/json.
func metadataReference(s string) map[string]string {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &obj); err != nil || obj == nil {
		return map[string]string{"metadata": s}
	}
	out := map[string]string{}
	for k, v := range obj {
		var str string
		if len(v) > 0 && v[0] == '"' && json.Unmarshal(v, &str) == nil {
			out[k] = str
			continue
		}
		var buf bytes.Buffer
		_ = json.Compact(&buf, v)
		out[k] = buf.String()
	}
	return out
}

func FuzzMetadataStrings(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1,"b":"x","c":{"d":[1, 2]},"e":null}`, ` { "k\u00e9" : "v\"q" } `, `[1]`, `null`, `"s"`,
		`{"a":1} x`, `{"a":}`, `{"a":"\ud800"}`, `{"a":1,"a":2}`, "{\"a\":\"\xff\"}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := metadataStrings(JSONPayload(s))
		want := metadataReference(s)
		if len(got) != len(want) {
			t.Fatalf("%q: got %v, want %v", s, got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("%q: key %q = %q, want %q", s, k, got[k], v)
			}
		}
	})
}

// prng.IntN must draw what rand.Rand.IntN draws from the same source, or
// generated projects would change.
func TestPRNGMatchesRand(t *testing.T) {
	for seed := uint64(0); seed < 50; seed++ {
		a := newRand(seed, 7)
		h := uint64(0x5eed)
		for _, p := range []uint64{seed, 7} {
			h = mix64(h ^ p)
		}
		b := rand.New(rand.NewPCG(h, mix64(h)))
		for i, n := range []int{1, 2, 3, 10, 12, 16, 37, 1000, 1 << 20, 1e6, 1<<62 + 1, math.MaxInt} {
			for k := 0; k < 20; k++ {
				if x, y := a.IntN(n), b.IntN(n); x != y {
					t.Fatalf("seed %d, draw %d/%d: IntN(%d) = %d, rand.Rand gives %d", seed, i, k, n, x, y)
				}
			}
			// The other methods share the source.
			if x, y := a.Uint32(), b.Uint32(); x != y {
				t.Fatalf("seed %d: Uint32 = %d, rand.Rand gives %d", seed, x, y)
			}
		}
	}
}
