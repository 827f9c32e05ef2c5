package langsmith

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/extensions"
	"github.com/google/uuid"

	"github.com/lakefuse/lakefuse/bucket"
	"github.com/lakefuse/lakefuse/internal/lsfixture"
)

func TestParseTime(t *testing.T) {
	want := time.Date(2024, 4, 29, 0, 49, 12, 90000000, time.UTC)
	for _, s := range []string{
		"2024-04-29T00:49:12.090000", "2024-04-29T00:49:12.09Z", "2024-04-29T00:49:12.090000+00:00", "2024-04-29 00:49:12.09",
		"2024-04-29 00:49:12.090000+00", "2024-04-29T02:49:12.090+0200", "2024-04-29 00:49:12.09 UTC", "2024-04-28T19:49:12.09-05:00",
		"1714351752090", "1714351752090000", "1714351752090000000", "1714351752.09", " 2024-04-29T00:49:12.090000 ",
	} {
		got, err := parseTime(s)
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("parseTime(%q) = %v, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "yesterday", "2024-13-01T00:00:00", "2024-04-29T25:00:00Z", "NaN"} {
		if got, err := parseTime(s); err == nil {
			t.Errorf("parseTime(%q) = %v", s, got)
		}
	}
	// Random times through every layout the reader accepts.
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		tm := time.Unix(1e9+r.Int64N(2e9), r.Int64N(1e9)/1000*1000).UTC()
		for _, layout := range []string{"2006-01-02T15:04:05.999999", time.RFC3339Nano, "2006-01-02 15:04:05.999999-07", "2006-01-02T15:04:05.999999Z07:00"} {
			s := tm.In(time.FixedZone("", 3600*r.IntN(10))).Format(layout)
			if layout == "2006-01-02T15:04:05.999999" {
				s = tm.Format(layout)
			}
			if got, err := parseTime(s); err != nil || !got.Equal(tm) {
				t.Fatalf("parseTime(%q) = %v, %v; want %v", s, got, err, tm)
			}
		}
	}
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2024-04-29T00:49:12.090000", "2024-04-29 00:49:12+00", "1714351752", "-1e300", "2024-04-29T00:49:12.09+0200"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := parseTime(s)
		if err == nil && tm.Location() != time.UTC {
			t.Fatalf("%q: %v not UTC", s, tm)
		}
	})
}

func TestEpoch(t *testing.T) {
	want := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, v := range []int64{want.Unix(), want.UnixMilli(), want.UnixMicro(), want.UnixNano()} {
		if got, _ := epochInt(v); !got.Equal(want) {
			t.Errorf("epochInt(%d) = %v", v, got)
		}
		if got, _ := epochTime(float64(v)); got.Sub(want).Abs() > time.Microsecond {
			t.Errorf("epochTime(%d) = %v", v, got)
		}
	}
}

func TestDottedOrder(t *testing.T) {
	root, child := "0e01bf50-474d-4536-810f-67d3ee7ea3e7", "a8024e23-5b82-47fd-970e-f6a5ba3f5097"
	for _, c := range []struct {
		in    string
		ok    bool
		times []string
	}{
		{"20240919T171648521691Z" + root + ".20240919T171648523407Z" + child, true, []string{"2024-09-19T17:16:48.521691Z", "2024-09-19T17:16:48.523407Z"}},
		{"20230914T223155647Z" + root, true, []string{"2023-09-14T22:31:55.647Z"}},                          // 3 fractional digits
		{"20240115T103000000000Z018e4c7ea9fb7ef0a5b66ea3a82e9327.", true, []string{"2024-01-15T10:30:00Z"}}, // 32-hex id, trailing dot
		{"20240919T171648Z" + root, true, []string{"2024-09-19T17:16:48Z"}},                                 // no fraction
		{"20240919T171648521691170001Z" + root, false, nil},                                                 // 12 fractional digits
		{"garbage", false, nil},
		{"20240919T171648521691Znot-a-uuid-at-all-but-36-characters", false, nil},
	} {
		levels, ok := parseDottedOrder(c.in)
		if ok != c.ok {
			t.Errorf("%q: ok %v", c.in, ok)
			continue
		}
		for i, s := range c.times {
			if !levels[i].t.Equal(mustTime(t, s)) {
				t.Errorf("%q level %d: %v, want %s", c.in, i, levels[i].t, s)
			}
		}
	}
	levels, _ := parseDottedOrder("20240115T103000000000Z018e4c7ea9fb7ef0a5b66ea3a82e9327")
	if levels[0].id != "018e4c7e-a9fb-7ef0-a5b6-6ea3a82e9327" {
		t.Errorf("id %s", levels[0].id)
	}
}

func FuzzDottedOrder(f *testing.F) {
	f.Add("20240919T171648521691Z0e01bf50-474d-4536-810f-67d3ee7ea3e7.20240919T171648523407Za8024e23-5b82-47fd-970e-f6a5ba3f5097")
	f.Add("20240115T103000000000Z018e4c7ea9fb7ef0a5b66ea3a82e9327.")
	f.Fuzz(func(t *testing.T, s string) {
		levels, ok := parseDottedOrder(s)
		for _, l := range levels {
			if _, isUUID := canonicalID(l.id); ok && !isUUID {
				t.Fatalf("%q: level id %q", s, l.id)
			}
		}
	})
}

func TestIDs(t *testing.T) {
	want := "0e01bf50-474d-4536-810f-67d3ee7ea3e7"
	for _, s := range []string{want, strings.ToUpper(want), "0e01bf50474d4536810f67d3ee7ea3e7", "{" + want + "}", "urn:uuid:" + want, `"` + want + `"`} {
		if got, ok := canonicalID(s); !ok || got != want {
			t.Errorf("canonicalID(%q) = %q, %v", s, got, ok)
		}
		if traceHex(s) != "0e01bf50474d4536810f67d3ee7ea3e7" || spanHex(s) != spanHex(want) {
			t.Errorf("ids of %q: %s %s", s, traceHex(s), spanHex(s))
		}
	}
	if got, ok := canonicalID("run-1"); ok || got != "run-1" {
		t.Errorf("canonicalID(run-1) = %q, %v", got, ok)
	}
	if th := traceHex("run-1"); len(th) != 32 || th == traceHex("run-2") {
		t.Errorf("traceHex(run-1) = %s", th)
	}
	if sp := spanHex(want); len(sp) != 16 || sp == "0000000000000000" {
		t.Errorf("spanHex = %s", sp)
	}
	if u := derivedUUID("a", "b"); u != derivedUUID("a", "b") || u == derivedUUID("ab") || uuid.MustParse(u).Version() != 8 {
		t.Errorf("derivedUUID %s", u)
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "quote\" back\\ nl\n tab\t ctl\x01", "héllo 你好 🚀", "bad \xff\xfe utf8", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendString(nil, s)
		var got, want string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q gives %s: %v", s, b, err)
		}
		std, _ := json.Marshal(s)
		_ = json.Unmarshal(std, &want)
		if got != want {
			t.Fatalf("%q: %q, encoding/json %q", s, got, want)
		}
	})
}

func FuzzFeedbackReader(f *testing.F) {
	f.Add([]byte(`[{"id":"a","key":"k","score":1}]`))
	f.Add([]byte("{\"id\":\"a\"}\n{\"id\":\"b\"}\n"))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = readFeedback(t.Context(), strings.NewReader(string(data)), "f", func(_ int, rec *feedbackRecord, raw json.RawMessage) error {
			if !json.Valid(raw) {
				t.Fatalf("record %s is not JSON", raw)
			}
			_, _, _ = feedbackScore(rec, raw, feedbackTarget{}, "p", "default")
			return nil
		})
	})
}

// TestUnusualColumnTypes reads physical types that some writers choose:
// UUID bytes, dictionary strings, text flags and numbers, 32-bit integers,
// dates, JSON as structs.
func TestUnusualColumnTypes(t *testing.T) {
	runs := generate(lsfixture.GenOptions{Seed: 41, Runs: 60})
	uuidBytes := lsfixture.Column{Name: "id", Type: extensions.NewUUIDType(), Append: func(b array.Builder, r *lsfixture.Run) {
		b.(*extensions.UUIDBuilder).Append(uuid.MustParse(r.ID))
	}}
	fsbTrace := lsfixture.Column{Name: "trace_id", Type: &arrow.FixedSizeBinaryType{ByteWidth: 16}, Append: func(b array.Builder, r *lsfixture.Run) {
		u := uuid.MustParse(r.TraceID)
		b.(*array.FixedSizeBinaryBuilder).Append(u[:])
	}}
	dictType := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	dictRunType := lsfixture.Column{Name: "run_type", Type: dictType, Append: func(b array.Builder, r *lsfixture.Run) {
		_ = b.(*array.BinaryDictionaryBuilder).AppendString(strings.ToUpper(r.RunType))
	}}
	textRoot := lsfixture.Column{Name: "is_root", Type: arrow.BinaryTypes.String, Append: func(b array.Builder, r *lsfixture.Run) {
		b.(*array.StringBuilder).Append(map[bool]string{true: "True", false: "false"}[r.IsRoot])
	}}
	int32Tokens := lsfixture.Column{Name: "prompt_tokens", Type: arrow.PrimitiveTypes.Int32, Append: func(b array.Builder, r *lsfixture.Run) {
		b.(*array.Int32Builder).Append(int32(*r.PromptTokens))
	}}
	textTokens := lsfixture.Column{Name: "completion_tokens", Type: arrow.BinaryTypes.String, Append: func(b array.Builder, r *lsfixture.Run) {
		b.(*array.StringBuilder).Append(" " + json.Number(strings.TrimSpace(jsonInt(*r.CompletionTokens))).String())
	}}
	structExtra := lsfixture.Column{Name: "feedback_stats", Type: arrow.StructOf(arrow.Field{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true}), Append: func(b array.Builder, r *lsfixture.Run) {
		sb := b.(*array.StructBuilder)
		sb.Append(true)
		sb.FieldBuilder(0).(*array.Int64Builder).Append(3)
	}}
	extraCol := lsfixture.Column{Name: "app_path", Type: arrow.BinaryTypes.String, Append: func(b array.Builder, r *lsfixture.Run) {
		b.(*array.StringBuilder).Append("/o/x/" + r.ID[:4])
	}}
	f := lsfixture.Format{Override: []lsfixture.Column{uuidBytes, fsbTrace, dictRunType, textRoot, int32Tokens, textTokens, structExtra, extraCol}}
	src := bucket.NewMemory()
	putExport(t, src, layout(export1), runs, f)
	l, _ := convert(t, src, "mem://src", Options{NoStatsScores: true})
	for _, r := range runs {
		o, ok := l.obs[spanHex(r.ID)]
		if !ok {
			t.Fatalf("run %s missing", r.ID)
		}
		if str(o.TraceID) != hexOf(r.TraceID) || o.Type != observationType(r.RunType) {
			t.Fatalf("run %s: trace %s type %s", r.ID, str(o.TraceID), o.Type)
		}
		ls := lsMeta(t, o.Metadata)
		if ls["run_type"] != strings.ToUpper(r.RunType) || ls["columns"].(map[string]any)["app_path"] != "/o/x/"+r.ID[:4] {
			t.Fatalf("metadata %v", ls)
		}
		if fs := ls["feedback_stats"].(map[string]any); fs["n"] != 3.0 {
			t.Fatalf("feedback_stats %v", fs)
		}
		if o.Type == "GENERATION" && (o.UsageDetails["output"] != *r.CompletionTokens || o.UsageDetails["input"]+o.UsageDetails["input_cache_read"] != *r.PromptTokens) {
			t.Fatalf("usage %v", o.UsageDetails)
		}
	}
	if len(l.traces) == 0 {
		t.Fatal("no traces: is_root text not read")
	}
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestOddPayloads: JSON columns that are not what LangSmith usually writes
// still convert without losing anything.
func TestOddPayloads(t *testing.T) {
	runs := generate(lsfixture.GenOptions{Seed: 59, Runs: 10, Depth: 1, Fanout: 1})
	set := func(i int, f func(r *lsfixture.Run)) { f(&runs[i]) }
	s := func(v string) *string { return &v }
	set(0, func(r *lsfixture.Run) { r.Extra = s(`{"metadata":null,"runtime":{"sdk":"js"}}`) })
	set(1, func(r *lsfixture.Run) { r.Extra = s(`{"metadata":{"langsmith":"mine","thread_id":42}}`) })
	set(2, func(r *lsfixture.Run) { r.Extra = s(`not json at all`); r.Inputs = s(`plain text input`) })
	set(3, func(r *lsfixture.Run) {
		r.Events = s(`[{"name":"new_token","time":1714351752090}]`)
		r.Tags = []string{"a\"b", "ü"}
	})
	src := bucket.NewMemory()
	putExport(t, src, layout(export1), runs, lsfixture.V1())
	l, _ := convert(t, src, "mem://src", Options{})
	obs := func(i int) map[string]any { return meta(t, l.obs[spanHex(runs[i].ID)].Metadata) }
	ls := func(m map[string]any) map[string]any { return m["langsmith"].(map[string]any) }
	if m := obs(0); ls(m)["extra"].(map[string]any)["metadata"] != nil || ls(m)["extra"].(map[string]any)["runtime"] == nil {
		t.Errorf("null metadata: %v", m)
	}
	if m := obs(1); m["thread_id"] != 42.0 || ls(m)["metadata_langsmith"] != "mine" {
		t.Errorf("user langsmith key: %v", m)
	}
	if m := obs(2); ls(m)["extra"] != "not json at all" {
		t.Errorf("extra that is not JSON: %v", m)
	}
	if in := l.obs[spanHex(runs[2].ID)].Input; str(in) != `"plain text input"` {
		t.Errorf("input that is not JSON: %s", str(in))
	}
	if o := l.obs[spanHex(runs[3].ID)]; o.CompletionStartTime != nil && runs[3].FirstTokenTime == nil &&
		!o.CompletionStartTime.Equal(time.UnixMilli(1714351752090)) {
		t.Errorf("epoch event time: %v", o.CompletionStartTime)
	}
	if m := obs(3); fmt.Sprint(ls(m)["tags"]) != `[a"b ü]` {
		t.Errorf("tags %v", ls(m)["tags"])
	}
	if sess := l.traces[hexOf(runs[1].TraceID)].SessionID; runs[1].ParentRunID == nil && str(sess) != "42" {
		t.Errorf("numeric thread id: %s", str(sess))
	}
}
