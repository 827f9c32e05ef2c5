package lftest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/lakefuse/lakefuse/internal/lftest"
	"github.com/lakefuse/lakefuse/internal/lftest/lftesting"
)

const iso = "2006-01-02T15:04:05.000Z"

// canonical returns the ids of the observations that keep accepts, in the
// order v2 observations must return them.
func canonical(p *lftest.Project, keep func(*lftest.Observation, *lftest.Trace) bool) []string {
	var out []string
	p.EachObservation(func(o *lftest.Observation, t *lftest.Trace) bool {
		if keep == nil || keep(o, t) {
			out = append(out, o.ID)
		}
		return true
	})
	return out
}

func TestObservationsV2CursorWalk(t *testing.T) {
	p, c := serve(t, lftest.V4)
	all := canonical(p, nil)
	if len(all) < 200 {
		t.Fatalf("small project has %d observations, want a few hundred", len(all))
	}
	for _, limit := range []int{1, 7, 50, 1000} {
		rows := walkCursor(t, c, "/api/public/v2/observations", vals("limit", itoa(limit)))
		got := ids(rows)
		assertOnce(t, "limit "+itoa(limit), got, all)
		if !slices.Equal(got, all) {
			t.Errorf("limit %d: order differs from start_time DESC, xxHash32(trace_id) DESC, id DESC", limit)
		}
	}
}

func TestObservationsV2Filters(t *testing.T) {
	p, c := serve(t, lftest.V4)
	var mid *lftest.Observation
	n := 0
	p.EachObservation(func(o *lftest.Observation, _ *lftest.Trace) bool {
		if n++; n == 100 {
			mid = o
		}
		return true
	})
	tr := p.Trace(mid.TraceID)
	at := mid.StartTime.Format(iso)
	var session, user string
	p.EachTrace(func(t *lftest.Trace) bool {
		if t.SessionID != nil && t.UserID != nil {
			session, user = *t.SessionID, *t.UserID
			return false
		}
		return true
	})
	cases := []struct {
		name string
		q    url.Values
		keep func(*lftest.Observation, *lftest.Trace) bool
	}{
		{"from inclusive", vals("fromStartTime", at), func(o *lftest.Observation, _ *lftest.Trace) bool { return !o.StartTime.Before(mid.StartTime) }},
		{"to exclusive", vals("toStartTime", at), func(o *lftest.Observation, _ *lftest.Trace) bool { return o.StartTime.Before(mid.StartTime) }},
		{"window", vals("fromStartTime", mid.StartTime.Add(-6*time.Hour).Format(iso), "toStartTime", at),
			func(o *lftest.Observation, _ *lftest.Trace) bool {
				return !o.StartTime.Before(mid.StartTime.Add(-6*time.Hour)) && o.StartTime.Before(mid.StartTime)
			}},
		{"traceId", vals("traceId", mid.TraceID), func(o *lftest.Observation, _ *lftest.Trace) bool { return o.TraceID == mid.TraceID }},
		{"type", vals("type", "GUARDRAIL"), func(o *lftest.Observation, _ *lftest.Trace) bool { return o.Type == lftest.TypeGuardrail }},
		{"level", vals("level", "ERROR"), func(o *lftest.Observation, _ *lftest.Trace) bool { return o.Level == lftest.LevelError }},
		{"roots by empty parent", vals("parentObservationId", ""), func(o *lftest.Observation, _ *lftest.Trace) bool { return o.ParentObservationID == "" }},
		{"logical roots", vals("isRootObservation", "true"), func(o *lftest.Observation, _ *lftest.Trace) bool { return o.IsRoot() }},
		{"children of", vals("parentObservationId", mid.ID), func(o *lftest.Observation, _ *lftest.Trace) bool { return o.ParentObservationID == mid.ID }},
		{"environment multi", vals("environment", "staging", "environment", "dev-jp"), func(o *lftest.Observation, _ *lftest.Trace) bool {
			return o.Environment == "staging" || o.Environment == "dev-jp"
		}},
		// v4 filters on each row's own session and user.
		{"sessionId", vals("sessionId", session), func(o *lftest.Observation, _ *lftest.Trace) bool {
			return o.SessionID != nil && *o.SessionID == session
		}},
		{"userId", vals("userId", user), func(o *lftest.Observation, _ *lftest.Trace) bool { return o.UserID != nil && *o.UserID == user }},
		{"filter id", vals("filter", `[{"type":"string","column":"id","operator":"=","value":"`+mid.ID+`"}]`),
			func(o *lftest.Observation, _ *lftest.Trace) bool { return o.ID == mid.ID }},
		{"filter overrides", vals("type", "EVENT", "filter", `[{"type":"stringOptions","column":"traceId","operator":"any of","value":["`+mid.TraceID+`"]}]`),
			func(o *lftest.Observation, _ *lftest.Trace) bool { return o.TraceID == mid.TraceID }},
		{"filter tags", vals("filter", `[{"type":"arrayOptions","column":"traceTags","operator":"any of","value":["🚀"]}]`),
			func(o *lftest.Observation, _ *lftest.Trace) bool { return slices.Contains(o.Tags, "🚀") }},
	}
	if tr == nil {
		t.Fatal("trace of a stored observation is missing")
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q
			q.Set("limit", "37")
			want := canonical(p, tc.keep)
			if len(want) == 0 {
				t.Fatalf("filter %v matches nothing in the generated project", tc.q)
			}
			got := ids(walkCursor(t, c, "/api/public/v2/observations", q))
			if !slices.Equal(got, want) {
				t.Errorf("got %d rows, want %d (or order differs)", len(got), len(want))
			}
		})
	}
}

func TestObservationsV2Errors(t *testing.T) {
	v := lftesting.Validator(t)
	s, k := lftesting.ServeProject(t, lftest.Options{Validator: v}, smallProject())
	c := newClient(t, s, k)
	// The bad date-time also breaks the spec: the validator must notice,
	// and nothing else may.
	defer func() {
		vs := v.Violations()
		if len(vs) != 1 || vs[0].Kind != "request" || !strings.Contains(vs[0].URL, "yesterday") {
			t.Errorf("violations %v, want exactly the request with fromStartTime=yesterday", vs)
		}
		v.Reset()
	}()
	for _, tc := range []struct {
		q    url.Values
		want string
	}{
		{vals("limit", "1001"), "too_big"},
		{vals("limit", "0"), "too_small"},
		{vals("parseIoAsJson", "true"), "parseIoAsJson=true is no longer supported"},
		{vals("cursor", "not-a-cursor"), "Invalid cursor format"},
		{vals("type", "SPANS"), "invalid_enum_value"},
		{vals("fromStartTime", "yesterday"), "Invalid datetime"},
		{vals("filter", "[{"), "Invalid JSON in filter parameter"},
		{vals("filter", `[{"type":"string","column":"nope","operator":"=","value":"x"}]`), "Invalid filter column"},
	} {
		r := c.do("/api/public/v2/observations", tc.q, true)
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), tc.want) {
			t.Errorf("%v: %d %s, want 400 mentioning %q", tc.q, r.status, r.body, tc.want)
		}
	}
	c.get("/api/public/v2/observations", vals("limit", "1000"), http.StatusOK)
	c.get("/api/public/v2/observations", vals("parseIoAsJson", "false"), http.StatusOK)
}

var (
	coreKeys   = []string{"id", "traceId", "startTime", "endTime", "projectId", "parentObservationId", "type"}
	alwaysKeys = []string{"modelId", "inputPrice", "outputPrice", "totalPrice"}
	groupKeys  = map[string][]string{
		"basic":         {"name", "level", "statusMessage", "version", "environment", "bookmarked", "public", "userId", "sessionId", "isRootObservation"},
		"time":          {"completionStartTime", "createdAt", "updatedAt"},
		"io":            {"input", "output"},
		"metadata":      {"metadata"},
		"model":         {"providedModelName", "internalModelId", "modelParameters"},
		"usage":         {"usageDetails", "costDetails", "totalCost", "usagePricingTierName"},
		"prompt":        {"promptId", "promptName", "promptVersion"},
		"metrics":       {"latency", "timeToFirstToken"},
		"trace_context": {"tags", "release", "traceName"},
	}
)

func keysOf(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func sortedCopy(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	slices.Sort(out)
	return out
}

func TestObservationsV2FieldGroups(t *testing.T) {
	p, c := serve(t, lftest.V4)
	// A generation with everything set, and a metadata value > 200 characters.
	var gen *lftest.Observation
	p.EachObservation(func(o *lftest.Observation, _ *lftest.Trace) bool {
		s, _ := o.Metadata.Text()
		in, _ := o.Input.Text()
		if o.Type == lftest.TypeGeneration && o.InternalModelID != nil && o.PromptName != nil && len(s) > 400 && strings.HasPrefix(in, "{") {
			gen = o
			return false
		}
		return true
	})
	if gen == nil {
		t.Fatal("no generation with model, prompt and long metadata")
	}
	one := func(q url.Values) map[string]any {
		t.Helper()
		q.Set("filter", `[{"type":"string","column":"id","operator":"=","value":"`+gen.ID+`"}]`)
		rows := data(c.get("/api/public/v2/observations", q, http.StatusOK))
		if len(rows) != 1 {
			t.Fatalf("%v: %d rows", q, len(rows))
		}
		return rows[0]
	}
	t.Run("default is core and basic", func(t *testing.T) {
		got := keysOf(one(url.Values{}))
		if want := sortedCopy(coreKeys, alwaysKeys, groupKeys["basic"]); !slices.Equal(got, want) {
			t.Errorf("keys %v, want %v", got, want)
		}
	})
	for g, keys := range groupKeys {
		t.Run(g, func(t *testing.T) {
			got := keysOf(one(vals("fields", "core,"+g)))
			if want := sortedCopy(coreKeys, alwaysKeys, keys); !slices.Equal(got, want) {
				t.Errorf("keys %v, want %v", got, want)
			}
		})
	}
	t.Run("unknown groups are dropped", func(t *testing.T) {
		got := keysOf(one(vals("fields", "core,nonsense,usage")))
		if want := sortedCopy(coreKeys, alwaysKeys, groupKeys["usage"]); !slices.Equal(got, want) {
			t.Errorf("keys %v, want %v", got, want)
		}
	})
	t.Run("io is raw strings", func(t *testing.T) {
		row := one(vals("fields", "io"))
		in, ok := row["input"].(string)
		want, _ := gen.Input.Text()
		if !ok || in != want || !json.Valid([]byte(in)) {
			t.Errorf("input is %T %.60q, want the stored JSON text as a string", row["input"], row["input"])
		}
	})
	t.Run("prices only with model", func(t *testing.T) {
		row := one(vals("fields", "core"))
		for _, k := range alwaysKeys {
			if row[k] != nil {
				t.Errorf("%s = %v without the model group, want null", k, row[k])
			}
		}
		row = one(vals("fields", "model"))
		if row["modelId"] != *gen.InternalModelID {
			t.Errorf("modelId %v, want %s", row["modelId"], *gen.InternalModelID)
		}
		if _, ok := row["inputPrice"].(string); !ok {
			t.Errorf("inputPrice %T %v, want a decimal string", row["inputPrice"], row["inputPrice"])
		}
	})
	long := func(row map[string]any) string {
		md := row["metadata"].(map[string]any)
		for k, v := range md {
			if _, ok := v.(string); !ok {
				t.Errorf("metadata %s is %T, want string", k, v)
			}
		}
		return md["note_long"].(string)
	}
	t.Run("metadata truncated to 200", func(t *testing.T) {
		if n := utf8.RuneCountInString(long(one(vals("fields", "metadata")))); n != 200 {
			t.Errorf("note_long has %d characters, want 200", n)
		}
	})
	t.Run("metadata full with io", func(t *testing.T) {
		if n := utf8.RuneCountInString(long(one(vals("fields", "metadata,io")))); n <= 200 {
			t.Errorf("note_long has %d characters with io, want the full value", n)
		}
	})
	t.Run("metadata full with expandMetadata", func(t *testing.T) {
		if n := utf8.RuneCountInString(long(one(vals("fields", "metadata", "expandMetadata", "note_long")))); n <= 200 {
			t.Errorf("note_long has %d characters with expandMetadata, want the full value", n)
		}
		if n := utf8.RuneCountInString(long(one(vals("fields", "metadata", "expandMetadata", "other")))); n != 200 {
			t.Errorf("note_long has %d characters when another key is expanded, want 200", n)
		}
	})
}

func TestObservationsV1(t *testing.T) {
	p, c := serve(t, lftest.V3)
	// v3 has no placeholder roots.
	all := canonical(p, func(o *lftest.Observation, _ *lftest.Trace) bool { return !o.Placeholder })
	rows := walkPages(t, c, "/api/public/observations", nil, 100)
	assertOnce(t, "v1 observations", ids(rows), all)

	var gen *lftest.Observation
	p.EachObservation(func(o *lftest.Observation, _ *lftest.Trace) bool {
		s, _ := o.Input.Text()
		if o.Type == lftest.TypeGeneration && strings.HasPrefix(s, "{") {
			gen = o
			return false
		}
		return true
	})
	got := ids(walkPages(t, c, "/api/public/observations", vals("traceId", gen.TraceID, "type", "GENERATION"), 3))
	want := canonical(p, func(o *lftest.Observation, _ *lftest.Trace) bool {
		return o.TraceID == gen.TraceID && o.Type == lftest.TypeGeneration
	})
	assertOnce(t, "traceId and type", got, want)

	one := c.get("/api/public/observations/"+gen.ID, nil, http.StatusOK)
	if _, ok := one["input"].(map[string]any); !ok {
		t.Errorf("v1 input is %T, want parsed JSON", one["input"])
	}
	if one["usage"].(map[string]any)["unit"] != "TOKENS" {
		t.Errorf("usage %v", one["usage"])
	}
	r := c.do("/api/public/observations/does-not-exist", nil, true)
	if r.status != http.StatusNotFound || !strings.Contains(string(r.body), "LangfuseNotFoundError") {
		t.Errorf("missing observation: %d %s", r.status, r.body)
	}
}

func TestLazyProjectServesEveryObservationOnce(t *testing.T) {
	p := lftest.Generate(5, lftest.SizeBench(3000, 2048))
	if !p.Lazy() || p.Counts().Observations != 3000 {
		t.Fatalf("bench project: lazy %v, %d observations", p.Lazy(), p.Counts().Observations)
	}
	for _, mode := range []lftest.Mode{lftest.V4, lftest.V3} {
		s, k := serveProject(t, mode, p)
		c := newClient(t, s, k)
		if mode == lftest.V4 {
			rows := walkCursor(t, c, "/api/public/v2/observations", vals("limit", "1000", "fields", "core,io"))
			assertOnce(t, "lazy v2", ids(rows), canonical(p, nil))
			size := 0
			for _, r := range rows {
				in, _ := r["input"].(string)
				out, _ := r["output"].(string)
				size += len(in) + len(out)
			}
			if avg := size / len(rows); avg < 1400 || avg > 2800 {
				t.Errorf("average input+output is %d bytes, want about 2048", avg)
			}
			continue
		}
		var traceIDs []string
		p.EachTrace(func(tr *lftest.Trace) bool { traceIDs = append(traceIDs, tr.ID); return true })
		assertOnce(t, "lazy traces", ids(walkPages(t, c, "/api/public/traces", vals("fields", "core"), 100)), traceIDs)
		obs := p.TraceObservations(traceIDs[17])
		one := c.get("/api/public/observations/"+obs[0].ID, nil, http.StatusOK)
		if one["traceId"] != traceIDs[17] {
			t.Errorf("observation by id: trace %v, want %s", one["traceId"], traceIDs[17])
		}
		tr := c.get("/api/public/traces/"+traceIDs[17], nil, http.StatusOK)
		if n := len(tr["observations"].([]any)); n != len(obs) {
			t.Errorf("trace has %d observations, want %d", n, len(obs))
		}
	}
}

func TestConcurrentReadsAndWrites(t *testing.T) {
	p := lftest.NewProject("rw", "concurrent")
	s, k := serveProject(t, lftest.V4, p)
	c := newClient(t, s, k)
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	const traces, perTrace = 60, 5
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < traces; i++ {
			id := fmt.Sprintf("%032x", i+1)
			name := "t"
			if err := p.UpsertTrace(&lftest.Trace{ID: id, Timestamp: base.Add(time.Duration(i) * time.Second), Name: &name, Environment: "default"}); err != nil {
				t.Error(err)
				return
			}
			for j := 0; j < perTrace; j++ {
				o := &lftest.Observation{ID: fmt.Sprintf("%08x%08x", i+1, j), TraceID: id, Type: lftest.TypeSpan, Level: lftest.LevelDefault,
					StartTime: base.Add(time.Duration(i)*time.Second + time.Duration(j)*time.Millisecond), Environment: "default"}
				if err := p.AddObservations(o); err != nil {
					t.Error(err)
					return
				}
			}
		}
	}()
	var wg sync.WaitGroup
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				rows := walkCursor(t, c, "/api/public/v2/observations", vals("limit", "17"))
				seen := map[string]bool{}
				for _, id := range ids(rows) {
					if seen[id] {
						t.Errorf("observation %s twice in one walk", id)
					}
					seen[id] = true
				}
			}
		}()
	}
	wg.Wait()
	if got := len(walkCursor(t, c, "/api/public/v2/observations", vals("limit", "1000"))); got != traces*perTrace {
		t.Errorf("after the writes: %d observations, want %d", got, traces*perTrace)
	}
}

// BenchmarkObservationsV2Pages serves 1000-row pages with every field group
// from a lazily generated project of a million ~2 KB observations.
func BenchmarkObservationsV2Pages(b *testing.B) {
	p := lftest.Generate(1, lftest.SizeBench(1_000_000, 2048))
	s := lftest.New(lftest.Options{})
	_, pk, sk := s.AddGeneratedProject(p)
	h := s.Handler()
	q := vals("limit", "1000", "fields", "core,basic,time,io,metadata,model,usage,prompt,metrics,trace_context")
	b.ResetTimer()
	var total int64
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest(http.MethodGet, "/api/public/v2/observations?"+q.Encode(), nil)
		req.SetBasicAuth(pk, sk)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
		total += int64(rec.Body.Len())
		// The cursor is in the trailing meta object; avoid decoding the page.
		body := rec.Body.String()
		if i := strings.LastIndex(body, `"cursor":"`); i >= 0 {
			rest := body[i+len(`"cursor":"`):]
			q.Set("cursor", rest[:strings.IndexByte(rest, '"')])
		} else {
			q.Del("cursor")
		}
	}
	b.SetBytes(total / int64(b.N))
}
